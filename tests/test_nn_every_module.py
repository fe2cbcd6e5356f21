"""Every built-in module goes to PyTorch and back, to ONNX, and through its state dict: each describes its own parts.

Each also computes one function, with gradients, under no_grad (replayed) and compiled. The
convolutional modules take their own shapes of sample (channels first, as PyTorch's without the
batch); BatchNorm1d runs in eval mode, after a few training batches moved its running statistics.
"""

from __future__ import annotations

import random

import pytest

import autograd
import nn
from autograd import Value, no_grad
from nn import (
    MLP,
    RNN,
    AvgPool2d,
    BatchNorm1d,
    Conv1d,
    Conv2d,
    Dropout,
    Flatten,
    Layer,
    LayerNorm,
    MaxPool2d,
    Neuron,
    Residual,
    Sequential,
)
from nn.modules._replay import WARM_UP

pytestmark = pytest.mark.export

TOLERANCE = 1e-9
POINTS = [[0.5, -1.0], [0.25, 0.75], [-2.0, 0.125]]
SEQUENCE = [[0.5, -1.0], [0.25, 0.75], [-2.0, 0.125], [1.0, 0.0]]


def grids(shape: tuple[int, ...], count: int = 3, seed: int = 0) -> list:
    """`count` samples of nested lists of numbers of the given shape."""
    rng = random.Random(seed)

    def one(shape):
        return [rng.uniform(-2, 2) for _ in range(shape[0])] if len(shape) == 1 else [one(shape[1:]) for _ in
                                                                                     range(shape[0])]
    return [one(shape) for _ in range(count)]


def trained(model, shape: tuple[int, ...]):
    """model after three training batches (its BatchNorm1d's running statistics away from 0 and 1), in eval mode."""
    for seed in range(3):
        model.forward_batch(grids(shape, 4, seed=10 + seed))
    return model.eval()


# Each module, and the shape of one sample it takes (None: the RNN's sequences, or POINTS)
SHAPES = {
    "Conv1d": (2, 5), "Conv2d": (2, 4, 5), "MaxPool2d": (2, 4, 4), "AvgPool2d": (1, 5, 4), "Flatten": (2, 2, 3),
    "BatchNorm1d": (2,), "BatchNorm1d (N, C, L)": (2, 3), "CNN": (1, 6, 6), "Conv1d CNN": (2, 6),
}


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
        "Conv1d": Conv1d(2, 3, 2, stride=2, padding=1, activation="tanh", seed=0),
        "Conv2d": Conv2d(2, 2, (2, 3), stride=(2, 1), padding=(1, 0), seed=0),
        "MaxPool2d": MaxPool2d(2),
        "AvgPool2d": AvgPool2d((2, 1), stride=(1, 2)),
        "Flatten": Flatten(),
        "BatchNorm1d": trained(BatchNorm1d(2, eps=1e-3, momentum=0.3), SHAPES["BatchNorm1d"]),
        "BatchNorm1d (N, C, L)": trained(BatchNorm1d(2), SHAPES["BatchNorm1d (N, C, L)"]),
        "CNN": trained(Sequential(Conv2d(1, 3, 3, padding=1, activation="relu", seed=0), MaxPool2d(2),
                                  Conv2d(3, 2, 2, seed=1), AvgPool2d((1, 2)), Flatten(), Layer(4, 4, "tanh", seed=2),
                                  BatchNorm1d(4), Layer(4, 2, "linear", seed=3)), SHAPES["CNN"]),
        "Conv1d CNN": trained(Sequential(Conv1d(2, 3, 3, padding=1, seed=0), BatchNorm1d(3), Flatten(),
                                         Layer(18, 2, "sigmoid", seed=1)), SHAPES["Conv1d CNN"]),
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


def nested_values(sample):
    """The sample with a Value for every number, in the same nesting."""
    return [nested_values(x) for x in sample] if isinstance(sample, list) else Value(sample)


