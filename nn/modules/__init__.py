"""The pieces of a network: Module, layers, containers, LayerNorm, RNN, activations, state dicts."""
