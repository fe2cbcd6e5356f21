"""The two independent references every gradient in the test suite is checked against.

1. Central finite differences on plain Python floats: no engine code runs at all.
       df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / 2h,   error ~ h^2 f''' / 6  +  rounding ~ |f| 1e-16 / h
2. PyTorch in float64: the same math done by a different, widely used engine.

Tolerances are stated here once, so every test module means the same thing by "matches".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from autograd import Value

# With h = 1e-6 (relative to |x|), the truncation and rounding errors above stay below ~1e-8
# for the smooth, moderate-sized functions the tests use; 1e-6 leaves a wide margin.
FD_STEP = 1e-6
FD_REL = 1e-6
FD_ABS = 1e-6

# The engine and PyTorch do the same float64 arithmetic, possibly in another order or with
# another libm: they agree to a few units in the last place.
TORCH_REL = 1e-10
TORCH_ABS = 1e-12


def finite_differences(f: Callable[..., float], point: Sequence[float], step: float = FD_STEP) -> list[float]:
    """Central difference quotient of f at `point` for each coordinate, on plain floats."""
    grads = []
    for i, x in enumerate(point):
        h = step * max(1.0, abs(x))
        up, down = list(point), list(point)
        up[i], down[i] = x + h, x - h
        grads.append((f(*up) - f(*down)) / (2 * h))
    return grads


def all_nodes(root: Value) -> list[Value]:
    """Every node behind root, found with an explicit stack (the tests' own search, not the engine's walk)."""
    found, stack, seen = [], [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        stack.extend(node.inputs)
    return found


def engine_value_and_grad(f: Callable[..., Value], point: Sequence[float]) -> tuple[float, list[float]]:
    """f at `point` and its gradient from Value.backward()."""
    values = [Value(x) for x in point]
    out = f(*values)
    out.backward()
    return out.data, [v.grad for v in values]


def torch_value_and_grad(torch, f: Callable, point: Sequence[float]) -> tuple[float, list[float]]:
    """f at `point` and its gradient from PyTorch float64 (0.0 for an input f does not use)."""
    tensors = [torch.tensor(float(x), dtype=torch.float64, requires_grad=True) for x in point]
    out = f(*tensors)
    grads = torch.autograd.grad(out, tensors, allow_unused=True)
    return out.item(), [0.0 if g is None else g.item() for g in grads]


def torch_derivatives(torch, f: Callable, x: float, order: int) -> list[float]:
    """[f'(x), f''(x), ...] up to `order`, from PyTorch with create_graph=True."""
    t = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    out = f(t)
    derivatives = []
    for _ in range(order):
        if out.requires_grad:
            (out,) = torch.autograd.grad(out, t, create_graph=True)
        else:  # a constant: PyTorch has no graph left to differentiate, the derivative is 0
            out = torch.zeros(())
        derivatives.append(out.item())
    return derivatives


def matches_finite_differences(expected: Sequence[float] | float):
    """pytest.approx with the finite-difference tolerance."""
    return pytest.approx(expected, rel=FD_REL, abs=FD_ABS)


def matches_torch(expected: Sequence[float] | float):
    """pytest.approx with the engine-vs-PyTorch tolerance (inf equals inf, nan equals nan)."""
    return pytest.approx(expected, rel=TORCH_REL, abs=TORCH_ABS, nan_ok=True)


def torch_mlp(torch, model):
    """An nn.MLP rebuilt in PyTorch (float64, weights copied): its Linear layers and a forward function."""
    layers = []
    for layer in model.layers:
        lin = torch.nn.Linear(layer.nin, layer.nout, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons]))
            lin.bias.copy_(torch.tensor([n.b.data for n in layer.neurons]))
        layers.append(lin)
    act = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01),
        "linear": lambda t: t,
    }[model.activation]

    def forward(x):
        for i, lin in enumerate(layers):
            x = lin(x)
            if i < len(layers) - 1:
                x = act(x)
        return x

    return layers, forward


def torch_counterpart(torch, op):
    """The PyTorch function an op's declaration names (`Op(..., torch="nn.functional.softplus")`)."""
    fn = torch
    for part in op.torch.split("."):
        fn = getattr(fn, part)
    return fn


def _where_leaky_relu(torch, x, slope):
    # PyTorch takes leaky_relu's slope as a number only; the same function written with torch.where
    # differentiates both, and selects as the engine does (d/dslope is 0 for x > 0, x elsewhere)
    return torch.where(x > 0, x, slope * x)


def _dot(torch, *xs):
    n = len(xs) // 2  # a_1..a_n, b_1..b_n and a bias when the count is odd
    total = torch.dot(torch.stack(xs[:n]), torch.stack(xs[n : 2 * n]))
    return total + xs[-1] if len(xs) % 2 else total


# The PyTorch functions of the ops whose declaration names none, or names one without a gradient
# for every argument
_EVERY_ARGUMENT = {"sum": lambda torch, *xs: torch.stack(xs).sum(), "dot": _dot, "leaky_relu": _where_leaky_relu,
                   # torch.max over a dimension: the gradient goes to the index it returns, the first maximum
                   "max": lambda torch, *xs: torch.stack(xs).max(dim=0).values,
                   "pick": lambda torch, *xs: torch.stack(xs[:-1])[int(xs[-1])]}


def torch_of_every_argument(torch, op):
    """A PyTorch function computing op from a tensor for each of its arguments (constants included)."""
    if str(op) in _EVERY_ARGUMENT:
        return lambda *args: _EVERY_ARGUMENT[str(op)](torch, *args)
    assert op.torch is not None, f"{op} has no PyTorch counterpart: name one in tests/_reference.py"
    return torch_counterpart(torch, op)


# How many arguments the ops of any number of arguments (sum, dot) get in the tests
_VARIADIC_ARGUMENTS = {"sum": 3, "dot": 5, "max": 3, "pick": 4}  # (pick: 3 values and an index)


def arity(op) -> int:
    """The number of arguments the tests give op: its forward rule's, or a few for sum and dot."""
    return _VARIADIC_ARGUMENTS[str(op)] if op.variadic else len(op.parameters)