def samples(name: str) -> list:
    """The samples a module is checked on: sequences of different lengths for an RNN, nested lists for the
    convolutional modules, POINTS for the rest."""
    if name.startswith("RNN"):
        return [SEQUENCE, SEQUENCE[:2]]
    return grids(SHAPES[name]) if name in SHAPES else POINTS


def close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= TOLERANCE * max(1.0, abs(y)) for x, y in zip(a, b))


@pytest.mark.parametrize("name", MODULES)
def test_to_torch_computes_the_same_outputs_and_every_gradient_in_float64(torch, name):
    model = every_module()[name].eval()
    net = nn.to_torch(model)
    assert not net.training
    for sample in samples(name):
        shaped = nested_values(sample)
        inputs = flat_values(shaped)
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
    back = nn.from_torch(nn.to_torch(model)).eval()
    assert sorted(p.data for p in back.parameters()) == sorted(p.data for p in model.parameters())
    for sample in samples(name):
        assert close(flat(back(sample)), flat(model(sample)))


@pytest.mark.parametrize("name", MODULES)
def test_onnxruntime_computes_the_same_outputs_in_float64(tmp_path, name):
    onnxruntime = pytest.importorskip("onnxruntime")
    np = pytest.importorskip("numpy")
    model = every_module()[name].eval()
    rnn = isinstance(model, RNN)
    batch = [SEQUENCE, SEQUENCE[::-1]] if rnn else samples(name)  # an RNN: sequences of 4 steps
    nn.export_onnx(model, tmp_path / "m.onnx", sequence_length=4 if rnn else None, input_shape=SHAPES.get(name))
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
    assert fresh.state_dict() == model.state_dict()  # the buffers too


@pytest.mark.parametrize("name", MODULES)
def test_every_module_saves_and_loads_computing_the_same(tmp_path, name):
    model = every_module()[name].eval()
    nn.save(model, tmp_path / "m.json")
    back = nn.load(tmp_path / "m.json").eval()
    assert type(back) is type(model) and repr(back) == repr(model)
    assert [p.data for p in back.parameters()] == [p.data for p in model.parameters()]
    assert back.state_dict() == model.state_dict()
    for sample in samples(name):
        assert flat(back(sample)) == flat(model(sample))


@pytest.mark.parametrize("name", MODULES)
def test_every_module_computes_one_function_with_gradients_under_no_grad_and_compiled(name):
    model = every_module()[name].eval()
    with_gradients = [flat(model(sample)) for sample in samples(name)]
    with no_grad():
        for _ in range(WARM_UP + 2):  # past the calls after which a module may be replayed compiled
            assert [flat(model(sample)) for sample in samples(name)] == with_gradients
    # it was the compiled program that ran, except with a BatchNorm1d: its running statistics are
    # no parameters, so no input of a program, and it runs as it is
    replayed = any(p.fast is not None for p in model.__dict__.get("_programs", {}).values())
    assert replayed != any(isinstance(m, BatchNorm1d) for m in model.modules())
    for sample, expected in zip(samples(name), with_gradients):
        numbers = flat_values(nested_values(sample))

        def forward(*leaves: Value, sample=sample) -> tuple[Value, ...]:
            it = iter(leaves)
            return tuple(flat_values(model(_refill(sample, it))))

        fast = autograd.compile(forward, *[v.data for v in numbers])
        assert list(fast(*[v.data for v in numbers])) == expected


def _refill(sample, leaves):
    return [_refill(x, leaves) for x in sample] if isinstance(sample, list) else next(leaves)


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
    import copy

    model = every_module()[name].eval()
    huge = copy.deepcopy(samples(name)[0])
    numbers = huge
    while isinstance(numbers[0], list):  # the number at [0]...[0][1]
        numbers = numbers[0]
    numbers[1] = 10**400
    for _ in range(2):
        with pytest.raises(ValueError, match=r"input (1|(\[0\])*\[1\]) is too large for a float"):
            model(huge)
        with no_grad(), pytest.raises(ValueError, match=r"input (1|(\[0\])*\[1\]) is too large for a float"):
            model(huge)
