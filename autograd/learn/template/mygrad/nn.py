"""Your neural networks, built from your Values: a neuron, a layer, an MLP, and training."""

import random  # noqa: F401  (tasks 6 and 7 need them)

from mygrad.engine import Value  # noqa: F401


class Module:
    """Given: what every part of a network has."""

    def parameters(self):
        return []

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0


# >>> neuron: task 6
class Neuron(Module):
    def __init__(self, nin, nonlinear=True):
        """nin weights self.w (a list) and a bias self.b, each Value(random.uniform(-1, 1))."""
        raise NotImplementedError("task 6: write Neuron.__init__ in mygrad/nn.py")

    def __call__(self, x):
        """tanh(w1*x1 + ... + wn*xn + b), or without the tanh when not nonlinear; x: numbers or Values."""
        raise NotImplementedError("task 6: write Neuron.__call__ in mygrad/nn.py")

    def parameters(self):
        """The weights, then the bias."""
        raise NotImplementedError("task 6: write Neuron.parameters in mygrad/nn.py")
# <<< neuron


# >>> mlp: task 7
class Layer(Module):
    def __init__(self, nin, nout, nonlinear=True):
        """nout neurons, each with nin inputs."""
        raise NotImplementedError("task 7: write Layer.__init__ in mygrad/nn.py")

    def __call__(self, x):
        """A list: the output of every neuron, for the same input x."""
        raise NotImplementedError("task 7: write Layer.__call__ in mygrad/nn.py")

    def parameters(self):
        raise NotImplementedError("task 7: write Layer.parameters in mygrad/nn.py")


class MLP(Module):
    def __init__(self, nin, nouts):
        """Layers of sizes nouts (e.g. [8, 8, 1]): tanh in every layer but the last, which is linear."""
        raise NotImplementedError("task 7: write MLP.__init__ in mygrad/nn.py")

    def __call__(self, x):
        """The last layer's outputs: one Value when it has one neuron, else a list."""
        raise NotImplementedError("task 7: write MLP.__call__ in mygrad/nn.py")

    def parameters(self):
        raise NotImplementedError("task 7: write MLP.parameters in mygrad/nn.py")
# <<< mlp


# >>> training: task 8
def mse_loss(predictions, targets):
    """The mean of (prediction - target) ** 2, a Value."""
    raise NotImplementedError("task 8: write mse_loss in mygrad/nn.py")


def sgd_step(parameters, lr):
    """One step downhill: p.data -= lr * p.grad for every parameter."""
    raise NotImplementedError("task 8: write sgd_step in mygrad/nn.py")


def train(model, xs, ys):
    """Train model on the points xs with labels ys (+1 or -1) until it classifies every point
    right (the sign of model(x)); return the list of losses, one per step."""
    raise NotImplementedError("task 8: write train in mygrad/nn.py")
# <<< training

