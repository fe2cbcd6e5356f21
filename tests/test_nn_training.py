"""The training loop: what one step does, history, mini-batches, early stopping, callbacks, evaluation."""

from __future__ import annotations

import pytest

import autograd
from nn import (
    MLP,
    SGD,
    Adam,
    accuracy,
    cross_entropy,
    evaluate,
    fit,
    hinge_loss,
    make_moons,
    make_spiral,
    mse_loss,
)

pytestmark = pytest.mark.nn

XS = [[x / 10.0] for x in range(-10, 11, 2)]  # 11 points on [-1, 1]
IDENTITY = [x[0] for x in XS]
NEGATED = [-x[0] for x in XS]


def weights(model) -> list[float]:
    return [p.data for p in model.parameters()]


def test_fit_reaches_full_training_accuracy_on_two_moons():
    X, y = make_moons(n=40, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], seed=0)
    history = fit(model, X, y, hinge_loss, Adam(model.parameters(), lr=0.05), epochs=80, progress=False)
    assert evaluate(model, X, y, hinge_loss)[1] == 1.0
    assert history.loss[-1] < history.loss[0] / 5


def test_fit_is_the_four_line_gradient_descent_loop():
    X, y = make_moons(n=20, seed=1)
    fitted, by_hand = MLP(2, [5, 1], seed=2), MLP(2, [5, 1], seed=2)
    fit(fitted, X, y, hinge_loss, SGD(fitted.parameters(), lr=0.1, momentum=0.9), epochs=5, progress=False)
    opt = SGD(by_hand.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        loss = hinge_loss([by_hand(x) for x in X], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert weights(fitted) == weights(by_hand)


def test_history_records_loss_and_accuracy_per_epoch():
    X, y = make_moons(n=30, seed=0)
    model = MLP(2, [6, 1], seed=0)
    first_loss = hinge_loss([model(x) for x in X], y).data
    first_acc = accuracy([model(x) for x in X], y)
    history = fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.05), epochs=4, progress=False)
    assert history.epochs == len(history.loss) == len(history.accuracy) == 4
    assert history.val_loss == history.val_accuracy == [] and history.best_epoch is None
    assert (history.loss[0], history.accuracy[0]) == (first_loss, first_acc)  # measured before the first step
    assert not history.stopped_early


def test_validation_history_is_measured_after_each_epoch():
    X, y = make_moons(n=30, seed=0)
    X_val, y_val = make_moons(n=10, seed=1)
    model = MLP(2, [6, 1], seed=0)
    seen = []
    history = fit(
        model, X, y, hinge_loss, SGD(model.parameters(), lr=0.05), epochs=3, validation=(X_val, y_val),
        progress=False, callbacks=[lambda epoch, logs: seen.append(evaluate(model, X_val, y_val, hinge_loss))],
    )
    assert list(zip(history.val_loss, history.val_accuracy)) == seen
    assert history.best_epoch == history.val_loss.index(min(history.val_loss))


def test_validation_runs_in_eval_mode_under_no_grad():
    calls = []

    def spying_loss(outputs, targets):
        calls.append((autograd.is_grad_enabled(), model.training))
        return mse_loss(outputs, targets)

    model = MLP(1, [3, 1], dropout=0.5, seed=0)
    fit(model, XS, IDENTITY, spying_loss, SGD(model.parameters(), lr=0.01), epochs=2,
        validation=(XS, IDENTITY), progress=False)
    assert calls == [(True, True), (False, False)] * 2
    assert model.training  # back in training mode afterwards


def test_mini_batches_make_one_step_per_batch_and_cover_every_sample():
    class CountingSGD(SGD):
        steps = 0

        def step(self) -> None:
            CountingSGD.steps += 1
            super().step()

    sizes = []

    def loss(outputs, targets):
        sizes.append(len(outputs))
        return mse_loss(outputs, targets)

    model = MLP(1, [2, 1], seed=0)
    fit(model, XS, IDENTITY, loss, CountingSGD(model.parameters(), lr=0.01), epochs=2, batch_size=4, progress=False)
    assert CountingSGD.steps == 6 and sizes == [4, 4, 3] * 2


def test_early_stopping_stops_after_patience_epochs_and_restores_the_best_weights():
    # trained towards y = x but validated on y = -x: the validation loss soon only grows
    model = MLP(1, [4, 1], activation="tanh", seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    history = fit(model, XS, IDENTITY, mse_loss, opt, epochs=200, validation=(XS, NEGATED), patience=3,
                  progress=False)
    assert history.stopped_early
    assert history.best_epoch == history.val_loss.index(min(history.val_loss))
    assert history.epochs == history.best_epoch + 3 + 1 < 200
    assert evaluate(model, XS, NEGATED, mse_loss)[0] == history.val_loss[history.best_epoch]


def test_early_stopping_can_keep_the_last_weights():
    model = MLP(1, [4, 1], activation="tanh", seed=0)
    history = fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.1), epochs=200,
                  validation=(XS, NEGATED), patience=3, restore_best=False, progress=False)
    assert evaluate(model, XS, NEGATED, mse_loss)[0] == history.val_loss[-1] != history.val_loss[history.best_epoch]


def test_min_delta_ignores_improvements_smaller_than_it():
    model = MLP(1, [4, 1], activation="tanh", seed=0)
    history = fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.01), epochs=50,
                  validation=(XS, IDENTITY), patience=2, min_delta=1e9, progress=False)
    assert (history.best_epoch, history.epochs) == (0, 3)


