"""`compile`: trace a function once, replay it as Python over floats, line by line.

    >>> from autograd import compile
    >>> fast = compile(lambda x, w, b: (x * w + b).tanh(), 0.5, -1.0, 0.25)
    >>> fast(0.5, -1.0, 0.25)                     # the forward pass, on floats: no graph built
    -0.24491866240370913
    >>> value, (dx, dw, db) = fast.value_and_grad(0.5, -1.0, 0.25)
    >>> print(fast)                               # the program: forward, then backward  # doctest: +SKIP

Tracing runs `f` once on leaf Values and records its graph (`fast.graph`). The program is that
graph written out: one line per node forward, computing the number, and one line per chain-rule
term backward, `d_input += local_derivative * d_node`, visiting the nodes as `backward()` does
(output first), so every gradient is added up in the same order and comes out bit for bit as
eager's.

Every line is made from the op's own rules. Each rule is called once per op on symbolic
stand-ins that record the arithmetic done on them (`lambda x, out: (1 - out * out,)` gives the
text `1.0 - out * out`; a comparison becomes a conditional expression, each branch explored).
A rule that does something else with its arguments (`math.tanh(x)`, a `try` block) is not
written out: the program calls the rule itself, bound in its namespace under the op's name.
Nothing a user typed becomes code: names come from labels cut down to [A-Za-z0-9_], and labels
and op names appear, escaped, in comments only.

A batch is written once per sample, not once per node. The graph of a training step holds the
same graph once per sample, on the same parameters and on the sample's own numbers (constants,
or inputs left out of `wrt`: a sample's inputs, target, dropout factors; a label kept as an op's
constant, as in `s * -1.0`). Where backward's order visits such copies one after the other,
the program holds the lines of the first copy once, as the body of a loop over the samples,
forward (keeping what the backward pass reads) and backward, visiting the samples in
backward()'s order: each adds its terms to the parameters' gradients when and as eager adds
them, so the sums are the same bits. Anything else (the mean over the samples, a penalty on the
weights) stays straight lines around the loops. The check is structural, node by node; a graph
that is no such repeat is written as straight lines.

When to trace again. A trace records one path through the Python code of `f`: the numbers flow
through the program, the Python decisions do not. Trace again when `f` would build another
graph: a Python `if` (or a loop count) that reads a Value's number, a different number of
inputs (another batch size), a number captured by `f` that has changed (it was baked into the
program as a constant), a model whose structure has changed. The first call of `fast` and of
`fast.value_and_grad` runs `f` eagerly beside the program and raises `TraceMismatchError`
naming the first node that differs, so a frozen branch is caught there; later calls trust the
trace.
"""

from __future__ import annotations

import builtins
import contextlib
import keyword
import math
import operator
import re
import struct
import sys
import types
from collections import ChainMap, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial

from autograd.backprop import grad as _eager_grad
from autograd.backprop import topological_order
from autograd.modes import _get_mode, _Mode, _mode
from autograd.op import BLOCKED, Op
from autograd.value import Value, to_float

__all__ = ["Compiled", "TraceMismatchError", "compile"]

_CHUNK = 100_000  # lines per generated function (fewer: values pass between functions; more: compiling slows)
_WIDEST = 256  # inputs of one node written out as one expression (CPython 3.11-3.13 take 1,000; 5,000 overflow)
_ROLL_AT = 200  # nodes in repeated blocks (a batch's samples) before they are written as a loop
_TRIES = 8  # candidate runs checked node by node, the largest first
_PATHS = 16  # branches explored per rule before it is called instead of written out


class TraceMismatchError(RuntimeError):
    """The compiled program and an eager run of the function disagree: the trace is stale."""


# ---- symbolic stand-ins: arithmetic recorded as Python text -----------------------------------

# Python's precedence, lowest first (a subexpression of lower precedence than its place gets parentheses)
_COND, _CMP, _ADD, _MUL, _UNARY, _POW, _ATOM = range(7)
_BINARY = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL}


class _Untraceable(BaseException):  # noqa: N818 - a BaseException, so a rule's `except Exception` cannot swallow it
    """The rule did something with a stand-in other than arithmetic and comparisons."""


class _Sym:
    """A number known by its Python text: `x`, `1.0 - out * out`, `(0.0 if x <= 0.0 else 1.0)`.

    `kind` is "float" for numbers, "bool" for comparisons; anything else is refused.
    """

    __slots__ = ("text", "prec", "kind", "tracer")

    def __init__(self, text: str, prec: int, kind: str, tracer: _Tracer) -> None:
        self.text, self.prec, self.kind, self.tracer = text, prec, kind, tracer

    def _other(self, other: object) -> _Sym:
        if isinstance(other, _Sym):
            if other.kind != "float":
                raise _Untraceable
            return other
        if type(other) in (float, int, bool):
            value = float(other)  # what Python's float arithmetic does with an int: exact below 2**53
            if type(other) is not float and abs(other) > 2**53:
                raise _Untraceable
            return self.tracer.constant(value)
        raise _Untraceable

    def _binary(self, symbol: str, left: object, right: object) -> _Sym:
        if self.kind != "float":
            raise _Untraceable
        a, b = (self._other(left) if left is not self else self), (self._other(right) if right is not self else self)
        prec = _BINARY[symbol]
        return _Sym(f"{_wrap(a, prec)} {symbol} {_wrap(b, prec + 1)}", prec, "float", self.tracer)

    def __add__(self, o): return self._binary("+", self, o)  # noqa: E704
    def __radd__(self, o):  # noqa: E301
        if type(o) is int and o == 0 and sys.version_info >= (3, 12):
            raise _Untraceable  # builtins.sum: since 3.12 it adds floats with compensation, not one by one
        return self._binary("+", o, self)
    def __sub__(self, o): return self._binary("-", self, o)  # noqa: E301, E704
    def __rsub__(self, o): return self._binary("-", o, self)  # noqa: E301, E704
    def __mul__(self, o): return self._binary("*", self, o)  # noqa: E301, E704
    def __rmul__(self, o): return self._binary("*", o, self)  # noqa: E301, E704
    def __truediv__(self, o): return self._binary("/", self, o)  # noqa: E301, E704
    def __rtruediv__(self, o): return self._binary("/", o, self)  # noqa: E301, E704

    def __pow__(self, o):
        # float ** float can be complex (a negative base): only whole constant exponents are written out
        if self.kind != "float" or type(o) not in (float, int) or not float(o).is_integer() or abs(o) > 64:
            raise _Untraceable
        return _Sym(f"{_wrap(self, _POW + 1)} ** {_wrap(self._other(o), _POW)}", _POW, "float", self.tracer)

    def __neg__(self):
        if self.kind != "float":
            raise _Untraceable
        return _Sym(f"-{_wrap(self, _UNARY)}", _UNARY, "float", self.tracer)

    def __pos__(self):
        if self.kind != "float":
            raise _Untraceable
        return self  # +x is x for a float

    def __abs__(self):
        if self.kind != "float":
            raise _Untraceable
        return _Sym(f"abs({self.text})", _ATOM, "float", self.tracer)

    def _compare(self, symbol: str, other: object) -> _Sym:
        if self.kind != "float":
            raise _Untraceable
        b = self._other(other)
        return _Sym(f"{_wrap(self, _CMP + 1)} {symbol} {_wrap(b, _CMP + 1)}", _CMP, "bool", self.tracer)

    def __lt__(self, o): return self._compare("<", o)  # noqa: E704
    def __le__(self, o): return self._compare("<=", o)  # noqa: E301, E704
    def __gt__(self, o): return self._compare(">", o)  # noqa: E301, E704
    def __ge__(self, o): return self._compare(">=", o)  # noqa: E301, E704
    def __eq__(self, o): return self._compare("==", o)  # noqa: E301, E704
    def __ne__(self, o): return self._compare("!=", o)  # noqa: E301, E704
    __hash__ = None

    def __bool__(self) -> bool:  # an `if`: the tracer decides, and explores the other way on a later run
        return self.tracer.decide(self.text if self.kind == "bool" else f"{_wrap(self, _CMP)}")

    def __float__(self):
        raise _Untraceable

    def __index__(self):
        raise _Untraceable

    def __repr__(self) -> str:
        return self.text


