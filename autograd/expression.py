"""Safe expressions: "tanh(x*w + b)" to a graph of Values, without eval.

The text is parsed with Python's `ast` and only a whitelist is accepted: numbers, names,
+ - * / ** (and unary + -), parentheses, and calls of the engine's functions of one value, which
are read from the op table (`autograd.ops.FUNCTIONS`): the first argument is an expression, the
others (leaky_relu's slope) constant numbers. Anything else (attributes, subscripts,
comparisons, strings, keywords, lambdas, ...) is refused with an ExpressionError that says
what and where. Nothing in the text is ever executed: the tree is walked by our own loop.

Names are read as Python reads them: Unicode names are normalised (NFKC), so "ﬁ" and "fi" are
one name, and the values given to `evaluate` are looked up the same way.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from autograd import ops
from autograd.op import Op
from autograd.value import Value

MAX_LENGTH = 10_000  # characters; a command-line expression, not a program

FUNCTIONS: Mapping[str, Op] = ops.FUNCTIONS  # exp, log, tanh, leaky_relu, softplus, ...: one place says which

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_HINTS = {
    ast.BitXor: "'^' is not a power here; write x**2",
    ast.FloorDiv: "'//' is not supported; use '/'",
    ast.Mod: "'%' is not supported",
    ast.MatMult: "'@' is not supported",
}


_LONE_EQUALS = re.compile(r"(?<![=<>!:])=(?!=)")
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "is", "in")


class ExpressionError(ValueError):
    """The text is not an expression this module accepts (or a value for it is missing)."""


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression; `names` are its variables in order of first appearance."""

    text: str
    tree: ast.expr
    names: tuple[str, ...]

    def evaluate(self, values: Mapping[str, Value | float]) -> Value:
        """The expression's Value with each name bound to values[name] (numbers become leaves).

        The keys are normalised as names are (`normal_name`), so {"ﬁ": 3} binds the name fi; two
        keys that are one name after that, or names without a value, raise ExpressionError.
        Domain errors of the engine (log of a negative number, division by zero, ...) propagate
        as the engine raises them.
        """
        values = _normalised_keys(values)
        missing = [n for n in self.names if n not in values]
        if missing:
            raise ExpressionError(f"no value given for {', '.join(map(repr, missing))}")
        bound = {n: v if isinstance(v, Value) else Value(v, label=n) for n, v in values.items() if n in self.names}
        result = _evaluate(self.tree, bound)
        return result if isinstance(result, Value) else Value(result)  # a constant expression such as "-3"


def normal_name(name: str) -> str:
    """The name as Python's parser reads it: its NFKC normal form ("ﬁ" -> "fi", "𝐱" -> "x")."""
    return unicodedata.normalize("NFKC", name)


def _normalised_keys(values: Mapping[str, Value | float]) -> dict[str, Value | float]:
    normalised: dict[str, Value | float] = {}
    given: dict[str, str] = {}
    for key, value in values.items():
        name = normal_name(key) if isinstance(key, str) else key
        if name in given:
            raise ExpressionError(f"{given[name]!r} and {key!r} are the same name {name!r} (names are read as Python "
                                  "reads them, Unicode-normalised); give one value for it")
        given[name], normalised[name] = key, value
    return normalised


def parse(text: str) -> Expression:
    """Check `text` against the whitelist and return it as an Expression (nothing is run)."""
    if not isinstance(text, str):
        raise TypeError(f"expression must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text):,} characters long; the limit is {MAX_LENGTH:,}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        message = error.msg
        if _LONE_EQUALS.search(text):  # Python may hint at '==', which would be refused too
            message = "'=' cannot stand in an expression: it computes a number; its names get values separately"
        raise ExpressionError(f"not a valid expression{where}: {message}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is too deeply nested (or too long a chain) for Python's parser") from None
    names: dict[str, None] = {}
    stack = [tree]
    while stack:  # an explicit stack: a long sum like x+x+...+x is a deep tree
        node = stack.pop()
        _check(node, text)
        if isinstance(node, ast.Name):
            names[node.id] = None
        elif isinstance(node, ast.BinOp):
            stack += [node.right, node.left]
        elif isinstance(node, ast.UnaryOp):
            stack.append(node.operand)
        elif isinstance(node, ast.Call):
            stack += reversed(node.args[:1])  # a slope is a checked constant, not a variable
    return Expression(text, tree, tuple(names))


def _check(node: ast.AST, text: str) -> None:
    """Raise ExpressionError unless node is on the whitelist."""
    def where() -> str:  # only on error: finding the text of a node is slow for long expressions
        return _where(node, text)

    if isinstance(node, ast.Constant):
        _constant(node, where)
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id!r} is a function; call it, as in {node.id}(x)")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            hint = _HINTS.get(type(node.op), f"the operator {type(node.op).__name__} is not supported")
            raise ExpressionError(f"{hint}{where()}")
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError(f"only unary + and - are supported{where()}")
    elif isinstance(node, ast.Call):
        _call(node, where)
    elif isinstance(node, ast.Compare):
        raise ExpressionError(f"comparisons ({', '.join(_COMPARISONS)}) are not allowed{where()}: an expression "
                              "computes one number from its names; use + - * / ** and the functions "
                              f"{', '.join(FUNCTIONS)}")
    else:
        raise ExpressionError(f"{_describe(node)} is not allowed{where()}; use numbers, names, + - * / ** and "
                              f"the functions {', '.join(FUNCTIONS)}")


