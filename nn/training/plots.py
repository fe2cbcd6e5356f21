"""Pictures of training: a 2-D decision boundary and the loss/accuracy curves (matplotlib).

Figures are made with matplotlib's object API (`Figure`), not pyplot, so saving a plot never
opens a window, needs no display, and leaves the caller's pyplot state alone. Every figure nn
saves goes through `save_figure`: drawn into memory, then written by autograd.files.write_file
(atomic; never onto a FIFO, a device or a directory).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autograd import Value, no_grad
from autograd.files import require_regular_file, write_file
from nn._numbers import check_int
from nn.modules.module import Module
from nn.training.callbacks import History

_NEG, _POS = "#d62728", "#1f77b4"  # class colours: red for -1/0, blue for +1


MAX_RESOLUTION = 1000  # grid points per side of a decision boundary: a million forward passes at most


def _figure(**kwargs: Any) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'chainrule[plots]' (or pip install matplotlib)") from None
    return Figure(**kwargs)


def save_figure(fig: Any, path: str | os.PathLike, who: str, **savefig: Any) -> None:
    """Save a matplotlib Figure to `path` in the format its suffix names (PNG without one).

    The picture is drawn into memory and written by `write_file`, so the target is refused at once
    if it is a directory, a FIFO, a device or a socket, and is otherwise replaced whole or not at
    all. An unknown suffix is a ValueError naming `who`, before anything is drawn.
    """
    require_regular_file(path, who)  # before the drawing, which may take a while
    suffix = Path(os.fspath(path)).suffix.lower().lstrip(".")
    kind = suffix or "png"
    known = fig.canvas.get_supported_filetypes()
    if kind not in known:
        raise ValueError(f"{who}: cannot tell a picture format from {os.fspath(path)!r}; "
                         f"use one of {', '.join('.' + k for k in sorted(known))}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=kind, **savefig)
    write_file(path, buffer.getvalue(), who)


def _score(out: Value | list) -> float:
    return (out[0] if isinstance(out, list) else out).data


def plot_decision_boundary(
    model: Module,
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    path: str | os.PathLike,
    X_val: Sequence[Sequence[float]] = (),
    y_val: Sequence[int] = (),
    title: str = "",
    resolution: int = 90,
) -> None:
    """Save a picture of a 2-input, 1-output classifier: its score over the plane, shaded by
    sign, the boundary score = 0 as a line, training points as dots and validation points as
    triangles, coloured by label (score > 0 means the positive class)."""
    require_regular_file(path, "plot_decision_boundary")  # before thousands of forward passes
    resolution = check_int(resolution, "plot_decision_boundary: resolution", 2, MAX_RESOLUTION)
    fig = _figure(figsize=(6.4, 5.2), dpi=110)
    ax = fig.add_subplot()
    mesh = draw_decision_boundary(ax, model, X, y, X_val, y_val, resolution)
    fig.colorbar(mesh, ax=ax, label="model score (> 0: class +1)")
    ax.set_title(title or "decision boundary")
    ax.legend(loc="best", fontsize=7, framealpha=0.85)
    save_figure(fig, path, "plot_decision_boundary")


def plot_history(history: History, path: str | os.PathLike, title: str = "") -> None:
    """Save the loss (left) and accuracy (right) per epoch, training and validation."""
    fig = _figure(figsize=(9.6, 3.8), dpi=110)
    left, right = fig.subplots(1, 2)
    draw_history(left, history, "loss")
    draw_history(right, history, "accuracy")
    fig.suptitle(title or "training history")
    fig.tight_layout()
    save_figure(fig, path, "plot_history")


# The drawing itself, on a matplotlib Axes: the pictures above and the live view (nn.training.live) share it.


def draw_decision_boundary(
    ax: Any,
    model: Module,
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    X_val: Sequence[Sequence[float]] = (),
    y_val: Sequence[int] = (),
    resolution: int = 90,
) -> Any:
    """Draw a 2-input, 1-output classifier's score over the plane on `ax`, its boundary score = 0,
    and the points (training: dots, validation: triangles); returns the shading, for a colorbar."""
    resolution = check_int(resolution, "draw_decision_boundary: resolution", 2, MAX_RESOLUTION)
    xs = [p[0] for p in [*X, *X_val]]
    ys = [p[1] for p in [*X, *X_val]]
    pad = 0.5
    x0, x1, y0, y1 = min(xs) - pad, max(xs) + pad, min(ys) - pad, max(ys) + pad
    gx = [x0 + (x1 - x0) * i / (resolution - 1) for i in range(resolution)]
    gy = [y0 + (y1 - y0) * j / (resolution - 1) for j in range(resolution)]
    was_training = model.training
    model.eval()
    try:
        with no_grad():  # thousands of forward passes: no graph needed, and on floats it is fast
            scores = [[_score(model([a, b])) for a in gx] for b in gy]
    finally:
        model.train(was_training)
    limit = max(1e-9, max(abs(s) for row in scores for s in row))
    mesh = ax.contourf(gx, gy, scores, levels=21, cmap="RdBu", vmin=-limit, vmax=limit, alpha=0.55)
    ax.contour(gx, gy, scores, levels=[0.0], colors="black", linewidths=1.5)
    for points, labels, marker, name in ((X, y, "o", "train"), (X_val, y_val, "^", "validation")):
        for cls, colour in ((False, _NEG), (True, _POS)):
            sel = [p for p, t in zip(points, labels) if (t > 0) == cls]
            if sel:
                ax.scatter(
                    [p[0] for p in sel], [p[1] for p in sel], c=colour, marker=marker, s=28, edgecolors="black",
                    linewidths=0.6, label=f"{name}, class {'+1' if cls else '-1'}",
                )
    ax.plot([], [], color="black", label="decision boundary (score = 0)")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    return mesh


def draw_history(ax: Any, history: History, name: str) -> None:
    """Draw one of the history's curves per epoch on `ax`: name "loss" or "accuracy", training
    (solid) and validation (dashed), with a dotted line at the best validation epoch."""
    if name not in ("loss", "accuracy"):
        raise ValueError(f"draw_history: name must be 'loss' or 'accuracy', got {name!r}")
    train, val = (history.loss, history.val_loss) if name == "loss" else (history.accuracy, history.val_accuracy)
    epochs = list(range(1, len(train) + 1))
    ax.plot(epochs, train, label=f"training {name}", color=_POS)
    if val:
        ax.plot(epochs, val, label=f"validation {name}", color="#ff7f0e", linestyle="--")
    if history.best_epoch is not None:
        ax.axvline(history.best_epoch + 1, color="grey", linewidth=0.8, linestyle=":", label="best validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel(name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if name == "accuracy":
        ax.set_ylim(-0.02, 1.02)
