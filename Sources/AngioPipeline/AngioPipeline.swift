// AngioPipeline module: placeholder until its stage lands.
