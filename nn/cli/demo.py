"""`chainrule demo`: train an MLP on the two-moons data and draw what happened.

The classic scalar-engine demo: a 2-16-16-1 ReLU network learns to separate two interleaving
half moons (100 training points) with the hinge loss. It prints the training and validation
accuracy and writes three pictures into the output folder:

    decision_boundary.png   the plane coloured by the model's score, with the points
    training_curves.png     loss and accuracy per epoch, training and validation
    neuron_graph.svg/.png   one neuron's computation graph with the gradient on every node
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from autograd import Value
from autograd.cli_args import Parser, between, parse, whole
from autograd.files import require_regular_file
from nn.datasets.data import make_moons, train_val_split
from nn.modules.layers import MLP
from nn.training.losses import hinge_loss
from nn.training.optim import Adam
from nn.training.train import History, evaluate, fit

_EXIT_STATUS = """exit status:
  0    every picture was written
  1    the output folder cannot be created or written, or a picture's name there is taken by
       something other than a regular file (a folder, a FIFO, a device): nothing is trained;
       or a picture could not be made (matplotlib or Graphviz missing, a file not written):
       the rest is still written
  2    a mistake in the options
  130  interrupted (Ctrl-C): no half-written picture is left behind
  141  the output's reader went away (e.g. piped into `head`)"""


PICTURES = ("decision_boundary.png", "training_curves.png", "neuron_graph.svg", "neuron_graph.png")


