"""Optimizers and gradient clipping: 20 steps from the same weights agree with torch.optim to 1e-9."""

from __future__ import annotations

import math
import re
from fractions import Fraction

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


# ---- options: every bad one refused, naming the option and the value ---------------------------

OPTIMIZERS = {"SGD": SGD, "Adam": Adam, "RMSprop": RMSprop}
HUGE = 10**400  # float(HUGE) raises OverflowError: the check must still name the option

# (optimizer, options, the words the error must contain, PyTorch refuses it too)
BAD_OPTIONS = [
    ("SGD", {"lr": -0.1}, "lr must be a finite number >= 0, got -0.1", True),
    ("SGD", {"lr": math.nan}, "lr must be a finite number >= 0, got nan", False),
    ("SGD", {"lr": math.inf}, "lr must be a finite number >= 0, got inf", False),
    ("SGD", {"lr": HUGE}, "lr must be a finite number >= 0, got an int of about 1e+400", False),
    ("SGD", {"lr": 0.1, "momentum": -0.5}, "momentum must be a finite number >= 0, got -0.5", True),
    ("SGD", {"lr": 0.1, "momentum": math.nan}, "momentum must be a finite number >= 0, got nan", False),
    ("SGD", {"lr": 0.1, "weight_decay": -1e-4}, "weight_decay must be a finite number >= 0, got -0.0001", True),
    ("SGD", {"lr": 0.1, "weight_decay": math.inf}, "weight_decay must be a finite number >= 0, got inf", False),
    ("Adam", {"lr": -1e-3}, "lr must be a finite number >= 0, got -0.001", True),
    ("Adam", {"lr": math.nan}, "lr must be a finite number >= 0, got nan", True),
    ("Adam", {"lr": HUGE}, "lr must be a finite number >= 0, got an int of about 1e+400", False),
    ("Adam", {"eps": 0.0}, "eps must be a finite number > 0, got 0.0", False),
    ("Adam", {"eps": -1e-8}, "eps must be a finite number > 0, got -1e-08", True),
    ("Adam", {"eps": math.inf}, "eps must be a finite number > 0, got inf", False),
    ("Adam", {"betas": (1.0, 0.999)}, "betas[0] must be a finite number in [0, 1), got 1.0", True),
    ("Adam", {"betas": (0.9, 1.0)}, "betas[1] must be a finite number in [0, 1), got 1.0", True),
    ("Adam", {"betas": (-0.1, 0.999)}, "betas[0] must be a finite number in [0, 1), got -0.1", True),
    ("Adam", {"betas": (0.9, math.nan)}, "betas[1] must be a finite number in [0, 1), got nan", True),
    ("Adam", {"betas": (HUGE, 0.9)}, "betas[0] must be a finite number in [0, 1), got an int of about 1e+400", True),
    ("Adam", {"weight_decay": -0.1}, "weight_decay must be a finite number >= 0, got -0.1", True),
    ("RMSprop", {"alpha": 1.5}, "alpha must be a finite number in [0, 1], got 1.5", False),
    ("RMSprop", {"alpha": -0.1}, "alpha must be a finite number in [0, 1], got -0.1", True),
    ("RMSprop", {"alpha": math.nan}, "alpha must be a finite number in [0, 1], got nan", True),
    ("RMSprop", {"eps": 0.0}, "eps must be a finite number > 0, got 0.0", False),
    ("RMSprop", {"momentum": -0.9}, "momentum must be a finite number >= 0, got -0.9", True),
    ("RMSprop", {"momentum": HUGE}, "momentum must be a finite number >= 0, got an int of about 1e+400", False),
    ("RMSprop", {"weight_decay": math.nan}, "weight_decay must be a finite number >= 0, got nan", True),
]


def _case_id(case) -> str:
    name, options, _, _ = case
    return f"{name}-" + ",".join(f"{k}={v}" for k, v in options.items()).replace(str(HUGE), "10**400")


@pytest.mark.parametrize(("name", "options", "words", "torch_refuses"), BAD_OPTIONS, ids=map(_case_id, BAD_OPTIONS))
def test_a_bad_option_is_a_value_error_naming_it_and_its_value(name, options, words, torch_refuses):
    with pytest.raises(ValueError, match=re.escape(words)):
        OPTIMIZERS[name]([Value(1.0)], **options)


