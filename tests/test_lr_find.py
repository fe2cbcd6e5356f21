"""nn.lr_find: the learning-rate range test finds a sensible rate and leaves no trace.

"No trace" is checked bit for bit: every weight, every gradient and every optimizer buffer, and
the strongest form of it: training after lr_find goes on exactly as if lr_find had never run.
"""

from __future__ import annotations

import math
import struct

import pytest

from nn import (
    MLP,
    SGD,
    Adam,
    LRFinderResult,
    Module,
    RMSprop,
    binary_cross_entropy_with_logits,
    hinge_loss,
    lr_find,
    make_moons,
)

pytestmark = pytest.mark.diagnostics

PNG_HEADER = b"\x89PNG\r\n\x1a\n"
X, Y = make_moons(n=60, noise=0.1, seed=0)


def bits(numbers) -> list[bytes]:
    """Each float's 8 bytes: equal bits, not just ==, so -0.0 and 0.0 differ."""
    return [struct.pack("<d", x) for x in numbers]


def optimizer_state(optimizer) -> dict:
    """Every attribute but the parameter list, numbers as their bits (lists flattened)."""
    state = {}
    for name, value in vars(optimizer).items():
        if name == "params":
            state[name] = [id(p) for p in value]
        elif isinstance(value, list):
            state[name] = bits(value)
        elif isinstance(value, float):
            state[name] = bits([value])
        else:
            state[name] = value
    return state


def everything(model, optimizer) -> tuple:
    params = model.parameters()
    return bits(p.data for p in params), bits(p.grad for p in params), optimizer_state(optimizer)


def train_steps(model, optimizer, steps, X=X, y=Y):
    for _ in range(steps):
        loss = hinge_loss([model(x) for x in X], y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps, lr=1e-3)], ids=["SGD", "Adam"])
def test_on_the_moons_mlp_the_suggestion_lies_between_1e_4_and_1(make):
    model = MLP(2, [16, 16, 1], seed=0)
    result = lr_find(model, X, Y, hinge_loss, make(model.parameters()))
    assert 1e-4 <= result.suggestion <= 1.0
    assert result.lrs[0] < result.suggestion < result.lrs[-1]


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-4),
    lambda ps: Adam(ps, lr=0.01),
    lambda ps: RMSprop(ps, lr=0.01, momentum=0.5),
], ids=["SGD", "Adam", "RMSprop"])
def test_every_weight_gradient_and_optimizer_buffer_is_bit_for_bit_as_before(make):
    model = MLP(2, [8, 8, 1], dropout=0.1, seed=0)
    optimizer = make(model.parameters())
    train_steps(model, optimizer, 3)  # momentum buffers, moving averages and step counts are not zero
    before = everything(model, optimizer)
    result = lr_find(model, X, Y, hinge_loss, optimizer, steps=30)
    assert len(result.lrs) > 5  # it really trained
    assert everything(model, optimizer) == before


def test_training_after_lr_find_goes_on_as_if_it_had_never_run():
    # dropout too: its random generator is put back, so it draws the same masks afterwards
    looked, untouched = MLP(2, [8, 8, 1], dropout=0.2, seed=1), MLP(2, [8, 8, 1], dropout=0.2, seed=1)
    opt_looked, opt_untouched = Adam(looked.parameters(), lr=0.02), Adam(untouched.parameters(), lr=0.02)
    train_steps(looked, opt_looked, 2)
    train_steps(untouched, opt_untouched, 2)
    looked.eval()
    lr_find(looked, X, Y, hinge_loss, opt_looked, steps=20, batch_size=16)
    assert looked.training is False  # the mode too
    looked.train()
    train_steps(looked, opt_looked, 3)
    train_steps(untouched, opt_untouched, 3)
    assert bits(p.data for p in looked.parameters()) == bits(p.data for p in untouched.parameters())


def test_a_fresh_sgd_keeps_having_no_momentum_buffer():
    model = MLP(2, [4, 1], seed=0)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    lr_find(model, X, Y, hinge_loss, optimizer, steps=10)
    assert optimizer._buffers is None and optimizer.lr == 0.1


def test_the_learning_rate_grows_exponentially_from_start_to_end():
    model = MLP(2, [4, 1], seed=0)
    result = lr_find(model, X, Y, hinge_loss, SGD(model.parameters(), lr=0.1), start_lr=1e-5, end_lr=1e-1, steps=5)
    assert result.lrs == pytest.approx([1e-5, 1e-4, 1e-3, 1e-2, 1e-1], rel=1e-12)
    assert len(result.losses) == len(result.smoothed) == 5 and not result.diverged


