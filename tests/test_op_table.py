"""Every op of the table (`autograd.OPS`), checked from its declaration alone.

For each op, at points inside its domain:
    value            == PyTorch float64 (where the declaration names the PyTorch counterpart)
    1st derivatives  == central finite differences of its forward rule,   and == PyTorch
    2nd derivatives  == central finite differences of the 1st derivatives, and == PyTorch
and at NaN, infinities and zeros the value and the gradient are PyTorch's, except that a finite
input outside the domain raises an error naming the op. A new op is tested the moment it is
declared: nothing here lists the ops.
"""

from __future__ import annotations

import itertools
import math

import pytest
from _reference import (
    FD_STEP,
    arity,
    finite_differences,
    matches_finite_differences,
    matches_torch,
    torch_counterpart,
)

import autograd
from autograd import OPS, Value, functions
from autograd.expression import FUNCTIONS as COMMAND_LINE_FUNCTIONS
from autograd.ops import FUNCTIONS

pytestmark = pytest.mark.ops

GRID = [-2.3, -0.7, 0.4, 1.9]  # away from every kink (0) and from the edges of the domains
# Points where an op of several arguments has a kink that GRID does not avoid: max at a tie.
# (pick's index is a whole number, which GRID never is: tests/test_nn_compile_fit.py checks pick.)
KINKS = {"max": lambda point: len(set(point)) < len(point)}
# The arguments PyTorch takes as plain numbers only (leaky_relu's slope is not a tensor there)
TORCH_NUMBERS_ONLY = {"leaky_relu": {1}}


def _inside(op, point: tuple[float, ...]) -> bool:
    """The op's forward rule gives a finite number at the point and at every finite-difference step."""
    for i, x in enumerate(point):
        h = FD_STEP * max(1.0, abs(x))
        for moved in (x - h, x, x + h):
            try:
                if not math.isfinite(op.forward(*point[:i], moved, *point[i + 1 :])):
                    return False
            except (ValueError, ZeroDivisionError):
                return False
    return True


def _cases(torch_only: bool = False) -> list:
    cases = []
    for name, op in OPS.items():
        if torch_only and op.torch is None:
            continue
        for point in itertools.product(GRID, repeat=arity(op)):
            if _inside(op, point) and not KINKS.get(name, lambda point: False)(point):
                cases.append(pytest.param(op, point, id=f"{name}{point}"))
    return cases


def _engine(op, point) -> tuple[float, list[float]]:
    values = [Value(x) for x in point]
    out = op(*values)
    out.backward()
    return out.data, [v.grad for v in values]


def _torch_args(torch, op, point, requires_grad=True):
    numbers_only = TORCH_NUMBERS_ONLY.get(str(op), set())
    return [x if i in numbers_only else torch.tensor(x, dtype=torch.float64, requires_grad=requires_grad)
            for i, x in enumerate(point)]


def _torch(torch, op, point) -> tuple[float, list[float]]:
    args = _torch_args(torch, op, point)
    tensors = [a for a in args if not isinstance(a, float)]
    out = torch_counterpart(torch, op)(*args)
    grads = torch.autograd.grad(out, tensors, allow_unused=True)
    found = iter(0.0 if g is None else g.item() for g in grads)
    return out.item(), [next(found) if not isinstance(a, float) else None for a in args]


def _hessian(op, point) -> list[list[float]]:
    """d2 op / dx_i dx_j from grad(..., create_graph=True), differentiated again."""
    values = [Value(x) for x in point]
    firsts = autograd.grad(op(*values), values, create_graph=True)
    return [[g.data for g in autograd.grad(first, values)] for first in firsts]


# ---- values and first derivatives ---------------------------------------------------------------


@pytest.mark.parametrize(("op", "point"), _cases())
def test_first_derivatives_match_finite_differences_of_the_forward_rule(op, point):
    value, grads = _engine(op, point)
    assert value == op.forward(*point)
    assert grads == matches_finite_differences(finite_differences(op.forward, point))


