"""A zero local derivative meets an infinite or NaN gradient: 0 where PyTorch masks, NaN where it multiplies.

The chain rule multiplies, input.grad += local * node.grad, and with node.grad = inf or NaN a local
derivative of 0 makes that product NaN. For most ops PyTorch does the same (tanh's backward is
grad * (1 - y^2): NaN at y = 1). A few of its backward functions *select* instead: relu passes
the gradient where x > 0 and 0 elsewhere, and d/da a**b is 0 for b = 0 whatever comes back. A
derivative rule says so by returning `autograd.BLOCKED`, a 0 that stays 0 when multiplied.

For every op of `OPS`, at every point of a grid of special numbers where one of its local
derivatives is 0, with the gradient +inf, -inf and NaN coming back into it, the gradients of its
inputs are PyTorch's (float64), from backward() and from grad(..., create_graph=True) alike.
"""

from __future__ import annotations

import itertools
import math

import pytest
from _reference import arity, torch_of_every_argument

import autograd
from autograd import BLOCKED, OPS, Value

pytestmark = pytest.mark.ops

inf, nan = math.inf, math.nan
UPSTREAM = [inf, -inf, nan]
GRID = {1: [0.0, -0.0, -1.0, 1.0, inf, -inf, 30.0, -800.0], 2: [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, inf, -inf],
        3: [0.0, 1.0, inf], 4: [0.0, 1.0, inf], 5: [0.0, 1.0, inf]}


def _torch_grads(torch, op, point, upstream: float) -> list[float]:
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    out = torch_of_every_argument(torch, op)(*tensors)
    grads = torch.autograd.grad(out, tensors, grad_outputs=torch.tensor(upstream, dtype=torch.float64),
                                allow_unused=True)
    return [0.0 if g is None else g.item() for g in grads]


def _engine_grads(op, point, upstream: float, create_graph: bool) -> list[float]:
    """The inputs' gradients when `upstream` comes back into the op's output (out * upstream is the root)."""
    values = [Value(x) for x in point]
    root = op(*values) * upstream
    if create_graph:  # the derivative rules run again, on Values
        return [g.data for g in autograd.grad(root, values, create_graph=True)]
    root.backward()
    return [v.grad for v in values]


def _defined(op, point) -> bool:
    try:
        op.forward(*point)
    except (ValueError, ZeroDivisionError):  # outside the domain: an error (tests/test_op_table.py)
        return False
    return True


@pytest.fixture(scope="module")
def zero_derivative_points(torch) -> dict[str, list[tuple[float, ...]]]:
    """For each op, the points of the grid where PyTorch gives one of its inputs the gradient 0."""
    points = {}
    for name, op in OPS.items():
        n = arity(op)
        points[name] = [point for point in itertools.product(GRID[n], repeat=n)
                        if _defined(op, point) and 0.0 in _torch_grads(torch, op, point, 1.0)
                        and (name != "leaky_relu" or math.isfinite(point[1]))]  # a slope is a finite number
    return points


# local derivatives +-1 everywhere; and cos x, sin's derivative, is 0 at no float x
WITHOUT_ZEROS = {"+", "-", "neg", "rsub", "sum", "sin"}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_every_op_but_those_of_derivative_one_has_zero_derivative_points(zero_derivative_points):
    assert {name for name, points in zero_derivative_points.items() if not points} == WITHOUT_ZEROS


@pytest.mark.parametrize("create_graph", [False, True], ids=["backward", "create_graph"])
@pytest.mark.parametrize("name", list(OPS))
def test_an_infinite_or_nan_gradient_through_a_zero_local_derivative_is_as_in_pytorch(
        torch, zero_derivative_points, name, create_graph):
    op = OPS[name]
    for point in zero_derivative_points[name]:
        for upstream in UPSTREAM:
            mine = _engine_grads(op, point, upstream, create_graph)
            theirs = _torch_grads(torch, op, point, upstream)
            assert all(map(_same, mine, theirs)), f"{op}{point}, gradient {upstream} coming back: {mine} != {theirs}"


# ---- the constant forms take PyTorch's scalar paths ------------------------------------------------


@pytest.mark.parametrize("upstream", UPSTREAM)
def test_a_number_exponent_of_zero_blocks_the_gradient_as_pytorch(torch, upstream):
    x = Value(2.0)
    (x**0 * upstream).backward()
    t = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(torch.pow(t, 0.0) * upstream, t)
    assert x.grad == expected.item() == 0.0


@pytest.mark.parametrize("upstream", UPSTREAM)
def test_a_zero_slope_multiplies_as_pytorch(torch, upstream):
    x = Value(-1.0)
    (x.leaky_relu(0.0) * upstream).backward()
    t = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(torch.nn.functional.leaky_relu(t, 0.0) * upstream, t)
    assert math.isnan(x.grad) and math.isnan(expected.item())


# ---- the reproducers ------------------------------------------------------------------------------


def test_a_dead_relu_under_a_square_root_passes_no_nan(torch):
    for make in (lambda x: x.relu().sqrt(), lambda x: x.relu() ** 0.5):
        x = Value(-1.0)
        make(x).backward()
        t = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
        (expected,) = torch.autograd.grad(make(t), t)
        assert x.grad == expected.item() == 0.0


def test_the_l2_norm_of_dead_units_has_zero_gradients(torch):
    def norm(units):
        return autograd.sum([u.relu() ** 2 for u in units]).sqrt()

    units = [Value(-1.0), Value(-0.5), Value(0.0)]
    norm(units).backward()
    tensors = [torch.tensor(u.data, dtype=torch.float64, requires_grad=True) for u in units]
    expected = torch.autograd.grad(torch.stack([torch.relu(t) ** 2 for t in tensors]).sum().sqrt(), tensors)
    assert [u.grad for u in units] == [e.item() for e in expected] == [0.0, 0.0, 0.0]


def test_blocked_is_a_zero_that_stays_zero_when_multiplied():
    assert BLOCKED == 0.0 and repr(BLOCKED) == "0.0"
    assert [BLOCKED * g for g in (inf, -inf, nan, 2.0)] == [0.0] * 4
    assert [g * BLOCKED for g in (inf, -inf, nan)] == [0.0] * 3
    assert BLOCKED * Value(nan) == 0.0  # on Values too: grad(..., create_graph=True) runs the same rule
    x = Value(-2.0)
    assert x.relu().local_grads == (0.0,) and x.relu().local_grads[0] is BLOCKED
