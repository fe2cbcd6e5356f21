"""Backpropagation through whole graphs: the chain rule, summed over every path.

    d(root)/d(node) = sum over the nodes `out` that use `node` of  d(root)/d(out) * d(out)/d(node)

`backward()` adds that number to every node's `.grad` (root and intermediate nodes included);
`autograd.grad()` returns it for chosen nodes and touches no `.grad`.
"""

from __future__ import annotations

import gc
import math
import weakref

import pytest
from _reference import (
    all_nodes,
    engine_value_and_grad,
    finite_differences,
    matches_finite_differences,
    matches_torch,
    torch_value_and_grad,
)

import autograd
from autograd import Value

pytestmark = pytest.mark.chain_rule


# ---- compound expressions: the same on Values, plain floats and tensors -------------------
# Each uses only operators, so one function serves all three; sharing is written in on purpose.


def diamond(x, y):
    """u = x*y is used by two branches that meet again: d/dx sums both paths."""
    u = x * y
    return (u + 1) * (u - x) / (y * y + 1)


def neuron(x1, x2, w1, w2, b):
    """x1 w1 + x2 w2 + b, squashed: n is used twice by a rational tanh-like squash."""
    n = x1 * w1 + x2 * w2 + b
    return n / (1 + n * n) ** 0.5


def reuse_many_times(x):
    """One Value feeding a dozen nodes."""
    total = x
    for k in range(1, 12):
        total = total + x**2 / k - x * k
    return total * x


def nested_powers(a, b):
    """Value exponents, shared bases, and a constant on every side."""
    c = a**b
    return c * a - 2 / c + b ** (a / 2) - 3**a


EXPRESSIONS = [
    pytest.param(diamond, [1.5, -0.5], id="diamond"),
    pytest.param(diamond, [-2.0, 3.0], id="diamond-2"),
    pytest.param(neuron, [0.5, -1.5, 2.0, 0.3, -0.1], id="neuron"),
    pytest.param(reuse_many_times, [0.7], id="reuse"),
    pytest.param(nested_powers, [1.3, 2.2], id="powers"),
]


@pytest.mark.parametrize(("f", "point"), EXPRESSIONS)
def test_compound_expression_gradient_matches_finite_differences(f, point):
    value, grads = engine_value_and_grad(f, point)
    assert value == f(*point)
    assert grads == matches_finite_differences(finite_differences(f, point))


@pytest.mark.parametrize(("f", "point"), EXPRESSIONS)
def test_compound_expression_gradient_matches_pytorch(torch, f, point):
    value, grads = engine_value_and_grad(f, point)
    torch_value, torch_grads = torch_value_and_grad(torch, f, point)
    assert value == matches_torch(torch_value)
    assert grads == matches_torch(torch_grads)


def test_functions_of_functions_match_pytorch(torch):
    # tanh(sigmoid(e^x) * log(y)) + sqrt(|sin(x) cos(y)|) + relu(x - y)
    def f(x, y):
        return (x.exp().sigmoid() * y.log()).tanh() + abs(x.sin() * y.cos()).sqrt() + (x - y).relu()

    def plain(x, y):
        sigmoid = 1 / (1 + math.exp(-math.exp(x)))
        return math.tanh(sigmoid * math.log(y)) + math.sqrt(abs(math.sin(x) * math.cos(y))) + max(x - y, 0.0)

    for point in ([0.3, 1.7], [1.1, 0.4], [-0.8, 2.9]):
        value, grads = engine_value_and_grad(f, point)
        assert value == matches_finite_differences(plain(*point))
        assert grads == matches_finite_differences(finite_differences(plain, point))
        torch_value, torch_grads = torch_value_and_grad(torch, f, point)
        assert value == matches_torch(torch_value)
        assert grads == matches_torch(torch_grads)


def test_one_value_used_many_times_sums_every_use():
    x = Value(0.5)
    autograd.sum([x] * 1000).backward()
    assert x.grad == 1000.0


