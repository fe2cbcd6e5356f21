"""Task 8: training on two moons.

Write mse_loss, sgd_step and train in mygrad/nn.py. train must classify every point of a small
two-moons data set right: the sign of the network's output is the label (+1 or -1).
"""

import math
import random

from mygrad.engine import Value
from mygrad.nn import MLP, mse_loss, sgd_step, train

from autograd.learn.oracle import close, expect


def two_moons(n=24, noise=0.08, seed=0):
    """n points on two interleaved half circles; label +1 for the upper moon, -1 for the lower."""
    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        t = math.pi * (i // 2) / (n // 2 - 1)
        if i % 2 == 0:
            x, y, label = math.cos(t), math.sin(t), 1.0
        else:
            x, y, label = 1 - math.cos(t), 0.5 - math.sin(t), -1.0
        xs.append([x + rng.gauss(0, noise), y + rng.gauss(0, noise)])
        ys.append(label)
    return xs, ys


def test_mse_loss_is_the_mean_squared_error():
    loss = mse_loss([Value(1.0), Value(-0.5)], [1.0, 1.0])
    expect(isinstance(loss, Value), "mse_loss(...)", "a Value", type(loss).__name__,
           "build the loss from the predictions (Values), so that backward can run through it.")
    expect(close(loss.data, 1.125), "mse_loss([1.0, -0.5], [1.0, 1.0])", 1.125, loss.data,
           "the mean of (prediction - target) ** 2: the sum divided by the number of points.")


def test_sgd_step_moves_against_the_gradient():
    p = Value(1.0)
    p.grad = 2.0
    sgd_step([p], lr=0.1)
    expect(close(p.data, 0.8), "p.data after sgd_step with grad 2 and lr 0.1, from 1.0", 0.8, p.data,
           "p.data -= lr * p.grad: against the gradient, downhill.")


def test_training_classifies_every_point():
    random.seed(0)
    xs, ys = two_moons()
    model = MLP(2, [8, 8, 1])
    losses = train(model, xs, ys)
    right = sum((model(x).data > 0) == (y > 0) for x, y in zip(xs, ys))
    expect(right == len(xs), "points classified right after train", len(xs), right,
           "zero the gradients before each backward (they add up), step against the gradient, "
           "and train for more steps or with a larger learning rate.")
    expect(losses[-1] < losses[0], "the last loss below the first", f"< {losses[0]:.4g}", losses[-1],
           "the parameters move uphill: p.data -= lr * p.grad.")
