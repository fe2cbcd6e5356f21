"""The engine's functions, for floats and Values alike: write derivative rules with these.

    from autograd.functions import cos
    cos(0.5)           # 0.8775825618903728: a float, computed by the op's own forward rule
    cos(Value(0.5))    # a Value: a node of the graph, which can be differentiated again

An op's derivative rule runs on floats in the forward pass and on Values under
`grad(..., create_graph=True)`. Written with these functions it works for both. `math.cos(x)`
would too, silently wrong: it turns a Value into a plain number (`float(x)`), and every higher
derivative through it becomes 0. `gradcheck(..., order=2)` catches that slip.

Every function of one value among the built-in ops (`autograd.ops.FUNCTIONS`) is here under
its name: exp, log, log1p, sqrt, tanh, sigmoid, softplus, relu, leaky_relu, abs, sin, cos, and
any added there later. `power(a, b)` is a ** b as derivatives need it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from autograd.op import Op
from autograd.ops import FUNCTIONS
from autograd.value import Value

Real = float | Value


def _same_kind(op: Op) -> Callable[..., Real]:
    def function(x: Real, *constants: float) -> Real:
        return op(x, *constants) if isinstance(x, Value) else op.forward(x, *constants)

    function.__name__ = function.__qualname__ = str(op)
    function.__doc__ = (f"{op}({', '.join(op.parameters)}) of a float (a float) or of a Value (a Value): "
                        f"the op autograd.OPS[{str(op)!r}].")
    return function


globals().update((name, _same_kind(op)) for name, op in FUNCTIONS.items())


def power(a: Real, b: Real) -> Real:
    """a ** b for floats and Values, as derivative rules need it: 0 to a negative power is inf
    (d/dx x**0.5 at 0, as in PyTorch), and a float too large for a float is +-inf, not an error."""
    if float(a) == 0.0 and float(b) < 0.0:
        return math.inf
    if isinstance(a, Value) or isinstance(b, Value):
        return a**b
    try:
        return a**b
    except OverflowError:
        return -math.inf if a < 0.0 and b % 2.0 == 1.0 else math.inf


__all__ = [*FUNCTIONS, "power"]
