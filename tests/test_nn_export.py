"""The way out: nn.to_torch / nn.from_torch, nn.export_onnx and `chainrule export`, with outputs proven equal.

For every activation and several shapes (width-1 layers included) the PyTorch copy computes the
chainrule model's outputs and a loss's gradients for every parameter to 1e-12; the way back
gives the very same floats; the ONNX file passes onnx.checker and onnxruntime runs it to the
same outputs. Without PyTorch or onnx, each function says which extra to install.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nn
from autograd import Value
from nn import MLP, Layer, Neuron
from nn import export_cli as chainrule_export
from nn.cli import main as chainrule

pytestmark = pytest.mark.export

PROJECT = Path(__file__).resolve().parent.parent
ACTIVATIONS = list(nn.ACTIVATIONS)  # every activation there is, so a new one is checked the day it is added
SHAPES = [(1, [1]), (1, [1, 1, 1]), (2, [16, 16, 1]), (3, [5, 1, 4]), (4, [2, 3])]
TOL = 1e-12


def points(nin: int, n: int = 25, seed: int = 0) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.gauss(0.0, 2.0) for _ in range(nin)] for _ in range(n)]


def chainrule_outputs(model, xs) -> list[list[float]]:
    rows = []
    for x in xs:
        out = model(x)
        rows.append([v.data for v in out] if isinstance(out, list) else [out.data])
    return rows


def linears(torch, net) -> list:
    return [m for m in net if isinstance(m, torch.nn.Linear)]


def hexes(model) -> list[str]:
    return [p.data.hex() for p in model.parameters()]


def close(a: list[list[float]], b: list[list[float]], tol: float = TOL) -> bool:
    """The rows a and b have the same shape and agree to tol (relative above 1, absolute below)."""
    if [len(row) for row in a] != [len(row) for row in b]:
        return False
    return all(abs(x - y) <= tol * max(1.0, abs(y)) for ra, rb in zip(a, b) for x, y in zip(ra, rb))


# ---- to_torch: the same outputs and the same gradients ----------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{nin}-{'-'.join(map(str, nouts))}" for nin, nouts in SHAPES])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_to_torch_computes_the_same_outputs(torch, activation, shape):
    nin, nouts = shape
    model = MLP(nin, nouts, activation=activation, seed=3)
    net = nn.to_torch(model)
    xs = points(nin)
    assert close(net(torch.tensor(xs, dtype=torch.float64)).tolist(), chainrule_outputs(model, xs))


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{nin}-{'-'.join(map(str, nouts))}" for nin, nouts in SHAPES])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_to_torch_gives_the_same_gradient_for_every_parameter(torch, activation, shape):
    nin, nouts = shape
    model = MLP(nin, nouts, activation=activation, seed=4)
    net = nn.to_torch(model)
    xs, rng = points(nin, n=12, seed=1), random.Random(2)
    targets = [[rng.gauss(0.0, 1.0) for _ in range(nouts[-1])] for _ in xs]

    # the same loss on both sides: the mean over the batch of the squared errors, summed over outputs
    loss = Value(0.0)
    for x, t in zip(xs, targets):
        out = model(x)
        outs = out if isinstance(out, list) else [out]
        loss = loss + sum(((o - ti) ** 2 for o, ti in zip(outs, t)), Value(0.0))
    loss = loss / len(xs)
    model.zero_grad()
    loss.backward()
    torch_loss = ((net(torch.tensor(xs)) - torch.tensor(targets)) ** 2).sum(dim=1).mean()
    torch_loss.backward()

    assert torch_loss.item() == pytest.approx(loss.data, rel=TOL, abs=TOL)
    for i, (layer, lin) in enumerate(zip(model.layers, linears(torch, net))):
        weight_grads = [[w.grad for w in n.w] for n in layer.neurons]
        assert close(lin.weight.grad.tolist(), weight_grads), f"layer {i} weight"
        assert close([lin.bias.grad.tolist()], [[n.b.grad for n in layer.neurons]]), f"layer {i} bias"


def test_the_gradient_check_fails_for_a_wrong_weight(torch):
    # the comparison above is not vacuous: one weight off by 1e-9 is caught
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    net = nn.to_torch(model)
    with torch.no_grad():
        net[0].weight[1, 0] += 1e-9
    xs = points(2)
    assert not close(net(torch.tensor(xs)).tolist(), chainrule_outputs(model, xs))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_a_layer_and_a_neuron_become_a_linear_and_their_activation(torch, activation):
    layer, neuron = Layer(3, 4, activation=activation, seed=0), Neuron(3, activation=activation, seed=1)
    xs = points(3)
    for module in (layer, neuron):
        net = nn.to_torch(module)
        kinds = [type(m).__name__ for m in net]
        assert kinds[0] == "Linear" and len(kinds) == (1 if activation == "linear" else 2)
        assert close(net(torch.tensor(xs)).tolist(), chainrule_outputs(module, xs))


def test_the_sequential_is_linear_activation_dropout_in_order(torch):
    net = nn.to_torch(MLP(2, [4, 3, 1], activation="leaky_relu", dropout=0.25, seed=0))
    assert [type(m).__name__ for m in net] == ["Linear", "LeakyReLU", "Dropout", "Linear", "LeakyReLU", "Dropout",
                                               "Linear"]
    assert net[1].negative_slope == 0.01 and net[2].p == 0.25
    assert [(m.in_features, m.out_features) for m in linears(torch, net)] == [(2, 4), (4, 3), (3, 1)]


def test_train_and_eval_mode_carry_over_and_dropout_is_off_in_eval(torch):
    model = MLP(2, [8, 1], dropout=0.5, seed=0)
    assert nn.to_torch(model).training is True
    model.eval()
    net = nn.to_torch(model)
    assert net.training is False
    xs = points(2)
    assert close(net(torch.tensor(xs)).tolist(), chainrule_outputs(model, xs))
    assert nn.from_torch(net).training is False and nn.from_torch(net.train()).training is True


def test_float32_on_request(torch):
    model = MLP(2, [5, 1], activation="tanh", seed=0)
    net = nn.to_torch(model, dtype=torch.float32)
    assert {p.dtype for p in net.parameters()} == {torch.float32}
    xs = points(2)
    got = net(torch.tensor(xs, dtype=torch.float32)).tolist()
    assert close(got, chainrule_outputs(model, xs), tol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "int64", 32])
def test_a_dtype_that_is_not_a_floating_torch_dtype_is_a_type_error(torch, dtype):
    dtype = torch.int64 if dtype == "int64" else dtype
    with pytest.raises(TypeError, match="dtype must be a floating-point torch dtype"):
        nn.to_torch(MLP(1, [1], seed=0), dtype=dtype)


def test_a_weight_too_large_for_float32_is_refused_rather_than_made_infinite(torch):
    model = MLP(2, [3, 1], seed=0)
    model.layers[1].neurons[0].b.data = 1e300
    with pytest.raises(ValueError, match="to_torch: the model has a weight too large for torch.float32"):
        nn.to_torch(model, dtype=torch.float32)
    assert nn.to_torch(model)[2].bias.item() == 1e300  # float64 holds it


def test_the_copy_is_independent_and_torch_random_state_is_untouched(torch):
    model = MLP(2, [3, 1], seed=0)
    before, rng = hexes(model), torch.random.get_rng_state()
    net = nn.to_torch(model)
    assert torch.equal(torch.random.get_rng_state(), rng)
    with torch.no_grad():
        net[0].weight.add_(1.0)
    assert hexes(model) == before


class Doubled(nn.Module):
    """A module of one's own: its forward is its own, so it says nothing of standard layers."""

    def forward(self, x):
        return [2 * v for v in x]


