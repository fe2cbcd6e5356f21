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
import sys
from pathlib import Path

from autograd import Value
from nn.data import make_moons, train_val_split
from nn.layers import MLP
from nn.losses import hinge_loss
from nn.optim import Adam
from nn.train import History, evaluate, fit


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chainrule demo",
        description="Train an MLP on two moons; save a decision boundary, training curves and a neuron's graph.",
    )
    p.add_argument("--epochs", type=int, default=100, help="full-batch training epochs (default 100)")
    p.add_argument("--points", type=int, default=100, help="training points; a quarter more are drawn for validation")
    p.add_argument("--noise", type=float, default=0.1, help="standard deviation of the moons' noise (default 0.1)")
    p.add_argument("--lr", type=float, default=0.05, help="Adam learning rate (default 0.05)")
    p.add_argument("--seed", type=int, default=0, help="seed for the data and the initial weights (default 0)")
    p.add_argument("--out", default="chainrule-output", help="output folder (default ./chainrule-output)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _percent(acc: float, n: int) -> str:
    return f"{100 * acc:.1f}% ({round(acc * n)}/{n})"


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit status (0 when everything was written)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help or a bad option: argparse has printed why
        return int(e.code or 0)
    if args.epochs < 1 or args.points < 4 or not 0.0 <= args.noise < 10.0 or not 0.0 < args.lr < 10.0:
        print("chainrule demo: need --epochs >= 1, --points >= 4, 0 <= --noise < 10, 0 < --lr < 10", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"chainrule demo: cannot create the output folder {out}: {e}", file=sys.stderr)
        return 1

    n_val = max(1, args.points // 4)
    X, y = make_moons(args.points + n_val, noise=args.noise, seed=args.seed)
    X_train, y_train, X_val, y_val = train_val_split(X, y, val_fraction=n_val / (args.points + n_val), seed=args.seed)
    model = MLP(2, [16, 16, 1], activation="relu", seed=args.seed)
    print(f"training {model} on {len(X_train)} two-moons points ({len(X_val)} more for validation)")
    print(f"hinge loss, Adam(lr={args.lr}), {args.epochs} full-batch epochs")
    history = fit(
        model, X_train, y_train, hinge_loss, Adam(model.parameters(), lr=args.lr),
        epochs=args.epochs, validation=(X_val, y_val), progress=not args.no_progress,
    )
    train_loss, train_acc = evaluate(model, X_train, y_train, hinge_loss)
    _, val_acc = evaluate(model, X_val, y_val, hinge_loss)
    print(f"train accuracy      {_percent(train_acc, len(X_train))}   (final hinge loss {train_loss:.4g})")
    print(f"validation accuracy {_percent(val_acc, len(X_val))}")

    written: list[tuple[Path, str]] = []
    status = 0
    try:
        written += _plots(model, history, X_train, y_train, X_val, y_val, train_acc, val_acc, out)
    except ImportError as e:
        print(f"chainrule demo: no plots: {e}", file=sys.stderr)
        status = 1
    try:
        written += _neuron_picture(model, X_train[0], out)
    except (ImportError, RuntimeError, OSError) as e:  # e.g. no Graphviz `dot`: the rest still stands
        print(f"chainrule demo: no neuron graph picture: {e}", file=sys.stderr)
        status = 1
    print(f"wrote {len(written)} files into {out.resolve()}:")
    width = max((len(str(path)) for path, _ in written), default=0)
    for path, what in written:
        print(f"  {str(path):{width}}   {what}")
    return status


def _plots(model, history: History, X_train, y_train, X_val, y_val, train_acc, val_acc, out: Path) -> list:
    from nn.plots import plot_decision_boundary, plot_history

    boundary, curves = out / "decision_boundary.png", out / "training_curves.png"
    sizes = "-".join(str(n) for n in [model.nin, *model.nouts])
    title = f"{sizes} MLP: train {100 * train_acc:.0f}%, validation {100 * val_acc:.0f}%"
    plot_decision_boundary(model, X_train, y_train, boundary, X_val, y_val, title=title)
    plot_history(history, curves, title=f"two moons, {len(X_train)} training points")
    return [(boundary, "decision boundary learned by the MLP"), (curves, "loss and accuracy per epoch")]


def _neuron_picture(model: MLP, point: tuple[float, float], out: Path) -> list:
    """Draw the first neuron of the first layer that is active on `point`, with d(output)/d(node)."""
    from autograd.draw import draw_dot

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
    svg = Path(picture.render(outfile=out / "neuron_graph.svg", cleanup=True))
    png = Path(picture.render(outfile=out / "neuron_graph.png", cleanup=True))
    what = f"graph of neuron {j} of layer 0 on the point ({point[0]:.3f}, {point[1]:.3f}), with gradients"
    return [(svg, what), (png, "the same as a PNG")]


if __name__ == "__main__":
    sys.exit(main())
