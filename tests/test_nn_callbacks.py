"""The event protocol of training: nn.Callback's events, their order and count, and what a callback may change."""

from __future__ import annotations

import pytest

from nn import MLP, SGD, Callback, EarlyStopping, GradientClipping, fit, hinge_loss, make_moons, mse_loss
from nn.callbacks import TrainingRun

pytestmark = pytest.mark.nn

XS = [[x / 10.0] for x in range(-10, 11, 2)]  # 11 points on [-1, 1]
IDENTITY = [x[0] for x in XS]


class Recorder(Callback):
    """Writes down every event with where training is."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_train_begin(self, run):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, run):
        self.events.append(("epoch_begin", run.epoch, run.model.training))

    def on_batch_end(self, run):
        self.events.append(("batch_end", run.epoch, tuple(run.batch)))

    def on_step_end(self, run):
        self.events.append(("step_end", run.epoch, tuple(run.batch)))

    def on_epoch_end(self, run, logs):
        self.events.append(("epoch_end", run.epoch, sorted(logs)))

    def on_train_end(self, run):
        self.events.append(("train_end", run.history.epochs))


def test_each_event_fires_in_order_once_per_epoch_batch_and_step():
    recorder = Recorder()
    model = MLP(1, [3, 1], seed=0)
    fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.01), epochs=2, batch_size=4,
        validation=(XS, IDENTITY), callbacks=[recorder], progress=False)
    expected = [("train_begin",)]
    for epoch in range(2):
        expected.append(("epoch_begin", epoch, True))
        batches = [tuple(b) for b in _batches(recorder, epoch)]
        assert sorted(i for b in batches for i in b) == list(range(len(XS)))  # every sample once per epoch
        assert [len(b) for b in batches] == [4, 4, 3]
        for batch in batches:
            expected += [("batch_end", epoch, batch), ("step_end", epoch, batch)]
        expected.append(("epoch_end", epoch, ["accuracy", "loss", "val_accuracy", "val_loss"]))
    expected.append(("train_end", 2))
    assert recorder.events == expected


def _batches(recorder: Recorder, epoch: int) -> list[tuple]:
    return [e[2] for e in recorder.events if e[0] == "batch_end" and e[1] == epoch]


def test_on_train_end_runs_after_an_error_in_training():
    recorder = Recorder()
    model = MLP(1, [3, 1], seed=0)
    with pytest.raises(TypeError, match="loss_fn must return a Value"):
        fit(model, XS, IDENTITY, lambda outputs, targets: 1.0, SGD(model.parameters(), lr=0.01), epochs=3,
            callbacks=[recorder], progress=False)
    assert recorder.events == [("train_begin",), ("epoch_begin", 0, True), ("train_end", 0)]


def test_on_train_end_runs_after_an_error_in_another_callback_and_after_ctrl_c():
    for error in (RuntimeError("boom"), KeyboardInterrupt()):
        recorder = Recorder()

        def fail(epoch, logs, error=error):
            if epoch == 1:
                raise error

        model = MLP(1, [3, 1], seed=0)
        with pytest.raises(type(error)):
            fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.01), epochs=5,
                callbacks=[recorder, fail], progress=False)
        assert recorder.events[-1] == ("train_end", 2)


def test_every_callback_ends_even_when_one_end_fails():
    ended = []

    class Ends(Callback):
        def __init__(self, name, fails=False):
            self.name, self.fails = name, fails

        def on_train_end(self, run):
            ended.append(self.name)
            if self.fails:
                raise RuntimeError(f"{self.name} failed")

    model = MLP(1, [3, 1], seed=0)
    with pytest.raises(RuntimeError, match="b failed"):
        fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.01), epochs=1,
            callbacks=[Ends("a"), Ends("b", fails=True), Ends("c")], progress=False)
    assert ended == ["c", "b", "a"]  # the last to begin ends first


def test_a_per_step_hook_reads_and_changes_the_gradients_before_the_step():
    seen = []

    class ZeroTheBias(Callback):
        def on_batch_end(self, run):
            bias = run.model.layers[-1].neurons[0].b
            seen.append(bias.grad)
            bias.grad = 0.0  # the optimizer must use this, not backward's gradient

    model = MLP(1, [3, 1], seed=0)
    bias = model.layers[-1].neurons[0].b
    before = bias.data
    fit(model, XS, [5.0 + t for t in IDENTITY], mse_loss, SGD(model.parameters(), lr=0.1), epochs=3,
        callbacks=[ZeroTheBias()], progress=False)
    assert len(seen) == 3 and all(g != 0.0 for g in seen)  # backward gave a gradient each step
    assert bias.data == before  # and the step saw the changed one


def test_a_callback_stops_training_by_setting_run_stop():
    class StopAfterTwo(Callback):
        def on_epoch_end(self, run, logs):
            run.stop = run.epoch == 1

    model = MLP(1, [3, 1], seed=0)
    history = fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.01), epochs=10,
                  callbacks=[StopAfterTwo()], progress=False)
    assert history.epochs == 2 and history.stopped_early


def test_the_keyword_arguments_and_their_callbacks_train_alike():
    X, y = make_moons(40, noise=0.1, seed=0)
    X_val, y_val = make_moons(20, noise=0.1, seed=1)

    def train(**kwargs):
        model = MLP(2, [8, 1], seed=0)
        history = fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.5), epochs=30, batch_size=8,
                      validation=(X_val, [-t for t in y_val]), progress=False, **kwargs)  # worse and worse
        return history, [p.data for p in model.parameters()]

    by_keywords = train(patience=2, clip_norm=0.05)
    by_callbacks = train(callbacks=[EarlyStopping(patience=2), GradientClipping(0.05)])
    assert by_keywords == by_callbacks
    assert by_keywords[0].stopped_early


def test_a_callback_that_is_neither_a_callback_nor_a_function_is_refused_before_training():
    model = MLP(1, [3, 1], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(TypeError, match="a callback must be an nn.Callback or a function callback"):
        fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.01), epochs=1, callbacks=[42],
            progress=False)
    assert [p.data for p in model.parameters()] == before


def test_the_run_says_where_training_is():
    run_seen: list[TrainingRun] = []

    class Look(Callback):
        def on_step_end(self, run):
            run_seen.append((run.epoch, run.loss))

    model = MLP(1, [3, 1], seed=0)
    history = fit(model, XS, IDENTITY, mse_loss, SGD(model.parameters(), lr=0.01), epochs=2,
                  callbacks=[Look()], progress=False)
    assert [e for e, _ in run_seen] == [0, 1]
    assert [loss for _, loss in run_seen] == history.loss  # one full batch per epoch: its loss is the epoch's
