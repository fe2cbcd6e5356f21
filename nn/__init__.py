"""nn: neurons, layers, MLPs, losses and optimizers built on autograd."""
