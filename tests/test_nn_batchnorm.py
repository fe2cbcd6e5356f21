"""BatchNorm1d: a batch normalised channel by channel, as torch.nn.BatchNorm1d (float64), in training and eval.

On batches of shape (N, C) and (N, C, L). Training mode: outputs and every gradient (inputs,
weight, bias) of a weighted sum of the batch's outputs within 1e-9 of PyTorch's, and the running
statistics after several steps equal. Eval mode: the running statistics, sample by sample. Every
gradient, first and second order, against central finite differences (gradcheck) and against
PyTorch's create_graph=True. The state dict (with its buffers) goes into PyTorch with strict=True
and back; bad shapes are ValueErrors naming the module and both shapes.
"""

from __future__ import annotations

import random

import pytest

import autograd
from autograd import Value, draw_dot, gradcheck, no_grad
from nn import SGD, BatchNorm1d, Layer, Neuron, Sequential, fit, mse_loss

pytestmark = pytest.mark.nn

TOL = {"rel": 1e-9, "abs": 1e-12}


SHAPES = {"(N, C)": None, "(N, C, L)": 3}  # a sample of C numbers, or of C channels of L positions


def batch(n: int, features: int, rng: random.Random, length: int | None = None) -> list:
    if length is None:
        return [[Value(rng.gauss(1.0, 2.0)) for _ in range(features)] for _ in range(n)]
    return [[[Value(rng.gauss(1.0, 2.0)) for _ in range(length)] for _ in range(features)] for _ in range(n)]


def flat(x: object) -> list:
    return [v for item in x for v in flat(item)] if isinstance(x, list) else [x]


def as_tensor(torch, xs: list, **kwargs):
    return torch.tensor([[[v.data for v in c] if isinstance(c, list) else c.data for c in x] for x in xs], **kwargs)


def twin(torch, bn: BatchNorm1d):
    net = torch.nn.BatchNorm1d(bn.num_features, eps=bn.eps, momentum=bn.momentum)
    net.load_state_dict({k: torch.tensor(v) for k, v in bn.state_dict().items()}, strict=True)
    return net


def randomised(bn: BatchNorm1d, seed: int) -> BatchNorm1d:
    rng = random.Random(seed)
    for w, b in zip(bn.weight, bn.bias):
        w.data, b.data = rng.uniform(0.5, 1.5), rng.uniform(-0.5, 0.5)
    return bn


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_training_steps_equal_pytorch_outputs_gradients_and_running_statistics(torch, momentum, shape):
    rng = random.Random(0)
    bn = randomised(BatchNorm1d(3, momentum=momentum), 1)
    net = twin(torch, bn)
    for step, (n, length) in enumerate(((4, SHAPES[shape]), (2, SHAPES[shape] and 1), (5, SHAPES[shape]))):
        xs = batch(n, 3, rng, length)
        out = bn.forward_batch(xs)
        coefficients = [rng.uniform(-1, 1) for _ in flat(out)]
        bn.zero_grad()
        autograd.dot(flat(out), coefficients).backward()
        tx = as_tensor(torch, xs, requires_grad=True)
        net.zero_grad()
        tout = net(tx)
        (tout.flatten() * torch.tensor(coefficients)).sum().backward()
        assert [v.data for v in flat(out)] == pytest.approx(tout.flatten().tolist(), **TOL), step
        assert [v.grad for v in flat(xs)] == pytest.approx(tx.grad.flatten().tolist(), **TOL)
        assert [p.grad for p in bn.parameters()] == pytest.approx(
            net.weight.grad.tolist() + net.bias.grad.tolist(), **TOL)
        assert [v.data for v in bn.running_mean] == pytest.approx(net.running_mean.tolist(), **TOL)
        assert [v.data for v in bn.running_var] == pytest.approx(net.running_var.tolist(), **TOL)
        assert bn.num_batches_tracked.data == net.num_batches_tracked.item() == step + 1


@pytest.mark.parametrize("shape", SHAPES)
def test_eval_mode_uses_the_running_statistics_sample_by_sample(torch, shape):
    rng = random.Random(2)
    bn = randomised(BatchNorm1d(2), 3)
    for _ in range(3):
        bn.forward_batch(batch(4, 2, rng, SHAPES[shape]))
    net = twin(torch, bn).eval()
    bn.eval()
    xs = batch(3, 2, rng, SHAPES[shape])
    alone = [bn(x) for x in xs]
    together = bn.forward_batch(xs)
    tout = net(as_tensor(torch, xs))
    assert [v.data for v in flat(alone)] == pytest.approx(tout.flatten().tolist(), **TOL)
    assert [v.data for v in flat(together)] == [v.data for v in flat(alone)]
    running = [v.data for v in bn.running_mean]
    bn.forward_batch(xs)
    assert [v.data for v in bn.running_mean] == running  # eval leaves the statistics alone


