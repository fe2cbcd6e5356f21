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
from itertools import repeat
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
    """Hand-written backprop on plain floats: the fastest pure Python we could write for this MLP.

    It does every multiply-add the graph engines record and no more, and takes no shortcut an
    engine could not take: a point whose hinge is inactive and a neuron whose ReLU is off still
    have their zero gradients multiplied through every weight, the ReLU's derivative (1 or 0) is
    multiplied in as the engines do, and the inputs' gradients are computed (the engines make
    the inputs Values, so they compute them too). What it saves is the interpreter's work only:

    - all points at once, each layer's numbers kept as one list per neuron over the points, so a
      weight's gradient sum_p g_j(p) a_k(p) is one long `sum(map(mul, ...))`: ~22 ns per
      multiply-add in CPython 3.11, against ~30 ns in the dot products of 16 of a pass per point;
    - the backward product d/da_k = sum_j w_jk g_j(p) reads the weights transposed (columns of W);
    - every loop a C-level `map`/`zip`/`sum` where one is faster than a comprehension.

    The loss is summed in another order than in the engines (the bias first, the gradients of a
    weight over the points at once), so the losses agree to ~1e-15 rather than bit for bit.
    """
    layers = _per_neuron(weights)
    W1, W2, W3 = ([w for w, _ in layer] for layer in layers)  # one row of weights per neuron
    B1, B2, B3 = ([b for _, b in layer] for layer in layers)
    if len(W1[0]) != 2:
        raise ValueError(f"floor_trainer writes out a first layer of 2 inputs, SIZES is {SIZES}")
    n = len(X)
    X_columns = list(zip(*X))  # the points' first coordinates, then their second ones

    def step(k: int) -> float:
        # forward; two inputs written out: a column of two products per point costs more in zip
        # and sum than the products themselves
        s1 = [[w1 * x1 + w2 * x2 + b for x1, x2 in X] for (w1, w2), b in zip(W1, B1)]
        a1, d1 = _relu(s1)
        a2, d2 = _relu(_dense(W2, B2, a1))
        (scores,) = _dense(W3, B3, a2)
        # mean hinge loss; d loss / d score_p = -y_p / n where the hinge is active, 0 elsewhere
        total, g3 = 0.0, []
        for s, t in zip(scores, y):
            margin = 1.0 - t * s
            if margin > 0.0:
                total += margin
                g3.append(-t / n)
            else:
                g3.append(0.0)
        # backward: a layer's weight and bias gradients, then the gradients one layer down
        grads = [_outer([g3], a2)]
        g2 = _back([g3], W3, d2)
        grads.append(_outer(g2, a1))
        g1 = _back(g2, W2, d1)
        grads.append(_outer(g1, X_columns))
        _back(g1, W1, None)  # d loss / d x: no use here, but every engine computes it
        # L2 penalty on the weights before the step, then SGD with its gradient 2 p added
        penalty, lr, twice = 0.0, learning_rate(k), 2 * REG
        for W, B, (dW, dB) in zip((W3, W2, W1), (B3, B2, B1), grads):
            for w, dw in zip(W, dW):
                penalty += sum(map(mul, w, w))
                w[:] = [wi - lr * (gi + twice * wi) for wi, gi in zip(w, dw)]
            penalty += sum(map(mul, B, B))
            B[:] = [bi - lr * (gi + twice * bi) for bi, gi in zip(B, dB)]
        return total / n + REG * penalty

    return step


def _dense(W: list[list[float]], B: list[float], A: list[list[float]]) -> list[list[float]]:
    """s_j(p) = b_j + sum_k w_jk a_k(p), for one list a_k per input and one list s_j per neuron."""
    # per neuron: a column of products per input, added point by point (zip lines the columns up)
    return [list(map(sum, zip(*map(map, repeat(mul), A, map(repeat, w))), repeat(b))) for w, b in zip(W, B)]


def _relu(S: list[list[float]]) -> tuple[list[list[float]], list[list[float]]]:
    """(relu(s), relu'(s)) of every number, relu'(s) = 1.0 for s > 0 else 0.0, as the engines."""
    return [[v if v > 0.0 else 0.0 for v in s] for s in S], [[1.0 if v > 0.0 else 0.0 for v in s] for s in S]


def _outer(G: list[list[float]], A: list[list[float]]) -> tuple[list[list[float]], list[float]]:
    """(dW, dB): dW_jk = sum_p g_j(p) a_k(p), dB_j = sum_p g_j(p), the sums over all points."""
    return [[sum(map(mul, g, a)) for a in A] for g in G], list(map(sum, G))


def _back(G: list[list[float]], W: list[list[float]], D: list[list[float]] | None) -> list[list[float]]:
    """g_k(p) = d_k(p) sum_j w_jk g_j(p): the gradient at a layer's inputs, times relu' there (D)."""
    columns = zip(*W)  # the weights transposed: column k holds w_jk for every neuron j
    if len(G) == 1:  # one neuron: a column is one number, a product per point and no sum
        (g,) = G
        return [[w * gp * dp for gp, dp in zip(g, d)] for (w,), d in zip(columns, D)]
    if D is None:
        return [list(map(sum, zip(*map(map, repeat(mul), G, map(repeat, column))))) for column in columns]
    return [list(map(mul, map(sum, zip(*map(map, repeat(mul), G, map(repeat, c)))), d)) for c, d in zip(columns, D)]


def floor_per_point_trainer(X: Points, y: Labels, weights: Sequence[float]) -> Callable[[int], float]:
    """Issue 6's floor: the same backprop one point at a time (~2x slower than floor_trainer).

    Kept so that issue 6's target (chainrule within 3x of the floor) is still measured against
    the floor it was set for, and every run shows what the careful floor gains. Same promise:
    every multiply-add the graph records, zero gradients propagated.
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


# ---- chainrule compiled: the same step traced once, replayed as generated Python ----------------


def chainrule_compiled_trainer(X: Points, y: Labels, weights: Sequence[float]) -> Callable[[int], float]:
    """The chainrule step of `chainrule_trainer`, traced once by `autograd.compile` (the points are
    constants of the program, the parameters its inputs) and replayed: value_and_grad, then SGD."""
    step, _ = chainrule_compiled_trainer_and_tracer(X, y, weights)
    return step


def chainrule_compiled_trainer_and_tracer(
    X: Points, y: Labels, weights: Sequence[float]
) -> tuple[Callable[[int], float], Callable[[], object]]:
    """(step, trace): trace() compiles the step again from scratch (what tracing costs)."""
    import autograd
    import nn

    model = nn.MLP(SIZES[0], list(SIZES[1:]), seed=0)
    params = model.parameters()
    for p, w in zip(params, weights):
        p.data = w

    def loss_of(*_parameters: object) -> object:  # the parameters are the model's own Values
        scores = [model(x) for x in X]
        return nn.hinge_loss(scores, y) + REG * autograd.sum([p * p for p in params])

    def trace() -> object:
        fast = autograd.compile(loss_of, *params)
        fast.value_and_grad(*[p.data for p in params])  # the first call builds the program and checks it
        return fast

    fast = trace()
    value_and_grad = fast.value_and_grad

    def step(k: int) -> float:
        loss, grads = value_and_grad(*[p.data for p in params])
        lr = learning_rate(k)
        for p, g in zip(params, grads):
            p.data -= lr * g
        return loss

    return step, trace
