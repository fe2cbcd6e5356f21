"""The engine: a scalar `Value` that remembers how it was made, and the chain rule run backwards.

Every operation follows the same three beats:

    1. compute the output number,
    2. write down the *local* derivatives d(output)/d(input), one per input,
    3. return a new Value that keeps its inputs and those local derivatives.

A plain number in an expression is part of the op, not a node: `x * 2` is one node "*" whose
only input is x, whose local derivative is 2, and which keeps the number as its `constant`.
Nothing needs a gradient for a number, so the graph holds only what backpropagation uses.

Backpropagation is then one loop over the graph in reverse topological order, the chain rule:

    input_grad += local_derivative * output_grad

A local derivative that depends on the inputs is written once, as a small rule function next to
its op (`_d_tanh`, ...). The forward pass calls it on floats; `grad(..., create_graph=True)`
calls the very same rule on Values, which makes the gradient differentiable again.
"""

from __future__ import annotations

import builtins
import math
import numbers
import threading
from collections.abc import Callable, Iterable, Sequence
from operator import mul

from autograd.modes import _get_mode

Number = float | int

# op name -> rule giving the local derivatives as functions of (inputs..., output).
# Ops whose local derivatives are constants (+, -, relu, ...) need no rule: their second
# derivative is zero, so create_graph can reuse the stored numbers as they are.
_RULES: dict[str, Callable[..., tuple]] = {}


def _rule(op: str) -> Callable[[Callable[..., tuple]], staticmethod]:
    """Register a local-derivative rule for `op` and keep it as a staticmethod of Value."""

    def register(fn: Callable[..., tuple]) -> staticmethod:
        _RULES[op] = fn
        return staticmethod(fn)

    return register