def test_a_power_built_from_repeated_products_matches_n_x_to_the_n_minus_1(torch):
    def power_31(x):
        y = x
        for _ in range(30):
            y = y * x
        return y

    _, (d,) = engine_value_and_grad(power_31, [1.01])
    assert d == matches_finite_differences(31 * 1.01**30)
    assert d == matches_torch(torch_value_and_grad(torch, power_31, [1.01])[1][0])


def test_shared_nodes_are_visited_once_so_doubling_diamonds_stay_cheap():
    # 80 stacked diamonds: 2**80 paths from root to x, but only 81 nodes to visit
    x = Value(1.0)
    y = x
    for _ in range(80):
        y = y + y
    y.backward()
    assert x.grad == 2.0**80
    assert y.data == 2.0**80


# ---- depth ---------------------------------------------------------------------------------


def test_a_chain_of_100_000_nodes_backpropagates_without_recursion_error():
    x = Value(1.0)
    y = x
    for i in range(100_000):
        y = y * 1.00001 if i % 2 else y + 0.5
    y.backward()
    assert x.grad == pytest.approx(1.00001**50_000, rel=1e-9)
    assert y.grad == 1.0


def test_grad_through_a_chain_of_100_000_nodes_without_recursion_error():
    x = Value(0.0)
    y = x
    for _ in range(100_000):
        y = y.sin()  # sin(sin(...)), slope 1 at 0 for every link
    assert autograd.grad(y, [x])[0].data == 1.0


# ---- accumulation --------------------------------------------------------------------------


def _graph_with_sharing():
    a, b = Value(0.8, label="a"), Value(-1.3, label="b")
    c = a * b
    d = (c + a).tanh()
    e = d * c - b.exp() / (a * a + 1)
    return (a, b), e


def test_root_and_intermediate_nodes_get_their_gradients(torch):
    (a, b), e = _graph_with_sharing()
    e.backward()
    assert e.grad == 1.0

    ta = torch.tensor(a.data, requires_grad=True)
    tb = torch.tensor(b.data, requires_grad=True)
    tc = ta * tb
    td = (tc + ta).tanh()
    te = td * tc - tb.exp() / (ta * ta + 1)
    for t in (tc, td):
        t.retain_grad()
    te.backward()

    c = e.inputs[0].inputs[1]  # e = (d * c) - ..., so the product node's second input is c
    d = e.inputs[0].inputs[0]
    assert (c.op, d.op) == ("*", "tanh")
    assert [a.grad, b.grad, c.grad, d.grad] == matches_torch([t.grad.item() for t in (ta, tb, tc, td)])


def test_backward_twice_doubles_every_gradient_exactly():
    _, e = _graph_with_sharing()
    nodes = all_nodes(e)
    e.backward()
    once = [node.grad for node in nodes]
    e.backward()
    assert [node.grad for node in nodes] == [2 * g for g in once]
    assert e.grad == 2.0


def test_backward_from_two_roots_adds_up():
    x = Value(3.0)
    (x * x).backward()
    (x * 5).backward()
    assert x.grad == 2 * 3.0 + 5.0


def test_backward_of_a_leaf_gives_it_gradient_one():
    x = Value(4.0)
    x.backward()
    assert x.grad == 1.0


def test_an_input_the_output_does_not_use_keeps_gradient_zero():
    x, unused = Value(2.0), Value(5.0)
    (x * 3).backward()
    assert unused.grad == 0.0


# ---- autograd.grad ---------------------------------------------------------------------------


def test_grad_matches_backward_and_touches_no_grad():
    (a, b), e = _graph_with_sharing()
    nodes = all_nodes(e)
    grads = autograd.grad(e, [a, b])
    assert all(node.grad == 0.0 for node in nodes)
    e.backward()
    assert [g.data for g in grads] == [a.grad, b.grad]


def test_grad_leaves_earlier_gradients_alone():
    (a, b), e = _graph_with_sharing()
    e.backward()
    before = [node.grad for node in all_nodes(e)]
    autograd.grad(e, [a, b])
    autograd.grad(e, [a], create_graph=True)
    assert [node.grad for node in all_nodes(e)] == before


def test_grad_returns_values_in_the_order_asked():
    x, y = Value(2.0), Value(3.0)
    z = x * x * y
    dy, dx = autograd.grad(z, [y, x])
    assert (dy.data, dx.data) == (4.0, 12.0)
    assert isinstance(dx, Value) and isinstance(dy, Value)


