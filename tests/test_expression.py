"""Safe expressions: a whitelist over Python's ast, evaluated by our own loop, never by eval."""

from __future__ import annotations

import ast
import builtins
import math
import unicodedata

import pytest
from _reference import finite_differences, matches_finite_differences, matches_torch, torch_value_and_grad

from autograd import Value
from autograd.expression import ExpressionError, parse

pytestmark = pytest.mark.cli

# text, the same function written in Python (for floats and for torch tensors), a point
GOOD = [
    ("tanh(x*w + b)", lambda x, w, b: (x * w + b).tanh(), [2.0, -3.0, 6.88]),
    ("x**2 + 3*x - 1/x", lambda x: x**2 + 3 * x - 1 / x, [1.7]),
    ("-x + +y - -2", lambda x, y: -x + y + 2, [0.5, 1.5]),
    ("exp(x) * log(y) / sqrt(z)", lambda x, y, z: x.exp() * y.log() / z.sqrt(), [0.3, 2.5, 4.0]),
    ("sigmoid(x) + relu(y) + sin(x) * cos(y) + abs(y)", lambda x, y: x.sigmoid() + y.relu() + x.sin() * y.cos()
     + abs(y), [0.4, -0.9]),
    ("x ** y", lambda x, y: x**y, [1.5, 2.5]),
    ("2 ** x + x ** -0.5", lambda x: 2**x + x**-0.5, [1.3]),
    ("(a - b) * (a + b)", lambda a, b: (a - b) * (a + b), [3.0, 2.0]),
]


def leaf_values(names, point):
    return {n: Value(x, label=n) for n, x in zip(names, point)}


@pytest.mark.parametrize("text, f, point", GOOD, ids=[g[0] for g in GOOD])
def test_an_expression_builds_the_same_graph_as_the_python_code(text, f, point):
    expr = parse(text)
    ours = leaf_values(expr.names, point)
    out = expr.evaluate(ours)
    out.backward()
    direct = [Value(x) for x in point]
    expected = f(*direct)
    expected.backward()
    assert out.data == expected.data
    assert [ours[n].grad for n in expr.names] == [v.grad for v in direct]


@pytest.mark.parametrize("text, f, point", GOOD, ids=[g[0] for g in GOOD])
def test_an_expressions_gradients_match_pytorch_and_finite_differences(text, f, point, torch):
    expr = parse(text)
    ours = leaf_values(expr.names, point)
    expr.evaluate(ours).backward()
    grads = [ours[n].grad for n in expr.names]
    assert grads == matches_torch(torch_value_and_grad(torch, f, point)[1])

    def f_float(*xs):
        return expr.evaluate(dict(zip(expr.names, xs))).data

    assert grads == matches_finite_differences(finite_differences(f_float, point))


def test_names_are_listed_in_order_of_first_appearance_once_each():
    assert parse("b * a + tanh(c) - a*b").names == ("b", "a", "c")
    assert parse("2 * 3").names == ()


def test_a_constant_exponent_is_the_engines_power_by_a_number():
    x = Value(3.0, label="x")
    for text, exponent in (("x ** 2", 2.0), ("x ** -1", -1.0)):
        y = parse(text).evaluate({"x": x})
        assert (y.op, y.inputs, y.constant) == ("**", (x,), exponent)
    assert parse("x ** y").evaluate({"x": x, "y": 2.0}).op == "**"


def test_leaky_relu_takes_a_constant_slope():
    x = Value(-2.0, label="x")
    out = parse("leaky_relu(x, 0.2)").evaluate({"x": x})
    assert out.data == pytest.approx(-0.4)
    out.backward()
    assert x.grad == pytest.approx(0.2)


def test_a_constant_expression_is_still_a_value():
    out = parse("-(2 + 3) * 2").evaluate({})
    assert isinstance(out, Value) and out.data == -10.0


def test_numbers_bind_as_labelled_leaves_and_values_are_used_as_given():
    w = Value(-3.0, label="weight")
    out = parse("x * w").evaluate({"x": 2, "w": w})
    x_leaf, w_leaf = out.inputs
    assert x_leaf.label == "x" and x_leaf.data == 2.0 and w_leaf is w


def test_a_long_flat_sum_is_evaluated_without_recursion():
    out = parse(" + ".join(["x"] * 2000)).evaluate({"x": 1.5})
    assert out.data == 3000.0


