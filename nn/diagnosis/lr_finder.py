"""`lr_find`: the learning-rate range test (Leslie Smith, "Cyclical Learning Rates for Training
Neural Networks", 2017), which finds a good learning rate in one short run.

Train for `steps` steps while the learning rate grows exponentially from `start_lr` to `end_lr`,
lr_k = start_lr * (end_lr / start_lr)^(k / (steps - 1)), and record the loss after each step.
Too small a rate changes nothing; a good one makes the loss fall fast; too large a one makes it
explode, and the test stops there. The suggestion is the rate where the (smoothed) loss falls
fastest, per factor of learning rate: a rate that learns quickly and is still well below the one
where training breaks down. Afterwards the model and the optimizer are put back exactly as they
were: the test only looks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autograd import Value
from nn._numbers import check_int, check_real
from nn.diagnosis._trial import trial
from nn.modules.module import Module
from nn.training.optim import Optimizer
from nn.training.train import LossFn, epoch_batches

SMOOTHING = 0.7  # weight of the past in the moving average of the loss (debiased, as in Adam)
MIN_FALL = 0.01  # a loss that falls by less than 1% of where it started has not fallen
RISE = 0.1  # the way down ends where the smoothed loss rises again by this share of its whole fall


@dataclass(frozen=True)
class LRFinderResult:
    """What `lr_find` measured: `lrs[k]` and the loss after the step taken with it, `losses[k]`.

    `smoothed` is a moving average of the losses (what the suggestion reads); `suggestion` the
    learning rate where it falls fastest, or None when it never fell (see `reason`); `diverged`
    says the test stopped early because the loss exploded (above `divergence` times its lowest
    smoothed value, or NaN/infinite: that last loss is not in `losses`).
    """

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float | None
    diverged: bool
    steps: int  # the steps asked for; len(lrs) were taken
    reason: str = ""  # why there is no suggestion

    def plot(self, path: str | os.PathLike | None = None, title: str = "") -> Any:
        """The loss against the learning rate (log axis), smoothed on top, the suggestion marked;
        returns the matplotlib Figure (shown inline in Jupyter), also saved to `path` if given."""
        from nn.training.plots import _figure, save_figure

        fig = _figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        ax.plot(self.lrs, self.losses, color="#9ecae1", linewidth=1, label="loss after each step")
        ax.plot(self.lrs, self.smoothed, color="#1f77b4", linewidth=2, label="smoothed")
        if self.suggestion is not None:
            ax.axvline(self.suggestion, color="#d62728", linestyle="--", label=f"suggestion: {self.suggestion:.2g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("training loss")
        finite = [v for v in self.losses if math.isfinite(v)]
        if finite:  # past the divergence the loss shoots up: keep the interesting part in view
            low, first = min(finite), finite[0]
            ax.set_ylim(low - 0.05 * (first - low + 1e-12), max(first, low) + 0.6 * (first - low + 1e-12))
        end = f", stopped at lr {self.lrs[-1]:.2g}: the loss exploded" if self.diverged and self.lrs else ""
        ax.set_title(title or f"learning-rate range test ({len(self.lrs)} steps{end})", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        if path is not None:
            save_figure(fig, path, "LRFinderResult.plot")
        return fig

    def __repr__(self) -> str:
        found = f"suggestion={self.suggestion:.3g}" if self.suggestion is not None else f"no suggestion: {self.reason}"
        stop = f", diverged at lr={self.lrs[-1]:.3g}" if self.diverged and self.lrs else ""
        return f"LRFinderResult({len(self.lrs)} of {self.steps} steps{stop}, {found})"


def lr_find(
    model: Module,
    X: Sequence,
    y: Sequence,
    loss_fn: LossFn,
    optimizer: Optimizer,
    start_lr: float = 1e-6,
    end_lr: float = 10.0,
    steps: int = 100,
    *,
    batch_size: int | None = None,
    seed: int = 0,
    divergence: float = 4.0,
) -> LRFinderResult:
    """Run the learning-rate range test with `optimizer` and return what it found.

    Each of `steps` steps trains on one batch (`batch_size=None`: all of X, as in `fit`; otherwise
    batches shuffled by `seed`, cycling through the data) with the learning rate of that step,
    then records the loss on the next batch. The test stops when the loss becomes NaN or infinite
    or its smoothed value exceeds `divergence` times the lowest so far. Use the optimizer and
    batch size you will train with: the good rate depends on both. Afterwards every parameter
    (`.data` and `.grad`), the model's train/eval mode and random generators, and the optimizer's
    options and state are exactly as before, also when the test fails or is interrupted.
    """
    if not isinstance(model, Module):
        raise TypeError(f"lr_find: model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"lr_find: optimizer must be an nn optimizer (SGD, Adam, ...), got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"lr_find: loss_fn must be a function loss_fn(outputs, targets), got {type(loss_fn).__name__}")
    if len(X) != len(y):
        raise ValueError(f"lr_find: X has {len(X)} inputs but y has {len(y)} targets")
    if len(X) == 0:
        raise ValueError("lr_find: X is empty")
    start_lr = check_real(start_lr, "lr_find: start_lr", 0.0, low_open=True)
    end_lr = check_real(end_lr, "lr_find: end_lr", 0.0, low_open=True)
    if not end_lr > start_lr:
        raise ValueError(f"lr_find: end_lr must be larger than start_lr, got start_lr={start_lr!r}, end_lr={end_lr!r}")
    steps = check_int(steps, "lr_find: steps", 2)
    batch_size = None if batch_size is None else check_int(batch_size, "lr_find: batch_size", 1)
    seed = check_int(seed, "lr_find: seed", 0)
    divergence = check_real(divergence, "lr_find: divergence", 1.0, low_open=True)

    batches = (batch for epoch in epoch_batches(len(X), batch_size, seed) for batch in epoch)  # fit's, for ever
    growth = (end_lr / start_lr) ** (1.0 / (steps - 1))
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    average, lowest, diverged = 0.0, math.inf, False
    with trial(model, optimizer):
        model.train()
        loss = _loss(model, X, y, loss_fn, next(batches))
        if not math.isfinite(loss.data):
            raise ValueError(f"lr_find: the loss is {loss.data} before any step; check the model with nn.sanity_check")
        for k in range(steps):
            lr = start_lr * growth**k
            optimizer.zero_grad()
            loss.backward()
            optimizer.lr = lr
            optimizer.step()
            loss = _loss(model, X, y, loss_fn, next(batches))  # after the step taken with lr
            if not math.isfinite(loss.data):
                diverged = True
                break
            average = SMOOTHING * average + (1.0 - SMOOTHING) * loss.data
            lrs.append(lr)
            losses.append(loss.data)
            smoothed.append(average / (1.0 - SMOOTHING ** (k + 1)))
            lowest = min(lowest, smoothed[-1])
            if smoothed[-1] > divergence * lowest:
                diverged = True
                break
    suggestion, reason = _steepest_descent(lrs, smoothed)
    return LRFinderResult(lrs, losses, smoothed, suggestion, diverged, steps, reason)


def _loss(model: Module, X: Sequence, y: Sequence, loss_fn: LossFn, batch: list[int]) -> Value:
    loss = loss_fn(model.forward_batch([X[i] for i in batch]), [y[i] for i in batch])
    if not isinstance(loss, Value):
        raise TypeError(f"lr_find: loss_fn must return a Value, got {type(loss).__name__}")
    return loss


def _steepest_descent(lrs: list[float], smoothed: list[float]) -> tuple[float | None, str]:
    """The learning rate where the smoothed loss falls fastest per factor of learning rate, looking
    only at the way down to its first low: up to where it first rises again by more than a tenth of
    its whole fall (a bump there means training has started to break down). (None, why) if it
    never falls (by 1% of its first value or more)."""
    if len(lrs) < 3:
        return None, f"only {len(lrs)} steps before the loss exploded: start from a smaller start_lr"
    fall = smoothed[0] - min(smoothed)
    if not fall > MIN_FALL * abs(smoothed[0]):
        return None, "the loss never fell: try a larger end_lr, more steps, or look for a bug with nn.sanity_check"
    low = 0  # the index of the lowest smoothed loss so far, on the way down
    for i, value in enumerate(smoothed):
        if value < smoothed[low]:
            low = i
        elif value - smoothed[low] > RISE * fall:
            break
    if low == 0:
        return None, "the loss rose from the first step: start from a smaller start_lr"
    logs = [math.log(lr) for lr in lrs]
    slopes = []  # d(smoothed loss) / d(ln lr), central differences inside, one-sided at the ends
    for i in range(low + 1):
        before, after = max(i - 1, 0), min(i + 1, len(lrs) - 1)
        slopes.append((smoothed[after] - smoothed[before]) / (logs[after] - logs[before]))
    return lrs[slopes.index(min(slopes))], ""
