"""Task 2: local derivatives.

Give every node made by + and * its local derivatives, `_local_grads`: d(node)/d(input), one number
per input in `_prev`, in the same order. No backward yet: the test runs chainrule's chain rule on
YOUR local derivatives and compares the gradients that come out with chainrule's.
"""

from mygrad.engine import Value

from autograd.learn.oracle import check_gradients, expect


def test_gradients_through_your_local_derivatives():
    check_gradients(Value, lambda a, b, c: a * b + c, how="local", a=2.0, b=-3.0, c=10.0)
    check_gradients(Value, lambda x, w, b: x * w + b, how="local", x=0.5, w=-1.5, b=0.25)


def test_add_passes_one_to_each_input():
    c = Value(2.0) + Value(-3.0)
    expect(tuple(c._local_grads) == (1.0, 1.0), "(a + b)._local_grads", (1.0, 1.0), c._local_grads,
           "nudging a or b by h nudges a + b by h: both local derivatives are 1.")


def test_mul_passes_each_input_the_other_inputs_number():
    c = Value(2.0) * Value(-3.0)
    expect(tuple(c._local_grads) == (-3.0, 2.0), "(a * b)._local_grads with a = 2, b = -3", (-3.0, 2.0),
           c._local_grads, "d(a*b)/da is b and d(a*b)/db is a: each input gets the OTHER input's number.")
