"""A training loop: mini-batches, a progress bar, a live view, a history, early stopping and callbacks.

One step of gradient descent is always the same four lines, and `fit` is just those lines
in a loop, plus the bookkeeping people need to watch a network learn:

    outputs = [model(x) for x in batch]          # forward: builds the graph
    loss = loss_fn(outputs, targets)             # one Value at the top of the graph
    optimizer.zero_grad(); loss.backward()       # backward: every parameter gets d(loss)/d(p)
    optimizer.step()                             # move every parameter a little downhill
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autograd import Value, no_grad
from nn._compiled_fit import CompiledFit
from nn._numbers import check_int, check_real, to_float
from nn.module import Module
from nn.optim import Optimizer, clip_grad_norm
from nn.schedulers import LRScheduler

if TYPE_CHECKING:
    from nn.live import LivePlot

LossFn = Callable[[list, list], Value]
Callback = Callable[[int, dict], "bool | None"]


def _score(output: object, what: str = "output") -> float:
    return output.data if isinstance(output, Value) else to_float(output, what)


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
            scores = [_score(s, f"accuracy: output {i}[{j}]") for j, s in enumerate(out)]
            correct += scores.index(max(scores)) == t
        else:
            correct += (_score(out, f"accuracy: output {i}") > 0.0) == (t > 0)
    return correct / len(outputs)


def evaluate(model: Module, X: Sequence, y: Sequence, loss_fn: LossFn) -> tuple[float, float]:
    """(loss, accuracy) of the model on (X, y), in eval mode and under no_grad (no graph is built)."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = [model(x) for x in X]
            return loss_fn(outputs, list(y)).data, accuracy(outputs, y)
    finally:
        model.train(was_training)


@dataclass
class History:
    """What happened in `fit`, one entry per epoch (validation lists stay empty without validation data)."""

    loss: list[float] = field(default_factory=list)  # mean training loss over the epoch's batches
    accuracy: list[float] = field(default_factory=list)  # training accuracy during the epoch
    val_loss: list[float] = field(default_factory=list)  # after the epoch, eval mode, no_grad
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # epoch (0-based) with the lowest validation loss
    stopped_early: bool = False  # True when early stopping or a callback ended training
    # fit(diagnostics=True) only (see nn.diagnostics): per epoch, one dict of statistics per layer,
    # the layers' names as pictures show them, and every layer's outputs in the last epoch
    layer_stats: list[list[dict[str, float]]] = field(default_factory=list)
    layer_names: list[str] = field(default_factory=list)
    last_activations: list[list[float]] = field(default_factory=list, repr=False)  # thousands of numbers

    @property
    def epochs(self) -> int:
        """How many epochs ran."""
        return len(self.loss)


