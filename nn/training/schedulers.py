"""Learning-rate schedules with PyTorch's semantics (torch.optim.lr_scheduler): StepLR, CosineAnnealingLR, LinearLR.

ChainedScheduler steps several of them as one (a warm-up, then cosine annealing).

A scheduler changes its optimizer's `lr` once per epoch. Call `scheduler.step()` after the
epoch's optimizer steps (`fit(..., scheduler=...)` does it for you):

    optimizer = SGD(model.parameters(), lr=0.1)
    scheduler = StepLR(optimizer, step_size=10, gamma=0.5)    # 0.1 for epochs 0-9, 0.05 for 10-19, ...
    for epoch in range(50):
        ...                                                    # optimizer.step() for every batch
        scheduler.step()

As in PyTorch:
- Making a scheduler is its step 0: it sets the optimizer's lr for epoch 0 (LinearLR starts at
  `start_factor * lr`; the others leave lr as it is) and records the optimizer's starting lr as
  `optimizer.initial_lr` (kept by a second scheduler of the same optimizer) and in `base_lrs`.
- Each rule changes the *current* lr by a factor (it is "chainable"): two schedulers stepping
  one optimizer multiply their factors (`ChainedScheduler([warm_up, cosine])` steps both), and
  a change you make to `optimizer.lr` by hand carries on. On its own, each follows the closed form in its
  docstring (to rounding: the tests compare 50 epochs with PyTorch to 1e-12).
- `get_last_lr()` is a list with one learning rate per parameter group (chainrule's optimizers
  have one group, so it is `[optimizer.lr]`), and `last_epoch` counts the steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nn._numbers import check_int, check_real, show
from nn.training.optim import Optimizer


class LRScheduler:
    """The shared part: the optimizer, `base_lrs`, `last_epoch`, `step()` and `get_last_lr()`."""

    def __init__(self, optimizer: Optimizer) -> None:
        # subclasses check their own options first: a bad one leaves the optimizer as it was
        self.optimizer = optimizer
        if not hasattr(optimizer, "initial_lr"):
            optimizer.initial_lr = optimizer.lr  # as torch's param_group.setdefault("initial_lr", lr)
        self.base_lrs = [optimizer.initial_lr]
        self.last_epoch = -1
        self._last_lr: list[float] = []
        self.step()  # step 0: the learning rate of the first epoch

    def step(self) -> None:
        """Move on to the next epoch and set the optimizer's lr to that epoch's learning rate."""
        self.last_epoch += 1
        lr = self._next_lr(self.optimizer.lr, self.last_epoch)
        self.optimizer.lr = lr
        self._last_lr = [lr]

    def get_last_lr(self) -> list[float]:
        """The learning rate the last step set, one per parameter group: [optimizer.lr]."""
        return list(self._last_lr)

    def _next_lr(self, lr: float, epoch: int) -> float:
        """The learning rate of `epoch` from that of the epoch before (`lr`); epoch 0 is the first."""
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = [(k, v) for k, v in vars(self).items() if type(v) in (int, float) and k != "last_epoch"]
        options = ", ".join(f"{k}={v!r}" for k, v in shown)
        return f"{type(self).__name__}({options}, last_epoch={self.last_epoch})"


def _check_optimizer(optimizer: object, who: str) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{who}: optimizer must be an nn optimizer (SGD, Adam, RMSprop), "
                        f"got {type(optimizer).__name__}")
    return optimizer


class StepLR(LRScheduler):
    """Multiply the learning rate by `gamma` every `step_size` epochs.

        lr(epoch) = initial_lr * gamma ** (epoch // step_size)
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        _check_optimizer(optimizer, "StepLR")
        self.step_size = check_int(step_size, "StepLR: step_size", 1)
        # gamma = 0 (which PyTorch allows) would stop training after step_size epochs
        self.gamma = check_real(gamma, "StepLR: gamma", 0.0, low_open=True)
        super().__init__(optimizer)

    def _next_lr(self, lr: float, epoch: int) -> float:
        if epoch == 0 or epoch % self.step_size != 0:
            return lr
        return lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """Anneal the learning rate from its initial value to `eta_min` along half a cosine in T_max epochs.

        lr(epoch) = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    After T_max epochs the cosine goes on: the learning rate rises again, reaching initial_lr
    at 2 T_max (as in PyTorch, which has no restarts in this scheduler). Each step multiplies
    lr - eta_min by the ratio of two neighbouring values of 1 + cos, as PyTorch does.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 - torch's name
        _check_optimizer(optimizer, "CosineAnnealingLR")
        self.T_max = check_int(T_max, "CosineAnnealingLR: T_max", 1)
        self.eta_min = check_real(eta_min, "CosineAnnealingLR: eta_min", 0.0)
        super().__init__(optimizer)

    def _next_lr(self, lr: float, epoch: int) -> float:
        T, eta_min = self.T_max, self.eta_min
        if epoch == 0:
            return lr
        if (epoch - 1 - T) % (2 * T) == 0:
            # the step up from the bottom of the cosine, where the ratio below would divide by
            # 1 + cos(pi) = 0: add the closed form's first rise instead
            return lr + (self.base_lrs[0] - eta_min) * (1 - math.cos(math.pi / T)) / 2
        ratio = (1 + math.cos(math.pi * epoch / T)) / (1 + math.cos(math.pi * (epoch - 1) / T))
        return ratio * (lr - eta_min) + eta_min


class LinearLR(LRScheduler):
    """Linear warm-up (or decay): scale the learning rate by a factor going from start_factor to end_factor.

        lr(epoch) = initial_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters)

    With start_factor < end_factor = 1 this is the usual warm-up: small steps while the first
    gradients are large and erratic, then the full learning rate from epoch total_iters on.
    """

    def __init__(
        self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5
    ) -> None:
        _check_optimizer(optimizer, "LinearLR")
        # PyTorch's ranges: start_factor in (0, 1], end_factor in [0, 1]
        self.start_factor = check_real(start_factor, "LinearLR: start_factor", 0.0, 1.0, low_open=True)
        self.end_factor = check_real(end_factor, "LinearLR: end_factor", 0.0, 1.0)
        self.total_iters = check_int(total_iters, "LinearLR: total_iters", 1)
        super().__init__(optimizer)

    def _next_lr(self, lr: float, epoch: int) -> float:
        start, end, total = self.start_factor, self.end_factor, self.total_iters
        if epoch == 0:
            return lr * start
        if epoch > total:
            return lr
        # factor(epoch) / factor(epoch - 1), with factor(e) = start + (end - start) * e / total
        return lr * (1.0 + (end - start) / (total * start + (epoch - 1) * (end - start)))


class ChainedScheduler(LRScheduler):
    """Several schedulers of one optimizer stepped as one: `step()` steps each, in order.

    Their factors multiply, as in PyTorch's ChainedScheduler. A warm-up followed by cosine
    annealing, for example:

        warm_up = LinearLR(optimizer, start_factor=0.1, total_iters=5)
        cosine = CosineAnnealingLR(optimizer, T_max=50)
        fit(..., scheduler=ChainedScheduler([warm_up, cosine]))
    """

    def __init__(self, schedulers: Sequence[LRScheduler]) -> None:
        if isinstance(schedulers, (LRScheduler, str)) or not isinstance(schedulers, Sequence) or not schedulers:
            raise TypeError(f"ChainedScheduler: schedulers must be a non-empty list of schedulers, "
                            f"got {show(schedulers)}")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler):
                raise TypeError(f"ChainedScheduler: schedulers[{i}] must be a scheduler, got {type(s).__name__}")
            if s.optimizer is not schedulers[0].optimizer:
                raise ValueError(f"ChainedScheduler: schedulers[{i}] changes another optimizer than schedulers[0]; "
                                 "chained schedulers must share one")
        # no step 0 here: each scheduler took its own when it was made
        self.schedulers = list(schedulers)
        self.optimizer = schedulers[0].optimizer
        self._last_lr = [self.optimizer.lr]

    def step(self) -> None:
        """Step every scheduler once, in order."""
        for s in self.schedulers:
            s.step()
        self._last_lr = [self.optimizer.lr]

    def __repr__(self) -> str:
        return f"ChainedScheduler([{', '.join(map(repr, self.schedulers))}])"
