"""Every built-in operation, each declared once: its forward rule beside its derivative.

Read each op like a line of a calculus book:

    tanh = Op("tanh", math.tanh,                     # tanh(x)
              lambda x, out: (1 - out * out,))       # d/dx tanh(x) = 1 - tanh(x)^2

`forward` computes the number from floats. `derivative` gets the same numbers and the output,
and returns one local derivative d(out)/d(argument) per argument. It is written with plain
arithmetic and `autograd.functions` only (`functions.cos(x)`, never `math.cos(x)`), so the very
same rule runs on Values when `grad(..., create_graph=True)` differentiates a gradient again.

Where the math leaves a choice, the ops do what PyTorch does, so the two always agree:
- NaN and inf go through every op as IEEE arithmetic says (ln inf = inf, sin inf = nan, a result
  too large for a float is inf); a NaN never silently becomes a number.
- A finite input outside an op's domain raises an error naming the op and the value: log of
  x <= 0, sqrt of x < 0, division by 0, 0 to a negative power, a negative base to a fractional one.
- At a kink the derivative is PyTorch's: relu'(0) = 0, leaky_relu'(0) = slope, abs'(0) = 0,
  sqrt'(0) = inf, d/db a**b = 0 at a = 0.
- Where PyTorch's backward passes no gradient at all, instead of multiplying by a local 0, the
  rule returns BLOCKED (autograd/op.py): relu for x <= 0 and d/da a**b for b = 0 give their
  input 0 even when inf or NaN comes back; abs'(0) * inf, tanh'(inf) * inf, ... are NaN, as there.
"""

from __future__ import annotations

import builtins
import math
import operator
from collections.abc import Iterable, Sequence

from autograd.modes import current_scope
from autograd.op import BLOCKED, Op
from autograd.value import Number, Value, to_float

inf, nan = math.inf, math.nan

# ---- forward rules that need more than one expression --------------------------------------


def _outside_domain(op: str, x: float, needs: str) -> float:
    """A finite x outside the domain is an error; an infinite or NaN one gives NaN, as in IEEE arithmetic."""
    if math.isfinite(x):
        raise ValueError(f"{op}: {needs}, got {x!r}")
    return nan


def _log(x: float) -> float:
    return math.log(x) if x > 0.0 else _outside_domain("log", x, "the logarithm needs a positive input")


def _log1p(x: float) -> float:
    return math.log1p(x) if x > -1.0 else _outside_domain("log1p", x, "log(1 + x) needs x > -1")


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 else _outside_domain("sqrt", x, "the square root needs a non-negative input")


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:  # e^x beyond the largest float
        return inf


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = _exp(x)  # e^-x would overflow for very negative x; e^x cannot (and x = NaN comes here)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    # log(1 + e^x) = x + log(1 + e^-x): each form for the side where its exponential is small,
    # so it neither overflows for large x nor loses the tiny value for very negative x.
    return x + math.log1p(math.exp(-x)) if x > 0.0 else math.log1p(_exp(x))


def _sin(x: float) -> float:
    return math.sin(x) if math.isfinite(x) else nan


def _cos(x: float) -> float:
    return math.cos(x) if math.isfinite(x) else nan


def _divide(a: float, b: float) -> float:
    if b == 0.0 and a == a:  # (NaN / 0 is NaN)
        raise ZeroDivisionError(f"'/': division by zero ({a!r} / {b!r})")
    return a / b


def _power(a: float, b: float) -> float:
    """a ** b for floats, with errors that say what failed; too large a result is +-inf."""
    if math.isfinite(a) and math.isfinite(b):
        if a == 0.0 and b < 0.0:
            raise ZeroDivisionError(f"'**': 0.0 cannot be raised to the negative power {b!r}")
        if a < 0.0 and not b.is_integer():
            raise ValueError(f"'**': negative base {a!r} to the non-integer power {b!r} is not a real number")
    return functions.power(a, b)


def _d_power(a, b, out) -> tuple:
    """d/da a^b = b a^(b-1)  (stopped for b = 0, also at a = 0 where it would be 0 * inf),
    d/db a^b = a^b ln(a)  (0 at a = 0 for b >= 0, a^b * -inf below; NaN for a < 0, where a^b
    is real at integer b only)"""
    d_base = b * functions.power(a, b - 1) if float(b) != 0.0 else BLOCKED
    if float(a) == 0.0 and float(b) >= 0.0:
        d_exponent = 0.0  # PyTorch's choice, where 0 * ln 0 would be nan
    else:  # ln 0 = -inf, ln a = nan for a < 0: IEEE arithmetic, and a node on Values (still d/da = 1/a)
        d_exponent = out * functions._log_anywhere_of(a)
    return (d_base, d_exponent)


def _dot(*xs: float) -> float:
    n = len(xs) // 2  # a_1..a_n, b_1..b_n, and a bias when the count is odd
    total = _add_up(map(_times, xs[:n], xs[n : 2 * n]))  # left to right, as a loop would
    return total + xs[-1] if len(xs) % 2 else total


