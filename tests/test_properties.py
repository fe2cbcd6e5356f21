"""Laws over random expressions (hypothesis): whatever the expression, the gradient is right.

hypothesis builds random expression trees over the whole op table (`autograd.OPS`: a new op is
in the trees the moment it is declared) and random points, and checks
    backward()  ==  central finite differences  ==  PyTorch float64
plus laws every reverse-mode engine must obey (linearity, x - x, symmetry of a*b, ...).
An op whose domain is not every number gets its argument mapped into it first (log(1 + u^2),
a / (b^2 + 1/2), ...): DOMAINS below says how, for the ops that need it.
"""

from __future__ import annotations

import math
import operator

import pytest
from _reference import FD_STEP, TORCH_ABS, TORCH_REL, finite_differences, torch_counterpart
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd
from autograd import OPS, Value, no_grad
from autograd.ops import FUNCTIONS

pytestmark = pytest.mark.properties

N_INPUTS = 3
COORDINATE = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
POINTS = st.lists(COORDINATE, min_size=N_INPUTS, max_size=N_INPUTS)

# Python's operators between two operands (either may be a number: 2 - x is the op rsub, 2 ** x rpow)
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
# How an argument is brought into an op's domain: (function of the first argument, of the second)
DOMAINS = {
    "log": (lambda u: 1 + u * u,),
    "sqrt": (lambda u: u * u + 0.25,),
    "log1p": (lambda u: u * u,),
    "/": (None, lambda b: b * b + 0.5),
    "**": (lambda a: a * a + 0.5, None),
}

# An expression is a tree of tuples: ("x", i) | ("const", c) | (op, child) | (op, left, right).
UNARY = ["neg", *FUNCTIONS]
BINARY = [*OPERATORS, "sum", "dot"]
CONSTANT = st.floats(-2.0, 2.0, allow_nan=False).map(lambda c: ("const", c))


# Ops that choose by their numbers, left out of the trees: max has a kink wherever two arguments
# tie, which random points hit (finite differences then give 1/2 each), and pick's index is a
# whole number. tests/test_op_table.py and tests/test_nn_compile_fit.py check them.
CHOOSING = {"max", "pick"}


def test_the_trees_reach_every_op_in_the_table():
    reached = {*UNARY, *BINARY, "rsub", "rdiv", "rpow"} - set(OPERATORS) | {"+", "-", "*", "/", "**"}
    assert reached == set(OPS) - CHOOSING


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(UNARY), children),
        st.tuples(st.sampled_from(BINARY), children, children),
        st.tuples(st.sampled_from(BINARY), children, CONSTANT),  # a number on the right
        st.tuples(st.sampled_from(BINARY), CONSTANT, children),  # and on the left
    )


TREES = st.recursive(st.integers(0, N_INPUTS - 1).map(lambda i: ("x", i)), _extend, max_leaves=8)


class _Ops:
    """How each op runs on Values (the engine); subclasses run the same tree on floats or tensors."""

    def function(self, name, u):
        return OPS[name](u)

    def sum(self, terms):
        return autograd.sum(terms)

    def dot(self, a, b, bias):
        return autograd.dot(a, b, bias=bias)


class _FloatOps(_Ops):
    """The ops on plain floats (each op's forward rule), noting the largest number seen."""

    def __init__(self):
        self.largest = 0.0

    def note(self, result):
        self.largest = max(self.largest, abs(result))
        return result

    def function(self, name, u):
        return OPS[name].forward(u)

    def sum(self, terms):
        return math.fsum(terms)

    def dot(self, a, b, bias):
        return math.fsum(x * y for x, y in zip(a, b)) + bias


class _TorchOps(_Ops):
    def __init__(self, torch):
        self.torch = torch

    def function(self, name, u):
        return torch_counterpart(self.torch, OPS[name])(u)

    def sum(self, terms):
        return terms[0] + terms[1] + terms[2]

    def dot(self, a, b, bias):
        return a[0] * b[0] + a[1] * b[1] + bias


def evaluate(tree, xs, ops: _Ops):
    """The expression `tree` at inputs xs, with every op kept inside its domain."""
    kind = tree[0]
    if kind == "x":
        return xs[tree[1]]
    if kind == "const":
        return tree[1]
    args = [evaluate(child, xs, ops) for child in tree[1:]]
    for i, into_domain in enumerate(DOMAINS.get(kind, ())):
        if into_domain is not None:
            args[i] = into_domain(args[i])
    result = _apply(kind, args, ops)
    return ops.note(result) if isinstance(ops, _FloatOps) else result


def _apply(kind, args, ops: _Ops):
    if kind == "neg":
        return -args[0]
    if kind in FUNCTIONS:
        return ops.function(kind, args[0])
    a, b = args
    if kind in OPERATORS:
        return OPERATORS[kind](a, b)
    if kind == "sum":
        return ops.sum([a, 1.5, b])
    return ops.dot([a, b], [b, 0.5], bias=a)


def _value(tree, point) -> float:
    return evaluate(tree, point, _FloatOps())


