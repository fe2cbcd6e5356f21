"""Neuron, Layer, MLP and Dropout: structure, outputs and gradients, checked against PyTorch."""

from __future__ import annotations

import math
import random

import pytest
from _reference import torch_mlp
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, no_grad
from nn import MLP, Dropout, Layer, Module, Neuron, mse_loss

pytestmark = pytest.mark.nn

ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]
POINTS = [[0.5, -1.2], [2.0, 0.3], [-0.7, -0.1], [0.05, 1.5]]


def torch_param_grads(layers) -> list[float]:
    """Gradients in the nn order: layer by layer, neuron by neuron, weights then bias."""
    grads = []
    for lin in layers:
        for j in range(lin.out_features):
            grads += lin.weight.grad[j].tolist() + [lin.bias.grad[j].item()]
    return grads


def outputs_as_list(out) -> list[float]:
    return [v.data for v in out] if isinstance(out, list) else [out.data]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_outputs_match_pytorch_with_copied_weights(torch, activation):
    model = MLP(2, [5, 4, 3], activation=activation, seed=1)
    _, forward = torch_mlp(torch, model)
    for x in POINTS:
        expected = forward(torch.tensor(x)).tolist()
        assert outputs_as_list(model(x)) == pytest.approx(expected, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_parameter_gradients_match_pytorch_on_a_batch_loss(torch, activation):
    model = MLP(2, [6, 4, 1], activation=activation, seed=2)
    targets = [1.0, -1.0, 0.5, 2.0]
    mse_loss([model(x) for x in POINTS], targets).backward()
    layers, forward = torch_mlp(torch, model)
    out = forward(torch.tensor(POINTS)).squeeze(1)
    torch.nn.functional.mse_loss(out, torch.tensor(targets)).backward()
    ours = [p.grad for p in model.parameters()]
    assert ours == pytest.approx(torch_param_grads(layers), rel=1e-10, abs=1e-13)


def test_mlp_parameter_gradients_match_finite_differences():
    model = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    targets = [1.0, -1.0, 0.5, 2.0]

    def loss() -> Value:
        return mse_loss([model(x) for x in POINTS], targets)

    loss().backward()
    h = 1e-6
    for p in model.parameters():
        saved = p.data
        p.data = saved + h
        up = loss().data
        p.data = saved - h
        down = loss().data
        p.data = saved
        assert p.grad == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8)


def test_width_one_hidden_layers_work_and_match_pytorch(torch):
    model = MLP(2, [16, 1, 1], activation="tanh", seed=4)
    targets = [1.0, 0.0, -1.0, 0.5]
    mse_loss([model(x) for x in POINTS], targets).backward()
    layers, forward = torch_mlp(torch, model)
    torch.nn.functional.mse_loss(forward(torch.tensor(POINTS)).squeeze(1), torch.tensor(targets)).backward()
    assert [p.grad for p in model.parameters()] == pytest.approx(torch_param_grads(layers), rel=1e-10, abs=1e-13)


def test_a_single_input_can_be_a_bare_number_or_a_one_element_list():
    model = MLP(1, [3, 1], seed=5)
    assert model(0.75).data == model([0.75]).data == model(Value(0.75)).data
    assert Neuron(1, seed=5)(2).data == Neuron(1, seed=5)([2.0]).data