_add_up, _times = builtins.sum, operator.mul  # (this module's `sum` is the op)


# ---- Python's operators -------------------------------------------------------------------

add = Op("+", operator.add,
         lambda a, b, out: (1.0, 1.0), torch="add")

sub = Op("-", operator.sub,
         lambda a, b, out: (1.0, -1.0), torch="sub")

mul = Op("*", operator.mul,
         lambda a, b, out: (b, a), torch="mul")

div = Op("/", _divide,
         lambda a, b, out: (1 / b, -out / b), torch="div")  # -out/b = -a/b^2, where b*b could underflow to 0

power = Op("**", _power,
           _d_power, torch="pow")

neg = Op("neg", operator.neg,
         lambda a, out: (-1.0,), torch="neg")

# With the number on the left of a Value, as in 2 - x: the Value comes first, so the number is
# the op's constant (these are named like Python's reflected methods __rsub__, ...).
rsub = Op("rsub", lambda x, c: c - x,
          lambda x, c, out: (-1.0, 1.0), torch="rsub")

rdiv = Op("rdiv", lambda x, c: _divide(c, x),
          lambda x, c, out: (-out / x, 1 / x), torch="Tensor.__rtruediv__")

rpow = Op("rpow", lambda x, c: _power(c, x),
          lambda x, c, out: _d_power(c, x, out)[::-1], torch="Tensor.__rpow__")

# ---- functions of one value ------------------------------------------------------------------

exp = Op("exp", _exp,
         lambda x, out: (out,), torch="exp")  # d/dx e^x = e^x

log = Op("log", _log,
         lambda x, out: (1 / x,), torch="log")  # d/dx ln x = 1/x

log1p = Op("log1p", _log1p,
           lambda x, out: (1 / (1 + x),), torch="log1p")  # d/dx ln(1 + x) = 1/(1 + x)

sqrt = Op("sqrt", _sqrt,  # d/dx sqrt(x) = 1 / (2 sqrt(x)): +-inf at +-0
          lambda x, out: (0.5 * functions.power(out, -1.0),), torch="sqrt")

tanh = Op("tanh", math.tanh,
          lambda x, out: (1 - out * out,), torch="tanh")  # d/dx tanh x = 1 - tanh(x)^2

sigmoid = Op("sigmoid", _sigmoid,
             lambda x, out: (out * (1 - out),), torch="sigmoid")  # d/dx s(x) = s(x) (1 - s(x))

softplus = Op("softplus", _softplus,
              lambda x, out: (functions.sigmoid(x),), torch="nn.functional.softplus")  # d/dx ln(1 + e^x)

relu = Op("relu", lambda x: 0.0 if x <= 0.0 else x,  # (NaN stays NaN, and passes its gradient, as in PyTorch)
          lambda x, out: (BLOCKED if float(x) <= 0.0 else 1.0,), torch="relu")  # 1 for x > 0, else 0: stopped

leaky_relu = Op("leaky_relu", lambda x, slope=0.01: slope * x if x <= 0.0 else x,  # PyTorch's default slope
                lambda x, slope, out: (1.0, BLOCKED) if float(x) > 0.0 else (slope, x),
                torch="nn.functional.leaky_relu")  # d/dx: 1 for x > 0, else slope; d/dslope: x, or stopped

absolute = Op("abs", abs,
              lambda x, out: (1.0 if float(x) > 0.0 else -1.0 if float(x) < 0.0 else 0.0,),
              torch="abs")  # d/dx |x| = sign(x), 0 at 0 (and for NaN, as in PyTorch)

sin = Op("sin", _sin,
         lambda x, out: (functions.cos(x),), torch="sin")  # d/dx sin x = cos x

cos = Op("cos", _cos,
         lambda x, out: (-functions.sin(x),), torch="cos")  # d/dx cos x = -sin x

# ---- n-ary: one node for many inputs --------------------------------------------------------

sum_of = Op("sum", lambda *xs: builtins.sum(xs),
            lambda *xs_and_out: (1.0,) * (len(xs_and_out) - 1))  # d/dx_i (x_1 + ... + x_n) = 1



def _d_dot(*xs_and_out: float) -> tuple:
    """d/da_i = b_i and d/db_i = a_i: each half of the inputs is the other's derivative; d/dbias = 1."""
    n = (len(xs_and_out) - 1) // 2
    return xs_and_out[n : 2 * n] + xs_and_out[:n] + ((1.0,) if len(xs_and_out) % 2 == 0 else ())


dot_product = Op("dot", _dot, _d_dot)  # a_1 b_1 + ... + a_n b_n (+ bias): a neuron's weighted sum

# ---- choices made by an op, not by a Python `if` on a number ----------------------------------
# A graph recorded once and replayed on other numbers (autograd.compile) keeps every op but not
# a branch Python took: a loss that chooses by its numbers makes the choice one of these ops.


