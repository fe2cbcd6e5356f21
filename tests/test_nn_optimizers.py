"""Optimizers and gradient clipping: 20 steps from the same weights agree with torch.optim to 1e-9."""

from __future__ import annotations

import math

import pytest
from _reference import torch_mlp

from autograd import Value
from nn import MLP, SGD, Adam, RMSprop, clip_grad_norm, mse_loss

pytestmark = pytest.mark.nn

START = [0.8, -0.4, 1.2, 0.5]
STEPS = 20


def our_loss(p: list[Value]) -> Value:
    # p[3] is not used: its gradient stays 0, yet decay and momentum must still move it
    return (p[0] * 1.5 - 0.3) ** 2 + (p[1] * p[2]).tanh() + p[2] * p[2] * 0.1 + (p[0] * p[1]).sigmoid()


def torch_loss(torch, p):
    return (p[0] * 1.5 - 0.3) ** 2 + torch.tanh(p[1] * p[2]) + p[2] * p[2] * 0.1 + torch.sigmoid(p[0] * p[1]) + 0 * p[3]


def run_ours(make, steps: int = STEPS) -> list[list[float]]:
    params = [Value(x) for x in START]
    opt = make(params)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        our_loss(params).backward()
        opt.step()
        trajectory.append([p.data for p in params])
    return trajectory


def run_torch(torch, make, steps: int = STEPS) -> list[list[float]]:
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START]
    opt = make(params)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        torch_loss(torch, params).backward()
        opt.step()
        trajectory.append([p.item() for p in params])
    return trajectory


def assert_same_trajectory(ours: list[list[float]], theirs: list[list[float]]) -> None:
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert a == pytest.approx(b, abs=1e-9, rel=0), f"step {step + 1}"
    assert ours[-1] != ours[0]  # the optimizer really moved the weights


SGD_OPTIONS = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.1, "weight_decay": 0.05},
    {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1},
]
ADAM_OPTIONS = [
    {},
    {"lr": 0.05},
    {"lr": 0.1, "weight_decay": 0.05},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
]
RMSPROP_OPTIONS = [
    {},
    {"lr": 0.01, "momentum": 0.9},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.005, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "weight_decay": 0.01},
]


@pytest.mark.parametrize("options", SGD_OPTIONS)
def test_sgd_matches_torch_over_20_steps(torch, options):
    assert_same_trajectory(
        run_ours(lambda p: SGD(p, **options)), run_torch(torch, lambda p: torch.optim.SGD(p, **options))
    )


@pytest.mark.parametrize("options", ADAM_OPTIONS)
def test_adam_matches_torch_over_20_steps(torch, options):
    assert_same_trajectory(
        run_ours(lambda p: Adam(p, **options)), run_torch(torch, lambda p: torch.optim.Adam(p, **options))
    )


@pytest.mark.parametrize("options", RMSPROP_OPTIONS)
def test_rmsprop_matches_torch_over_20_steps(torch, options):
    assert_same_trajectory(
        run_ours(lambda p: RMSprop(p, **options)), run_torch(torch, lambda p: torch.optim.RMSprop(p, **options))
    )


def test_a_parameter_with_zero_gradient_still_moves_under_decay_and_momentum():
    moved = run_ours(lambda p: SGD(p, lr=0.1, weight_decay=0.5), steps=3)
    assert [t[3] for t in moved] == pytest.approx([0.5 * 0.95, 0.5 * 0.95**2, 0.5 * 0.95**3], rel=1e-15)


