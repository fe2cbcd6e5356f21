"""Numbers in nn's arguments: the one family of checks, one exception type per kind of mistake.

Every check of a user's number in nn goes through here, so the same mistake raises the same
exception everywhere, and every message says the same two things: the argument's name and the
value it got. The kinds of mistake, and what each raises:

- TypeError, the wrong kind of thing (Python's rule, as `range(2.0)` and `range("2")` raise):
  not a real number where a number is wanted (a str, None, a complex, a list); a bool where a
  number or an int is wanted (True is an int in Python, and `lr=True` is always a mistake); a
  number that is not an int where an int is wanted (2.5, 2.0, a Fraction; NumPy ints are ints);
  anything but True or False where a flag is wanted.
- ValueError, the right kind with a wrong value: NaN or an infinity where a finite number is
  wanted; a number too large for a float (10**400: never the bare OverflowError of `float()`);
  a number outside its interval (a negative learning rate, p > 1, a width of 0, an int past
  sys.maxsize).
- ValueError for every mistake in a number inside data, naming its field or key: a model file
  (`nn.load`), a state dict or a torch model's weights (`check_datum`). The caller passed a path
  or a mapping of the right kind; the data in it is what is bad, as `float("abc")` is a ValueError.

The value is shown short even when it is an int of 400 digits (`float(10**400)` would raise a
bare "int too large to convert to float", and printing it whole would bury the message).
"""

from __future__ import annotations

import math
import numbers
import reprlib
import sys

# Python's own limit for a length or an index: no list, range or progress bar goes past it.
MAX_SIZE = sys.maxsize

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60
_short.maxlist = _short.maxtuple = _short.maxdict = 6


def is_real(x: object) -> bool:
    """True for a real number (int, float, Fraction, numpy scalar), False for anything else.

    bool is excluded although it is an int in Python: `lr=True` is always a mistake.
    """
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def is_int(x: object) -> bool:
    """True for an int (a Python or NumPy int), False for anything else, a bool and 2.0 included."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def show(x: object) -> str:
    """x as an error message shows it: its repr, shortened; a huge int by its size (`about 1e+400`)."""
    if isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > 100:
        # repr would print every digit (or refuse past 4300 of them); log10 works at any size
        exponent = math.log10(abs(x))
        whole = math.floor(exponent)
        return f"an int of about {'-' if x < 0 else ''}{10 ** (exponent - whole):.3g}e+{whole}"
    return _short.repr(x)


def to_float(x: object, what: str) -> float:
    """x as a float; TypeError naming `what` if x is not a real number, ValueError if it is too large."""
    if not is_real(x):
        raise TypeError(f"{what} must be a number, got {type(x).__name__}: {show(x)}")
    try:
        return float(x)
    except OverflowError:
        raise ValueError(f"{what} is too large for a float, got {show(x)}") from None


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    if high == math.inf:
        return "" if low == -math.inf else f" {'>' if low_open else '>='} {low:g}"
    return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def check_real(
    x: object,
    what: str,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """x as a finite float in the interval from low to high (each end closed unless said open).

    A non-number (a str, None, a bool) is a TypeError; NaN, an infinity, an int too large for a
    float, or a number outside the interval is a ValueError. Each names `what` and the value.
    """
    if not is_real(x):
        raise TypeError(f"{what} must be a number, got {type(x).__name__}: {show(x)}")
    try:
        value = float(x)
    except OverflowError:
        value = math.inf  # fails the finiteness check below, which names the value as it was given
    inside = (low < value or (low == value and not low_open)) and (value < high or (value == high and not high_open))
    if not (math.isfinite(value) and inside):
        raise ValueError(f"{what} must be a finite number{_interval(low, high, low_open, high_open)}, got {show(x)}")
    return value


def check_int(x: object, what: str, low: int = 1, high: int = MAX_SIZE) -> int:
    """x as a Python int in [low, high]: TypeError if x is not an int (a bool, 3.0, "3"), ValueError
    if it is outside the interval. NumPy's ints count as ints (labels and sizes often are one).

    high defaults to the largest size Python can index, so an absurd int fails here, naming the
    argument, instead of deep inside the code that would use it. Use the returned value: it is a
    Python int even when x is a NumPy one (json.dumps in nn.save refuses those).
    """
    if not is_int(x):
        raise TypeError(f"{what} must be an int, got {type(x).__name__}: {show(x)}")
    if not low <= x <= high:
        bounds = f"in [{low}, {high}]" if x > high or high != MAX_SIZE else f">= {low}"
        raise ValueError(f"{what} must be an int {bounds}, got {show(x)}")
    return int(x)


def check_bool(x: object, what: str) -> bool:
    """x itself if it is True or False; TypeError naming `what` for anything else (1, "yes", None)."""
    if not isinstance(x, bool):
        raise TypeError(f"{what} must be True or False, got {type(x).__name__}: {show(x)}")
    return x


def check_seed(x: object, what: str = "seed", *, or_else: str = "") -> int:
    """x as the int that seeds a random.Random (any int, however large or negative); TypeError
    otherwise, its message listing what else the caller accepts (`or_else=", a random.Random or None"`)."""
    if not is_int(x):
        raise TypeError(f"{what} must be an int{or_else}, got {type(x).__name__}: {show(x)}")
    return int(x)


def check_datum(x: object, what: str) -> float:
    """A number inside data (a state dict, a tensor's numbers) as a finite float: the data is what
    is bad, not the type of the argument holding it, so every mistake is a ValueError naming `what`."""
    if not is_real(x):
        raise ValueError(f"{what} must be a finite real number, got {type(x).__name__} {show(x)}")
    try:
        number = float(x)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite real number, got {show(x)}")
    return number
