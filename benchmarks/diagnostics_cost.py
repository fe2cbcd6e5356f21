"""What `fit(..., diagnostics=True)` costs: CPU time per epoch with the layer statistics on and off.

    .venv/bin/python benchmarks/diagnostics_cost.py            # about a minute
    .venv/bin/python benchmarks/diagnostics_cost.py --quick    # a few seconds, for a smoke test

Each workload trains a fresh, identically seeded model for a few epochs with diagnostics off and
on, alternating which goes first, and keeps the median CPU time per epoch of each (CPU time of the
process: other programs on a shared machine disturb it far less than wall time). The target of
issue 14: diagnostics cost at most 30% more per epoch. No progress bar, no live view.

The recording costs a little per forward pass of a layer (its outputs' numbers are kept) and a
little per optimizer step (every parameter is read before and after the step); so the smaller
the batches, the larger its share: one sample per step is the worst case.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, not installed

import nn  # noqa: E402

TARGET = 0.30  # at most 30% more time per epoch


def workloads(quick: bool) -> list[tuple[str, dict]]:
    """(description, how to train) for each measured case."""
    points = 40 if quick else 100
    return [
        (f"MLP(2, [16, 16, 1]) relu, {points} moons, full batch, Adam",
         {"sizes": [16, 16, 1], "activation": "relu", "points": points, "batch_size": None}),
        (f"MLP(2, [16, 16, 1]) relu, {points} moons, batches of 10, Adam",
         {"sizes": [16, 16, 1], "activation": "relu", "points": points, "batch_size": 10}),
        (f"MLP(2, [16, 16, 1]) relu, {points} moons, one sample per step (the worst case), Adam",
         {"sizes": [16, 16, 1], "activation": "relu", "points": points, "batch_size": 1}),
        (f"MLP(2, [32, 32, 32, 1]) tanh, {points} moons, batches of 10, SGD",
         {"sizes": [32, 32, 32, 1], "activation": "tanh", "points": points, "batch_size": 10, "sgd": True}),
    ]


def seconds_per_epoch(case: dict, epochs: int, diagnostics: bool) -> float:
    X, y = nn.make_moons(n=case["points"], noise=0.1, seed=0)
    model = nn.MLP(2, case["sizes"], activation=case["activation"], seed=0)
    params = model.parameters()
    optimizer = nn.SGD(params, lr=0.05, momentum=0.9) if case.get("sgd") else nn.Adam(params, lr=0.01)
    start = time.process_time()
    nn.fit(model, X, y, nn.hinge_loss, optimizer, epochs=epochs, batch_size=case["batch_size"],
           progress=False, diagnostics=diagnostics)
    return (time.process_time() - start) / epochs


def measure(case: dict, epochs: int, repeats: int) -> tuple[float, float]:
    """Median seconds per epoch (off, on), the two interleaved so that drifts of the machine hit both."""
    off, on = [], []
    seconds_per_epoch(case, 1, True)  # warm-up: imports (matplotlib is not imported), caches
    for r in range(repeats):
        for diagnostics in ((False, True) if r % 2 == 0 else (True, False)):
            (on if diagnostics else off).append(seconds_per_epoch(case, epochs, diagnostics))
    return statistics.median(off), statistics.median(on)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small workloads, few repeats (a smoke test)")
    args = parser.parse_args(argv)
    epochs, repeats = (2, 2) if args.quick else (5, 7)
    print(f"`python benchmarks/diagnostics_cost.py{' --quick' if args.quick else ''}`: "
          f"{epochs} epochs per run, median of {repeats} runs, CPU time\n")
    print("| workload | ms / epoch, off | ms / epoch, diagnostics | extra |")
    print("|---|---:|---:|---:|")
    worst = 0.0
    for name, case in workloads(args.quick):
        off, on = measure(case, epochs, repeats)
        extra = on / off - 1.0
        worst = max(worst, extra)
        print(f"| {name} | {off * 1e3:,.1f} | {on * 1e3:,.1f} | {extra:+.1%} |")
    verdict = "PASS" if worst <= TARGET else "FAIL"
    print(f"\n- {verdict}  diagnostics cost at most {TARGET:.0%} more per epoch: worst {worst:+.1%}"
          + (" (quick mode: too few runs to judge)" if args.quick else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
