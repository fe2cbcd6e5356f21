"""An op of your own, declared with `autograd.Op`, is an op like any built-in one.

softsign(x) = x / (1 + |x|),   d/dx softsign(x) = 1 / (1 + |x|)^2

written once, with its derivative in `autograd.functions` arithmetic, gets first, second and third
derivatives that match PyTorch, honours no_grad and scope, draws with its name, and steps through
backward_steps. Mistakes in a declaration get errors that name the op.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from _reference import matches_finite_differences, matches_torch, torch_derivatives

import autograd
from autograd import GradcheckError, Op, Value, draw_dot, gradcheck, no_grad, scope
from autograd.functions import cos

pytestmark = pytest.mark.user_ops

softsign = Op("softsign", lambda x: x / (1 + abs(x)),
              lambda x, out: (1 / (1 + abs(x)) ** 2,), torch="nn.functional.softsign")

# A Gaussian bump with a width: the width is a second argument, a constant when it is a number.
bump = Op("bump", lambda x, width=1.0: math.exp(-x * x / (width * width)),
          lambda x, width, out: (-2 * x / (width * width) * out, 2 * x * x / (width * width * width) * out))


def derivatives(f, x: float, order: int) -> list[float]:
    v = Value(x)
    out, found = f(v), []
    for _ in range(order):
        (out,) = autograd.grad(out, [v], create_graph=True)
        found.append(out.data)
    return found


@pytest.mark.parametrize("x", [-2.0, -0.3, 0.5, 3.0])
def test_a_user_op_has_first_second_and_third_derivatives_matching_pytorch(torch, x):
    mine = derivatives(softsign, x, 3)
    assert mine == matches_torch(torch_derivatives(torch, torch.nn.functional.softsign, x, 3))


@pytest.mark.parametrize("x", [-2.0, 0.5])
def test_a_user_op_passes_gradcheck_of_order_two(x):
    assert gradcheck(softsign, [x], order=2)
    assert gradcheck(lambda v: softsign(v * v) * v.sin(), [x], order=2)


@pytest.mark.parametrize(("x", "width"), [(0.3, 1.0), (-1.2, 0.7)])
def test_a_constant_after_the_value_is_part_of_the_op_and_a_value_there_is_an_input(x, width):
    v = Value(x)
    with_number = bump(v, width)
    assert with_number.inputs == (v,) and with_number.constant == width
    assert bump(v).constant == 1.0  # the forward rule's default
    assert gradcheck(lambda a, w: bump(a, w), [x, width], order=2)  # the width as a Value: an input


def test_a_user_ops_constant_can_be_given_by_the_name_its_forward_rule_gives_it():
    v = Value(0.3)
    by_name, by_position = bump(v, width=0.5), bump(v, 0.5)
    assert (by_name.data, by_name.inputs, by_name.constant) == (by_position.data, (v,), 0.5)
    w = Value(0.5)
    assert bump(v, width=w).inputs == (v, w)  # a Value by name is an input, as by position
    assert bump(x=v).constant == 1.0  # the input by name too, the width its default
    with pytest.raises(TypeError, match=r"bump\(\) got an unexpected keyword .*'wide' \(its arguments are x, width\)"):
        bump(v, wide=0.5)


def test_a_user_op_records_nothing_under_no_grad_and_remembers_its_scope():
    x = Value(0.5)
    with no_grad():
        assert softsign(x).inputs == ()
    with scope("layer") as layer:
        y = softsign(x)
    assert y.scope is layer and y.op == "softsign" and y.op is softsign


def test_a_user_op_draws_with_its_name_and_has_backward_steps():
    x = Value(0.5, label="x")
    y = softsign(x * 2)
    y.backward()
    assert "softsign" in draw_dot(y).source
    steps = autograd.backward_steps(y)
    assert "softsign node" in steps[1].source
    assert x.grad == matches_finite_differences(2 / (1 + 1.0) ** 2)


def test_calling_an_op_with_numbers_only_gives_a_leaf():
    y = softsign(2.0)
    assert (y.data, y.inputs) == (2 / 3, ())


# ---- the slips gradcheck(order=2) exists for --------------------------------------------------


def test_a_rule_written_with_math_instead_of_autograd_functions_fails_order_two():
    sine_with_math = Op("sine", math.sin, lambda x, out: (math.cos(x),))
    assert gradcheck(sine_with_math, [0.3])  # first derivatives are right
    with pytest.raises(GradcheckError, match="second derivative d2f/dx0dx0"):
        gradcheck(sine_with_math, [0.3], order=2)
    sine = Op("sine", math.sin, lambda x, out: (cos(x),))
    assert gradcheck(sine, [0.3], order=2)


def test_a_node_made_by_hand_fails_order_two():
    def softplus_by_hand(x: Value) -> Value:
        out = Value(math.log1p(math.exp(x.data)))
        out.op, out.inputs, out.local_grads = "softplus", (x,), (1 / (1 + math.exp(-x.data)),)
        return out

    assert gradcheck(softplus_by_hand, [0.3])
    with pytest.raises(GradcheckError) as raised:
        gradcheck(softplus_by_hand, [0.3], order=2)
    engine = re.search(r"grad\(create_graph=True\) gives (\S+),", str(raised.value))[1]
    assert float(engine) == 0.0  # a hand-made node's local derivative is a constant to create_graph


# ---- mistakes in a declaration ------------------------------------------------------------------


def test_a_derivative_of_the_wrong_length_is_an_error_naming_the_op():
    wrong = Op("wrong", lambda x: x, lambda x, out: (1.0, 2.0))
    with pytest.raises(TypeError, match="wrong: derivative must return a tuple of 1 local derivative"):
        wrong(Value(1.0))


def test_a_forward_error_names_the_op_and_its_numbers():
    root = Op("root", math.sqrt, lambda x, out: (0.5 / out,))
    with pytest.raises(ValueError, match=r"root\(-1.0\): math domain error"):
        root(Value(-1.0))


def test_the_wrong_number_of_arguments_names_the_parameters():
    with pytest.raises(TypeError, match=r"softsign\(\) takes 1 argument \(x\), got 2"):
        softsign(Value(1.0), Value(2.0))
    with pytest.raises(TypeError, match=r"bump\(\) takes 1 to 2 arguments \(x, width\), got 3"):
        bump(Value(1.0), 1.0, 2.0)


def test_a_non_number_argument_is_an_error_naming_the_parameter():
    with pytest.raises(TypeError, match="bump: width must be a real number, got str"):
        bump(Value(1.0), "wide")


def test_an_op_needs_a_name_and_two_functions():
    with pytest.raises(TypeError, match="name"):
        Op("", math.sin, lambda x, out: (1.0,))
    with pytest.raises(TypeError, match="derivative must be a function"):
        Op("f", math.sin, None)


def test_a_forward_that_returns_no_number_is_an_error():
    bad = Op("bad", lambda x: "two", lambda x, out: (1.0,))
    with pytest.raises(TypeError, match="bad: forward must return a real number, got str"):
        bad(Value(1.0))


# ---- what a user's rules return is checked, end to end ----------------------------------------


def _identity_with(derivative) -> Op:
    return Op("mine", lambda x: x * 1.0, derivative)


@pytest.mark.parametrize(("returned", "words"), [
    (lambda x, out: (np.array([1.0, 2.0]),), "a real number for each argument, got for d\\(out\\)/d\\(x\\) ndarray"),
    (lambda x, out: (1j,), "a real number for each argument, got for d\\(out\\)/d\\(x\\) complex"),
    (lambda x, out: ("1",), "a real number for each argument, got for d\\(out\\)/d\\(x\\) str"),
    (lambda x, out: (None,), "a real number for each argument, got for d\\(out\\)/d\\(x\\) NoneType"),
    (lambda x, out: (True,), "a real number for each argument, got for d\\(out\\)/d\\(x\\) bool"),
    (lambda x, out: (Value(1.0),), "a real number for each argument, got for d\\(out\\)/d\\(x\\) Value"),
    (lambda x, out: (g for g in [1.0]), "a tuple of 1 local derivative .*got generator"),
    (lambda x, out: Value(1.0), "a tuple of 1 local derivative .*got Value"),
    (lambda x, out: 1.0, "a tuple of 1 local derivative .*got float"),
])
def test_a_derivative_returning_anything_but_real_numbers_is_an_error_naming_the_op(returned, words):
    x = Value(1.0)
    with pytest.raises(TypeError, match=f"mine: derivative must return {words}"):
        _identity_with(returned)(x)
    assert x.grad == 0.0  # nothing leaked into a gradient


@pytest.mark.parametrize("number", [np.float64(2.0), np.float32(2.0), 2, np.int64(2)])
def test_a_numpy_number_or_an_int_from_a_derivative_rule_is_a_float(number):
    x = Value(1.0)
    y = _identity_with(lambda x, out: (number,))(x)
    y.backward()
    assert type(y.local_grads[0]) is float and (x.grad, type(x.grad)) == (2.0, float)


def test_a_derivative_returning_a_non_number_on_values_is_an_error_naming_the_op():
    on_values = Op("mine", lambda x: x * 1.0, lambda x, out: (1.0,) if isinstance(x, float) else ("one",))
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"mine: derivative must return a real number or a Value for each .* str"):
        autograd.grad(on_values(x), [x], create_graph=True)


def test_a_forward_returning_an_int_too_large_for_a_float_is_an_error_naming_the_op():
    huge = Op("huge", lambda x: 10**400, lambda x, out: (0.0,))
    with pytest.raises(OverflowError, match=r"huge\(1.0\): forward returned a number too large .*401 digits"):
        huge(Value(1.0))


def test_a_rule_that_raises_is_an_error_naming_the_op_the_rule_and_the_numbers():
    lookup = Op("lookup", lambda x: {0.0: 1.0}[x], lambda x, out: (0.0,))
    with pytest.raises(KeyError, match=r"lookup\(2.0\): 2.0 \(in its forward rule\)"):
        lookup(Value(2.0))
    root = Op("root", math.sqrt, lambda x, out: (0.5 / out,))
    with pytest.raises(ZeroDivisionError, match=r"root\(0.0\): float division by zero \(in its derivative rule, out"):
        root(Value(0.0))


def test_a_non_number_default_is_an_error_naming_the_op_and_the_argument_when_the_op_is_made():
    with pytest.raises(TypeError, match="Op 'pick': the default of mode must be a real number, got str"):
        Op("pick", lambda x, mode="a": x, lambda x, mode, out: (1.0, 0.0))


def test_a_rule_that_cannot_run_on_values_fails_gradcheck_of_order_two_saying_what_to_write():
    square = Op("square", lambda x: x * x, lambda x, out: (round(2 * x, 12),))
    assert gradcheck(square, [0.5])  # on floats the rule is right
    with pytest.raises(GradcheckError, match=r"square: its derivative rule cannot run on Values.*"
                                             r"__round__.*no round\(\), int\(\)"):
        gradcheck(square, [0.5], order=2)
    fixed = Op("square", lambda x: x * x, lambda x, out: (2 * x,))
    assert gradcheck(fixed, [0.5], order=2)


def test_a_rule_that_compares_a_value_runs_on_values_too():
    step = Op("step", lambda x: x * x if x > 0 else 0.0, lambda x, out: (2 * x if x > 0 else 0.0,))
    assert gradcheck(step, [0.5], order=2)  # Values compare by their numbers (as micrograd code expects)


def _sine_rule(x, out):
    return (cos(x),)


def test_a_user_op_pickles_and_copies_with_its_checks_and_a_built_in_one_copies_without():
    import copy
    import pickle

    sine = Op("sine", math.sin, _sine_rule)
    again = pickle.loads(pickle.dumps(sine))
    assert (again, again.forward, again.derivative) == (sine, math.sin, _sine_rule)
    assert again(Value(0.3)).data == math.sin(0.3)
    assert again._local_grads is not again.derivative  # still checked
    tanh = copy.deepcopy(autograd.OPS["tanh"])
    assert tanh._local_grads is tanh.derivative is autograd.OPS["tanh"].derivative