def test_optimizers_train_an_mlp_like_torch(torch):
    model = MLP(2, [4, 1], activation="tanh", seed=0)
    xs, ys = [[0.0, 1.0], [1.0, 0.5], [-1.0, -0.5]], [1.0, -1.0, 0.5]
    layers, net = torch_mlp(torch, model)
    ours = Adam(model.parameters(), lr=0.05, weight_decay=0.01)
    theirs = torch.optim.Adam([p for lin in layers for p in lin.parameters()], lr=0.05, weight_decay=0.01)
    for _ in range(STEPS):
        ours.zero_grad()
        mse_loss([model(x) for x in xs], ys).backward()
        ours.step()
        theirs.zero_grad()
        torch.nn.functional.mse_loss(net(torch.tensor(xs)).squeeze(1), torch.tensor(ys)).backward()
        theirs.step()
    expected = [
        v for lin in layers for j in range(lin.out_features) for v in [*lin.weight[j].tolist(), lin.bias[j].item()]
    ]
    assert [p.data for p in model.parameters()] == pytest.approx(expected, abs=1e-9, rel=0)


def test_step_leaves_grad_alone_and_zero_grad_clears_it():
    p = Value(1.0)
    opt = SGD([p], lr=0.5)
    p.grad = 2.0
    opt.step()
    assert (p.data, p.grad) == (0.0, 2.0)
    opt.zero_grad()
    assert p.grad == 0.0


def test_any_iterable_of_values_is_accepted():
    params = [Value(1.0), Value(2.0)]
    opt = Adam(p for p in params)
    for p in params:
        p.grad = 1.0
    opt.step()
    assert all(p.data < start for p, start in zip(params, [1.0, 2.0]))


def test_the_learning_rate_can_be_changed_between_steps():
    p = Value(1.0)
    opt = SGD([p], lr=1.0)
    p.grad = 1.0
    opt.lr = 0.25
    opt.step()
    assert p.data == 0.75


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: SGD([], lr=0.1), ValueError),
        (lambda: SGD(Value(1.0), lr=0.1), TypeError),
        (lambda: SGD([Value(1.0), 2.0], lr=0.1), TypeError),
        (lambda: SGD([Value(1.0)], lr=-0.1), ValueError),
        (lambda: SGD([Value(1.0)], lr=math.nan), ValueError),
        (lambda: SGD([Value(1.0)], lr=True), TypeError),
        (lambda: SGD([Value(1.0)], lr=0.1, momentum=-1), ValueError),
        (lambda: Adam([Value(1.0)], betas=(0.9, 1.0)), ValueError),
        (lambda: Adam([Value(1.0)], betas=0.9), TypeError),
        (lambda: RMSprop([Value(1.0)], alpha=1.5), ValueError),
    ],
)
def test_bad_optimizer_arguments_raise_clear_errors(make, error):
    with pytest.raises(error):
        make()


def test_a_parameter_listed_twice_is_refused():
    p = Value(1.0)
    with pytest.raises(ValueError, match="appears twice"):
        Adam([p, Value(2.0), p])


# ---- gradient clipping ------------------------------------------------------------------------


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_grad_norm_matches_torch(torch, max_norm):
    grads = [3.0, -4.0, 0.0, 1e-3, 2.5]
    params = [Value(1.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    tensors = [torch.tensor(1.0, requires_grad=True) for _ in grads]
    for t, g in zip(tensors, grads):
        t.grad = torch.tensor(g)
    norm = clip_grad_norm(params, max_norm)
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm).item()
    assert norm == pytest.approx(expected_norm, rel=1e-14)
    assert norm == pytest.approx(math.sqrt(sum(g * g for g in grads)), rel=1e-14)
    assert [p.grad for p in params] == pytest.approx([t.grad.item() for t in tensors], rel=1e-14)
    assert math.sqrt(sum(p.grad**2 for p in params)) <= max_norm + 1e-9


def test_clipping_keeps_the_direction_of_the_gradient():
    params = [Value(0.0), Value(0.0)]
    params[0].grad, params[1].grad = 30.0, -40.0
    clip_grad_norm(params, 5.0)
    assert params[0].grad / params[1].grad == pytest.approx(-0.75, rel=1e-15)
    assert math.hypot(params[0].grad, params[1].grad) == pytest.approx(5.0, rel=1e-6)
