"""A Neuron, Layer or MLP as the standard layers PyTorch and ONNX are built from: Linear, activation, Dropout.

Other frameworks have no neuron objects. They keep a layer's weights as one matrix, `weight`,
with one row per neuron (nout rows of nin numbers: weight[j][i] is the weight of input i in
neuron j) and the biases as one vector, `bias`; the layer computes  y = x W^T + b  for a whole
batch of rows x at once, then applies the activation element by element. A chainrule Layer is
exactly that, neuron by neuron:

    MLP(2, [16, 16, 1], "relu", dropout=0.1)
      = Linear(2, 16), relu, Dropout(0.1), Linear(16, 16), relu, Dropout(0.1), Linear(16, 1)

This file says it once; `state_dict`, `to_torch`, `from_torch` and `export_onnx` all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograd import Value
from nn.layers import MLP, Layer, Neuron
from nn.module import Module


@dataclass(frozen=True)
class Linear:
    """A Layer's (or a Neuron's) parameters as one weight matrix and one bias vector, still Values."""

    weight: list[list[Value]]  # nout rows of nin Values: row j is neuron j's w
    bias: list[Value]  # nout Values: bias[j] is neuron j's b

    @property
    def nin(self) -> int:
        return len(self.weight[0])

    @property
    def nout(self) -> int:
        return len(self.weight)


def linear(module: Layer | Neuron) -> Linear:
    """The Linear view of a Layer (nout rows) or of a Neuron (one row: a Linear(nin, 1))."""
    neurons = module.neurons if isinstance(module, Layer) else [module]
    return Linear(weight=[list(n.w) for n in neurons], bias=[n.b for n in neurons])


# One step of the sequence: ("linear", Linear), ("activation", name from ACTIVATIONS but "linear"),
# or ("dropout", p).
Step = tuple[str, object]


def standard_layers(model: Module) -> list[Step]:
    """The layers a Neuron, Layer or MLP is made of, in order (see the module docstring).

    A Layer or Neuron is one Linear followed by its activation; an MLP has a Linear per layer,
    its activation after each hidden one (none for "linear"), then Dropout(p) when p > 0, and
    nothing after the last (linear) layer. Any other module raises TypeError.
    """
    if type(model) in (Layer, Neuron):
        return [("linear", linear(model)), *_activation(model.activation)]
    if type(model) is MLP:
        steps: list[Step] = []
        last = len(model.layers) - 1
        for i, layer in enumerate(model.layers):
            steps.append(("linear", linear(layer)))
            if i < last:
                steps += _activation(layer.activation)
                if model.dropout > 0.0:
                    steps.append(("dropout", model.dropout))
        return steps
    raise TypeError(f"only a Neuron, Layer or MLP is made of standard layers, got {type(model).__name__}")


def _activation(name: str) -> list[Step]:
    return [] if name == "linear" else [("activation", name)]
