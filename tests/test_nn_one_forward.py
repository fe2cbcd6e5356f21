"""One forward per module: the function a module computes is the same with gradients, under no_grad and compiled."""

from __future__ import annotations

import inspect

import pytest

import autograd
import nn
from autograd import Value, no_grad
from nn import MLP, RNN, Dropout, Layer, LayerNorm, Neuron, Residual, Sequential
from nn._replay import WARM_UP

pytestmark = pytest.mark.nn

POINTS = [[0.5, -1.0], [0.25, 0.75], [-2.0, 0.125], [1.5, 1.5], [0.0, -0.3], [3.0, -2.5]]


def numbers(output):
    return output.data if isinstance(output, Value) else [numbers(o) for o in output]


class Folded(Layer):
    """A Layer of one's own: its outputs folded at 0.5, with a Python branch on each number."""

    def forward(self, x):
        return [v if v.data < 0.5 else 1.0 - v for v in super().forward(x)]


class Scaled(Layer):
    """Another: every output doubled, no branch."""

    def forward(self, x):
        return [2.0 * v for v in super().forward(x)]


@pytest.mark.parametrize("kind", [Folded, Scaled])
def test_a_subclass_overriding_forward_computes_one_function_with_gradients_under_no_grad_and_compiled(kind):
    layer = kind(2, 3, "tanh", seed=0)
    with_gradients = [numbers(layer(x)) for x in POINTS]
    with no_grad():
        for _ in range(WARM_UP + 2):  # past the calls after which a module may be replayed
            assert [numbers(layer(x)) for x in POINTS] == with_gradients
    for x, expected in zip(POINTS, with_gradients):
        fast = autograd.compile(lambda *leaves: tuple(layer(list(leaves))), *x)
        assert list(fast(*x)) == expected


def test_a_subclass_is_called_as_it_is_under_no_grad_inside_an_mlp():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    model.layers[0] = Folded(2, 3, "tanh", seed=1)
    expected = [model(x).data for x in POINTS]
    with no_grad():
        for _ in range(WARM_UP + 2):
            assert [model(x).data for x in POINTS] == expected


def every_model():
    return [
        Neuron(2, "sigmoid", seed=0),
        Layer(2, 3, "leaky_relu", seed=0),
        MLP(2, [4, 4, 2], activation="relu", dropout=0.25, seed=0),
        Sequential(Layer(2, 3, "softplus", seed=0), Residual(Layer(3, 3, "tanh", seed=1)), LayerNorm(3)),
    ]


@pytest.mark.parametrize("model", every_model(), ids=lambda m: type(m).__name__)
def test_under_no_grad_every_built_in_module_is_replayed_bit_for_bit(model):
    model.eval()
    expected = [numbers(model(x)) for x in POINTS]
    with no_grad():
        for _ in range(WARM_UP + 2):
            assert [numbers(model(x)) for x in POINTS] == expected
    assert any(p.fast is not None for p in model._programs.values())  # it was the compiled program that ran


def test_an_rnn_is_replayed_per_sequence_length():
    rnn = RNN(2, 3, seed=0)
    sequences = [POINTS[:2], POINTS[:3], POINTS[1:3]]
    expected = [numbers(rnn(s)) for s in sequences]
    with no_grad():
        for _ in range(WARM_UP + 1):
            assert [numbers(rnn(s)) for s in sequences] == expected
    assert sum(p.fast is not None for p in rnn._programs.values()) == 2  # lengths 2 and 3


def test_new_weights_need_no_new_trace_and_a_new_layer_is_noticed():
    model = MLP(2, [3, 1], seed=0)
    with no_grad():
        for _ in range(WARM_UP + 1):
            model(POINTS[0])
    for p in model.parameters():
        p.data *= -1.5
    assert_same_with_and_without_gradients(model)
    model.layers[1] = Layer(3, 1, "linear", seed=7)  # in place: not noticed ...
    model.layers = list(model.layers)  # ... until the attribute is set again
    assert_same_with_and_without_gradients(model)


def assert_same_with_and_without_gradients(model):
    expected = [model(x).data for x in POINTS]
    with no_grad():
        for _ in range(WARM_UP + 1):
            assert [model(x).data for x in POINTS] == expected


def test_dropout_in_training_mode_draws_its_masks_under_no_grad_too():
    model = MLP(2, [64, 1], dropout=0.5, seed=0)
    with no_grad():
        scores = {model(POINTS[0]).data for _ in range(WARM_UP + 5)}
    assert len(scores) > 1  # a new mask every call: not one traced and replayed
    model.eval()
    with no_grad():
        scores = {model(POINTS[0]).data for _ in range(WARM_UP + 5)}
    assert len(scores) == 1


def test_hooks_see_every_call_under_no_grad():
    model = MLP(2, [3, 1], seed=0)
    with no_grad():
        for _ in range(WARM_UP + 1):
            model(POINTS[0])  # compiled by now
    calls = []
    model.layers[0].register_forward_hook(lambda module, inputs, output: calls.append(numbers(output)))
    with no_grad():
        for _ in range(WARM_UP + 1):
            model(POINTS[0])
    assert len(calls) == WARM_UP + 1


def test_bad_input_gets_the_same_error_under_no_grad():
    model = MLP(2, [3, 1], seed=0)
    for _ in range(WARM_UP + 1):
        with pytest.raises(ValueError, match="MLP expects 2 inputs, got 3"), no_grad():
            model([1.0, 2.0, 3.0])
        with pytest.raises(TypeError, match="MLP input 1 must be a number or a Value, got str"), no_grad():
            model([1.0, "x"])


def test_no_module_keeps_a_second_forward():
    for name in dir(nn):
        cls = getattr(nn, name)
        if inspect.isclass(cls) and issubclass(cls, nn.Module):
            assert not {"_value_forward", "_float_forward"} & set(dir(cls)), name


def test_dropout_passes_through_in_eval_mode_compiled():
    drop = Dropout(0.5, seed=0).eval()
    with no_grad():
        for _ in range(WARM_UP + 1):
            assert numbers(drop([1.0, 2.0])) == [1.0, 2.0]
