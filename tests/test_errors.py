"""Bad input gives a clear error that says what was wrong, and changes nothing.

log of x <= 0, sqrt of x < 0, negative base ** non-integer   -> ValueError naming op and value
division by zero, 0 ** negative                              -> ZeroDivisionError naming the op
a str, None, bool, list or complex next to any operator      -> TypeError
(A result too large for a float is inf, and NaN or inf inputs give IEEE results, as in PyTorch:
tests/test_op_table.py checks those against PyTorch for every op.)
"""

from __future__ import annotations

import math

import pytest

import autograd
from autograd import Value

pytestmark = pytest.mark.errors


def _operands():
    """x: a leaf that already has a gradient; y: an intermediate node with inputs of its own."""
    x = Value(-2.0, label="x")
    (x * 3).backward()
    y = x * 0.0  # data -0.0 or 0.0, a node with inputs
    return x, y


def _state(v: Value) -> tuple:
    return (v.data, v.grad, v.label, v.op, v.inputs, v.local_grads)


# (expression on two operands x = -2.0 and z = 0.0, error type, words the message must contain)
DOMAIN_ERRORS = [
    pytest.param(lambda x, z: x.log(), ValueError, ["log", "-2.0"], id="log(negative)"),
    pytest.param(lambda x, z: z.log(), ValueError, ["log", "0.0"], id="log(0)"),
    pytest.param(lambda x, z: x.sqrt(), ValueError, ["sqrt", "-2.0"], id="sqrt(negative)"),
    pytest.param(lambda x, z: x**0.5, ValueError, ["**", "-2.0", "0.5"], id="negative**0.5"),
    pytest.param(lambda x, z: x ** Value(1.5), ValueError, ["**", "-2.0", "1.5"], id="negative**Value(1.5)"),
    pytest.param(lambda x, z: (-8) ** (z + 1 / 3), ValueError, ["**", "-8.0"], id="constant-negative**Value"),
    pytest.param(lambda x, z: x / z, ZeroDivisionError, ["/"], id="x/0"),
    pytest.param(lambda x, z: 1 / z, ZeroDivisionError, ["/"], id="1/Value(0)"),
    pytest.param(lambda x, z: x / 0, ZeroDivisionError, ["/"], id="x/constant-0"),
    pytest.param(lambda x, z: z**-1, ZeroDivisionError, ["**", "-1.0"], id="0**-1"),
    pytest.param(lambda x, z: z**-0.5, ZeroDivisionError, ["**", "-0.5"], id="0**-0.5"),
    pytest.param(lambda x, z: z ** (x / 4), ZeroDivisionError, ["**"], id="0**Value(negative)"),
    pytest.param(lambda x, z: 0 ** (x * 1), ZeroDivisionError, ["**"], id="constant-0**Value(negative)"),
]


@pytest.mark.parametrize(("expression", "error", "words"), DOMAIN_ERRORS)
def test_domain_errors_name_the_op_and_the_value(expression, error, words):
    x, z = Value(-2.0), Value(0.0)
    with pytest.raises(error) as raised:
        expression(x, z)
    message = str(raised.value)
    for word in words:
        assert word in message
    assert "math domain error" not in message


@pytest.mark.parametrize(("expression", "error", "words"), DOMAIN_ERRORS)
def test_after_a_domain_error_the_operands_are_unchanged(expression, error, words):
    x, y = _operands()
    z = y  # an intermediate node with value 0 (the zero operand)
    before = (_state(x), _state(z))
    with pytest.raises(error):
        expression(x, z)
    assert (_state(x), _state(z)) == before


# ---- wrong types next to an operator ---------------------------------------------------------

NOT_NUMBERS = [pytest.param(v, id=type(v).__name__) for v in ("2", None, True, [1.0], 1 + 0j)]
OPERATORS = [
    pytest.param(lambda a, b: a + b, id="+"),
    pytest.param(lambda a, b: a - b, id="-"),
    pytest.param(lambda a, b: a * b, id="*"),
    pytest.param(lambda a, b: a / b, id="/"),
    pytest.param(lambda a, b: a**b, id="**"),
]


@pytest.mark.parametrize("other", NOT_NUMBERS)
@pytest.mark.parametrize("operator", OPERATORS)
def test_an_operator_with_a_non_number_on_the_right_raises_type_error(operator, other):
    x, _ = _operands()
    before = _state(x)
    with pytest.raises(TypeError):
        operator(x, other)
    assert _state(x) == before


@pytest.mark.parametrize("other", NOT_NUMBERS)
@pytest.mark.parametrize("operator", OPERATORS)
def test_an_operator_with_a_non_number_on_the_left_raises_type_error(operator, other):
    x, _ = _operands()
    before = _state(x)
    with pytest.raises(TypeError):
        operator(other, x)
    assert _state(x) == before


@pytest.mark.parametrize("other", NOT_NUMBERS)
def test_in_place_operators_with_a_non_number_raise_type_error_and_keep_the_value(other):
    x, _ = _operands()
    y = x
    with pytest.raises(TypeError):
        y += other
    assert y is x


@pytest.mark.parametrize(
    "bad_slope", [pytest.param(v, id=type(v).__name__) for v in ("0.1", None, True, 1j, [0.1])]
)
def test_leaky_relu_slope_must_be_a_real_number(bad_slope):
    with pytest.raises(TypeError, match="slope"):
        Value(-1.0).leaky_relu(bad_slope)


@pytest.mark.parametrize("bad", [pytest.param(v, id=type(v).__name__) for v in ("2", None, True, 1j, [1.0])])
def test_sum_and_dot_reject_non_numbers_naming_the_element(bad):
    x = Value(1.0)
    with pytest.raises(TypeError, match="sum element 1"):
        autograd.sum([x, bad])
    with pytest.raises(TypeError, match="dot element 0"):
        autograd.dot([bad], [x])
    if bad is not None:  # bias=None means "no bias"
        with pytest.raises(TypeError, match="bias"):
            autograd.dot([x], [x], bias=bad)


@pytest.mark.parametrize("not_a_sequence", [Value(1.0), 3.0, "ab", None])
def test_sum_and_dot_need_an_iterable(not_a_sequence):
    with pytest.raises(TypeError, match=type(not_a_sequence).__name__):
        autograd.sum(not_a_sequence)
    with pytest.raises(TypeError, match=type(not_a_sequence).__name__):
        autograd.dot(not_a_sequence, [Value(1.0)])


# ---- sums that leave the floats ---------------------------------------------------------------
# math.fsum raises where float addition (and PyTorch) gives inf or nan.


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [([1e308, 1e308], math.inf), ([math.inf, -math.inf], math.nan)],
    ids=["overflow", "inf-minus-inf"],
)
def test_sum_and_dot_follow_float_addition_at_infinity(numbers, expected):
    for result in (autograd.sum(numbers), autograd.dot(numbers, [1.0] * len(numbers))):
        assert result.data == pytest.approx(expected, nan_ok=True)
