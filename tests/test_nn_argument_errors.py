"""Every bad argument to nn is an error that names the argument and shows its value, even 10**400.

`float(10**400)` raises a bare "OverflowError: int too large to convert to float", and printing
the int whole buries the message under 401 digits. nn._numbers is the one place nn turns an
argument into a float or an int; these tests state its rules, then check the modules that use it
(the optimizers, losses, data sets and fit have theirs in their own test modules).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from autograd import no_grad
from nn import MLP, Dropout, Layer, Neuron
from nn._numbers import MAX_SIZE, check_int, check_real, show, to_float

pytestmark = pytest.mark.nn

HUGE = 10**400


# ---- how a value is shown --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (HUGE, "an int of about 1e+400"),
        (-3 * HUGE, "an int of about -3e+400"),
        (123 * 10**5000, "an int of about 1.23e+5002"),  # past Python's 4300-digit limit for str(int)
        (2**99, str(2**99)),  # 30 digits: still shown whole
        (0.1, "0.1"),
        (math.nan, "nan"),
        ("x" * 1000, "'" + "x" * 27 + "..." + "x" * 28 + "'"),
        (list(range(1000)), "[0, 1, 2, 3, 4, 5, ...]"),
    ],
    ids=["10**400", "-3*10**400", "5000-digits", "2**99", "float", "nan", "long-str", "long-list"],
)
def test_a_value_is_shown_short(value, shown):
    assert show(value) == shown


# ---- the rules of nn._numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(3, 3.0), (-0.5, -0.5), (Fraction(1, 4), 0.25), (10**300, 1e300)], ids=str
)
def test_to_float_converts_every_real_number(value, expected):
    assert to_float(value, "x") == expected and type(to_float(value, "x")) is float


def test_to_float_names_the_argument_of_an_int_too_large_and_of_a_non_number():
    with pytest.raises(ValueError, match=r"^lr is too large for a float, got an int of about 1e\+400$"):
        to_float(HUGE, "lr")
    with pytest.raises(ValueError, match=r"^lr is too large for a float, got Fraction"):
        to_float(Fraction(HUGE, 3), "lr")
    for bad in (True, "1", None, 1j):
        with pytest.raises(TypeError, match=f"^lr must be a number, got {type(bad).__name__}"):
            to_float(bad, "lr")


@pytest.mark.parametrize(
    ("value", "bounds", "words"),
    [
        (HUGE, {}, "x must be a finite number, got an int of about 1e+400"),
        (math.inf, {}, "x must be a finite number, got inf"),
        (math.nan, {"low": 0.0}, "x must be a finite number >= 0, got nan"),
        (0.0, {"low": 0.0, "low_open": True}, "x must be a finite number > 0, got 0.0"),
        (1.0, {"low": 0.0, "high": 1.0, "high_open": True}, "x must be a finite number in [0, 1), got 1.0"),
        (-1e-300, {"low": 0.0, "high": 1.0}, "x must be a finite number in [0, 1], got -1e-300"),
    ],
)
def test_check_real_refuses_values_outside_its_interval_naming_it(value, bounds, words):
    with pytest.raises(ValueError) as raised:
        check_real(value, "x", **bounds)
    assert str(raised.value) == words


def test_check_real_accepts_the_closed_ends_of_its_interval():
    assert check_real(0, "x", 0.0, 1.0) == 0.0 and check_real(1, "x", 0.0, 1.0) == 1.0
    assert check_real(-1e308, "x") == -1e308


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (HUGE, f"n must be an int in [1, {MAX_SIZE}], got an int of about 1e+400"),
        (MAX_SIZE + 1, f"n must be an int in [1, {MAX_SIZE}], got {MAX_SIZE + 1}"),
        (0, "n must be an int >= 1, got 0"),
    ],
)
def test_check_int_refuses_an_int_out_of_range_naming_it(value, words):
    with pytest.raises(ValueError) as raised:
        check_int(value, "n")
    assert str(raised.value) == words
    assert check_int(MAX_SIZE, "n") == MAX_SIZE


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (True, "n must be an int, got bool: True"),
        (2.0, "n must be an int, got float: 2.0"),
        ("2", "n must be an int, got str: '2'"),
        (Fraction(4, 2), "n must be an int, got Fraction: Fraction(2, 1)"),
    ],
)
def test_check_int_refuses_what_is_not_an_int_with_a_type_error_naming_it(value, words):
    with pytest.raises(TypeError) as raised:
        check_int(value, "n")
    assert str(raised.value) == words


# ---- modules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: MLP(HUGE, [1]), ValueError, "nin must be an int in [1, "),
        (lambda: MLP(2, [3, -HUGE]), ValueError, "nouts[1] must be an int >= 1, got an int of about -1e+400"),
        (
            lambda: MLP(2, [3], dropout=HUGE),
            ValueError,
            "dropout probability must be a finite number in [0, 1], got an int of about 1e+400",
        ),
        (
            lambda: MLP(2, [3], dropout=math.nan),
            ValueError,
            "dropout probability must be a finite number in [0, 1], got nan",
        ),
        (lambda: MLP(2, [3], dropout="0.5"), TypeError, "dropout probability must be a number, got str"),
        (lambda: Layer(HUGE, 2), ValueError, "nin must be an int in [1, "),
        (lambda: Layer(2, -HUGE), ValueError, "nout must be an int >= 1, got an int of about -1e+400"),
        (lambda: Neuron(HUGE), ValueError, "nin must be an int in [1, "),
        (lambda: Dropout(HUGE), ValueError, "got an int of about 1e+400"),
    ],
)
def test_construction_errors_name_the_argument_even_for_a_huge_int(make, error, words):
    with pytest.raises(error) as raised:
        make()
    assert words in str(raised.value)


def test_an_input_too_large_for_a_float_is_named_under_no_grad():
    model = MLP(2, [3, 1], seed=0)
    with (
        no_grad(),
        pytest.raises(ValueError, match=r"^MLP input 1 is too large for a float, got an int of about 1e\+400$"),
    ):
        model([0.5, HUGE])
    with no_grad():
        assert model([0.5, 10**300]).data == model([0.5, 1e300]).data  # a large int that fits is a float