def test_one_output_is_a_value_and_several_are_a_list():
    assert isinstance(MLP(2, [3, 1], seed=0)([1.0, 2.0]), Value)
    out = MLP(2, [3, 2], seed=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 2 and all(isinstance(v, Value) for v in out)
    assert len(Layer(2, 1, seed=0)([1.0, 2.0])) == 1  # a layer always gives a list


def test_parameters_are_ordered_layer_by_layer_neuron_by_neuron_weights_then_bias():
    model = MLP(3, [4, 2], seed=0)
    expected = [p for layer in model.layers for n in layer.neurons for p in [*n.w, n.b]]
    params = model.parameters()
    assert len(params) == len(expected) == (3 * 4 + 4) + (4 * 2 + 2)
    assert all(a is b for a, b in zip(params, expected))


def test_users_reach_weights_and_biases_through_layers_and_neurons():
    model = MLP(2, [3, 1], seed=0)
    neuron = model.layers[0].neurons[2]
    assert len(neuron.w) == 2 and all(isinstance(w, Value) for w in neuron.w) and isinstance(neuron.b, Value)
    neuron.w[0].data = 0.0
    neuron.w[1].data = 0.0
    neuron.b.data = 1.25
    assert model.layers[0]([7.0, -3.0])[2].data == 1.25


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    a = [p.data for p in MLP(2, [8, 8, 1], seed=7).parameters()]
    assert a == [p.data for p in MLP(2, [8, 8, 1], seed=7).parameters()]
    assert a != [p.data for p in MLP(2, [8, 8, 1], seed=8).parameters()]


def test_seeded_weights_ignore_and_leave_alone_the_global_random_state():
    random.seed(1)
    a = [p.data for p in MLP(2, [4, 1], seed=3).parameters()]
    state = random.getstate()
    random.seed(2)
    random.random()
    b = [p.data for p in MLP(2, [4, 1], seed=3).parameters()]
    assert a == b
    random.setstate(state)
    MLP(2, [4, 1], seed=3)
    assert random.getstate() == state


@pytest.mark.parametrize("nin", [1, 2, 50])
def test_initial_weights_are_scaled_by_fan_in(nin):
    params = Layer(nin, 40, seed=0).parameters()
    bound = 1 / math.sqrt(nin)
    assert all(-bound <= p.data <= bound for p in params)
    assert max(abs(p.data) for p in params) > 0.8 * bound  # they fill the range, not a corner of it


def test_a_neuron_is_one_dot_node_and_one_activation_node():
    neuron = Neuron(3, activation="tanh", seed=0)
    x = [Value(1.0), Value(2.0), Value(3.0)]
    out = neuron(x)
    assert out.op == "tanh"
    (s,) = out.inputs
    assert s.op == "dot"
    assert s.inputs == (*neuron.w, *x, neuron.b)
    assert neuron(x).data == math.tanh(sum(w.data * v.data for w, v in zip(neuron.w, x)) + neuron.b.data)
    assert Neuron(3, activation="linear", seed=0)(x).op == "dot"


def test_a_layer_converts_its_inputs_to_values_once_for_all_neurons():
    out = Layer(2, 5, seed=0)([1.0, 2.0])
    first_inputs = [v.inputs[0].inputs[2:4] for v in out]  # relu <- dot(w0, w1, x0, x1, b)
    assert all(all(a is b for a, b in zip(first_inputs[0], other)) for other in first_inputs)


def test_each_neuron_call_in_a_layer_gets_a_scope_of_its_own_for_both_of_its_nodes():
    layer = Layer(2, 2, seed=0)
    outputs = layer([1.0, 2.0]) + layer([1.0, 2.0])
    assert all(out.op == "relu" and out.inputs[0].scope is out.scope for out in outputs)
    assert len({id(out.scope) for out in outputs}) == 4  # two neurons, called twice: four clusters
    assert [out.scope.path for out in outputs] == [("Layer", f"Neuron {j}") for j in (0, 1, 0, 1)]


def test_a_neuron_scope_name_that_is_not_a_str_is_refused_when_a_layer_calls_it():
    layer = Layer(2, 2, seed=0)
    layer.neurons[1].scope_name = 7
    with pytest.raises(TypeError, match="scope name must be a str, got int"):
        layer([1.0, 2.0])
    assert autograd.current_scope() is None  # the layer's own scope is closed again


def test_module_calls_record_scopes_by_mlp_layer_and_neuron():
    model = MLP(2, [3, 1], seed=0)
    out = model([1.0, 2.0])
    hidden = out.inputs[3:6]  # the linear output neuron is a dot node: inputs w0..w2, x0..x2, b
    assert out.op == "dot" and out.scope.path == ("MLP", "Layer 1", "Neuron 0")
    assert [v.scope.path for v in hidden] == [("MLP", "Layer 0", f"Neuron {j}") for j in range(3)]
    assert autograd.current_scope() is None  # every scope is closed again


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_no_grad_forward_gives_the_same_bits_and_records_nothing(activation):
    model = MLP(2, [5, 5, 2], activation=activation, seed=9)
    for x in POINTS + [[0.0, 0.0], [-30.0, 40.0]]:
        recorded = model(x)
        with no_grad():
            plain = model(x)
        assert [v.data for v in plain] == [v.data for v in recorded]
        assert all(v.inputs == () for v in plain)
    neuron, layer = Neuron(2, activation, seed=1), Layer(2, 3, activation, seed=1)
    x = [0.3, -2.0]
    recorded_neuron, recorded_layer = neuron(x), layer(x)  # a neuron or layer called alone has a float path too
    with no_grad():
        assert neuron(x).data == recorded_neuron.data
        assert [v.data for v in layer(x)] == [v.data for v in recorded_layer]


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    activation=st.sampled_from(ACTIVATIONS),
    seed=st.integers(0, 2**32),
    x=st.lists(finite, min_size=3, max_size=3),
)
def test_no_grad_forward_equals_the_recorded_forward_for_any_input(activation, seed, x):
    model = MLP(3, [4, 2, 1], activation=activation, seed=seed)
    with no_grad():
        plain = model(x).data
    assert plain == model(x).data


def test_zero_grad_resets_every_parameter():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_train_and_eval_switch_every_module_inside():
    model = MLP(2, [3, 3, 1], dropout=0.5, seed=0)
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    assert sum(isinstance(m, Dropout) for m in model.modules()) == 2


def test_repr_names_the_architecture_and_the_parameter_count():
    assert repr(MLP(2, [16, 16, 1], seed=0)) == "MLP(2 -> 16 -> 16 -> 1, activation='relu', parameters=337)"
    assert repr(Layer(3, 4, activation="tanh", seed=0)) == "Layer(3 -> 4, activation='tanh')"
    assert repr(Neuron(1, seed=0)) == "Neuron(1 input, activation='relu')"
    assert repr(Dropout(0.25)) == "Dropout(p=0.25)"