def _smooth_near(tree, point) -> bool:
    """True if the numbers stay moderate and f has no kink within the finite-difference steps.

    A kink (relu, abs, ... at 0) shows in the floats alone: the slopes on the two sides of the
    point differ by O(1), where on a smooth function they differ by O(h f'').
    """
    ops = _FloatOps()
    try:
        center = evaluate(tree, point, ops)
    except (OverflowError, ValueError, ZeroDivisionError):
        return False
    if ops.largest > 1e3:
        return False
    for i, x in enumerate(point):
        h = FD_STEP * max(1.0, abs(x))
        left = (center - _value(tree, point[:i] + [x - h] + point[i + 1 :])) / h
        right = (_value(tree, point[:i] + [x + h] + point[i + 1 :]) - center) / h
        if abs(left - right) > 1e-3 * (1.0 + abs(left) + abs(right)):
            return False
    return True


def _engine_gradient(tree, point):
    xs = [Value(p) for p in point]
    out = evaluate(tree, xs, _Ops())
    out.backward()
    return out, xs


# ---- the gradient of any expression ---------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(tree=TREES, point=POINTS)
def test_random_expression_gradient_matches_finite_differences(tree, point):
    assume(_smooth_near(tree, point))
    out, xs = _engine_gradient(tree, point)
    numeric = finite_differences(lambda *p: _value(tree, list(p)), point)
    assert out.data == pytest.approx(_value(tree, point), rel=1e-12, abs=1e-12)
    assert [x.grad for x in xs] == pytest.approx(numeric, rel=1e-4, abs=1e-5)


@settings(deadline=None, max_examples=200)
@given(tree=TREES, point=POINTS)
def test_random_expression_gradient_matches_pytorch(torch, tree, point):
    # no smoothness needed here: PyTorch takes the same one-sided derivatives at kinks
    assume(_moderate(tree, point))
    out, xs = _engine_gradient(tree, point)
    tensors = [torch.tensor(p, requires_grad=True) for p in point]
    reference = evaluate(tree, tensors, _TorchOps(torch))
    torch_grads = [0.0 if g is None else g.item() for g in torch.autograd.grad(reference, tensors, allow_unused=True)]
    assert out.data == pytest.approx(reference.item(), rel=TORCH_REL, abs=TORCH_ABS)
    assert [x.grad for x in xs] == pytest.approx(torch_grads, rel=1e-9, abs=1e-9)


# ---- laws ----------------------------------------------------------------------------------------


def _moderate(tree, point, limit=1e6) -> bool:
    """True if every number in the expression stays below `limit` in size (no overflow on the way)."""
    ops = _FloatOps()
    try:
        evaluate(tree, point, ops)
    except (OverflowError, ValueError, ZeroDivisionError):
        return False
    return ops.largest < limit


@settings(deadline=None, max_examples=100)
@given(f=TREES, g=TREES, point=POINTS, alpha=COORDINATE, beta=COORDINATE)
def test_backward_is_linear(f, g, point, alpha, beta):
    # grad(alpha f + beta g) = alpha grad f + beta grad g
    assume(_moderate(f, point) and _moderate(g, point))
    xs = [Value(p) for p in point]
    (alpha * evaluate(f, xs, _Ops()) + beta * evaluate(g, xs, _Ops())).backward()
    _, f_xs = _engine_gradient(f, point)
    _, g_xs = _engine_gradient(g, point)
    combined = [alpha * a.grad + beta * b.grad for a, b in zip(f_xs, g_xs)]
    assert [x.grad for x in xs] == pytest.approx(combined, rel=1e-9, abs=1e-9)


@settings(deadline=None, max_examples=100)
@given(f=TREES, point=POINTS)
def test_an_expression_minus_itself_has_gradient_exactly_zero(f, point):
    assume(_moderate(f, point))
    xs = [Value(p) for p in point]
    y = evaluate(f, xs, _Ops())
    (y - y).backward()
    assert [x.grad for x in xs] == [0.0] * N_INPUTS


@settings(deadline=None, max_examples=100)
@given(a=st.floats(allow_nan=False, allow_infinity=False), b=st.floats(allow_nan=False, allow_infinity=False))
def test_product_gradients_are_the_other_factor_in_either_order(a, b):
    for first, second in ((0, 1), (1, 0)):
        xs = [Value(a), Value(b)]
        (xs[first] * xs[second]).backward()
        assert (xs[0].grad, xs[1].grad) == (b, a)


@settings(deadline=None, max_examples=100)
@given(f=TREES, point=POINTS)
def test_backward_twice_doubles_and_grad_agrees_with_backward(f, point):
    assume(_moderate(f, point))
    xs = [Value(p) for p in point]
    y = evaluate(f, xs, _Ops())
    grads = [g.data for g in autograd.grad(y, xs)]
    y.backward()
    assert [x.grad for x in xs] == grads
    y.backward()
    assert [x.grad for x in xs] == [2 * g for g in grads]


@settings(deadline=None, max_examples=100)
@given(f=TREES, point=POINTS)
def test_no_grad_computes_the_same_numbers(f, point):
    assume(_moderate(f, point))
    recorded = evaluate(f, [Value(p) for p in point], _Ops())
    with no_grad():
        plain = evaluate(f, [Value(p) for p in point], _Ops())
    assert plain.data == recorded.data
    assert plain.inputs == ()