def _first_max(xs: Sequence) -> int:
    """Where the first largest of xs is; a NaN is larger than everything (as torch.max(t, dim) says)."""
    if not xs:
        raise ValueError("max: needs at least one argument")
    best, top = 0, float(xs[0])
    for i, x in enumerate(map(float, xs)):  # (float: the derivative rule gets Values for create_graph)
        if x != x:
            return i
        if x > top:
            best, top = i, x
    return best


def _index(xs_and_i: Sequence) -> int:
    """The index i, last of pick's arguments: a whole number from 0 to len(xs) - 1."""
    n, i = len(xs_and_i) - 1, float(xs_and_i[-1])
    if not (i.is_integer() and 0 <= i < n):
        raise ValueError(f"pick: the index must be a whole number from 0 to {n - 1}, got {i!r}")
    return int(i)


def _one_hot(k: int, n: int) -> tuple:
    """1 at k, BLOCKED elsewhere: an argument not chosen gets no gradient, not even a NaN (as in PyTorch)."""
    return (BLOCKED,) * k + (1.0,) + (BLOCKED,) * (n - k - 1)


maximum = Op("max", lambda *xs: xs[_first_max(xs)],  # max(x_1, ..., x_n); d/dx_i: 1 at the first maximum, else 0
             lambda *xs_and_out: _one_hot(_first_max(xs_and_out[:-1]), len(xs_and_out) - 1))

pick = Op("pick", lambda *xs_and_i: xs_and_i[_index(xs_and_i)],  # pick(x_0, ..., x_n-1, i) = x_i: 1 for x_i, else 0
          lambda *xs_and_i_and_out: _one_hot(_index(xs_and_i_and_out[:-1]), len(xs_and_i_and_out) - 1))


def sum(values: Iterable[Value | Number]) -> Value:  # noqa: A001 - autograd.sum, as torch.sum
    """One node adding n values: its inputs are the elements (a number becomes a leaf of its own)."""
    values = _sequence(values, "sum")
    try:
        return sum_of(*values)
    except TypeError:
        _name_bad_element(values, "sum element")
        raise


def dot(a: Sequence[Value | Number], b: Sequence[Value | Number], bias: Value | Number | None = None) -> Value:
    """One node for a_1 b_1 + ... + a_n b_n (+ bias): inputs a_1..a_n, b_1..b_n, then the bias.

    A number among the elements (or a number bias) becomes a leaf of its own.
    """
    a, b = _sequence(a, "dot"), _sequence(b, "dot")
    if len(a) != len(b):
        raise ValueError(f"dot: the two sequences differ in length ({len(a)} and {len(b)})")
    if bias is None:
        bias = ()
    elif isinstance(bias, Value):
        bias = (bias,)
    else:
        bias = (Value(to_float(bias, "dot bias")),)
    try:
        return dot_product(*a, *b, *bias)
    except TypeError:
        _name_bad_element(a, "dot element")
        _name_bad_element(b, "dot element")
        raise


def _sequence(values: Iterable[Value | Number], op: str) -> Sequence[Value | Number]:
    if type(values) is list or type(values) is tuple:
        return values
    if isinstance(values, (str, bytes, Value)) or not isinstance(values, Iterable):
        raise TypeError(f"{op} needs an iterable of Values or numbers, got {type(values).__name__}")
    return list(values)


def _name_bad_element(values: Sequence, what: str) -> None:
    """Raise the TypeError for the first element that is neither a Value nor a real number."""
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            to_float(v, f"{what} {i}")


# ---- the tables ------------------------------------------------------------------------------

# Every op above; the test suite checks their derivative rules from these declarations, so their
# results are not checked again at every node, as a user's Op's are.
OPS: dict[str, Op] = {op: op._checked_by_the_tests() for op in list(globals().values()) if isinstance(op, Op)}

# The ops behind Python's operators (value.py's __add__, __rsub__, ...). Every other op of a
# fixed number of arguments is a function of one Value: x.tanh(), autograd.functions.tanh(x),
# "tanh(x)" in `chainrule graph`, an activation of nn.
OPERATORS: dict[str, Op] = {op: op for op in (add, sub, mul, div, power, neg, rsub, rdiv, rpow)}
FUNCTIONS: dict[str, Op] = {
    name: op for name, op in OPS.items() if name not in OPERATORS and op.parameters[:1] == ("x",) and not op.variadic
}


def _method(op: Op):
    if op.parameters == ("x",):  # one Value and nothing else: no arguments to sort out

        def method(self: Value) -> Value:
            return op.apply((self,), [self.data], current_scope())

    else:

        def method(self: Value, *constants: float, **by_name: float) -> Value:
            return op(self, *constants, **by_name)

    method.__name__ = method.__qualname__ = str(op)
    method.__doc__ = f"{op}({', '.join(op.parameters)}) as a new Value: the op autograd.OPS[{str(op)!r}]."
    return method


for _name, _op in FUNCTIONS.items():  # x.exp(), x.tanh(), x.leaky_relu(0.1), x.leaky_relu(slope=0.1), ...
    setattr(Value, _name, _method(_op))


# At the end: the derivative rules above call autograd.functions, which is made from FUNCTIONS.
from autograd import functions  # noqa: E402
