"""`gradcheck`: test a function's gradients against central finite differences.

The tool for checking an op you wrote yourself: if your local derivative is wrong,
backward() disagrees with (f(x + eps) - f(x - eps)) / (2 eps), and gradcheck says where.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from autograd.modes import no_grad
from autograd.value import Value
from autograd.value import to_float as _to_float


class GradcheckError(AssertionError):
    """backward() and finite differences disagree for one input."""


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """Check every d f / d input_i from backward() against a central finite difference.

    `f` is called as f(*values) with one Value per number in `inputs` and must return a Value.
    Input i passes where |analytic - numeric| <= atol + rtol * |numeric|. Returns True, or
    raises GradcheckError naming the first input that fails with both numbers.
    """
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise TypeError(f"gradcheck: inputs must be a sequence of numbers, got {type(inputs).__name__}")
    point = [_to_float(x, f"gradcheck inputs[{i}]") for i, x in enumerate(inputs)]
    eps = _to_float(eps, "gradcheck eps")
    if not eps > 0.0:
        raise ValueError(f"gradcheck: eps must be positive, got {eps!r}")
    atol, rtol = _to_float(atol, "gradcheck atol"), _to_float(rtol, "gradcheck rtol")
    if not (atol >= 0.0 and rtol >= 0.0):
        raise ValueError(f"gradcheck: atol and rtol must be non-negative, got atol={atol!r}, rtol={rtol!r}")
    if not callable(f):
        raise TypeError(f"gradcheck: f must be a function of {len(point)} Values, got {type(f).__name__}")

    values = [Value(x) for x in point]
    out = _call(f, values)
    out.backward()
    analytic = [v.grad for v in values]

    for i, x in enumerate(point):
        numeric = (_evaluate(f, point, i, x + eps) - _evaluate(f, point, i, x - eps)) / (2 * eps)
        error = abs(analytic[i] - numeric)
        if not error <= atol + rtol * abs(numeric) and not (math.isinf(numeric) and analytic[i] == numeric):
            raise GradcheckError(
                f"gradcheck: input {i} (x = {x!r}): backward() gives {analytic[i]!r}, "
                f"finite differences give {numeric!r} (difference {error:.3g}, "
                f"allowed {atol + rtol * abs(numeric):.3g})"
            )
    return True


def _call(f: Callable[..., Value], values: list[Value]) -> Value:
    out = f(*values)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
    return out


@no_grad()
def _evaluate(f: Callable[..., Value], point: list[float], i: int, x_i: float) -> float:
    """f at `point` with input i moved to x_i (no graph is recorded)."""
    moved = list(point)
    moved[i] = x_i
    return _call(f, [Value(x) for x in moved]).data