def test_callbacks_see_each_epochs_numbers_and_can_stop_training():
    received = []

    def monitor(epoch, logs):
        received.append((epoch, sorted(logs)))
        return epoch == 2

    model = MLP(1, [3, 1], seed=0)
    history = fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.01), epochs=10,
                  validation=(XS, IDENTITY), callbacks=[monitor], progress=False)
    assert received == [(e, ["accuracy", "loss", "val_accuracy", "val_loss"]) for e in range(3)]
    assert history.epochs == 3 and history.stopped_early


def test_clip_norm_limits_every_step():
    model = MLP(1, [3, 1], seed=0)
    before = weights(model)
    fit(model, XS, [10.0 * t for t in IDENTITY], mse_loss, SGD(model.parameters(), lr=1.0), epochs=1,
        clip_norm=1e-6, progress=False)
    moved = sum((a - b) ** 2 for a, b in zip(weights(model), before)) ** 0.5
    assert 0.0 < moved <= 1e-6 * (1 + 1e-9)


def test_the_progress_bar_shows_loss_and_accuracy(capsys):
    model = MLP(1, [3, 1], seed=0)
    fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.01), epochs=3, validation=(XS, IDENTITY))
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err and "acc=" in err and "val_loss=" in err


def test_multi_class_training_with_cross_entropy():
    X, y = make_spiral(n=30, classes=3, seed=0)
    model = MLP(2, [8, 3], seed=0)
    history = fit(model, X, y, cross_entropy, Adam(model.parameters(), lr=0.05), epochs=30, progress=False)
    assert history.loss[-1] < history.loss[0]
    assert history.accuracy[-1] > history.accuracy[0]


def test_accuracy_reads_signs_for_one_output_and_argmax_for_several():
    assert accuracy([0.5, -0.2, 0.1, -3.0], [1, -1, -1, -1]) == 0.75
    assert accuracy([0.5, -0.2, 0.1, -3.0], [1, 0, 0, 0]) == 0.75  # labels 1/0 read the same way
    assert accuracy([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]], [1, 2]) == 0.5


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"patience": 3}, ValueError),  # early stopping without validation data
        ({"epochs": -1}, ValueError),
        ({"batch_size": 0}, ValueError),
        ({"validation": ([[0.0]], [])}, ValueError),
        ({"validation": [[0.0]]}, TypeError),
        ({"min_delta": -1.0}, ValueError),
        ({"clip_norm": float("nan")}, ValueError),
    ],
)
def test_bad_fit_arguments_raise_before_training_starts(kwargs, error):
    model = MLP(1, [2, 1], seed=0)
    before = weights(model)
    with pytest.raises(error):
        fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.1), progress=False, **kwargs)
    assert weights(model) == before


HUGE = 10**400  # float(HUGE) raises a bare OverflowError; each error must name the argument instead


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"epochs": HUGE}, ValueError, "fit: epochs must be an int in [0, 9223372036854775807], got an int of about"),
        ({"epochs": 2.0}, TypeError, "fit: epochs must be an int, got float: 2.0"),
        ({"batch_size": HUGE}, ValueError, "fit: batch_size must be an int in [1, 9223372036854775807], got an int of"),
        ({"batch_size": True}, TypeError, "fit: batch_size must be an int, got bool: True"),
        ({"patience": HUGE, "validation": (XS, IDENTITY)}, ValueError, "fit: patience must be an int in [1, "),
        ({"min_delta": HUGE}, ValueError, "fit: min_delta must be a finite number >= 0, got an int of about 1e+400"),
        ({"min_delta": "0"}, TypeError, "fit: min_delta must be a number, got str: '0'"),
        ({"clip_norm": HUGE}, ValueError, "fit: clip_norm must be a finite number >= 0, got an int of about 1e+400"),
        ({"clip_norm": -1.0}, ValueError, "fit: clip_norm must be a finite number >= 0, got -1.0"),
    ],
)
def test_each_fit_error_names_the_argument_and_its_value_even_a_huge_int(kwargs, error, words):
    model = MLP(1, [2, 1], seed=0)
    before = weights(model)
    with pytest.raises(error) as raised:
        fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.1), **{"progress": True, **kwargs})
    assert words in str(raised.value)
    assert weights(model) == before


def test_accuracy_names_an_output_that_is_no_float():
    with pytest.raises(ValueError, match=r"accuracy: output 1 is too large for a float, got an int of about 1e\+400"):
        accuracy([0.5, HUGE], [1, 1])
    with pytest.raises(TypeError, match=r"accuracy: output 0\[1\] must be a number, got str"):
        accuracy([[0.5, "x"]], [0])


def test_inputs_and_targets_must_pair_up():
    model = MLP(1, [2, 1], seed=0)
    with pytest.raises(ValueError, match="11 inputs but 10 targets"):
        fit(model, XS, IDENTITY[:10], mse_loss, SGD(model.parameters(), lr=0.1), progress=False)


def test_a_loss_function_must_return_a_value():
    model = MLP(1, [2, 1], seed=0)
    with pytest.raises(TypeError, match="loss_fn must return a Value, got float"):
        fit(model, XS, IDENTITY, lambda outputs, targets: 0.5, SGD(model.parameters(), lr=0.1), progress=False)


def test_two_threads_can_fit_one_shared_model_at_once():
    # train() gives each module its `training` attribute while the other thread's parameters()
    # walks the same modules' attributes: that walk must not see the dict change size under it
    import sys
    import threading

    X, y = make_moons(n=24, noise=0.1, seed=0)
    errors: list[BaseException] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: without the fix, about half the rounds fail
    try:
        for seed in range(60):
            model = MLP(2, [4, 1], seed=seed)  # a fresh model: no module has its own `training` yet
            start = threading.Barrier(2)

            def train(model=model, start=start):
                try:
                    start.wait()
                    fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.01), epochs=1, batch_size=6,
                        progress=False)
                except BaseException as error:  # collected and reported below
                    errors.append(error)

            threads = [threading.Thread(target=train) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
