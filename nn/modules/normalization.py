"""`LayerNorm`: scale each sample's features to mean 0 and variance 1, then by a learned weight and bias.

For the n features x_1 .. x_n of one sample (one layer's outputs):

    mean = (1/n) sum_i x_i            var = (1/n) sum_i (x_i - mean)^2     (the biased variance)
    y_i  = (x_i - mean) / sqrt(var + eps) * weight_i + bias_i

Whatever the scale of the layer before, the next one gets inputs of the same size, so a deep
network's signals (and, going back, its gradients) neither die out nor blow up from layer to
layer. weight starts at 1 and bias at 0: at first the layer only normalises. eps keeps the
division finite when all features are equal. This is `torch.nn.LayerNorm(n, eps)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import autograd
from autograd import Value, dot
from nn._numbers import check_int, check_real
from nn.modules.layers import MAX_WIDTH, _as_values
from nn.modules.layout import Norm, Step
from nn.modules.module import Module, one_path


class LayerNorm(Module):
    """`norm(x)` maps a list of n numbers or Values to a list of n Values (see the module docstring)."""

    def __init__(self, n: int, eps: float = 1e-5) -> None:
        self.n = check_int(n, "n", 1)
        # eps > 0: at eps = 0 (which PyTorch allows) equal features divide 0 by 0
        self.eps = check_real(eps, "eps", 0.0, low_open=True)
        self.weight = [Value(1.0, label=f"weight[{i}]") for i in range(n)]
        self.bias = [Value(0.0, label=f"bias[{i}]") for i in range(n)]
        self.scope_name = "LayerNorm"

    @one_path
    def forward(self, x: Sequence[Value | float] | Value | float) -> list[Value]:
        """(x - mean) / sqrt(var + eps) * weight + bias, element by element."""
        xs = _as_values(x, self.n, "LayerNorm")
        mean = autograd.sum(xs) / self.n
        centred = [v - mean for v in xs]
        inv_std = (dot(centred, centred) / self.n + self.eps) ** -0.5  # 1 / sqrt(var + eps)
        return [dot([c * inv_std], [w], b) for c, w, b in zip(centred, self.weight, self.bias)]

    def widths(self) -> tuple[int, int]:
        return self.n, self.n

    def _config(self) -> dict[str, Any]:
        return {"n": self.n, "eps": self.eps}

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        return 2 * check_int(config["n"], "config.n", 1, MAX_WIDTH)

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> LayerNorm:
        return cls(config["n"], eps=config["eps"])

    def standard_layers(self) -> list[Step]:
        return [("layer_norm", Norm(list(self.weight), list(self.bias), self.eps))]

    def __repr__(self) -> str:
        return f"LayerNorm({self.n}, eps={self.eps!r})"
