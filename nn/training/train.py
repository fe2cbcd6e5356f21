"""A training loop: mini-batches, a progress bar, a live view, a history, early stopping and callbacks.

One step of gradient descent is always the same four lines, and `fit` is just those lines
in a loop, plus the bookkeeping people need to watch a network learn:

    outputs = model.forward_batch(batch)        # forward: builds the graph (model(x) for each x)
    loss = loss_fn(outputs, targets)             # one Value at the top of the graph
    optimizer.zero_grad(); loss.backward()       # backward: every parameter gets d(loss)/d(p)
    optimizer.step()                             # move every parameter a little downhill
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

from autograd import no_grad
from nn._numbers import check_bool, check_int, check_seed, show
from nn.modules.module import Module
from nn.training._compiled_fit import CompiledFit
from nn.training._eager_fit import EagerFit, score
from nn.training.callbacks import (
    Callback,
    EarlyStopping,
    GradientClipping,
    History,
    LossFn,
    SchedulerStep,
    TrainingRun,
    as_callback,
)
from nn.training.diagnostics import LayerStatistics
from nn.training.live import LivePlot, ProgressBar
from nn.training.optim import Optimizer
from nn.training.schedulers import LRScheduler

__all__ = ["Callback", "History", "LossFn", "TrainingRun", "accuracy", "epoch_batches", "evaluate", "fit"]


def accuracy(outputs: Sequence, targets: Sequence) -> float:
    """The fraction of samples classified correctly.

    A single score per sample is a binary decision: predicted positive when the score is > 0,
    and the target is positive when it is > 0 (so labels +1/-1 and 1/0 both work). A list of
    scores per sample is a multi-class decision: the predicted class is the index of the largest.
    """
    if len(outputs) != len(targets):
        raise ValueError(f"accuracy: {len(outputs)} outputs but {len(targets)} targets")
    if not outputs:
        raise ValueError("accuracy: no samples")
    correct = 0
    for i, (out, t) in enumerate(zip(outputs, targets)):
        if isinstance(out, (list, tuple)):
            if set(map(type, out)) <= {float}:  # the common case, floats: no message made per score
                scores = out
            else:
                scores = [score(s, f"accuracy: output {i}[{j}]") for j, s in enumerate(out)]
            correct += scores.index(max(scores)) == t
        else:
            correct += (score(out, f"accuracy: output {i}") > 0.0) == _positive(t, i)
    return correct / len(outputs)


def _positive(target: object, i: int) -> bool:
    """Whether a binary target is the positive class (> 0: labels +1/-1, 1/0 and True/False alike)."""
    try:
        return target > 0
    except TypeError:  # a str, None, a list: name it
        raise TypeError(f"accuracy: target {i} must be a number, got {type(target).__name__}: {show(target)}") from None


def evaluate(model: Module, X: Sequence, y: Sequence, loss_fn: LossFn) -> tuple[float, float]:
    """(loss, accuracy) of the model on (X, y), in eval mode and under no_grad (no graph is built)."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = model.forward_batch(list(X))
            return loss_fn(outputs, list(y)).data, accuracy(outputs, y)
    finally:
        model.train(was_training)


def _check_data(X: Sequence, y: Sequence, what: str) -> None:
    if len(X) != len(y):
        raise ValueError(f"fit: {what} has {len(X)} inputs but {len(y)} targets")
    if len(X) == 0:
        raise ValueError(f"fit: {what} is empty")