_SLOTS = re.compile(r"\{(\d+)\}")


def _slot(i: int) -> str:
    """The place of argument i in a template, filled in by str.format (generated text holds no other braces)."""
    return "{" + str(i) + "}"


def _wrap(s: _Sym, prec: int) -> str:
    return f"({s.text})" if s.prec < prec else s.text


def _sym_float(x: object) -> object:
    """`float` inside a rule being traced: float(x) of a float is x itself, so a stand-in stays one."""
    return x if isinstance(x, _Sym) else builtins.float(x)


class _Tracer:
    """Runs a rule on stand-ins, once per path through its `if`s, and writes the result as text."""

    def __init__(self, literal: Callable[[float], tuple[str, int]]) -> None:
        self.literal = literal
        self.script: list[bool] = []
        self.taken: list[tuple[str, bool]] = []

    def constant(self, value: float) -> _Sym:
        text, prec = self.literal(value)
        return _Sym(text, prec, "float", self)

    def decide(self, condition: str) -> bool:
        i = len(self.taken)
        choice = self.script[i] if i < len(self.script) else True
        self.taken.append((condition, choice))
        return choice

    def trace(self, rule: Callable, args: list) -> list[tuple[list[tuple[str, bool]], object]]:
        """[(path, result)] for every path through the rule's branches; a path that raises has the
        result _RAISES (the program calls the rule itself there, which raises as eager does)."""
        rule = _symbolic(rule)
        paths, self.script = [], []
        while True:
            self.taken = []
            try:
                result = rule(*args)
            except Exception:  # e.g. a division by zero checked, or something a stand-in cannot do
                result = _RAISES
            paths.append((self.taken, result))
            taken = list(self.taken)
            while taken and not taken[-1][1]:
                taken.pop()
            if not taken or len(paths) >= _PATHS:
                if taken or all(result is _RAISES for _, result in paths):
                    raise _Untraceable
                return paths
            self.script = [choice for _, choice in taken[:-1]] + [False]


_RAISES = object()


def _symbolic(rule: Callable) -> Callable:
    """The rule with the name `float` bound to `_sym_float` in its globals, where it uses float()."""
    code = getattr(rule, "__code__", None)
    if code is None or "float" not in code.co_names:
        return rule
    namespace = dict(rule.__globals__)
    namespace["float"] = _sym_float
    twin = types.FunctionType(code, namespace, rule.__name__, rule.__defaults__, rule.__closure__)
    twin.__kwdefaults__ = rule.__kwdefaults__
    return twin


def _as_text(value: object, tracer: _Tracer) -> _Sym:
    """A rule's result (a stand-in or a number) as a float stand-in."""
    if isinstance(value, _Sym):
        if value.kind != "float":
            raise _Untraceable
        return value
    if type(value) in (float, int) and (type(value) is float or abs(value) <= 2**53):
        return tracer.constant(float(value))
    raise _Untraceable


def _tree(paths: list, depth: int, leaf: Callable[[object], _Sym], tracer: _Tracer) -> _Sym:
    """The paths' results as one conditional expression, splitting on the decision at `depth`."""
    if len(paths) == 1 and len(paths[0][0]) == depth:
        return leaf(paths[0][1])
    condition = paths[0][0][depth][0]
    yes = [p for p in paths if p[0][depth][1]]
    no = [p for p in paths if not p[0][depth][1]]
    a, b = _tree(yes, depth + 1, leaf, tracer), _tree(no, depth + 1, leaf, tracer)
    if a.text == b.text:
        return a
    return _Sym(f"{_wrap(a, _CMP)} if {condition} else {_wrap(b, _COND + 1)}", _COND, "float", tracer)


# ---- the program --------------------------------------------------------------------------------


# how a rule called by the program is named there, for the ops of Python's operators
_OPERATOR_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}


