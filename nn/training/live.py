"""What `fit` shows while it runs in Jupyter: a progress line, and a live view of the training.

`fit(..., live=True)` adds a `LivePlot` to the callbacks. It draws one figure of panels, each a
function `panel(ax, run)` that draws one matplotlib Axes from the running fit (`run` is a
`nn.TrainingRun`: the model, the data and the history so far). The default panels are the loss
and the accuracy per epoch, training and validation, and, for a model with two inputs and one
output, the decision boundary with the data; with `fit(..., diagnostics=True)` also statistics
per layer (nn.training.diagnostics). Other panels are functions of the same shape:
`LivePlot(panels=[loss_panel, accuracy_panel, my_panel])`, and `default_panels` is where a
feature adds panels of its own to `fit(..., live=True)`.

In a notebook the figure is one output, replaced in place (an IPython display handle), so a
saved notebook holds exactly one picture of the training: its final state, as a PNG. Outside
Jupyter there is nothing to redraw in place, and the live view quietly does nothing.
"""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from autograd import Value, no_grad
from autograd.draw import jupyter
from nn._numbers import check_int, check_real, show
from nn.training.callbacks import Callback, TrainingRun
from nn.training.diagnostics import DIAGNOSTICS_PANELS

Panel = Callable[[Any, TrainingRun], None]  # draws one matplotlib Axes from the running fit




# ---- panels ---------------------------------------------------------------------------------------


def loss_panel(ax: Any, run: TrainingRun) -> None:
    """The loss per epoch, training and validation."""
    from nn.training.plots import draw_history

    draw_history(ax, run.history, "loss")
    ax.set_xlim(1, max(2, run.epochs))  # the curve grows to the right, the axes stay still
    ax.set_title("loss")


def accuracy_panel(ax: Any, run: TrainingRun) -> None:
    """The accuracy per epoch, training and validation."""
    from nn.training.plots import draw_history

    draw_history(ax, run.history, "accuracy")
    ax.set_xlim(1, max(2, run.epochs))
    ax.set_title("accuracy")


def boundary_panel(ax: Any, run: TrainingRun) -> None:
    """The model's score over the plane, its decision boundary, and the training and validation points."""
    from nn.training.plots import draw_decision_boundary

    X_val, y_val = run.validation if run.validation is not None else ((), ())
    draw_decision_boundary(ax, run.model, run.X, run.y, X_val, y_val, resolution=_BOUNDARY_RESOLUTION)
    ax.set_title("decision boundary (validation: ▲)")


_BOUNDARY_RESOLUTION = 40  # 1,600 forward passes per redraw: the picture keeps up with training
_WAIT_PER_DRAW = 3  # after a redraw, train at least 3 times as long as it took: drawing costs <= 1/4 of the time


def default_panels(run: TrainingRun) -> list[Panel]:
    """Loss and accuracy, and the decision boundary when the model maps two inputs to one score;
    with fit(diagnostics=True) also the gradient norm, the update ratio and the dead or saturated
    units per layer (nn.training.diagnostics)."""
    panels: list[Panel] = [loss_panel, accuracy_panel]
    if _maps_a_plane_to_one_score(run):
        panels.append(boundary_panel)
    if run.history.layer_stats:
        panels += DIAGNOSTICS_PANELS
    return panels


def _maps_a_plane_to_one_score(run: TrainingRun) -> bool:
    if not all(isinstance(x, Sequence) and len(x) == 2 for x in run.X):
        return False
    was_training = run.model.training
    run.model.eval()
    try:
        with no_grad():
            out = run.model(list(run.X[0]))
    finally:
        run.model.train(was_training)
    return isinstance(out, Value) or (isinstance(out, list) and len(out) == 1)


# ---- the live figure --------------------------------------------------------------------------------