def _to_float(x: object, what: str) -> float:
    """x as a float if it is a real number; bool, str, complex, Values, ... -> TypeError."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, Value):
        raise TypeError(f"{what} must be a real number, got a Value; use the Value itself or its .data")
    raise TypeError(f"{what} must be a real number, got {type(x).__name__}: {x!r:.60}")


def _as_float(op: Callable[[float], Value], x: object) -> Value:
    """op(float(x)) for an int or other real number (bool excluded), such as numpy.float32(2);
    for anything else NotImplemented, and Python raises a TypeError naming both types."""
    if type(x) is int or (isinstance(x, numbers.Real) and not isinstance(x, bool)):
        return op(float(x))
    return NotImplemented


def _data(x: Value | float) -> float:
    return x.data if isinstance(x, Value) else x


def _cos(x: Value | float) -> Value | float:
    return x.cos() if isinstance(x, Value) else math.cos(x)


def _sin(x: Value | float) -> Value | float:
    return x.sin() if isinstance(x, Value) else math.sin(x)


def _log(x: Value | float) -> Value | float:
    return x.log() if isinstance(x, Value) else math.log(x)


def _power(base: Value | float, exponent: Value | float) -> Value | float:
    """base ** exponent inside a derivative, where 0 to a negative power means +inf (as in PyTorch)."""
    if _data(base) == 0.0 and _data(exponent) < 0.0:
        return math.inf
    return base**exponent


def _checked_power(a: float, b: float, op: str) -> float:
    """a ** b for the forward pass, with errors that say which op failed and why."""
    if a == 0.0 and b < 0.0:
        raise ZeroDivisionError(f"{op}: 0.0 cannot be raised to the negative power {b!r}")
    if a < 0.0 and not b.is_integer():
        raise ValueError(f"{op}: negative base {a!r} to the non-integer power {b!r} is not a real number")
    try:
        return a**b
    except OverflowError:
        raise OverflowError(f"{op}: {a!r} ** {b!r} is too large for a float") from None


def _check_divisor(a: float, b: float) -> None:
    if b == 0.0:
        raise ZeroDivisionError(f"'/': division by zero ({a!r} / {b!r})")


def _exponent_op(n: float) -> str:
    """Op name for a power with a constant exponent, e.g. '**2' or '**0.5' (as pictures show it)."""
    return f"**{int(n)}" if n.is_integer() and abs(n) < 1e15 else f"**{n!r}"


def _result(data: float, op: str, inputs: tuple, local_grads: tuple, constant: float | None = None) -> Value:
    """A new Value computed by `op`; under no_grad it keeps no inputs and is a leaf."""
    out = _new_value(Value)  # data is a float already, so skip __init__'s checks
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._grad_buffer = 0.0
    recording, out.scope, _ = _get_mode()
    if recording:
        out.op = op
        out.inputs = inputs
        out.local_grads = local_grads
        out.constant = constant
    else:
        out.op = ""
        out.inputs = ()
        out.local_grads = ()
        out.constant = None
    return out


def _constant(data: float) -> Value:
    """A leaf for a number among the elements of `sum` or `dot`: an n-ary node keeps one input
    per element, so there the number gets a Value of its own."""
    return _result(data, "", (), ())


# One-input local derivatives that many nodes have (x + c, c - x, relu, ...): one shared tuple each
_ONE, _MINUS_ONE, _ZERO = (1.0,), (-1.0,), (0.0,)


_new_value = object.__new__  # a Value without running __init__ (the callers set every slot)


class Value:
    """A real number that remembers how it was computed, and the gradient flowing into it."""

    __slots__ = (
        "data", "grad", "label", "op", "inputs", "local_grads", "constant", "scope", "_grad_buffer", "__weakref__"
    )

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = _to_float(data, "Value data")
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}")
        self.grad = 0.0
        self.label = label
        self.op = ""  # the op that made this Value; '' for a leaf
        self.inputs: tuple[Value, ...] = ()  # the Values it was made from, in program order
        self.local_grads: tuple = ()  # d(self)/d(input), one per input
        self.constant: float | None = None  # the number in an op such as x * 2, else None
        self.scope = _get_mode()[1]  # the Scope open when it was made (for pictures), or None
        self._grad_buffer = 0.0  # backward's working space (see _float_gradients)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self.data

    # ---- arithmetic --------------------------------------------------------------------
    # Between two Values an op has two inputs. With a number on one side, the number is the
    # op's `constant` and the Value its one input; an op whose number stands on the left of a
    # Value (2 - x, 2 / x, 2 ** x) is named like Python's reflected methods: rsub, rdiv, rpow.
    # A float is tested for first: it is the common case, and the cheapest test.

    def __add__(self, other: Value | Number) -> Value:
        """a + b.   d/da = 1,  d/db = 1"""
        if type(other) is float:
            return _result(self.data + other, "+", (self,), _ONE, other)
        if isinstance(other, Value):
            return _result(self.data + other.data, "+", (self, other), (1.0, 1.0))
        return _as_float(self.__add__, other)

    __radd__ = __add__  # c + x: addition commutes

    def __sub__(self, other: Value | Number) -> Value:
        """a - b.   d/da = 1,  d/db = -1"""
        if type(other) is float:
            return _result(self.data - other, "-", (self,), _ONE, other)
        if isinstance(other, Value):
            return _result(self.data - other.data, "-", (self, other), (1.0, -1.0))
        return _as_float(self.__sub__, other)

    def __rsub__(self, other: Number) -> Value:
        """c - x.   d/dx = -1"""
        if type(other) is not float:
            return _as_float(self.__rsub__, other)
        return _result(other - self.data, "rsub", (self,), _MINUS_ONE, other)

    def __neg__(self) -> Value:
        """-a.   d/da = -1"""
        return _result(-self.data, "neg", (self,), _MINUS_ONE)

    def __mul__(self, other: Value | Number) -> Value:
        """a * b."""
        if type(other) is float:  # d/dx (x c) = c
            return _result(self.data * other, "*", (self,), (other,), other)
        if isinstance(other, Value):
            a, b = self.data, other.data
            return _result(a * b, "*", (self, other), Value._d_mul(a, b, None))
        return _as_float(self.__mul__, other)

    @_rule("*")
    def _d_mul(a, b, out):
        """d/da (a*b) = b,  d/db (a*b) = a"""
        return (b, a)

    __rmul__ = __mul__  # c * x: multiplication commutes

    def __truediv__(self, other: Value | Number) -> Value:
        """a / b."""
        if type(other) is float:  # d/dx (x / c) = 1/c
            _check_divisor(self.data, other)
            return _result(self.data / other, "/", (self,), (1 / other,), other)
        if isinstance(other, Value):
            a, b = self.data, other.data
            _check_divisor(a, b)
            out = a / b
            return _result(out, "/", (self, other), Value._d_div(a, b, out))
        return _as_float(self.__truediv__, other)

    @_rule("/")
    def _d_div(a, b, out):
        """d/da (a/b) = 1/b,  d/db (a/b) = -a/b^2 = -(a/b)/b"""
        return (1 / b, -out / b)  # -out/b: b*b could underflow to 0 where out/b is fine

    def __rtruediv__(self, other: Number) -> Value:
        """c / x."""
        if type(other) is not float:
            return _as_float(self.__rtruediv__, other)
        x = self.data
        _check_divisor(other, x)
        out = other / x
        return _result(out, "rdiv", (self,), Value._d_rdiv(x, out), other)

    @_rule("rdiv")
    def _d_rdiv(x, out):
        """d/dx (c/x) = -c/x^2 = -(c/x)/x"""
        return (-out / x,)

    def __pow__(self, other: Value | Number) -> Value:
        """a ** b, for a Value or a constant exponent b."""
        if isinstance(other, Value):
            return self._pow_value(other)
        if type(other) is not float:
            return _as_float(self.__pow__, other)
        # The exponent is also in the op's name, as in "**2", so pictures and create_graph see
        # which power it is. Its own derivative is not wanted, and would be nan for a negative base.
        x, n = self.data, other
        op = _exponent_op(n)
        return _result(_checked_power(x, n, op), op, (self,), Value._d_pow_const(x, None, n), n)

    @staticmethod
    def _d_pow_const(x, out, n):
        """d/dx x^n = n x^(n-1)   (0 for n == 0, as in PyTorch)"""
        return (n * _power(x, n - 1) if n != 0.0 else 0.0,)

    def _pow_value(self, other: Value) -> Value:
        a, b = self.data, other.data
        out = _checked_power(a, b, "**")
        return _result(out, "**", (self, other), Value._d_pow(a, b, out))

    @_rule("**")
    def _d_pow(a, b, out):
        """d/da a^b = b a^(b-1)  (0 for b == 0),  d/db a^b = a^b ln(a)  (0 at a == 0, nan for a < 0)"""
        base = _data(a)
        d_exponent = out * _log(a) if base > 0.0 else (0.0 if base == 0.0 else math.nan)
        # b == 0 gives 0 even at a == 0, where b a^(b-1) would be 0 * inf (PyTorch does the same)
        d_base = b * _power(a, b - 1) if _data(b) != 0.0 else 0.0
        return (d_base, d_exponent)

    def __rpow__(self, other: Number) -> Value:
        """c ** x."""
        if type(other) is not float:
            return _as_float(self.__rpow__, other)
        x = self.data
        out = _checked_power(other, x, "**")
        return _result(out, "rpow", (self,), Value._d_rpow(x, out, other), other)

    @staticmethod
    def _d_rpow(x, out, c):
        """d/dx c^x = c^x ln(c)   (0 at c == 0, nan for c < 0, as for a ** b)"""
        return (out * math.log(c) if c > 0.0 else (0.0 if c == 0.0 else math.nan),)

    # ---- functions -------------------------------------------------------------------

    def exp(self) -> Value:
        """e^x."""
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp: exp({self.data!r}) is too large for a float") from None
        return _result(out, "exp", (self,), Value._d_exp(self.data, out))

    @_rule("exp")
    def _d_exp(x, out):
        """d/dx e^x = e^x"""
        return (out,)

    def log(self) -> Value:
        """Natural logarithm, for x > 0."""
        x = self.data
        if not x > 0.0:
            raise ValueError(f"log: the logarithm needs a positive input, got {x!r}")
        return _result(math.log(x), "log", (self,), Value._d_log(x, None))

    @_rule("log")
    def _d_log(x, out):
        """d/dx ln(x) = 1/x"""
        return (1 / x,)

    def sqrt(self) -> Value:
        """Square root, for x >= 0."""
        x = self.data
        if not x >= 0.0:
            raise ValueError(f"sqrt: the square root needs a non-negative input, got {x!r}")
        out = math.sqrt(x)
        return _result(out, "sqrt", (self,), Value._d_sqrt(x, out))

    @_rule("sqrt")
    def _d_sqrt(x, out):
        """d/dx sqrt(x) = 1 / (2 sqrt(x))   (+inf at 0, as in PyTorch)"""
        return (math.inf if _data(out) == 0.0 else 0.5 / out,)

    def tanh(self) -> Value:
        """Hyperbolic tangent (math.tanh is stable for any x)."""
        out = math.tanh(self.data)
        return _result(out, "tanh", (self,), Value._d_tanh(self.data, out))

    @_rule("tanh")
    def _d_tanh(x, out):
        """d/dx tanh(x) = 1 - tanh(x)^2"""
        return (1 - out * out,)

    def sigmoid(self) -> Value:
        """1 / (1 + e^-x), computed without overflow for any x."""
        x = self.data
        if x >= 0.0:
            out = 1.0 / (1.0 + math.exp(-x))
        else:  # e^-x would overflow for very negative x; e^x cannot
            e = math.exp(x)
            out = e / (1.0 + e)
        return _result(out, "sigmoid", (self,), Value._d_sigmoid(x, out))

    @_rule("sigmoid")
    def _d_sigmoid(x, out):
        """d/dx sigmoid(x) = sigmoid(x) (1 - sigmoid(x))"""
        return (out * (1 - out),)

    def relu(self) -> Value:
        """max(0, x).   d/dx = 1 for x > 0, else 0 (0 at the kink, as in PyTorch)"""
        x = self.data
        return _result(x if x > 0.0 else 0.0, "relu", (self,), _ONE if x > 0.0 else _ZERO)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x for x > 0, else slope * x.   d/dx = 1 for x > 0, else slope"""
        slope = _to_float(slope, "leaky_relu slope")
        x = self.data
        if x > 0.0:
            return _result(x, "leaky_relu", (self,), _ONE)
        return _result(slope * x, "leaky_relu", (self,), (slope,))

    def __abs__(self) -> Value:
        """|x|.   d/dx = sign(x), 0 at x == 0 (as in PyTorch)"""
        x = self.data
        sign = 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)
        return _result(abs(x), "abs", (self,), (sign,))

    def sin(self) -> Value:
        """Sine of x (radians)."""
        x = self.data
        if math.isinf(x):
            raise ValueError(f"sin: the sine of {x!r} is undefined")
        return _result(math.sin(x), "sin", (self,), Value._d_sin(x, None))

    @_rule("sin")
    def _d_sin(x, out):
        """d/dx sin(x) = cos(x)"""
        return (_cos(x),)

    def cos(self) -> Value:
        """Cosine of x (radians)."""
        x = self.data
        if math.isinf(x):
            raise ValueError(f"cos: the cosine of {x!r} is undefined")
        return _result(math.cos(x), "cos", (self,), Value._d_cos(x, None))

    @_rule("cos")
    def _d_cos(x, out):
        """d/dx cos(x) = -sin(x)"""
        return (-_sin(x),)

    # ---- backpropagation ---------------------------------------------------------------

    def backward(self) -> None:
        """Add d(self)/d(node) to `node.grad` for every node of the graph behind self.

        self gets 1, and intermediate nodes get their gradient too (the pictures show it).
        This call's gradients are computed in a buffer of their own and only then added to
        `.grad`, so calling backward twice without zeroing gives every node exactly twice
        the gradient.
        """
        with _backward_lock:
            _float_gradients(self, into_grad=True)