def test_grad_of_a_value_with_respect_to_itself_is_one():
    x = Value(7.0)
    (g,) = autograd.grad(x, [x])
    assert isinstance(g, Value) and g.data == 1.0
    y = x.tanh()
    assert autograd.grad(y, [y])[0].data == 1.0


def test_grad_with_respect_to_an_input_the_output_does_not_use_is_zero():
    x, unused = Value(2.0), Value(5.0)
    y = x * 3
    assert [g.data for g in autograd.grad(y, [x, unused])] == [3.0, 0.0]
    assert autograd.grad(y, [unused], create_graph=True)[0].data == 0.0


def test_grad_with_respect_to_an_intermediate_node_matches_pytorch(torch):
    x = Value(0.6)
    h = x.sin() * x
    y = (h * h + h).exp()
    (dh,) = autograd.grad(y, [h])

    tx = torch.tensor(0.6, requires_grad=True)
    th = tx.sin() * tx
    ty = (th * th + th).exp()
    (torch_dh,) = torch.autograd.grad(ty, [th])
    assert dh.data == matches_torch(torch_dh.item())


@pytest.mark.parametrize("bad", [[1.0], 2.0, "x"], ids=["list-of-float", "float", "str"])
def test_grad_rejects_inputs_that_are_not_values(bad):
    with pytest.raises(TypeError):
        autograd.grad(Value(1.0) * 2, bad)


def test_grad_rejects_an_output_that_is_not_a_value():
    with pytest.raises(TypeError, match="float"):
        autograd.grad(1.0, [Value(1.0)])


# ---- memory: graphs are plain trees of references, freed without the cycle collector ---------


def _weak_graph(after) -> tuple[Value, list[weakref.ref]]:
    (a, b), e = _graph_with_sharing()
    after(e, a, b)
    return e, [weakref.ref(node) for node in all_nodes(e)]


@pytest.mark.parametrize(
    "after",
    [
        lambda e, a, b: None,
        lambda e, a, b: e.backward(),
        lambda e, a, b: autograd.grad(e, [a, b]),
        lambda e, a, b: autograd.grad(autograd.grad(e, [a], create_graph=True)[0], [a, b]),
    ],
    ids=["built", "after-backward", "after-grad", "after-create-graph"],
)
def test_a_dropped_graph_is_freed_by_reference_counting(after):
    gc.disable()
    try:
        root, refs = _weak_graph(after)
        assert all(ref() is not None for ref in refs)
        del root
        assert [ref() for ref in refs] == [None] * len(refs)
    finally:
        gc.enable()


def test_backward_in_many_threads_at_once_gives_every_thread_its_exact_gradients():
    # backward() sums into a scratch slot on each node; threads sharing weights must not mix them up
    import sys
    import threading

    w = [Value(0.1 * (i + 1)) for i in range(8)]
    rounds, threads, terms = 10, 4, 200
    grads_seen: list[list[float]] = []

    def train(seed: int) -> None:
        for r in range(rounds):
            xs = [seed + r + 0.5 * i for i in range(8)]
            # many paths into the shared weights, so one backward() spans many thread switches
            loss = autograd.sum([w[i % 8] * xs[i % 8] for i in range(terms)])
            got = autograd.grad(loss, w)
            grads_seen.append([g.data for g in got] + [terms // 8 * sum(xs)])
            loss.backward()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to give a race every chance
    try:
        workers = [threading.Thread(target=train, args=(k,)) for k in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    # d loss / d w_i = (terms/8) x_i for each call, so grad() saw exactly its own inputs ...
    assert len(grads_seen) == rounds * threads
    for row in grads_seen:
        assert sum(row[:-1]) == pytest.approx(row[-1], rel=1e-12)
    # ... and .grad holds the sum over every backward() of every thread
    expected = [terms // 8 * sum(k + r + 0.5 * i for k in range(threads) for r in range(rounds)) for i in range(8)]
    assert [wi.grad for wi in w] == pytest.approx(expected, rel=1e-12)