def test_a_module_of_your_own_does_not_convert(torch):
    with pytest.raises(TypeError, match="to_torch: Doubled is not made of standard layers"):
        nn.to_torch(Doubled())
    with pytest.raises(TypeError, match="to_torch: Doubled is not made of standard layers"):
        nn.to_torch(nn.Sequential(nn.Layer(2, 2, seed=0), Doubled()))


def test_an_activation_without_a_torch_counterpart_is_named(torch):
    model = MLP(2, [3, 1], seed=0)
    model.layers[0].activation = "softsign"  # as if nn.ACTIVATIONS had gained one the bridge does not know
    with pytest.raises(ValueError, match="to_torch: the activation 'softsign' has no PyTorch counterpart"):
        nn.to_torch(model)


# ---- from_torch: back with the same floats ----------------------------------------------------


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{nin}-{'-'.join(map(str, nouts))}" for nin, nouts in SHAPES])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_from_torch_of_to_torch_gives_back_bit_identical_weights(torch, activation, shape, dropout):
    nin, nouts = shape
    model = MLP(nin, nouts, activation=activation, dropout=dropout, seed=5)
    back = nn.from_torch(nn.to_torch(model))
    assert type(back) is MLP and (back.nin, back.nouts) == (nin, nouts)
    assert hexes(back) == hexes(model)
    if len(nouts) > 1:  # with no hidden layer there is no activation or dropout to carry over
        assert (back.activation, back.dropout) == (activation, dropout)
    xs = points(nin, n=5)
    assert chainrule_outputs(back.eval(), xs) == chainrule_outputs(model.eval(), xs)


