"""Forward hooks: Module.register_forward_hook with PyTorch's meaning, and models that copy and pickle, also in fit."""

from __future__ import annotations

import copy
import pickle

import pytest

from autograd import Value
from nn import (
    MLP,
    RNN,
    SGD,
    Callback,
    Dropout,
    Layer,
    LayerNorm,
    Neuron,
    Residual,
    Sequential,
    fit,
    hinge_loss,
    make_moons,
)

pytestmark = pytest.mark.nn


def every_model():
    return [
        Neuron(2, "tanh", seed=0),
        Layer(2, 3, "sigmoid", seed=0),
        MLP(2, [4, 4, 1], activation="leaky_relu", dropout=0.1, seed=0),
        Sequential(Layer(2, 3, seed=0), Dropout(0.2, seed=1), Residual(Layer(3, 3, "tanh", seed=2)), LayerNorm(3)),
        RNN(2, 3, seed=0),
    ]


def record(log, name):
    def hook(module, inputs, output):
        log.append((name, type(module).__name__, inputs, output))

    return hook


def test_a_hook_sees_the_module_its_inputs_and_its_output_after_each_call():
    layer = Layer(2, 3, seed=0)
    log = []
    layer.register_forward_hook(record(log, "a"))
    x = [Value(0.5), Value(-1.0)]
    out = layer(x)
    assert log == [("a", "Layer", (x,), out)]


def test_hooks_run_in_the_order_they_were_registered_and_inner_modules_first():
    model = MLP(2, [3, 1], seed=0)
    log = []
    model.register_forward_hook(record(log, "model"))
    model.layers[0].register_forward_hook(record(log, "first"))
    model.layers[0].register_forward_hook(record(log, "first again"))
    model.layers[1].register_forward_hook(record(log, "second"))
    model([0.5, -1.0])
    assert [entry[0] for entry in log] == ["first", "first again", "second", "model"]


def test_a_removed_hook_is_not_called_again_and_removing_twice_is_harmless():
    layer = Layer(2, 3, seed=0)
    log = []
    handle = layer.register_forward_hook(record(log, "a"))
    layer.register_forward_hook(record(log, "b"))
    layer([0.5, -1.0])
    handle.remove()
    handle.remove()
    layer([0.5, -1.0])
    assert [entry[0] for entry in log] == ["a", "b", "b"]


def test_a_hook_returning_something_replaces_the_output():
    neuron = Neuron(2, "linear", seed=0)
    neuron.register_forward_hook(lambda module, inputs, output: output * 2)
    plain = Neuron(2, "linear", seed=0)
    assert neuron([0.5, -1.0]).data == 2 * plain([0.5, -1.0]).data


def test_a_hook_must_be_callable():
    with pytest.raises(TypeError, match="register_forward_hook: hook must be a function"):
        Layer(2, 3, seed=0).register_forward_hook(42)


def _hook_that_counts(module, inputs, output):  # module level: pickle finds it by name
    module.calls = getattr(module, "calls", 0) + 1


@pytest.mark.parametrize("model", every_model(), ids=lambda m: type(m).__name__)
def test_every_model_deep_copies_and_pickles_with_its_hooks(model):
    model.eval()
    model.register_forward_hook(_hook_that_counts)
    x = [[0.5, -1.0], [0.25, 0.75]] if isinstance(model, RNN) else [0.5, -1.0]
    expected = _numbers(model(x))
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert _numbers(twin(x)) == expected
        assert twin.calls == model.calls + 1  # its own hook, on its own module
        assert [p.data for p in twin.parameters()] == [p.data for p in model.parameters()]
        assert all(a is not b for a, b in zip(twin.parameters(), model.parameters()))


def _numbers(output):
    if isinstance(output, Value):
        return output.data
    return [_numbers(o) for o in output]


def test_diagnostics_while_a_callback_deep_copies_and_pickles_the_model():
    X, y = make_moons(30, noise=0.1, seed=0)
    model = MLP(2, [4, 1], seed=0)
    copies = []

    class KeepCopies(Callback):
        def on_step_end(self, run):
            copies.append(copy.deepcopy(run.model))
            copies.append(pickle.loads(pickle.dumps(run.model)))

    history = fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.1), epochs=2, diagnostics=True,
                  callbacks=[KeepCopies()], progress=False)
    assert len(history.layer_stats) == 2
    assert all(not layer.__dict__.get("_forward_hooks") for layer in model.layers)  # fit's hooks are gone
    for twin in copies:
        assert all(not layer.__dict__.get("_forward_hooks") for layer in twin.layers)  # none came along
    again = fit(copies[0], X, y, hinge_loss, SGD(copies[0].parameters(), lr=0.1), epochs=1, diagnostics=True,
                progress=False)  # a copy trains with diagnostics again
    assert len(again.layer_stats) == 1
    # the first copy holds the weights after the first step, and computes with them
    fresh = MLP(2, [4, 1], seed=1)
    fresh.load_state_dict(copies[1].state_dict())
    assert fresh([0.3, -0.7]).data == copies[1]([0.3, -0.7]).data != model([0.3, -0.7]).data


def test_diagnostics_replace_no_method_on_any_layer():
    X, y = make_moons(20, noise=0.1, seed=0)
    model = MLP(2, [4, 1], seed=0)
    before = [set(vars(layer)) for layer in model.layers]
    seen = []

    class Look(Callback):
        def on_batch_end(self, run):
            seen.append([set(vars(layer)) - {"_forward_hooks", "training"} for layer in run.model.layers])
            seen.append([list(layer._forward_hooks.values()) for layer in run.model.layers])

    fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.1), epochs=1, diagnostics=True, callbacks=[Look()],
        progress=False)
    assert seen[0] == before  # no attribute added but the hooks (and the mode fit sets)
    assert all(len(hooks) == 1 for hooks in seen[1])  # one hook per layer while fit records


def test_a_built_in_op_pickles_by_name_and_comes_back_as_itself():
    from autograd import OPS

    for op in OPS.values():
        assert pickle.loads(pickle.dumps(op)) is op
        assert copy.deepcopy(op) is op
