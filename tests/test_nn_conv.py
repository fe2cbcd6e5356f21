"""Conv1d, Conv2d, MaxPool2d, AvgPool2d and Flatten: PyTorch's numbers (float64), shared kernels, clear shape errors.

Each module runs on random nested lists of Values, and the same weights run in PyTorch; the
outputs, the gradient of every input and every parameter of a weighted sum of the outputs agree
within 1e-9. State dicts go into the PyTorch module with strict=True and back.
"""

from __future__ import annotations

import random
import re

import pytest

import autograd
from autograd import Value
from nn import AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool2d, Sequential

pytestmark = pytest.mark.nn

TOL = {"rel": 1e-9, "abs": 1e-12}
NAN, INF = float("nan"), float("inf")


def grid(shape: tuple[int, ...], rng: random.Random) -> list:
    if len(shape) == 1:
        return [Value(rng.uniform(-2, 2)) for _ in range(shape[0])]
    return [grid(shape[1:], rng) for _ in range(shape[0])]


def flat(x: object) -> list:
    return [v for item in x for v in flat(item)] if isinstance(x, list) else [x]


def weighted_sum(out: list, rng: random.Random) -> tuple[Value, list[float]]:
    values = flat(out)
    coefficients = [rng.uniform(-1, 1) for _ in values]
    return autograd.dot(values, coefficients), coefficients


def check_against_torch(torch, module, net, shape, seed=0):
    """module (chainrule) and net (torch, same weights) on one random input: outputs and every gradient."""
    rng = random.Random(seed)
    x = grid(shape, rng)
    out = module(x)
    loss, coefficients = weighted_sum(out, rng)
    loss.backward()
    tx = torch.tensor([[v.data for v in flat(x)]]).reshape(1, *shape).requires_grad_(True)
    tout = net(tx)[0]
    assert [v.data for v in flat(out)] == pytest.approx(tout.flatten().tolist(), **TOL)
    (tout.flatten() * torch.tensor(coefficients)).sum().backward()
    assert [v.grad for v in flat(x)] == pytest.approx(tx.grad.flatten().tolist(), **TOL)
    torch_grads = [g for p in net.parameters() for g in p.grad.flatten().tolist()]
    assert [p.grad for p in module.parameters()] == pytest.approx(torch_grads, **TOL)
    return out


def torch_conv(torch, module):
    cls = torch.nn.Conv1d if isinstance(module, Conv1d) else torch.nn.Conv2d
    net = cls(module.in_channels, module.out_channels, module.kernel_size, module.stride, module.padding,
              bias=module.has_bias)
    net.load_state_dict({k: torch.tensor(v) for k, v in module.state_dict().items()}, strict=True)
    return net


@pytest.mark.parametrize("args", [
    dict(in_channels=1, out_channels=1, kernel_size=3),
    dict(in_channels=2, out_channels=3, kernel_size=2, stride=2),
    dict(in_channels=3, out_channels=2, kernel_size=3, stride=2, padding=2),
    dict(in_channels=2, out_channels=2, kernel_size=4, padding=1, bias=False),
])
def test_conv1d_outputs_and_every_gradient_equal_pytorch(torch, args):
    module = Conv1d(**args, seed=1)
    check_against_torch(torch, module, torch_conv(torch, module), (args["in_channels"], 9))


@pytest.mark.parametrize("args", [
    dict(in_channels=1, out_channels=2, kernel_size=3),
    dict(in_channels=2, out_channels=3, kernel_size=(2, 3), stride=(2, 1)),
    dict(in_channels=3, out_channels=2, kernel_size=3, stride=2, padding=1),
    dict(in_channels=2, out_channels=2, kernel_size=(3, 2), padding=(2, 0), bias=False),
])
def test_conv2d_outputs_and_every_gradient_equal_pytorch(torch, args):
    module = Conv2d(**args, seed=2)
    check_against_torch(torch, module, torch_conv(torch, module), (args["in_channels"], 6, 7))


@pytest.mark.parametrize(("kernel", "stride"), [(2, None), (3, 2), ((2, 3), (1, 2))])
def test_pools_equal_pytorch(torch, kernel, stride):
    for ours, theirs in ((MaxPool2d, torch.nn.MaxPool2d), (AvgPool2d, torch.nn.AvgPool2d)):
        check_against_torch(torch, ours(kernel, stride), theirs(kernel, stride), (2, 6, 7), seed=3)


