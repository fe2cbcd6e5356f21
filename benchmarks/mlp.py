"""The two-moons training step, written once per engine: MLP(2, [16, 16, 1]), SGD.

Every engine starts from the same weights (those of `nn.MLP(2, [16, 16, 1], seed=0)`, in
parameter order: layer by layer, neuron by neuron, weights then bias) and computes the loss of
micrograd's demo notebook:

    loss = mean_i relu(1 - y_i s_i)  +  1e-4 * sum_p p^2      (hinge loss + L2 penalty)
    p   <- p - lr_k * dloss/dp,   lr_k = 1.0 - 0.9 k / 100    (step k = 0, 1, ...)

Each `*_trainer` returns `step(k) -> loss`, so the per-step losses can be compared across
engines and the steps timed the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import mul

SIZES = (2, 16, 16, 1)
REG = 1e-4

Points = Sequence[Sequence[float]]
Labels = Sequence[int]


def learning_rate(k: int) -> float:
    """The demo's schedule: 1.0 at step 0, falling by 0.009 per step."""
    return 1.0 - 0.9 * k / 100


def moons(n: int) -> tuple[list[list[float]], list[int]]:
    """n two-moons points with noise 0.1 and labels +-1 (from nn, so every engine sees the same data)."""
    import nn

    X, y = nn.make_moons(n=n, noise=0.1, seed=0)
    return [list(x) for x in X], list(y)


def initial_weights() -> list[float]:
    """The starting weights of every engine, as a flat list in parameter order."""
    import nn

    return [p.data for p in nn.MLP(SIZES[0], list(SIZES[1:]), seed=0).parameters()]


def _per_neuron(weights: Sequence[float]) -> list[list[tuple[list[float], float]]]:
    """The flat weight list as layers of (w, b) pairs, one per neuron."""
    layers, i = [], 0
    for nin, nout in zip(SIZES, SIZES[1:]):
        layer = []
        for _ in range(nout):
            layer.append((list(weights[i : i + nin]), weights[i + nin]))
            i += nin + 1
        layers.append(layer)
    return layers


# ---- chainrule: the real user API ------------------------------------------------------------


def chainrule_trainer(X: Points, y: Labels, weights: Sequence[float]) -> Callable[[int], float]:
    import autograd
    import nn

    model = nn.MLP(SIZES[0], list(SIZES[1:]), seed=0)
    for p, w in zip(model.parameters(), weights):
        p.data = w
    optimizer = nn.SGD(model.parameters(), lr=learning_rate(0))

    def step(k: int) -> float:
        scores = [model(x) for x in X]
        loss = nn.hinge_loss(scores, y) + REG * autograd.sum([p * p for p in model.parameters()])
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = learning_rate(k)
        optimizer.step()
        return loss.data

    return step


def chainrule_forward(X: Points, weights: Sequence[float]) -> tuple[Callable[[], object], Callable[[], object]]:
    """(recorded forward, no_grad forward) of the chainrule model over all points."""
    import autograd
    import nn

    model = nn.MLP(SIZES[0], list(SIZES[1:]), seed=0)
    for p, w in zip(model.parameters(), weights):
        p.data = w

    def recorded() -> object:
        return [model(x) for x in X]

    def evaluated() -> object:
        with autograd.no_grad():
            return [model(x) for x in X]

    return recorded, evaluated


# ---- micrograd 0.1.0: its own MLP and the demo's loss, as its notebook writes them -------------


def micrograd_trainer(X: Points, y: Labels, weights: Sequence[float]) -> Callable[[int], float]:
    from micrograd.engine import Value
    from micrograd.nn import MLP

    model = MLP(SIZES[0], list(SIZES[1:]))
    for p, w in zip(model.parameters(), weights):
        p.data = w

    def step(k: int) -> float:
        inputs = [list(map(Value, x)) for x in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = REG * sum(p * p for p in model.parameters())
        loss = data_loss + reg_loss
        model.zero_grad()
        loss.backward()
        lr = learning_rate(k)
        for p in model.parameters():
            p.data -= lr * p.grad
        return loss.data

    return step


# ---- PyTorch: one 0-d float64 tensor per scalar, written like micrograd's code -----------------


def torch_trainer(X: Points, y: Labels, weights: Sequence[float]) -> Callable[[int], float]:
    import torch

    def scalar(v: float, grad: bool = False) -> torch.Tensor:
        return torch.tensor(v, dtype=torch.float64, requires_grad=grad)

    layers = [[([scalar(w, True) for w in ws], scalar(b, True)) for ws, b in layer] for layer in _per_neuron(weights)]
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
    last = len(layers) - 1

    def model(x: list[torch.Tensor]) -> torch.Tensor:
        for i, layer in enumerate(layers):
            acts = [sum((w * xi for w, xi in zip(ws, x)), b) for ws, b in layer]
            x = acts if i == last else [torch.relu(a) for a in acts]
        return x[0]

    def step(k: int) -> float:
        scores = [model([scalar(v) for v in x]) for x in X]
        losses = [torch.relu(1 + -yi * si) for yi, si in zip(y, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + REG * sum(p * p for p in params)
        for p in params:
            p.grad = None
        loss.backward()
        lr = learning_rate(k)
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        return loss.item()

    return step


# ---- the floor: the same arithmetic by hand on floats, no graph at all ------------------------


def floor_trainer(X: Points, y: Labels, weights: Sequence[float]) -> Callable[[int], float]:
    """Hand-written backprop on plain floats: every multiply-add the graph engines record, no more.

    No shortcut an engine could not take: a sample whose hinge is inactive or a neuron whose
    ReLU is off still has its (zero) gradient propagated, as in the graph.
    """
    layers = _per_neuron(weights)
    last = len(layers) - 1
    n = len(X)

    def step(k: int) -> float:
        grads = [[[0.0] * len(w) + [0.0] for w, _ in layer] for layer in layers]  # per neuron: dw..., db
        total = 0.0
        for x, t in zip(X, y):
            inputs, sums = [], []  # each layer's input and weighted sums, kept for the backward pass
            a = x
            for i, layer in enumerate(layers):
                inputs.append(a)
                s = [sum(map(mul, w, a)) + b for w, b in layer]
                sums.append(s)
                a = s if i == last else [v if v > 0.0 else 0.0 for v in s]
            margin = 1.0 - t * a[0]
            total += margin if margin > 0.0 else 0.0
            g = [-t / n if margin > 0.0 else 0.0]  # dloss/dscore
            for i in range(last, -1, -1):
                if i != last:  # back through the ReLU
                    g = [gj if sj > 0.0 else 0.0 for gj, sj in zip(g, sums[i])]
                a = inputs[i]
                back = [0.0] * len(a)
                for (w, _), gw, gj in zip(layers[i], grads[i], g):
                    gw[:-1] = [gwj + gj * aj for gwj, aj in zip(gw, a)]
                    gw[-1] += gj
                    back = [bj + gj * wj for bj, wj in zip(back, w)]
                g = back
        penalty = 0.0
        lr = learning_rate(k)
        for layer, layer_grads in zip(layers, grads):
            for j, ((w, b), gw) in enumerate(zip(layer, layer_grads)):
                penalty += sum(map(mul, w, w)) + b * b
                for i, wi in enumerate(w):
                    w[i] = wi - lr * (gw[i] + 2 * REG * wi)
                layer[j] = (w, b - lr * (gw[-1] + 2 * REG * b))
        return total / n + REG * penalty

    return step