def fit(
    model: Module,
    X: Sequence,
    y: Sequence,
    loss_fn: LossFn,
    optimizer: Optimizer,
    epochs: int = 100,
    batch_size: int | None = None,
    validation: tuple[Sequence, Sequence] | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    callbacks: Sequence[Callback | Callable[[int, dict], bool | None]] = (),
    clip_norm: float | None = None,
    progress: bool = True,
    seed: int = 0,
    live: bool | LivePlot = False,
    diagnostics: bool = False,
    scheduler: LRScheduler | None = None,
    compile: bool = False,  # noqa: A002 - the name the feature has everywhere (torch.compile, jax's jit)
) -> History:
    """Train `model` on (X, y) with `optimizer` to reduce `loss_fn(outputs, targets)`; returns the History.

    batch_size=None uses the whole data set per step; otherwise the samples are shuffled every
    epoch (by `seed`) and cut into batches. With `validation=(X_val, y_val)` the validation loss
    and accuracy are measured after every epoch; with `patience`, training stops once the
    validation loss has not improved by more than `min_delta` for `patience` epochs, and (with
    restore_best) the parameters of the best epoch are put back.

    `callbacks` are nn.Callback objects, which hear every event of training (see nn.training.callbacks:
    on_train_begin, on_epoch_begin, on_batch_end before each optimizer step, on_step_end,
    on_epoch_end, and on_train_end however training ends), or plain functions `callback(epoch,
    logs)` called after every epoch, logs holding that epoch's numbers; returning True stops
    training. The keyword arguments below each add a built-in callback:
    `clip_norm` clips the gradients' global norm before each step. `progress` shows a progress bar
    (in Jupyter a line of text, which a saved notebook keeps in its finished state). `live=True`
    (or a `LivePlot`) redraws one figure of the training in place in Jupyter as the epochs go by:
    loss, accuracy, and for a model with two inputs and one output its decision boundary (outside
    Jupyter it does nothing). `diagnostics=True` records statistics per layer in
    `history.layer_stats` (gradient norm, update ratio, dead and saturated units, output mean and
    std; see nn.training.diagnostics), which the live view then shows too. `scheduler` (StepLR,
    CosineAnnealingLR, LinearLR or ChainedScheduler, made for this `optimizer`) steps once at the
    end of every epoch, after the callbacks.

    `compile=True` records the training step once per batch shape with `autograd.compile` and
    replays it as a program on floats: the same gradients, weights and history as without it, to
    the last bit (validation is the same either way: under no_grad a module replays its own forward compiled). The model
    and the loss must then compute the same ops whatever the numbers (no Python `if` on a Value's
    number; the first replay checks it and raises autograd.TraceMismatchError); the targets reach
    `loss_fn` as Values (inputs of the program).
    """
    epochs, batch_size, seed = _check_arguments(X, y, epochs, batch_size, seed, validation, diagnostics, compile)
    events = _callbacks(model, optimizer, validation, patience, min_delta, restore_best, callbacks, clip_norm,
                        progress, live, diagnostics, scheduler)
    steps = (CompiledFit if compile else EagerFit)(model, loss_fn, optimizer, model.parameters())
    run = TrainingRun(model, X, y, loss_fn, optimizer, epochs, History(), validation)
    begun: list[Callback] = []
    try:
        for callback in events:
            callback.on_train_begin(run)
            begun.append(callback)
        for run.epoch, batches in zip(range(epochs), epoch_batches(len(X), batch_size, seed)):
            model.train()
            _emit(events, "on_epoch_begin", run)
            epoch = _EpochLogs()
            for run.batch in batches:
                targets = [y[i] for i in run.batch]
                run.loss, outputs = steps.train_step([X[i] for i in run.batch], targets)
                _emit(events, "on_batch_end", run)
                optimizer.step()
                _emit(events, "on_step_end", run)
                epoch.add(run.loss, outputs, targets)
            _emit(events, "on_epoch_end", run, epoch.logs(run))
            if run.stop:
                run.history.stopped_early = True
                break
    finally:
        _end(begun, run)
    return run.history


def epoch_batches(n: int, batch_size: int | None, seed: int) -> Iterator[list[list[int]]]:
    """The batches of sample indices of each epoch, epoch after epoch, for ever: with batch_size=None
    all n in order as one batch; otherwise the n shuffled (one random.Random(seed) for all epochs)
    and cut into batches of batch_size, the last one short when n is not a multiple of it."""
    rng, order, size = random.Random(seed), list(range(n)), batch_size or n
    while True:
        if batch_size is not None:
            rng.shuffle(order)
        yield [order[start : start + size] for start in range(0, n, size)]


