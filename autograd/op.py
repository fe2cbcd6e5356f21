"""`Op`: one operation, declared once: its name, its forward rule and its derivative rule.

    softsign = Op("softsign",
                  lambda x: x / (1 + abs(x)),                # forward: the number, on floats
                  lambda x, out: (1 / (1 + abs(x)) ** 2,))   # d(out)/dx, one per input

Calling an op, `softsign(v)`, makes a new `Value` in three beats:
    1. compute the number:        out = forward(*numbers)
    2. the local derivatives:     derivative(*numbers, out), one d(out)/d(x_i) per input
    3. a node that keeps its inputs and those local derivatives (unless under `no_grad`).

Backpropagation then needs nothing else from the op: the chain rule multiplies the stored
local derivatives. For derivatives of derivatives (`grad(..., create_graph=True)`) the very
same derivative rule is called again with Values instead of floats, so write it with plain
arithmetic and `autograd.functions` (`cos(x)`, not `math.cos(x)`), which work on both.

The arguments up to the last Value are the node's inputs (a number among them becomes a leaf
Value of its own); the numbers after the last Value are the op's constants: `x * 2` is the op
"*" with the one input x and the constant 2. A constant is never differentiated, so the node
keeps only the local derivatives of its inputs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from numbers import Real

from autograd import anomaly
from autograd.modes import Scope, _get_mode
from autograd.value import Number, Value, to_float


class Op(str):
    """An operation: a name, `forward(*xs) -> float` and `derivative(*xs, out) -> tuple`.

    An Op *is* its name, a str (as an `enum.StrEnum` member is), so a node's `.op` holds the
    Op itself and still reads `node.op == "tanh"`; the node needs no second slot to find its
    derivative rule again, which keeps every node 8 bytes smaller.

    `torch` optionally names the PyTorch function computing the same thing (e.g. "tanh" or
    "nn.functional.softplus"); the test suite then checks the op against PyTorch too.
    """

    forward: Callable[..., float]
    derivative: Callable[..., tuple]
    torch: str | None
    parameters: tuple[str, ...]  # the forward rule's argument names, as pictures and errors show them
    defaults: tuple[float, ...]  # the values of its last arguments when a call leaves them out
    variadic: bool  # any number of arguments (as sum and dot take)

    def __new__(
        cls, name: str, forward: Callable[..., float], derivative: Callable[..., tuple], *, torch: str | None = None
    ) -> Op:
        if not isinstance(name, str) or not name:
            raise TypeError(f"Op: the name must be a non-empty str, got {name!r}")
        for what, rule in (("forward", forward), ("derivative", derivative)):
            if not callable(rule):
                raise TypeError(f"Op {name!r}: {what} must be a function, got {type(rule).__name__}")
        op = super().__new__(cls, name)
        op.forward, op.derivative, op.torch = forward, derivative, torch
        op.parameters, op.defaults, op.variadic = _signature(forward)
        op._arity = None if op.variadic else len(op.parameters)
        return op

    @property
    def name(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"Op({str(self)!r})"

    def __reduce__(self) -> tuple:  # an Op is a str to pickle and copy, but made with its rules
        from autograd.ops import OPS  # (autograd.ops imports this module)

        if OPS.get(str(self)) is self:  # a built-in op travels by name: its rules are lambdas, which pickle refuses
            return (_builtin_op, (str(self),))
        return (Op, (str(self), self.forward, self.derivative), {"torch": self.torch})

    def __call__(self, *args: Value | Number) -> Value:
        """Apply the op: a Value whose inputs are the Value arguments and whose constants are
        the numbers after the last of them; numbers alone give a leaf Value."""
        # Sort the arguments into inputs and constants, and read the numbers. One Value, or two,
        # or a Value and a number, take a short way: the general one costs ~3x (why: the chain
        # and MLP of benchmarks/ are made of nothing else).
        n = len(args)
        a = args[0] if n else None
        if n != self._arity or type(a) is not Value:
            inputs, numbers = self._arguments(args)
        elif n == 1:
            inputs, numbers = args, (a.data,)
        elif n == 2 and type(args[1]) is Value:
            inputs, numbers = args, (a.data, args[1].data)
        elif n == 2 and type(args[1]) is float:
            inputs, numbers = args[:1], (a.data, args[1])
        else:
            inputs, numbers = self._arguments(args)
        return self.apply(inputs, numbers, _get_mode()[1])

    def apply(self, inputs: Sequence[Value], numbers: Sequence[float], scope: Scope | None) -> Value:
        """The three beats, with everything known: `numbers` are the inputs' `.data` in order,
        then the op's constants, and the node goes into `scope` (calling the op puts it into the
        open one). For callers that make many nodes at once: nn's Layer reads its inputs once
        for all of its neurons, and puts each neuron's nodes into a Scope of its own without
        opening a block for each. Nothing is checked: give the right numbers."""
        try:
            out = self.forward(*numbers)  # 1. the number
        except (ValueError, ArithmeticError) as error:  # e.g. "math domain error": say which op, at which numbers
            raise _naming(error, self, numbers) from None
        if type(out) is not float:
            out = _result(out, self)
        node = _new_value(Value)  # __init__ would check the number, a float already: every slot is set here
        node.data = out
        node.grad = 0.0
        node.label = ""
        node.scope = scope
        node._mark = None
        recording = _get_mode()[0]
        if not inputs or not recording:  # made of numbers only, or under no_grad: a leaf
            node.op = ""
            node.inputs = node.local_grads = ()
            node.constant = None
            return node
        local_grads = self.derivative(*numbers, out)  # 2. the local derivatives
        if type(local_grads) is not tuple or len(local_grads) != len(numbers):
            local_grads = _checked_grads(local_grads, self, len(numbers))
        node.op = self  # 3. the node, keeping its inputs and their local derivatives
        node.inputs = inputs
        if len(numbers) == len(inputs):
            node.local_grads = local_grads
            node.constant = None
        else:  # a constant is not an input: the node keeps the local derivatives of its inputs only
            node.local_grads = local_grads[: len(inputs)]
            node.constant = numbers[-1] if len(numbers) == len(inputs) + 1 else tuple(numbers[len(inputs) :])
        if recording is not True:  # under detect_anomaly: remember where the node was made, check it
            anomaly.made(node, numbers)
        return node

    def _arguments(self, args: tuple) -> tuple[tuple, list[float]]:
        """(inputs, their numbers followed by the constants).

        The inputs are the arguments up to the last Value, a number among them made a leaf Value
        of its own; the numbers after the last Value are constants. An op of any number of
        arguments (sum, dot) has no constants: every argument is an input.
        """
        last = len(args)
        if not self.variadic:
            if last != self._arity:
                args = self._complete(args)
                last = len(args)
            while last and not isinstance(args[last - 1], Value):
                last -= 1
        inputs = args[:last] if last < len(args) else args
        xs = [v.data for v in inputs if type(v) is Value]  # one pass reads the numbers and checks the types
        if len(xs) != len(inputs):
            inputs = tuple(v if isinstance(v, Value) else Value(self._number(v, i)) for i, v in enumerate(inputs))
            xs = [v.data for v in inputs]
        xs += [self._number(c, i) for i, c in enumerate(args[last:], last)]  # the constants
        return inputs, xs

    def _number(self, x: object, position: int) -> float:
        """A number argument as a float; anything else is an error naming the op and the argument."""
        name = self.parameters[position] if position < len(self.parameters) else f"argument {position + 1}"
        return x if type(x) is float else to_float(x, f"{self}: {name}")

    def _complete(self, args: tuple) -> tuple:
        """args with the defaults of the arguments left out; the wrong number of arguments is an error."""
        missing = len(self.parameters) - len(args)
        if not 0 < missing <= len(self.defaults):
            most, least = len(self.parameters), len(self.parameters) - len(self.defaults)
            takes = f"{least} to {most}" if least != most else str(most)
            raise TypeError(f"{self}() takes {takes} argument{'s' if most != 1 else ''} "
                            f"({', '.join(self.parameters)}), got {len(args)}")
        return args + self.defaults[len(self.defaults) - missing :]


_new_value = object.__new__


def _builtin_op(name: str) -> Op:
    """The built-in op of that name (what a pickled built-in op is made from again)."""
    from autograd.ops import OPS

    return OPS[name]


def _signature(forward: Callable[..., float]) -> tuple[tuple[str, ...], tuple[float, ...], bool]:
    """The forward rule's parameter names, the defaults of its last ones, and whether it takes *args."""
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: a function of one number
        return ("x",), (), False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    defaults = tuple(float(p.default) for p in positional if p.default is not p.empty)
    return tuple(p.name for p in positional), defaults, any(p.kind is p.VAR_POSITIONAL for p in params)


