"""Every built-in module goes to PyTorch and back, to ONNX, and through its state dict: each describes its own parts."""

from __future__ import annotations

import pytest

import nn
from autograd import Value
from nn import MLP, RNN, Dropout, Layer, LayerNorm, Neuron, Residual, Sequential

pytestmark = pytest.mark.export

TOLERANCE = 1e-9
POINTS = [[0.5, -1.0], [0.25, 0.75], [-2.0, 0.125]]
SEQUENCE = [[0.5, -1.0], [0.25, 0.75], [-2.0, 0.125], [1.0, 0.0]]


def every_module():
    return {
        "Neuron": Neuron(2, "tanh", seed=0),
        "Layer": Layer(2, 3, "softplus", seed=0),
        "MLP": MLP(2, [4, 4, 2], activation="leaky_relu", dropout=0.2, seed=0),
        "LayerNorm": LayerNorm(2, eps=1e-3),
        "Residual": Residual(Layer(2, 2, "sigmoid", seed=0)),
        "Sequential": Sequential(Layer(2, 3, "relu", seed=0), Dropout(0.3, seed=1),
                                 Residual(Sequential(Layer(3, 3, "tanh", seed=2), LayerNorm(3))),
                                 Layer(3, 2, "linear", seed=3)),
        "RNN": RNN(2, 3, seed=0),
        "RNN relu": RNN(2, 3, activation="relu", seed=1),
    }


MODULES = list(every_module())


def flat(output) -> list[float]:
    if isinstance(output, Value):
        return [output.data]
    return [x for o in output for x in flat(o)]


def flat_values(output) -> list[Value]:
    if isinstance(output, Value):
        return [output]
    return [v for o in output for v in flat_values(o)]


def samples(model):
    return [SEQUENCE, SEQUENCE[:2]] if isinstance(model, RNN) else POINTS


def close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= TOLERANCE * max(1.0, abs(y)) for x, y in zip(a, b))


@pytest.mark.parametrize("name", MODULES)
def test_to_torch_computes_the_same_outputs_and_every_gradient_in_float64(torch, name):
    model = every_module()[name].eval()
    net = nn.to_torch(model)
    assert not net.training
    for sample in samples(model):
        inputs = [Value(x) for x in (sum(sample, []) if isinstance(model, RNN) else sample)]
        shaped = [inputs[i : i + 2] for i in range(0, len(inputs), 2)] if isinstance(model, RNN) else inputs
        outputs = flat_values(model(shaped))
        weights = [0.5 + 0.25 * k for k in range(len(outputs))]  # a loss that reaches every output differently
        model.zero_grad()
        sum(w * o for w, o in zip(weights, outputs)).backward()

        x = torch.tensor([sample], dtype=torch.float64, requires_grad=True)
        net.zero_grad()
        out = net(x).reshape(-1)
        (out * torch.tensor(weights, dtype=torch.float64)).sum().backward()
        assert close([o.data for o in outputs], out.tolist())
        assert close([v.grad for v in inputs], x.grad.reshape(-1).tolist())
        # the gradients as a network: a copy of the model holding them where its weights were
        grads = nn.to_torch(_holding_gradients(model)).state_dict()
        for key, p in net.named_parameters():
            expected = grads[key] if not key.endswith("bias_hh_l0") else grads[key.replace("_hh_", "_ih_")]
            assert close(p.grad.reshape(-1).tolist(), expected.reshape(-1).tolist()), key


def _holding_gradients(model):
    import copy

    twin = copy.deepcopy(model)
    for p, q in zip(twin.parameters(), model.parameters()):
        p.data = q.grad
    return twin


@pytest.mark.parametrize("name", MODULES)
def test_from_torch_of_to_torch_computes_the_same_function_with_the_same_weights(torch, name):
    model = every_module()[name].eval()
    back = nn.from_torch(nn.to_torch(model))
    assert sorted(p.data for p in back.parameters()) == sorted(p.data for p in model.parameters())
    for sample in samples(model):
        assert close(flat(back(sample)), flat(model(sample)))


@pytest.mark.parametrize("name", MODULES)
def test_onnxruntime_computes_the_same_outputs_in_float64(tmp_path, name):
    onnxruntime = pytest.importorskip("onnxruntime")
    np = pytest.importorskip("numpy")
    model = every_module()[name].eval()
    batch = [SEQUENCE, SEQUENCE[::-1]] if isinstance(model, RNN) else POINTS  # an RNN: sequences of 4 steps
    nn.export_onnx(model, tmp_path / "m.onnx", sequence_length=4 if isinstance(model, RNN) else None)
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    got = session.run(None, {"input": np.array(batch, dtype=np.float64)})[0]
    assert close(got.reshape(-1).tolist(), [x for sample in batch for x in flat(model(sample))])


@pytest.mark.parametrize("name", MODULES)
def test_the_state_dict_goes_into_a_fresh_module_of_the_same_kind(name):
    model, fresh = every_module()[name], every_module()[name]
    for p in fresh.parameters():
        p.data = 0.0
    fresh.load_state_dict(model.state_dict())
    assert [p.data for p in fresh.parameters()] == [p.data for p in model.parameters()]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_saves_and_loads_computing_the_same(tmp_path, name):
    model = every_module()[name].eval()
    nn.save(model, tmp_path / "m.json")
    back = nn.load(tmp_path / "m.json").eval()
    assert type(back) is type(model) and repr(back) == repr(model)
    assert [p.data for p in back.parameters()] == [p.data for p in model.parameters()]
    for sample in samples(model):
        assert flat(back(sample)) == flat(model(sample))


@pytest.mark.parametrize("claim, words", [
    ({"type": "Layer", "config": {"nin": 10**7, "nout": 1, "activation": "relu"}, "parts": []},
     "config.nin must be an int in"),
    ({"type": "Layer", "config": {"nin": 10**6, "nout": 10**6, "activation": "relu"}, "parts": []},
     "the model makes 1000001000000 parameters; a model file holds at most 2000000"),
    ({"type": "Layer", "config": {"nin": 1000, "nout": 1000, "activation": "relu"}, "parts": []},
     "the model makes 1001000 parameters, but the state holds 0 numbers"),
    ({"type": "Sequential", "config": {}, "parts": [{"type": "os.system", "config": {}, "parts": []}]},
     r"model.parts\[0\].type must be one of"),
    ({"type": "LayerNorm", "config": {"n": 2, "eps": 0.1, "extra": 1}, "parts": []}, "model.config must be"),
])
def test_a_file_claiming_more_than_it_holds_is_refused_before_anything_is_built(tmp_path, claim, words):
    import json

    path = tmp_path / "m.json"
    state = {"weight": [1.0, 1.0], "bias": [0.0, 0.0]} if claim["type"] == "LayerNorm" else {}
    path.write_text(json.dumps({"format": "chainrule.nn", "version": 2, "type": claim["type"], "model": claim,
                                "state": state}))
    with pytest.raises(ValueError, match=words):
        nn.load(path)


@pytest.mark.parametrize("name", MODULES)
def test_an_input_too_large_for_a_float_is_one_value_error_with_and_without_gradients(name):
    from autograd import no_grad

    model = every_module()[name].eval()
    huge = [[0.5, 10**400]] if isinstance(model, RNN) else [0.5, 10**400]
    for _ in range(2):
        with pytest.raises(ValueError, match="input 1 is too large for a float"):
            model(huge)
        with no_grad(), pytest.raises(ValueError, match="input 1 is too large for a float"):
            model(huge)
