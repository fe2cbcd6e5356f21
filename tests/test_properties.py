"""Laws over random expressions (hypothesis): whatever the expression, the gradient is right.

hypothesis builds random expression trees over the whole op set and random points, and checks
    backward()  ==  central finite differences  ==  PyTorch float64
plus laws every reverse-mode engine must obey (linearity, x - x, symmetry of a*b, ...).
Each tree is written so that every op stays in its domain (log(1 + u^2), a / (b^2 + 1/2), ...).
"""

from __future__ import annotations

import math

import pytest
from _reference import FD_STEP, TORCH_ABS, TORCH_REL, finite_differences
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, no_grad

pytestmark = pytest.mark.properties

N_INPUTS = 3
COORDINATE = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
POINTS = st.lists(COORDINATE, min_size=N_INPUTS, max_size=N_INPUTS)

# An expression is a tree of tuples: ("x", i) | ("const", c) | (op, child) | (op, left, right).
UNARY = ["neg", "exp", "log", "sqrt", "tanh", "sigmoid", "sin", "cos", "relu", "abs", "leaky_relu", "**2", "**3",
         "**-1.5", "2**"]  # fmt: skip
BINARY = ["+", "-", "*", "/", "**", "sum", "dot"]
CONSTANT = st.floats(-2.0, 2.0, allow_nan=False).map(lambda c: ("const", c))


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(UNARY), children),
        st.tuples(st.sampled_from(BINARY), children, children),
        st.tuples(st.sampled_from(BINARY), children, CONSTANT),  # a number on the right
        st.tuples(st.sampled_from(BINARY), CONSTANT, children),  # and on the left
    )


TREES = st.recursive(st.integers(0, N_INPUTS - 1).map(lambda i: ("x", i)), _extend, max_leaves=8)


class _Ops:
    """The op set on Values (the engine); subclasses run the same tree on floats or tensors."""

    def exp(self, u):
        return u.exp()

    def log(self, u):
        return u.log()

    def sqrt(self, u):
        return u.sqrt()

    def tanh(self, u):
        return u.tanh()

    def sigmoid(self, u):
        return u.sigmoid()

    def sin(self, u):
        return u.sin()

    def cos(self, u):
        return u.cos()

    def relu(self, u):
        return u.relu()

    def leaky_relu(self, u):
        return u.leaky_relu(0.1)

    def abs(self, u):
        self.kink(u)
        return abs(u)

    def kink(self, u):
        """Note the argument of an op with a kink at 0 (only the float evaluator keeps it)."""

    def note(self, result):
        """Note a node's result (only the float evaluator keeps the largest)."""
        return result

    def sum(self, terms):
        return autograd.sum(terms)

    def dot(self, a, b, bias):
        return autograd.dot(a, b, bias=bias)


class _FloatOps(_Ops):
    """The op set on plain floats, noting the sign at each kink and the largest number seen."""

    def __init__(self):
        self.kink_signs: list[float] = []
        self.largest = 0.0

    def note(self, result):
        self.largest = max(self.largest, abs(result))
        return result

    def exp(self, u):
        return math.exp(u)

    def log(self, u):
        return math.log(u)

    def sqrt(self, u):
        return math.sqrt(u)

    def tanh(self, u):
        return math.tanh(u)

    def sigmoid(self, u):
        return 1 / (1 + math.exp(-u))

    def sin(self, u):
        return math.sin(u)

    def cos(self, u):
        return math.cos(u)

    def kink(self, u):
        self.kink_signs.append(math.copysign(1.0, u) if u else 0.0)

    def relu(self, u):
        self.kink(u)
        return max(u, 0.0)

    def leaky_relu(self, u):
        self.kink(u)
        return u if u > 0 else 0.1 * u

    def sum(self, terms):
        return math.fsum(terms)

    def dot(self, a, b, bias):
        return math.fsum(x * y for x, y in zip(a, b)) + bias


class _TorchOps(_Ops):
    def __init__(self, torch):
        self.torch = torch

    def leaky_relu(self, u):
        return self.torch.nn.functional.leaky_relu(u, 0.1)

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
    return ops.note(_apply(kind, args, ops))


def _apply(kind, args, ops: _Ops):
    u = args[0]
    if len(args) == 1:
        unary = {
            "neg": lambda: -u,
            "exp": lambda: ops.exp(u),
            "log": lambda: ops.log(1 + u * u),
            "sqrt": lambda: ops.sqrt(u * u + 0.25),
            "tanh": lambda: ops.tanh(u),
            "sigmoid": lambda: ops.sigmoid(u),
            "sin": lambda: ops.sin(u),
            "cos": lambda: ops.cos(u),
            "relu": lambda: ops.relu(u),
            "abs": lambda: ops.abs(u),
            "leaky_relu": lambda: ops.leaky_relu(u),
            "**2": lambda: u**2,
            "**3": lambda: u**3,
            "**-1.5": lambda: (u * u + 0.5) ** -1.5,
            "2**": lambda: 2**u,
        }
        return unary[kind]()
    a, b = args
    binary = {
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
        "/": lambda: a / (b * b + 0.5),
        "**": lambda: (a * a + 0.5) ** b,
        "sum": lambda: ops.sum([a, 1.5, b]),
        "dot": lambda: ops.dot([a, b], [b, 0.5], bias=a),
    }
    return binary[kind]()


def _smooth_near(tree, point) -> bool:
    """True if the finite-difference steps around point cross no kink and stay moderate in size.

    Then the expression is smooth on every segment the differences use, so they are accurate.
    """
    visited = [list(point)]  # the point and every point finite_differences evaluates
    for i, x in enumerate(point):
        h = FD_STEP * max(1.0, abs(x))
        visited += [point[:i] + [x - h] + point[i + 1 :], point[:i] + [x + h] + point[i + 1 :]]
    patterns = set()
    for p in visited:
        ops = _FloatOps()
        try:
            evaluate(tree, p, ops)
        except (OverflowError, ValueError):
            return False
        if ops.largest > 1e3:
            return False
        patterns.add(tuple(ops.kink_signs))
    # the same side of every kink everywhere, and never exactly on one
    return len(patterns) == 1 and 0.0 not in next(iter(patterns))


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
    numeric = finite_differences(lambda *p: evaluate(tree, p, _FloatOps()), point)
    assert out.data == pytest.approx(evaluate(tree, point, _FloatOps()), rel=1e-12, abs=1e-12)
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
    except (OverflowError, ValueError):
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
