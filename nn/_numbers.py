"""What counts as a number in nn's arguments."""

from __future__ import annotations

import numbers


def is_real(x: object) -> bool:
    """True for a real number (int, float, Fraction, numpy scalar), False for anything else.

    bool is excluded although it is an int in Python: `lr=True` is always a mistake.
    """
    return isinstance(x, numbers.Real) and not isinstance(x, bool)
