"""What fit shows in Jupyter: the live view of training (nn.LivePlot) and the progress line.

Most tests stand in for the notebook: `autograd.draw.jupyter.in_jupyter_kernel` answers yes and `_publish` records what
would be shown, as IPython's display handles do (a first output, then updates in its place).
The test at the end runs a real kernel (nbclient) on a notebook that trains with live=True.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

import nn.live
from nn import (
    MLP,
    SGD,
    Adam,
    LivePlot,
    TrainingRun,
    cross_entropy,
    fit,
    hinge_loss,
    make_moons,
    make_spiral,
    mse_loss,
    train_val_split,
)
from nn.live import accuracy_panel, boundary_panel, default_panels, loss_panel

pytestmark = pytest.mark.jupyter

PNG_HEADER = b"\x89PNG\r\n\x1a\n"
IMAGES = {"image/png", "image/svg+xml"}
TIMINGS = re.compile(r"\d\d:\d\d|/s\b|s/")  # tqdm's elapsed<remaining and rate


class Screen:
    """The outputs of one notebook cell: each `_publish` adds an output or replaces one in place."""

    def __init__(self) -> None:
        self.outputs: list[dict] = []  # what the saved notebook would hold
        self.calls: list[tuple[int, dict]] = []  # (output index, data) for every publish

    def publish(self, data: dict, metadata: dict, handle):
        if handle is None:
            handle = len(self.outputs)
            self.outputs.append({})
        self.outputs[handle] = {"data": dict(data), "metadata": dict(metadata)}
        self.calls.append((handle, dict(data)))
        return handle

    def pictures(self) -> list[dict]:
        return [out for out in self.outputs if "image/png" in out["data"]]

    def texts(self) -> list[str]:
        return [out["data"]["text/plain"] for out in self.outputs if set(out["data"]) == {"text/plain"}]


@pytest.fixture
def notebook(monkeypatch) -> Screen:
    screen = Screen()
    monkeypatch.setattr("autograd.draw.jupyter.in_jupyter_kernel", lambda: True)
    monkeypatch.setattr(nn.live, "_publish", screen.publish)
    monkeypatch.setattr(nn.live, "_WAIT_PER_DRAW", 0)  # with interval=0: every epoch is drawn
    return screen


def moons():
    X, y = make_moons(n=40, noise=0.2, seed=0)
    return train_val_split(X, y, val_fraction=0.25, seed=0)


def train(epochs=5, **kwargs):
    X_train, y_train, X_val, y_val = moons()
    model = MLP(2, [6, 1], seed=0)
    optimizer = Adam(model.parameters(), lr=0.05)
    kwargs.setdefault("progress", False)
    history = fit(model, X_train, y_train, hinge_loss, optimizer, epochs=epochs, validation=(X_val, y_val), **kwargs)
    return history, TrainingRun(model, X_train, y_train, hinge_loss, optimizer, epochs, history, (X_val, y_val))


def epoch_only(ax, run) -> None:
    """A panel that is quick to draw, for tests about when the view redraws."""
    ax.set_title(f"epoch {run.history.epochs}")


def decoded(picture: dict) -> bytes:
    return base64.b64decode(picture["data"]["image/png"])


# ---- in a notebook: one picture, redrawn in place --------------------------------------------------------


def test_the_live_view_is_one_output_redrawn_in_place_that_ends_on_the_last_epoch(notebook):
    plot = LivePlot(interval=0)
    history, run = train(epochs=4, live=plot)
    assert len(notebook.outputs) == 1 and len(notebook.calls) >= 4  # drawn again and again, in one place
    assert plot.epochs_drawn[-1] == history.epochs == 4
    (picture,) = notebook.pictures()
    assert decoded(picture) == plot.render(run)  # exactly what the final history draws
    assert picture["data"]["text/plain"] == (
        f"training, epoch 4 of 4: loss {history.loss[-1]:.4g}, accuracy {history.accuracy[-1]:.4g}, "
        f"validation loss {history.val_loss[-1]:.4g}, validation accuracy {history.val_accuracy[-1]:.4g}")


def test_the_final_picture_has_twice_the_pixels_of_its_size_on_screen(notebook):
    train(epochs=2, live=True)
    (picture,) = notebook.pictures()
    png = decoded(picture)
    assert png[:8] == PNG_HEADER
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert picture["metadata"]["image/png"] == {"width": width // 2, "height": height // 2}


def test_redraws_wait_at_least_the_interval_but_the_last_epoch_is_always_drawn(notebook):
    plot = LivePlot([epoch_only], interval=3600)
    train(epochs=6, live=plot)
    assert plot.epochs_drawn == [1, 6]  # the first epoch at once, then nothing for an hour, then the end


def test_a_redraw_waits_three_times_as_long_as_the_last_one_took(notebook, monkeypatch):
    monkeypatch.setattr(nn.live, "_WAIT_PER_DRAW", 3)
    clock = [0.0]
    monkeypatch.setattr(nn.live.time, "monotonic", lambda: clock[0])
    plot = LivePlot(interval=0.5)
    _, run = train(epochs=1)
    drawn = []

    def slow_show(density):  # a redraw that takes one second
        drawn.append(clock[0])
        clock[0] += 1.0

    monkeypatch.setattr(plot, "_show", slow_show)
    plot.on_train_begin(run)
    for now in (0.0, 1.4, 1.5, 3.9, 5.4, 5.5, 8.0, 9.4):
        clock[0] = max(clock[0], now)
        plot(0, {})
    # the first redraw also loads matplotlib: only the interval counts after it (it ends at 1 s: next 1.5);
    # each later one ends 1 s after it starts, and the next may start 3 s after that
    assert drawn == [0.0, 1.5, 5.5]


def test_early_stopping_shows_the_epoch_training_stopped_at(notebook):
    X, y = make_moons(n=30, noise=0.1, seed=1)
    flipped = [-t for t in y]  # validation labels opposite to training: validation loss rises at once
    model = MLP(2, [4, 1], seed=0)
    plot = LivePlot([epoch_only], interval=3600)
    history = fit(model, X, y, hinge_loss, Adam(model.parameters(), lr=0.05), epochs=50, validation=(X, flipped),
                  patience=2, live=plot, progress=False)
    assert history.stopped_early and plot.epochs_drawn[-1] == history.epochs < 50
    assert f"epoch {history.epochs} of 50, stopped early" in notebook.pictures()[0]["data"]["text/plain"]


def test_ctrl_c_leaves_the_picture_of_the_epoch_training_was_stopped_at(notebook):
    def interrupt(epoch, logs):
        if epoch == 2:
            raise KeyboardInterrupt

    plot = LivePlot([epoch_only], interval=3600)
    with pytest.raises(KeyboardInterrupt):
        train(epochs=10, live=plot, callbacks=[interrupt])
    assert plot.epochs_drawn == [1, 3]


def test_live_true_beside_a_liveplot_among_the_callbacks_draws_one_figure(notebook):
    plot = LivePlot([epoch_only], interval=0)
    train(epochs=3, live=True, callbacks=[plot])
    assert len(notebook.outputs) == 1 and plot.epochs_drawn[-1] == 3


def test_each_training_gets_its_own_output(notebook):
    plot = LivePlot([epoch_only])
    train(epochs=2, live=plot)
    train(epochs=3, live=plot)
    assert len(notebook.pictures()) == 2 and plot.epochs_drawn[-1] == 3


# ---- panels ----------------------------------------------------------------------------------------------


def test_a_model_from_the_plane_to_one_score_gets_its_decision_boundary():
    _, run = train(epochs=1)
    assert default_panels(run) == [loss_panel, accuracy_panel, boundary_panel]


def test_other_models_get_loss_and_accuracy_only():
    X = [[x / 10.0] for x in range(-10, 11, 2)]
    model = MLP(1, [3, 1], seed=0)
    optimizer = SGD(model.parameters(), lr=0.01)
    history = fit(model, X, [x[0] for x in X], mse_loss, optimizer, epochs=1, progress=False)
    assert default_panels(TrainingRun(model, X, [x[0] for x in X], mse_loss, optimizer, 1, history)) == [
        loss_panel, accuracy_panel]
    X, y = make_spiral(n=12, classes=3, seed=0)  # two inputs, but three scores: no boundary to draw
    model = MLP(2, [4, 3], seed=0)
    history = fit(model, X, y, cross_entropy, SGD(model.parameters(), lr=0.01), epochs=1, progress=False)
    run = TrainingRun(model, X, y, cross_entropy, SGD(model.parameters(), lr=0.01), 1, history)
    assert default_panels(run) == [loss_panel, accuracy_panel]


def test_a_panel_of_your_own_reads_the_history_so_far(notebook):
    seen = []

    def last_loss(ax, run):  # e.g. statistics per layer, recorded in the history by a later feature
        seen.append(run.history.epochs)
        ax.plot(range(1, run.history.epochs + 1), run.history.loss)
        ax.set_title("loss by hand")

    plot = LivePlot(panels=[last_loss], interval=0)
    train(epochs=3, live=plot)
    assert seen == [1, 2, 3, 3]  # every redraw sees the epochs run so far; the last one twice (final picture)
    assert len(notebook.pictures()) == 1


def test_rendering_is_the_same_for_the_same_training():
    _, run = train(epochs=2)
    picture = LivePlot().render(run)
    assert picture[:8] == PNG_HEADER and picture == LivePlot().render(run)


# ---- outside Jupyter, and bad arguments ----------------------------------------------------------------------


def test_outside_jupyter_the_live_view_is_quietly_off(capsys):
    plot = LivePlot(interval=0)
    history, _ = train(epochs=3, live=plot)
    assert history.epochs == 3 and plot.epochs_drawn == []
    assert capsys.readouterr() == ("", "")


def test_outside_jupyter_the_progress_bar_stays(capsys):
    train(epochs=2, live=True, progress=True)
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: LivePlot(panels=[]), TypeError, "panels"),
        (lambda: LivePlot(panels=["loss"]), TypeError, "panels"),
        (lambda: LivePlot(interval=-1), ValueError, "interval"),
        (lambda: LivePlot(columns=0), ValueError, "columns"),
        (lambda: LivePlot(panel_size=(4, 0)), ValueError, "panel_size"),
        (lambda: train(live="yes"), TypeError, "live must be True, False or a LivePlot, got str"),
    ],
)
def test_bad_arguments_give_clear_errors(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_callback_objects_hear_when_training_begins_and_ends():
    heard = []

    class Listener:
        def on_train_begin(self, run):
            heard.append(("begin", run.epochs, run.history.epochs))

        def __call__(self, epoch, logs):
            heard.append(("epoch", epoch))

        def on_train_end(self, run):
            heard.append(("end", run.history))

    history, _ = train(epochs=2, callbacks=[Listener()])
    assert heard == [("begin", 2, 0), ("epoch", 0), ("epoch", 1), ("end", history)]


# ---- the progress line -------------------------------------------------------------------------------------


def test_in_a_notebook_the_progress_bar_is_one_line_saved_finished_without_timings(notebook):
    history, _ = train(epochs=4, progress=True)
    (line,) = notebook.texts()
    assert line.startswith("training: 100%|██████████| 4/4 epochs, loss=")
    assert f"val_acc={history.val_accuracy[-1]:.3f}" in line
    assert not TIMINGS.search(line), line


# ---- in a real kernel ------------------------------------------------------------------------------------


SETUP = """\
from nn import MLP, Adam, hinge_loss, fit, make_moons, train_val_split
X, y = make_moons(n=40, noise=0.2, seed=0)
X_train, y_train, X_val, y_val = train_val_split(X, y, val_fraction=0.25, seed=0)
model = MLP(2, [6, 1], seed=0)
optimizer = Adam(model.parameters(), lr=0.05)"""
TRAIN = "history = fit(model, X_train, y_train, hinge_loss, optimizer, epochs=8, validation=(X_val, y_val), live=True)"
CHECK = """\
import hashlib
from nn import LivePlot, TrainingRun
final = LivePlot().render(TrainingRun(model, X_train, y_train, hinge_loss, optimizer, 8, history, (X_val, y_val)))
print(history.epochs, f"{history.loss[-1]:.4g}", hashlib.sha256(final).hexdigest())"""


def test_in_a_real_kernel_training_leaves_one_png_of_the_final_epoch(tmp_path):
    from test_notebooks import refresh  # notebooks/refresh.py: the kernel the course notebooks run in

    nb = new_notebook(cells=[new_code_cell(SETUP), new_code_cell(TRAIN), new_code_cell(CHECK)])
    refresh.execute(nb, cwd=Path(tmp_path))
    setup, training, check = (cell.outputs for cell in nb.cells)
    assert setup == [] and len(check) == 1
    epochs, loss, final_sha = check[0].text.split()
    pictures = [out for cell in nb.cells for out in cell.outputs if IMAGES & set(out.get("data", {}))]
    assert len(pictures) == 1 and pictures[0] in training
    (picture,) = pictures
    assert set(picture.data) == {"image/png", "text/plain"}
    assert hashlib.sha256(base64.b64decode(picture.data["image/png"])).hexdigest() == final_sha
    assert picture.data["text/plain"].startswith(f"training, epoch {epochs} of 8: loss {loss},")
    (bar,) = [out for out in training if out is not picture]
    assert bar.data["text/plain"].startswith("training: 100%|██████████| 8/8 epochs, loss=")
    assert "application/vnd.jupyter.widget-view+json" not in bar.data  # a line of text, not a widget
