// AngioDICOM module: placeholder until its stage lands.