def _parser() -> Parser:
    p = Parser(
        "chainrule demo",
        description="Train an MLP on two moons; save a decision boundary, training curves and a neuron's graph.",
        epilog=_EXIT_STATUS,
    )
    p.add_argument("--epochs", type=whole(1), default=100, help="full-batch training epochs")
    p.add_argument("--points", type=whole(4), default=100,
                   help="training points; a quarter more are drawn for validation")
    p.add_argument("--noise", type=between(0.0, 10.0, True), default=0.1,
                   help="standard deviation of the moons' noise")
    p.add_argument("--lr", type=between(0.0, 10.0, False), default=0.05, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed for the data and the initial weights")
    p.add_argument("--out", default="chainrule-output", help="output folder, made if missing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _percent(acc: float, n: int) -> str:
    return f"{100 * acc:.1f}% ({round(acc * n)}/{n})"


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit status (0 when everything was written).

    Mistakes and failures are one line on stderr. Ctrl-C and a closed pipe propagate (the
    `chainrule` command turns them into a line and a status) and leave no folder made here
    for nothing and no half-written picture.
    """
    args = parse(_parser(), argv)
    if isinstance(args, int):  # --help printed, or a mistake reported
        return args
    out = Path(args.out)
    made: list[Path] = []
    try:
        made = _make_folder(out)
        with tempfile.TemporaryFile(dir=out):  # can we write there? Better to know before training
            pass
        for name in PICTURES:  # a FIFO or a device in a picture's place is never written: say so now
            require_regular_file(out / name, "cannot write a picture")
    except ValueError as e:
        _remove_if_empty(made)
        print(f"chainrule demo: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        _remove_if_empty(made)
        where = f" ({e.filename})" if e.filename and Path(os.fspath(e.filename)) in out.parents else ""
        print(f"chainrule demo: error: cannot write into the output folder {str(out)!r}{where}: {e.strerror or e}",
              file=sys.stderr)
        return 1
    try:
        return _train_and_draw(args, out)
    finally:
        _remove_if_empty(made)  # a failed or interrupted run leaves no empty folder behind


def _train_and_draw(args: argparse.Namespace, out: Path) -> int:
    n_val = max(1, args.points // 4)
    X, y = make_moons(args.points + n_val, noise=args.noise, seed=args.seed)
    X_train, y_train, X_val, y_val = train_val_split(X, y, val_fraction=n_val / (args.points + n_val), seed=args.seed)
    model = MLP(2, [16, 16, 1], activation="relu", seed=args.seed)
    print(f"training {model} on {len(X_train)} two-moons points ({len(X_val)} more for validation)")
    print(f"hinge loss, Adam(lr={args.lr}), {args.epochs} full-batch epochs", flush=True)  # shown while it trains
    history = fit(
        model, X_train, y_train, hinge_loss, Adam(model.parameters(), lr=args.lr),
        epochs=args.epochs, validation=(X_val, y_val), progress=not args.no_progress,
    )
    train_loss, train_acc = evaluate(model, X_train, y_train, hinge_loss)
    _, val_acc = evaluate(model, X_val, y_val, hinge_loss)
    print(f"train accuracy      {_percent(train_acc, len(X_train))}   (final hinge loss {train_loss:.4g})")
    print(f"validation accuracy {_percent(val_acc, len(X_val))}", flush=True)

    written: list[tuple[Path, str]] = []
    status = 0
    try:
        _plots(model, history, X_train, y_train, X_val, y_val, train_acc, val_acc, out, written)
    except ImportError as e:
        print(f"chainrule demo: no plots: {e}", file=sys.stderr)
        status = 1
    except OSError as e:
        print(f"chainrule demo: no plots: cannot write {e.filename or out}: {e.strerror or e}", file=sys.stderr)
        status = 1
    except ValueError as e:  # the name became a FIFO, a device or a folder since the check before training
        print(f"chainrule demo: no plots: {e}", file=sys.stderr)
        status = 1
    try:
        _neuron_picture(model, X_train[0], out, written)
    except OSError as e:
        print(f"chainrule demo: no neuron graph picture: cannot write {e.filename or out}: {e.strerror or e}",
              file=sys.stderr)
        status = 1
    except (ImportError, RuntimeError, ValueError, subprocess.SubprocessError) as e:
        # no Graphviz `dot`, dot too slow or failing: the rest still stands
        print(f"chainrule demo: no neuron graph picture: {' '.join(str(e).split())}", file=sys.stderr)
        status = 1
    if not written:
        print(f"wrote nothing into {out.resolve()}")
        return status
    print(f"wrote {len(written)} files into {out.resolve()}:")
    width = max(len(str(path)) for path, _ in written)
    for path, what in written:
        print(f"  {str(path):{width}}   {what}")
    return status


def _make_folder(folder: Path) -> list[Path]:
    """Make folder and its missing parents; returns the folders made, deepest first."""
    missing = []
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    made = []
    try:
        for f in reversed(missing):
            f.mkdir()
            made.insert(0, f)
    except OSError:
        _remove_if_empty(made)
        raise
    return made


def _remove_if_empty(folders: list[Path]) -> None:
    for f in folders:  # deepest first
        try:
            f.rmdir()
        except OSError:  # not empty (pictures were written) or gone: leave it
            return


def _plots(model, history: History, X_train, y_train, X_val, y_val, train_acc, val_acc, out: Path,
           written: list) -> None:
    from nn.training.plots import plot_decision_boundary, plot_history

    boundary, curves = out / PICTURES[0], out / PICTURES[1]  # each written whole or not at all (write_file)
    sizes = "-".join(str(n) for n in [model.nin, *model.nouts])
    title = f"{sizes} MLP: train {100 * train_acc:.0f}%, validation {100 * val_acc:.0f}%"
    plot_decision_boundary(model, X_train, y_train, boundary, X_val, y_val, title=title)
    written.append((boundary, "decision boundary learned by the MLP"))
    plot_history(history, curves, title=f"two moons, {len(X_train)} training points")
    written.append((curves, "loss and accuracy per epoch"))


def _neuron_picture(model: MLP, point: tuple[float, float], out: Path, written: list) -> None:
    """Draw the first neuron of the first layer that is active on `point`, with d(output)/d(node)."""
    from autograd import draw_dot

    layer = model.layers[0]
    x = [Value(point[0], label="x0"), Value(point[1], label="x1")]
    outputs = [(j, neuron(x)) for j, neuron in enumerate(layer.neurons)]
    j, y = next(((j, v) for j, v in outputs if v.data > 0.0), outputs[0])  # a ReLU at 0 passes no gradient
    saved = [(p, p.grad) for p in layer.neurons[j].parameters()]
    y.label = f"layer 0, neuron {j}"
    y.backward()
    picture = draw_dot(y, local_grads=True)
    for p, g in saved:  # the picture needed .grad on the weights; the model gets its own back
        p.grad = g
    what = f"graph of neuron {j} of layer 0 on the point ({point[0]:.3f}, {point[1]:.3f}), with gradients"
    written.append((Path(picture.render(outfile=out / PICTURES[2])), what))  # exactly this file, or none
    written.append((Path(picture.render(outfile=out / PICTURES[3])), "the same as a PNG"))

