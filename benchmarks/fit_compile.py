"""fit() against fit(compile=True): the same training (checked bit for bit), the time of each.

    .venv/bin/python benchmarks/fit_compile.py            # the moons and notebook 13's digits
    .venv/bin/python benchmarks/fit_compile.py --quick    # fewer epochs

moons: MLP(2, [16, 16, 1]), hinge loss, Adam, all 100 points in every step (the benchmark's step).
digits: notebook 13 as it trains: MLP(64, [32, 10]), cross-entropy, Adam with a cosine schedule,
batches of 32, a validation set. Each time is the best of `repeat` runs (other processes only
ever slow a run down); the ratio is eager / compiled. Times are CPU time of this process.
"""

from __future__ import annotations

import argparse
import time

from nn import (
    MLP,
    Adam,
    CosineAnnealingLR,
    cross_entropy,
    evaluate,
    fit,
    hinge_loss,
    load_digits,
    make_moons,
    train_test_split,
    train_val_split,
)


def _moons(compiled: bool, epochs: int):
    X, y = make_moons(n=100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    history = fit(model, X, y, hinge_loss, Adam(model.parameters(), lr=0.02), epochs=epochs, progress=False,
                  compile=compiled)
    return model, history, None


def _digits(compiled: bool, epochs: int):
    X, y = load_digits()
    X_train, y_train, X_test, y_test = train_test_split(X, y, test_fraction=0.2, seed=0)
    X_fit, y_fit, X_val, y_val = train_val_split(X_train, y_train, val_fraction=0.1, seed=0)
    model = MLP(64, [32, 10], activation="relu", seed=0)
    optimizer = Adam(model.parameters(), lr=0.01)
    history = fit(model, X_fit, y_fit, cross_entropy, optimizer, epochs=epochs, batch_size=32,
                  validation=(X_val, y_val), scheduler=CosineAnnealingLR(optimizer, T_max=epochs), progress=False,
                  compile=compiled)
    return model, history, evaluate(model, X_test, y_test, cross_entropy)


def _timed(train, compiled: bool, epochs: int, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = train(compiled, epochs)
        best = min(best, time.process_time() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and one run each")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    runs = [("moons", _moons, 20 if args.quick else 100), ("digits", _digits, 2 if args.quick else 12)]
    for name, train, epochs in runs:
        eager_s, (eager_model, eager_history, eager_test) = _timed(train, False, epochs, repeat)
        fast_s, (fast_model, fast_history, fast_test) = _timed(train, True, epochs, repeat)
        same = (eager_history == fast_history and eager_test == fast_test
                and [p.data for p in eager_model.parameters()] == [p.data for p in fast_model.parameters()])
        accuracy = f", test accuracy {fast_test[1]:.1%}" if fast_test else f", accuracy {fast_history.accuracy[-1]:.1%}"
        print(f"{name:6} {epochs:3} epochs: eager {eager_s:7.2f} s, compiled {fast_s:6.2f} s, "
              f"{eager_s / fast_s:5.1f}x faster; same weights and history: {same}{accuracy}")


if __name__ == "__main__":
    main()
