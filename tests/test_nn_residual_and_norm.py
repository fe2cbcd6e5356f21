"""LayerNorm, Sequential and Residual: deep plain and residual networks, equal to PyTorch's (float64).

Every model here is rebuilt in PyTorch with the same weights (`mirror`), and its outputs and the
gradient of every parameter and every input are compared; LayerNorm is also checked against
central finite differences, second derivatives included.
"""

from __future__ import annotations

import random

import pytest

import autograd
from autograd import Value, gradcheck
from nn import MLP, Dropout, Layer, LayerNorm, Module, Neuron, Residual, Sequential

pytestmark = pytest.mark.nn

TORCH_TOL = {"rel": 1e-9, "abs": 1e-12}


def randomised(norm: LayerNorm, seed: int) -> LayerNorm:
    """A LayerNorm whose weight and bias are no longer 1 and 0, so that their gradients matter."""
    rng = random.Random(seed)
    for w, b in zip(norm.weight, norm.bias):
        w.data, b.data = rng.uniform(0.5, 1.5), rng.uniform(-0.5, 0.5)
    return norm


def mirror(torch, module: Module):
    """(a torch module computing the same function, [(our Values, the torch parameter they are), ...])."""
    if isinstance(module, Layer):
        lin = torch.nn.Linear(module.nin, module.nout, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[w.data for w in n.w] for n in module.neurons]))
            lin.bias.copy_(torch.tensor([n.b.data for n in module.neurons]))
        act = {"tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU(), "linear": torch.nn.Identity()}[module.activation]
        pairs = [([w for n in module.neurons for w in n.w], lin.weight), ([n.b for n in module.neurons], lin.bias)]
        return torch.nn.Sequential(lin, act), pairs
    if isinstance(module, LayerNorm):
        norm = torch.nn.LayerNorm(module.n, eps=module.eps, dtype=torch.float64)
        with torch.no_grad():
            norm.weight.copy_(torch.tensor([w.data for w in module.weight]))
            norm.bias.copy_(torch.tensor([b.data for b in module.bias]))
        return norm, [(module.weight, norm.weight), (module.bias, norm.bias)]
    if isinstance(module, Residual):
        inner, pairs = mirror(torch, module.module)

        class TorchResidual(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                return x + self.inner(x)

        return TorchResidual(), pairs
    if isinstance(module, Sequential):
        parts = [mirror(torch, m) for m in module]
        return torch.nn.Sequential(*(net for net, _ in parts)), [pair for _, pairs in parts for pair in pairs]
    raise TypeError(type(module).__name__)


def check_against_torch(torch, model: Module, batch: list[list[float]]) -> None:
    """Outputs, and the gradients of every parameter and input for a loss reading every output."""
    xs = [[Value(x) for x in row] for row in batch]
    outs = [model(x) for x in xs]
    outs = [o if isinstance(o, list) else [o] for o in outs]
    rng = random.Random(9)
    coefficients = [[rng.uniform(-1.0, 1.0) for _ in row] for row in outs]
    autograd.sum([c * v for row, cs in zip(outs, coefficients) for v, c in zip(row, cs)]).backward()

    net, pairs = mirror(torch, model)
    X = torch.tensor(batch, requires_grad=True)
    out = net(X)
    (out * torch.tensor(coefficients)).sum().backward()
    assert [v.data for row in outs for v in row] == pytest.approx(out.flatten().tolist(), **TORCH_TOL)
    assert [v.grad for row in xs for v in row] == pytest.approx(X.grad.flatten().tolist(), **TORCH_TOL)
    for ours, theirs in pairs:
        assert [v.grad for v in ours] == pytest.approx(theirs.grad.flatten().tolist(), **TORCH_TOL)
    assert sum(len(ours) for ours, _ in pairs) == model.num_parameters()  # every parameter was compared


def batch_of(n_rows: int, width: int, seed: int, scale: float = 2.0) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.uniform(-scale, scale) for _ in range(width)] for _ in range(n_rows)]


# ---- LayerNorm ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 16])
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_layernorm_outputs_and_gradients_match_torch_layernorm(torch, n, eps):
    check_against_torch(torch, randomised(LayerNorm(n, eps=eps), seed=n), batch_of(4, n, seed=n))


