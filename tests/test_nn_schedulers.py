"""Learning-rate schedules: 50 epochs of StepLR, CosineAnnealingLR and LinearLR equal torch.optim.lr_scheduler's.

Each schedule is run side by side with PyTorch's on an optimizer of the same learning rate; the
learning rate of every epoch (the one set when the scheduler is made, then after each step)
must agree within 1e-12. Chaining two schedulers, and changing lr by hand, follow PyTorch too.
"""

from __future__ import annotations

import math

import pytest

from autograd import Value
from nn import MLP, SGD, Adam, ChainedScheduler, CosineAnnealingLR, LinearLR, StepLR, fit, make_moons, mse_loss
from nn.schedulers import LRScheduler

pytestmark = pytest.mark.nn

EPOCHS = 50
LR_TOL = {"rel": 0.0, "abs": 1e-12}

# (our class, keyword arguments, the starting lr); PyTorch's class of the same name takes the same ones
SCHEDULES = [
    (StepLR, {"step_size": 10, "gamma": 0.5}, 0.1),
    (StepLR, {"step_size": 7}, 1.0),
    (StepLR, {"step_size": 1, "gamma": 0.9}, 0.3),
    (CosineAnnealingLR, {"T_max": 50}, 0.1),
    (CosineAnnealingLR, {"T_max": 20, "eta_min": 0.01}, 0.1),  # on past the bottom at epoch 20, up again
    (CosineAnnealingLR, {"T_max": 3}, 0.05),  # many cycles, each bottom a special case
    (CosineAnnealingLR, {"T_max": 1}, 0.2),
    (LinearLR, {"start_factor": 0.1, "total_iters": 10}, 0.05),  # warm-up
    (LinearLR, {"start_factor": 1.0, "end_factor": 0.25, "total_iters": 30}, 0.2),  # linear decay
    (LinearLR, {}, 0.1),  # PyTorch's defaults: 1/3 to 1 in 5 epochs
]


def ids(schedule) -> str:
    cls, kwargs, lr = schedule
    return f"{cls.__name__}({', '.join(f'{k}={v}' for k, v in kwargs.items())}, lr={lr})"


def torch_optimizer(torch, lr: float):
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


def our_optimizer(lr: float) -> SGD:
    return SGD([Value(0.0)], lr=lr)


def torch_rates(torch, make, lr: float, epochs: int = EPOCHS) -> list[float]:
    """The learning rate of epochs 0 .. epochs-1 under PyTorch's scheduler(s) made by make(optimizer)."""
    optimizer = torch_optimizer(torch, lr)
    schedulers = make(optimizer)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        for s in schedulers:
            s.step()
    return rates


def our_rates(make, lr: float, epochs: int = EPOCHS) -> list[float]:
    optimizer = our_optimizer(lr)
    schedulers = make(optimizer)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.lr)
        optimizer.step()
        for s in schedulers:
            s.step()
    return rates


@pytest.mark.parametrize("schedule", SCHEDULES, ids=[ids(s) for s in SCHEDULES])
def test_fifty_epochs_of_learning_rates_equal_pytorchs(torch, schedule):
    cls, kwargs, lr = schedule
    theirs = torch_rates(torch, lambda opt: [getattr(torch.optim.lr_scheduler, cls.__name__)(opt, **kwargs)], lr)
    ours = our_rates(lambda opt: [cls(opt, **kwargs)], lr)
    assert ours == pytest.approx(theirs, **LR_TOL)
    assert len(set(ours)) > 1  # the schedule did change the learning rate


@pytest.mark.parametrize("schedule", SCHEDULES, ids=[ids(s) for s in SCHEDULES])
def test_get_last_lr_and_the_state_after_each_step_equal_pytorchs(torch, schedule):
    cls, kwargs, lr = schedule
    t_opt = torch_optimizer(torch, lr)
    theirs = getattr(torch.optim.lr_scheduler, cls.__name__)(t_opt, **kwargs)
    o = our_optimizer(lr)
    ours = cls(o, **kwargs)
    assert o.initial_lr == t_opt.param_groups[0]["initial_lr"] and ours.base_lrs == theirs.base_lrs
    for _ in range(EPOCHS):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), **LR_TOL)
        assert ours.last_epoch == theirs.last_epoch
        t_opt.step()
        theirs.step()
        ours.step()


