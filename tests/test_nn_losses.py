"""Loss functions: value and gradient against torch.nn.functional and finite differences, stability, errors."""

from __future__ import annotations

import math

import pytest

from autograd import Value
from nn import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse_loss

pytestmark = pytest.mark.nn

LOGITS = [-1e3, -40.0, -3.0, -0.5, 0.0, 0.25, 2.0, 37.0, 1e3]


def values(xs: list[float]) -> list[Value]:
    return [Value(x) for x in xs]


def torch_value_and_grad(torch, loss_fn, xs, *args):
    t = torch.tensor(xs, requires_grad=True)
    loss = loss_fn(t, *args)
    loss.backward()
    return loss.item(), t.grad.tolist()


def finite_differences(loss_fn, xs: list[float], h: float = 1e-6) -> list[float]:
    grads = []
    for i in range(len(xs)):
        up = [x + (h if j == i else 0.0) for j, x in enumerate(xs)]
        down = [x - (h if j == i else 0.0) for j, x in enumerate(xs)]
        grads.append((loss_fn(values(up)).data - loss_fn(values(down)).data) / (2 * h))
    return grads


def test_mse_loss_matches_pytorch_in_value_and_gradient(torch):
    preds, targets = [0.3, -1.2, 2.5, 0.0, 7.0], [0.0, -1.0, 3.0, 0.5, -2.0]
    ps = values(preds)
    loss = mse_loss(ps, targets)
    loss.backward()
    value, grad = torch_value_and_grad(torch, torch.nn.functional.mse_loss, preds, torch.tensor(targets))
    assert loss.data == pytest.approx(value, rel=1e-14)
    assert [p.grad for p in ps] == pytest.approx(grad, rel=1e-14)
    assert [p.grad for p in ps] == pytest.approx(finite_differences(lambda v: mse_loss(v, targets), preds), rel=1e-6)


def test_hinge_loss_is_the_mean_of_relu_of_one_minus_margin_as_in_pytorch(torch):
    scores = [2.0, 0.5, -0.3, 1.0, -4.0, 0.9]
    labels = [1, 1, -1, -1, -1, 1]
    ss = values(scores)
    loss = hinge_loss(ss, labels)
    loss.backward()

    def reference(t, y):
        return torch.nn.functional.relu(1 - y * t).mean()

    value, grad = torch_value_and_grad(torch, reference, scores, torch.tensor(labels, dtype=torch.float64))
    assert loss.data == pytest.approx(value, rel=1e-14)
    assert [s.grad for s in ss] == grad  # exactly -y/n or 0 (margin exactly 1 gives 0, as relu'(0) = 0)
    smooth = [2.0, 0.5, -0.3, 1.5, -4.0, 0.9]  # away from the kink, finite differences apply
    assert [s.grad for s in values(smooth)] == [0.0] * 6
    check = values(smooth)
    hinge_loss(check, labels).backward()
    assert [s.grad for s in check] == pytest.approx(finite_differences(lambda v: hinge_loss(v, labels), smooth))


@pytest.mark.parametrize("target", [0.0, 1.0, 0.3])
def test_binary_cross_entropy_with_logits_matches_pytorch_even_for_extreme_logits(torch, target):
    zs = values(LOGITS)
    targets = [target] * len(LOGITS)
    loss = binary_cross_entropy_with_logits(zs, targets)
    loss.backward()
    value, grad = torch_value_and_grad(
        torch, torch.nn.functional.binary_cross_entropy_with_logits, LOGITS, torch.tensor(targets)
    )
    assert math.isfinite(loss.data)
    assert loss.data == pytest.approx(value, rel=1e-13)
    assert [z.grad for z in zs] == pytest.approx(grad, rel=1e-12, abs=1e-17)


@pytest.mark.parametrize("z", LOGITS)
@pytest.mark.parametrize("target", [0, 1])
def test_each_binary_cross_entropy_term_matches_pytorch(torch, z, target):
    v = Value(z)
    loss = binary_cross_entropy_with_logits(v, target)
    loss.backward()
    value, (grad,) = torch_value_and_grad(
        torch, torch.nn.functional.binary_cross_entropy_with_logits, [z], torch.tensor([float(target)])
    )
    assert loss.data == pytest.approx(value, rel=1e-13, abs=1e-15)  # log(1 + tiny) loses the tiny part below 1e-16
    # torch computes sigmoid(z) - y, which rounds to 0 at z = 37; ours keeps -e^-z = -8.5e-17
    assert v.grad == pytest.approx(grad, rel=1e-12, abs=1e-16)


