"""Toy data sets (2-D classification, a 1-D regression), and train/validation and train/test splits. No dependencies.

Every function draws from its own `random.Random(seed)`: the same seed gives the same points on
every run and platform, whatever else the program does with the global `random` module.
Points are returned as a list of (x1, x2) float pairs, labels as a list of ints, shuffled.
(The real data set, the handwritten digits, is `nn.load_digits` in nn/digits.py.)
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from nn._numbers import check_int, check_real, check_seed, show

Point = tuple[float, float]


def _check_n(n: object) -> int:
    return check_int(n, "n", 1)


def _check_noise(noise: object) -> float:
    return check_real(noise, "noise", 0.0)


def _rng(seed: object) -> random.Random:
    return random.Random(check_seed(seed))


def _linspace(start: float, stop: float, k: int, endpoint: bool = True) -> list[float]:
    if k == 1:
        return [start]
    steps = k - 1 if endpoint else k
    return [start + (stop - start) * i / steps for i in range(k)]


def _finish(points: list[Point], labels: list[int], noise: float, rng: random.Random) -> tuple[list[Point], list[int]]:
    """Add Gaussian noise of standard deviation `noise` to each coordinate, then shuffle."""
    noisy = [(x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)) for x, y in points]
    order = list(range(len(noisy)))
    rng.shuffle(order)
    return [noisy[i] for i in order], [labels[i] for i in order]


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[list[Point], list[int]]:
    """Two interleaving half circles (scikit-learn's geometry), labels -1 (upper) and +1 (lower).

    Upper moon: (cos t, sin t); lower moon: (1 - cos t, 0.5 - sin t); t evenly spaced in [0, pi].
    n // 2 points get label -1 and the rest +1.
    """
    n, noise, rng = _check_n(n), _check_noise(noise), _rng(seed)
    n_upper = n // 2
    points = [(math.cos(t), math.sin(t)) for t in _linspace(0.0, math.pi, n_upper)]
    points += [(1.0 - math.cos(t), 0.5 - math.sin(t)) for t in _linspace(0.0, math.pi, n - n_upper)]
    labels = [-1] * n_upper + [1] * (n - n_upper)
    return _finish(points, labels, noise, rng)


def make_circles(
    n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int = 0
) -> tuple[list[Point], list[int]]:
    """A circle of radius `factor` (label +1) inside a circle of radius 1 (label -1).

    n // 2 points on the outer circle, the rest on the inner one, evenly spaced in angle.
    """
    n, noise, rng = _check_n(n), _check_noise(noise), _rng(seed)
    factor = check_real(factor, "factor (inner radius / outer radius)", 0.0, 1.0, low_open=True, high_open=True)
    n_outer = n // 2
    points = [(math.cos(t), math.sin(t)) for t in _linspace(0.0, 2 * math.pi, n_outer, endpoint=False)]
    inner = _linspace(0.0, 2 * math.pi, n - n_outer, endpoint=False)
    points += [(factor * math.cos(t), factor * math.sin(t)) for t in inner]
    labels = [-1] * n_outer + [1] * (n - n_outer)
    return _finish(points, labels, noise, rng)


def make_xor(n: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[list[Point], list[int]]:
    """Points in [-1, 1]^2 labelled by quadrant: +1 where x1 x2 > 0, -1 where x1 x2 < 0.

    The classic problem a single neuron cannot solve. Labels alternate, so the classes are
    balanced; each point's coordinates are uniform in magnitude with signs fixed by its label.
    """
    n, noise, rng = _check_n(n), _check_noise(noise), _rng(seed)
    points, labels = [], []
    for i in range(n):
        label = 1 if i % 2 == 0 else -1
        sign = rng.choice((-1.0, 1.0))
        points.append((sign * rng.uniform(0.0, 1.0), sign * label * rng.uniform(0.0, 1.0)))
        labels.append(label)
    return _finish(points, labels, noise, rng)


def make_spiral(
    n: int = 150, classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[list[Point], list[int]]:
    """`classes` spiral arms around the origin, labels 0 .. classes-1 (for cross_entropy).

    Arm k: radius r from 0 to 1 and angle 4 r + 2 pi k / classes (plus Gaussian noise of
    standard deviation `noise` on the angle); the n points are shared out as evenly as possible,
    at least one per arm (so classes <= n).
    """
    n, noise, rng = _check_n(n), _check_noise(noise), _rng(seed)
    classes = check_int(classes, "classes", 2)
    if classes > n:
        raise ValueError(f"classes must be at most n = {n}, so that every class gets a point; got {show(classes)}")
    points, labels = [], []
    for k in range(classes):
        count = n // classes + (1 if k < n % classes else 0)
        for r in _linspace(0.0, 1.0, count):
            angle = 4.0 * r + 2.0 * math.pi * k / classes + rng.gauss(0.0, noise)
            points.append((r * math.cos(angle), r * math.sin(angle)))
            labels.append(k)
    return _finish(points, labels, 0.0, rng)


def make_sine(n: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[list[float], list[float]]:
    """A 1-D regression task: n points x uniform in [-pi, pi], targets sin(x) plus Gaussian noise.

    Returns (X, y): X a list of n floats (a bare number is an input of a model with nin == 1),
    y the n targets sin(x) + N(0, noise^2), in the order they were drawn.
    """
    n, noise, rng = _check_n(n), _check_noise(noise), _rng(seed)
    X = [rng.uniform(-math.pi, math.pi) for _ in range(n)]
    return X, [math.sin(x) + rng.gauss(0.0, noise) for x in X]


def _split(X: Sequence, y: Sequence, fraction: float, seed: int, what: str) -> tuple[list, list, list, list]:
    """Shuffle the pairs by seed; the first round(n * fraction) (at least 1, at most n - 1) go to the second part."""
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if len(X) < 2:
        raise ValueError(f"a split needs at least 2 samples, got {len(X)}")
    fraction = check_real(fraction, what, 0.0, 1.0, low_open=True, high_open=True)
    order = list(range(len(X)))
    _rng(seed).shuffle(order)
    n_held_out = min(max(round(len(X) * fraction), 1), len(X) - 1)
    kept, held_out = order[n_held_out:], order[:n_held_out]
    return [X[i] for i in kept], [y[i] for i in kept], [X[i] for i in held_out], [y[i] for i in held_out]


def train_val_split(
    X: Sequence, y: Sequence, val_fraction: float = 0.2, seed: int = 0
) -> tuple[list, list, list, list]:
    """Shuffle the pairs (X[i], y[i]) and split off round(n * val_fraction) of them for validation.

    Returns (X_train, y_train, X_val, y_val); both parts get at least one sample.
    """
    return _split(X, y, val_fraction, seed, "val_fraction")


def train_test_split(
    X: Sequence, y: Sequence, test_fraction: float = 0.2, seed: int = 0
) -> tuple[list, list, list, list]:
    """Shuffle the pairs (X[i], y[i]) by `seed` and set round(n * test_fraction) of them aside for testing.

    Returns (X_train, y_train, X_test, y_test), in the order of `train_val_split` (scikit-learn's
    function of this name returns X_train, X_test, y_train, y_test). Both parts get at least one
    sample; the same seed always gives the same split. The test part is for the final measure
    only: choose settings with a validation split of the training part.
    """
    return _split(X, y, test_fraction, seed, "test_fraction")