# The `_grad_buffer` slots are shared by every call: one chain-rule pass at a time.
_backward_lock = threading.Lock()


def _float_gradients(
    root: Value, on_step: Callable[[Value], None] | None = None, into_grad: bool = False
) -> list[Value]:
    """The chain rule over root's graph: afterwards each node's `_grad_buffer` is d(root)/d(node).

    Returns the graph's nodes in topological order; the caller holds `_backward_lock` while
    it reads the buffers. A slot on each node is a faster buffer than a dict keyed by node.
    `into_grad=True` (backward) also adds each node's finished gradient to its `.grad`.
    `on_step(node)`, if given, is called after each node has passed its gradient on to its
    inputs: the step-by-step pictures watch the real pass through it.
    """
    order = _topological_order(root)
    for node in order:
        node._grad_buffer = 0.0
    root._grad_buffer = 1.0
    for node in reversed(order):  # outputs before inputs: a gradient is complete when reached
        g = node._grad_buffer
        if into_grad:
            node.grad += g
        inputs = node.inputs
        if len(inputs) == 1:  # most nodes have one input, and zip() costs more than the rule
            inputs[0]._grad_buffer += node.local_grads[0] * g
        elif inputs:
            for inp, local in zip(inputs, node.local_grads):  # the chain rule
                inp._grad_buffer += local * g
        else:
            continue  # a leaf has nothing to pass on
        if on_step is not None:
            on_step(node)
    return order


