"""The order backpropagation walks a graph in: every node after all of its inputs.

`backward()` first lists the graph's nodes so that each comes after every input it was
computed from (a topological order), then runs the chain rule over that list from the end:
a node's gradient is complete before it is passed on. The walk must list each node exactly
once, however many paths lead to it, and must not recurse (graphs can be a million deep).
It goes down a run of one-input nodes (a chain) in one sweep, so the runs that end on a node
reached before, and the runs that sit above a node with several inputs, are tested here.

The random graphs are DAGs: a node may use any earlier node, so nodes are shared.
"""

from __future__ import annotations

import math

import pytest
from _reference import (
    all_nodes,
    engine_value_and_grad,
    finite_differences,
    matches_finite_differences,
    matches_torch,
    torch_value_and_grad,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, topological_order

pytestmark = pytest.mark.graph_order

N_INPUTS = 3

# A graph is a list of nodes; node k is (op, indices of earlier nodes), the inputs being nodes
# 0..N_INPUTS-1. "tanh" and friends on the node just before make long runs of one-input nodes;
# their inputs drawn from anywhere make runs end on nodes that other paths reach too.
UNARY = ["tanh", "sin", "*0.7", "+0.3"]
BINARY = ["+", "*"]


@st.composite
def graphs(draw, max_nodes: int = 25) -> list[tuple[str, tuple[int, ...]]]:
    nodes: list[tuple[str, tuple[int, ...]]] = []
    for k in range(draw(st.integers(1, max_nodes))):
        available = N_INPUTS + k
        earlier = st.integers(0, available - 1)
        kind = draw(st.sampled_from(["chain", "chain", "unary", "binary", "sum"]))
        if kind == "chain":
            nodes.append((draw(st.sampled_from(UNARY)), (available - 1,)))
        elif kind == "unary":
            nodes.append((draw(st.sampled_from(UNARY)), (draw(earlier),)))
        elif kind == "binary":
            nodes.append((draw(st.sampled_from(BINARY)), (draw(earlier), draw(earlier))))
        else:
            nodes.append(("sum", tuple(draw(st.lists(earlier, min_size=1, max_size=4)))))
    return nodes


POINTS = st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=N_INPUTS, max_size=N_INPUTS)


def evaluate(graph, inputs, tanh, sin, add_up):
    """The graph's last node, computed from `inputs` with the given functions (Values, floats or tensors)."""
    return every_node(graph, inputs, tanh, sin, add_up)[-1]


def every_node(graph, inputs, tanh, sin, add_up):
    values = list(inputs)
    for op, args in graph:
        a = [values[i] for i in args]
        if op == "tanh":
            values.append(tanh(a[0]))
        elif op == "sin":
            values.append(sin(a[0]))
        elif op == "*0.7":
            values.append(a[0] * 0.7)
        elif op == "+0.3":
            values.append(a[0] + 0.3)
        elif op == "+":
            values.append(a[0] + a[1])
        elif op == "*":
            values.append(a[0] * a[1])
        else:
            values.append(add_up(a))
    return values


def moderate(graph, point) -> bool:
    """Every node stays below 1e3 in size: a product of a node with itself, again and again,
    would overflow to inf, where finite differences mean nothing."""
    return all(abs(v) < 1e3 for v in every_node(graph, point, math.tanh, math.sin, math.fsum))


def on_values(graph):
    return lambda *xs: evaluate(graph, xs, Value.tanh, Value.sin, autograd.sum)


def on_floats(graph):
    return lambda *xs: evaluate(graph, xs, math.tanh, math.sin, math.fsum)


def walk(root: Value) -> list[Value]:
    return topological_order(root)


def assert_topological(order: list[Value], root: Value) -> None:
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node is listed twice"
    behind_root = {id(node) for node in all_nodes(root)}
    assert set(position) == behind_root, "the order misses a node or lists one root does not use"
    for node in order:
        for inp in node.inputs:
            assert position[id(inp)] < position[id(node)], f"{node.op} node listed before its input"
    assert order[-1] is root


# ---- the order -----------------------------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(graph=graphs(), point=POINTS)
def test_every_node_of_a_random_graph_is_listed_once_after_all_of_its_inputs(graph, point):
    assume(moderate(graph, point))
    root = on_values(graph)(*[Value(x) for x in point])
    assert_topological(walk(root), root)


def test_a_chain_that_runs_into_a_node_reached_before_is_listed_after_it():
    x = Value(0.5)
    shared = x.tanh()
    first = shared.exp().sin()  # whichever of these two chains is walked second
    second = shared.sin().tanh() * 2.0  # ends on `shared`, already listed
    root = first + second
    order = walk(root)
    assert_topological(order, root)
    assert len(order) == 8


def test_a_chain_above_a_node_with_pending_inputs_waits_for_them():
    a, b = Value(0.3), Value(-0.2)
    product = a.tanh() * b.sin()  # its inputs are walked after the chain above it is entered
    root = product.tanh().sin().exp()
    order = walk(root)
    assert_topological(order, root)
    assert [node.op for node in order][-4:] == ["*", "tanh", "sin", "exp"]


def test_a_leaf_alone_is_its_own_order():
    x = Value(1.0)
    assert walk(x) == [x]


def test_a_chain_of_200_000_one_input_nodes_is_walked_without_recursion():
    x = Value(0.1)
    y = x
    for _ in range(100_000):
        y = (y * 0.5).tanh()
    order = walk(y)
    assert len(order) == 200_001
    assert order[0] is x and order[-1] is y
    assert all(order[i] is order[i + 1].inputs[0] for i in range(len(order) - 1))


def test_the_same_graph_walked_twice_gives_the_same_order():
    x, w = Value(0.4), Value(-1.1)
    h = (x * w).tanh()
    root = (h + h.sin()) * h
    assert walk(root) == walk(root)


# ---- gradients through random graphs -------------------------------------------------------


@settings(deadline=None, max_examples=150)
@given(graph=graphs(), point=POINTS)
def test_random_graph_gradients_match_finite_differences(graph, point):
    assume(moderate(graph, point))
    _, grads = engine_value_and_grad(on_values(graph), point)
    assert grads == matches_finite_differences(finite_differences(on_floats(graph), point))


@settings(deadline=None, max_examples=100)
@given(graph=graphs(), point=POINTS)
def test_random_graph_gradients_match_pytorch(torch, graph, point):
    assume(moderate(graph, point))
    _, grads = engine_value_and_grad(on_values(graph), point)

    def on_tensors(*ts):
        return evaluate(graph, ts, torch.tanh, torch.sin, lambda a: torch.stack(a).sum())

    _, expected = torch_value_and_grad(torch, on_tensors, point)
    assert grads == matches_torch(expected)