@pytest.mark.parametrize(("z", "target"), [(40.0, 1), (-40.0, 0), (700.0, 1), (-36.5, 0)])
def test_a_tiny_binary_cross_entropy_keeps_every_digit(z, target):
    # -log sigmoid(40) = log(1 + e^-40) = 4.248e-18: written with softplus, no digit is lost
    # (max(z, 0) - z t + log(1 + e^-|z|) would subtract 40 from 40 and give 0)
    exact = math.log1p(math.exp(-abs(z)))
    assert binary_cross_entropy_with_logits([Value(z)], [target]).data == pytest.approx(exact, rel=1e-15)


def test_binary_cross_entropy_gradient_matches_finite_differences():
    zs, targets = [-2.0, -0.3, 0.4, 3.0], [0, 1, 0.25, 1]
    check = values(zs)
    binary_cross_entropy_with_logits(check, targets).backward()
    fd = finite_differences(lambda v: binary_cross_entropy_with_logits(v, targets), zs)
    assert [z.grad for z in check] == pytest.approx(fd, rel=1e-6)


CLASS_LOGITS = [
    ([1.0, 2.0, 0.5], 1),
    ([1e3, -1e3, 0.0], 1),
    ([-1e3, -1e3 + 1.0, -1e3 - 2.0], 0),
    ([1e3, 1e3, 1e3], 2),
    ([0.0], 0),
]


@pytest.mark.parametrize(("logits", "target"), CLASS_LOGITS)
def test_cross_entropy_matches_pytorch_even_for_extreme_logits(torch, logits, target):
    zs = values(logits)
    loss = cross_entropy(zs, target)
    loss.backward()
    value, grad = torch_value_and_grad(torch, torch.nn.functional.cross_entropy, logits, torch.tensor(target))
    assert math.isfinite(loss.data)
    assert loss.data == pytest.approx(value, rel=1e-13, abs=1e-15)
    assert [z.grad for z in zs] == pytest.approx(grad, rel=1e-12, abs=1e-15)


def test_cross_entropy_of_a_batch_is_the_mean_and_matches_pytorch(torch):
    rows = [c[0] for c in CLASS_LOGITS[:4]]
    targets = [c[1] for c in CLASS_LOGITS[:4]]
    zs = [values(r) for r in rows]
    loss = cross_entropy(zs, targets)
    loss.backward()
    value, grad = torch_value_and_grad(torch, torch.nn.functional.cross_entropy, rows, torch.tensor(targets))
    assert loss.data == pytest.approx(value, rel=1e-13)
    assert [z.grad for row in zs for z in row] == pytest.approx([g for r in grad for g in r], rel=1e-12, abs=1e-15)


def test_cross_entropy_takes_any_integral_class_index_as_numpy_and_scikit_learn_give_them(torch):
    import fractions

    import numpy as np

    logits = [0.3, -1.0, 2.2]
    expected = cross_entropy(values(logits), 1).data
    labels = np.array([2, 1, 0], dtype=np.int64)  # what a label column from numpy or scikit-learn holds
    for t in (np.int64(1), np.int32(1), np.uint8(1), labels[1]):
        assert cross_entropy(values(logits), t).data == expected
    batch = cross_entropy([values(logits)] * 3, list(labels))  # a list of np.int64, as list(y) gives
    value, _ = torch_value_and_grad(torch, torch.nn.functional.cross_entropy, [logits] * 3, torch.tensor(labels))
    assert batch.data == pytest.approx(value, rel=1e-13)
    for wrong in (np.float64(1.0), fractions.Fraction(1), np.bool_(True)):
        with pytest.raises(TypeError, match="int class index"):
            cross_entropy(values(logits), wrong)
    with pytest.raises(ValueError, match="target_index is 3, but there are only 3 classes"):
        cross_entropy(values(logits), np.int64(3))


def test_cross_entropy_gradient_matches_finite_differences():
    logits = [0.3, -1.0, 2.2, 0.0]
    zs = values(logits)
    cross_entropy(zs, 2).backward()
    assert [z.grad for z in zs] == pytest.approx(finite_differences(lambda v: cross_entropy(v, 2), logits), rel=1e-6)


