"""The synthetic graphs, written once per engine: a deep chain and a wide sum.

Chain:  x -> x*1.0001 -> +0.0001 -> tanh, repeated; three op nodes per round (micrograd also
makes a leaf Value for each of the two constants; in chainrule a number is part of its op).
Its depth is what breaks recursive engines. Wide sum: sum_i a_i * b_i over n pairs of leaves, each engine in its own
idiom (chainrule: one n-ary `autograd.sum` node; micrograd and PyTorch: Python's `sum`, a
chain of n additions).

Each `build` returns (root, leaf): time the build for the forward pass, then `backward(root)`,
and read the leaf's gradient to check the engines agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable

SCALE, SHIFT = 1.0001, 0.0001
OPS_PER_ROUND = 3


def _scalar_chain(value_class: type, rounds: int) -> tuple[object, object]:
    """The chain in an engine with micrograd's API (chainrule's Value has the same one)."""
    x = value_class(0.5)
    y = x
    for _ in range(rounds):
        y = (y * SCALE + SHIFT).tanh()
    return y, x


def chainrule_chain(rounds: int) -> tuple[object, object]:
    from autograd import Value

    return _scalar_chain(Value, rounds)


def micrograd_chain(rounds: int) -> tuple[object, object]:
    from micrograd.engine import Value
    from micrograd_tanh import add_tanh_to_micrograd

    add_tanh_to_micrograd()
    return _scalar_chain(Value, rounds)


def torch_chain(rounds: int) -> tuple[object, object]:
    import torch

    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(rounds):
        y = torch.tanh(y * SCALE + SHIFT)
    return y, x


def floor_chain(rounds: int) -> tuple[float, list[float]]:
    """The chain on floats: the output and each round's local derivative d(out)/d(in)."""
    y = 0.5
    derivatives = []
    for _ in range(rounds):
        y = math.tanh(y * SCALE + SHIFT)
        derivatives.append((1.0 - y * y) * SCALE)
    return y, derivatives


def floor_chain_backward(derivatives: list[float]) -> float:
    """d(out)/dx: the product of the local derivatives, from the output back."""
    g = 1.0
    for d in reversed(derivatives):
        g *= d
    return g


def chainrule_wide_sum(n: int) -> tuple[object, object]:
    import autograd
    from autograd import Value

    a = [Value(1.0 + i / n) for i in range(n)]
    b = [Value(1.0 - i / n) for i in range(n)]
    return autograd.sum([ai * bi for ai, bi in zip(a, b)]), a[0]


def micrograd_wide_sum(n: int) -> tuple[object, object]:
    from micrograd.engine import Value

    a = [Value(1.0 + i / n) for i in range(n)]
    b = [Value(1.0 - i / n) for i in range(n)]
    return sum(ai * bi for ai, bi in zip(a, b)), a[0]


def torch_wide_sum(n: int) -> tuple[object, object]:
    import torch

    a = [torch.tensor(1.0 + i / n, dtype=torch.float64, requires_grad=True) for i in range(n)]
    b = [torch.tensor(1.0 - i / n, dtype=torch.float64, requires_grad=True) for i in range(n)]
    return sum(ai * bi for ai, bi in zip(a, b)), a[0]


def gradient(leaf: object) -> float:
    g = leaf.grad
    return float(g) if g is not None else math.nan


CHAINS: dict[str, Callable[[int], tuple[object, object]]] = {
    "chainrule": chainrule_chain,
    "micrograd": micrograd_chain,
    "torch": torch_chain,
}
WIDE_SUMS: dict[str, Callable[[int], tuple[object, object]]] = {
    "chainrule": chainrule_wide_sum,
    "micrograd": micrograd_wide_sum,
    "torch": torch_wide_sum,
}