@dataclass(frozen=True)
class TrainingRun:
    """What a callback sees of a running `fit`: the model, the data, and the history so far.

    A callback object may have the methods `on_train_begin(run)` and `on_train_end(run)`, besides
    `callback(epoch, logs)`; `nn.LivePlot` draws its panels from this.
    """

    model: Module
    X: Sequence
    y: Sequence
    loss_fn: LossFn
    optimizer: Optimizer
    epochs: int  # the epochs asked for; history.epochs says how many have run
    history: History  # filled in epoch by epoch
    validation: tuple[Sequence, Sequence] | None = None


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
    callbacks: Sequence[Callback] = (),
    clip_norm: float | None = None,
    progress: bool = True,
    seed: int = 0,
    live: bool | LivePlot = False,
    diagnostics: bool = False,
    scheduler: LRScheduler | None = None,
    compile: bool = False,  # noqa: A002 - the name the feature has everywhere (torch.compile, jax's jit)
) -> History:
    """Train `model` on (X, y) with `optimizer` to reduce `loss_fn(outputs, targets)`.

    batch_size=None uses the whole data set per step; otherwise the samples are shuffled every
    epoch (by `seed`) and cut into batches. With `validation=(X_val, y_val)` the validation loss
    and accuracy are measured after every epoch; with `patience`, training stops once the
    validation loss has not improved by more than `min_delta` for `patience` epochs, and (with
    restore_best) the parameters of the best epoch are put back. Each callback is called as
    `callback(epoch, logs)` after every epoch, logs holding that epoch's numbers; returning True
    stops training; a callback object's `on_train_begin(run)` and `on_train_end(run)` methods, when
    it has them, are called before the first epoch and after the last (`run` is a TrainingRun), also
    when Ctrl-C stops training. `clip_norm` clips the gradients' global norm before each step.
    `progress` shows a progress bar (in Jupyter a line of text, which a saved notebook keeps in its
    finished state). `live=True` (or a `LivePlot`) redraws one figure of the training in place in
    Jupyter as the epochs go by: loss, accuracy, and for a model with two inputs and one output its
    decision boundary (outside Jupyter it does nothing). `diagnostics=True` records statistics per
    layer in `history.layer_stats` (gradient norm, update ratio, dead and saturated units, output
    mean and std; see nn.diagnostics), which the live view then shows too. `scheduler` (StepLR,
    CosineAnnealingLR, LinearLR or ChainedScheduler, made for this `optimizer`) steps once at the
    end of every epoch, after the callbacks. `compile=True` records the training step once per
    batch shape with `autograd.compile` and replays it as a program on floats (and the validation
    pass likewise): the same gradients, weights and history as without it, to the last bit, in a
    fraction of the time. The model and the loss must then compute the same ops whatever the
    numbers (no Python `if` on a Value's number; the first replay checks it and raises
    autograd.TraceMismatchError); the targets reach `loss_fn` as Values (inputs of the program).
    """
    _check_data(X, y, "training data")
    check_int(epochs, "fit: epochs", 0)  # up to sys.maxsize: 10**400 is refused, naming epochs
    if batch_size is not None:
        check_int(batch_size, "fit: batch_size", 1)
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError("fit: validation must be a pair (X_val, y_val)")
        _check_data(validation[0], validation[1], "validation data")
    if patience is not None:
        check_int(patience, "fit: patience", 1)
        if validation is None:
            raise ValueError("fit: early stopping (patience) watches the validation loss; pass validation=(X, y)")
    min_delta = check_real(min_delta, "fit: min_delta", 0.0)
    if clip_norm is not None:
        check_real(clip_norm, "fit: clip_norm", 0.0)
    if not isinstance(diagnostics, bool):
        raise TypeError(f"fit: diagnostics must be True or False, got {type(diagnostics).__name__}")
    if not isinstance(compile, bool):
        raise TypeError(f"fit: compile must be True or False, got {type(compile).__name__}")
    if compile and diagnostics:
        raise ValueError("fit: diagnostics=True watches every layer's outputs as the graph is built; "
                         "a compiled step builds none: pass compile=False with it")
    recorder = _recorder(model) if diagnostics else None
    _check_scheduler(scheduler, optimizer)
    callbacks = [*callbacks, *_live_view(live, callbacks)]
    params = model.parameters()
    compiled = CompiledFit(model, loss_fn, optimizer, params) if compile else None
    history = History()
    run = TrainingRun(model, X, y, loss_fn, optimizer, epochs, history, validation)
    _each(callbacks, "on_train_begin", run)
    best_loss, best_params, waited = math.inf, None, 0
    rng = random.Random(seed)
    order = list(range(len(X)))
    size = batch_size or len(X)
    bar = _progress_bar(epochs, progress)
    try:
        if recorder is not None:
            recorder.start()
        for epoch in range(epochs):
            model.train()
            if recorder is not None:
                recorder.begin_epoch()
            if batch_size is not None:
                rng.shuffle(order)
            total_loss, outputs_all, targets_all = 0.0, [], []
            for start in range(0, len(order), size):
                batch = order[start : start + size]
                targets = [y[i] for i in batch]
                if compiled is not None:  # the same step, as a program replayed on this batch's numbers
                    loss_value, outputs = compiled.train_step([X[i] for i in batch], targets)
                else:
                    outputs = [model(X[i]) for i in batch]
                    loss = loss_fn(outputs, targets)
                    if not isinstance(loss, Value):
                        raise TypeError(f"fit: loss_fn must return a Value, got {type(loss).__name__}")
                    optimizer.zero_grad()
                    loss.backward()
                    loss_value, outputs = loss.data, [_detach(o) for o in outputs]
                if recorder is not None:
                    recorder.before_step()  # the gradients as backward made them, and the parameters
                if clip_norm is not None:
                    clip_grad_norm(params, clip_norm)
                optimizer.step()
                if recorder is not None:
                    recorder.after_step()
                total_loss += loss_value * len(batch)
                outputs_all += outputs
                targets_all += targets
            logs = {"loss": total_loss / len(order), "accuracy": accuracy(outputs_all, targets_all)}
            history.loss.append(logs["loss"])
            history.accuracy.append(logs["accuracy"])
            if recorder is not None:
                recorder.end_epoch(history)
            stop = False
            if validation is not None:
                logs["val_loss"], logs["val_accuracy"] = (
                    evaluate(model, *validation, loss_fn) if compiled is None else compiled.evaluate(*validation))
                history.val_loss.append(logs["val_loss"])
                history.val_accuracy.append(logs["val_accuracy"])
                if logs["val_loss"] < best_loss - min_delta:
                    best_loss, history.best_epoch, waited = logs["val_loss"], epoch, 0
                    best_params = [p.data for p in params]
                else:
                    waited += 1
                    stop = patience is not None and waited >= patience
            for callback in callbacks:
                stop = bool(callback(epoch, dict(logs))) or stop
            if scheduler is not None:
                scheduler.step()  # the next epoch's learning rate
            if bar is not None:
                bar.set_postfix({_SHORT[k]: f"{v:.3f}" for k, v in logs.items()}, refresh=False)
                bar.update(1)
            if stop:
                history.stopped_early = True
                break
    except KeyboardInterrupt:
        _each(callbacks, "on_train_end", run)  # the live view shows where training was stopped
        raise
    finally:
        if recorder is not None:
            recorder.stop()  # the layers as they were, also after an error
        if bar is not None:
            bar.close()
    _each(callbacks, "on_train_end", run)  # before the best weights come back: it shows the last epoch
    if history.stopped_early and patience is not None and restore_best and best_params is not None:
        for p, value in zip(params, best_params):
            p.data = value
    return history