def test_max_pool_gives_the_gradient_to_the_first_maximum_of_a_tied_window_as_pytorch(torch):
    x = [[[Value(1.0), Value(5.0), Value(5.0), Value(0.0)], [Value(5.0), Value(2.0), Value(3.0), Value(3.0)]]]
    out = MaxPool2d(2)(x)
    autograd.sum(flat(out)).backward()
    tx = torch.tensor([[[[1.0, 5.0, 5.0, 0.0], [5.0, 2.0, 3.0, 3.0]]]], requires_grad=True)
    torch.nn.MaxPool2d(2)(tx).sum().backward()
    assert [v.grad for v in flat(x)] == tx.grad.flatten().tolist() == [0, 1, 1, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("window", [[1.0, NAN, NAN, 2.0], [NAN, 1.0, INF, NAN], [-INF, -INF, -INF, -INF],
                                    [1.0, INF, NAN, 5.0]])
def test_max_pool_at_nan_and_infinities_gives_what_pytorch_gives(torch, window):
    x = [[[Value(window[0]), Value(window[1])], [Value(window[2]), Value(window[3])]]]
    out = MaxPool2d(2)(x)[0][0][0]
    out.backward()
    tx = torch.tensor(window).reshape(1, 1, 2, 2).requires_grad_(True)
    tout = torch.nn.MaxPool2d(2)(tx)
    tout.sum().backward()
    assert str(out.data) == str(tout.item())  # nan is nan
    assert [v.grad for v in flat(x)] == tx.grad.flatten().tolist()  # the last NaN, else the first maximum


def test_a_small_cnn_equals_pytorch_end_to_end(torch):
    conv = Conv2d(2, 3, 3, padding=1, seed=4)
    model = Sequential(conv, MaxPool2d(2), Flatten())
    net = torch.nn.Sequential(torch_conv(torch, conv), torch.nn.MaxPool2d(2), torch.nn.Flatten())
    check_against_torch(torch, model, net, (2, 6, 6), seed=5)


def test_a_kernel_weight_is_one_value_whose_gradient_is_the_sum_over_positions():
    conv = Conv1d(1, 1, 2, bias=False, seed=0)
    xs = [1.0, 2.0, -1.0, 3.0]
    out = conv([xs])
    autograd.sum(out[0]).backward()  # d loss / d out[t] = 1 at every position t
    w0, w1 = conv.weight[0]
    assert w0.grad == sum(xs[t] for t in range(3))  # w0 meets x[0], x[1], x[2]
    assert w1.grad == sum(xs[t + 1] for t in range(3))
    users = [node for node in autograd.topological_order(autograd.sum(out[0])) if w0 in node._prev]
    assert len(users) == 3


@pytest.mark.parametrize("cls", [Conv1d, Conv2d])
def test_state_dict_goes_to_pytorch_strictly_and_back(torch, cls):
    module = cls(2, 3, 2, stride=1, padding=1, seed=7)
    net = torch_conv(torch, module)  # (load_state_dict with strict=True inside)
    assert list(net.state_dict()) == list(module.state_dict())
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(2.0)
    other = cls(2, 3, 2, stride=1, padding=1, seed=8)
    other.load_state_dict(net.state_dict(), strict=True)
    assert flat(other.state_dict()["weight"]) == net.weight.flatten().tolist()


def test_ragged_rows_are_a_value_error_naming_the_module_and_both_shapes():
    with pytest.raises(ValueError, match=r"Conv2d\(1, 1, kernel_size=\(2, 2\)\).*\(1, H, W\).*ragged"):
        Conv2d(1, 1, 2)([[[1.0, 2.0], [3.0]]])


def test_a_wrong_channel_count_is_a_value_error_naming_both_shapes():
    with pytest.raises(ValueError, match=r"Conv1d\(3, 1, kernel_size=2\).*\(3, L\).*\(2, 4\)"):
        Conv1d(3, 1, 2)([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]])


def test_a_kernel_larger_than_the_padded_input_is_a_value_error():
    with pytest.raises(ValueError, match=r"kernel \(5, 5\) is larger than the padded input \(4, 4\).*\(1, 2, 2\)"):
        Conv2d(1, 1, 5, padding=1)([[[1.0, 2.0], [3.0, 4.0]]])
    with pytest.raises(ValueError, match=r"MaxPool2d.*larger than the input \(1, 1\)"):
        MaxPool2d(2)([[[1.0]]])