def sum(values: Iterable[Value | Number]) -> Value:  # noqa: A001 - autograd.sum, like torch.sum
    """One node adding n values.   d/dx_i (x_1 + ... + x_n) = 1"""
    inputs, data = _operands(values, "sum")
    return _result(_add_up(data), "sum", inputs, (1.0,) * len(inputs))


def dot(a: Sequence[Value | Number], b: Sequence[Value | Number], bias: Value | Number | None = None) -> Value:
    """One node for a_1 b_1 + ... + a_n b_n (+ bias): a neuron's weighted sum.

    The inputs are a_1..a_n, b_1..b_n (then bias), and the local derivatives are
    d/da_i = b_i,  d/db_i = a_i,  d/dbias = 1.
    """
    (a_values, a_data), (b_values, b_data) = _operands(a, "dot"), _operands(b, "dot")
    if len(a_values) != len(b_values):
        raise ValueError(f"dot: the two sequences differ in length ({len(a_values)} and {len(b_values)})")
    if bias is not None and not isinstance(bias, Value):
        bias = _constant(_to_float(bias, "dot bias"))
    return _dot(a_values, a_data, b_values, b_data, bias)


def _dot(
    a_values: Sequence[Value], a_data: Sequence[float], b_values: Sequence[Value], b_data: Sequence[float],
    bias: Value | None = None,
) -> Value:
    """`dot` for operands already checked: the Values and their numbers, of equal lengths.

    nn's layers call it directly: they read a layer's inputs once for all of its neurons.
    """
    out = _add_up(map(mul, a_data, b_data))
    if bias is None:
        return _result(out, "dot", (*a_values, *b_values), (*b_data, *a_data))
    return _result(out + bias.data, "dot", (*a_values, *b_values, bias), (*b_data, *a_data, 1.0))


