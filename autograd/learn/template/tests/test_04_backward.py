"""Task 4: backward.

Write Value.backward(): walk the topological order from the end, and pass each node's gradient on
to its inputs, times the local derivative. A node used twice gets BOTH shares, added up. Calling
backward twice adds everything twice.
"""

from mygrad.engine import Value

from autograd import Value as Reference
from autograd.learn.oracle import check_gradients, close, expect


def test_the_output_gets_gradient_one():
    y = Value(2.0) * Value(3.0)
    y.backward()
    expect(y.grad == 1.0, "y.grad after y.backward()", 1.0, y.grad, "backward starts with d(y)/d(y) = 1.")


def test_gradients_of_a_small_expression():
    check_gradients(Value, lambda a, b, c: a * b + c, a=2.0, b=-3.0, c=10.0)
    check_gradients(Value, lambda a, b, c, f: (a * b + c) * f, a=2.0, b=-3.0, c=10.0, f=-2.0)


def test_a_value_used_twice_gets_both_shares():
    check_gradients(Value, lambda x: x * x, x=3.0)
    check_gradients(Value, lambda x, y: x * y + x, x=3.0, y=-2.0)
    check_gradients(Value, lambda a: (a * 2) * (a + 1), a=3.0)


def test_a_value_used_at_two_depths():
    check_gradients(Value, lambda x: (x * 2 + 1) * x, x=3.0)


def test_backward_twice_adds_everything_twice():
    x, y = Value(3.0), Value(-2.0)
    out = x * y + x
    out.backward()
    out.backward()
    rx, ry = Reference(3.0), Reference(-2.0)
    (rx * ry + rx).backward()
    for name, mine, theirs in (("x", x, rx), ("y", y, ry)):
        expect(close(mine.grad, 2 * theirs.grad), f"{name}.grad after backward twice", 2 * theirs.grad, mine.grad,
               "backward sets .grad instead of adding to it (node.grad += ...), or starts from the .grad "
               "left by the last call: collect this call's gradients first, then add them.")
