"""BatchNorm1d: a batch normalised feature by feature, as torch.nn.BatchNorm1d (float64), in training and eval.

Training mode: outputs and every gradient (inputs, weight, bias) of a weighted sum of the batch's
outputs within 1e-9 of PyTorch's, and the running statistics after several steps equal. Eval
mode: the running statistics, sample by sample. The state dict (with its buffers) goes into
PyTorch with strict=True and back.
"""

from __future__ import annotations

import random

import pytest

import autograd
from autograd import Value, no_grad
from nn import SGD, BatchNorm1d, Layer, Neuron, Sequential, fit, mse_loss

pytestmark = pytest.mark.nn

TOL = {"rel": 1e-9, "abs": 1e-12}


def batch(n: int, features: int, rng: random.Random) -> list[list[Value]]:
    return [[Value(rng.gauss(1.0, 2.0)) for _ in range(features)] for _ in range(n)]


def twin(torch, bn: BatchNorm1d):
    net = torch.nn.BatchNorm1d(bn.num_features, eps=bn.eps, momentum=bn.momentum)
    net.load_state_dict({k: torch.tensor(v) for k, v in bn.state_dict().items()}, strict=True)
    return net


def randomised(bn: BatchNorm1d, seed: int) -> BatchNorm1d:
    rng = random.Random(seed)
    for w, b in zip(bn.weight, bn.bias):
        w.data, b.data = rng.uniform(0.5, 1.5), rng.uniform(-0.5, 0.5)
    return bn


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_training_steps_equal_pytorch_outputs_gradients_and_running_statistics(torch, momentum):
    rng = random.Random(0)
    bn = randomised(BatchNorm1d(3, momentum=momentum), 1)
    net = twin(torch, bn)
    for step, n in enumerate((4, 2, 5)):
        xs = batch(n, 3, rng)
        out = bn.forward_batch(xs)
        coefficients = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(n)]
        bn.zero_grad()
        autograd.sum([autograd.dot(o, c) for o, c in zip(out, coefficients)]).backward()
        tx = torch.tensor([[v.data for v in x] for x in xs], requires_grad=True)
        net.zero_grad()
        tout = net(tx)
        (tout * torch.tensor(coefficients)).sum().backward()
        assert [v.data for o in out for v in o] == pytest.approx(tout.flatten().tolist(), **TOL), step
        assert [v.grad for x in xs for v in x] == pytest.approx(tx.grad.flatten().tolist(), **TOL)
        assert [p.grad for p in bn.parameters()] == pytest.approx(
            net.weight.grad.tolist() + net.bias.grad.tolist(), **TOL)
        assert [v.data for v in bn.running_mean] == pytest.approx(net.running_mean.tolist(), **TOL)
        assert [v.data for v in bn.running_var] == pytest.approx(net.running_var.tolist(), **TOL)
        assert bn.num_batches_tracked.data == net.num_batches_tracked.item() == step + 1


def test_eval_mode_uses_the_running_statistics_sample_by_sample(torch):
    rng = random.Random(2)
    bn = randomised(BatchNorm1d(2), 3)
    for _ in range(3):
        bn.forward_batch(batch(4, 2, rng))
    net = twin(torch, bn).eval()
    bn.eval()
    xs = batch(3, 2, rng)
    alone = [bn(x) for x in xs]
    together = bn.forward_batch(xs)
    tout = net(torch.tensor([[v.data for v in x] for x in xs]))
    assert [v.data for o in alone for v in o] == pytest.approx(tout.flatten().tolist(), **TOL)
    assert [v.data for o in together for v in o] == [v.data for o in alone for v in o]
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
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*more than one sample.*\(N, 3\).*\(1, 3\)"):
        bn.forward_batch([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*one sample of shape \(3,\).*\(N, 3\)"):
        bn([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        torch.nn.BatchNorm1d(3)(torch.ones(1, 3))
    assert bn.num_batches_tracked.data == 0


def test_every_output_of_a_batch_depends_on_every_sample():
    bn = BatchNorm1d(1)
    xs = [[Value(1.0)], [Value(2.0)], [Value(4.0)]]
    out = bn.forward_batch(xs)
    out[0][0].backward()
    assert all(x[0].grad != 0.0 for x in xs)


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