def test_from_torch_reads_a_hand_written_float32_sequential(torch):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).float()
    model = nn.from_torch(net)
    assert repr(model) == "MLP(3 -> 6 -> 2, activation='tanh', parameters=38)"
    assert model.state_dict() == {k: v.tolist() for k, v in
                                  {"layers.0.weight": net[0].weight, "layers.0.bias": net[0].bias,
                                   "layers.1.weight": net[2].weight, "layers.1.bias": net[2].bias}.items()}
    xs = points(3)
    assert close(net(torch.tensor(xs, dtype=torch.float32)).tolist(), chainrule_outputs(model, xs), tol=1e-5)


def test_from_torch_reads_a_single_linear(torch):
    lin = torch.nn.Linear(2, 3, dtype=torch.float64)
    model = nn.from_torch(lin)
    assert model.nouts == [3]
    assert model.state_dict()["layers.0.weight"] == lin.weight.tolist()


def T(torch, *names):
    """A Sequential from short names: L2x3 is Linear(2, 3); the rest are torch.nn class names."""
    modules = []
    for name in names:
        if re.fullmatch(r"L\d+x\d+", name):
            nin, nout = map(int, name[1:].split("x"))
            modules.append(torch.nn.Linear(nin, nout))
        elif name == "NoBias":
            modules.append(torch.nn.Linear(3, 1, bias=False))
        elif name.startswith("LeakyReLU"):
            modules.append(torch.nn.LeakyReLU(float(name.split(":")[1])))
        elif name.startswith("Softplus:"):
            beta, threshold = map(float, name.split(":")[1:])
            modules.append(torch.nn.Softplus(beta, threshold))
        elif name.startswith("Dropout"):
            modules.append(torch.nn.Dropout(float(name.split(":")[1])))
        else:
            modules.append(getattr(torch.nn, name)())
    return torch.nn.Sequential(*modules)


UNSUPPORTED = [
    (["L2x3", "ReLU", "L3x1", "Sigmoid"], r"layer 3 \(Sigmoid\) follows the last Linear"),
    (["L2x3", "ReLU", "L3x1", "Dropout:0.1"], r"layer 3 \(Dropout\) follows the last Linear"),
    (["L2x3", "GELU", "L3x1"], r"layer 1 \(GELU\) has no chainrule counterpart"),
    (["L2x3", "ReLU", "Identity", "L3x1"], r"layer 2 \(Identity\) has no chainrule counterpart"),
    (["ReLU", "L2x3"], r"layer 0 \(ReLU\) cannot come here"),
    (["L2x3", "ReLU", "ReLU", "L3x1"], r"layer 2 \(ReLU\) cannot come here"),
    (["L2x3", "Dropout:0.1", "ReLU", "L3x1"], r"layer 2 \(ReLU\) cannot come here"),
    (["L2x3", "LeakyReLU:0.2", "L3x1"], r"layer 1 \(LeakyReLU\) has negative_slope=0.2"),
    (["L2x3", "Softplus", "L3x1"], r"layer 1 \(Softplus\) has threshold=20.0: PyTorch gives x itself above it"),
    (["L2x3", "Softplus:1:1", "L3x1"], r"layer 1 \(Softplus\) has threshold=1"),
    (["L2x3", "Softplus:2:700", "L3x1"], r"layer 1 \(Softplus\) has beta=2"),
    (["L2x3", "Softplus:1:nan", "L3x1"], r"layer 1 \(Softplus\) has threshold=nan"),
    (["L2x3", "Softplus:1:inf", "L3x1"], r"has threshold=inf: below it PyTorch computes .*, which overflows"),
    (["L2x3", "ReLU", "L3x3", "Tanh", "L3x1"], r"ReLU\(\) \(layer 1\) .* Tanh\(\) \(layer 3\)"),
    (["L2x3", "ReLU", "L3x3", "L3x1"], r"ReLU\(\) \(layer 1\) .* none after the one at layer 2"),
    (["L2x3", "ReLU", "Dropout:0.1", "L3x3", "ReLU", "Dropout:0.2", "L3x1"], r"\(layer 2\) .*p=0.2.* \(layer 5\)"),
    (["L2x3", "L4x1"], r"layer 1 \(Linear\) takes 4 inputs but the layer before it gives 3"),
    (["NoBias"], r"layer 0 \(Linear\) has no bias"),
    ([], "the Sequential is empty"),
]