class _EpochLogs:
    """An epoch's numbers as its batches go by; then its logs, which go into the history too."""

    def __init__(self) -> None:
        self.total, self.count, self.outputs, self.targets = 0.0, 0, [], []

    def add(self, loss: float, outputs: list, targets: list) -> None:
        self.total += loss * len(targets)  # the mean loss of the batch, weighted by its size
        self.count += len(targets)
        self.outputs += outputs
        self.targets += targets

    def logs(self, run: TrainingRun) -> dict[str, float]:
        """loss and accuracy over the epoch's training batches; val_loss and val_accuracy with validation."""
        logs = {"loss": self.total / self.count, "accuracy": accuracy(self.outputs, self.targets)}
        if run.validation is not None:
            logs["val_loss"], logs["val_accuracy"] = evaluate(run.model, *run.validation, run.loss_fn)
        for key, value in logs.items():
            getattr(run.history, key).append(value)
        return logs


def _emit(callbacks: list[Callback], event: str, run: TrainingRun, *logs: dict[str, float]) -> None:
    for callback in callbacks:
        getattr(callback, event)(run, *logs)


def _end(begun: list[Callback], run: TrainingRun) -> None:
    """on_train_end for every callback that began, the last to begin first (as nested `with` blocks end);
    each runs even when one before it fails, and the first failure is raised after."""
    failure = None
    for callback in reversed(begun):
        try:
            callback.on_train_end(run)
        except BaseException as error:  # noqa: BLE001 - raised again below, after the others have ended
            failure = failure or error
    if failure is not None:
        raise failure


def _check_arguments(X: Sequence, y: Sequence, epochs: int, batch_size: int | None, seed: int,
                     validation: tuple[Sequence, Sequence] | None, diagnostics: bool,
                     compile: bool) -> tuple[int, int | None, int]:  # noqa: A002
    """fit's numbers checked (epochs, batch_size and seed as Python ints) and its data and flags."""
    _check_data(X, y, "training data")
    epochs = check_int(epochs, "fit: epochs", 0)  # up to sys.maxsize: 10**400 is refused, naming epochs
    batch_size = None if batch_size is None else check_int(batch_size, "fit: batch_size", 1)
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError("fit: validation must be a pair (X_val, y_val)")
        _check_data(validation[0], validation[1], "validation data")
    check_bool(compile, "fit: compile")
    if check_bool(diagnostics, "fit: diagnostics") and compile:
        raise ValueError("fit: diagnostics=True watches every layer's outputs as the graph is built; "
                         "a compiled step builds none: pass compile=False with it")
    return epochs, batch_size, check_seed(seed, "fit: seed")


def _callbacks(model: Module, optimizer: Optimizer, validation: object, patience: int | None, min_delta: float,
               restore_best: bool, callbacks: Sequence, clip_norm: float | None, progress: bool,
               live: bool | LivePlot, diagnostics: bool, scheduler: LRScheduler | None) -> list[Callback]:
    """fit's callbacks in the order they hear each event: the built-in ones its keyword arguments ask
    for around the caller's (the layer statistics see the gradients before anyone changes them, the
    scheduler steps after the caller's callbacks have seen this epoch's learning rate)."""
    stopping = EarlyStopping(patience, min_delta, restore_best)
    if patience is not None and validation is None:
        raise ValueError("fit: early stopping (patience) watches the validation loss; pass validation=(X, y)")
    made: list[Callback] = [stopping] if validation is not None else []
    if clip_norm is not None:
        clipping = GradientClipping(clip_norm)
    if diagnostics:
        made.append(LayerStatistics(model))
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Sequence):
        raise TypeError(f"fit: callbacks must be a list, got {type(callbacks).__name__}")
    made += [as_callback(c) for c in callbacks]
    if clip_norm is not None:
        made.append(clipping)
    made += _live_view(live, callbacks)
    if scheduler is not None:
        made.append(SchedulerStep(scheduler, optimizer))
    if check_bool(progress, "fit: progress"):
        made.append(ProgressBar())
    return made


def _live_view(live: bool | LivePlot, callbacks: Sequence) -> list[LivePlot]:
    """The LivePlot that `live=` adds to the callbacks (none when one is among them already)."""
    if live is False or live is None:
        return []
    if live is True:
        return [] if any(isinstance(c, LivePlot) for c in callbacks) else [LivePlot()]
    if isinstance(live, LivePlot):
        return [] if any(c is live for c in callbacks) else [live]
    raise TypeError(f"fit: live must be True, False or a LivePlot, got {type(live).__name__}")