@pytest.mark.parametrize(("op", "point"), _cases(torch_only=True))
def test_value_and_first_derivatives_match_pytorch(torch, op, point):
    value, grads = _engine(op, point)
    torch_value, torch_grads = _torch(torch, op, point)
    assert value == matches_torch(torch_value)
    for mine, theirs in zip(grads, torch_grads):
        if theirs is not None:  # (an argument PyTorch takes as a number has no gradient there)
            assert mine == matches_torch(theirs)


# ---- second derivatives: the derivative rule run on Values -----------------------------------


@pytest.mark.parametrize(("op", "point"), _cases())
def test_second_derivatives_match_finite_differences_of_the_first(op, point):
    hessian = _hessian(op, point)
    for j, x in enumerate(point):
        h = FD_STEP * max(1.0, abs(x))
        up = _engine(op, point[:j] + (x + h,) + point[j + 1 :])[1]
        down = _engine(op, point[:j] + (x - h,) + point[j + 1 :])[1]
        numeric = [(u - d) / (2 * h) for u, d in zip(up, down)]
        assert [row[j] for row in hessian] == pytest.approx(numeric, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize(("op", "point"), _cases(torch_only=True))
def test_second_derivatives_match_pytorch(torch, op, point):
    args = _torch_args(torch, op, point)
    tensors = [a for a in args if not isinstance(a, float)]
    firsts = torch.autograd.grad(torch_counterpart(torch, op)(*args), tensors, create_graph=True)
    expected = []
    for first in firsts:
        row = (torch.autograd.grad(first, tensors, allow_unused=True, retain_graph=True) if first.requires_grad
               else [None] * len(tensors))
        expected.append([0.0 if g is None else g.item() for g in row])
    positions = [i for i, a in enumerate(args) if not isinstance(a, float)]
    hessian = _hessian(op, point)
    assert [[hessian[i][j] for j in positions] for i in positions] == [matches_torch(row) for row in expected]


# ---- numbers as constants ----------------------------------------------------------------------


def _constant_cases() -> list:
    return [case for case in _cases() if not case.values[0].variadic and len(case.values[1]) > 1]


@pytest.mark.parametrize(("op", "point"), _constant_cases())
def test_numbers_after_the_first_value_are_constants_of_one_input_node(op, point):
    x = Value(point[0])
    y = op(x, *point[1:])
    assert y.inputs == (x,)
    assert y.constant == (point[1] if len(point) == 2 else point[1:])
    y.backward()
    all_values = _engine(op, point)
    assert (y.data, x.grad) == (all_values[0], all_values[1][0])
    second = autograd.grad(autograd.grad(op(x, *point[1:]), [x], create_graph=True)[0], [x])[0].data
    assert second == pytest.approx(_hessian(op, point)[0][0], rel=1e-12, abs=1e-12)


# ---- NaN, infinities and zeros: as in PyTorch ----------------------------------------------------

SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.5]


