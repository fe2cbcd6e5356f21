"""autograd: a scalar reverse-mode automatic-differentiation engine you can read in one sitting.

    >>> from autograd import Value
    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x
    >>> y.backward()
    >>> x.grad       # dy/dx = 2x + 3
    7.0
"""

from autograd.draw import draw_dot
from autograd.engine import Value, dot, grad, sum
from autograd.gradcheck import GradcheckError, gradcheck
from autograd.modes import Scope, current_scope, is_grad_enabled, no_grad, scope
from autograd.steps import backward_steps

__all__ = [
    "GradcheckError",
    "Scope",
    "Value",
    "backward_steps",
    "current_scope",
    "dot",
    "draw_dot",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "scope",
    "sum",
]
