"""`Value`: a real number that remembers how it was computed, and the gradient flowing into it.

A Value made by an op is a node of a graph: `.op` names the op, `.inputs` are the Values it was
computed from, and `.local_grads` the local derivatives d(self)/d(input), one per input, worked
out when the node was made. A number in an expression is part of its op, not a node: `x * 2`
has the one input x, the local derivative 2, and keeps the number as `.constant`.

Python's operators and the methods `x.exp()`, `x.tanh()`, ... are the ops of `autograd/ops.py`;
`backward()` is the chain rule of `autograd/backprop.py`.

`<`, `<=`, `>`, `>=` and `bool(v)` read the numbers (a bool, not a node); `==` is identity. The
names micrograd uses work too: `_prev` (the inputs, as a set), `_op` (the op's name) and
`_backward()` (one node's step of the chain rule), and a Value takes attributes of your own (`p.m = 0.0`).
"""

from __future__ import annotations

import numbers

from autograd.modes import _get_mode

Number = float | int


class Value:
    """A real number that remembers how it was computed, and the gradient flowing into it."""

    __slots__ = (
        "data", "grad", "label", "op", "inputs", "local_grads", "constant", "scope", "_grad_buffer", "_mark",
        "__weakref__",
        "__dict__",  # attributes of your own (p.m, p.v): 32 bytes a node (248 -> 280), a dict only once one is set
    )

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = to_float(data, "Value data")
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}")
        self.grad = 0.0  # d(root)/d(self), added to by every backward() through self
        self.label = label
        self.op = ""  # the op that made this Value (an Op, which is a str: its name); '' for a leaf
        self.inputs: tuple[Value, ...] = ()  # the Values it was made from, in program order
        self.local_grads: tuple = ()  # d(self)/d(input), one per input
        self.constant: float | tuple | None = None  # the number in an op such as x * 2, else None
        self.scope = _get_mode().scope  # the Scope open when it was made (for pictures), or None
        self._mark = None  # backprop's walk marks the nodes it has reached here

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self.data

    # ---- Python's operators: each is an op (a number on the left is the op's constant) ----

    def __add__(self, other: Value | Number) -> Value:
        return ops.add(self, other)

    def __radd__(self, other: Number) -> Value:
        return ops.add(self, other)  # c + x is x + c

    def __sub__(self, other: Value | Number) -> Value:
        return ops.sub(self, other)

    def __rsub__(self, other: Number) -> Value:
        return ops.rsub(self, other)  # c - x

    def __mul__(self, other: Value | Number) -> Value:
        return ops.mul(self, other)

    def __rmul__(self, other: Number) -> Value:
        return ops.mul(self, other)  # c * x is x * c

    def __truediv__(self, other: Value | Number) -> Value:
        return ops.div(self, other)

    def __rtruediv__(self, other: Number) -> Value:
        return ops.rdiv(self, other)  # c / x

    def __pow__(self, other: Value | Number) -> Value:
        return ops.power(self, other)

    def __rpow__(self, other: Number) -> Value:
        return ops.rpow(self, other)  # c ** x

    def __neg__(self) -> Value:
        return ops.neg(self)

    def __abs__(self) -> Value:
        return ops.absolute(self)

    # ---- comparisons and truth: of the numbers, as for PyTorch's scalars (a bool, no node) ----
    # `==` is not among them: it stays identity, so that Values can be dictionary and set keys.

    def __lt__(self, other: Value | Number) -> bool:
        n = _number(other)
        return NotImplemented if n is None else self.data < n

    def __le__(self, other: Value | Number) -> bool:
        n = _number(other)
        return NotImplemented if n is None else self.data <= n

    def __gt__(self, other: Value | Number) -> bool:
        n = _number(other)
        return NotImplemented if n is None else self.data > n

    def __ge__(self, other: Value | Number) -> bool:
        n = _number(other)
        return NotImplemented if n is None else self.data >= n

    def __bool__(self) -> bool:
        return self.data != 0.0  # NaN is True, as bool(float("nan")) is

    # ---- micrograd's names for the same things, so that its lecture code runs unchanged ----

    @property
    def _prev(self) -> set[Value]:
        """The inputs, as a set (`.inputs` keeps their order and repeats)."""
        return set(self.inputs)

    @property
    def _op(self) -> str:
        """The op's name, '' for a leaf (the same as `.op`)."""
        return self.op

    def _backward(self) -> None:
        """This node's one step of the chain rule: every input gets local derivative x self.grad added to its .grad."""
        for inp, local in zip(self.inputs, self.local_grads):
            inp.grad += local * self.grad

    # Every other function of one Value in autograd/ops.py is a method too (x.exp(), x.tanh(),
    # x.leaky_relu(0.1), ...): ops.py adds them, so that a new op is one declaration.

    def backward(self) -> None:
        """Add d(self)/d(node) to `node.grad` for every node of the graph behind self.

        self gets 1, and intermediate nodes get their gradient too (the pictures show it).
        Calling backward twice without zeroing gives every node exactly twice the gradient.
        All or nothing: if backward fails or is interrupted, every `.grad` is as it was.
        """
        backprop.backward(self)


def to_float(x: object, what: str) -> float:
    """x as a float if it is a real number; bool, str, complex, Values, ... -> TypeError naming `what`."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        try:
            return float(x)
        except OverflowError:
            shown = f"an int of about {int(x.bit_length() * 0.30103) + 1} digits" if isinstance(x, int) else repr(x)
            raise OverflowError(f"{what} is too large for a float ({shown})") from None
    if isinstance(x, Value):
        raise TypeError(f"{what} must be a real number, got a Value; use the Value itself or its .data")
    raise TypeError(f"{what} must be a real number, got {type(x).__name__}: {x!r:.60}")


def _number(x: object) -> float | None:
    """The number to compare with: a Value's data, a real number itself; None for anything else
    (the comparison then returns NotImplemented, and Python raises its TypeError)."""
    if isinstance(x, Value):
        return x.data
    return x if isinstance(x, numbers.Real) else None


# At the end: ops and backprop make Values themselves, so they import this module first.
from autograd import backprop, ops  # noqa: E402
