"""Derivatives of derivatives: `autograd.grad(..., create_graph=True)`.

With create_graph=True the gradient is itself built from Values, so it has a graph of its own
and can be differentiated again: second and third derivatives, Hessians, Hessian-vector products.
Each result is checked against the derivative worked out by hand and against PyTorch.
"""

from __future__ import annotations

import itertools
import math

import pytest
from _reference import (
    arity,
    matches_finite_differences,
    matches_torch,
    torch_derivatives,
    torch_of_every_argument,
)

import autograd
from autograd import OPS, Value, functions

pytestmark = pytest.mark.higher_order


def derivatives(f, x: float, order: int) -> list[float]:
    """[f'(x), f''(x), ...] by calling autograd.grad(create_graph=True) again and again."""
    v = Value(x)
    out = f(v)
    found = []
    for _ in range(order):
        (out,) = autograd.grad(out, [v], create_graph=True)
        found.append(out.data)
    return found


def _tanh_by_hand(x):
    t = math.tanh(x)
    return [1 - t * t, -2 * t * (1 - t * t), -2 * (1 - t * t) * (1 - 3 * t * t)]


def _exp_sin_by_hand(x):
    e, s, c = math.exp(x), math.sin(x), math.cos(x)
    return [e * (s + c), 2 * e * c, 2 * e * (c - s)]


FUNCTIONS = [
    # (f, [f', f'', f'''] worked out by hand)
    pytest.param(lambda x: x**3, lambda x: [3 * x * x, 6 * x, 6.0], id="x**3"),
    pytest.param(lambda x: x.exp() * x.sin(), _exp_sin_by_hand, id="exp(x)*sin(x)"),
    pytest.param(lambda x: x.tanh(), _tanh_by_hand, id="tanh(x)"),
]
POINTS = [-1.3, 0.0, 0.4, 2.1]


@pytest.mark.parametrize("x", POINTS)
@pytest.mark.parametrize(("f", "by_hand"), FUNCTIONS)
def test_first_second_and_third_derivatives_match_the_formulas(f, by_hand, x):
    assert derivatives(f, x, 3) == matches_finite_differences(by_hand(x))


@pytest.mark.parametrize("x", POINTS)
@pytest.mark.parametrize(("f", "by_hand"), FUNCTIONS)
def test_first_second_and_third_derivatives_match_pytorch(torch, f, by_hand, x):
    assert derivatives(f, x, 3) == matches_torch(torch_derivatives(torch, f, x, 3))


# Every op whose local derivative depends on its input, so the rule must run on Values.
# (Ops with constant local derivatives -- + - neg relu abs leaky_relu -- have second derivative 0.)
SECOND_DERIVATIVES = [
    ("x*x", lambda x: x * x * x, 0.7),
    ("1/x", lambda x: 1 / x, 1.3),
    ("x/c", lambda x: x / 3.0 * x, 1.3),
    ("x**2.5", lambda x: x**2.5, 1.7),
    ("x**-3", lambda x: x**-3, 0.9),
    ("x**x", lambda x: x**x, 1.4),
    ("2**x", lambda x: 2**x, 0.6),
    ("exp", lambda x: x.exp(), 0.3),
    ("log", lambda x: x.log(), 0.8),
    ("sqrt", lambda x: x.sqrt(), 2.0),
    ("tanh", lambda x: x.tanh(), -0.4),
    ("sigmoid", lambda x: x.sigmoid(), 0.9),
    ("sin", lambda x: x.sin(), 1.1),
    ("cos", lambda x: x.cos(), 1.1),
    ("relu", lambda x: (x * x).relu(), 1.1),
    ("abs", lambda x: abs(x * x * x), -0.6),
    ("neg-sub", lambda x: -(x * x) - (3 - x) * x, 0.5),
]


@pytest.mark.parametrize(("f", "x"), [pytest.param(f, x, id=name) for name, f, x in SECOND_DERIVATIVES])
def test_every_op_has_second_and_third_derivatives_matching_pytorch(torch, f, x):
    assert derivatives(f, x, 3) == matches_torch(torch_derivatives(torch, f, x, 3))


