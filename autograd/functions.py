"""The engine's functions, for floats and Values alike: write derivative rules with these.

    from autograd.functions import cos
    cos(0.5)           # 0.8775825618903728: a float, computed by the op's own forward rule
    cos(Value(0.5))    # a Value: a node of the graph, which can be differentiated again

An op's derivative rule runs on floats in the forward pass and on Values under
`grad(..., create_graph=True)`. Written with these functions it works for both. `math.cos(x)`
would too, silently wrong: it turns a Value into a plain number (`float(x)`), and every higher
derivative through it becomes 0. `gradcheck(..., order=2)` catches that slip.

Every function of one value among the built-in ops (`autograd.ops.FUNCTIONS`) is here under
its name: exp, log, log1p, sqrt, tanh, sigmoid, softplus, relu, leaky_relu, abs, sin, cos (a test
checks that an op added there is added here). `power(a, b)` is a ** b as derivatives need it (IEEE arithmetic at 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from autograd.op import Op
from autograd.ops import FUNCTIONS, OPS
from autograd.value import Value

Real = float | Value


def _same_kind(op: Op) -> Callable[..., Real]:
    def function(x: Real, *constants: float, **by_name: float) -> Real:
        if by_name:
            constants = op.by_position((x, *constants), by_name)[1:]
        return op(x, *constants) if isinstance(x, Value) else op.forward(x, *constants)

    function.__name__ = function.__qualname__ = str(op)
    function.__doc__ = (f"{op}({', '.join(op.parameters)}) of a float (a float) or of a Value (a Value): "
                        f"the op autograd.OPS[{str(op)!r}].")
    return function


# every function of one value among the built-in ops (FUNCTIONS), by name; a test checks none is missing
exp = _same_kind(OPS["exp"])
log = _same_kind(OPS["log"])
log1p = _same_kind(OPS["log1p"])
sqrt = _same_kind(OPS["sqrt"])
tanh = _same_kind(OPS["tanh"])
sigmoid = _same_kind(OPS["sigmoid"])
softplus = _same_kind(OPS["softplus"])
relu = _same_kind(OPS["relu"])
leaky_relu = _same_kind(OPS["leaky_relu"])
abs = _same_kind(OPS["abs"])  # noqa: A001 - the op's name, as autograd.OPS["abs"]
sin = _same_kind(OPS["sin"])
cos = _same_kind(OPS["cos"])


def power(a: Real, b: Real) -> Real:
    """a ** b for floats and Values, as derivative rules need it: IEEE arithmetic where the op `**`
    refuses, as in PyTorch (0 to a negative power is inf, -0.0 to an odd one -inf, a negative base to
    a fractional power nan, a result too large for a float +-inf). On Values it is a node even
    there, so the next derivative sees it: sqrt''(0) = -inf, not a constant's 0."""
    if isinstance(a, Value) or isinstance(b, Value):
        return _power_anywhere(a, b)
    return _power_of_floats(a, b)


def _power_of_floats(a: float, b: float) -> float:
    a, b = float(a), float(b)  # (ints would give ints, and 0 ** -1 or 10 ** 400 no IEEE answer)
    odd = b % 2.0 == 1.0  # an odd integer power keeps the sign of the base
    try:
        out = a**b
    except ZeroDivisionError:  # 0 to a negative power
        return math.copysign(math.inf, a) if odd else math.inf
    except OverflowError:
        return -math.inf if a < 0.0 and odd else math.inf
    return out if type(out) is float else math.nan  # (a complex number for a negative base)


def _log_of_floats(x: float) -> float:
    return math.log(x) if x > 0.0 else -math.inf if x == 0.0 else math.nan


# The ops `**` and `log` with that arithmetic, for derivative rules: nodes of the same name and
# derivative rule, which give inf or nan where the ops themselves refuse.
_power_anywhere = Op(str(OPS["**"]), _power_of_floats, OPS["**"].derivative, torch="pow")._checked_by_the_tests()
_log_anywhere = Op(str(OPS["log"]), _log_of_floats, OPS["log"].derivative, torch="log")._checked_by_the_tests()


def _log_anywhere_of(x: Real) -> Real:
    """ln x for floats and Values in IEEE arithmetic: -inf at 0, nan below (d/dx is still 1/x)."""
    return _log_anywhere(x) if isinstance(x, Value) else _log_of_floats(x)


__all__ = [*FUNCTIONS, "power"]