def test_each_loss_is_measured_after_the_step_taken_with_its_rate():
    model, by_hand = MLP(2, [4, 1], seed=0), MLP(2, [4, 1], seed=0)
    result = lr_find(model, X, Y, hinge_loss, SGD(model.parameters(), lr=0.0), start_lr=0.01, end_lr=0.1, steps=3)
    optimizer = SGD(by_hand.parameters(), lr=0.0)
    for lr, recorded in zip(result.lrs, result.losses):
        optimizer.lr = lr
        train_steps(by_hand, optimizer, 1)
        assert recorded == hinge_loss([by_hand(x) for x in X], Y).data


def test_the_test_stops_when_the_loss_explodes():
    model = MLP(2, [16, 16, 1], seed=0)
    t = [(label + 1) // 2 for label in Y]
    result = lr_find(model, X, t, binary_cross_entropy_with_logits, SGD(model.parameters(), lr=0.1),
                     start_lr=1e-3, end_lr=1e4, steps=60)
    assert result.diverged and len(result.lrs) < 60
    assert all(math.isfinite(v) for v in result.losses)
    assert "diverged at lr=" in repr(result)


def test_a_loss_that_never_falls_gives_no_suggestion_and_says_why():
    model = MLP(2, [4, 1], seed=0)
    result = lr_find(model, X, Y, hinge_loss, SGD(model.parameters(), lr=0.1), start_lr=1e-9, end_lr=1e-8, steps=5)
    assert result.suggestion is None
    assert "never fell" in result.reason and "no suggestion" in repr(result)


def test_the_plot_shows_the_losses_against_the_rate_on_a_log_axis(tmp_path):
    model = MLP(2, [8, 1], seed=0)
    result = lr_find(model, X, Y, hinge_loss, Adam(model.parameters()), steps=40)
    path = tmp_path / "lr.png"
    fig = result.plot(path)
    assert path.read_bytes()[:8] == PNG_HEADER
    ax = fig.get_axes()[0]
    assert ax.get_xscale() == "log"
    assert list(ax.get_lines()[0].get_xdata()) == result.lrs
    assert isinstance(result, LRFinderResult)


def test_an_error_inside_the_test_still_puts_everything_back():
    model = MLP(2, [4, 1], seed=0)
    optimizer = Adam(model.parameters(), lr=0.01)
    before = everything(model, optimizer)
    calls = []

    def failing_loss(outputs, targets):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("boom")
        return hinge_loss(outputs, targets)

    with pytest.raises(RuntimeError, match="boom"):
        lr_find(model, X, Y, failing_loss, optimizer)
    assert everything(model, optimizer) == before


@pytest.mark.parametrize("kwargs, error, words", [
    ({"start_lr": 0.0}, ValueError, "lr_find: start_lr must be a finite number > 0, got 0.0"),
    ({"end_lr": -1}, ValueError, "lr_find: end_lr must be a finite number > 0, got -1"),
    ({"start_lr": 1.0, "end_lr": 0.1}, ValueError, "end_lr must be larger than start_lr"),
    ({"steps": 1}, ValueError, "lr_find: steps must be an int >= 2, got 1"),
    ({"steps": 10.0}, TypeError, "lr_find: steps must be an int, got float: 10.0"),
    ({"batch_size": 0}, ValueError, "lr_find: batch_size must be an int >= 1, got 0"),
    ({"divergence": 1.0}, ValueError, "lr_find: divergence must be a finite number > 1, got 1.0"),
    ({"start_lr": "small"}, TypeError, "lr_find: start_lr must be a number, got str"),
    ({"y": Y[:-1]}, ValueError, "lr_find: X has 60 inputs but y has 59 targets"),
    ({"optimizer": "adam"}, TypeError, "lr_find: optimizer must be an nn optimizer"),
    ({"model": "mlp"}, TypeError, "lr_find: model must be an nn.Module, got str"),
    ({"loss_fn": 3}, TypeError, "lr_find: loss_fn must be a function"),
])
def test_bad_arguments_are_named_and_nothing_changes(kwargs, error, words):
    model = MLP(2, [4, 1], seed=0)
    optimizer = Adam(model.parameters(), lr=0.01)
    before = everything(model, optimizer)
    arguments = {"model": model, "X": X, "y": Y, "loss_fn": hinge_loss, "optimizer": optimizer, **kwargs}
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        lr_find(**arguments)
    assert everything(model, optimizer) == before


def test_loss_fn_must_return_a_value():
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(TypeError, match="lr_find: loss_fn must return a Value, got float"):
        lr_find(model, X, Y, lambda outputs, targets: 1.0, SGD(model.parameters(), lr=0.1))


def test_a_model_of_your_own_works_too():
    class Line(Module):
        def __init__(self):
            self.net = MLP(2, [1], seed=0)

        def forward(self, x):
            return self.net(x)

    model = Line()
    result = lr_find(model, X, Y, hinge_loss, SGD(model.parameters(), lr=0.1), steps=20)
    assert len(result.lrs) > 2
