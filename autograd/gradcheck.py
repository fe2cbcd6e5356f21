"""`gradcheck`: test a function's gradients against central finite differences.

The tool for checking an op you wrote yourself: if its local derivative is wrong, backward()
disagrees with (f(x + eps) - f(x - eps)) / (2 eps), and gradcheck says where. With order=2 it
checks the second derivatives too, which only an op whose derivative rule works on Values has
right: a rule written with `math.cos` instead of `autograd.functions.cos`, or a node made by
hand, has first derivatives that pass and second derivatives that do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from autograd.backprop import grad
from autograd.modes import no_grad
from autograd.value import Value, to_float


class GradcheckError(AssertionError):
    """A derivative from the engine and its finite-difference estimate disagree."""


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    order: int = 1,
) -> bool:
    """Check every d f / d input_i from backward() against a central finite difference.

    `f` is called as f(*values) with one Value per number in `inputs` and must return a Value.
    A derivative passes where |engine - numeric| <= atol + rtol * |numeric|. With order=2, also
    every second derivative d2f / dx_i dx_j from `grad(..., create_graph=True)` against central
    differences of the first derivatives. Returns True, or raises GradcheckError naming the
    first input (or pair of inputs) that fails, with both numbers.
    """
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise TypeError(f"gradcheck: inputs must be a sequence of numbers, got {type(inputs).__name__}")
    point = [to_float(x, f"gradcheck inputs[{i}]") for i, x in enumerate(inputs)]
    for i, x in enumerate(point):
        if not math.isfinite(x):
            raise ValueError(f"gradcheck: inputs[{i}] is {x!r}; finite differences need finite inputs")
    eps = to_float(eps, "gradcheck eps")
    if not 0.0 < eps < math.inf:
        raise ValueError(f"gradcheck: eps must be a positive finite step, got {eps!r}")
    for i, x in enumerate(point):
        if x + eps == x or x - eps == x:  # the step is lost in rounding: the difference quotient would be 0
            raise ValueError(f"gradcheck: eps={eps!r} is too small a step for inputs[{i}] = {x!r} (x + eps == x)")
    atol, rtol = to_float(atol, "gradcheck atol"), to_float(rtol, "gradcheck rtol")
    if not (0.0 <= atol < math.inf and 0.0 <= rtol < math.inf):  # an infinite tolerance passes everything
        raise ValueError(f"gradcheck: atol and rtol must be non-negative and finite, got atol={atol!r}, rtol={rtol!r}")
    if order not in (1, 2) or type(order) is not int:
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order!r}")
    if not callable(f):
        raise TypeError(f"gradcheck: f must be a function of {len(point)} Values, got {type(f).__name__}")

    def close(engine: float, numeric: float) -> bool:
        return abs(engine - numeric) <= atol + rtol * abs(numeric) or (math.isinf(numeric) and engine == numeric)

    def allowed(engine: float, numeric: float) -> str:
        return f"difference {abs(engine - numeric):.3g}, allowed {atol + rtol * abs(numeric):.3g}"

    first = _first_derivatives(f, point)
    for i, x in enumerate(point):
        numeric = (_value(f, _moved(point, i, x + eps)) - _value(f, _moved(point, i, x - eps))) / (2 * eps)
        engine = first[i]
        if not close(engine, numeric):
            raise GradcheckError(f"gradcheck: input {i} (x = {x!r}): backward() gives {engine!r}, "
                                 f"finite differences give {numeric!r} ({allowed(engine, numeric)})")
    if order == 1:
        return True

    values = [Value(x) for x in point]
    try:
        gradients = grad(_call(f, values), values, create_graph=True)  # first derivatives as Values
        seconds = [[d.data for d in grad(g, values)] for g in gradients]  # d/dx_j of d f / dx_i
    except Exception as error:  # a derivative rule that cannot run on Values: its error says what to write
        raise GradcheckError(f"gradcheck: the second derivatives at inputs {point!r} cannot be computed: "
                             f"{type(error).__name__}: {error}") from error
    for i, second in enumerate(seconds):
        for j, x in enumerate(point):
            up, down = (_first_derivatives(f, _moved(point, j, x + h)) for h in (eps, -eps))
            numeric = (up[i] - down[i]) / (2 * eps)
            engine = second[j]
            if not close(engine, numeric):
                raise GradcheckError(
                    f"gradcheck: second derivative d2f/dx{i}dx{j} at inputs {point!r}: grad(create_graph=True) "
                    f"gives {engine!r}, finite differences of the first derivatives give {numeric!r} "
                    f"({allowed(engine, numeric)}); is the derivative rule written with autograd.functions, not math?")
    return True


def _call(f: Callable[..., Value], values: list[Value]) -> Value:
    out = f(*values)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
    return out


def _first_derivatives(f: Callable[..., Value], point: list[float]) -> list[float]:
    """d f / d x_i at `point` from backward(), one per input."""
    values = [Value(x) for x in point]
    _call(f, values).backward()
    return [v.grad for v in values]


@no_grad()
def _value(f: Callable[..., Value], point: list[float]) -> float:
    """f at `point` (no graph is recorded)."""
    return _call(f, [Value(x) for x in point]).data


def _moved(point: list[float], i: int, x_i: float) -> list[float]:
    moved = list(point)
    moved[i] = x_i
    return moved
