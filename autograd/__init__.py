"""autograd: a scalar reverse-mode automatic-differentiation engine you can read in one sitting.

    >>> from autograd import Value
    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x
    >>> y.backward()
    >>> x.grad       # dy/dx = 2x + 3
    7.0

Read it in this order: `value.py` (the node), `op.py` (what an op is), `ops.py` (every op, its
forward beside its derivative), `backprop.py` (the chain rule), then `modes.py` (no_grad, scope)
and `gradcheck.py`. `functions.py` has the functions to write derivative rules with.
"""

from autograd.anomaly import AnomalyError
from autograd.backprop import GraphCycleError, grad, topological_order
from autograd.compile import Compiled, TraceMismatchError, compile
from autograd.draw import backward_steps, draw_dot, explore
from autograd.gradcheck import GradcheckError, gradcheck
from autograd.modes import Scope, current_scope, detect_anomaly, is_grad_enabled, no_grad, scope
from autograd.op import BLOCKED, Op
from autograd.ops import OPS, dot, sum
from autograd.value import Value

__all__ = [
    "BLOCKED",
    "OPS",
    "AnomalyError",
    "Compiled",
    "GradcheckError",
    "GraphCycleError",
    "Op",
    "Scope",
    "TraceMismatchError",
    "Value",
    "backward_steps",
    "compile",
    "current_scope",
    "detect_anomaly",
    "dot",
    "draw_dot",
    "explore",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "scope",
    "sum",
    "topological_order",
]
