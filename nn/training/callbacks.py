"""The events of training: `Callback`, what it sees (`TrainingRun`, `History`), and the built-in callbacks.

`fit` is a loop that tells every callback where it is, always in this order:

    on_train_begin(run)
      per epoch:  on_epoch_begin(run)
        per batch:  forward, backward -> on_batch_end(run) -> optimizer.step() -> on_step_end(run)
      on_epoch_end(run, logs)            # logs: this epoch's numbers; set run.stop = True to stop
    on_train_end(run)                    # always: also after an error or Ctrl-C

In `on_batch_end` every parameter's `.grad` is what backward gave, and may be read or changed
before the optimizer uses it (gradient clipping is such a callback). Early stopping, the learning-
rate schedule, the progress bar and the live view (nn.training.live) and the layer statistics
(nn.training.diagnostics) are all callbacks; `fit`'s keyword arguments make them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from autograd import Value
from nn._numbers import check_bool, check_int, check_real
from nn.modules.module import Module
from nn.training.optim import Optimizer, clip_grad_norm
from nn.training.schedulers import LRScheduler

LossFn = Callable[[list, list], Value]


@dataclass
class History:
    """What happened in `fit`, one entry per epoch (validation lists stay empty without validation data)."""

    loss: list[float] = field(default_factory=list)  # mean training loss over the epoch's batches
    accuracy: list[float] = field(default_factory=list)  # training accuracy during the epoch
    val_loss: list[float] = field(default_factory=list)  # after the epoch, eval mode, no_grad
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # epoch (0-based) with the lowest validation loss
    stopped_early: bool = False  # True when early stopping or a callback ended training
    # fit(diagnostics=True) only (see nn.training.diagnostics): per epoch, one dict of statistics per layer,
    # the layers' names as pictures show them, and every layer's outputs in the last epoch
    layer_stats: list[list[dict[str, float]]] = field(default_factory=list)
    layer_names: list[str] = field(default_factory=list)
    last_activations: list[list[float]] = field(default_factory=list, repr=False)  # thousands of numbers

    @property
    def epochs(self) -> int:
        """How many epochs ran."""
        return len(self.loss)


@dataclass
class TrainingRun:
    """What a callback sees of a running `fit`: the model, the data, the history so far, and where it is.

    `epoch` (0-based), `batch` (the sample indices of the current batch) and `loss` (its loss, a
    float) change as training goes; a callback sets `stop = True` to end training after the epoch.
    """

    model: Module
    X: Sequence
    y: Sequence
    loss_fn: LossFn
    optimizer: Optimizer
    epochs: int  # the epochs asked for; history.epochs says how many have run
    history: History  # filled in epoch by epoch
    validation: tuple[Sequence, Sequence] | None = None
    epoch: int = 0
    batch: list[int] = field(default_factory=list, repr=False)
    loss: float = math.nan
    stop: bool = False


class Callback:
    """Something that takes part in training: override the events you need (each does nothing here)."""

    def on_train_begin(self, run: TrainingRun) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, run: TrainingRun) -> None:
        """At the start of each epoch, the model in training mode."""

    def on_batch_end(self, run: TrainingRun) -> None:
        """After each batch's backward pass, before the optimizer step: the gradients may be read and changed."""

    def on_step_end(self, run: TrainingRun) -> None:
        """After each optimizer step."""

    def on_epoch_end(self, run: TrainingRun, logs: dict[str, float]) -> None:
        """After each epoch (and its validation); logs holds its numbers. Set run.stop = True to stop."""

    def on_train_end(self, run: TrainingRun) -> None:
        """After training, however it ended (also after an error or Ctrl-C)."""


class FunctionCallback(Callback):
    """A plain function `callback(epoch, logs)` as a Callback: called after each epoch, True stops.

    An object with `on_train_begin(run)` / `on_train_end(run)` methods (the older protocol) has
    them called too.
    """

    def __init__(self, function: Callable[[int, dict], bool | None]) -> None:
        if not callable(function):
            raise TypeError(f"fit: a callback must be an nn.Callback or a function callback(epoch, logs), "
                            f"got {type(function).__name__}")
        self.function = function

    def on_train_begin(self, run: TrainingRun) -> None:
        _call_if_there(self.function, "on_train_begin", run)

    def on_epoch_end(self, run: TrainingRun, logs: dict[str, float]) -> None:
        if self.function(run.epoch, dict(logs)):
            run.stop = True

    def on_train_end(self, run: TrainingRun) -> None:
        _call_if_there(self.function, "on_train_end", run)


def _call_if_there(owner: object, method: str, run: TrainingRun) -> None:
    hook = getattr(owner, method, None)
    if hook is not None:
        hook(run)


def as_callback(callback: object) -> Callback:
    """callback itself when it is a Callback, else a FunctionCallback calling it."""
    return callback if isinstance(callback, Callback) else FunctionCallback(callback)


class EarlyStopping(Callback):
    """Watches the validation loss: notes the best epoch, and stops after `patience` epochs without improving.

    An epoch improves when its validation loss is below the best so far minus `min_delta`. With
    `patience=None` it only notes `history.best_epoch`. With `restore_best`, training that stopped
    early gets the parameters of the best epoch back when it ends.
    """

    def __init__(self, patience: int | None = None, min_delta: float = 0.0, restore_best: bool = True) -> None:
        self.patience = None if patience is None else check_int(patience, "fit: patience", 1)
        self.min_delta = check_real(min_delta, "fit: min_delta", 0.0)
        self.restore_best = check_bool(restore_best, "fit: restore_best")

    def on_train_begin(self, run: TrainingRun) -> None:
        self.params = run.model.parameters()
        self.best_loss, self.best_params, self.waited = math.inf, None, 0

    def on_epoch_end(self, run: TrainingRun, logs: dict[str, float]) -> None:
        if "val_loss" not in logs:
            raise ValueError("fit: early stopping (patience) watches the validation loss; pass validation=(X, y)")
        if logs["val_loss"] < self.best_loss - self.min_delta:
            self.best_loss, run.history.best_epoch, self.waited = logs["val_loss"], run.epoch, 0
            self.best_params = [p.data for p in self.params]
        else:
            self.waited += 1
            if self.patience is not None and self.waited >= self.patience:
                run.stop = True

    def on_train_end(self, run: TrainingRun) -> None:
        if run.history.stopped_early and self.patience is not None and self.restore_best and self.best_params:
            for p, value in zip(self.params, self.best_params):
                p.data = value


class GradientClipping(Callback):
    """Scales the gradients down to a global norm of at most `max_norm` before every step (nn.clip_grad_norm)."""

    def __init__(self, max_norm: float) -> None:
        self.max_norm = check_real(max_norm, "fit: clip_norm", 0.0)

    def on_train_begin(self, run: TrainingRun) -> None:
        self.params = run.model.parameters()

    def on_batch_end(self, run: TrainingRun) -> None:
        clip_grad_norm(self.params, self.max_norm)


class SchedulerStep(Callback):
    """Steps a learning-rate scheduler at the end of every epoch: the next epoch's learning rate."""

    def __init__(self, scheduler: LRScheduler, optimizer: Optimizer) -> None:
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"fit: scheduler must be an nn learning-rate scheduler (StepLR, ...), "
                            f"got {type(scheduler).__name__}")
        if scheduler.optimizer is not optimizer:
            raise ValueError("fit: the scheduler was made for another optimizer than the one fit is given")
        self.scheduler = scheduler

    def on_epoch_end(self, run: TrainingRun, logs: dict[str, float]) -> None:
        self.scheduler.step()
