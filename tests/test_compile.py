"""`autograd.compile`: a traced graph replayed as generated Python gives eager's numbers, bit for bit.

    compiled value and gradient  ==  eager value and gradient (the same bits; NaN matches NaN)

for every op of the table (at ordinary points, kinks, zeros of both signs, infinities, NaN), for
random expressions made from the table (hypothesis), for ops of your own; and against PyTorch
float64 on random graphs. A trace records one path: a Python `if` on a number is caught at the
first call (TraceMismatchError). No label ever becomes code. A million-node chain compiles.
"""

from __future__ import annotations

import itertools
import math
import struct

import pytest

import autograd
from autograd import OPS, Value

pytestmark = pytest.mark.compile

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, math.inf, -math.inf, math.nan, 1e308, -1e-310]
ARGUMENTS = {"sum": 3, "dot": 5, "max": 3, "pick": 4}  # (pick: 3 values and an index)


def bits(x: float) -> bytes:
    """The float's 8 bytes; every NaN counts as one."""
    return b"nan" if x != x else struct.pack("<d", x)


def eager(f, xs):
    """(value, gradients) of f by the engine itself: Values, backward()."""
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    return out.data, [v.grad for v in leaves]


def eager_or_error(f, xs):
    try:
        return eager(f, xs)
    except (ValueError, ArithmeticError) as error:
        return type(error)


def compiled_or_error(fast, xs):
    try:
        return fast.value_and_grad(*xs)
    except (ValueError, ArithmeticError) as error:
        return type(error)


def same(a, b):
    if isinstance(a, type) or isinstance(b, type):
        return a == b
    (va, ga), (vb, gb) = a, b
    return bits(va) == bits(vb) and list(map(bits, ga)) == list(map(bits, gb))


def _arity(op) -> int:
    return ARGUMENTS[op] if op.variadic else len(op.parameters)


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_compiles_to_eagers_bits_at_every_special_number(name):
    op = OPS[name]
    n = _arity(op)
    f = lambda *xs: op(*xs)  # noqa: E731
    points = list(itertools.product(SPECIAL, repeat=n)) if n <= 2 else [
        [SPECIAL[(i * 7 + k * 3) % len(SPECIAL)] for k in range(n)] for i in range(60)]
    fast = None
    for xs in points:
        expected = eager_or_error(f, xs)
        if fast is None:
            if isinstance(expected, type):
                continue
            fast = autograd.compile(f, *xs)
        got = compiled_or_error(fast, xs)
        assert same(got, expected), (name, xs, got, expected)


@pytest.mark.parametrize("name", sorted(name for name, op in OPS.items() if not op.variadic and _arity(op) >= 2))
def test_every_op_with_a_constant_compiles_to_eagers_bits(name):
    op = OPS[name]
    for c in SPECIAL:
        f = lambda x, c=c: op(x, c)  # noqa: E731
        fast = None
        for x in SPECIAL:
            expected = eager_or_error(f, [x])
            if fast is None:
                if isinstance(expected, type):
                    continue
                fast = autograd.compile(f, x)
            assert same(compiled_or_error(fast, [x]), expected), (name, c, x)
