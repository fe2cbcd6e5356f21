"""Every operation on its own: its value and its gradient, checked two independent ways.

For each op and several points:
    value     == the same formula on plain floats (math module)      and == PyTorch float64
    gradient  == central finite differences on plain floats           and == PyTorch float64
Numbers may stand on either side of an operator. At kinks and edges the engine follows PyTorch.
"""

from __future__ import annotations

import math

import pytest
from _reference import (
    engine_value_and_grad,
    finite_differences,
    matches_finite_differences,
    matches_torch,
    torch_value_and_grad,
)

import autograd
from autograd import Value

pytestmark = pytest.mark.ops

ANYWHERE = [-2.3, -0.7, 0.4, 1.9]
POSITIVE = [0.3, 1.0, 2.5, 7.0]
AWAY_FROM_KINK = [-1.5, -0.2, 0.3, 2.0]

# (name, the op on a Value -- the same code runs on a torch tensor --, the op on a float, points)
UNARY = [
    ("neg", lambda x: -x, lambda x: -x, ANYWHERE),
    ("exp", lambda x: x.exp(), math.exp, ANYWHERE),
    ("log", lambda x: x.log(), math.log, POSITIVE),
    ("sqrt", lambda x: x.sqrt(), math.sqrt, POSITIVE),
    ("tanh", lambda x: x.tanh(), math.tanh, ANYWHERE),
    ("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + math.exp(-x)), ANYWHERE),
    ("relu", lambda x: x.relu(), lambda x: max(x, 0.0), AWAY_FROM_KINK),
    ("abs", abs, abs, AWAY_FROM_KINK),
    ("sin", lambda x: x.sin(), math.sin, ANYWHERE),
    ("cos", lambda x: x.cos(), math.cos, ANYWHERE),
]

# Binary operators: one lambda serves Values, floats and tensors alike.
BINARY = [
    ("a+b", lambda a, b: a + b, [(1.5, -0.7), (-2.0, 3.0), (0.25, 4.0)]),
    ("a-b", lambda a, b: a - b, [(1.5, -0.7), (-2.0, 3.0), (0.25, 4.0)]),
    ("a*b", lambda a, b: a * b, [(1.5, -0.7), (-2.0, 3.0), (0.25, 4.0)]),
    ("a/b", lambda a, b: a / b, [(1.5, -0.7), (-2.0, 3.0), (0.25, 4.0)]),
    ("a**b", lambda a, b: a**b, [(1.5, -0.7), (0.3, 2.5), (2.0, 3.0)]),
]

# One Value and a number, on each side.
WITH_A_CONSTANT = [
    ("x+c", lambda x: x + 2.5),
    ("c+x", lambda x: 2.5 + x),
    ("x-c", lambda x: x - 2.5),
    ("c-x", lambda x: 2.5 - x),
    ("x*c", lambda x: x * -1.5),
    ("c*x", lambda x: -1.5 * x),
    ("x/c", lambda x: x / 4),
    ("c/x", lambda x: 4 / x),
    ("x**2", lambda x: x**2),
    ("x**3", lambda x: x**3),
    ("x**-1", lambda x: x**-1),
    ("x**-2", lambda x: x**-2),
    ("x**0", lambda x: x**0),
    ("x**1", lambda x: x**1),
    ("x**0.5", lambda x: x**0.5),
    ("x**-2.5", lambda x: x**-2.5),
    ("2**x", lambda x: 2**x),
    ("0.5**x", lambda x: 0.5**x),
]
CONSTANT_POINTS = [0.3, 1.7, 3.0]  # positive, so that x**0.5 and x**-2.5 are real


def _unary_cases():
    return [pytest.param(f, plain, x, id=f"{name}({x})") for name, f, plain, points in UNARY for x in points]


def _binary_cases():
    return [pytest.param(f, a, b, id=f"{name}@{a},{b}") for name, f, points in BINARY for a, b in points]


def _constant_cases():
    return [pytest.param(f, x, id=f"{name}@{x}") for name, f in WITH_A_CONSTANT for x in CONSTANT_POINTS]


# ---- unary functions ---------------------------------------------------------------------


@pytest.mark.parametrize(("f", "plain", "x"), _unary_cases())
def test_unary_op_value_matches_the_float_formula(f, plain, x):
    assert f(Value(x)).data == pytest.approx(plain(x), rel=1e-14, abs=1e-300)


@pytest.mark.parametrize(("f", "plain", "x"), _unary_cases())
def test_unary_op_gradient_matches_finite_differences(f, plain, x):
    _, grads = engine_value_and_grad(f, [x])
    assert grads == matches_finite_differences(finite_differences(plain, [x]))


@pytest.mark.parametrize(("f", "plain", "x"), _unary_cases())
def test_unary_op_value_and_gradient_match_pytorch(torch, f, plain, x):
    value, grads = engine_value_and_grad(f, [x])
    torch_value, torch_grads = torch_value_and_grad(torch, f, [x])
    assert value == matches_torch(torch_value)
    assert grads == matches_torch(torch_grads)


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5])
@pytest.mark.parametrize("x", AWAY_FROM_KINK)
def test_leaky_relu_value_and_gradient_match_finite_differences_and_pytorch(torch, x, slope):
    def plain(x):
        return x if x > 0 else slope * x

    value, grads = engine_value_and_grad(lambda v: v.leaky_relu(slope), [x])
    assert value == plain(x)
    assert grads == matches_finite_differences(finite_differences(plain, [x]))
    leaky = torch.nn.functional.leaky_relu
    torch_value, torch_grads = torch_value_and_grad(torch, lambda t: leaky(t, slope), [x])
    assert value == matches_torch(torch_value)
    assert grads == matches_torch(torch_grads)