@pytest.mark.parametrize(("names", "message"), UNSUPPORTED, ids=[" ".join(n) or "empty" for n, _ in UNSUPPORTED])
def test_from_torch_names_the_layer_it_cannot_convert(torch, names, message):
    with pytest.raises(ValueError, match=f"from_torch: .*{message}"):
        nn.from_torch(T(torch, *names))


def test_every_activation_from_torch_accepts_computes_exactly_what_torch_computes(torch):
    # at the points where the options would matter: a Softplus of threshold t is x itself above t
    xs = [-50.0, -2.0, -1e-3, 0.0, 1e-3, 2.0, 20.5, 30.0, 33.2, 33.3, 40.0, 700.0, 800.0]
    accepted = [torch.nn.ReLU(inplace=True), torch.nn.Tanh(), torch.nn.Sigmoid(), torch.nn.LeakyReLU(0.01, True),
                torch.nn.Softplus(1.0, 34.0), torch.nn.Softplus(threshold=700.0), torch.nn.Softplus(threshold=709.0)]
    for act in accepted:
        net = torch.nn.Sequential(torch.nn.Linear(1, 1), act, torch.nn.Linear(1, 1)).double().eval()
        with torch.no_grad():
            for lin in (net[0], net[2]):
                lin.weight.fill_(1.0)
                lin.bias.fill_(0.0)
        model = nn.from_torch(net)
        expected = net(torch.tensor([[x] for x in xs], dtype=torch.float64)).flatten().tolist()
        got = [model([x]).data for x in xs]
        assert got == pytest.approx(expected, rel=1e-15, abs=1e-300), repr(act)


def test_from_torch_needs_a_sequential_or_a_linear(torch):
    with pytest.raises(TypeError, match="from_torch: needs a torch.nn.Sequential .* got ReLU"):
        nn.from_torch(torch.nn.ReLU())


def test_from_torch_refuses_a_nan_weight_naming_it(torch):
    net = T(torch, "L2x3", "Tanh", "L3x1")
    with torch.no_grad():
        net[2].weight[0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"from_torch: '2.weight'\[0\]\[1\] must be a finite real number"):
        nn.from_torch(net)


# ---- state_dict meets PyTorch -----------------------------------------------------------------


def torch_mlp_class(torch):
    class TorchMLP(torch.nn.Module):
        """The PyTorch model a user would write for MLP(nin, nouts): a ModuleList named `layers`."""

        def __init__(self, nin, nouts, activation):
            super().__init__()
            sizes = [nin, *nouts]
            self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
            self.activation = activation

        def forward(self, x):
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i < len(self.layers) - 1:
                    x = self.activation(x)
            return x

    return TorchMLP


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_a_state_dict_survives_pytorch_load_state_dict_strict_and_back(torch, activation):
    model = MLP(3, [4, 1, 2], activation=activation, seed=0)
    torch_model = torch_mlp_class(torch)(3, [4, 1, 2], getattr(torch, activation)).double()
    result = torch_model.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()}, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    xs = points(3)
    assert close(torch_model(torch.tensor(xs)).tolist(), chainrule_outputs(model, xs))

    with torch.no_grad():  # PyTorch changes the weights; they come back as they are
        for p in torch_model.parameters():
            p.mul_(1.5).add_(0.25)
    back = MLP(3, [4, 1, 2], activation=activation, seed=1)
    assert repr(back.load_state_dict(torch_model.state_dict(), strict=True)) == "<All keys matched successfully>"
    assert back.state_dict() == {k: v.tolist() for k, v in torch_model.state_dict().items()}
    assert close(torch_model(torch.tensor(xs)).tolist(), chainrule_outputs(back, xs))