class LivePlot(Callback):
    """A figure of the training so far, redrawn in place in a Jupyter notebook while `fit` runs.

    Use it as `fit(..., live=True)`, `fit(..., live=LivePlot(...))` or `callbacks=[LivePlot()]`.

    - panels: functions `panel(ax, run)`, one matplotlib Axes each, laid out `columns` to a row;
      None chooses `default_panels(run)` when training starts.
    - interval: seconds at least between two redraws; and a redraw waits three times as long as
      the last one took, so that drawing costs at most a quarter of the training time. The last
      epoch is always drawn (also when early stopping or Ctrl-C ends training).
    - panel_size: (width, height) of one panel in inches, shown at `dpi` pixels per inch; the
      final picture has twice the pixels, sharp on high-density screens.

    `epochs_drawn` lists the epochs (1 = the first) in the order they were drawn: its last entry
    is the picture a saved notebook keeps.
    """

    def __init__(
        self,
        panels: Sequence[Panel] | None = None,
        *,
        interval: float = 0.5,
        columns: int = 3,
        panel_size: tuple[float, float] = (4.0, 3.2),
        dpi: int = 100,
    ) -> None:
        if panels is not None:
            panels = list(panels)
            if not panels or not all(callable(p) for p in panels):
                raise TypeError("LivePlot: panels must be a non-empty list of functions panel(ax, run), or None")
        self.interval = check_real(interval, "LivePlot: interval (seconds)", 0.0)
        self.columns = check_int(columns, "LivePlot: columns", 1)
        if not (isinstance(panel_size, tuple) and len(panel_size) == 2):
            raise TypeError(f"LivePlot: panel_size must be a pair (width, height) in inches, got {show(panel_size)}")
        self.panel_size = tuple(check_real(v, f"LivePlot: panel_size[{i}]", 0.0, low_open=True)
                                for i, v in enumerate(panel_size))
        self.panels = panels
        self.dpi = check_int(dpi, "LivePlot: dpi", 10)
        self.epochs_drawn: list[int] = []
        self._run: TrainingRun | None = None
        self._active = False
        self._handle: Any = None
        self._next_draw = 0.0
        self._redraws = 0  # while training, in this fit

    # -- the callback protocol of `fit` --

    def on_train_begin(self, run: TrainingRun) -> None:
        self._run, self.epochs_drawn, self._handle, self._next_draw, self._redraws = run, [], None, 0.0, 0
        self._active = jupyter.in_jupyter_kernel()
        if self._active:
            _matplotlib_figure()  # fail now, with the extra to install, not after the first epoch

    def on_epoch_end(self, run: TrainingRun, logs: dict[str, float]) -> None:
        if not self._active or time.monotonic() < self._next_draw:
            return
        start = time.monotonic()
        self._show(density=1)  # a quick picture while training; the final one gets more pixels
        self._redraws += 1
        spent = time.monotonic() - start if self._redraws > 1 else 0.0  # the first also loads matplotlib
        self._next_draw = time.monotonic() + max(self.interval, _WAIT_PER_DRAW * spent)

    def __call__(self, epoch: int, logs: dict) -> None:
        """The function protocol of callbacks, callback(epoch, logs): the same as on_epoch_end."""
        self.on_epoch_end(self._run, logs)

    def on_train_end(self, run: TrainingRun) -> None:
        if self._active and run.history.epochs:
            self._show(density=2)

    # -- drawing --

    def render(self, run: TrainingRun, density: int = 2) -> bytes:
        """The PNG of run's state as the live view draws it (`density` pixels per pixel shown)."""
        density = check_int(density, "LivePlot.render: density", 1)
        panels = list(self.panels) if self.panels is not None else default_panels(run)
        columns = min(self.columns, len(panels))
        rows = math.ceil(len(panels) / columns)
        width, height = self.panel_size
        fig = _matplotlib_figure()(figsize=(columns * width, rows * height), dpi=self.dpi, layout="constrained")
        axes = fig.subplots(rows, columns, squeeze=False).ravel()
        for ax, panel in zip(axes, panels):
            panel(ax, run)
        for ax in axes[len(panels) :]:
            ax.set_visible(False)
        fig.suptitle(_headline(run))
        buffer = io.BytesIO()
        # no metadata: the same training gives the same bytes, whatever the matplotlib version
        fig.savefig(buffer, format="png", dpi=self.dpi * density, metadata={"Software": None})
        return buffer.getvalue()

    def _show(self, density: int) -> None:
        run = self._run
        png = self.render(run, density)
        width, height = _png_size(png)
        size = {"width": width // density, "height": height // density}  # the same on screen at any density
        data = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": _summary(run)}
        self._handle = _publish(data, {"image/png": size}, self._handle)
        self.epochs_drawn.append(run.history.epochs)


def _headline(run: TrainingRun) -> str:
    stopped = ", stopped early" if run.history.stopped_early else ""
    return f"epoch {run.history.epochs} of {run.epochs}{stopped}"


def _summary(run: TrainingRun) -> str:
    """The picture in words (its text/plain): the epoch and its numbers."""
    h = run.history
    numbers = [f"loss {h.loss[-1]:.4g}", f"accuracy {h.accuracy[-1]:.4g}"]
    if h.val_loss:
        numbers += [f"validation loss {h.val_loss[-1]:.4g}", f"validation accuracy {h.val_accuracy[-1]:.4g}"]
    return f"training, {_headline(run)}: {', '.join(numbers)}"


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _publish(data: dict, metadata: dict, handle: Any) -> Any:
    """Show data as a new output (handle None) or in place of the one shown before; returns the handle."""
    from IPython.display import display

    if handle is None:
        return display(data, raw=True, metadata=metadata, display_id=True)
    handle.update(data, raw=True, metadata=metadata)
    return handle


def _matplotlib_figure() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("the live view of training needs matplotlib: pip install 'chainrule[plots]' "
                          "(or pip install matplotlib)") from None
    return Figure


# ---- the progress line ----------------------------------------------------------------------------


_SHORT = {"loss": "loss", "accuracy": "acc", "val_loss": "val_loss", "val_accuracy": "val_acc"}


class ProgressBar(Callback):
    """A tqdm bar over the epochs with the last numbers (in Jupyter one line of text, kept as it finished)."""

    def on_train_begin(self, run: TrainingRun) -> None:
        from tqdm import tqdm

        make = _notebook_progress_bar if jupyter.in_jupyter_kernel() else tqdm
        extra = {} if jupyter.in_jupyter_kernel() else {"dynamic_ncols": True}
        self.bar: Any = make(total=run.epochs, desc="training", unit="epoch", **extra)

    def on_epoch_end(self, run: TrainingRun, logs: dict[str, float]) -> None:
        self.bar.set_postfix({_SHORT.get(k, k): f"{v:.3f}" for k, v in logs.items()}, refresh=False)
        self.bar.update(1)

    def on_train_end(self, run: TrainingRun) -> None:
        self.bar.close()



def _notebook_progress_bar(**kwargs: Any) -> Any:
    """A tqdm bar as one line of text in a notebook, updated in place (no widget).

    tqdm's notebook widget is saved with the text it had when it appeared ("0%") and with its
    timings; this line is saved as it finished: the percentage, epochs and last numbers, without
    the times, so that running a notebook again leaves it unchanged.
    """
    from tqdm import tqdm

    class _FinishedWithoutTimes(tqdm):
        def close(self) -> None:
            if not self.disable:
                self.bar_format = "{l_bar}{bar}| {n_fmt}/{total_fmt} " + self.unit + "s{postfix}"
            super().close()

    return _FinishedWithoutTimes(file=_OutputLine(), mininterval=0.2, **kwargs)


class _OutputLine:
    """A file for tqdm: each bar it writes replaces the previous one in one notebook output."""

    encoding = "utf-8"  # tqdm draws its bar with block characters, not #

    def __init__(self) -> None:
        self._handle: Any = None

    def write(self, text: str) -> None:
        line = text.rsplit("\r", 1)[-1].strip()  # tqdm writes "\r" + bar + padding, and "\n" at the end
        if line:
            self._handle = _publish({"text/plain": line}, {}, self._handle)

    def flush(self) -> None:
        pass