def test_second_derivatives_through_sum_and_dot_match_pytorch(torch):
    def f(x):
        return autograd.dot([x, x * x], [x.sin(), 2.0], bias=x**3) + autograd.sum([x, x * x, 1.0])

    def torch_f(t):
        return t * t.sin() + t * t * 2.0 + t**3 + t + t * t + 1.0

    assert derivatives(f, 0.8, 3) == matches_torch(torch_derivatives(torch, torch_f, 0.8, 3))


# ---- several variables ----------------------------------------------------------------------


def _f2(x, y):
    """f(x, y) = x^2 y + sin(x y) + e^y / x"""
    return x * x * y + (x * y).sin() + y.exp() / x


def _hessian(f, point):
    values = [Value(p) for p in point]
    gradient = autograd.grad(f(*values), values, create_graph=True)
    return [[h.data for h in autograd.grad(g, values)] for g in gradient]


def _torch_hessian(torch, f, point):
    return torch.autograd.functional.hessian(f, tuple(torch.tensor(p) for p in point))


def test_a_2x2_hessian_matches_the_formula_and_pytorch(torch):
    x, y = 0.9, -0.4
    hessian = _hessian(_f2, [x, y])
    s, c, e = math.sin(x * y), math.cos(x * y), math.exp(y)
    by_hand = [
        [2 * y - y * y * s + 2 * e / x**3, 2 * x + c - x * y * s - e / x**2],
        [2 * x + c - x * y * s - e / x**2, -x * x * s + e / x],
    ]
    assert hessian == [matches_finite_differences(row) for row in by_hand]
    reference = _torch_hessian(torch, _f2, [x, y])
    assert hessian == [[matches_torch(reference[i][j].item()) for j in range(2)] for i in range(2)]


def test_a_hessian_is_symmetric():
    hessian = _hessian(_f2, [1.7, 0.3])
    assert hessian[0][1] == pytest.approx(hessian[1][0], rel=1e-14)


def test_a_hessian_vector_product_matches_pytorch(torch):
    point, v = [0.9, -0.4], [0.25, -1.5]
    xs = [Value(p) for p in point]
    gradient = autograd.grad(_f2(*xs), xs, create_graph=True)
    # H v = grad(grad(f) . v): one more backward pass, no Hessian built
    hvp = [h.data for h in autograd.grad(autograd.dot(gradient, v), xs)]

    tensors = tuple(torch.tensor(p) for p in point)
    _, reference = torch.autograd.functional.hvp(_f2, tensors, tuple(torch.tensor(c) for c in v))
    assert hvp == matches_torch([r.item() for r in reference])
    hessian = _hessian(_f2, point)
    assert hvp == matches_torch([sum(hessian[i][j] * v[j] for j in range(2)) for i in range(2)])


# ---- what create_graph gives back ---------------------------------------------------------------


def test_create_graph_results_are_values_you_can_backward_through():
    x = Value(1.5)
    (dy,) = autograd.grad(x**3, [x], create_graph=True)
    assert dy.inputs != ()  # a node with a graph behind it, not a constant
    dy.backward()
    assert x.grad == matches_finite_differences(6 * 1.5)


def test_without_create_graph_results_are_constants():
    x = Value(1.5)
    (dy,) = autograd.grad(x**3, [x])
    assert dy.data == matches_finite_differences(3 * 1.5**2)
    assert dy.inputs == () and dy.op == ""


def test_the_derivative_of_a_linear_function_is_a_constant_whose_derivative_is_zero():
    x = Value(2.0)
    (dy,) = autograd.grad(3 * x + 1, [x], create_graph=True)
    assert dy.data == 3.0
    assert autograd.grad(dy, [x])[0].data == 0.0


def test_create_graph_touches_no_grad():
    x = Value(0.5)
    y = x.tanh() * x
    autograd.grad(y, [x], create_graph=True)
    assert x.grad == 0.0 and y.grad == 0.0


# ---- at the edges: zeros, infinities, NaN -------------------------------------------------------

EDGES = {1: [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan], 3: [0.0, math.inf, math.nan],
         2: [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, -3.0, math.inf, -math.inf, math.nan], 4: [0.0, 1.0, math.inf],
         5: [0.0, 1.0, math.inf]}