def _constant(node: ast.Constant, where: Callable[[], str]) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"{value!r} is not a number{where()}; only real numbers are allowed")
    try:
        number = float(value)
    except OverflowError:
        raise ExpressionError(f"the number{where()} is too large for a float") from None
    if not math.isfinite(number):
        raise ExpressionError(f"the number{where()} is too large for a float")
    return number


def _call(node: ast.Call, where: Callable[[], str]) -> None:
    if not isinstance(node.func, ast.Name):
        raise ExpressionError(f"only the functions {', '.join(FUNCTIONS)} can be called{where()}")
    name = node.func.id
    if name not in FUNCTIONS:
        raise ExpressionError(f"unknown function {name!r}{where()}; known: {', '.join(FUNCTIONS)}")
    op = FUNCTIONS[name]
    constants = op.parameters[1:]  # after x: leaky_relu's slope
    if node.keywords:
        keyword = node.keywords[0].arg
        given = f"{keyword or '*'}={_source(node.keywords[0].value)}".replace("*=", "**")
        example = ", ".join(["x", *("0.1" for _ in constants)])
        hint = f"; the {' and '.join(constants)} is given by position: {name}({example})" if constants else ""
        raise ExpressionError(f"{name}() takes no keyword arguments, got {given}{where()}{hint}")
    most, least = len(op.parameters), len(op.parameters) - len(op.defaults)
    if not least <= len(node.args) <= most or any(isinstance(a, ast.Starred) for a in node.args):
        if most == 1:
            takes = "exactly one argument"
        else:
            optional = "an optional " if least == 1 else ""
            takes = f"one argument and {optional}constant {' and '.join(constants)}"
        raise ExpressionError(f"{name}() takes {takes}{where()}")
    for name_of, arg in zip(constants, node.args[1:]):
        if _number(arg) is None:
            raise ExpressionError(f"the {name_of} of {name} must be a number{where()}")


def _number(node: ast.expr) -> float | None:
    """The value of a constant like 2, -0.5 or +3 (checked), else None."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant):
        return sign * _constant(node, lambda: "")
    return None


def _source(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 20 else text[:20] + "..."


def _where(node: ast.AST, text: str) -> str:
    segment = ast.get_source_segment(text.strip(), node)
    if segment is None:
        return ""
    return f" in {segment[:40]!r}" + ("..." if len(segment) > 40 else "")


def _describe(node: ast.AST) -> str:
    kinds = {ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Compare: "a comparison",
             ast.BoolOp: "'and'/'or'", ast.Lambda: "a lambda", ast.IfExp: "'if ... else'",
             ast.NamedExpr: "':='", ast.JoinedStr: "an f-string", ast.Tuple: "a tuple", ast.List: "a list",
             ast.Dict: "a dict", ast.Set: "a set", ast.Await: "'await'", ast.Starred: "'*'"}
    for kind, text in kinds.items():
        if isinstance(node, kind):
            return text
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return "a comprehension"
    return f"'{type(node).__name__}'"


def _evaluate(tree: ast.expr, bound: Mapping[str, Value]) -> Value | float:
    """Post-order walk with an explicit stack; each node's inputs are computed before it."""
    results: dict[ast.AST, Value | float] = {}
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_operands(node)))
            continue
        results[node] = _apply(node, results, bound)
    return results[tree]


def _operands(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Pow) and _number(node.right) is not None:
            return [node.left]  # x ** 2 with a constant exponent: the engine's "**2" op
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [] if _number(node) is not None else [node.operand]
    if isinstance(node, ast.Call):
        return [node.args[0]]
    return []


def _apply(node: ast.AST, results: Mapping[ast.AST, Value | float], bound: Mapping[str, Value]) -> Value | float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return bound[node.id]
    if isinstance(node, ast.UnaryOp):
        constant = _number(node)
        if constant is not None:
            return constant
        operand = results[node.operand]
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left = results[node.left]
        right = results[node.right] if node.right in results else _number(node.right)
        op = _BINARY[type(node.op)]
        if not isinstance(left, Value) and not isinstance(right, Value):
            left = Value(left)  # numbers only, as in "2**3": still a node, so the picture shows it
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "/":
            return left / right
        return left**right
    assert isinstance(node, ast.Call)
    argument = results[node.args[0]]
    if not isinstance(argument, Value):
        argument = Value(argument)
    return FUNCTIONS[node.func.id](argument, *(_number(arg) for arg in node.args[1:]))
