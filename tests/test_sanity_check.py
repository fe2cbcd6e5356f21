"""nn.sanity_check: the checks before a long run, each a sentence that says what its result means.

Each check is shown to pass on a healthy model and to fail, with its sentence, on a model broken
in the one way it is meant to catch: an output layer scaled by 100 (initial loss), a network
that cannot learn (overfitting a tiny batch), an op with a wrong derivative (gradients).
"""

from __future__ import annotations

import math
import struct

import pytest

from autograd import Op
from nn import (
    MLP,
    Layer,
    Module,
    SanityReport,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    make_moons,
    make_sine,
    make_spiral,
    mse_loss,
    sanity_check,
)

pytestmark = pytest.mark.diagnostics

X, Y = make_moons(n=100, noise=0.1, seed=0)
T = [(label + 1) // 2 for label in Y]  # 0/1 targets for the binary cross-entropy
NAMES = ["initial loss", "overfit a tiny batch", "gradients"]


def check(report: SanityReport, name: str) -> tuple[str, bool, str]:
    return next(c for c in report.checks if c[0] == name)


def bits(model) -> list[bytes]:
    return [struct.pack("<dd", p.data, p.grad) for p in model.parameters()]


@pytest.mark.parametrize("loss_fn, y", [(hinge_loss, Y), (binary_cross_entropy_with_logits, T)],
                         ids=["hinge", "bce"])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_fresh_moons_mlp_passes_every_check(loss_fn, y, seed):
    report = sanity_check(MLP(2, [16, 16, 1], seed=seed), X, y, loss_fn, verbose=False)
    assert report.passed, str(report)
    assert [name for name, _, _ in report.checks] == NAMES


def test_an_output_layer_scaled_by_100_fails_the_initial_loss_check_and_says_why():
    model = MLP(2, [16, 16, 1], seed=0)
    for neuron in model.layers[-1].neurons:
        for w in neuron.w:
            w.data *= 100
        neuron.b.data *= 100
    report = sanity_check(model, X, Y, hinge_loss, verbose=False)
    assert not report.passed
    name, passed, sentence = check(report, "initial loss")
    assert not passed
    assert "far above 1, the loss of scores of 0" in sentence
    assert "starts confident and wrong" in sentence and "scale the output layer's initial weights down" in sentence
    assert "failed: initial loss" in repr(report)


def test_the_initial_loss_is_expected_at_ln_k_for_cross_entropy_over_k_classes():
    Xs, ys = make_spiral(n=60, classes=3, seed=0)
    report = sanity_check(MLP(2, [16, 16, 3], seed=0), Xs, ys, cross_entropy, verbose=False)
    name, passed, sentence = check(report, "initial loss")
    assert passed and f"ln 3 = {math.log(3):.4g}" in sentence


def test_the_initial_loss_is_expected_at_ln_2_for_binary_cross_entropy():
    report = sanity_check(MLP(2, [16, 16, 1], seed=0), X, T, binary_cross_entropy_with_logits, verbose=False)
    assert f"ln 2 = {math.log(2):.4g}" in check(report, "initial loss")[2]


def test_the_initial_squared_error_passes_while_the_outputs_are_at_the_targets_scale():
    report = sanity_check(MLP(2, [16, 1], seed=0), X, [3.0 * t for t in Y], mse_loss, verbose=False)
    name, passed, sentence = check(report, "initial loss")
    assert passed and "9 mean(t^2) = 81" in sentence and "targets' RMS 3" in sentence


@pytest.mark.parametrize("seed", range(10))
def test_the_readmes_regression_model_passes_every_check_at_initialisation(seed):
    # MLP(1, [16, 1], "tanh") on make_sine: its initial loss is 0.3 to 5 times mean(t^2), all healthy
    Xs, ys = make_sine(n=100, noise=0.1, seed=seed)
    report = sanity_check(MLP(1, [16, 1], "tanh", seed=seed), Xs, ys, mse_loss, verbose=False)
    assert report.passed, str(report)


def test_regression_outputs_far_larger_than_the_targets_fail_the_initial_loss():
    Xs, ys = make_sine(n=100, noise=0.1, seed=0)
    model = MLP(1, [16, 1], "tanh", seed=0)
    for w in model.layers[-1].neurons[0].w:  # the output layer's weights x10: outputs ~10 times the targets
        w.data *= 10.0
    name, passed, sentence = check(sanity_check(model, Xs, ys, mse_loss, verbose=False), "initial loss")
    assert not passed
    assert "above 9 mean(t^2)" in sentence and "more than 2 times as large as the targets" in sentence


def test_a_regression_model_right_before_training_is_suspicious_and_all_zero_targets_are_not_checked():
    Xs = [[x / 10.0] for x in range(-10, 11)]
    model = MLP(1, [1], seed=0)  # one linear neuron: its own outputs, slightly moved, are its targets
    ys = [model(x).data + 0.001 for x in Xs]
    name, passed, sentence = check(sanity_check(model, Xs, ys, mse_loss, verbose=False), "initial loss")
    assert not passed and "below 1% of the targets' variance" in sentence and "suspicious" in sentence
    name, passed, sentence = check(sanity_check(model, Xs, [0.0] * len(Xs), mse_loss, verbose=False), "initial loss")
    assert passed and "not checked: every target is 0" in sentence


def test_a_loss_of_your_own_is_not_checked_and_says_so():
    def my_loss(outputs, targets):
        return hinge_loss(outputs, targets) * 3

    report = sanity_check(MLP(2, [8, 1], seed=0), X, Y, my_loss, verbose=False)
    name, passed, sentence = check(report, "initial loss")
    assert passed and "not checked" in sentence and "my_loss" in sentence


def test_a_network_that_cannot_learn_fails_to_overfit_a_tiny_batch():
    model = MLP(2, [8, 8, 1], seed=0)
    for neuron in model.layers[0].neurons:
        neuron.b.data = -100.0  # every first-layer unit dead: the output is a constant for every input
    report = sanity_check(model, X, Y, hinge_loss, verbose=False)
    name, passed, sentence = check(report, "overfit a tiny batch")
    assert not passed
    assert "cannot even learn them by heart" in sentence and "4 samples" in sentence


def test_the_tiny_batch_holds_both_classes():
    y = [1] * 10 + [-1] * 10  # the first four samples are all of one class
    model = MLP(2, [8, 8, 1], seed=0)
    for neuron in model.layers[0].neurons:
        neuron.b.data = -100.0  # a constant output: it fits one class, never both
    name, passed, sentence = check(sanity_check(model, X[:20], y, hinge_loss, verbose=False), "overfit a tiny batch")
    assert not passed


_bad_square = Op("bad_square", lambda x: x * x, lambda x, out: (3 * x,))  # the derivative should be 2x


class BadSquare(Module):
    """A Layer followed by an op whose derivative rule is wrong."""

    def __init__(self):
        self.layer = Layer(2, 1, activation="linear", seed=0)

    def forward(self, x):
        return _bad_square(self.layer(x)[0])


def test_a_wrong_derivative_fails_the_gradient_check_naming_the_parameter():
    report = sanity_check(BadSquare(), X, [0.0] * len(X), mse_loss, verbose=False)
    name, passed, sentence = check(report, "gradients")
    assert not passed
    assert sentence.startswith("layer.neurons.0.w[0]: backward gives")
    assert "finite differences" in sentence and "derivative rule" in sentence


def test_the_gradient_check_passes_with_the_difference_it_found():
    report = sanity_check(MLP(2, [8, 8, 1], activation="tanh", seed=0), X, T, binary_cross_entropy_with_logits,
                          verbose=False)
    name, passed, sentence = check(report, "gradients")
    assert passed and "6 parameters" in sentence and "largest difference" in sentence


def test_one_line_is_printed_per_check(capsys):
    report = sanity_check(MLP(2, [8, 1], seed=0), X, Y, hinge_loss)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert [line.split(":")[0] for line in lines] == [f"PASS  {name}" for name in NAMES]
    assert str(report).splitlines() == lines
    sanity_check(MLP(2, [8, 1], seed=0), X, Y, hinge_loss, verbose=False)
    assert capsys.readouterr().out == ""


def test_the_model_is_left_exactly_as_it_was():
    model = MLP(2, [8, 8, 1], dropout=0.3, seed=0)
    model.eval()
    for p in model.parameters():
        p.grad = 0.25
    before, state = bits(model), model.dropouts[0]._rng.getstate()
    sanity_check(model, X, Y, hinge_loss, verbose=False)
    assert bits(model) == before
    assert model.dropouts[0]._rng.getstate() == state and model.training is False


@pytest.mark.parametrize("kwargs, error, words", [
    ({"model": "mlp"}, TypeError, "sanity_check: model must be an nn.Module, got str"),
    ({"y": Y[:-1]}, ValueError, "sanity_check: X has 100 inputs but y has 99 targets"),
    ({"X": [], "y": []}, ValueError, "sanity_check: X is empty"),
    ({"loss_fn": None}, TypeError, "sanity_check: loss_fn must be a function"),
    ({"verbose": "yes"}, TypeError, "sanity_check: verbose must be True or False, got str"),
])
def test_bad_arguments_are_named_and_nothing_changes(kwargs, error, words):
    model = MLP(2, [4, 1], seed=0)
    before = bits(model)
    with pytest.raises(error, match=words):
        sanity_check(**{"model": model, "X": X, "y": Y, "loss_fn": hinge_loss, **kwargs})
    assert bits(model) == before


def test_an_infinite_initial_squared_error_fails():
    Xs, ys = make_sine(n=20, noise=0.1, seed=0)
    model = MLP(1, [4, 1], "tanh", seed=0)
    model.layers[-1].neurons[0].b.data = 1e200  # its square overflows
    name, passed, sentence = check(sanity_check(model, Xs, ys, mse_loss, verbose=False), "initial loss")
    assert not passed and sentence.startswith("inf at initialisation")
