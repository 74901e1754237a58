// QCA module: placeholder until its stage lands.