def test_leaky_relu_default_slope_is_0_01():
    x = Value(-2.0)
    y = x.leaky_relu()
    y.backward()
    assert (y.data, x.grad) == (-0.02, 0.01)


# ---- binary operators --------------------------------------------------------------------


@pytest.mark.parametrize(("f", "a", "b"), _binary_cases())
def test_binary_op_value_matches_the_float_formula(f, a, b):
    assert f(Value(a), Value(b)).data == f(a, b)


@pytest.mark.parametrize(("f", "a", "b"), _binary_cases())
def test_binary_op_gradient_matches_finite_differences(f, a, b):
    _, grads = engine_value_and_grad(f, [a, b])
    assert grads == matches_finite_differences(finite_differences(f, [a, b]))


@pytest.mark.parametrize(("f", "a", "b"), _binary_cases())
def test_binary_op_value_and_gradient_match_pytorch(torch, f, a, b):
    value, grads = engine_value_and_grad(f, [a, b])
    torch_value, torch_grads = torch_value_and_grad(torch, f, [a, b])
    assert value == matches_torch(torch_value)
    assert grads == matches_torch(torch_grads)


@pytest.mark.parametrize(("f", "a", "b"), _binary_cases())
def test_binary_op_with_the_same_value_on_both_sides(torch, f, a, b):
    # x op x: both local derivatives flow into the one input
    def same(x):
        return f(x, x)

    _, grads = engine_value_and_grad(same, [a])
    assert grads == matches_finite_differences(finite_differences(same, [a]))
    assert grads == matches_torch(torch_value_and_grad(torch, same, [a])[1])


# ---- a Value and a number ----------------------------------------------------------------


@pytest.mark.parametrize(("f", "x"), _constant_cases())
def test_op_with_a_constant_value_matches_the_float_formula(f, x):
    assert f(Value(x)).data == f(x)


@pytest.mark.parametrize(("f", "x"), _constant_cases())
def test_op_with_a_constant_gradient_matches_finite_differences(f, x):
    _, grads = engine_value_and_grad(f, [x])
    assert grads == matches_finite_differences(finite_differences(f, [x]))


@pytest.mark.parametrize(("f", "x"), _constant_cases())
def test_op_with_a_constant_value_and_gradient_match_pytorch(torch, f, x):
    value, grads = engine_value_and_grad(f, [x])
    torch_value, torch_grads = torch_value_and_grad(torch, f, [x])
    assert value == matches_torch(torch_value)
    assert grads == matches_torch(torch_grads)