def picture(source: str) -> tuple[dict[str, str], dict[str, list[str]], list[tuple[str, str]]]:
    """A DOT source read back: each node's tooltip, the frames (cluster labels) it is drawn in, and the edges."""
    tooltips, frames, edges, stack = {}, {}, [], []
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("subgraph cluster_"):
            stack.append(None)
        elif line.startswith("graph [") and stack:
            stack[-1] = re.search(r' label=("[^"]*"|\S+)', line).group(1).strip('"')
        elif line == "}" and stack:
            stack.pop()
        elif match := re.match(r"(\w+) -> (\w+)( \[|$)", line):
            edges.append((match.group(1), match.group(2)))
        elif match := re.match(r"(\w+) \[label=", line):
            frames[match.group(1)] = list(stack)
            if tip := re.search(r'tooltip="([^"]*)"', line):
                tooltips[match.group(1)] = tip.group(1)
    return tooltips, frames, edges


def weight_nodes(tooltips: dict[str, str], conv) -> dict[tuple[int, int], str]:
    """The node of each kernel weight (output channel o, tap k), found by its label; each must be drawn once."""
    nodes = {}
    for o, row in enumerate(conv.weight):
        for k in range(len(row)):
            (node,) = [n for n, tip in tooltips.items() if tip.startswith(f"weight[{o}][{k}]:")]
            nodes[o, k] = node
    return nodes


def uses(k: int, length: int, padding: int, positions: int) -> list[int]:
    """The output positions where tap k of a stride-1 Conv1d reads the input rather than the padding."""
    return [t for t in range(positions) if 0 <= t + k - padding < length]


def test_a_conv1d_picture_shows_each_kernel_weight_once_with_one_edge_to_every_position_using_it():
    conv = Conv1d(1, 2, 2, padding=1, seed=0)  # 3 inputs, 4 positions; each tap misses one position (padding)
    out = autograd.sum(flat(conv([[1.0, 2.0, -1.0]])))
    out.backward()
    tooltips, frames, edges = picture(autograd.draw_dot(out).source)
    for (o, k), node in weight_nodes(tooltips, conv).items():
        targets = [to for frm, to in edges if frm == node]
        expected = uses(k, 3, 1, 4)
        assert len(targets) == len(set(targets)) == len(expected) == 3  # one edge per position using it
        assert sorted(frames[t][-2:] for t in targets) == [
            [f"channel {o}", f"position {t}"] for t in expected]
        assert tooltips[node].endswith(f"grad={float(sum([1.0, 2.0, -1.0]))}")  # the sum over its positions


def test_pictures_collapse_a_convolution_by_channel_or_by_position():
    conv = Conv1d(1, 2, 2, padding=1, seed=0)
    out = autograd.sum(flat(conv([[1.0, 2.0, -1.0]])))
    tooltips, _, edges = picture(autograd.draw_dot(out, collapse="channel").source)
    boxes = {tip: n for n, tip in tooltips.items() if tip.startswith("Conv1d/")}
    assert sorted(boxes) == ["Conv1d/channel 0", "Conv1d/channel 1"]
    for (o, _k), node in weight_nodes(tooltips, conv).items():
        assert [to for frm, to in edges if frm == node] == [boxes[f"Conv1d/channel {o}"]]  # one edge, its channel
    tooltips, _, edges = picture(autograd.draw_dot(out, collapse="position").source)
    boxes = {tip: n for n, tip in tooltips.items() if tip.startswith("Conv1d/")}
    assert sorted(boxes) == [f"Conv1d/channel {o}/position {t}" for o in range(2) for t in range(4)]
    for (o, k), node in weight_nodes(tooltips, conv).items():
        assert sorted(to for frm, to in edges if frm == node) == sorted(
            boxes[f"Conv1d/channel {o}/position {t}"] for t in uses(k, 3, 1, 4))


# ---- second derivatives: PyTorch's create_graph=True, and finite differences ----------------------


def quadratic(values: list, coefficients: list[float]):
    """sum c_i o_i + (1/4) sum o_i^2: a loss whose Hessian sees every pair of outputs (works on Values and tensors)."""
    total = values[0] * coefficients[0] + values[0] * values[0] * 0.25
    for v, c in zip(values[1:], coefficients[1:]):
        total = total + v * c + v * v * 0.25
    return total


