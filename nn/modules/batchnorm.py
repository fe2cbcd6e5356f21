"""`BatchNorm1d`: normalise each feature over the samples of a batch, as `torch.nn.BatchNorm1d(n)`.

For feature j over a batch of N samples x_1 .. x_N (in training mode):

    mean_j = (1/N) sum_s x_s[j]        var_j = (1/N) sum_s (x_s[j] - mean_j)^2     (biased)
    y_s[j] = (x_s[j] - mean_j) / sqrt(var_j + eps) * weight[j] + bias[j]

Every output depends on every sample of the batch (through mean_j and var_j): the graph of one
batch is one connected graph, and a sample's gradient depends on the others. So the module needs
the whole batch at once: it is called as `bn.forward_batch(xs)` (Sequential and fit pass batches
that way). It also keeps running statistics, updated at every training batch as PyTorch does:

    running_mean = (1 - momentum) running_mean + momentum mean
    running_var  = (1 - momentum) running_var  + momentum var * N / (N - 1)     (unbiased)

(momentum=None: the plain average over all batches so far). In eval mode the batch plays no
part: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, one sample at a time, so a
trained network gives each input one answer whatever else is in the batch. The buffers
`running_mean`, `running_var` (lists of Values, read `.data`) and `num_batches_tracked` (a Value)
are in the state dict but are not parameters: no optimizer changes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

import autograd
from autograd import Value, dot, scope
from nn._numbers import check_int, check_real
from nn.modules.layers import MAX_WIDTH, _as_values
from nn.modules.layout import Step
from nn.modules.module import Module

_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
# Set by nn._compiled_fit while it records a training step: note(bn, means + unbiased variances)
# takes the batch statistics as outputs of the program, and fit calls bn.track with their numbers.
_NOTE_STATISTICS: ContextVar[Callable[[BatchNorm1d, list[Value]], None] | None] = ContextVar(
    "batch_statistics", default=None)


class BatchNorm1d(Module):
    """`torch.nn.BatchNorm1d(num_features, eps, momentum)` on samples of `num_features` numbers."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        self.num_features = check_int(num_features, "num_features", 1, MAX_WIDTH)
        self.eps = check_real(eps, "eps", 0.0, low_open=True)
        self.momentum = None if momentum is None else check_real(momentum, "momentum", 0.0, 1.0)
        n = self.num_features
        self.weight = [Value(1.0, label=f"weight[{j}]") for j in range(n)]
        self.bias = [Value(0.0, label=f"bias[{j}]") for j in range(n)]
        self.running_mean = [Value(0.0, label=f"running_mean[{j}]") for j in range(n)]
        self.running_var = [Value(1.0, label=f"running_var[{j}]") for j in range(n)]
        self.num_batches_tracked = Value(0.0, label="num_batches_tracked")
        self.scope_name = "BatchNorm1d"

    def forward(self, x: Sequence[Value | float]) -> list[Value]:
        """One sample: in eval mode, normalised with the running statistics; in training mode a
        ValueError (one sample has no spread, as PyTorch says: use forward_batch)."""
        if self.training:
            raise ValueError(f"{self!r}: training needs a batch of more than one sample to take its mean and "
                             f"variance, got one sample of shape ({self.num_features},) where it needs "
                             f"(N, {self.num_features}) with N > 1; call forward_batch(xs), or eval() first")
        xs = _as_values(x, self.num_features, repr(self))
        return [dot([(v - m.data) * (r.data + self.eps) ** -0.5], [w], b)
                for v, m, r, w, b in zip(xs, self.running_mean, self.running_var, self.weight, self.bias)]

    def forward_batch(self, xs: Sequence[Sequence[Value | float]]) -> list[list[Value]]:
        """The batch normalised feature by feature (see the module docstring); in eval mode sample by sample."""
        if not self.training:
            return super().forward_batch(xs)
        if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence) or len(xs) < 2:
            got = f"({len(xs)}, {self.num_features})" if isinstance(xs, Sequence) else type(xs).__name__
            raise ValueError(f"{self!r}: training needs a batch of more than one sample, as PyTorch does (one "
                             f"sample's variance is 0 and its output always the bias); expected shape "
                             f"(N, {self.num_features}) with N > 1, got {got}")
        with scope(self.scope_name):
            rows = [_as_values(x, self.num_features, f"{self!r} (batch shape ({len(xs)}, {self.num_features}), "
                               f"sample {s})") for s, x in enumerate(xs)]
            n = len(rows)
            columns, means, variances = [], [], []
            for j in range(self.num_features):
                column = [row[j] for row in rows]
                mean = autograd.sum(column) / n
                centred = [v - mean for v in column]
                squares = dot(centred, centred)
                inv_std = (squares / n + self.eps) ** -0.5
                columns.append([dot([c * inv_std], [self.weight[j]], self.bias[j]) for c in centred])
                means.append(mean)
                variances.append(squares / (n - 1))
            outputs = [list(row) for row in zip(*columns)]
        note = _NOTE_STATISTICS.get()
        if note is None:
            self.track([m.data for m in means], [v.data for v in variances])
        else:  # fit(compile=True) is recording: the program gives the statistics, fit tracks them
            note(self, means + variances)
        self._after_batch(xs, outputs)
        return outputs

    def track(self, means: list[float], unbiased_vars: list[float]) -> None:
        """One step of the running statistics from a batch's means and unbiased variances (PyTorch's
        formula and order); one more batch tracked."""
        m = 1.0 / (self.num_batches_tracked.data + 1.0) if self.momentum is None else self.momentum
        for j, (mean, var) in enumerate(zip(means, unbiased_vars)):
            self.running_mean[j].data = m * mean + (1.0 - m) * self.running_mean[j].data
            self.running_var[j].data = m * var + (1.0 - m) * self.running_var[j].data
        self.num_batches_tracked.data += 1.0

    def _named_members(self) -> Iterator[tuple[str, Any]]:
        # the buffers are state, not parameters
        return ((name, member) for name, member in super()._named_members() if name not in _BUFFERS)

    def _state_members(self) -> Iterator[tuple[str, Any]]:
        yield from self._named_members()
        yield from (("running_mean", self.running_mean), ("running_var", self.running_var),
                    ("num_batches_tracked", self.num_batches_tracked))

    def widths(self) -> tuple[int, int]:
        return self.num_features, self.num_features

    def _config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum}

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        # the numbers of its state: weight, bias, the two running statistics and the batch count
        return 4 * check_int(config["num_features"], "config.num_features", 1, MAX_WIDTH) + 1

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> BatchNorm1d:
        return cls(config["num_features"], eps=config["eps"], momentum=config["momentum"])

    def standard_layers(self) -> list[Step]:
        return [("batch_norm1d", self)]

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.num_features}, eps={self.eps!r}, momentum={self.momentum!r})"