@pytest.mark.parametrize(("name", "options", "words", "torch_refuses"), BAD_OPTIONS, ids=map(_case_id, BAD_OPTIONS))
def test_we_refuse_what_torch_refuses_and_the_table_says_where_we_are_stricter(
    torch, name, options, words, torch_refuses
):
    # Where torch accepts (torch_refuses False) we are stricter on purpose: NaN, inf and huge
    # numbers train nothing, eps = 0 divides 0 by 0, alpha > 1 averages g^2 to a negative number.
    param = torch.tensor(1.0, requires_grad=True)
    try:
        getattr(torch.optim, name)([param], **options)
        refused = False
    except ValueError:
        refused = True
    assert refused == torch_refuses


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: SGD([Value(1.0)], lr=True), "lr must be a number, got bool"),
        (lambda: SGD([Value(1.0)], lr="0.1"), "lr must be a number, got str"),
        (lambda: SGD([Value(1.0)], lr=None), "lr must be a number, got NoneType"),
        (lambda: SGD([Value(1.0)], lr=0.1, momentum=False), "momentum must be a number, got bool"),
        (lambda: Adam([Value(1.0)], betas=0.9), "betas must be a pair"),
        (lambda: Adam([Value(1.0)], betas=(0.9,)), "betas must be a pair"),
        (lambda: Adam([Value(1.0)], betas=(True, 0.999)), r"betas\[0\] must be a number, got bool"),
        (lambda: Adam([Value(1.0)], eps=1e-8j), "eps must be a number, got complex"),
        (lambda: RMSprop([Value(1.0)], alpha="0.99"), "alpha must be a number, got str"),
        (lambda: SGD(Value(1.0), lr=0.1), "params must be an iterable of Values"),
        (lambda: SGD([Value(1.0), 2.0], lr=0.1), r"params\[1\] must be a Value, got float"),
    ],
)
def test_a_non_number_option_is_a_type_error_naming_it(make, words):
    with pytest.raises(TypeError, match=words):
        make()


def test_an_empty_parameter_list_is_refused():
    with pytest.raises(ValueError, match="params is empty"):
        SGD([], lr=0.1)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: SGD(p, lr=0),
        lambda p: SGD(p, lr=1, momentum=0, weight_decay=0),  # ints are numbers too
        lambda p: SGD(p, lr=Fraction(1, 10), momentum=5.0),  # torch puts no upper bound on momentum
        lambda p: Adam(p, lr=0.0, betas=[0.0, 0.0], eps=5e-324),
        lambda p: Adam(p, betas=(0.9999999999999999, 0.9999999999999999)),
        lambda p: RMSprop(p, alpha=0.0),
        lambda p: RMSprop(p, alpha=1.0, eps=1e-300),
    ],
)
def test_options_at_the_edges_of_their_ranges_are_accepted_and_a_zero_gradient_steps(make):
    params = [Value(0.5), Value(-2.0)]
    opt = make(params)
    for _ in range(3):
        opt.zero_grad()  # every gradient is 0: a step must not divide by it
        opt.step()
    assert all(math.isfinite(p.data) for p in params)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda p: Adam(p, lr=0.1, eps=1e-300), lambda t, p: t.optim.Adam(p, lr=0.1, eps=1e-300)),
        (lambda p: Adam(p, lr=0.1, weight_decay=0.1), lambda t, p: t.optim.Adam(p, lr=0.1, weight_decay=0.1)),
        (lambda p: RMSprop(p, lr=0.1, momentum=0.9), lambda t, p: t.optim.RMSprop(p, lr=0.1, momentum=0.9)),
        (lambda p: SGD(p, lr=0.1, momentum=0.9), lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9)),
    ],
)
def test_steps_on_a_zero_gradient_match_torch(torch, ours, theirs):
    params = [Value(0.5), Value(-2.0)]
    tensors = [torch.tensor(p.data, requires_grad=True) for p in params]
    opt, topt = ours(params), theirs(torch, tensors)
    for grads in ([0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [-0.0, 0.0]):
        for p, t, g in zip(params, tensors, grads):
            p.grad, t.grad = g, torch.tensor(g)
        opt.step()
        topt.step()
        assert [p.data for p in params] == pytest.approx([t.item() for t in tensors], abs=1e-12, rel=1e-12)


def test_a_failed_construction_leaves_the_parameters_alone():
    params = [Value(1.0)]
    params[0].grad = 3.0
    with pytest.raises(ValueError):
        Adam(params, eps=0.0)
    assert (params[0].data, params[0].grad) == (1.0, 3.0)


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


def _clip_both(torch, grads, max_norm, **options):
    """(our norm, our grads), (torch's norm, torch's grads) after clipping the same gradients."""
    params = [Value(1.0) for _ in grads]
    tensors = [torch.tensor(1.0, requires_grad=True) for _ in grads]
    for p, t, g in zip(params, tensors, grads):
        p.grad, t.grad = g, torch.tensor(g)
    norm = clip_grad_norm(params, max_norm, **options)
    torch_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm, **options).item()
    return (norm, [p.grad for p in params]), (torch_norm, [t.grad.item() for t in tensors])


