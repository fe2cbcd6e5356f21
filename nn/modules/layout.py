"""The standard layers every framework is built from, and how a chainrule module describes itself in them.

Other frameworks have no neuron objects. They keep a layer's weights as one matrix, `weight`,
with one row per neuron (nout rows of nin numbers: weight[j][i] is the weight of input i in
neuron j) and the biases as one vector, `bias`; the layer computes  y = x W^T + b  for a whole
batch of rows x at once, then applies the activation element by element. A chainrule Layer is
exactly that, neuron by neuron:

    MLP(2, [16, 16, 1], "relu", dropout=0.1)
      = Linear(2, 16), relu, Dropout(0.1), Linear(16, 16), relu, Dropout(0.1), Linear(16, 1)

Each built-in module says what it is made of with `standard_layers()`, a list of steps:

    ("linear", Linear)        y = x W^T + b
    ("activation", name)      a row of nn.modules.activations, element by element ("linear" is left out)
    ("dropout", p)            the identity at inference
    ("layer_norm", Norm)      (x - mean) / sqrt(var + eps) * weight + bias
    ("residual", [steps])     x + steps(x)
    ("rnn", Recurrent)        an Elman RNN over a sequence, giving every hidden state
    ("conv1d" | "conv2d", m)  a Conv1d / Conv2d module of nn/modules/conv.py (its activation a step after it)
    ("max_pool2d" | "avg_pool2d", (kernel, stride))
    ("flatten", None)         one sample's elements in one list
    ("batch_norm1d", m)       a BatchNorm1d module of nn/modules/batchnorm.py, its running statistics included

`to_torch`, `from_torch` and `export_onnx` translate these steps, and know no module class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from autograd import Value
from nn.modules.activations import LEAKY_RELU_SLOPE

if TYPE_CHECKING:
    from nn.modules.module import Module

__all__ = ["LEAKY_RELU_SLOPE", "Linear", "Norm", "Recurrent", "Step", "activation_step", "standard_layers"]


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


@dataclass(frozen=True)
class Norm:
    """A LayerNorm's parameters: n weights and n biases, and eps."""

    weight: list[Value]
    bias: list[Value]
    eps: float


@dataclass(frozen=True)
class Recurrent:
    """An Elman RNN's parameters, shaped as PyTorch's (its one bias is PyTorch's b_ih + b_hh)."""

    weight_ih: list[list[Value]]  # nhidden rows of nin
    weight_hh: list[list[Value]]  # nhidden rows of nhidden
    bias: list[Value]
    activation: str


# One step: ("linear", Linear), ("activation", name), ("dropout", p), ("layer_norm", Norm),
# ("residual", list[Step]) or ("rnn", Recurrent).
Step = tuple[str, object]


def activation_step(name: str) -> list[Step]:
    """The step of an activation: none for "linear" (the identity)."""
    return [] if name == "linear" else [("activation", name)]


def standard_layers(model: Module) -> list[Step]:
    """The steps `model` is made of (see the module docstring); a TypeError for a module that does not say.

    A module says it with its `standard_layers()` method, and only a class that defines its own
    forward beside it is taken at its word: a subclass that overrides forward computes something
    else, and is refused like any module of your own.
    """
    if not callable(getattr(model, "standard_layers", None)):
        raise TypeError(f"expected an nn Module, got {type(model).__name__}")
    mro = type(model).__mro__
    describes = next(c for c in mro if "standard_layers" in vars(c))
    computes = next(c for c in mro if "forward" in vars(c))
    if describes is not computes:  # (nn.Module's own says nothing: it raises TypeError)
        raise TypeError(f"{type(model).__name__} is not made of standard layers (it defines its own forward)")
    return model.standard_layers()