def test_state_dict_holds_the_buffers_under_pytorchs_names_and_goes_back(torch):
    bn = BatchNorm1d(3)
    bn.forward_batch(batch(4, 3, random.Random(4)))
    net = twin(torch, bn)
    assert list(bn.state_dict()) == list(net.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    net.forward(torch.randn(5, 3))
    back = BatchNorm1d(3)
    back.load_state_dict(net.state_dict(), strict=True)
    assert [v.data for v in back.running_var] == net.running_var.tolist()
    assert back.num_batches_tracked.data == 2
    assert len(bn.parameters()) == 6  # the buffers are not parameters


def test_a_batch_of_one_in_training_is_a_value_error_as_in_pytorch(torch):
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*more than one value per channel.*\(N, 3\).*\(1, 3\)"):
        bn.forward_batch([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*\(N, 3, L\) with N \* L > 1, got \(1, 3, 1\)"):
        bn.forward_batch([[[1.0], [2.0], [3.0]]])
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*one sample of shape \(3,\).*\(N, 3\)"):
        bn([1.0, 2.0, 3.0])
    for shape in ((1, 3), (1, 3, 1)):
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            torch.nn.BatchNorm1d(3)(torch.ones(*shape))
    assert bn.num_batches_tracked.data == 0


def test_one_sample_of_several_positions_is_a_batch_in_training_as_in_pytorch(torch):
    bn = BatchNorm1d(2)
    x = [[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]]
    out = bn.forward_batch([x])
    net = torch.nn.BatchNorm1d(2)
    assert [v.data for v in flat(out)] == pytest.approx(net(torch.tensor([x])).flatten().tolist(), **TOL)
    assert [v.data for v in bn.running_var] == pytest.approx(net.running_var.tolist(), **TOL)


@pytest.mark.parametrize(("xs", "words"), [
    ([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], r"\(N, 2\) or \(N, 2, L\), got a batch of shape \(2, 3\)"),
    ([[[1.0, 2.0]], [[3.0, 4.0]]], r"expects a batch of shape \(N, 2, L\), got \(2, 1, 2\) \(1 channels, not 2\)"),
    ([[[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0, 4.0]]], r"shape \(N, 2, L\), got ragged rows.*\(2, 2, 2\)"),
    ([[1.0, 2.0], [[1.0], [2.0]]], r"\(N, 2\) or \(N, 2, L\), got sample 0 of shape \(2,\) and sample 1 "
                                   r"of shape \(2, 1\)"),
    ([], r"\(N, 2\) or \(N, 2, L\), got \(0,\)"),
], ids=["features", "channels", "ragged", "mixed", "empty"])
def test_a_batch_of_the_wrong_shape_is_a_value_error_naming_the_module_and_both_shapes(xs, words):
    bn = BatchNorm1d(2)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(2, eps=1e-05, momentum=0.1\).*" + words):
        bn.forward_batch(xs)
    assert bn.num_batches_tracked.data == 0 and [v.data for v in bn.running_mean] == [0.0, 0.0]
    with pytest.raises(ValueError, match=r"BatchNorm1d\(2.*one sample of shape \(2, L\), got \(1, 2\)"):
        bn.eval()([[1.0, 2.0]])


def test_every_output_of_a_batch_depends_on_every_sample():
    bn = BatchNorm1d(1)
    xs = [[Value(1.0)], [Value(2.0)], [Value(4.0)]]
    out = bn.forward_batch(xs)
    out[0][0].backward()
    assert all(x[0].grad != 0.0 for x in xs)


def test_the_picture_of_any_one_output_of_a_batch_of_three_holds_every_sample_of_its_channel():
    # the coupling drawn: one output's graph reaches all three samples (through the mean and the
    # variance), so the batch's graph is one connected graph; channels stay apart
    bn = BatchNorm1d(2)
    xs = [[Value(float(s + 2 * j) ** 2, label=f"x{s}[{j}]") for j in range(2)] for s in range(3)]
    out = bn.forward_batch(xs)
    for s in range(3):
        for j in range(2):
            source = draw_dot(out[s][j]).source
            assert [f'tooltip="x{r}[{j}]:' in source for r in range(3)] == [True] * 3
            assert f'tooltip="x0[{1 - j}]:' not in source
            assert f"weight[{j}]" in source and f"weight[{1 - j}]" not in source


def test_sequential_and_fit_pass_the_whole_batch_to_batch_norm():
    rng = random.Random(5)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(32)]
    y = [1.0 if a * b > 0 else -1.0 for a, b in X]
    model = Sequential(Layer(2, 8, seed=0), BatchNorm1d(8), Neuron(8, "linear", seed=1))
    history = fit(model, X, y, mse_loss, SGD(model.parameters(), lr=0.05), epochs=3, batch_size=8, progress=False)
    assert model[1].num_batches_tracked.data == 12  # 4 batches in each of 3 epochs
    assert len(history.loss) == 3 and history.loss[-1] < history.loss[0]
    model.eval()
    with no_grad():
        assert [o.data for o in model.forward_batch(X[:3])] == [model(x).data for x in X[:3]]


def test_a_residual_block_gives_its_batch_norm_the_whole_batch_and_equals_pytorch(torch):
    import nn

    model = Sequential(Layer(2, 3, seed=0), nn.Residual(Sequential(Layer(3, 3, "tanh", seed=1), BatchNorm1d(3))),
                       Neuron(3, "linear", seed=2))
    rng = random.Random(6)
    xs = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(4)]
    net = nn.to_torch(model)
    assert [o.data for o in model.forward_batch(xs)] == pytest.approx(net(torch.tensor(xs)).flatten().tolist(), **TOL)


# ---- every gradient, first and second order, two independent ways ---------------------------------


def normalised_loss(n: int, channels: int, length: int | None, mode: str):
    """A function of (weight, bias, the batch's numbers) through a fresh BatchNorm1d, for gradcheck:
    a nonlinear mix of every output, so that every first and second derivative plays a part."""
    rng = random.Random(8)
    coefficients = [rng.uniform(-1, 1) for _ in range(n * channels * (length or 1))]

    def loss(*numbers: Value) -> Value:
        bn, it = BatchNorm1d(channels), iter(numbers)
        bn.weight = [next(it) for _ in range(channels)]
        bn.bias = [next(it) for _ in range(channels)]
        if mode == "eval":
            for j in range(channels):
                bn.running_mean[j].data, bn.running_var[j].data = 0.3 * j - 0.2, 0.5 + j
            bn.eval()
        if length is None:
            xs = [[next(it) for _ in range(channels)] for _ in range(n)]
        else:
            xs = [[[next(it) for _ in range(length)] for _ in range(channels)] for _ in range(n)]
        out = flat(bn.forward_batch(xs))
        return autograd.dot(out, coefficients) + autograd.dot(out, out) * 0.25

    return loss


def point(n: int, channels: int, length: int | None, seed: int) -> list[float]:
    rng = random.Random(seed)
    return ([rng.uniform(0.5, 1.5) for _ in range(channels)] + [rng.uniform(-0.5, 0.5) for _ in range(channels)]
            + [rng.gauss(0.0, 1.5) for _ in range(n * channels * (length or 1))])


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_and_second_derivatives_match_finite_differences(mode, shape):
    n, channels, length = 3, 2, SHAPES[shape] and 2
    assert gradcheck(normalised_loss(n, channels, length, mode), point(n, channels, length, seed=9), order=2)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_and_second_derivatives_equal_pytorch_create_graph(torch, mode, shape):
    """The Hessian of the loss over (weight, bias, every input of the batch): autograd.grad twice with
    create_graph=True against torch.autograd.grad twice."""
    n, channels, length = 3, 2, SHAPES[shape] and 2
    numbers = point(n, channels, length, seed=10)
    leaves = [Value(x) for x in numbers]
    loss = normalised_loss(n, channels, length, mode)(*leaves)
    firsts = autograd.grad(loss, leaves, create_graph=True)
    hessian = [[g.data for g in autograd.grad(first, leaves)] for first in firsts]

    weight, bias = (torch.tensor(numbers[k * channels:(k + 1) * channels], requires_grad=True) for k in range(2))
    x = torch.tensor(numbers[2 * channels:], requires_grad=True)
    net = torch.nn.BatchNorm1d(channels)
    if mode == "eval":
        net.running_mean.copy_(torch.tensor([0.3 * j - 0.2 for j in range(channels)]))
        net.running_var.copy_(torch.tensor([0.5 + j for j in range(channels)]))
        net.eval()
    out = torch.nn.functional.batch_norm(x.reshape(n, channels, *([length] if length else [])), net.running_mean,
                                         net.running_var, weight, bias, net.training, net.momentum, net.eps)
    out = out.flatten()
    rng = random.Random(8)
    coefficients = torch.tensor([rng.uniform(-1, 1) for _ in range(len(out))])
    tloss = (out * coefficients).sum() + (out * out).sum() * 0.25
    tfirsts = torch.cat(torch.autograd.grad(tloss, (weight, bias, x), create_graph=True))
    thessian = [torch.cat(torch.autograd.grad(g, (weight, bias, x), retain_graph=True)).tolist() for g in tfirsts]

    assert [g.data for g in firsts] == pytest.approx(tfirsts.tolist(), **TOL)
    for row, trow in zip(hessian, thessian):
        assert row == pytest.approx(trow, **TOL)
    # the coupling: in training every input's gradient depends on every input of its channel, in
    # eval on none but itself (channels never meet)
    channel = [None] * 2 * channels + [k // (length or 1) % channels for k in range(len(numbers) - 2 * channels)]
    for i in range(2 * channels, len(numbers)):
        for j in range(2 * channels, len(numbers)):
            coupled = channel[i] == channel[j] and (mode == "train" or i == j)
            assert (hessian[i][j] != 0.0) == coupled, (i, j)