def test_a_layer_state_dict_loads_into_a_torch_linear_and_a_neuron_into_linear_n_1(torch):
    layer, neuron = Layer(3, 2, activation="linear", seed=0), Neuron(3, activation="linear", seed=1)
    for module, nout in ((layer, 2), (neuron, 1)):
        lin = torch.nn.Linear(3, nout, dtype=torch.float64)
        lin.load_state_dict({k: torch.tensor(v) for k, v in module.state_dict().items()}, strict=True)
        xs = points(3)
        assert close(lin(torch.tensor(xs)).tolist(), chainrule_outputs(module, xs))
        fresh = type(module)(3, 2, activation="linear") if nout == 2 else Neuron(3, activation="linear")
        fresh.load_state_dict(lin.state_dict())
        assert hexes(fresh) == hexes(module)


def test_load_state_dict_takes_the_state_of_the_to_torch_sequential(torch):
    source = MLP(2, [4, 4, 1], activation="sigmoid", dropout=0.1, seed=0)
    state = nn.to_torch(source).state_dict()
    assert list(state) == ["0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"]
    target = MLP(2, [4, 4, 1], activation="sigmoid", dropout=0.1, seed=9)
    target.load_state_dict(state)
    assert hexes(target) == hexes(source)
    state["3.weight"] = state["3.weight"][:2]
    with pytest.raises(ValueError, match=r"'3.weight' must have shape \(4, 4\)"):
        target.load_state_dict(state)


def test_load_state_dict_refuses_a_bool_or_nan_tensor(torch):
    neuron = Neuron(2, seed=0)
    before = hexes(neuron)
    with pytest.raises(ValueError, match=r"'weight'\[0\]\[0\] must be a finite real number, got bool True"):
        neuron.load_state_dict({"weight": torch.tensor([[True, False]]), "bias": torch.tensor([0.5])})
    with pytest.raises(ValueError, match=r"'bias'\[0\] must be a finite real number, got nan"):
        neuron.load_state_dict({"weight": torch.tensor([[1.0, 2.0]]), "bias": torch.tensor([float("nan")])})
    assert hexes(neuron) == before


# ---- without PyTorch or onnx ------------------------------------------------------------------


def test_without_torch_the_error_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails as if it were not installed
    model = MLP(2, [3, 1], seed=0)
    for call in (lambda: nn.to_torch(model), lambda: nn.from_torch(object())):
        with pytest.raises(ModuleNotFoundError, match=r"needs PyTorch, which is not installed: "
                                                      r"pip install 'chainrule\[torch\]'"):
            call()
    model.state_dict()  # state dicts need no PyTorch
    model.load_state_dict(model.state_dict())


def test_without_onnx_the_error_says_which_extra_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'chainrule\[onnx\]'"):
        nn.export_onnx(MLP(2, [3, 1], seed=0), tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())


# ---- export_onnx ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx():
    import onnx

    return onnx


@pytest.fixture(scope="module")
def ort():
    import onnxruntime

    return onnxruntime