def test_a_deep_mlps_repr_stays_one_short_line():
    assert repr(MLP(2, [3] * 10 + [1], seed=0)).startswith("MLP(2 -> " + "3 -> " * 10 + "1,")  # 12 sizes: all shown
    deep = MLP(1, [2] * 4999 + [1], seed=0)  # printed whole, 5,000 layers took a line of 25 KB
    assert repr(deep) == "MLP(1 -> 2 -> 2 -> ... (5000 layers) -> 2 -> 1, activation='relu', parameters=29995)"


def test_a_user_module_finds_its_parameters_without_registration():
    class TwoHeads(Module):
        def __init__(self) -> None:
            self.body = Layer(2, 3, seed=0)
            self.heads = [Neuron(3, "linear", seed=1), Neuron(3, "linear", seed=2)]
            self.scale = Value(2.0)

        def forward(self, x):
            h = self.body(x)
            return [head(h) * self.scale for head in self.heads]

    model = TwoHeads()
    expected = model.body.parameters() + model.heads[0].parameters() + model.heads[1].parameters() + [model.scale]
    assert all(a is b for a, b in zip(model.parameters(), expected)) and len(model.parameters()) == len(expected)
    assert model([1.0, 2.0])[0].scope.path == ("TwoHeads",)


# ---- dropout -------------------------------------------------------------------------------


def test_dropout_in_eval_mode_passes_inputs_through():
    xs = [Value(float(i)) for i in range(20)]
    assert all(a is b for a, b in zip(Dropout(0.5, seed=0).eval()(xs), xs))


def test_dropout_in_train_mode_zeroes_some_inputs_and_scales_the_rest():
    p = 0.3
    out = Dropout(p, seed=0)([Value(2.0) for _ in range(2000)])
    kept = [v.data for v in out if v.data != 0.0]
    assert set(kept) == {2.0 / (1 - p)}
    assert abs(len(kept) / 2000 - (1 - p)) < 0.05


def test_dropped_inputs_get_zero_gradient_and_kept_ones_the_scale():
    xs = [Value(1.0) for _ in range(50)]
    out = Dropout(0.5, seed=1)(xs)
    autograd.sum(out).backward()
    for x, y in zip(xs, out):
        assert x.grad == (2.0 if y.data != 0.0 else 0.0)


def test_dropout_is_reproducible_by_seed_and_extremes_behave():
    xs = [1.0] * 30
    assert [v.data for v in Dropout(0.5, seed=4)(xs)] == [v.data for v in Dropout(0.5, seed=4)(xs)]
    assert [v.data for v in Dropout(0.0, seed=4)(xs)] == xs
    assert [v.data for v in Dropout(1.0, seed=4)(xs)] == [0.0] * 30
    assert Dropout(0.5, seed=0).eval()(Value(3.0)).data == 3.0


def test_an_mlp_with_dropout_differs_in_train_mode_only():
    plain, dropping = MLP(2, [32, 1], seed=3), MLP(2, [32, 1], dropout=0.5, seed=3)
    assert [p.data for p in plain.parameters()] == [p.data for p in dropping.parameters()]
    x = [0.4, -0.9]
    assert dropping.eval()(x).data == plain(x).data
    dropping.train()
    assert any(dropping(x).data != plain(x).data for _ in range(5))
    with no_grad():  # the float path drops too
        assert any(dropping(x).data != plain(x).data for _ in range(5))


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: MLP(0, [3]), ValueError),
        (lambda: MLP(2, []), ValueError),
        (lambda: MLP(2, [3, 0]), ValueError),
        (lambda: MLP(True, [3]), TypeError),
        (lambda: MLP(2, [3.0]), TypeError),
        (lambda: MLP(2, "3"), ValueError),
        (lambda: MLP(2, [3], activation="gelu"), ValueError),
        (lambda: MLP(2, [3], dropout=1.5), ValueError),
        (lambda: MLP(2, [3], seed="0"), TypeError),
        (lambda: Dropout(-0.1), ValueError),
        (lambda: Layer(2, 0), ValueError),
    ],
)
def test_bad_construction_arguments_raise_clear_errors(make, error):
    with pytest.raises(error):
        make()


@pytest.mark.parametrize(
    ("x", "error", "words"),
    [
        ([1.0], ValueError, "expects 2 inputs, got 1"),
        ([1.0, 2.0, 3.0], ValueError, "expects 2 inputs, got 3"),
        ([1.0, True], TypeError, "input 1 must be a number or a Value, got bool"),
        ([1.0, "2"], TypeError, "got str"),
        ("ab", TypeError, "got str"),
        (3.0, TypeError, "got float"),
    ],
)
def test_bad_inputs_raise_errors_naming_the_problem_and_change_nothing(x, error, words):
    model = MLP(2, [3, 1], seed=0)
    before = [(p.data, p.grad) for p in model.parameters()]
    for grad_mode in (True, False):
        with pytest.raises(error, match=words):
            if grad_mode:
                model(x)
            else:
                with no_grad():
                    model(x)
    assert [(p.data, p.grad) for p in model.parameters()] == before
    assert autograd.current_scope() is None