def test_a_missing_value_is_named():
    with pytest.raises(ExpressionError, match="no value given for 'b'"):
        parse("a + b").evaluate({"a": 1.0})


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x +", "not a valid expression"),
        ("x = 3", "not a valid expression at column 3: '=' cannot stand in an expression"),
        ("x=abc", "'=' cannot stand in an expression"),
        ("import os", "not a valid expression"),
        ("x ^ 2", "write x\\*\\*2"),
        ("x // 2", "'//' is not supported"),
        ("x % 2", "'%' is not supported"),
        ("not x", "only unary"),
        ("~x", "only unary"),
        ("x.real", "attribute access"),
        ("x[0]", "indexing"),
        ("x < 1", r"comparisons \(==, !=, <, <=, >, >=, is, in\) are not allowed in 'x < 1'"),
        ("x==1", "comparisons .* are not allowed in 'x==1'"),
        ("x != y", "comparisons .* are not allowed"),
        ("0 < x <= 1", "comparisons .* are not allowed"),
        ("x is y", "comparisons .* are not allowed"),
        ("x in y", "comparisons .* are not allowed"),
        ("x and y", "'and'/'or'"),
        ("lambda: 1", "a lambda"),
        ("x if y else 1", "'if ... else'"),
        ("(x, y)", "a tuple"),
        ("[x for x in y]", "a comprehension"),
        ("f'{x}'", "an f-string"),
        ("'text'", "'text' is not a number"),
        ("True + x", "True is not a number"),
        ("2j * x", "2j is not a number"),
        ("1e999 * x", "too large"),
        ("foo(x)", "unknown function 'foo'"),
        ("__import__('os')", "unknown function '__import__'"),
        ("math.sin(x)", "only the functions"),
        ("(lambda: 1)()", "only the functions"),
        ("tanh(x, y)", "exactly one argument"),
        ("tanh()", "exactly one argument"),
        ("tanh(*xs)", "exactly one argument"),
        ("tanh(x=1)", "tanh\\(\\) takes no keyword arguments, got x=1"),
        ("leaky_relu(x, slope=0.1)", r"got slope=0.1 .*the slope is given by position: leaky_relu\(x, 0.1\)"),
        ("leaky_relu(x, negative_slope=-y)", "got negative_slope=-y"),
        ("tanh(**k)", r"got \*\*k"),
        ("leaky_relu(x, y)", "slope of leaky_relu must be a number"),
        ("tanh + 1", "'tanh' is a function"),
        ("(" * 300 + "x" + ")" * 300, "nested"),
        ("-" * 5000 + "x", "too deeply nested"),
        ("x" + " + x" * 6000, "characters long"),
    ],
)
def test_anything_off_the_whitelist_is_refused_with_a_clear_error(text, words):
    with pytest.raises(ExpressionError, match=words):
        parse(text)


def test_an_error_says_where_the_problem_is():
    with pytest.raises(ExpressionError, match="in 'y.imag'"):
        parse("tanh(x) + y.imag * 2")


def test_only_strings_are_parsed():
    with pytest.raises(TypeError, match="must be a str"):
        parse(b"x + 1")


def test_nothing_is_ever_run_by_eval_or_exec(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec must never be called")

    for name in ("eval", "exec"):  # ast.parse only compiles to a tree, which runs nothing
        monkeypatch.setattr(builtins, name, forbidden)
    out = parse("tanh(x*w + b) + x**2").evaluate({"x": 2.0, "w": -3.0, "b": 6.88})
    assert out.data == pytest.approx(math.tanh(2.0 * -3.0 + 6.88) + 4.0)


def test_code_in_the_text_is_not_executed(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ExpressionError):
        parse(f"__import__('pathlib').Path({str(marker)!r}).touch()")
    assert not marker.exists()


def test_domain_errors_come_from_the_engine_unchanged():
    with pytest.raises(ValueError, match="log: the logarithm needs a positive input"):
        parse("log(x)").evaluate({"x": -1.0})
    with pytest.raises(ZeroDivisionError):
        parse("1 / x").evaluate({"x": 0.0})


# ---- names are read as Python reads them ---------------------------------------------------------

UNICODE_NAMES = ["ﬁ", "𝐱", "ｘ", "ℌ", "Ⅸ", "e\u0301", "é", "ª", "x_1", "δ"]


@pytest.mark.parametrize("name", UNICODE_NAMES)
def test_a_unicode_name_is_the_name_pythons_parser_makes_of_it(name):
    python_reads = ast.parse(f"{name} = 1").body[0].targets[0].id  # Python's own normalisation (NFKC)
    assert parse(f"{name} * 2").names == (python_reads,) == (unicodedata.normalize("NFKC", name),)


@pytest.mark.parametrize("key", ["ﬁ", "fi"])
def test_values_are_looked_up_by_the_normalised_name(key):
    assert parse("ﬁ * 2").evaluate({key: 3.0}).data == 6.0
    assert parse("fi * 2").evaluate({key: 3.0}).data == 6.0


def test_two_values_for_one_normalised_name_are_refused_naming_both():
    with pytest.raises(ExpressionError, match="'ﬁ' and 'fi' are the same name 'fi'"):
        parse("fi").evaluate({"ﬁ": 1.0, "fi": 2.0})


def test_a_character_python_refuses_in_a_name_is_refused_too():
    with pytest.raises(ExpressionError, match="invalid character '²'"):
        parse("x² * 2")