@_rule("dot")
def _d_dot(*inputs_and_out):
    """d/da_i = b_i and d/db_i = a_i: each half of the inputs is the other's derivative."""
    inputs = inputs_and_out[:-1]
    n = len(inputs) // 2  # an odd count means a bias came last
    return inputs[n : 2 * n] + inputs[:n] + (1.0,) * (len(inputs) - 2 * n)


def _operands(values: Iterable[Value | Number], op: str) -> tuple[tuple[Value, ...], list[float]]:
    """values as a tuple of Values (each number made a constant leaf), and their data."""
    if type(values) is not list and type(values) is not tuple:  # the usual containers skip these checks
        if isinstance(values, (str, bytes, Value)) or not isinstance(values, Iterable):
            raise TypeError(f"{op} needs an iterable of Values or numbers, got {type(values).__name__}")
    values = tuple(values)
    data = [v.data for v in values if type(v) is Value]  # one pass checks types and reads the numbers
    if len(data) == len(values):
        return values, data
    values = tuple(
        v if isinstance(v, Value) else _constant(_to_float(v, f"{op} element {i}")) for i, v in enumerate(values)
    )
    return values, [v.data for v in values]


# Python's own left-to-right float addition (this module's `sum` is the graph op): like a
# hand-written loop, it gives inf for an overflow and nan for inf - inf, as PyTorch does.
_add_up = builtins.sum


# ---- the graph, walked without recursion ------------------------------------------------