def hessian_against_torch(torch, module, net, x_numbers: list, seed: int = 0) -> list[list[float]]:
    """The Hessian of a quadratic loss of module(x) over (every input, every parameter), by
    autograd.grad with create_graph=True, equal within 1e-9 to PyTorch's from the same weights."""
    shape = _shape(x_numbers)
    x = _values(x_numbers)
    leaves = flat(x) + module.parameters()
    out = flat(module(x))
    coefficients = [random.Random(seed).uniform(-1, 1) for _ in out]
    firsts = autograd.grad(quadratic(out, coefficients), leaves, create_graph=True)
    hessian = [[g.data for g in autograd.grad(first, leaves)] for first in firsts]

    tx = torch.tensor(x_numbers).reshape(1, *shape).requires_grad_(True)
    tleaves = [tx, *net.parameters()]
    tout = list(net(tx).flatten().unbind())
    tfirsts = torch.cat([g.flatten() for g in torch.autograd.grad(quadratic(tout, coefficients), tleaves,
                                                                   create_graph=True)])
    assert [g.data for g in firsts] == pytest.approx(tfirsts.tolist(), **TOL)
    for i, (row, g) in enumerate(zip(hessian, tfirsts)):
        trow = torch.autograd.grad(g, tleaves, retain_graph=True, allow_unused=True)
        expected = [v for t, leaf in zip(trow, tleaves) for v in
                    (torch.zeros_like(leaf) if t is None else t).flatten().tolist()]
        assert row == pytest.approx(expected, **TOL), i
    return hessian


def _shape(x: object) -> tuple[int, ...]:
    return (len(x), *_shape(x[0])) if isinstance(x, list) else ()


def _values(x: object) -> object:
    return [_values(item) for item in x] if isinstance(x, list) else Value(x)


def numbers(shape: tuple[int, ...], seed: int) -> list:
    rng = random.Random(seed)
    return [[rng.uniform(-2, 2) for _ in range(shape[-1])] if len(shape) == 2 else numbers(shape[1:], rng.random())
            for _ in range(shape[0])]


@pytest.mark.parametrize("args", [
    dict(in_channels=2, out_channels=2, kernel_size=3, stride=2, padding=1),
    dict(in_channels=1, out_channels=2, kernel_size=2, activation="tanh"),
])
def test_conv1d_second_derivatives_equal_pytorch(torch, args):
    module = Conv1d(**args, seed=3)
    net = torch_conv(torch, module)
    if module.activation == "tanh":
        net = torch.nn.Sequential(net, torch.nn.Tanh())
    hessian = hessian_against_torch(torch, module, net, numbers((args["in_channels"], 5), seed=4))
    assert any(h != 0.0 for row in hessian for h in row)


@pytest.mark.parametrize("args", [
    dict(in_channels=2, out_channels=2, kernel_size=2, stride=(1, 2), padding=1),
    dict(in_channels=1, out_channels=2, kernel_size=(2, 1), activation="tanh", bias=False),
])
def test_conv2d_second_derivatives_equal_pytorch(torch, args):
    module = Conv2d(**args, seed=5)
    net = torch_conv(torch, module)
    if module.activation == "tanh":
        net = torch.nn.Sequential(net, torch.nn.Tanh())
    hessian_against_torch(torch, module, net, numbers((args["in_channels"], 3, 3), seed=6))


def test_max_pool_second_derivatives_at_ties_equal_pytorch_the_first_maximum_taking_all(torch):
    window_ties = [[[5.0, 5.0, 1.0, 2.0], [5.0, 0.0, 2.0, 2.0], [-1.0, -1.0, 3.0, 0.0], [-1.0, -1.0, 0.0, 3.0]]]
    hessian = hessian_against_torch(torch, MaxPool2d(2), torch.nn.MaxPool2d(2), window_ties, seed=7)
    chosen = [i for i, row in enumerate(hessian) if row[i] != 0.0]
    assert chosen == [0, 3, 8, 10]  # (0,0), (0,3), (2,0), (2,2): the first of each window, row by row
    assert all(hessian[i][i] == 0.5 for i in chosen)  # d2/do2 of o^2/4, where o is that input


def test_conv_gradients_and_second_derivatives_match_finite_differences():
    def loss(*leaves: Value) -> Value:
        conv, it = Conv1d(1, 2, 2, stride=1, padding=1, activation="tanh", seed=0), iter(leaves)
        conv.weight = [[next(it), next(it)] for _ in range(2)]
        conv.bias = [next(it), next(it)]
        out = flat(conv([[next(it) for _ in range(3)]]))
        return quadratic(out, [0.3 * k - 0.5 for k in range(len(out))])

    rng = random.Random(8)
    assert autograd.gradcheck(loss, [rng.uniform(-1, 1) for _ in range(9)], order=2)