_SHORT = {"loss": "loss", "accuracy": "acc", "val_loss": "val_loss", "val_accuracy": "val_acc"}


def _detach(output: object) -> object:
    """The numbers of an output, so the epoch's accuracy does not keep every graph alive."""
    if isinstance(output, (list, tuple)):
        return [_score(o) for o in output]
    return _score(output)


def _each(callbacks: Sequence[Callback], method: str, run: TrainingRun) -> None:
    for callback in callbacks:
        hook = getattr(callback, method, None)
        if hook is not None:
            hook(run)


def _recorder(model: Module):  # -> nn.diagnostics.LayerStatsRecorder
    from nn.diagnostics import LayerStatsRecorder  # it imports this module

    return LayerStatsRecorder(model)
def _check_scheduler(scheduler: object, optimizer: Optimizer) -> None:
    if scheduler is None:
        return
    if not isinstance(scheduler, LRScheduler):
        raise TypeError(f"fit: scheduler must be an nn learning-rate scheduler (StepLR, ...), "
                        f"got {type(scheduler).__name__}")
    if scheduler.optimizer is not optimizer:
        raise ValueError("fit: the scheduler was made for another optimizer than the one fit is given")


def _live_view(live: bool | LivePlot, callbacks: Sequence[Callback]) -> list[LivePlot]:
    """The LivePlot that `live=` adds to the callbacks (none when one is among them already)."""
    from nn.live import LivePlot

    if live is False or live is None:
        return []
    if live is True:
        return [] if any(isinstance(c, LivePlot) for c in callbacks) else [LivePlot()]
    if isinstance(live, LivePlot):
        return [] if any(c is live for c in callbacks) else [live]
    raise TypeError(f"fit: live must be True, False or a LivePlot, got {type(live).__name__}")


def _progress_bar(epochs: int, progress: bool):  # -> tqdm | None
    if not progress:
        return None
    from tqdm import tqdm

    from nn.live import _in_notebook, _notebook_progress_bar

    if _in_notebook():
        return _notebook_progress_bar(total=epochs, desc="training", unit="epoch")
    return tqdm(total=epochs, desc="training", unit="epoch", dynamic_ncols=True)
