// AngioReport module: placeholder until its stage lands.