def test_a_single_prediction_is_a_batch_of_one():
    assert mse_loss(Value(3.0), 1.0).data == 4.0
    assert hinge_loss(Value(0.25), -1).data == 1.25
    assert binary_cross_entropy_with_logits(Value(0.0), 1).data == pytest.approx(math.log(2))
    assert mse_loss(3.0, 1).data == 4.0  # plain numbers work too (no gradient to give)


def test_losses_reach_the_parameters_that_made_the_predictions():
    w = Value(0.5)
    preds = [w * 2.0, w * -1.0]
    mse_loss(preds, [0.0, 0.0]).backward()  # (1/2)((2w)^2 + w^2) -> d/dw = 5w
    assert w.grad == 2.5


HUGE = 10**400


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: mse_loss([Value(1.0)], [1.0, 2.0]), ValueError, "1 predictions but 2 targets"),
        (lambda: mse_loss([], []), ValueError, "empty"),
        (lambda: mse_loss([Value(1.0)], [True]), TypeError, "mse_loss: target 0 must be a number, got bool"),
        (lambda: mse_loss([Value(1.0)], [None]), TypeError, "mse_loss: target 0 must be a number, got NoneType"),
        (lambda: mse_loss([Value(1.0)], [math.nan]), ValueError, "mse_loss: target 0 must be a finite number, got nan"),
        (lambda: mse_loss([1.0, 2.0], [0.0, -math.inf]), ValueError, "target 1 must be a finite number, got -inf"),
        (lambda: mse_loss([Value(1.0)], [Value(math.inf)]), ValueError, "target 0 must be a finite number, got inf"),
        (
            lambda: mse_loss([Value(1.0)], [HUGE]),
            ValueError,
            "target 0 must be a finite number, got an int of about 1e.400",
        ),
        (
            lambda: mse_loss([HUGE], [1.0]),
            ValueError,
            "mse_loss: prediction 0 is too large for a float, got an int of about 1e.400",
        ),
        (
            lambda: hinge_loss([Value(1.0)], [-HUGE]),
            ValueError,
            "hinge_loss: label 0 must be a finite number, got an int of about -1e.400",
        ),
        (
            lambda: binary_cross_entropy_with_logits([0.0], [HUGE]),
            ValueError,
            "target 0 must be a finite number, got an int of about 1e.400",
        ),
        (lambda: binary_cross_entropy_with_logits([HUGE], [1]), ValueError, "prediction 0 is too large for a float"),
        (
            lambda: cross_entropy([Value(1.0), Value(2.0)], HUGE),
            ValueError,
            "target_index is an int of about 1e.400, but there are only 2 classes",
        ),
        (
            lambda: cross_entropy([Value(1.0), HUGE], 0),
            ValueError,
            r"logits\[1\] is too large for a float, got an int of about 1e.400",
        ),
        (
            lambda: cross_entropy([[1.0, 2.0]], [HUGE]),
            ValueError,
            "target 0 is an int of about 1e.400, but there are only 2 classes",
        ),
        (lambda: mse_loss(["a"], [1.0]), TypeError, "prediction 0"),
        (lambda: mse_loss("ab", [1.0, 2.0]), TypeError, "predictions"),
        (lambda: hinge_loss([Value(1.0)], [0]), ValueError, "labels must be \\+1 or -1"),
        (lambda: binary_cross_entropy_with_logits([Value(1.0)], [-1]), ValueError, r"in \[0, 1\]"),
        (lambda: cross_entropy([Value(1.0), Value(2.0)], 2), ValueError, "only 2 classes"),
        (lambda: cross_entropy([Value(1.0), Value(2.0)], 1.0), TypeError, "int class index"),
        (lambda: cross_entropy([Value(1.0), Value(2.0)], True), TypeError, "int class index"),
        (lambda: cross_entropy([], 0), ValueError, "empty"),
        (lambda: cross_entropy([[Value(1.0)], [Value(2.0)]], [0]), ValueError, "2 samples but 1 targets"),
    ],
)
def test_bad_arguments_raise_errors_that_name_the_problem(call, error, words):
    # HUGE = 10**400: float() of it raises a bare OverflowError; the message must name the argument
    with pytest.raises(error, match=words):
        call()
