"""What one forward per module costs: an MLP's recorded forward + backward, and its evaluation under no_grad.

    .venv/bin/python benchmarks/nn_forward.py

CPU time (time.process_time), best of several rounds, MLP(2, [16, 16, 1]) on 200 two-moons
points: the training step as fit takes it eagerly, `evaluate` (eval mode, no_grad) and a 50x50
decision-boundary grid under no_grad.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograd import no_grad  # noqa: E402
from nn import MLP, evaluate, hinge_loss, make_moons  # noqa: E402

ROUNDS = 7


def best_ms(f, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.process_time()
        f()
        times.append(time.process_time() - start)
    return 1e3 * min(times)


def main() -> None:
    X, y = make_moons(200, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    grid = [[-1.5 + 3.0 * i / 49, -1.0 + 2.5 * j / 49] for i in range(50) for j in range(50)]

    def step() -> None:
        model.zero_grad()
        hinge_loss([model(x) for x in X], y).backward()

    def grid_scores() -> None:
        with no_grad():
            for point in grid:
                model(point)

    evaluate(model, X, y, hinge_loss)  # the first evaluation may prepare a program: not timed
    grid_scores()
    print(f"MLP(2, [16, 16, 1]), {len(X)} points, best of {ROUNDS} (CPU ms)")
    print(f"  recorded forward + backward: {best_ms(step):8.2f}")
    print(f"  evaluate (no_grad):          {best_ms(lambda: evaluate(model, X, y, hinge_loss)):8.2f}")
    print(f"  2500-point grid (no_grad):   {best_ms(grid_scores, 3):8.2f}")


if __name__ == "__main__":
    main()
