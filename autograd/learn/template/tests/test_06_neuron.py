"""Task 6: a neuron.

Write Neuron in mygrad/nn.py: nin weights `w` and a bias `b` (Values), and __call__(x) giving
tanh(w1*x1 + ... + wn*xn + b). The test sets the weights itself and compares the output and the
gradients of the weights with the same neuron written out by hand with chainrule's Values.
"""

from mygrad.engine import Value
from mygrad.nn import Neuron

from autograd.learn.oracle import check_gradients, expect

X = [2.0, 0.0, -1.0]


def test_a_neuron_has_nin_weights_and_a_bias():
    n = Neuron(3)
    expect(len(n.w) == 3, "len(Neuron(3).w)", 3, len(n.w), "one weight per input.")
    expect(all(isinstance(p, Value) for p in n.w + [n.b]), "the weights and the bias", "Values",
           [type(p).__name__ for p in n.w + [n.b]], "make each one a Value(random.uniform(-1, 1)).")
    expect(n.parameters() == n.w + [n.b], "n.parameters()", "n.w + [n.b]", n.parameters(),
           "return the weights, then the bias: the very Values the neuron uses.")


def neuron_with(w1, w2, w3, b, nonlinear=True):
    n = Neuron(3, nonlinear)
    n.w, n.b = [w1, w2, w3], b
    return n(X)


def by_hand(w1, w2, w3, b):
    return (w1 * X[0] + w2 * X[1] + w3 * X[2] + b).tanh()


def test_a_neuron_gives_tanh_of_its_weighted_sum_and_its_gradients():
    check_gradients(Value, neuron_with, reference=by_hand, w1=-3.0, w2=1.0, w3=0.5, b=6.8813735870195432)


def test_a_linear_neuron_has_no_tanh():
    check_gradients(Value, lambda w1, w2, w3, b: neuron_with(w1, w2, w3, b, nonlinear=False),
                    reference=lambda w1, w2, w3, b: w1 * X[0] + w2 * X[1] + w3 * X[2] + b,
                    w1=-3.0, w2=1.0, w3=0.5, b=0.25)