@pytest.mark.parametrize(("a", "b"), [(-2.0, 3.0), (-1.5, 2.0), (-3.0, -1.0)])
def test_negative_base_to_an_integer_value_exponent_matches_pytorch(torch, a, b):
    # a real number, and d/da is fine; d/db = a**b ln(a) is nan (as in PyTorch)
    value, (d_base, d_exponent) = engine_value_and_grad(lambda a, b: a**b, [a, b])
    torch_value, (torch_d_base, torch_d_exponent) = torch_value_and_grad(torch, lambda a, b: a**b, [a, b])
    assert value == a**b == matches_torch(torch_value)
    assert d_base == matches_finite_differences(b * a ** (b - 1)) == matches_torch(torch_d_base)
    assert math.isnan(d_exponent) and math.isnan(torch_d_exponent)


# ---- n-ary nodes: sum and dot ------------------------------------------------------------


@pytest.mark.parametrize("point", [(1.0, -2.0, 0.5), (3.25, 0.0, -7.5)])
def test_sum_value_and_gradient_match_finite_differences_and_pytorch(torch, point):
    def plain(a, b, c):
        return a + b + 2.0 + c

    value, grads = engine_value_and_grad(lambda a, b, c: autograd.sum([a, b, 2.0, c]), point)
    assert value == plain(*point)
    assert grads == matches_finite_differences(finite_differences(plain, point))
    torch_value, torch_grads = torch_value_and_grad(torch, plain, point)
    assert value == matches_torch(torch_value)
    assert grads == matches_torch(torch_grads)


def test_sum_is_one_node_with_all_inputs_in_order():
    a, b = Value(1.0), Value(2.0)
    s = autograd.sum([a, 5, b])
    assert s.op == "sum"
    assert s.inputs[0] is a and s.inputs[2] is b
    assert s.inputs[1].data == 5.0 and s.inputs[1].inputs == ()


def test_sum_of_nothing_is_zero():
    assert autograd.sum([]).data == 0.0


@pytest.mark.parametrize("with_bias", [False, True], ids=["no-bias", "bias"])
@pytest.mark.parametrize("point", [(1.0, -2.0, 0.5, 4.0, -0.3), (0.7, 3.0, -1.25, 2.0, 5.0)])
def test_dot_value_and_gradient_match_finite_differences_and_pytorch(torch, point, with_bias):
    def plain(a1, a2, b1, b2, bias):
        return a1 * b1 + a2 * b2 + (bias if with_bias else 0.0)

    def engine(a1, a2, b1, b2, bias):
        return autograd.dot([a1, a2], [b1, b2], bias=bias if with_bias else None)

    value, grads = engine_value_and_grad(engine, point)
    assert value == matches_finite_differences(plain(*point))
    assert grads == matches_finite_differences(finite_differences(plain, point))
    torch_value, torch_grads = torch_value_and_grad(torch, plain, point)
    assert value == matches_torch(torch_value)
    assert grads == matches_torch(torch_grads)


def test_dot_with_numbers_on_one_side():
    w1, w2 = Value(0.5), Value(-2.0)
    y = autograd.dot([3.0, 4.0], [w1, w2], bias=1.0)
    y.backward()
    assert y.data == 3.0 * 0.5 + 4.0 * -2.0 + 1.0
    assert (w1.grad, w2.grad) == (3.0, 4.0)


def test_dot_is_one_node_with_inputs_a_then_b_then_bias():
    a1, a2, b1, b2, c = (Value(x) for x in (1.0, 2.0, 3.0, 4.0, 5.0))
    assert autograd.dot([a1, a2], [b1, b2]).inputs == (a1, a2, b1, b2)
    y = autograd.dot([a1, a2], [b1, b2], bias=c)
    assert y.op == "dot"
    assert y.inputs == (a1, a2, b1, b2, c)


def test_dot_of_sequences_of_different_length_raises_value_error():
    with pytest.raises(ValueError, match="length"):
        autograd.dot([Value(1.0)], [Value(1.0), Value(2.0)])


