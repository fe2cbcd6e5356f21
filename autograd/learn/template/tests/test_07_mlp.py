"""Task 7: an MLP.

Write Layer (neurons side by side) and MLP (layers one after another, tanh in all but the last) in
mygrad/nn.py. The test gives every parameter a known number and compares the output and every
parameter's gradient with the same network written out by hand with chainrule's Values.
"""

from mygrad.nn import MLP, Layer

from autograd import Value as Reference
from autograd.learn.oracle import close, expect, explain_gradient

X = [0.5, -1.0]


def test_a_layer_gives_one_output_per_neuron():
    out = Layer(2, 3)(X)
    expect(isinstance(out, list) and len(out) == 3, "Layer(2, 3)(x)", "a list of 3 Values", out,
           "return [n(x) for n in self.neurons].")


def test_parameter_counts():
    for nin, nouts, count in ((2, [3, 1], 13), (3, [4, 4, 1], 41)):
        n = len(MLP(nin, nouts).parameters())
        expect(n == count, f"len(MLP({nin}, {nouts}).parameters())", count, n,
               "each neuron has one weight per input and one bias; every layer's parameters are listed.")


def by_hand(numbers, nin, nouts, x):
    """The MLP written out with chainrule's Values, parameters in the order of parameters()."""
    params = [Reference(p) for p in numbers]
    it = iter(params)
    for i, nout in enumerate(nouts):
        outs = []
        for _ in range(nout):
            act = sum((next(it) * xi for xi in x), Reference(0.0)) + next(it)  # the weights, then the bias
            outs.append(act if i == len(nouts) - 1 else act.tanh())
        x = outs
    return x[0], params


def test_an_mlp_gives_the_networks_output_and_gradients():
    nin, nouts = 2, [3, 2, 1]
    model = MLP(nin, nouts)
    params = model.parameters()
    numbers = [((7 * i) % 11 - 5) / 5 for i in range(len(params))]
    for p, number in zip(params, numbers):
        p.data = number
    out = model(X)
    expected, reference = by_hand(numbers, nin, nouts, X)
    expect(close(out.data, expected.data), "the output of MLP(2, [3, 2, 1])", expected.data, out.data,
           "the last layer should be linear (no tanh), every other layer tanh; or parameters() "
           "is not in the order weights, then bias, neuron by neuron, layer by layer.")
    out.backward()
    expected.backward()
    leaves = {f"parameter {i}": p for i, p in enumerate(params)}
    for i, (p, r) in enumerate(zip(params, reference)):
        if not close(p.grad, r.grad):
            explain_gradient(out, leaves, f"parameter {i}", r.grad)
