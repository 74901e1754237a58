// AngioPhantom module: placeholder until its stage lands.