# ---- the graph each op records -----------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "op"),
    [
        (lambda a, b: a + b, "+"),
        (lambda a, b: a - b, "-"),
        (lambda a, b: a * b, "*"),
        (lambda a, b: a / b, "/"),
        (lambda a, b: a**b, "**"),
    ],
    ids=["+", "-", "*", "/", "**"],
)
def test_binary_op_records_its_name_and_both_inputs_in_program_order(make, op):
    a, b = Value(2.0), Value(3.0)
    y = make(a, b)
    assert y.op == op
    assert y.inputs == (a, b)
    assert make(b, a).inputs == (b, a)


def test_subtraction_and_division_are_nodes_of_their_own():
    # not a + (-1 * b) or a * b**-1: one node, two inputs, as a learner would draw it
    a, b = Value(2.0), Value(3.0)
    for y, op in ((a - b, "-"), (a / b, "/")):
        assert y.op == op
        assert y.inputs == (a, b)
        assert a.inputs == () and b.inputs == ()


UNARY_OP_NAMES = [
    (lambda x: -x, "neg"),
    (lambda x: x.exp(), "exp"),
    (lambda x: x.log(), "log"),
    (lambda x: x.sqrt(), "sqrt"),
    (lambda x: x.tanh(), "tanh"),
    (lambda x: x.sigmoid(), "sigmoid"),
    (lambda x: x.relu(), "relu"),
    (lambda x: x.leaky_relu(), "leaky_relu"),
    (lambda x: abs(x), "abs"),
    (lambda x: x.sin(), "sin"),
    (lambda x: x.cos(), "cos"),
    (lambda x: x**2, "**"),
    (lambda x: x**-1, "**"),
    (lambda x: x**0.5, "**"),
]


@pytest.mark.parametrize(("make", "op"), UNARY_OP_NAMES, ids=[f"{op}#{i}" for i, (_, op) in enumerate(UNARY_OP_NAMES)])
def test_unary_op_records_its_name_and_its_one_input(make, op):
    x = Value(2.0)
    y = make(x)
    assert y.op == op
    assert y.inputs == (x,)


@pytest.mark.parametrize(
    ("make", "op", "local"),
    [
        (lambda x: x + 7, "+", 1.0),
        (lambda x: 7 + x, "+", 1.0),
        (lambda x: x - 7, "-", 1.0),
        (lambda x: 7 - x, "rsub", -1.0),
        (lambda x: x * 7, "*", 7.0),
        (lambda x: 7 * x, "*", 7.0),
        (lambda x: x / 7, "/", 1 / 7),
        (lambda x: 7 / x, "rdiv", -7 / 4),
        (lambda x: 7**x, "rpow", 49 * math.log(7)),
        (lambda x: x**7, "**", 7 * 2.0**6),
    ],
    ids=["x+c", "c+x", "x-c", "c-x", "x*c", "c*x", "x/c", "c/x", "c**x", "x**c"],
)
def test_a_number_operand_is_the_ops_constant_not_an_input(make, op, local):
    x = Value(2.0)
    y = make(x)
    assert y.inputs == (x,)
    assert y.op == op and y.constant == 7.0
    assert y.local_grads == (pytest.approx(local, rel=1e-15),)


def test_an_op_between_two_values_has_no_constant():
    x, w = Value(2.0), Value(3.0)
    for y in (x + w, x - w, x * w, x / w, x**w, -x, x.tanh()):
        assert y.constant is None


def test_numpy_scalars_work_as_constants_on_either_side():
    np = pytest.importorskip("numpy")  # comes with matplotlib, a test dependency: no skip in CI
    x = Value(2.0)
    for y, expected_value, expected_grad in [
        (np.float64(3.0) * x, 6.0, 3.0),
        (x - np.float32(0.5), 1.5, 1.0),
        (np.int64(3) ** x, 9.0, 9.0 * math.log(3.0)),
        (x ** np.int64(3), 8.0, 12.0),
    ]:
        x.grad = 0.0
        assert isinstance(y, Value) and y.data == expected_value
        y.backward()
        assert x.grad == matches_finite_differences(expected_grad)


def test_a_constant_exponent_is_part_of_the_op_not_an_input():
    x = Value(2.0)
    assert (x**3).inputs == (x,)


# ---- kinks and edges: as in PyTorch --------------------------------------------------------