def test_layernorm_matches_torch_on_inputs_far_from_zero_and_nearly_equal(torch):
    check_against_torch(torch, randomised(LayerNorm(4), seed=1), [[1e3 + 1e-3 * k for k in range(4)],
                                                                  [-7.0, -7.0, -7.0, -7.0], [1e-6, 0, 0, 2e-6]])


def test_layernorm_gradients_and_second_derivatives_match_finite_differences():
    def normalised_mix(a: Value, b: Value, c: Value) -> Value:
        y = LayerNorm(3, eps=0.1)([a, b, c])
        return y[0] * 0.3 + y[1] * y[2]

    assert gradcheck(normalised_mix, [0.4, -1.2, 2.0], order=2)


def test_layernorm_starts_as_pure_normalisation_mean_zero_variance_one():
    norm = LayerNorm(6, eps=1e-12)
    assert [w.data for w in norm.weight] == [1.0] * 6 and [b.data for b in norm.bias] == [0.0] * 6
    y = [v.data for v in norm([3.0, -1.0, 4.0, 1.0, -5.0, 9.0])]
    assert sum(y) / 6 == pytest.approx(0.0, abs=1e-15)
    assert sum(v * v for v in y) / 6 == pytest.approx(1.0, rel=1e-12)


def test_layernorm_has_weight_then_bias_as_parameters_and_in_its_state_dict():
    norm = LayerNorm(3)
    assert norm.parameters() == [*norm.weight, *norm.bias]
    assert norm.state_dict() == {"weight": [1.0, 1.0, 1.0], "bias": [0.0, 0.0, 0.0]}
    assert repr(norm) == "LayerNorm(3, eps=1e-05)"


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: LayerNorm(0), ValueError, "n must be an int >= 1, got 0"),
        (lambda: LayerNorm(2.0), TypeError, "n must be an int, got float: 2.0"),
        (lambda: LayerNorm(3, eps=0.0), ValueError, r"eps must be a finite number > 0, got 0.0"),
        (lambda: LayerNorm(3, eps=float("nan")), ValueError, "eps"),
        (lambda: LayerNorm(3)([1.0, 2.0]), ValueError, "LayerNorm expects 3 inputs, got 2"),
        (lambda: LayerNorm(2)([1.0, None]), TypeError, "LayerNorm input 1"),
    ],
)
def test_layernorm_bad_arguments_and_inputs_raise_errors_naming_them(make, error, words):
    with pytest.raises(error, match=words):
        make()


# ---- Sequential and Residual ---------------------------------------------------------------------


def test_a_sequential_of_layers_matches_the_same_torch_sequential(torch):
    model = Sequential(Layer(3, 5, "tanh", seed=0), Layer(5, 4, "relu", seed=1), Layer(4, 2, "linear", seed=2))
    check_against_torch(torch, model, batch_of(5, 3, seed=0))


def test_a_residual_block_adds_its_input_and_matches_torch(torch):
    check_against_torch(torch, Residual(Layer(4, 4, "tanh", seed=3)), batch_of(3, 4, seed=1))


def test_a_deep_residual_network_with_layernorm_matches_torch_in_every_gradient(torch):
    # pre-norm residual blocks, as in a transformer: x + f(LayerNorm(x)), eight of them
    blocks = [Residual(Sequential(randomised(LayerNorm(4), seed=k), Layer(4, 4, "tanh", seed=k))) for k in range(8)]
    model = Sequential(Layer(3, 4, "tanh", seed=10), *blocks, LayerNorm(4), Layer(4, 2, "linear", seed=11))
    check_against_torch(torch, model, batch_of(4, 3, seed=2))


def test_the_identity_path_gives_the_input_a_gradient_of_one_even_when_the_block_passes_none():
    layer = Layer(2, 2, "relu", seed=0)
    for n in layer.neurons:  # a dead block: every relu off, no gradient through it
        n.b.data = -10.0
    x = [Value(0.3), Value(-0.4)]
    y = Residual(layer)(x)
    autograd.sum(y).backward()
    assert [v.data for v in y] == [0.3, -0.4]
    assert [v.grad for v in x] == [1.0, 1.0]


def test_a_residual_of_one_neuron_keeps_a_single_value_single():
    y = Residual(Neuron(1, "tanh", seed=0))(Value(0.5))
    assert isinstance(y, Value)