def _topological_order(root: Value) -> list[Value]:
    """Every node that root depends on (root included), each one after all of its inputs.

    A depth-first search with an explicit stack, so a graph a million nodes deep works; it
    goes down a run of one-input nodes (a chain) without stopping, and lists a finished run
    in one block. It marks each node in its `_grad_buffer` slot with one of this walk's two
    marker objects, `entered` (its inputs are being walked) or `done` (it is in order):
    reading a slot is faster than asking a set, and the chain-rule pass overwrites the slot
    anyway. So the caller holds `_backward_lock`, like every user of those slots.
    """
    entered, done = object(), object()  # this walk's markers: no other walk's slot holds them
    order: list[Value] = []
    stack: list[Value] = []  # entered nodes, and inputs waiting to be entered
    pop, push, add = stack.pop, stack.append, order.append  # bound once: the loop runs per node
    node: Value | None = root
    while True:
        while node is not None:  # go down from node
            run_start = len(stack)
            inputs = node.inputs
            while len(inputs) == 1:  # a run of one-input nodes, as in a chain: enter each, go on down
                node._grad_buffer = entered
                push(node)
                node = inputs[0]
                if node._grad_buffer is done:
                    break
                inputs = node.inputs
            else:
                if inputs:  # several inputs: enter node, then go straight on into one not done yet
                    node._grad_buffer = entered
                    push(node)
                    down = None
                    for inp in inputs:
                        if inp._grad_buffer is done:
                            continue
                        if not inp.inputs:  # a leaf waits for nothing: it goes into order at once
                            inp._grad_buffer = done
                            add(inp)
                            continue
                        if down is not None:
                            push(down)  # entered later, unless another path gets there first
                        down = inp
                    node = down
                    continue
                node._grad_buffer = done  # a leaf
                add(node)
            # The run stands on a node that is done, so every node of the run is done too: the
            # run goes into order in one block, bottom first, instead of one node at a time off
            # the stack. In a long chain this halves the walk's cost per node.
            run = stack[run_start:]
            del stack[run_start:]
            for finished in run:
                finished._grad_buffer = done
            run.reverse()
            order += run
            node = None
        while stack:  # go back up
            node = pop()
            mark = node._grad_buffer
            if mark is entered:  # all of its inputs are in order now
                node._grad_buffer = done
                add(node)
            elif mark is not done:  # an input still waiting: go down from there
                break
        else:
            return order


def _value_gradients(root: Value) -> dict[Value, Value | float]:
    """d(root)/d(node) for every node, as Values built from the rules (for create_graph).

    Each local derivative comes from its op's rule evaluated on the input Values, so the
    gradients are nodes of a new graph and can be differentiated again.
    """
    grads: dict[Value, Value | float] = {root: 1.0}
    with _backward_lock:
        order = _topological_order(root)
    for node in reversed(order):  # outputs before inputs
        if not node.inputs:
            continue
        g = grads[node]
        rule = _rule_for(node)
        local_grads = rule(*node.inputs, node) if rule else node.local_grads
        for inp, local in zip(node.inputs, local_grads):
            term = _times(local, g)
            grads[inp] = grads[inp] + term if inp in grads else term
    return grads


def _rule_for(node: Value) -> Callable[..., tuple] | None:
    """The rule giving node's local derivatives from its inputs and output, None if they are constants."""
    op, c = node.op, node.constant
    if op.startswith("**") and op != "**":  # power by a constant: the exponent is in the name
        n = float(op[2:])  # (not node.constant: a hand-made "**3" node need not set one)
        return lambda x, out: Value._d_pow_const(x, out, n)
    if op == "rpow":
        return lambda x, out: Value._d_rpow(x, out, c)
    if c is not None and op in _LINEAR_IN_ITS_INPUT:
        return None
    return _RULES.get(op)


# With a number on one side these ops are linear in their one input: x + c, x - c, c - x,
# x * c, x / c. Their local derivative is a constant, so create_graph reuses the stored number.
_LINEAR_IN_ITS_INPUT = frozenset(("+", "-", "rsub", "*", "/"))


def _times(local: Value | float, g: Value | float) -> Value | float:
    """local * g without adding a node for a factor of exactly 1.0."""
    if type(local) is float and local == 1.0:
        return g
    if type(g) is float and g == 1.0:
        return local
    return local * g


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[Value]:
    """d(output)/d(input) for each input, as Values, touching no `.grad`.

    Inputs may be leaves or intermediate nodes; one the output does not depend on gets 0.
    With create_graph=True each result is itself a node of a graph built from the inputs,
    so it can be differentiated again (second and third derivatives, Hessians).
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value) or not isinstance(inputs, Iterable):
        raise TypeError(f"grad: inputs must be a sequence of Values, got {type(inputs).__name__}")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(x).__name__}")
    if create_graph:
        grads = _value_gradients(output)
        return [_as_value(grads.get(x, 0.0)) for x in inputs]
    with _backward_lock:
        in_graph = set(_float_gradients(output))
        return [Value(x._grad_buffer if x in in_graph else 0.0) for x in inputs]


def _as_value(g: Value | float) -> Value:
    return g if isinstance(g, Value) else Value(g)