@pytest.mark.parametrize("schedule", SCHEDULES, ids=[ids(s) for s in SCHEDULES])
def test_the_schedules_follow_their_closed_forms(schedule):
    cls, kwargs, lr = schedule
    o = {**{"gamma": 0.1, "eta_min": 0.0, "start_factor": 1 / 3, "end_factor": 1.0, "total_iters": 5}, **kwargs}
    closed = {
        StepLR: lambda e: lr * o["gamma"] ** (e // o["step_size"]),
        CosineAnnealingLR: lambda e: o["eta_min"] + (lr - o["eta_min"]) * (1 + math.cos(math.pi * e / o["T_max"])) / 2,
        LinearLR: lambda e: lr * (o["start_factor"] + (o["end_factor"] - o["start_factor"])
                                  * min(e, o["total_iters"]) / o["total_iters"]),
    }[cls]
    assert our_rates(lambda opt: [cls(opt, **kwargs)], lr) == pytest.approx([closed(e) for e in range(EPOCHS)],
                                                                             **LR_TOL)


def test_warm_up_then_cosine_chained_on_one_optimizer_equals_pytorch(torch):
    def make(lib):
        return lambda opt: [lib.LinearLR(opt, start_factor=0.2, total_iters=5), lib.CosineAnnealingLR(opt, T_max=40)]

    import nn

    ours = our_rates(make(nn), 0.1)
    assert ours == pytest.approx(torch_rates(torch, make(torch.optim.lr_scheduler), 0.1), **LR_TOL)
    assert ours[0] == pytest.approx(0.02) and max(ours) < 0.1


def test_a_chained_scheduler_steps_each_of_its_schedulers_as_pytorchs_does(torch):
    def make(lib):
        def chained(opt):
            parts = [lib.LinearLR(opt, start_factor=0.1, total_iters=8), lib.StepLR(opt, step_size=15, gamma=0.5)]
            return [lib.ChainedScheduler(parts)]

        return chained

    import nn

    assert our_rates(make(nn), 0.2) == pytest.approx(torch_rates(torch, make(torch.optim.lr_scheduler), 0.2),
                                                     **LR_TOL)


def test_fit_steps_a_chained_warm_up_and_cosine_once_per_epoch():
    X, y = make_moons(n=8, noise=0.1, seed=0)
    model = MLP(2, [2, 1], seed=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    warm_up, cosine = LinearLR(optimizer, start_factor=0.5, total_iters=3), CosineAnnealingLR(optimizer, T_max=6)
    chained = ChainedScheduler([warm_up, cosine])
    fit(model, X, y, mse_loss, optimizer, epochs=6, progress=False, scheduler=chained)
    assert warm_up.last_epoch == cosine.last_epoch == 6
    assert chained.get_last_lr() == [optimizer.lr] and optimizer.lr == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    ("schedulers", "error", "words"),
    [
        ([], TypeError, "a non-empty list of schedulers"),
        ("warm-up", TypeError, "a non-empty list of schedulers"),
        ([0.1], TypeError, r"schedulers\[0\] must be a scheduler, got float"),
        ("two optimizers", ValueError, r"schedulers\[1\] changes another optimizer"),
    ],
)
def test_a_bad_chain_is_refused_naming_the_problem(schedulers, error, words):
    if schedulers == "two optimizers":
        schedulers = [StepLR(our_optimizer(0.1), 2), StepLR(our_optimizer(0.1), 2)]
    with pytest.raises(error, match=words):
        ChainedScheduler(schedulers)


def test_a_learning_rate_changed_by_hand_carries_on_as_in_pytorch(torch):
    def run(optimizer, scheduler, set_lr, get_lr):
        rates = []
        for epoch in range(30):
            if epoch == 12:
                set_lr(optimizer, get_lr(optimizer) * 3)  # a change by hand, mid-schedule
            rates.append(get_lr(optimizer))
            optimizer.step()
            scheduler.step()
        return rates

    t_opt = torch_optimizer(torch, 0.1)
    theirs = run(t_opt, torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, T_max=25),
                 lambda o, lr: o.param_groups[0].__setitem__("lr", lr), lambda o: o.param_groups[0]["lr"])
    o = our_optimizer(0.1)
    ours = run(o, CosineAnnealingLR(o, T_max=25), lambda o, lr: setattr(o, "lr", lr), lambda o: o.lr)
    assert ours == pytest.approx(theirs, **LR_TOL)