class _Names:
    """Unique identifiers made only of [A-Za-z0-9_]."""

    def __init__(self, reserved: Sequence[str]) -> None:
        self.taken = set(reserved) | set(keyword.kwlist) | {"E", "forward", "value_and_grad"}
        self.counter = 0

    def claim(self, wanted: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", wanted)[:32]
        if not base or base[0].isdigit() or base[0] == "_":  # "_" starts the program's own names
            base = "v" + base
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def temporary(self) -> str:
        while True:
            self.counter += 1
            name = f"t{self.counter}"
            if name not in self.taken:
                self.taken.add(name)
                return name


def _escaped(text: str, limit: int = 40) -> str:
    """Text for a comment: printable, one line (repr escapes newlines and every control character)."""
    if re.fullmatch(r"[A-Za-z0-9_+\-*/. ]{1,40}", text):
        return text
    shown = repr(text[:limit])
    return shown if len(text) <= limit else shown + "..."


def _same(a: float, b: float) -> bool:
    """Bit for bit, but any NaN equals any NaN."""
    if a != a:
        return b != b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


class _Program:
    """The generated text of one traced graph, and the namespace it runs in."""

    def __init__(self, outputs: list[Value], inputs: list[Value], input_names: list[str], wrt: list[int]) -> None:
        self.namespace: dict[str, object] = {"__builtins__": {}, "abs": builtins.abs, "float": builtins.float,
                                             "zip": builtins.zip, "range": builtins.range}
        self.names = _Names(list(self.namespace))
        self.constants: dict[bytes, str] = {}
        self.tracer = _Tracer(self._literal)
        self.templates: dict[tuple, tuple] = {}
        self.inputs, self.outputs, self.wrt = inputs, outputs, wrt
        root = outputs[0]
        self.order = topological_order(root)  # backward() walks it backwards: so does the program
        self.forward_nodes = forward = _reading_order(outputs)
        self.after: set[int] = set()
        self.run = run = self._roll()
        place = run.place if run is not None else {}
        # whether the program may be cut into parts: then every line notes the names it reads
        self.parts = sum(1 + 2 * len(node.inputs) for node in forward
                         if place.get(id(node), (0,))[0] == 0) + 2 * len(inputs) + 2 > _CHUNK
        input_ids = {id(v): i for i, v in enumerate(inputs)}
        self.input_ids = input_ids
        self.text: dict[int, str] = {}  # node id -> its name, or its literal for a constant leaf
        self.variable: set[int] = set(input_ids)  # the nodes with a name (not a literal)
        self.params = []
        for v, wanted in zip(inputs, input_names):
            name = self.names.claim(wanted)
            self.text[id(v)] = name
            self.params.append(name)
        self.body_text: dict[int, str] = {}  # in the loop's body: block 0's data leaves by the loop's names
        self.constant_names: dict[int, dict[int, str]] = {}  # ... and its varying constants
        if run is not None:
            for leaf in run.slots:
                self.body_text[id(leaf)] = self.names.claim(leaf.label if leaf.label and id(leaf) not in input_ids
                                                            else "x")
            for k, indices in run.varying.items():
                self.constant_names[id(run.blocks[0][k])] = {i: self.names.claim("k") for i in indices}
        for node in forward:
            if id(node) in self.text:
                continue
            j, k = place.get(id(node), (0, 0))
            if j and k not in run.exports:  # computed in the loop only, never named outside it
                continue
            if not node.inputs:
                text, prec = self._literal(node.data)
                self.text[id(node)] = text if prec == _ATOM else f"({text})"
                continue
            if not isinstance(node.op, Op):
                raise TypeError(f"compile: a node made by hand (op {node.op!r}, no Op) cannot be compiled")
            self.text[id(node)] = self.names.claim(node.label) if node.label else self.names.temporary()
            self.variable.add(id(node))
            if run is not None and id(node) in place and k in run.exports:  # block 0's, read after the loop:
                self.body_text[id(node)] = self.text[id(node)]  # in the loop its name, outside another
                self.text[id(node)] = self.names.temporary()

    def _roll(self) -> _Run | None:
        """The repeated blocks (a batch's samples) to write once, as a loop; None: all straight lines."""
        nodes = [v for v in reversed(self.order) if v.inputs]
        if len(nodes) < _ROLL_AT:
            return None
        run = _find_run(nodes, {id(self.inputs[i]) for i in self.wrt})
        if run is None or len(run.blocks) * len(run.blocks[0]) < _ROLL_AT:
            return None
        place, on_path = run.place, set(map(id, nodes))
        if sum(1 + 2 * len(v.inputs) for v in self.forward_nodes if place.get(id(v), (0,))[0] == 0) > _CHUNK // 2:
            return None  # (a loop cannot be cut into parts: such a program stays straight lines)
        for node in self.forward_nodes:  # a node of another output reading a block: the loop exports it
            if node.inputs and id(node) not in on_path:
                run.exports.update(place[id(u)][1] for u in node.inputs if id(u) in place)
        run.exports.update(place[id(v)][1] for v in self.outputs if id(v) in place)
        for node in self.forward_nodes:  # what reads the loop's results is written after the loop
            if node.inputs and id(node) not in place and any(id(u) in place or id(u) in self.after
                                                             for u in node.inputs):
                self.after.add(id(node))
        return run

    def _literal(self, value: float) -> tuple[str, int]:
        if math.isfinite(value):
            text = repr(value)
            return text, _UNARY if text.startswith("-") else _ATOM
        key = struct.pack("<d", value)
        name = self.constants.get(key)
        if name is None:
            name = self.names.claim("inf" if value == math.inf else "minus_inf" if value == -math.inf else "nan")
            self.namespace[name] = value
            self.constants[key] = name
        return name, _ATOM

    def _bind(self, wanted: str, obj: object) -> str:
        name = self.names.claim(wanted if re.sub(r"\W", "", wanted) else "op")
        self.namespace[name] = obj
        return name

    # ---- one op's lines, from its rules --------------------------------------------------------

    def _rules(self, node: Value, varying: tuple[int, ...] = ()) -> tuple:
        """(forward template, derivative templates or a fallback), cached per op, arity and constants.

        Inputs are in places 0..n-1 of a template, the node's own number in place n, its gradient
        in n + 1; a constant in `varying` (one that differs from sample to sample in a loop) in
        place n + 2 + its index, the others written in as numbers.
        """
        op, n = node.op, len(node.inputs)
        # the op by identity (an Op is a str: two ops of one name are equal); a constant by its bits
        # where == does not tell floats apart (0.0 == -0.0, NaN != NaN)
        c = node.constant
        plain = c is None or type(c) is float and c == c and c != 0.0
        key = (id(op), n, c, varying) if plain else (id(op), n, _constant_bits(node), varying)
        found = self.templates.get(key)
        if found is not None:
            return found
        constants = _constants(node)
        slots = [_Sym(_slot(i), _ATOM, "float", self.tracer) for i in range(n + 1)]
        args = [*slots[:n], *(_Sym(_slot(n + 2 + i), _ATOM, "float", self.tracer) if i in varying else k
                              for i, k in enumerate(constants))]
        literals = [_slot(n + 2 + i) if i in varying else self._literal(k)[0] for i, k in enumerate(constants)]
        name = _OPERATOR_NAMES.get(str(op), str(op))
        bound: dict[bool, _Sym] = {}  # the forward rule (True) and the derivative rule, once called

        def called(rule: Callable, arguments: list[str], as_float: bool) -> _Sym:
            """The rule itself, called by the program (bound in its namespace the first time)."""
            if as_float not in bound:
                text = f"{self._bind(name if as_float else 'd_' + name, rule)}({', '.join(arguments)})"
                if as_float and not isinstance(rule, types.BuiltinFunctionType):  # eager makes it a float
                    text = f"float({text})"
                bound[as_float] = _Sym(text, _ATOM, "float", self.tracer)
            return bound[as_float]

        forward_call = partial(called, op.forward, [_slot(i) for i in range(n)] + literals, True)
        try:
            if n > _WIDEST:
                raise _Untraceable
            paths = self.tracer.trace(op.forward, args)
            forward = _tree(paths, 0, lambda r: forward_call() if r is _RAISES else _as_text(r, self.tracer),
                            self.tracer).text
        except _Untraceable:
            forward = forward_call().text
        derivative_call = partial(called, op.derivative, [_slot(i) for i in range(n)] + literals + [_slot(n)], False)
        try:
            paths = self.tracer.trace(op.derivative, [*args, slots[n]])
            for _, result in paths:
                if result is not _RAISES and (not isinstance(result, (tuple, list)) or len(result) != len(args)):
                    raise _Untraceable
                # a wide node's local derivatives are written out only when each is a name or a number
                # (a dot's are the other half of its inputs): a deep expression overflows Python's compiler
                if n > _WIDEST and (result is _RAISES or any(_as_text(r, self.tracer).prec != _ATOM for r in result)):
                    raise _Untraceable
            g = _slot(n + 1)

            def term(local: object) -> _Sym:
                """local * g, with g in place n + 1. Bit for bit (NaN and -0.0 too), 1.0 * g is g, and
                BLOCKED * g is 0.0 (a relu's x <= 0): the factor is left out."""
                if local is BLOCKED:
                    return self.tracer.constant(0.0)
                s = _as_text(local, self.tracer)
                return _Sym(g if s.text == "1.0" else f"{_wrap(s, _MUL)} * {g}", _ATOM if s.text == "1.0" else _MUL,
                            "float", self.tracer)

            terms = (_tree(paths, 0, lambda r, i=i: _Sym(f"{derivative_call().text}[{i}] * {g}", _MUL, "float",
                                                         self.tracer) if r is _RAISES else term(r[i]), self.tracer)
                     for i in range(n))
            # each term's text, and the places it reads (besides g)
            derivative = [(t.text, tuple(sorted({int(i) for i in _SLOTS.findall(t.text)} - {n + 1}))) for t in terms]
        except _Untraceable:
            derivative = derivative_call().text
        found = self.templates[key] = (forward, derivative, _escaped(str(op)))
        return found

    def _forward_line(self, node: Value, text: Mapping[int, str]) -> tuple[str, str | None, tuple]:
        constants = self.constant_names.get(id(node), {})
        forward, _, comment = self._rules(node, tuple(constants))
        args = [text[id(v)] for v in node.inputs]
        name = text[id(node)]
        if node.label and node.label != name:
            comment += f"  {_escaped(node.label)}"
        uses = tuple(a for v, a in zip(node.inputs, args) if id(v) in self.variable) if self.parts else ()
        places = [*args, name, "", *(constants.get(i, "") for i in range(len(_constants(node))))]
        return f"{name} = {forward.format(*places)}  # {comment}", name, uses

    def forward_lines(self, saving: bool = False) -> list[tuple[str, str | None, tuple]]:
        """One line per node; a run of samples as a loop (`saving`: keeping what the backward loop reads)."""
        run, text = self.run, self.text
        if run is None:
            return [self._forward_line(node, text) for node in self.forward_nodes if node.inputs]
        place, after = run.place, self.after
        before = [self._forward_line(node, text) for node in self.forward_nodes
                  if node.inputs and id(node) not in place and id(node) not in after]
        later = [self._forward_line(node, text) for node in self.forward_nodes if id(node) in after]
        body_text = ChainMap(self.body_text, text)
        template = run.blocks[0]
        body = [self._forward_line(node, body_text) for node in self.forward_nodes if place.get(id(node), (1,))[0] == 0]
        names = [self.body_text[id(v)] for v in run.slots]
        names += [n for k in run.varying for n in self.constant_names[id(template[k])].values()]
        samples = [_as_tuple([text[id(v)] if id(v) in self.input_ids else self._literal(v.data)[0] for v in data]
                             + [self._literal(c)[0] for c in constants], False)
                   for data, constants in zip(run.data, run.constants)]
        exports = sorted(run.exports)
        lines = [*before, (f"_samples = ({', '.join(samples)},)  # each sample's own numbers", None, ()),
                 ("_outs = []", None, ())]
        if saving:
            lines.append(("_saved = []", None, ()))
        loop = f"for {', '.join(names)} in _samples:" if names else f"for _ in range({len(run.blocks)}):"
        lines.append((f"{loop}  # the program of one sample, run for each of the batch's {len(run.blocks)}", None, ()))
        lines += [(f"    {line}", target, uses) for line, target, uses in body]
        exported = [body_text[id(template[k])] for k in exports]
        if exported:
            add = f"_outs.append({exported[0]})" if len(exported) == 1 else f"_outs += {_as_tuple(exported)}"
            lines.append((f"    {add}", None, ()))
        if saving and self.saved:
            lines.append((f"    _saved.append({_as_tuple(self.saved, False)})", None, ()))
        if exported:
            outs = [text[id(block[k])] for block in run.blocks for k in exports]
            lines.append((f"{', '.join(outs)}, = _outs", None, ()))
        return lines + later

    def _chain_terms(self, node: Value, text: Mapping[int, str], grad_name: dict[int, str], needs: set[int],
                     lines: list[tuple[str, str | None, tuple]]) -> None:
        """node's lines of the chain rule: d_input += local * d_node for each input whose gradient is wanted."""
        constants = self.constant_names.get(id(node), {})
        _, derivative, comment = self._rules(node, tuple(constants))
        g = grad_name[id(node)]
        places = [*node.inputs, node]
        args = [text[id(v)] for v in places]
        variable, parts = self.variable, self.parts
        full = [*args, g, *(constants.get(i, "") for i in range(len(_constants(node))))]
        if isinstance(derivative, str):  # the rule called: its local derivatives in one tuple first
            local = self.names.temporary().replace("t", "l", 1)
            self.names.taken.add(local)
            uses = tuple(a for v, a in zip(places, args) if id(v) in variable)
            lines.append((f"{local} = {derivative.format(*full)}  # {comment}: local derivatives", local, uses))
        args.append(g)
        for k, v in enumerate(node.inputs):
            if id(v) not in needs:
                continue
            if isinstance(derivative, str):
                term, uses = f"{local}[{k}] * {g}", (local, g)
            else:
                template, read = derivative[k]
                term = template.format(*full)
                uses = (*(args[i] for i in read if i < len(places) and id(places[i]) in variable), g) if parts else ()
            target = grad_name.get(id(v))
            if target is None:
                grad_name[id(v)] = target = self.names.claim("d" + text[id(v)])
                lines.append((f"{target} = {term}  # {comment}", target, uses))
            else:
                lines.append((f"{target} += {term}  # {comment}", target, (*uses, target) if parts else ()))

    def backward_lines(self) -> tuple[list[tuple[str, str | None, tuple]], list[str]]:
        """The chain rule, node by node from the output: d_input += local * d_node, eager's order."""
        wanted = {id(self.inputs[i]) for i in self.wrt}
        needs: set[int] = set()
        for node in self.order:  # a node needs its gradient when some wrt input lies below it
            if id(node) in wanted or any(id(v) in needs for v in node.inputs):
                needs.add(id(node))
        grad_name: dict[int, str] = {}
        lines: list[tuple[str, str | None, tuple]] = []
        for i in self.wrt:
            v = self.inputs[i]
            if id(v) not in grad_name:
                grad_name[id(v)] = g = self.names.claim("d" + self.text[id(v)])
                lines.append((f"{g} = 0.0  # d output / d {self.text[id(v)]}, added up below", g, ()))
        root = self.order[-1]
        if id(root) in needs:
            if id(root) in grad_name:
                lines.append((f"{grad_name[id(root)]} += 1.0  # the output itself", grad_name[id(root)],
                               (grad_name[id(root)],)))
            else:
                grad_name[id(root)] = g = self.names.claim("d" + self.text[id(root)])
                lines.append((f"{g} = 1.0  # d output / d output", g, ()))
        run = self.run
        place = run.place if run is not None else {}
        self.saved = []
        for node in reversed(self.order):
            if not node.inputs or id(node) not in needs:
                continue
            if id(node) in place:  # a run of samples: its first node writes the loop, the others are in it
                if node is run.blocks[0][0]:
                    lines += self._backward_loop(grad_name, needs, wanted)
                continue
            self._chain_terms(node, self.text, grad_name, needs, lines)
        return lines, [grad_name[id(self.inputs[i])] for i in self.wrt]

    def _backward_loop(self, grad_name: dict[int, str], needs: set[int],
                       wanted: set[int]) -> list[tuple[str, str | None, tuple]]:
        """The chain rule of block 0 as the body of a loop over the samples, in backward's order.

        Sample by sample, as backward() visits them: each adds its terms to the parameters'
        gradients in the order eager adds them, so the sums come out bit for bit the same.
        """
        run, text = self.run, self.text
        template = run.blocks[0]
        starts = [k for k in run.grads_in if id(template[k]) in needs]
        body_grads = {i: g for i, g in grad_name.items() if i in wanted}
        body_grads.update((id(template[k]), grad_name[id(template[k])]) for k in starts)
        body: list[tuple[str, str | None, tuple]] = []
        for node in template:
            if id(node) in needs:
                self._chain_terms(node, ChainMap(self.body_text, text), body_grads, needs, body)
        if not body:
            return []
        read = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", "\n".join(line for line, _, _ in body)))
        forward_names = [self.body_text[id(v)] for v in run.slots]
        forward_names += [n for k in run.varying for n in self.constant_names[id(template[k])].values()]
        forward_names += [self.body_text.get(id(v)) or text[id(v)] for v in template]
        self.saved = [n for n in dict.fromkeys(forward_names) if n in read]
        grads = [_as_tuple([grad_name[id(block[k])] for k in starts], False) for block in run.blocks]
        incoming = _as_tuple([grad_name[id(template[k])] for k in starts], False)
        if self.saved:
            loop = f"for {_as_tuple(self.saved, False)}, {incoming} in zip(_saved, _grads):"
        else:
            loop = f"for {incoming} in _grads:"
        return [(f"_grads = ({', '.join(grads)},)  # each sample's gradient from the batch's loss", None, ()),
                (f"{loop}  # the samples in backward()'s order", None, ()),
                *((f"    {line}", target, uses) for line, target, uses in body)]


def _as_tuple(names: list[str], bare: bool = True) -> str:
    """`(a, b)` (or `a` for one name when not `bare`, a target or element that need not be a tuple)."""
    if len(names) == 1:
        return f"({names[0]},)" if bare else names[0]
    return f"({', '.join(names)})"


def _reading_order(outputs: list[Value]) -> list[Value]:
    """Every node behind the outputs, each after its inputs, and inputs in the order they are
    written (x1 * w1 before x2 * w2): the order of the forward lines. (backward()'s order, which
    the backward lines follow, visits the last input first.)"""
    order: list[Value] = []
    seen: set[int] = set()
    for out in outputs:
        stack = [(out, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((v, False) for v in reversed(node.inputs) if id(v) not in seen)
    return order


class _Run:
    """Blocks of the backward order that are one graph on other numbers: the samples of a batch.

    Block j is `blocks[j]`, consecutive nodes of backward's order; block 0 is written out once,
    as the body of a loop over the blocks. `slots` are block 0's leaves that hold other numbers
    in other blocks (a sample's inputs, targets, dropout factors), `data[j]` block j's leaves in
    their places; `varying` maps a place of block 0 to the indices of its op's constants that
    differ between blocks (a label kept as a constant, as `s * -1.0`), `constants[j]` holds block
    j's. `exports` are the places read after the loop, `grads_in` the places whose gradient is
    started before it (by the mean over the samples).
    """

    def __init__(self, blocks: list[list[Value]], slots: list[Value], data: list[list[Value]],
                 varying: dict[int, tuple[int, ...]], exports: set[int], grads_in: list[int]) -> None:
        self.blocks, self.slots, self.data, self.varying = blocks, slots, data, varying
        self.exports, self.grads_in = exports, grads_in
        self.constants = [[_constants(block[k])[i] for k, indices in varying.items() for i in indices]
                          for block in blocks]
        self.place = {id(v): (j, k) for j, block in enumerate(blocks) for k, v in enumerate(block)}


def _find_run(nodes: list[Value], wanted: set[int]) -> _Run | None:
    """The largest run of repeated blocks in `nodes` (op nodes in backward's order), or None.

    The samples of a batch are one graph on other data: the same ops and constants on the same
    parameters (the leaves differentiated, `wanted`) and on other data leaves. Each node gets a
    fingerprint of that shape (data leaves all alike); a fingerprint met more than once whose
    node feeds a node met once (the mean over the samples) marks the top of a block, and its
    places at equal distances give the blocks, which `_blocks` then checks node by node.
    """
    shape: dict[int, int] = defaultdict(int)  # a data leaf: 0
    shape.update((i, i) for i in wanted)  # a parameter: itself
    for v in reversed(nodes):  # inputs before the nodes they feed
        c = v.constant
        shape[id(v)] = hash((id(v.op), 0 if c is None else len(c) if type(c) is tuple else 1,
                             *map(shape.__getitem__, map(id, v.inputs))))
    places: dict[int, list[int]] = {}
    for i, v in enumerate(nodes):
        places.setdefault(shape[id(v)], []).append(i)
    tops: dict[int, list[int]] = {}
    for v in nodes:
        if len(places[shape[id(v)]]) == 1:
            for u in v.inputs:
                if u.inputs and len(places[shape[id(u)]]) > 1:
                    tops[shape[id(u)]] = places[shape[id(u)]]
    position = {id(v): i for i, v in enumerate(nodes)}
    best: _Run | None = None
    for at in sorted(tops.values(), key=len, reverse=True)[:_TRIES]:  # (each check walks its run once)
        length = at[1] - at[0]
        if at[-1] + length > len(nodes) or any(b - a != length for a, b in zip(at, at[1:])):
            continue
        if best is None or len(at) * length > len(best.blocks) * len(best.blocks[0]):
            best = _blocks(nodes, position, at[0], length, len(at), wanted) or best
    return best


def _blocks(nodes: list[Value], position: dict[int, int], start: int, length: int, count: int,
            wanted: set[int]) -> _Run | None:
    """The run of `count` blocks of `length` nodes from `start`, if each is block 0 on other data.

    Node k of every block has block 0's op, its constants' count, and inputs in the same places:
    an op node at the same place in its own block, the same differentiated leaf, a data leaf in
    the same slot. So each block computes what block 0 computes on its own data, adds its
    terms to the parameters' gradients in block 0's order, and reads nothing of another block.
    (Compared a block at a time, as lists: a batch's step has some 100,000 edges.)
    """
    blocks = [nodes[start + j * length : start + (j + 1) * length] for j in range(count)]

    def places(block: list[Value], base: int) -> list[tuple]:
        """Per node: its op, and where each input is: so far after it (an op node) or -1 (a leaf)."""
        return [(id(v.op), *[position[id(u)] - i if u.inputs else -1 for u in v.inputs])
                for i, v in enumerate(block, base)]

    template = blocks[0]
    shape = places(template, start)
    if any(not 0 <= k + d < length for k, (_, *ds) in enumerate(shape) for d in ds if d != -1):
        return None  # block 0 reads an op node outside itself
    t_leaves = [u for v in template for u in v.inputs if not u.inputs]
    t_ids = list(map(id, t_leaves))
    is_wanted = [i in wanted for i in t_ids]
    t_wanted = [i for i, w in zip(t_ids, is_wanted) if w]
    leaf_maps: list[dict[int, Value]] = []
    varying: dict[int, set[int]] = {}
    for j, block in enumerate(blocks):
        if places(block, start + j * length) != shape:
            return None
        leaves = [u for v in block for u in v.inputs if not u.inputs]
        ids = list(map(id, leaves))
        if [i in wanted for i in ids] != is_wanted or [i for i, w in zip(ids, is_wanted) if w] != t_wanted:
            return None  # a parameter where block 0 has data, or another parameter
        leaf_map = dict(zip(t_ids, leaves))
        if list(map(leaf_map.__getitem__, t_ids)) != leaves:
            return None  # one data leaf of block 0 is two in this block
        leaf_maps.append(leaf_map)
        for k, (t, v) in enumerate(zip(template, block)):
            if v.constant is not t.constant and _constant_bits(v) != _constant_bits(t):
                a, b = _constants(t), _constants(v)
                if len(a) != len(b):
                    return None
                varying.setdefault(k, set()).update(
                    i for i, (x, y) in enumerate(zip(a, b)) if struct.pack("<d", x) != struct.pack("<d", y))
    slots = [u for u in dict.fromkeys(u for u, w in zip(t_leaves, is_wanted) if not w)
             if any(m[id(u)] is not u for m in leaf_maps)]
    end = start + count * length
    first = [set() for _ in blocks]  # per block, the places read by nodes before the run
    for u in nodes[:start]:
        for b in u.inputs:
            p = position.get(id(b))
            if p is not None and start <= p < end:
                first[(p - start) // length].add((p - start) % length)
    if any(f != first[0] for f in first):
        return None
    return _Run(blocks, slots, [[m[id(a)] for a in slots] for m in leaf_maps],
                {k: tuple(sorted(i)) for k, i in sorted(varying.items())}, set(first[0]), sorted(first[0]))


def _assemble(name: str, params: list[str], lines: list[tuple[str, str | None, tuple]], returns: str,
              returned: list[str]) -> list[str]:
    """The function `name(*params)` running the lines and returning `returns`, as pieces of source:
    one function when short, else parts of _CHUNK lines each, which pass values through the list E."""
    if len(lines) <= _CHUNK:
        body = "\n".join(f"    {text}" for text, _, _ in lines)
        return [f"def {name}({', '.join(params)}):\n{body}\n    return {returns}\n"]
    n_chunks = (len(lines) + _CHUNK - 1) // _CHUNK
    first_def: dict[str, int] = {p: -1 for p in params}
    last_use: dict[str, int] = {}
    for i, (_, target, uses) in enumerate(lines):
        c = i // _CHUNK
        for u in uses:
            last_use[u] = c
        if target is not None and target not in first_def:
            first_def[target] = c
    for r in returned:
        last_use[r] = n_chunks
    slots: dict[str, int] = {}
    for p in params:
        slots[p] = len(slots)
    pieces = []
    for c in range(n_chunks):
        chunk = lines[c * _CHUNK : (c + 1) * _CHUNK]
        used, defined = [], []
        seen_u, seen_d = set(), set()
        for _, target, uses in chunk:
            for u in uses:
                if u not in seen_u and first_def.get(u, c) < c:
                    seen_u.add(u)
                    used.append(u)
            if target is not None and target not in seen_d and last_use.get(target, c) > c:
                seen_d.add(target)
                defined.append(target)
        for d in defined:
            slots.setdefault(d, len(slots))
        head = f"    {', '.join(used)}, = {', '.join(f'E[{slots[u]}]' for u in used)},\n" if used else ""
        tail = f"    {', '.join(f'E[{slots[d]}]' for d in defined)}, = {', '.join(defined)},\n" if defined else ""
        body = "\n".join(f"    {text}" for text, _, _ in chunk)
        pieces.append(f"def _{name}_{c + 1}(E):\n{head}{body}\n{tail}")
    calls = "\n".join(f"    _{name}_{c + 1}(E)" for c in range(n_chunks))
    ret = re.sub(r"\b(" + "|".join(map(re.escape, sorted(set(returned), key=len, reverse=True))) + r")\b",
                 lambda m: f"E[{slots[m.group(1)]}]", returns) if returned else returns
    start = f"[{', '.join(params)}{',' if params else ''}] + [None] * {len(slots) - len(params)}"
    pieces.append(f"def {name}({', '.join(params)}):\n    E = {start}\n{calls}\n    return {ret}\n")
    return pieces


class Compiled:
    """A traced function, replayed as generated Python: `fast(*numbers)`, `fast.value_and_grad(*numbers)`.

    `source` is the program's text, `graph` the traced output Value; `partial(*first)` fixes the
    first inputs (a model's weights, for a batch of samples); see the module's docstring for when
    to trace again.
    """

    def __init__(self, f: Callable, inputs: list[Value], input_names: list[str], outputs: list[Value],
                 many: bool, wrt: list[int]) -> None:
        self.function, self.inputs, self.graph, self.wrt = f, inputs, outputs[0], wrt
        self._outputs, self._many = outputs, many
        self._program = _Program(outputs, inputs, input_names, wrt)
        self._namespace = self._program.namespace
        self._order: list[Value] | None = self._program.forward_nodes  # the trace's, for the checks of first calls
        self._lines: list | None = None  # the forward lines, kept while one of the two programs is not written
        self._forward_text: list[str] | None = None
        self._text: list[str] | None = None
        self._forward = self._value_and_grad = None
        self._checked = self._grads_checked = False

    def _pieces(self, backward: bool) -> list[str]:
        """The source of `forward` (backward False) or `value_and_grad`, written on first use."""
        if (self._text if backward else self._forward_text) is None:
            program = self._program
            values = [program.text[id(v)] for v in self._outputs]
            value = f"({', '.join(values)},)" if self._many else values[0]
            if backward:
                lines, grads = program.backward_lines()
            if program.run is not None:  # (a loop keeps for the backward pass what it reads)
                forward = program.forward_lines(saving=backward)
            else:
                if self._lines is None:
                    self._lines = program.forward_lines()
                forward = self._lines
            named = {t for _, t, _ in forward} | set(program.params)
            returned = [v for v in dict.fromkeys(values) if v in named]
            if backward:
                gradients = f"({', '.join(grads)}{',' if len(grads) == 1 else ''})"
                self._text = _assemble("value_and_grad", program.params, forward + lines, f"{value}, {gradients}",
                                       returned + grads)
            else:
                self._forward_text = _assemble("forward", program.params, forward, value, returned)
            if self._text is not None and self._forward_text is not None:  # both written: free the notes
                self._lines = self._program = None
        return self._text if backward else self._forward_text

    @property
    def source(self) -> str:
        """The generated program: forward lines, then backward lines (`fast(...)` runs the forward ones)."""
        return "".join(self._pieces(backward=True))

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<Compiled {getattr(self.function, '__name__', 'function')}: {len(self.inputs)} inputs>"

    def _build(self, pieces: list[str], name: str) -> Callable:
        for i, piece in enumerate(pieces):
            code = builtins.compile(piece, f"<autograd.compile {name} {i + 1}>", "exec")
            exec(code, self._namespace)  # noqa: S102 - text made from the op table and safe names only
        return self._namespace[name]

    def _numbers(self, numbers: tuple) -> Sequence[float]:
        if len(numbers) != len(self.inputs):
            raise TypeError(f"compiled function takes {len(self.inputs)} numbers, got {len(numbers)}")
        return _as_floats(numbers)

    def __call__(self, *numbers: float) -> float | tuple[float, ...]:
        xs = self._numbers(numbers)
        if self._forward is None:
            self._forward = self._build(self._pieces(backward=False), "forward")
        try:
            result = self._forward(*xs)
        except (ValueError, ArithmeticError):
            self._eager(xs)  # raises the op's own error, naming the op and its numbers
            raise
        if not self._checked:
            self._check(xs, result, None)
            self._checked = True
        return result

    def partial(self, *first: float) -> Callable[..., float | tuple[float, ...]]:
        """`fast` with its first inputs fixed: `fast.partial(*w)(*x)` is `fast(*w, *x)`.

        The fixed numbers are checked once, not at every call (a network's weights, fixed for a
        batch of samples: a digits MLP's 2,410 cost as much to check as its forward to run)."""
        if len(first) > len(self.inputs):
            raise TypeError(f"compiled function takes {len(self.inputs)} numbers, got {len(first)} to fix")
        fixed = tuple(_as_floats(first))
        wanted = len(self.inputs) - len(fixed)

        def call(*rest: float) -> float | tuple[float, ...]:
            forward = self._forward
            if forward is None or not self._checked or len(rest) != wanted or not set(map(type, rest)) <= {float}:
                return self(*fixed, *rest)  # the first call (checked), or numbers to convert or refuse
            try:
                return forward(*fixed, *rest)
            except (ValueError, ArithmeticError):
                return self(*fixed, *rest)  # raises the op's own error, naming the op and its numbers

        return call

    def value_and_grad(self, *numbers: float) -> tuple[float | tuple[float, ...], list[float]]:
        """(value, [d value / d input for each input differentiated]) on plain floats."""
        xs = self._numbers(numbers)
        if self._value_and_grad is None:
            self._value_and_grad = self._build(self._pieces(backward=True), "value_and_grad")
        try:
            value, grads = self._value_and_grad(*xs)
        except (ValueError, ArithmeticError):
            self._eager(xs)
            raise
        if not self._grads_checked:
            self._check(xs, value, grads)
            self._checked = self._grads_checked = True
        return value, list(grads)

    # ---- the check of the first replay ----------------------------------------------------------

    @contextlib.contextmanager
    def _holding(self, xs: list[float]) -> Iterator[None]:
        """The input Values hold xs inside the block (f may read the Values it closes over), as before after."""
        saved = [v.data for v in self.inputs]
        try:
            for v, x in zip(self.inputs, xs):
                v.data = x
            yield
        finally:
            for v, x in zip(self.inputs, saved):
                v.data = x

    def _eager(self, xs: list[float]) -> list[Value]:
        """f run eagerly at xs: its output Values (a domain error raises the op's own, named error)."""
        with self._holding(xs):
            return _outputs(_call_recording(self.function, self.inputs))[0]

    def _check(self, xs: list[float], value: object, grads: Sequence[float] | None) -> None:
        with self._holding(xs):  # (the input leaves of both graphs hold xs while they are compared)
            outputs = self._eager(xs)
            _compare_graphs(self._outputs, outputs, self.inputs, self._order)
            got = value if self._many else (value,)
            for i, (a, out) in enumerate(zip(got, outputs)):
                if not _same(a, out.data):
                    raise TraceMismatchError(f"compiled output {i} is {a!r}, eager gives {out.data!r}")
        if grads is not None:
            eager = _eager_grad(outputs[0], [self.inputs[i] for i in self.wrt])
            for i, a, b in zip(self.wrt, grads, eager):
                if not _same(a, b.data):
                    raise TraceMismatchError(f"compiled gradient of input {i} is {a!r}, eager gives {b.data!r}")
        if grads is not None or self._grads_checked:  # value_and_grad checked (and so forward): no check to come
            self._order = None


def _as_floats(numbers: Sequence) -> Sequence[float]:
    """The compiled function's numbers as floats (input i named in an error)."""
    if set(map(type, numbers)) <= {float}:  # the common case, all floats: checked at C speed
        return numbers
    return [x if type(x) is float else to_float(x, f"compiled input {i}") for i, x in enumerate(numbers)]


def _call_recording(f: Callable, leaves: list[Value]) -> object:
    """f(*leaves) with the graph recorded, even inside a `no_grad` block."""
    state = _get_mode()
    token = _mode.set(_Mode(state.recording or True, state.scope, state))
    try:
        return f(*leaves)
    finally:
        _mode.reset(token)


def _outputs(result: object) -> tuple[list[Value], bool]:
    if isinstance(result, Value):
        return [result], False
    if isinstance(result, (tuple, list)) and result and all(isinstance(v, Value) for v in result):
        return list(result), True
    raise TypeError(f"compile: the function must return a Value or a tuple of Values, got {type(result).__name__}")


def _replay(outputs: list[Value]) -> dict[int, float]:
    """Every node's number recomputed from the trace with the inputs' current numbers (op.forward per node)."""
    numbers: dict[int, float] = {}
    for out in outputs:
        for node in topological_order(out):
            if id(node) in numbers:
                continue
            if not node.inputs:
                numbers[id(node)] = node.data
                continue
            constants = _constants(node)
            try:
                numbers[id(node)] = float(node.op.forward(*[numbers[id(v)] for v in node.inputs], *constants))
            except (ValueError, ArithmeticError):
                numbers[id(node)] = math.nan
    return numbers


def _constants(node: Value) -> tuple:
    c = node.constant
    return c if type(c) is tuple else () if c is None else (c,)


def _constant_bits(node: Value) -> bytes:
    constants = _constants(node)
    return struct.pack(f"<{len(constants)}d", *constants)


def _describe(node: Value) -> str:
    label = f" {node.label!r}" if node.label else ""
    return f"{_escaped(str(node.op)) if node.op else 'leaf'}{label}"


def _compare_graphs(traced: list[Value], eager: list[Value], inputs: list[Value],
                    traced_order: list[Value] | None = None) -> None:
    """Raise TraceMismatchError at the first node where the eager graph is not the traced one.

    Node by node: the same op, constants and inputs, and a leaf that is not an input the same
    number. Two graphs alike in all that compute the same numbers (every rule is a function of
    its arguments), so the numbers are recomputed from the trace only to say where they differ.
    """
    input_ids = {id(v) for v in inputs}
    # All outputs at once first (a step's outputs share most of their graph: walking each output's
    # graph alone would cost outputs x nodes); only on a difference, output by output, as the rule is.
    if traced_order is None:
        traced_order = _reading_order(traced)
    if _first_difference(traced_order, _reading_order(eager), input_ids) is None:
        return
    for k, (t_out, e_out) in enumerate(zip(traced, eager)):
        t_order, e_order = topological_order(t_out), topological_order(e_out)
        i = _first_difference(t_order, e_order, input_ids)
        if i is not None and i < min(len(t_order), len(e_order)):
            a, b = t_order[i], e_order[i]
            traced_number = _replay(traced)[id(a)]
            raise TraceMismatchError(
                f"node {i + 1} of the graph differs: traced {_describe(a)} = {traced_number!r}, "
                f"eager {_describe(b)} = {b.data!r}. The function took another path through its Python "
                f"code for these numbers (an `if` on a Value's number?): trace it again with compile()")
        if len(t_order) != len(e_order):
            raise TraceMismatchError(f"output {k}: the traced graph has {len(t_order)} nodes, the eager run "
                                     f"{len(e_order)}: trace the function again with compile()")
    # (each output's graph alike, only shared otherwise between outputs: the same numbers, no mismatch)


def _first_difference(t_order: list[Value], e_order: list[Value], input_ids: set[int]) -> int | None:
    """The position of the first node where the two orders differ (the shorter's length when one
    is a start of the other), None when they are the same graph."""
    t_index = {id(n): i for i, n in enumerate(t_order)}
    e_index = {id(n): i for i, n in enumerate(e_order)}
    for i, (a, b) in enumerate(zip(t_order, e_order)):
        if a is b:  # an input leaf, in both graphs
            continue
        same = ((a.op is b.op or a.op == b.op == "") and len(a.inputs) == len(b.inputs)
                and (a.constant is b.constant or _constant_bits(a) == _constant_bits(b))
                and [t_index[id(v)] for v in a.inputs] == [e_index[id(v)] for v in b.inputs]
                and id(a) not in input_ids and id(b) not in input_ids
                and (a.inputs or _same(a.data, b.data)))
        if not same:
            return i
    return None if len(t_order) == len(e_order) else min(len(t_order), len(e_order))


def compile(f: Callable, *example_inputs: Value | float, wrt: Sequence[int] | None = None) -> Compiled:  # noqa: A001 - autograd.compile
    """Trace `f(*inputs)` once and return it compiled to Python over floats (a batch's samples as a loop).

    An example input is a number (a new leaf Value holding it is traced) or a leaf Value (traced
    as itself: `f` may close over a model's parameters and still have them as inputs). `f`
    returns a Value, or a tuple of Values whose first one is differentiated. `wrt` lists the
    input positions to differentiate (default: all); the others get no gradient lines.
    Leaves that are not inputs are constants of the program.
    """
    if not callable(f):
        raise TypeError(f"compile: f must be a function, got {type(f).__name__}")
    try:
        import inspect

        parameters = [p.name for p in inspect.signature(f).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        parameters = []
    inputs, names, given = [], [], set()
    for i, x in enumerate(example_inputs):
        if isinstance(x, Value):
            if x.inputs:
                raise TypeError(f"compile: example input {i} is a Value made by an op; give a leaf Value or a number")
            if id(x) in given:
                raise ValueError(f"compile: example input {i} is the same Value as an earlier one")
            given.add(id(x))
            inputs.append(x)
            names.append(x.label or (parameters[i] if i < len(parameters) else f"x{i + 1}"))
        else:
            name = parameters[i] if i < len(parameters) else f"x{i + 1}"
            inputs.append(Value(to_float(x, f"compile: example input {i}"), label=name))
            names.append(name)
    if wrt is None:
        wrt = list(range(len(inputs)))
    else:
        wrt = [operator.index(i) for i in wrt]
        for i in wrt:
            if not 0 <= i < len(inputs):
                raise ValueError(f"compile: wrt position {i} is not an input (there are {len(inputs)})")
    outputs, many = _outputs(_call_recording(f, inputs))
    return Compiled(f, inputs, names, outputs, many, wrt)
