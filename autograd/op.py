"""`Op`: one operation, declared once: its name, its forward rule and its derivative rule.

    softsign = Op("softsign",
                  lambda x: x / (1 + abs(x)),                # forward: the number, on floats
                  lambda x, out: (1 / (1 + abs(x)) ** 2,))   # d(out)/dx, one per input

Calling an op, `softsign(v)`, makes a new `Value` in three beats:
    1. compute the number:        out = forward(*numbers)
    2. the local derivatives:     derivative(*numbers, out), one d(out)/d(x_i) per input
    3. a node that keeps its inputs and those local derivatives (unless under `no_grad`).

Backpropagation then needs nothing else from the op: the chain rule multiplies the stored
local derivatives. Where an op passes no gradient at all (relu for x <= 0), its rule returns
`BLOCKED`, a 0 that stays 0 even times an infinite or NaN gradient, as PyTorch's backward does.
For derivatives of derivatives (`grad(..., create_graph=True)`) the very same derivative rule
is called again with Values instead of floats, so write it with plain arithmetic and
`autograd.functions` (`cos(x)`, not `math.cos(x)`), which work on both. What a rule of your own
returns is checked at every node (one real number per argument), and an error in a rule names
the op and the rule.

The arguments up to the last Value are the node's inputs (a number among them becomes a leaf
Value of its own); the numbers after the last Value are the op's constants: `x * 2` is the op
"*" with the one input x and the constant 2. A constant is never differentiated, so the node
keeps only the local derivatives of its inputs. Any argument can be given by the name the
forward rule gives it: `leaky_relu(x, slope=0.2)`.
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
        op.parameters, op.defaults, op.variadic = _signature(forward, name)
        op._arity = None if op.variadic else len(op.parameters)
        return op

    @property
    def derivative(self) -> Callable[..., tuple]:
        """The derivative rule: `derivative(*xs, out)` -> one local derivative d(out)/d(x_i) per argument."""
        return self._derivative

    @derivative.setter
    def derivative(self, rule: Callable[..., tuple]) -> None:
        self._derivative = rule
        # the rule, its every result checked; a built-in op's own rule put back (as a test's
        # monkeypatch does when it ends) is trusted again
        self._local_grads = rule if rule is self.__dict__.get("_trusted") else _checking(self)

    def _checked_by_the_tests(self) -> Op:
        """Run the derivative rule as it is, unchecked: for the engine's own ops, which the test
        suite checks from their declarations (a check at every node would cost ~5% of a step)."""
        self._local_grads = self._trusted = self._derivative
        return self

    @property
    def name(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"Op({str(self)!r})"

    def __reduce__(self) -> tuple:  # an Op is a str to pickle and copy, but made with its rules
        from autograd.ops import OPS  # (autograd.ops imports this module)

        if OPS.get(str(self)) is self:  # a built-in op travels by name: its rules are lambdas, which pickle refuses
            return (_builtin_op, (str(self),))
        state = {"torch": self.torch}
        if self._local_grads is self._derivative:  # unchecked, as the built-in ops: the copy too
            state["_local_grads"] = self._derivative
        return (Op, (str(self), self.forward, self.derivative), state)

    def derivative_on_values(self, node: Value) -> tuple:
        """The local derivatives of node's inputs as Values: the derivative rule run on the input
        Values, its constants and the node itself (what `grad(..., create_graph=True)` needs)."""
        c = node.constant
        constants = c if type(c) is tuple else () if c is None else (c,)
        arguments = (*node.inputs, *constants, node)
        try:
            local_grads = self.derivative(*arguments)
        except Exception as error:
            raise _naming(error, self, arguments, "derivative", on_values=True) from error
        return _checked_grads(local_grads, self, len(arguments) - 1, on_values=True)[: len(node.inputs)]

    def __call__(self, *args: Value | Number, **by_name: Value | Number) -> Value:
        """Apply the op: a Value whose inputs are the Value arguments and whose constants are
        the numbers after the last of them; numbers alone give a leaf Value. An argument may be
        given by the name the forward rule gives it: `leaky_relu(x, slope=0.2)`."""
        if by_name:
            args = self.by_position(args, by_name)
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
        except Exception as error:  # e.g. "math domain error": say which op, at which numbers
            named = _naming(error, self, numbers, "forward")
            raise named from (error if named is not error else None)
        if type(out) is not float:
            out = _result(out, self, numbers)
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
        local_grads = self._local_grads(*numbers, out)  # 2. the local derivatives
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

    def by_position(self, args: tuple, by_name: dict[str, object]) -> tuple:
        """The arguments in the forward rule's order, those given by name put in their places
        and the defaults of those left out after them; a name the rule does not have, or an
        argument given twice, is an error naming the op."""
        for name in by_name:
            if name not in self.parameters or self.variadic:
                takes = f"its arguments are {', '.join(self.parameters)}" if not self.variadic else "it takes none"
                raise TypeError(f"{self}() got an unexpected keyword argument {name!r} ({takes})")
            if self.parameters.index(name) < len(args):
                raise TypeError(f"{self}() got {name!r} twice, by position and by name")
        first_default = len(self.parameters) - len(self.defaults)
        placed, missing = list(args), []
        for i in range(len(args), max(map(self.parameters.index, by_name)) + 1):
            name = self.parameters[i]
            if name in by_name:
                placed.append(by_name[name])
            elif i >= first_default:
                placed.append(self.defaults[i - first_default])
            else:
                missing.append(name)
        if missing:
            raise TypeError(f"{self}() is missing {', '.join(map(repr, missing))} (its arguments are "
                            f"{', '.join(self.parameters)})")
        return tuple(placed)

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


class _Blocked(float):
    """The local derivative 0 of an input whose gradient the op stops: 0 times anything is 0."""

    __slots__ = ()

    def __mul__(self, other: object) -> float:  # even inf and NaN: PyTorch selects here, it does not multiply
        return 0.0

    __rmul__ = __mul__

    def __reduce__(self) -> tuple:
        return (_blocked, ())


def _blocked() -> _Blocked:
    return BLOCKED


# A derivative rule returns BLOCKED, not 0.0, where the op passes no gradient at all, whatever
# comes back: relu for x <= 0, d/da a**b for b = 0. The chain rule multiplies, and 0 * inf or
# 0 * NaN would be NaN; PyTorch's backward of those ops selects (0 there), so BLOCKED * g is 0.
# Everywhere else a 0 is a 0 (tanh'(inf) * inf is NaN in PyTorch too). It costs nothing where
# the gradient flows: the chain rule's loop is the same, and only a blocked input calls __mul__.
BLOCKED = _Blocked(0.0)


def _signature(forward: Callable[..., float], name: str) -> tuple[tuple[str, ...], tuple[float, ...], bool]:
    """The forward rule's parameter names, the defaults of its last ones, and whether it takes *args."""
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: a function of one number
        return ("x",), (), False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    defaults = tuple(to_float(p.default, f"Op {name!r}: the default of {p.name}")
                     for p in positional if p.default is not p.empty)
    return tuple(p.name for p in positional), defaults, any(p.kind is p.VAR_POSITIONAL for p in params)