def run_onnx(ort, path, xs, dtype="float64"):
    import numpy as np

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": np.array(xs, dtype=dtype)})[0].tolist()


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{nin}-{'-'.join(map(str, nouts))}" for nin, nouts in SHAPES])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_onnx_file_passes_the_checker_and_runs_to_the_same_outputs(onnx, ort, tmp_path, activation, shape):
    nin, nouts = shape
    model = MLP(nin, nouts, activation=activation, seed=6)
    path = tmp_path / "model.onnx"
    nn.export_onnx(model, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    xs = points(nin)
    assert close(run_onnx(ort, path, xs), chainrule_outputs(model, xs))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_a_float32_onnx_file_agrees_within_1e_5(ort, tmp_path, activation):
    model = MLP(3, [8, 8, 2], activation=activation, seed=7)
    nn.export_onnx(model, tmp_path / "m.onnx", dtype="float32")
    xs = points(3)
    assert close(run_onnx(ort, tmp_path / "m.onnx", xs, "float32"), chainrule_outputs(model, xs), tol=1e-5)


@pytest.mark.parametrize("module", [Layer(3, 2, activation="sigmoid", seed=0), Neuron(3, activation="tanh", seed=0)],
                         ids=["Layer", "Neuron"])
def test_a_layer_and_a_neuron_export_too(ort, tmp_path, module):
    nn.export_onnx(module, tmp_path / "m.onnx")
    xs = points(3)
    assert close(run_onnx(ort, tmp_path / "m.onnx", xs), chainrule_outputs(module, xs))


def test_the_batch_dimension_is_open_and_names_follow_the_state_dict(onnx, ort, tmp_path):
    model = MLP(2, [3, 1], activation="leaky_relu", dropout=0.5, seed=0)  # in training mode, with dropout
    path = tmp_path / "m.onnx"
    nn.export_onnx(model, path)
    proto = onnx.load(str(path))
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert (inp.name, out.name) == ("input", "output")
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["batch", 2]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", 1]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    weights = {t.name: onnx.numpy_helper.to_array(t).tolist() for t in proto.graph.initializer}
    assert {k: weights[k] for k in model.state_dict()} == model.state_dict()  # exactly, in float64
    assert "Dropout" not in [node.op_type for node in proto.graph.node]  # inference: dropout is the identity
    model.eval()
    for n in (1, 7, 200):
        xs = points(2, n=n, seed=n)
        assert close(run_onnx(ort, path, xs), chainrule_outputs(model, xs))


def test_onnx_export_writes_atomically(monkeypatch, tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"the old file")

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("nn.io.os.replace", crash)
    with pytest.raises(OSError, match="No space left"):
        nn.export_onnx(MLP(2, [3, 1], seed=0), path)
    assert path.read_bytes() == b"the old file"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary file left behind


def test_export_onnx_refuses_what_it_cannot_write(tmp_path):
    with pytest.raises(ValueError, match="dtype must be one of"):
        nn.export_onnx(MLP(1, [1], seed=0), tmp_path / "m.onnx", dtype="float16")
    with pytest.raises(TypeError, match="export_onnx: Doubled is not made of standard layers"):
        nn.export_onnx(Doubled(), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="export_onnx: an RNN needs sequence_length, a positive int"):
        nn.export_onnx(nn.RNN(2, 3, seed=0), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="export_onnx: sequence_length is for an RNN"):
        nn.export_onnx(MLP(2, [1], seed=0), tmp_path / "m.onnx", sequence_length=3)
    model = MLP(2, [3, 1], seed=0)
    model.layers[0].activation = "softsign"
    with pytest.raises(ValueError, match="export_onnx: the activation 'softsign' has no ONNX operator"):
        nn.export_onnx(model, tmp_path / "m.onnx")
    model.layers[0].activation = "relu"
    model.layers[0].neurons[0].b.data = 1e300
    with pytest.raises(ValueError, match="too large for float32"):
        nn.export_onnx(model, tmp_path / "m.onnx", dtype="float32")
    assert not list(tmp_path.iterdir())


# ---- chainrule export -------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path) -> tuple[MLP, Path]:
    model = MLP(2, [8, 8, 1], activation="tanh", seed=0)
    nn.save(model, tmp_path / "model.json")
    return model, tmp_path / "model.json"


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = chainrule(["export", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_export_to_onnx(capsys, ort, saved):
    model, path = saved
    status, out, err = run(capsys, str(path), "-o", str(path.with_suffix(".onnx")))
    assert (status, err) == (0, "")
    assert out.startswith(f"wrote {path.with_suffix('.onnx')}: MLP(2 -> 8 -> 8 -> 1")
    xs = points(2)
    assert close(run_onnx(ort, path.with_suffix(".onnx"), xs), chainrule_outputs(model, xs))


def test_export_to_a_pytorch_state_dict_that_loads_with_weights_only(capsys, torch, saved):
    model, path = saved
    out = path.with_suffix(".pt")
    assert run(capsys, str(path), "--output", str(out))[0] == 0
    state = torch.load(out, weights_only=True)  # plain tensors only: nothing in the file can run code
    net = nn.to_torch(MLP(2, [8, 8, 1], activation="tanh", seed=1))
    net.load_state_dict(state, strict=True)
    assert {t.dtype for t in state.values()} == {torch.float64}
    xs = points(2)
    assert close(net(torch.tensor(xs)).tolist(), chainrule_outputs(model, xs))
    back = MLP(2, [8, 8, 1], activation="tanh", seed=2)
    back.load_state_dict(state)  # and straight back into chainrule
    assert hexes(back) == hexes(model)


def test_export_float32(capsys, torch, saved):
    _, path = saved
    assert run(capsys, str(path), "-o", str(path.with_suffix(".pt")), "--dtype", "float32")[0] == 0
    assert {t.dtype for t in torch.load(path.with_suffix(".pt"), weights_only=True).values()} == {torch.float32}


def test_export_overwrites_an_existing_output(capsys, saved):
    _, path = saved
    out = path.with_suffix(".onnx")
    out.write_bytes(b"old")
    assert run(capsys, str(path), "-o", str(out))[0] == 0
    assert out.read_bytes() != b"old" and sorted(p.name for p in path.parent.iterdir()) == ["model.json", "model.onnx"]


BAD_COMMANDS = {
    "missing file": (["nope.json", "-o", "m.onnx"], "cannot read 'nope.json': no such file"),
    "bad JSON": (["bad.json", "-o", "m.onnx"], "bad.json: not a chainrule model file (not valid JSON"),
    "not a model": (["list.json", "-o", "m.onnx"], "not a valid chainrule model file"),
    "a folder": ([".", "-o", "m.onnx"], "is a directory, not a regular file"),
    "unknown suffix": (["model.json", "-o", "m.txt"], "cannot tell the format of 'm.txt' from its suffix"),
    "no suffix": (["model.json", "-o", "model"], "cannot tell the format of 'model'"),
    "no output": (["model.json"], "no output given"),
    "no model": (["-o", "m.onnx"], "no model file given"),
    "two models": (["model.json", "other.json", "-o", "m.onnx"], "unexpected argument 'other.json'"),
    "-o without a value": (["model.json", "-o"], "-o needs a value"),
    "unknown option": (["model.json", "-o", "m.onnx", "--fast"], "unknown option '--fast'"),
    "bad dtype": (["model.json", "-o", "m.onnx", "--dtype", "int8"], "--dtype must be float64 or float32"),
    "an empty model name": (["", "-o", "m.onnx"], "the model file name is empty"),  # not ".", the folder
    "too many layers": (["deep.json", "-o", "m.onnx"], "config.nouts has 50000 layers; a model file holds at most"),
}


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    nn.save(MLP(2, [3, 1], seed=0), tmp_path / "model.json")
    (tmp_path / "bad.json").write_text('{"format": "chainrule.nn", ')
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    neuron = '[{"w": [0.5], "b": 0.25}]'  # 50,000 one-neuron layers: 1.4 MB, and one long repr if loaded
    (tmp_path / "deep.json").write_text(
        '{"format": "chainrule.nn", "version": 1, "type": "MLP", "config": {"nin": 1, "nouts": '
        f'{[1] * 50_000}, "activation": "relu", "dropout": 0.0}}, "layers": [{", ".join([neuron] * 50_000)}]}}')
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", list(BAD_COMMANDS))
def test_bad_input_is_one_line_and_exit_status_2(capsys, workdir, case):
    args, message = BAD_COMMANDS[case]
    status, out, err = run(capsys, *args)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("chainrule export: error: ") and message in err
    assert len(err) <= chainrule_export.MAX_LINE + 1
    assert sorted(p.name for p in workdir.iterdir()) == ["bad.json", "deep.json", "list.json", "model.json"]


@pytest.mark.parametrize("out", ["m.onnx", "m.pt"])
def test_a_weight_too_large_for_float32_is_exit_status_2(capsys, workdir, out):
    model = MLP(2, [3, 1], seed=0)
    model.layers[0].neurons[2].w[1].data = -1e39
    nn.save(model, "huge.json")
    status, _, err = run(capsys, "huge.json", "-o", out, "--dtype", "float32")
    assert status == 2 and "too large for" in err and "float32" in err and err.count("\n") == 1
    assert not (workdir / out).exists()
    assert run(capsys, "huge.json", "-o", out)[0] == 0  # float64 is fine


def test_an_output_that_cannot_be_written_is_exit_status_1(capsys, workdir):
    status, out, err = run(capsys, "model.json", "-o", "no/such/folder/m.onnx")
    assert status == 1 and out == ""
    assert err == "chainrule export: error: cannot write 'no/such/folder/m.onnx': No such file or directory\n"


@pytest.mark.parametrize("kind", ["a folder", "a FIFO", "a symlink to /dev/null"])
@pytest.mark.parametrize("out", ["m.onnx", "m.pt"])
def test_an_output_that_is_a_folder_a_fifo_or_a_device_is_exit_status_1_blaming_the_output(capsys, workdir, kind,
                                                                                            out):
    words = {"a folder": "a directory", "a FIFO": "a FIFO (named pipe)", "a symlink to /dev/null": "a character device"}
    if kind == "a folder":
        os.mkdir(out)
    elif kind == "a FIFO":
        os.mkfifo(out)
    else:
        os.symlink("/dev/null", out)
    status, stdout, err = run(capsys, "model.json", "-o", out)
    assert status == 1 and stdout == ""
    assert err == f"chainrule export: error: cannot write the output: {out} is {words[kind]}, not a regular file; " \
                  "it was left as it is\n"
    assert os.path.islink(out) == (kind == "a symlink to /dev/null")  # left as it was, no temporary beside it
    assert sorted(os.listdir(workdir)) == ["bad.json", "deep.json", "list.json", "m" + out[1:], "model.json"]


def test_a_long_error_line_is_cut_in_the_middle(capsys, workdir):
    name = "x" * 5000 + ".json"
    status, _, err = run(capsys, name, "-o", "m.onnx")
    assert status == 2 and err.count("\n") == 1 and len(err) == chainrule_export.MAX_LINE + 1
    assert err.startswith("chainrule export: error: cannot read 'xxx") and " ... " in err


def test_a_missing_torch_is_exit_status_1_saying_what_to_install(capsys, workdir, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    status, _, err = run(capsys, "model.json", "-o", "m.pt")
    assert status == 1 and "pip install 'chainrule[torch]'" in err and err.count("\n") == 1
    assert not (workdir / "m.pt").exists()


def test_help_describes_the_formats_and_the_exit_statuses(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and ".onnx" in out and ".pt" in out and "Exit status" in out
    assert chainrule(["--help"]) == 0 and "export" in capsys.readouterr().out


def command(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "chainrule"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "nn.cli"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_the_installed_command_exports_both_formats(torch, ort, workdir):
    for out in ("m.onnx", "m.pt"):
        done = command("export", "model.json", "-o", out, cwd=workdir)
        assert done.returncode == 0 and done.stderr == "" and done.stdout.startswith(f"wrote {out}: MLP(2 -> 3 -> 1")
    model = nn.load(workdir / "model.json")
    xs = points(2)
    assert close(run_onnx(ort, workdir / "m.onnx", xs), chainrule_outputs(model, xs))
    state = torch.load(workdir / "m.pt", weights_only=True)
    expected = nn.to_torch(model).state_dict()
    assert list(state) == list(expected) and all(torch.equal(state[k], expected[k]) for k in state)


@pytest.mark.parametrize("case", ["missing file", "bad JSON", "unknown suffix"])
def test_the_installed_command_fails_in_one_line_without_a_traceback(workdir, case):
    args, message = BAD_COMMANDS[case]
    done = command("export", *args, cwd=workdir)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_a_pt_file_is_written_atomically_from_memory(capsys, workdir, monkeypatch):
    def crash(src, dst):
        raise OSError(13, "Permission denied")

    (workdir / "m.pt").write_bytes(b"old")
    monkeypatch.setattr("nn.io.os.replace", crash)
    status, _, err = run(capsys, "model.json", "-o", "m.pt")
    assert status == 1 and err == "chainrule export: error: cannot write 'm.pt': Permission denied\n"
    assert (workdir / "m.pt").read_bytes() == b"old"
    assert sorted(p.name for p in workdir.iterdir()) == ["bad.json", "deep.json", "list.json", "m.pt", "model.json"]

