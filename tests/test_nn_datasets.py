"""Toy data sets and the train/validation and train/test splits: shapes, geometry, balance, determinism by seed."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from nn import make_circles, make_moons, make_sine, make_spiral, make_xor, train_test_split, train_val_split

pytestmark = pytest.mark.nn

MAKERS = [make_moons, make_circles, make_xor, make_spiral]
ALL_MAKERS = [*MAKERS, make_sine]


@pytest.mark.parametrize("make", MAKERS)
def test_points_are_float_pairs_and_labels_are_ints(make):
    X, y = make(n=60, seed=1)
    assert len(X) == len(y) == 60
    assert all(len(p) == 2 and all(type(c) is float and math.isfinite(c) for c in p) for p in X)
    assert all(type(label) is int for label in y)


@pytest.mark.parametrize("make", ALL_MAKERS)
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(make):
    assert make(n=50, seed=3) == make(n=50, seed=3)
    assert make(n=50, seed=3)[0] != make(n=50, seed=4)[0]


@pytest.mark.parametrize("make", ALL_MAKERS)
def test_data_ignores_and_leaves_alone_the_global_random_state(make):
    random.seed(0)
    first = make(n=40, seed=5)
    random.seed(123)
    state = random.getstate()
    assert make(n=40, seed=5) == first
    assert random.getstate() == state


@pytest.mark.parametrize("make", [make_moons, make_circles, make_xor])
@pytest.mark.parametrize("n", [1, 10, 101])
def test_binary_data_sets_are_balanced_with_labels_plus_and_minus_one(make, n):
    _, y = make(n=n, seed=0)
    counts = Counter(y)
    assert set(counts) <= {-1, 1}
    assert abs(counts[1] - counts[-1]) <= 1


def test_noiseless_moons_lie_on_two_unit_half_circles():
    X, y = make_moons(n=41, noise=0.0, seed=0)
    for (a, b), label in zip(X, y):
        if label == -1:  # upper moon: centre (0, 0), y >= 0
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:  # lower moon: centre (1, 0.5), y <= 0.5
            assert math.hypot(a - 1.0, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12


def test_noise_moves_points_off_the_curves_by_about_its_standard_deviation():
    X, y = make_moons(n=2000, noise=0.1, seed=1)
    upper = [math.hypot(a, b) - 1.0 for (a, b), label in zip(X, y) if label == -1]
    spread = math.sqrt(sum(d * d for d in upper) / len(upper))
    assert 0.07 < spread < 0.13


def test_noiseless_circles_have_radius_one_and_factor():
    X, y = make_circles(n=30, noise=0.0, factor=0.3, seed=0)
    for p, label in zip(X, y):
        assert math.hypot(*p) == pytest.approx(1.0 if label == -1 else 0.3)


def test_noiseless_xor_labels_follow_the_quadrant():
    X, y = make_xor(n=200, noise=0.0, seed=0)
    assert all(label == (1 if a * b > 0 else -1) for (a, b), label in zip(X, y))
    assert all(max(abs(a), abs(b)) <= 1.0 for a, b in X)


@pytest.mark.parametrize("classes", [2, 3, 5])
def test_spiral_has_k_classes_shared_out_evenly(classes):
    X, y = make_spiral(n=100, classes=classes, seed=0)
    counts = Counter(y)
    assert sorted(counts) == list(range(classes))
    assert max(counts.values()) - min(counts.values()) <= 1
    assert all(math.hypot(*p) <= 1.0 + 1e-12 for p in X)


@pytest.mark.parametrize(
    "call",
    [
        lambda: make_moons(n=0),
        lambda: make_moons(noise=-0.1),
        lambda: make_moons(noise=math.inf),
        lambda: make_circles(factor=1.0),
        lambda: make_spiral(classes=1),
    ],
)
def test_bad_sizes_and_noise_raise_value_errors(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize("call", [lambda: make_moons(n=True), lambda: make_moons(n=10.0), lambda: make_moons(n="10")])
def test_a_size_that_is_not_an_int_raises_a_type_error(call):
    with pytest.raises(TypeError, match="n must be an int"):
        call()


HUGE = 10**400  # float(HUGE) raises a bare OverflowError; each error must name the argument instead


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda: make_moons(n=HUGE),
            ValueError,
            "n must be an int in [1, 9223372036854775807], got an int of about 1e+400",
        ),
        (lambda: make_xor(n=-HUGE), ValueError, "n must be an int >= 1, got an int of about -1e+400"),
        (lambda: make_moons(noise=HUGE), ValueError, "noise must be a finite number >= 0, got an int of about 1e+400"),
        (lambda: make_xor(noise=math.nan), ValueError, "noise must be a finite number >= 0, got nan"),
        (lambda: make_moons(noise="0.1"), TypeError, "noise must be a number, got str: '0.1'"),
        (
            lambda: make_circles(factor=HUGE),
            ValueError,
            "factor (inner radius / outer radius) must be a finite number in (0, 1), got an int of about 1e+400",
        ),
        (lambda: make_circles(factor=0), ValueError, "must be a finite number in (0, 1), got 0"),
        (
            lambda: make_spiral(classes=HUGE),
            ValueError,
            "classes must be an int in [2, 9223372036854775807], got an int of about 1e+400",
        ),
        (
            lambda: make_spiral(n=10, classes=11),
            ValueError,
            "classes must be at most n = 10, so that every class gets a point; got 11",
        ),
        (lambda: make_spiral(classes=2.0), TypeError, "classes must be an int, got float: 2.0"),
        (
            lambda: train_val_split([1, 2], [1, 2], val_fraction=HUGE),
            ValueError,
            "val_fraction must be a finite number in (0, 1), got an int of about 1e+400",
        ),
        (lambda: make_moons(seed=1.5), TypeError, "seed must be an int, got float: 1.5"),
    ],
)
def test_each_error_names_the_argument_and_its_value_even_a_huge_int(call, error, words):
    with pytest.raises(error) as raised:
        call()
    assert words in str(raised.value)


def test_any_int_seeds_the_data_and_every_spiral_arm_gets_a_point():
    assert make_moons(n=4, seed=HUGE) == make_moons(n=4, seed=HUGE) != make_moons(n=4, seed=HUGE + 1)
    _, y = make_spiral(n=3, classes=3, seed=0)
    assert sorted(y) == [0, 1, 2]


def test_a_seed_must_be_an_int():
    with pytest.raises(TypeError, match="seed must be an int"):
        make_moons(seed="0")


# ---- make_sine: 1-D regression -----------------------------------------------------------------


def test_sine_inputs_are_floats_in_one_period_and_targets_are_their_sines():
    X, y = make_sine(n=200, noise=0.0, seed=0)
    assert len(X) == len(y) == 200
    assert all(type(x) is float and -math.pi <= x <= math.pi for x in X)
    assert y == [math.sin(x) for x in X]
    assert min(X) < -3.0 and max(X) > 3.0  # the whole period is covered


def test_sine_noise_is_gaussian_of_the_given_standard_deviation():
    X, y = make_sine(n=4000, noise=0.2, seed=1)
    residuals = [t - math.sin(x) for x, t in zip(X, y)]
    mean = sum(residuals) / len(residuals)
    std = math.sqrt(sum((r - mean) ** 2 for r in residuals) / len(residuals))
    assert abs(mean) < 0.02 and std == pytest.approx(0.2, rel=0.05)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: make_sine(n=0), ValueError, "n must be an int >= 1, got 0"),
        (lambda: make_sine(noise=-1.0), ValueError, "noise must be a finite number >= 0, got -1.0"),
        (lambda: make_sine(seed=None), TypeError, "seed must be an int"),
    ],
)
def test_make_sine_names_a_bad_argument(call, error, words):
    with pytest.raises(error) as raised:
        call()
    assert words in str(raised.value)


# ---- train/validation split --------------------------------------------------------------------


def test_split_sizes_follow_the_fraction_and_parts_partition_the_data():
    X, y = make_moons(n=125, seed=0)
    X_train, y_train, X_val, y_val = train_val_split(X, y, val_fraction=0.2, seed=0)
    assert (len(X_train), len(X_val)) == (100, 25)
    assert len(y_train) == 100 and len(y_val) == 25
    assert sorted(zip(X_train + X_val, y_train + y_val)) == sorted(zip(X, y))  # pairs stay together


def test_split_is_deterministic_by_seed_and_shuffles():
    X, y = list(range(50)), list(range(50))
    assert train_val_split(X, y, seed=1) == train_val_split(X, y, seed=1)
    assert train_val_split(X, y, seed=1) != train_val_split(X, y, seed=2)
    X_train, y_train, X_val, _ = train_val_split(X, y, seed=1)
    assert X_train == y_train and X_val != list(range(10))


def test_both_parts_get_at_least_one_sample():
    X_train, _, X_val, _ = train_val_split([1, 2], [1, 2], val_fraction=0.01)
    assert len(X_train) == len(X_val) == 1


@pytest.mark.parametrize(
    ("X", "y", "fraction"), [([1, 2], [1], 0.5), ([1], [1], 0.5), ([1, 2], [1, 2], 0.0), ([1, 2], [1, 2], 1.0)]
)
def test_bad_splits_raise_value_errors(X, y, fraction):
    with pytest.raises(ValueError):
        train_val_split(X, y, val_fraction=fraction)


# ---- train/test split ------------------------------------------------------------------------------


def test_train_test_split_sets_the_fraction_aside_and_keeps_pairs_together():
    X, y = [[float(i)] for i in range(100)], list(range(100))
    X_train, y_train, X_test, y_test = train_test_split(X, y, test_fraction=0.25, seed=3)
    assert (len(X_train), len(y_train), len(X_test), len(y_test)) == (75, 75, 25, 25)
    assert all(x == [float(t)] for x, t in zip(X_train + X_test, y_train + y_test))
    assert sorted(y_train + y_test) == y


def test_train_test_split_is_deterministic_by_seed_with_a_default_of_a_fifth():
    X, y = list(range(50)), list(range(50))
    assert train_test_split(X, y) == train_test_split(X, y, test_fraction=0.2, seed=0)
    assert len(train_test_split(X, y)[2]) == 10
    assert train_test_split(X, y, seed=1) != train_test_split(X, y, seed=2)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, math.nan])
def test_train_test_split_names_a_bad_fraction(fraction):
    with pytest.raises(ValueError, match="test_fraction must be a finite number in"):
        train_test_split([1, 2, 3], [1, 2, 3], test_fraction=fraction)