def _result(out: object, op: Op, xs: Sequence[float]) -> float:
    if isinstance(out, Real) and not isinstance(out, bool):
        try:
            return float(out)
        except OverflowError:
            raise OverflowError(f"{op}({_numbers(xs)}): forward returned a number too large for a float: "
                                f"{_short(out)}") from None
    raise TypeError(f"{op}: forward must return a real number, got {type(out).__name__}: {_short(out)}")


def _checking(op: Op) -> Callable[..., tuple]:
    """op's derivative rule, with an error naming the op when it fails or returns anything but
    one real number per argument (a numpy float is one: it becomes a float)."""
    rule = op.derivative

    def checked(*numbers: float) -> tuple:
        try:
            local_grads = rule(*numbers)
        except Exception as error:
            raise _naming(error, op, numbers, "derivative") from error
        return _checked_grads(local_grads, op, len(numbers) - 1, on_values=False)

    return checked


def _checked_grads(local_grads: object, op: Op, n: int, on_values: bool) -> tuple:
    """local_grads as a tuple of n floats (or Values, on Values); anything else is an error saying what."""
    if not isinstance(local_grads, (list, tuple)) or len(local_grads) != n:
        got = (f"{len(local_grads)} values" if isinstance(local_grads, (list, tuple))
               else f"{type(local_grads).__name__}: {_short(local_grads)}")
        raise TypeError(f"{op}: derivative must return a tuple of {n} local derivative{'s' if n != 1 else ''} "
                        f"(one per argument), got {got}")
    checked = []
    for i, g in enumerate(local_grads):
        if type(g) is not float and not isinstance(g, _Blocked) and not (on_values and isinstance(g, Value)):
            if not isinstance(g, Real) or isinstance(g, bool):
                name = op.parameters[i] if i < len(op.parameters) else f"argument {i + 1}"
                kind = "a real number or a Value" if on_values else "a real number"
                raise TypeError(f"{op}: derivative must return {kind} for each argument, got for d(out)/d({name}) "
                                f"{type(g).__name__}: {_short(g)}")
            g = to_float(g, f"{op}: the derivative's d(out)/d(argument {i + 1})")  # a numpy float, an int
        checked.append(g)
    return tuple(checked)


def _numbers(xs: Sequence[object]) -> str:
    return ", ".join(repr(x.data) if isinstance(x, Value) else repr(x) for x in xs)


def _naming(error: Exception, op: Op, xs: Sequence[object], rule: str, on_values: bool = False) -> Exception:
    """The error a rule raised, as one of its type whose message names the op, the numbers it was
    given and the rule (the error itself when it names the op already, as the built-in ops do)."""
    message = str(error)
    if rule == "forward" and message.startswith((f"{op}:", f"'{op}':")):  # the built-in ops name themselves already
        return error
    if rule == "forward":
        text = f"{op}({_numbers(xs)}): {message} (in its forward rule)"
    elif on_values and isinstance(error, TypeError):
        text = (f"{op}: its derivative rule cannot run on Values, as grad(..., create_graph=True) runs it "
                f"({type(error).__name__}: {message}); write it with plain arithmetic and autograd.functions "
                f"(functions.cos(x), not math.cos(x); no round(), int() or float methods of x)")
    else:
        out = xs[-1].data if isinstance(xs[-1], Value) else xs[-1]
        text = f"{op}({_numbers(xs[:-1])}): {message} (in its derivative rule, out = {out!r})"
    try:
        return type(error)(text)
    except Exception:  # an exception class that wants other arguments
        return RuntimeError(text)


def _short(x: object) -> str:
    if isinstance(x, int) and x.bit_length() > 200:  # repr of a huge int is long, or refused past 4,300 digits
        return f"an int of about {int(x.bit_length() * 0.30103) + 1} digits"
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."