def _engine_hessian_of_op(op, point) -> list[list[float]]:
    values = [Value(x) for x in point]
    firsts = autograd.grad(op(*values), values, create_graph=True)
    return [[g.data for g in autograd.grad(first, values)] for first in firsts]


def _torch_hessian_of_op(torch, op, point) -> list[list[float]]:
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    firsts = torch.autograd.grad(torch_of_every_argument(torch, op)(*tensors), tensors, create_graph=True,
                                 allow_unused=True)
    rows = []
    for first in firsts:
        row = ([None] * len(tensors) if first is None or not first.requires_grad
               else torch.autograd.grad(first, tensors, allow_unused=True, retain_graph=True))
        rows.append([0.0 if g is None else g.item() for g in row])
    return rows


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or a == pytest.approx(b, rel=1e-12)


def _selected_by_pytorch(name: str, point: tuple[float, ...], row: int) -> bool:
    """Where PyTorch's backward of a ** b *selects* 0 (d/da at b = 0, d/db at a = 0 <= b), it
    still differentiates the branch it did not select, and 0 * inf there makes the second
    derivatives NaN. The engine's first derivative is that 0, a constant: its derivatives are 0.
    The one place the two engines differ, stated here."""
    if name not in ("**", "rpow"):
        return False
    (a, b), by = (point, row) if name == "**" else (point[::-1], 1 - row)  # rpow(x, c) is c ** x
    return (by == 0 and b == 0.0) or (by == 1 and a == 0.0 and b >= 0.0)


@pytest.mark.parametrize("name", list(OPS))
def test_second_derivatives_at_zeros_infinities_and_nan_are_pytorchs(torch, name):
    """Every op at every point of a grid of edges it is defined at: the whole Hessian, PyTorch's."""
    op = OPS[name]
    n = arity(op)
    wrong = []
    for point in itertools.product(EDGES[n], repeat=n):
        if name == "leaky_relu" and not math.isfinite(point[1]):
            continue  # a slope is a finite number
        try:
            mine = _engine_hessian_of_op(op, point)
        except (ValueError, ZeroDivisionError):  # a finite input outside the domain (tests/test_op_table.py)
            continue
        theirs = _torch_hessian_of_op(torch, op, point)
        for row, (my_row, their_row) in enumerate(zip(mine, theirs)):
            expected = [0.0] * len(my_row) if _selected_by_pytorch(name, point, row) else their_row
            if not all(map(_same, my_row, expected)):
                wrong.append(f"{op}{point}, row {row}: {my_row} != {expected}")
    assert not wrong, "\n".join(wrong)


def test_the_second_derivative_of_sqrt_at_zero_is_minus_infinity_as_in_pytorch(torch):
    x = Value(0.0)
    (first,) = autograd.grad(x.sqrt(), [x], create_graph=True)
    (second,) = autograd.grad(first, [x])
    assert (first.data, second.data) == (math.inf, -math.inf) == tuple(torch_derivatives(torch, torch.sqrt, 0.0, 2))


def test_an_infinite_local_derivative_stays_in_the_graph_of_the_gradient():
    # d/dx x**0.5 at 0 is inf: the gradient node is a "**" node of x, not a constant cut off from it
    x = Value(0.0)
    (first,) = autograd.grad(x**0.5, [x], create_graph=True)
    assert first.data == math.inf and x in autograd.topological_order(first)


@pytest.mark.parametrize(("a", "b"), [(0.0, -1.0), (-0.0, -1.0), (-0.0, -0.5), (0.0, -2.0), (-8.0, 1 / 3),
                                      (10.0, 400.0), (-10.0, 401.0), (2, 3), (-0.0, 3.0)])
def test_functions_power_is_pytorchs_pow_where_the_op_refuses_and_a_node_on_values(torch, a, b):
    # (a tensor exponent: with a number exponent of +-0.5 PyTorch takes sqrt, and -0.0 ** -0.5 is -inf there)
    base, exponent = (torch.tensor(float(v), dtype=torch.float64) for v in (a, b))
    expected = torch.pow(base, exponent).item()
    for got in (functions.power(a, b), functions.power(Value(a), b).data):
        assert got == expected or (math.isnan(got) and math.isnan(expected))
    assert functions.power(Value(a), b).op == "**"
