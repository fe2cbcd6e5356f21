"""Every activation a layer may use, in one table: the engine's op, PyTorch's module, the ONNX form, how units fail.

Layers read the op, `to_torch`/`from_torch` the PyTorch module, `export_onnx` the ONNX form and
nn.training.diagnostics whether units can die or saturate. A new activation is one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograd import OPS, Op, Value

# the slope of the engine's leaky_relu (0.01), read from the engine rather than written again
LEAKY_RELU_SLOPE = -Value(-1.0).leaky_relu().data
# PyTorch's softplus is x itself above `threshold` (20 by default, 2e-9 away from log(1 + e^x));
# 700 keeps its exact form wherever e^x is a float
SOFTPLUS_THRESHOLD = 700.0

# An ONNX form: operator nodes, each (operator, inputs); an input is "x" (the activation's input),
# the index of an earlier node (its output), or a number (a scalar constant). The last node's
# output is the activation's.
OnnxForm = tuple[tuple[str, tuple[str | int | float, ...]], ...]


@dataclass(frozen=True)
class Activation:
    """One activation: act(s) applied to each neuron's weighted sum s."""

    name: str
    op: Op | None  # the engine's op (its forward rule is the same function on floats); None: the identity
    torch: Callable[[Any], Any] | None  # torch -> the torch.nn module computing it; None: nothing (identity)
    onnx: OnnxForm  # () for the identity
    dies: bool = False  # True: a unit whose s <= 0 for every sample outputs a constant and passes no gradient
    healthy: tuple[float, float] | None = None  # outputs outside this range are saturated (the derivative tiny)


TABLE: dict[str, Activation] = {a.name: a for a in (
    Activation("relu", OPS["relu"], lambda torch: torch.nn.ReLU(), (("Relu", ("x",)),), dies=True),
    # max(x, 0.01 x) rather than ONNX's LeakyRelu, whose alpha is stored as a 32-bit float: 0.01 would
    # become 0.0099999998, off by 2e-8 relative, where the float64 file is otherwise exact to rounding
    Activation("leaky_relu", OPS["leaky_relu"], lambda torch: torch.nn.LeakyReLU(LEAKY_RELU_SLOPE),
               (("Mul", ("x", LEAKY_RELU_SLOPE)), ("Max", ("x", 0))), dies=True),
    # 1 - 0.97^2 = 0.06: beyond +-0.97 tanh passes back 6% of the gradient or less (1 at 0)
    Activation("tanh", OPS["tanh"], lambda torch: torch.nn.Tanh(), (("Tanh", ("x",)),), healthy=(-0.97, 0.97)),
    # 0.97 * 0.03 = 0.03 against 0.25 at 0
    Activation("sigmoid", OPS["sigmoid"], lambda torch: torch.nn.Sigmoid(), (("Sigmoid", ("x",)),),
               healthy=(0.03, 0.97)),
    # relu(x) + log(1 + e^-|x|): onnxruntime has no Softplus for float64
    Activation("softplus", OPS["softplus"], lambda torch: torch.nn.Softplus(beta=1.0, threshold=SOFTPLUS_THRESHOLD),
               (("Relu", ("x",)), ("Abs", ("x",)), ("Neg", (1,)), ("Exp", (2,)), ("Add", (3, 1.0)), ("Log", (4,)),
                ("Add", (0, 5)))),
    Activation("linear", None, None, ()),
)}


def activation(name: object, who: str = "activation") -> Activation:
    """The table's row for `name`; a ValueError naming the choices for anything else."""
    if not isinstance(name, str) or name not in TABLE:
        raise ValueError(f"{who} must be one of {sorted(TABLE)}, got {name!r}")
    return TABLE[name]
