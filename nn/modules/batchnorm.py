"""`BatchNorm1d`: normalise each channel over the samples of a batch, as `torch.nn.BatchNorm1d(n)`.

A sample is a list of `num_features` numbers (PyTorch's input (N, C)) or a list of
`num_features` channels of L numbers each (PyTorch's (N, C, L), what a Conv1d gives). For channel
j, over its n values in a batch (n = N, or N * L: every sample at every position), in training:

    mean_j = (1/n) sum x[j]        var_j = (1/n) sum (x[j] - mean_j)^2     (biased)
    y[j] = (x[j] - mean_j) / sqrt(var_j + eps) * weight[j] + bias[j]

Every output depends on every sample of the batch (through mean_j and var_j): the graph of one
batch is one connected graph, and a sample's gradient depends on the others. So the module needs
the whole batch at once: it is called as `bn.forward_batch(xs)` (Sequential and fit pass batches
that way). It also keeps running statistics, updated at every training batch as PyTorch does:

    running_mean = (1 - momentum) running_mean + momentum mean
    running_var  = (1 - momentum) running_var  + momentum var * n / (n - 1)     (unbiased)

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
from nn.modules.conv import _describe, _grid
from nn.modules.layers import MAX_WIDTH, _as_values
from nn.modules.layout import Step
from nn.modules.module import Module

_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
# How fit(compile=True) (nn/training/_compiled_fit.py) records a training step: while it is set,
# forward_batch calls note(bn, the batch's means + unbiased variances) instead of updating the
# running statistics, so the compiled program gives them as outputs and fit calls bn.track with
# their numbers at every step. None (the default): forward_batch updates the statistics itself.
BATCH_STATISTICS_NOTE: ContextVar[Callable[[BatchNorm1d, list[Value]], None] | None] = ContextVar(
    "batch_statistics", default=None)


class BatchNorm1d(Module):
    """`torch.nn.BatchNorm1d(num_features, eps, momentum)` on samples of shape (C,) or (C, L), C = num_features."""

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

    def forward(self, x: Sequence[Value | float] | Sequence[Sequence[Value | float]]) -> list:
        """One sample, (C,) or (C, L): in eval mode, normalised with the running statistics; in
        training mode a ValueError (one sample has no spread, as PyTorch says: use forward_batch)."""
        c = self.num_features
        if self.training:
            raise ValueError(f"{self!r}: training needs a batch of more than one sample to take its mean and "
                             f"variance, got one sample of shape {_describe(x)} where it needs (N, {c}) "
                             f"with N > 1 or (N, {c}, L); call forward_batch(xs), or eval() first")
        if _is_positions(x):
            channels = self._channels(x, batch=False)
            return [[self._eval_one(v, j) for v in channel] for j, channel in enumerate(channels)]
        return [self._eval_one(v, j) for j, v in enumerate(_as_values(x, c, repr(self)))]

    def _eval_one(self, v: Value, j: int) -> Value:
        return dot([(v - self.running_mean[j].data) * (self.running_var[j].data + self.eps) ** -0.5],
                   [self.weight[j]], self.bias[j])

    def forward_batch(self, xs: Sequence[Any]) -> list[list[Any]]:
        """The batch normalised channel by channel (see the module docstring); in eval mode sample by sample."""
        if not self.training:
            return super().forward_batch(xs)
        c = self.num_features
        if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence) or not xs:
            raise ValueError(f"{self!r} expects a batch of shape (N, {c}) or (N, {c}, L), got {_describe(xs)}")
        positions = _is_positions(xs[0])
        other = next((s for s, x in enumerate(xs) if _is_positions(x) != positions), None)
        if other is not None:
            raise ValueError(f"{self!r} expects a batch of shape (N, {c}) or (N, {c}, L), got sample 0 of shape "
                             f"{_describe(xs[0])} and sample {other} of shape {_describe(xs[other])}")
        if not positions and len(xs) < 2 or positions and len(xs) * len(xs[0][0]) < 2:
            raise ValueError(f"{self!r}: training needs more than one value per channel, as PyTorch does (one "
                             f"value's variance is 0 and its output always the bias); expected shape (N, {c}) "
                             f"with N > 1, or (N, {c}, L) with N * L > 1, got {_describe(xs)}")
        with scope(self.scope_name):
            if positions:  # (N, C, L)
                rows = self._channels(xs, batch=True)
            else:  # (N, C): each number a channel of one position
                who = f"{self!r} (takes (N, {c}) or (N, {c}, L), got a batch of shape {_describe(xs)}), sample"
                rows = [[[v] for v in _as_values(x, c, f"{who} {s}")] for s, x in enumerate(xs)]
            n = len(rows) * len(rows[0][0])
            outputs: list[list[Any]] = [[] for _ in rows]
            means, variances = [], []
            for j in range(c):
                column = [v for row in rows for v in row[j]]
                mean = autograd.sum(column) / n
                centred = [v - mean for v in column]
                squares = dot(centred, centred)
                inv_std = (squares / n + self.eps) ** -0.5
                normalised = iter([dot([d * inv_std], [self.weight[j]], self.bias[j]) for d in centred])
                for out, row in zip(outputs, rows):
                    channel = [next(normalised) for _ in row[j]]
                    out.append(channel if positions else channel[0])
                means.append(mean)
                variances.append(squares / (n - 1))
        note = BATCH_STATISTICS_NOTE.get()
        if note is None:
            self.track([m.data for m in means], [v.data for v in variances])
        else:  # fit(compile=True) is recording: the program gives the statistics, fit tracks them
            note(self, means + variances)
        self._after_batch(xs, outputs)
        return outputs

    def _channels(self, x: Sequence[Any], batch: bool) -> list:
        """A batch of samples of shape (C, L) (batch=True) or one such sample as nested Values, every
        channel of one length L and C = num_features; otherwise a ValueError naming the module, the
        shape it takes and the shape it got."""
        c = self.num_features
        expected = f"(N, {c}, L)" if batch else f"({c}, L)"
        grid = _grid(x, 3 if batch else 2, repr(self), expected)
        channels = len(grid[0]) if batch else len(grid)
        if channels != c:
            raise ValueError(f"{self!r} expects {'a batch' if batch else 'one sample'} of shape {expected}, "
                             f"got {_describe(x)} ({channels} channels, not {c})")
        return grid

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


def _is_positions(sample: object) -> bool:
    """True for a sample of shape (C, L) (its first channel is a list), False for one of shape (C,)."""
    return (isinstance(sample, Sequence) and not isinstance(sample, (str, bytes)) and len(sample) > 0
            and isinstance(sample[0], Sequence) and not isinstance(sample[0], (str, bytes)))