def _result(out: object, op: Op) -> float:
    if isinstance(out, Real) and not isinstance(out, bool):
        return float(out)
    raise TypeError(f"{op}: forward must return a real number, got {type(out).__name__}: {_short(out)}")


def _checked_grads(local_grads: object, op: Op, n: int) -> tuple:
    if isinstance(local_grads, (list, tuple)) and len(local_grads) == n:
        return tuple(local_grads)
    got = f"{len(local_grads)} values" if isinstance(local_grads, (list, tuple)) else type(local_grads).__name__
    raise TypeError(f"{op}: derivative must return a tuple of {n} local derivative{'s' if n != 1 else ''} "
                    f"(one per argument), got {got}")


def _naming(error: Exception, op: Op, xs: list[float]) -> Exception:
    """The forward rule's error, its message starting with the op's name and the numbers it was given."""
    message = str(error)
    if message.startswith((f"{op}:", f"'{op}':")):  # the built-in ops name themselves already
        return error
    return type(error)(f"{op}({', '.join(map(repr, xs))}): {message}")


def _short(x: object) -> str:
    if isinstance(x, int) and x.bit_length() > 200:  # repr of a huge int is long, or refused past 4,300 digits
        return f"an int of about {int(x.bit_length() * 0.30103) + 1} digits"
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."