def test_making_a_scheduler_sets_the_first_epochs_rate_and_records_the_initial_one():
    optimizer = Adam([Value(1.0)], lr=0.05)
    warm_up = LinearLR(optimizer, start_factor=0.1, total_iters=4)
    assert optimizer.lr == pytest.approx(0.005)  # epoch 0 trains at start_factor * lr, as in PyTorch
    assert optimizer.initial_lr == 0.05 and warm_up.base_lrs == [0.05]
    assert warm_up.last_epoch == 0 and warm_up.get_last_lr() == [optimizer.lr]
    second = StepLR(optimizer, step_size=2)
    assert optimizer.lr == pytest.approx(0.005) and second.base_lrs == [0.05]  # the initial lr is kept
    for _ in range(3):
        warm_up.step()
    assert warm_up.last_epoch == 3 and warm_up.get_last_lr() == [optimizer.lr]


def test_get_last_lr_is_a_copy():
    scheduler = StepLR(SGD([Value(1.0)], lr=0.1), step_size=3)
    scheduler.get_last_lr().append(5.0)
    assert scheduler.get_last_lr() == [0.1]


def test_fit_steps_the_scheduler_once_per_epoch_after_the_epoch(torch):
    X, y = make_moons(n=12, noise=0.1, seed=0)
    model = MLP(2, [3, 1], seed=0)
    optimizer = SGD(model.parameters(), lr=0.2)
    scheduler = CosineAnnealingLR(optimizer, T_max=8, eta_min=0.01)
    used = []
    fit(model, X, y, mse_loss, optimizer, epochs=12, progress=False, scheduler=scheduler,
        callbacks=[lambda epoch, logs: used.append(optimizer.lr)])  # the lr this epoch trained with
    theirs = torch_rates(torch, lambda opt: [torch.optim.lr_scheduler.CosineAnnealingLR(opt, 8, 0.01)], 0.2, 12)
    assert used == pytest.approx(theirs, **LR_TOL)
    assert scheduler.last_epoch == 12


def test_fit_refuses_a_scheduler_of_another_optimizer_and_anything_else():
    X, y = make_moons(n=6, noise=0.1, seed=0)
    model = MLP(2, [2, 1], seed=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    other = StepLR(SGD(model.parameters(), lr=0.1), step_size=2)
    with pytest.raises(ValueError, match="another optimizer"):
        fit(model, X, y, mse_loss, optimizer, epochs=2, progress=False, scheduler=other)
    with pytest.raises(TypeError, match="scheduler must be an nn learning-rate scheduler"):
        fit(model, X, y, mse_loss, optimizer, epochs=2, progress=False, scheduler=lambda: None)
    assert other.last_epoch == 0 and optimizer.lr == 0.1


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda o: StepLR(o, step_size=0), ValueError, "StepLR: step_size must be an int >= 1, got 0"),
        (lambda o: StepLR(o, step_size=2.0), TypeError, "StepLR: step_size must be an int, got float: 2.0"),
        (lambda o: StepLR(o, 2, gamma=0.0), ValueError, r"StepLR: gamma must be a finite number > 0, got 0.0"),
        (lambda o: StepLR(o, 2, gamma=float("inf")), ValueError, "gamma"),
        (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be an int >= 1"),
        (lambda o: CosineAnnealingLR(o, 10, eta_min=-0.1), ValueError, "eta_min must be a finite number >= 0"),
        (lambda o: LinearLR(o, start_factor=0.0), ValueError, r"start_factor must be a finite number in \(0, 1\]"),
        (lambda o: LinearLR(o, start_factor=1.5), ValueError, "start_factor"),
        (lambda o: LinearLR(o, 0.5, end_factor=2.0), ValueError, r"end_factor must be a finite number in \[0, 1\]"),
        (lambda o: LinearLR(o, 0.5, total_iters=0), ValueError, "total_iters must be an int >= 1"),
        (lambda o: LinearLR(o, "0.5"), TypeError, "start_factor must be a number, got str"),
        (lambda o: StepLR("sgd", 2), TypeError, "StepLR: optimizer must be an nn optimizer"),
    ],
)
def test_bad_options_raise_errors_naming_them_and_leave_the_optimizer_alone(make, error, words):
    optimizer = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(error, match=words):
        make(optimizer)
    assert optimizer.lr == 0.1 and not hasattr(optimizer, "initial_lr")


def test_every_scheduler_is_an_lrscheduler_with_a_readable_repr():
    scheduler = CosineAnnealingLR(SGD([Value(1.0)], lr=0.1), T_max=10)
    assert isinstance(scheduler, LRScheduler)
    assert repr(scheduler) == "CosineAnnealingLR(T_max=10, eta_min=0.0, last_epoch=0)"