def test_residual_names_both_widths_when_the_module_changes_the_width():
    with pytest.raises(ValueError, match=r"takes 4 inputs and gives 3 outputs"):
        Residual(Layer(4, 3))

    class Halve(Module):  # widths not known before the call
        def forward(self, x):
            return x[: len(x) // 2]

    with pytest.raises(ValueError, match=r"took 4 inputs and gave 2 outputs"):
        Residual(Halve())([1.0, 2.0, 3.0, 4.0])


def test_residual_checks_the_input_width_against_a_known_module():
    with pytest.raises(ValueError, match=r"takes 3 inputs, got 2"):
        Residual(Layer(3, 3))([1.0, 2.0])


def test_sequential_runs_its_modules_in_order_and_is_indexable():
    first, second = Layer(2, 3, seed=0), Layer(3, 1, "linear", seed=1)
    model = Sequential(first, Dropout(0.5), second)
    assert len(model) == 3 and model[0] is first and list(model)[2] is second
    model.eval()
    x = [0.5, -1.0]
    expected = second(first(x))
    assert [v.data for v in model(x)] == [v.data for v in expected]
    assert model.parameters() == [*first.parameters(), *second.parameters()]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # torch.nn.Sequential's names


def test_a_sequential_state_dict_loads_into_torch_sequential_strictly_and_back(torch):
    model = Sequential(Layer(2, 3, "linear", seed=0), Dropout(0.2), Layer(3, 4, "linear", seed=1), LayerNorm(4),
                       Layer(4, 1, "linear", seed=2))
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Dropout(0.2), torch.nn.Linear(3, 4),
                              torch.nn.LayerNorm(4), torch.nn.Linear(4, 1)).double()
    result = net.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in model.state_dict().items()},
                                 strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    net.eval()
    model.eval()
    x = [0.3, -1.2]
    assert net(torch.tensor([x], dtype=torch.float64)).item() == pytest.approx(model(x)[0].data, **TORCH_TOL)

    with torch.no_grad():  # new numbers in torch, carried back with strict=True
        for p in net.parameters():
            p.add_(0.25)
    other = Sequential(Layer(2, 3, "linear", seed=5), Dropout(0.2), Layer(3, 4, "linear", seed=6), LayerNorm(4),
                       Layer(4, 1, "linear", seed=7))
    assert repr(other.load_state_dict(net.state_dict(), strict=True)) == "<All keys matched successfully>"
    assert other.state_dict() == {k: v.tolist() for k, v in net.state_dict().items()}


def test_a_sequential_inside_a_module_is_named_like_a_torch_submodule():
    class Net(Module):
        def __init__(self):
            self.body = Sequential(Layer(2, 2, seed=0), Layer(2, 1, "linear", seed=1))

    assert list(Net().state_dict()) == ["body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias"]


def test_sequential_refuses_neighbours_whose_widths_do_not_fit():
    with pytest.raises(ValueError, match=r"module 2, Layer\(4 -> 1.*takes 4 inputs, but the module before it gives 3"):
        Sequential(Layer(2, 3), Dropout(0.1), Layer(4, 1))
    with pytest.raises(ValueError, match="takes 2 inputs, but the module before it gives 3"):
        Sequential(MLP(2, [3]), Residual(Layer(2, 2)))


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: Sequential(), ValueError, "at least one module"),
        (lambda: Sequential(Layer(2, 2), lambda x: x), TypeError, "module 1 must be an nn Module"),
        (lambda: Residual([Layer(2, 2)]), TypeError, "Residual: module must be an nn Module"),
    ],
)
def test_bad_containers_raise_clear_errors(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_containers_show_what_is_inside():
    model = Sequential(Layer(2, 2, "tanh"), Residual(LayerNorm(2)))
    assert repr(model) == "Sequential(\n  Layer(2 -> 2, activation='tanh'),\n  Residual(LayerNorm(2, eps=1e-05)),\n)"


def test_a_sequential_holding_itself_prints_and_lists_its_parameters_once():
    seq = Sequential(Layer(2, 2, seed=0))
    seq.layers.append(seq)
    assert repr(seq) == "Sequential(\n  Layer(2 -> 2, activation='relu'),\n  Sequential(...),\n)"
    assert seq.parameters() == seq[0].parameters()
    with pytest.raises(ValueError, match="a cycle"):
        seq.state_dict()