def _special_cases() -> list:
    cases = []
    for name, op in OPS.items():
        if op.torch is None:
            continue
        grid = SPECIAL if len(op.parameters) == 1 else [math.nan, math.inf, -math.inf, 0.0, 2.0, -1.5]
        for point in itertools.product(grid, repeat=len(op.parameters)):
            if name == "leaky_relu" and not math.isfinite(point[1]):
                continue  # a slope is a finite number
            if any(math.isnan(x) or math.isinf(x) for x in point) or name in ("abs", "relu", "leaky_relu", "sqrt"):
                cases.append(pytest.param(op, point, id=f"{name}{point}"))
    return cases


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or a == pytest.approx(b, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize(("op", "point"), _special_cases())
def test_nan_and_infinity_go_through_as_in_pytorch(torch, op, point):
    torch_value, torch_grads = _torch(torch, op, point)
    try:
        value, grads = _engine(op, point)
    except (ValueError, ZeroDivisionError) as error:
        # only a finite input outside the domain is an error (PyTorch gives nan or inf there)
        assert str(op) in str(error)
        assert not math.isfinite(torch_value) or torch_value != torch_value
        assert any(math.isfinite(x) for x in point)
        return
    assert _same(value, torch_value), (value, torch_value)
    for mine, theirs in zip(grads, torch_grads):
        if theirs is not None:
            assert _same(mine, theirs), (grads, torch_grads)


def test_a_nan_never_becomes_a_number():
    for name, op in FUNCTIONS.items():
        assert math.isnan(op(Value(math.nan)).data), name


def test_a_result_too_large_for_a_float_is_infinite_with_an_infinite_gradient(torch):
    for make in (lambda x: (x * 100).exp(), lambda x: x**400, lambda x: 10 ** (x * 40), lambda x: (x * 1e300) * 1e10):
        x = Value(10.0)
        y = make(x)
        y.backward()
        t = torch.tensor(10.0, dtype=torch.float64, requires_grad=True)
        (t_grad,) = torch.autograd.grad(make(t), t)
        assert y.data == math.inf and x.grad == t_grad.item() == math.inf


def test_a_finite_value_with_an_overflowing_derivative_gets_an_infinite_gradient(torch):
    # 1e-200 ** -1 is 1e200, but its derivative -1e400 is beyond the largest float
    x = Value(1e-200)
    y = x**-1
    y.backward()
    t = torch.tensor(1e-200, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(t**-1, t)
    assert (y.data, x.grad) == (1e200, -math.inf) == (1e200, expected.item())


def test_a_huge_int_is_an_error_naming_where_it_was_given():
    with pytest.raises(OverflowError, match="Value data .* too large .*401 digits"):
        Value(10**400)
    with pytest.raises(OverflowError, match=r"\*: b .* too large"):
        Value(1.0) * 10**400
    with pytest.raises(OverflowError, match="leaky_relu: slope"):
        Value(1.0).leaky_relu(10**400)


# ---- every function of one value is everywhere a function is ---------------------------------


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_each_function_is_a_method_a_float_function_and_a_command_line_function(name):
    op = FUNCTIONS[name]
    x = 0.4
    assert getattr(Value(x), name)().data == op(Value(x)).data == getattr(functions, name)(x)
    assert type(getattr(functions, name)(x)) is float
    assert isinstance(getattr(functions, name)(Value(x)), Value)
    assert COMMAND_LINE_FUNCTIONS[name] is op


def test_the_table_names_each_op_by_its_own_name():
    assert all(name == str(op) for name, op in OPS.items())
    assert set(FUNCTIONS) <= set(OPS)


# ---- constants by name ---------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "point"), _constant_cases())
def test_every_constant_can_be_given_by_the_name_its_forward_rule_gives_it(op, point):
    x = Value(point[0])
    by_name = dict(zip(op.parameters[1:], point[1:]))
    named, positional = op(x, **by_name), op(Value(point[0]), *point[1:])
    assert (named.data, named.inputs, named.constant) == (positional.data, (x,), positional.constant)
    if str(op) in FUNCTIONS:  # as a method and in autograd.functions, on Values and floats
        assert getattr(x, str(op))(**by_name).data == named.data
        assert getattr(functions, str(op))(x, **by_name).data == named.data
        assert getattr(functions, str(op))(point[0], **by_name) == named.data


def test_leaky_relu_takes_its_slope_by_name_everywhere():
    x = Value(-2.0)
    assert x.leaky_relu(slope=0.2).data == functions.leaky_relu(-2.0, slope=0.2) == -0.4
    y = functions.leaky_relu(x, slope=0.2)
    y.backward()
    assert x.grad == 0.2


@pytest.mark.parametrize(("call", "message"), [
    (lambda x: x.leaky_relu(slop=0.2),
     r"leaky_relu\(\) got an unexpected keyword argument 'slop' \(its arguments are x, slope\)"),
    (lambda x: x.leaky_relu(0.1, slope=0.2), r"leaky_relu\(\) got 'slope' twice"),
    (lambda x: OPS["**"](b=x), r"\*\*\(\) is missing 'a'"),
    (lambda x: autograd.sum([x], start=1), "unexpected keyword argument"),
    (lambda x: OPS["sum"](x, start=1.0), r"sum\(\) got an unexpected keyword argument 'start' \(it takes none\)"),
    (lambda x: functions.leaky_relu(x, slope="steep"), "leaky_relu: slope must be a real number, got str"),
])
def test_a_wrong_name_or_an_argument_given_twice_is_an_error_naming_the_op(call, message):
    with pytest.raises(TypeError, match=message):
        call(Value(-1.0))