def _engine_and_torch(torch, f, point, torch_f=None):
    return engine_value_and_grad(f, point), torch_value_and_grad(torch, torch_f or f, point)


def test_relu_derivative_at_zero_is_zero(torch):
    (value, (d,)), (_, (torch_d,)) = _engine_and_torch(torch, lambda x: x.relu(), [0.0])
    assert value == 0.0
    assert d == 0.0 == torch_d


@pytest.mark.parametrize("slope", [0.01, 0.3])
def test_leaky_relu_derivative_at_zero_is_the_slope(torch, slope):
    leaky = torch.nn.functional.leaky_relu
    engine, reference = _engine_and_torch(torch, lambda x: x.leaky_relu(slope), [0.0], lambda t: leaky(t, slope))
    assert engine == reference == (0.0, [slope])


def test_abs_derivative_at_zero_is_zero(torch):
    engine, reference = _engine_and_torch(torch, abs, [0.0])
    assert engine == reference == (0.0, [0.0])


def test_sqrt_derivative_at_zero_is_inf(torch):
    engine, reference = _engine_and_torch(torch, lambda x: x.sqrt(), [0.0])
    assert engine == reference == (0.0, [math.inf])


@pytest.mark.parametrize("b", [0.0, 0.5, 1.0, 2.0, 3.5])
def test_power_derivatives_at_a_zero_base_follow_pytorch(torch, b):
    # d/db a**b = a**b ln(a) is 0 at a == 0 (including 0**0); d/da is b * 0**(b-1)
    engine, reference = _engine_and_torch(torch, lambda a, b: a**b, [0.0, b])
    assert engine[1][1] == 0.0
    assert engine[0] == matches_torch(reference[0])
    assert engine[1] == matches_torch(reference[1])


@pytest.mark.parametrize("a", [-2.0, -0.5])
@pytest.mark.parametrize("b", [0.0, 1.0, 2.0])
def test_power_derivative_by_the_exponent_is_nan_for_a_negative_base(torch, a, b):
    engine, reference = _engine_and_torch(torch, lambda a, b: a**b, [a, b])
    assert math.isnan(engine[1][1]) and math.isnan(reference[1][1])
    assert engine[1][0] == matches_torch(reference[1][0])


@pytest.mark.parametrize("x", [0.0, -3.0, 2.0])
def test_derivative_of_x_to_the_zero_is_zero(torch, x):
    engine, reference = _engine_and_torch(torch, lambda x: x**0, [x])
    assert engine == reference == (1.0, [0.0])


@pytest.mark.parametrize("x", [0.0, -3.0, 2.0])
def test_derivative_of_x_to_a_zero_value_exponent_is_zero(torch, x):
    # the Value-exponent form too: b * a**(b-1) at b == 0 would be 0 * inf at a == 0
    engine, reference = _engine_and_torch(torch, lambda a, b: a**b, [x, 0.0])
    assert engine[0] == reference[0] == 1.0
    assert engine[1][0] == reference[1][0] == 0.0


@pytest.mark.parametrize("n", [0.5, 1.0, 2.0, 3.0])
def test_power_by_a_constant_at_zero_matches_pytorch(torch, n):
    engine, reference = _engine_and_torch(torch, lambda x: x**n, [0.0])
    assert engine == reference


@pytest.mark.parametrize("x", [-1e4, -1e3, -710.0, -40.0, 40.0, 710.0, 1e3, 1e4])
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh_are_finite_with_finite_gradients_for_large_inputs(torch, name, x):
    def f(v):
        return getattr(v, name)()

    value, (d,) = engine_value_and_grad(f, [x])
    assert math.isfinite(value) and math.isfinite(d)
    torch_value, (torch_d,) = torch_value_and_grad(torch, f, [x])
    assert value == matches_torch(torch_value)
    assert d == matches_torch(torch_d)


@pytest.mark.parametrize("x", [-700.0, 700.0, -1e4])
def test_exp_of_large_but_representable_inputs_matches_pytorch(torch, x):
    engine, reference = _engine_and_torch(torch, lambda v: v.exp(), [x])
    assert engine[0] == matches_torch(reference[0])
    assert engine[1] == matches_torch(reference[1])