@pytest.mark.parametrize(
    "grads",
    [
        [math.inf, 1.0, 0.0],  # norm inf: the factor is 0, so finite grads become 0 and inf * 0 NaN
        [-math.inf, 2.0],
        [math.inf, -math.inf],
        [math.nan, 1.0],  # norm NaN: every gradient becomes NaN
        [math.inf, math.nan, 3.0],  # NaN wins over inf, as in a sum of squares
        [0.0, 0.0, -0.0],  # norm 0: nothing to scale
    ],
    ids=["inf", "-inf", "inf-and-minus-inf", "nan", "inf-and-nan", "zero"],
)
@pytest.mark.parametrize("max_norm", [0.0, 1.0])
def test_clip_grad_norm_with_non_finite_gradients_matches_torch(torch, grads, max_norm):
    (norm, ours), (torch_norm, theirs) = _clip_both(torch, grads, max_norm)
    assert norm == pytest.approx(torch_norm, nan_ok=True)
    assert ours == pytest.approx(theirs, nan_ok=True)


@pytest.mark.parametrize("grads", [[math.inf, 1.0], [math.nan, 1.0], [math.inf, math.nan]])
def test_clip_grad_norm_can_refuse_a_non_finite_norm_like_torch_and_change_nothing(torch, grads):
    params = [Value(1.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    with pytest.raises(RuntimeError, match="norm is (inf|nan)"):
        clip_grad_norm(params, 1.0, error_if_nonfinite=True)
    assert [p.grad for p in params] == pytest.approx(grads, nan_ok=True)
    tensors = [torch.tensor(1.0, requires_grad=True) for _ in grads]
    for t, g in zip(tensors, grads):
        t.grad = torch.tensor(g)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(tensors, 1.0, error_if_nonfinite=True)


def test_a_finite_norm_passes_error_if_nonfinite():
    params = [Value(1.0), Value(1.0)]
    params[0].grad, params[1].grad = 3.0, 4.0
    assert clip_grad_norm(params, 1.0, error_if_nonfinite=True) == 5.0
    assert math.hypot(params[0].grad, params[1].grad) == pytest.approx(1.0, rel=1e-5)


def test_the_norm_of_huge_gradients_does_not_overflow_where_torchs_does(torch):
    # A deliberate difference: torch squares 1e200 to inf, so it sees an infinite norm and zeroes
    # every gradient; the true norm is 1.4e200, and scaling by it keeps the gradients' direction.
    (norm, ours), (torch_norm, theirs) = _clip_both(torch, [1e200, -1e200], 1.0)
    assert torch_norm == math.inf and theirs == [0.0, -0.0]
    assert norm == pytest.approx(math.sqrt(2) * 1e200, rel=1e-15)
    assert ours == pytest.approx([math.sqrt(0.5), -math.sqrt(0.5)], rel=1e-6)


@pytest.mark.parametrize(
    ("max_norm", "error", "words"),
    [
        (-1.0, ValueError, "max_norm must be a finite number >= 0, got -1.0"),
        (math.nan, ValueError, "max_norm must be a finite number >= 0, got nan"),
        (math.inf, ValueError, "max_norm must be a finite number >= 0, got inf"),
        (10**400, ValueError, "max_norm must be a finite number >= 0, got an int of about 1e+400"),
        (True, TypeError, "max_norm must be a number, got bool"),
        ("1", TypeError, "max_norm must be a number, got str"),
    ],
)
def test_a_bad_max_norm_is_refused_naming_it_and_the_gradients_stay(max_norm, error, words):
    params = [Value(1.0), Value(1.0)]
    params[0].grad, params[1].grad = 3.0, 4.0
    with pytest.raises(error, match=re.escape(words)):
        clip_grad_norm(params, max_norm)
    assert [p.grad for p in params] == [3.0, 4.0]
