"""Task 5: tanh, exp and **.

Write Value.tanh(), Value.exp() and Value.__pow__(n) for a plain number n: each computes its
number and its local derivative at once. With ** done, division and subtraction work too.
"""

from mygrad.engine import Value

from autograd.learn.oracle import check_gradients


def test_tanh_of_a_neuron():
    check_gradients(Value, lambda x, w, b: (x * w + b).tanh(), x=2.0, w=-0.5, b=0.3)
    check_gradients(Value, lambda x: x.tanh(), x=-0.7)


def test_exp():
    check_gradients(Value, lambda x: x.exp(), x=0.5)
    check_gradients(Value, lambda x, y: (x * y).exp() + x, x=0.5, y=-1.5)


def test_powers():
    check_gradients(Value, lambda x: x**2, x=3.0)
    check_gradients(Value, lambda x: x**3 + x**-1, x=1.5)
    check_gradients(Value, lambda x: x**0.5, x=2.0)


def test_division_and_subtraction():
    check_gradients(Value, lambda a, b: (a - b) / (a + b), a=2.0, b=0.5)
    check_gradients(Value, lambda x: 1 / x - 2, x=4.0)


def test_tanh_written_with_exp():
    check_gradients(Value, lambda n: ((2 * n).exp() - 1) / ((2 * n).exp() + 1), n=0.8814)
