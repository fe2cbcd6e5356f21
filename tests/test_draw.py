"""draw_dot: what the picture of a computation graph contains, and that Graphviz really renders it.

The DOT source is read back with a few regular expressions: one box per Value (ids v<i>), one
oval per op (o<i>), one box per collapsed scope (s<i>), edges input -> op -> output.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import textwrap
import time
import warnings
import xml.etree.ElementTree as ET

import graphviz
import pytest

import autograd
from autograd import Value, draw_dot, scope
from autograd.draw import GraphRenderTimeoutError, GraphTooLargeError, GraphvizNotFoundError

pytestmark = pytest.mark.graph

NODE = re.compile(r"^\s*([vos]\d+) \[(.*)\]$")
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$")


def nodes(source: str) -> dict[str, str]:
    """node id -> its attribute text."""
    return {m[1]: m[2] for line in source.splitlines() if (m := NODE.match(line))}


def edges(source: str) -> list[tuple[str, str, str]]:
    return [(m[1], m[2], m[3] or "") for line in source.splitlines() if (m := EDGE.match(line))]


def op_labels(source: str) -> list[str]:
    """What each op oval says, in drawing order."""
    return [re.match(r'label="?([^"]*?)"? color=', a)[1] for n, a in nodes(source).items() if n.startswith("o")]


def text(attrs: str) -> str:
    """The words a box shows, its HTML tags removed."""
    label = re.match(r"label=<(.*)> shape=", attrs)[1]
    return " ".join(re.sub(r"<[^>]*>", " ", label).split())


def node_labelled(source: str, label: str) -> str:
    (found,) = [n for n, a in nodes(source).items() if n.startswith("v") and text(a).startswith(label + " data")]
    return found


def clusters(source: str) -> list[tuple[str, str | None, set[str]]]:
    """(label, enclosing cluster's label, ids of the nodes directly inside) for each cluster."""
    found: list[tuple[str, str | None, set[str]]] = []
    stack: list[tuple[str, str | None, set[str]]] = []
    for line in source.splitlines():
        if line.strip().startswith("subgraph cluster_"):
            stack.append(("", stack[-1][0] if stack else None, set()))
        elif line.strip() == "}" and stack:
            found.append(stack.pop())
        elif stack and line.strip().startswith("graph ["):
            label = re.search(r'label=("[^"]*"|\w+)', line)[1].strip('"')
            stack[-1] = (label, stack[-1][1], stack[-1][2])
        elif stack and (m := NODE.match(line)):
            stack[-1][2].add(m[1])
    return found


def cluster(source: str, label: str) -> tuple[str | None, set[str]]:
    (found,) = [(parent, members) for name, parent, members in clusters(source) if name == label]
    return found


def neuron() -> tuple[Value, dict[str, Value]]:
    """o = tanh(x1 w1 + x2 w2 + b), with the numbers of the well-known neuron example."""
    v = {name: Value(x, label=name) for name, x in
         [("x1", 2.0), ("x2", 0.0), ("w1", -3.0), ("w2", 1.0), ("b", 6.8813735870195432)]}
    n = v["x1"] * v["w1"] + v["x2"] * v["w2"] + v["b"]
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o, v


def small_mlp() -> Value:
    """A 2-3-1 network built with scopes MLP > Layer i > Neuron j; weights made outside any scope."""
    xs = [Value(1.0, label="x1"), Value(-2.0, label="x2")]
    weights = [[[Value(0.1 * (i + j + k + 1)) for k in range(n_in + 1)] for j in range(n_out)]
               for i, (n_in, n_out) in enumerate([(2, 3), (3, 1)])]
    h = xs
    with scope("MLP"):
        for i, layer in enumerate(weights):
            with scope(f"Layer {i}"):
                outs = []
                for j, w in enumerate(layer):
                    with scope(f"Neuron {j}"):
                        act = sum((wk * hk for wk, hk in zip(w, h)), w[-1])
                        outs.append(act.tanh() if i == 0 else act)
                h = outs
    loss = (h[0] - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return loss




# ---- structure -------------------------------------------------------------------------


def test_one_box_per_value_and_one_oval_per_op():
    o, _ = neuron()
    src = draw_dot(o).source
    found = nodes(src)
    # 5 leaves, x1*w1, x2*w2, (x1w1 + x2w2), n, o: 10 Values made by 5 ops
    assert sum(n.startswith("v") for n in found) == 10
    assert sum(n.startswith("o") for n in found) == 5
    # every op has its inputs (2, 2, 2, 2, 1) coming in and one edge out to its result
    assert len(edges(src)) == 9 + 5


# An op with a number shows it where it stands in the expression, the Value's place left out.
NUMBER_OPS = {
    "x + 0.0001": (lambda x: x + 0.0001, "+ 0.0001"),
    "0.0001 + x": (lambda x: 0.0001 + x, "+ 0.0001"),
    "x - 2": (lambda x: x - 2, "- 2"),
    "2 - x": (lambda x: 2 - x, "2 -"),
    "x * 1.0001": (lambda x: x * 1.0001, "* 1.0001"),
    "1.0001 * x": (lambda x: 1.0001 * x, "* 1.0001"),
    "x * -0.5": (lambda x: x * -0.5, "* -0.5"),
    "x / 2": (lambda x: x / 2, "/ 2"),
    "2 / x": (lambda x: 2 / x, "2 /"),
    "2 ** x": (lambda x: 2**x, "2 **"),
    "x ** 2": (lambda x: x**2, "** 2"),
    "x ** 0.5": (lambda x: x**0.5, "** 0.5"),
    "x.leaky_relu(0.1)": (lambda x: x.leaky_relu(0.1), "leaky_relu slope=0.1"),
    "x.leaky_relu()": (lambda x: x.leaky_relu(), "leaky_relu slope=0.01"),
}


@pytest.mark.parametrize("f, oval", NUMBER_OPS.values(), ids=NUMBER_OPS.keys())
def test_an_ops_number_is_written_in_its_op_node(f, oval):
    assert op_labels(draw_dot(f(Value(3.0, label="x"))).source) == [oval]


def test_an_op_between_values_shows_only_its_name():
    x, y = Value(3.0), Value(2.0)
    assert op_labels(draw_dot(((x - y) / y) ** x).source) == ["-", "/", "**"]


def test_a_number_makes_no_value_box_of_its_own():
    x = Value(3.0, label="x")
    src = draw_dot(x * 2 + 1).source
    assert sum(n.startswith("v") for n in nodes(src)) == 3  # x, x * 2 and x * 2 + 1
    assert op_labels(src) == ["* 2", "+ 1"]
    assert len(edges(src)) == 4  # x -> (* 2) -> x * 2 -> (+ 1) -> x * 2 + 1


def test_an_ops_number_is_shown_as_written_when_short_and_to_4_digits_when_long():
    x = Value(3.0)
    assert op_labels(draw_dot(x * 1.0001).source) == ["* 1.0001"]  # 4 digits would say "* 1": a no-op
    assert op_labels(draw_dot(x * 123456).source) == ["* 123456"]
    assert op_labels(draw_dot(x * math.pi).source) == ["* 3.142"]
    assert op_labels(draw_dot(x + (0.1 + 0.2)).source) == ["+ 0.3"]  # 0.30000000000000004


def test_edges_run_from_inputs_through_the_op_to_the_output():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    y = x * w
    y.label = "y"
    src = draw_dot(y).source
    op = next(n for n in nodes(src) if n.startswith("o"))
    pairs = {(a, b) for a, b, _ in edges(src)}
    assert pairs == {(node_labelled(src, "x"), op), (node_labelled(src, "w"), op), (op, node_labelled(src, "y"))}
    assert 'label="*"' in nodes(src)[op]


def test_boxes_show_label_data_and_grad_to_four_significant_digits():
    o, _ = neuron()
    src = draw_dot(o).source
    assert text(nodes(src)[node_labelled(src, "x1")]) == "x1 data 2 grad -1.5"  # do/dx1 = w1 (1 - o^2)
    assert text(nodes(src)[node_labelled(src, "w2")]) == "w2 data 1 grad 0"  # x2 = 0
    # o = tanh(0.88137...) = 1/sqrt(2) = 0.70710678...
    assert text(nodes(src)[node_labelled(src, "o")]) == "o data 0.7071 grad 1"
    assert text(nodes(src)[node_labelled(src, "b")]) == "b data 6.881 grad 0.5"


def test_a_value_without_a_label_shows_data_and_grad_only():
    x = Value(3.0)
    y = x * x
    src = draw_dot(y).source
    assert {text(a) for n, a in nodes(src).items() if n.startswith("v")} == {"data 3 grad 0", "data 9 grad 0"}


def test_a_value_used_several_times_is_drawn_once_with_one_edge_per_use():
    x = Value(3.0, label="x")
    y = x * x + x
    src = draw_dot(y).source
    x_id = node_labelled(src, "x")
    assert sum(n.startswith("v") for n in nodes(src)) == 3  # x, x*x, y
    assert sum(a == x_id for a, _, _ in edges(src)) == 3  # twice into *, once into +


def test_labels_with_markup_characters_are_escaped():
    x = Value(1.0, label="a<b & c>")
    src = draw_dot(x * 2).source
    assert "a&lt;b &amp; c&gt;" in src


def test_the_same_graph_always_gives_the_same_source():
    assert draw_dot(neuron()[0]).source == draw_dot(neuron()[0]).source  # two separate graphs
    o, _ = neuron()
    assert draw_dot(o, grad_colors=True, local_grads=True).source == draw_dot(
        o, grad_colors=True, local_grads=True).source


def test_node_ids_come_from_the_traversal_not_memory_addresses():
    o, v = neuron()
    src = draw_dot(o).source
    assert set(nodes(src)) == {f"v{i}" for i in range(10)} | {f"o{i}" for i in (2, 5, 6, 8, 9)}
    assert str(id(v["x1"])) not in src


def test_the_picture_lists_inputs_in_program_order():
    o, _ = neuron()
    src = draw_dot(o).source
    assert int(node_labelled(src, "x1")[1:]) < int(node_labelled(src, "w1")[1:]) < int(node_labelled(src, "x2")[1:])


def test_rankdir_is_passed_to_graphviz():
    o, _ = neuron()
    assert "rankdir=TB" in draw_dot(o, "TB").source
    assert "rankdir=LR" in draw_dot(o).source


def test_draw_dot_returns_a_graphviz_digraph():
    assert isinstance(draw_dot(neuron()[0]), graphviz.Digraph)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"root": 3.0}, TypeError, "root must be a Value"),
        ({"rankdir": "diagonal"}, ValueError, "rankdir"),
        ({"max_nodes": 0}, ValueError, "max_nodes"),
        ({"max_nodes": 10.5}, ValueError, "max_nodes"),
        ({"collapse": 0}, ValueError, "collapse depth"),
        ({"collapse": True}, TypeError, "bool"),
        ({"collapse": 2.5}, TypeError, "float"),
        ({"collapse": ""}, ValueError, "non-empty"),
        ({"collapse": ["Layer", 3]}, ValueError, "non-empty strings"),
    ],
)
def test_bad_arguments_give_clear_errors(kwargs, error, words):
    root = kwargs.pop("root", neuron()[0])
    with pytest.raises(error, match=words):
        draw_dot(root, **kwargs)


# ---- size limit -------------------------------------------------------------------------


def test_a_100000_node_chain_is_refused_by_the_limit_with_advice_and_no_recursion():
    h = Value(0.5, label="x")
    for _ in range(100_000):  # deeper than Python's recursion limit: recursion would fail here
        h = -h
    with pytest.raises(GraphTooLargeError) as info:
        draw_dot(h)
    message = str(info.value)
    assert "200,001 nodes" in message  # 100,001 Values and 100,000 ops
    assert "max_nodes=500" in message and "max_nodes=200001" in message
    assert "autograd.scope" in message  # this chain has no scopes to collapse: say how to get some


def test_a_graph_just_under_the_limit_is_drawn_and_raising_the_limit_allows_more():
    h = Value(0.5)
    for _ in range(249):
        h = -h
    assert len(nodes(draw_dot(h).source)) == 250 + 249  # 499 <= 500
    h = -h
    with pytest.raises(GraphTooLargeError):
        draw_dot(h)
    assert len(nodes(draw_dot(h, max_nodes=501).source)) == 501


def test_the_limit_counts_the_boxes_left_after_collapsing():
    loss = small_mlp()
    full = len(nodes(draw_dot(loss).source))
    with pytest.raises(GraphTooLargeError, match="collapse=1 .* collapse=3"):
        draw_dot(loss, max_nodes=full - 1)
    collapsed = draw_dot(loss, collapse=2, max_nodes=full - 1).source
    assert len(nodes(collapsed)) < full


# ---- scopes: clusters and collapsed boxes ---------------------------------------------------


def test_clusters_nest_like_the_scopes():
    src = draw_dot(small_mlp()).source
    assert cluster(src, "MLP")[0] is None
    assert cluster(src, "Layer 0")[0] == "MLP" and cluster(src, "Layer 1")[0] == "MLP"
    assert sorted(name for name, parent, _ in clusters(src) if parent == "Layer 0") == [f"Neuron {j}" for j in range(3)]
    assert [name for name, parent, _ in clusters(src) if parent == "Layer 1"] == ["Neuron 0"]


def test_a_neuron_cluster_holds_its_weights_and_ops_but_not_the_shared_inputs():
    loss = small_mlp()
    src = draw_dot(loss).source
    layer0 = [members for _, parent, members in clusters(src) if parent == "Layer 0"]
    for members in layer0:
        # 3 weights (made outside any scope, used only here) + 2 products + 2 sums + tanh output, and 5 ops
        assert sum(n.startswith("v") for n in members) == 3 + 2 + 2 + 1
        assert sum(n.startswith("o") for n in members) == 5
    inside = set().union(*(members for _, _, members in clusters(src)))
    assert node_labelled(src, "x1") not in inside and node_labelled(src, "loss") not in inside


def test_clusters_false_draws_no_cluster():
    assert "subgraph" not in draw_dot(small_mlp(), clusters=False).source


def test_collapse_by_depth_draws_each_layer_as_one_box_with_its_outputs():
    loss = small_mlp()
    src = draw_dot(loss, collapse=2).source
    boxes = {n: text(a) for n, a in nodes(src).items() if n.startswith("s")}
    assert len(boxes) == 2
    layer0 = next(n for n, t in boxes.items() if t.startswith("Layer 0"))
    layer1 = next(n for n, t in boxes.items() if t.startswith("Layer 1"))
    assert "3 outputs" not in boxes[layer0] and boxes[layer0].count("data ") == 3  # three neurons' tanh
    pairs = {(a, b) for a, b, _ in edges(src)}
    assert (node_labelled(src, "x1"), layer0) in pairs and (layer0, layer1) in pairs
    assert len([p for p in pairs if p == (layer0, layer1)]) == 1  # three values, one edge
    assert cluster(src, "MLP")[1] == {layer0, layer1}


def test_collapse_by_depth_one_draws_the_whole_model_as_one_box():
    src = draw_dot(small_mlp(), collapse=1).source
    boxes = [text(a) for n, a in nodes(src).items() if n.startswith("s")]
    assert len(boxes) == 1 and boxes[0].startswith("MLP")
    assert "subgraph" not in src


def test_collapse_by_name_matches_numbered_scopes_only():
    loss = small_mlp()
    src = draw_dot(loss, collapse="Neuron").source
    assert sum(n.startswith("s") for n in nodes(src)) == 4
    assert not any(n.startswith("s") for n in nodes(draw_dot(loss, collapse="Neur").source))
    both = draw_dot(loss, collapse=["Layer 1", "Neuron"]).source
    assert sorted(text(a).split(" ")[0] + text(a).split(" ")[1] for n, a in nodes(both).items()
                  if n.startswith("s")) == ["Layer1", "Neuron0", "Neuron1", "Neuron2"]


def mlp_loss(sizes: list[int], rankdir_seed: int = 1) -> Value:
    from nn import MLP

    model = MLP(2, sizes, activation="tanh", seed=rankdir_seed)
    out = model([Value(0.5, label="x1"), Value(-1.0, label="x2")])
    loss = sum(((o - 1.0) ** 2 for o in (out if isinstance(out, list) else [out])), Value(0.0))
    loss.backward()
    return loss


def neuron_boxes_by_layer(source: str) -> dict[str, list[str]]:
    """Layer label -> ids of its collapsed neuron boxes, in the order the DOT source lists them."""
    found = {}
    for name, _, members in clusters(source):
        if name.startswith("Layer"):
            found[name] = [n for n in nodes(source) if n in members]  # nodes() keeps the source order
    return found


def test_collapsed_boxes_are_listed_in_program_order():
    src = draw_dot(small_mlp(), collapse="Neuron").source
    layer0 = neuron_boxes_by_layer(src)["Layer 0"]
    assert [text(nodes(src)[n]).split(" ")[1] for n in layer0] == ["0", "1", "2"]


def drawn_positions(picture) -> dict[str, tuple[float, float]]:
    """Node id -> centre (x, y) in the rendered picture, y growing downwards (dot's plain output flipped)."""
    found = {}
    for line in picture.pipe(format="plain", encoding="utf-8").splitlines():
        if line.startswith("node "):
            name, x, y = line.split()[1:4]
            found[name] = (float(x), -float(y))
    return found


@pytest.mark.parametrize("rankdir", ["LR", "TB", "RL", "BT"])
@pytest.mark.parametrize("sizes", [[3, 3, 1], [5, 3, 2], [6, 6, 1], [2, 2, 2, 2, 1]], ids=str)
def test_collapsed_neurons_are_drawn_in_reading_order(dot_program, rankdir, sizes):
    # dot's crossing minimisation used to shuffle them: neuron 1, 2, 0
    picture = draw_dot(mlp_loss(sizes), rankdir, collapse="Neuron")
    where = drawn_positions(picture)
    across = 1 if rankdir in ("LR", "RL") else 0  # neurons of a layer stand top to bottom, or left to right
    for layer, boxes in neuron_boxes_by_layer(picture.source).items():
        labels = [text(nodes(picture.source)[b]).split(" ")[1] for b in boxes]
        assert labels == [str(j) for j in range(len(boxes))], layer
        coordinates = [where[b][across] for b in boxes]
        assert coordinates == sorted(coordinates), f"{layer}: {labels} drawn at {coordinates}"


def test_boxes_one_after_the_other_are_not_pinned_side_by_side():
    src = draw_dot(small_mlp(), collapse=2).source  # Layer 0 feeds Layer 1: two levels, no row
    assert "rank=same" not in src and "remincross" not in src
    assert "rank=same" in draw_dot(small_mlp(), collapse="Neuron").source  # the three neurons of Layer 0


def test_a_collapsed_box_shows_the_data_and_grad_of_its_output():
    x = Value(0.5, label="x")
    with scope("Neuron"):
        y = (x * 2.0).tanh()
    y.label = "y"
    y.backward()
    src = draw_dot(y, collapse="Neuron").source
    (box,) = [text(a) for n, a in nodes(src).items() if n.startswith("s")]
    # y = tanh(1) = 0.76159...; grad 1
    assert box.startswith("Neuron") and "y data 0.7616 grad 1" in box


def test_a_collapsed_box_lists_an_op_with_its_number_on_the_left_by_its_symbol():
    x = Value(1.5, label="x")
    with scope("Block"):
        y = (2 - x) / (2**x)
    src = draw_dot(y, collapse="Block").source
    (box,) = [text(a) for n, a in nodes(src).items() if n.startswith("s")]
    assert "values · -, **, /" in box  # not "rsub, rpow", the engine's names for 2 - x and 2 ** x


# ---- colours -------------------------------------------------------------------------------


def fill(attrs: str) -> tuple[int, int, int]:
    color = re.search(r'bgcolor="#([0-9a-f]{6})"', attrs)[1]
    return tuple(int(color[i : i + 2], 16) for i in (0, 2, 4))


def luminance(rgb: tuple[int, int, int]) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def test_gradient_colours_brighten_with_log_gradient_magnitude_and_grey_means_zero():
    x = Value(0.5, label="x")
    h = x
    for i in range(6):  # each sigmoid shrinks the gradient by 4x or more: 6 levels span > 3 decades
        h = h.sigmoid()
        h.label = f"h{i}"
    unused = Value(2.0, label="zero")
    root = h + unused * 0.0  # d root / d zero = 0
    root.label = "root"
    root.backward()
    src = draw_dot(root, grad_colors=True).source
    chain = [x] + [node for node in _chain(h)]
    brightness = [luminance(fill(nodes(src)[node_labelled(src, v.label)])) for v in chain]
    assert brightness == sorted(brightness) and len(set(brightness)) == len(brightness)
    grey = fill(nodes(src)[node_labelled(src, "zero")])
    assert grey[0] == grey[1] == grey[2]
    assert "|grad|" in src  # the legend


def _chain(h: Value) -> list[Value]:
    out = []
    while h.inputs:
        out.append(h)
        h = h.inputs[0]
    return list(reversed(out))


def test_equal_gradients_get_equal_colours():
    a, b = Value(1.0, label="a"), Value(1.0, label="b")
    y = a + b
    y.backward()
    src = draw_dot(y, grad_colors=True).source
    assert fill(nodes(src)[node_labelled(src, "a")]) == fill(nodes(src)[node_labelled(src, "b")])


def is_red(rgb: tuple[int, int, int]) -> bool:
    return rgb[0] > 180 and rgb[1] < 80 and rgb[2] < 80


@pytest.mark.parametrize("grad_colors", [False, True])
def test_nan_and_inf_data_or_grad_are_drawn_red(grad_colors):
    c = Value(math.inf, label="c")
    a = Value(0.0, label="a")
    d = c * a  # inf * 0 = nan
    d.label = "d"
    fine = Value(1.0, label="fine")
    y = d + fine
    y.backward()  # a.grad = c = inf
    src = draw_dot(y, grad_colors=grad_colors).source
    for label in ("c", "a", "d"):
        assert is_red(fill(nodes(src)[node_labelled(src, label)]))
    assert not is_red(fill(nodes(src)[node_labelled(src, "fine")]))
    assert "data NaN" in text(nodes(src)[node_labelled(src, "d")])
    assert "grad inf" in text(nodes(src)[node_labelled(src, "a")])


def test_a_collapsed_box_hiding_a_nan_is_red():
    x = Value(-1.0, label="x")
    with scope("Block"):
        y = x * math.nan + 1.0
    src = draw_dot(y, collapse="Block").source
    (box,) = [a for n, a in nodes(src).items() if n.startswith("s")]
    assert is_red(fill(box)) and "contains NaN/inf" in text(box)


def test_local_derivatives_label_the_input_edges():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    y = (x * w).tanh()
    src = draw_dot(y, local_grads=True).source
    labels = {a: re.search(r'label="?([^" \]]+)', attrs)[1] for a, _, attrs in edges(src) if "label" in attrs}
    assert labels[node_labelled(src, "x")] == "-3"  # d(xw)/dx = w
    assert labels[node_labelled(src, "w")] == "2"  # d(xw)/dw = x
    # d tanh(u)/du = 1 - tanh(-6)^2 = 2.4576e-05
    assert [v for k, v in labels.items() if k not in (node_labelled(src, "x"), node_labelled(src, "w"))] == [
        f"{1 - math.tanh(-6.0) ** 2:.4g}"]
    assert not any("label" in attrs for _, _, attrs in edges(draw_dot(y).source))


# ---- rendering with the real Graphviz ---------------------------------------------------------


def test_svg_rendering_parses_as_xml_and_shows_the_labels(dot_program, tmp_path):
    o, _ = neuron()
    path = draw_dot(o, grad_colors=True, local_grads=True).render(outfile=tmp_path / "neuron.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    words = " ".join(t.strip() for t in root.itertext() if t.strip())
    for expected in ("x1", "data 2", "grad -1.5", "o", "data 0.7071", "tanh", "|grad|"):
        assert expected in words


def test_png_rendering_has_a_png_header(dot_program, tmp_path):
    data = draw_dot(small_mlp(), collapse="Neuron").pipe(format="png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    path = draw_dot(neuron()[0]).render(outfile=tmp_path / "neuron.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def jupyter_bundle(obj) -> tuple[dict, dict]:
    """What IPython's display machinery makes of obj in a notebook: (data by mime type, metadata)."""
    from IPython.core.formatters import DisplayFormatter

    return DisplayFormatter().format(obj)


def test_jupyter_gets_svg_and_a_png_for_viewers_that_show_no_svg(dot_program):
    data, metadata = jupyter_bundle(draw_dot(neuron()[0]))
    assert "<svg" in data["image/svg+xml"]
    width, height = png_size(data["image/png"])  # untrusted JupyterLab and VS Code show this one
    shown = metadata["image/png"]
    points = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', data["image/svg+xml"])
    assert shown == {"width": round(float(points[1]) * 4 / 3), "height": round(float(points[2]) * 4 / 3)}
    # twice the pixels of the size it is shown at: sharp on high-density screens
    assert abs(width - 2 * shown["width"]) <= 2 and abs(height - 2 * shown["height"]) <= 2


def test_a_huge_picture_gets_fewer_pixels_per_point(dot_program, monkeypatch):
    monkeypatch.setattr("autograd.draw.picture._PNG_MAX_PIXELS", 40_000)
    data, metadata = jupyter_bundle(draw_dot(neuron()[0]))
    width, height = png_size(data["image/png"])
    assert width * height <= 40_000 * 1.05 and width < metadata["image/png"]["width"] * 2


def test_a_pictures_text_says_what_it_shows_and_holds_no_memory_address(dot_program):
    o, _ = neuron()
    picture = draw_dot(o)
    text = jupyter_bundle(picture)[0]["text/plain"]
    assert text == repr(picture) == "<Picture: the graph of o = 0.7071: 10 values, 5 ops>"
    assert not re.search(r"0x[0-9a-f]{6,}", text)
    assert repr(draw_dot(small_mlp(), collapse=2)).endswith("2 collapsed scopes>")  # Layer 0 and Layer 1


def test_asking_for_one_format_renders_only_that_one(dot_program):
    data, metadata = draw_dot(neuron()[0])._repr_mimebundle_(include=["image/png"])
    assert list(data) == ["image/png"] and list(metadata) == ["image/png"]
    data, _ = draw_dot(neuron()[0])._repr_mimebundle_(exclude=["image/png", "image/svg+xml"])
    assert list(data) == ["text/plain"]


def test_without_dot_the_source_still_works_and_rendering_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `dot` anywhere on PATH
    picture = draw_dot(neuron()[0])
    assert "digraph" in picture.source
    for render in (lambda: picture.pipe(format="svg"), lambda: picture.render(outfile=tmp_path / "g.svg"),
                   picture._repr_mimebundle_):
        with pytest.raises(GraphvizNotFoundError) as info:
            render()
        message = str(info.value)
        assert "apt-get install graphviz" in message and "brew install graphviz" in message
        assert "conda install" in message
        assert isinstance(info.value, graphviz.ExecutableNotFound)  # graphviz's own handlers still catch it
    assert os.listdir(tmp_path) == []  # no picture, and no DOT source beside it either


# ---- render writes exactly the file asked for -----------------------------------------------------


@pytest.mark.parametrize("name", ["graph.svg", "graph.png", "graph.pdf", "GRAPH.SVG"])
def test_render_writes_exactly_the_file_asked_for(dot_program, tmp_path, name):
    path = draw_dot(neuron()[0]).render(outfile=tmp_path / name)
    assert path == str(tmp_path / name)
    assert os.listdir(tmp_path) == [name]  # no graph.gv (or Digraph.gv) beside it


def test_render_of_a_name_in_the_working_folder_writes_only_it(dot_program, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert draw_dot(neuron()[0]).render(outfile="graph.svg") == "graph.svg"
    assert os.listdir(tmp_path) == ["graph.svg"]


def test_render_with_a_filename_saves_the_source_as_graphviz_does(dot_program, tmp_path):
    picture = draw_dot(neuron()[0])
    assert picture.render("g", directory=tmp_path, format="svg") == str(tmp_path / "g.svg")
    assert sorted(os.listdir(tmp_path)) == ["g", "g.svg"] and (tmp_path / "g").read_text() == picture.source
    picture.render("h.gv", directory=tmp_path, format="png", cleanup=True)
    assert sorted(os.listdir(tmp_path)) == ["g", "g.svg", "h.gv.png"]


def test_render_replaces_a_file_whole_keeping_its_permissions_and_writes_through_a_link(dot_program, tmp_path):
    target = tmp_path / "target.svg"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.svg"
    link.symlink_to(target)
    draw_dot(neuron()[0]).render(outfile=link)
    assert link.is_symlink() and ET.parse(target).getroot().tag.endswith("svg")
    assert (target.stat().st_mode & 0o777) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["link.svg", "target.svg"]


def test_render_refuses_a_name_without_a_picture_format_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="cannot tell the picture format from the name .*graph.txt"):
        draw_dot(neuron()[0]).render(outfile=tmp_path / "graph.txt")
    assert os.listdir(tmp_path) == []


# ---- rendering is bounded in time -----------------------------------------------------------------


def xy_chain(factors: int) -> Value:
    """x*y*x*y*... : two leaves shared by every op, the graph that once took dot minutes."""
    x, y = Value(1.01, label="x"), Value(0.99, label="y")
    out = x
    for k in range(1, factors):
        out = out * (y if k % 2 else x)
    out.backward()
    return out


def test_a_graph_of_heavily_shared_leaves_renders_within_the_time_bound(dot_program):
    # 100 factors: 22-70 s of dot before far uses got copies; 250 factors: minutes. Now each well under a second.
    for factors in (100, 250):
        svg = draw_dot(xy_chain(factors)).pipe(format="svg", timeout=10, encoding="utf-8")
        assert svg.rstrip().endswith("</svg>")


def test_far_uses_of_a_shared_value_are_drawn_from_dashed_copies_of_it():
    src = draw_dot(xy_chain(100)).source
    copies = {n: a for n, a in re.findall(r"^\s*(c\d+_\d+) \[(.*)\]$", src, flags=re.MULTILINE)}
    assert copies and all('style="dashed"' in a for a in copies.values())
    x, y = node_labelled(src, "x"), node_labelled(src, "y")
    for name, attrs in copies.items():  # a copy shows what its Value shows
        original = x if name.startswith(f"c{x[1:]}_") else y
        assert name.startswith((f"c{x[1:]}_", f"c{y[1:]}_"))
        assert text(attrs) == text(nodes(src)[original])
    assert "dashed box: a Value drawn again beside a far use" in src


def test_copies_leave_the_graph_the_same_graph(monkeypatch):
    import autograd.draw.layout

    with_copies = draw_dot(xy_chain(100)).source
    monkeypatch.setattr(autograd.draw.layout, "_HIDDEN_NODES_BUDGET", math.inf)
    without = draw_dot(xy_chain(100)).source
    assert "c0_1" in with_copies and "c0_1" not in without
    as_drawn = sorted((re.sub(r"^c(\d+)_\d+$", r"v\1", a), b) for a, b, _ in edges(with_copies))
    assert as_drawn == sorted((a, b) for a, b, _ in edges(without))  # every use is still an edge from its Value


def test_a_small_graph_draws_a_shared_value_once_with_no_copies():
    for f in (lambda x: x * x + x, lambda x: x * x * x * x * x * x, lambda x: (x * x).tanh() * x + x):
        src = draw_dot(f(Value(0.5, label="x"))).source
        assert not re.search(r"^\s*c\d+_\d+ \[", src, flags=re.MULTILINE) and "dashed" not in src


def test_a_render_over_the_timeout_raises_a_clear_error_and_writes_nothing(dot_program, tmp_path):
    picture = draw_dot(neuron()[0])
    started = time.monotonic()
    with pytest.raises(GraphRenderTimeoutError) as info:
        picture.render(outfile=tmp_path / "g.png", timeout=0.001)  # a real dot run cannot finish in 1 ms
    assert time.monotonic() - started < 5  # dot was stopped, not waited for
    message = str(info.value)
    assert "within 0.001 s" in message and "collapse=1" in message and "timeout=60" in message
    assert isinstance(info.value, GraphTooLargeError)  # what callers already catch for a picture too large
    assert os.listdir(tmp_path) == []
    picture.timeout = 0.001  # the picture's own bound, used where no timeout is passed (Jupyter's display)
    with pytest.raises(GraphRenderTimeoutError):
        picture.pipe(format="svg")


@pytest.mark.parametrize("timeout", [0, -1, "10", True, math.nan])
def test_a_bad_timeout_is_refused(timeout):
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        draw_dot(neuron()[0]).pipe(format="svg", timeout=timeout)


@pytest.fixture
def slow_dot(tmp_path, monkeypatch):
    """A `dot` on PATH that never finishes (it writes its process id first)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "dot"
    script.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'dot.pid'}\nexec sleep 60\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "dot.pid"


def test_a_dot_that_hangs_is_stopped_at_the_timeout(slow_dot):
    started = time.monotonic()
    with pytest.raises(GraphRenderTimeoutError):
        draw_dot(neuron()[0]).pipe(format="png", timeout=0.5)
    assert time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(int(slow_dot.read_text()), 0)


def test_jupyter_shows_a_timeout_as_one_clear_line_not_a_hang(slow_dot, tmp_path):
    cell = textwrap.dedent("""
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_cell("from autograd import Value, draw_dot")
        shell.run_cell("picture = draw_dot(Value(2.0, label='x') * 3)")
        shell.run_cell("picture.timeout = 0.5")
        shell.run_cell("picture")  # Jupyter's display: the picture's _repr_ methods pipe it through dot
        shell.run_cell("picture.render(outfile='g.svg')")
    """)
    done = subprocess.run([sys.executable, "-c", cell], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")})
    shown = done.stdout + done.stderr
    assert shown.count("GraphRenderTimeoutError: Graphviz's dot did not finish") == 2, shown
    assert "Traceback" not in shown and "most recent call last" not in shown
    assert not (tmp_path / "g.svg").exists()


# ---- any label text renders, exactly --------------------------------------------------------------

NASTY_LABELS = ['say "hi"', "back\\slash", "ends in \\", "\\N \\G \\L \\n", "<b>not bold</b>", "a & b; x > y < z",
                "it's", "ünïcødé ∂f/∂x", "{curly} [square] |pipe|", "bell\x07", "nul\x00", "tab\there", "del\x7f",
                "c1\x85", "lone \ud800", "\ufffe"]


def shown_as(label: str) -> list[str]:
    """The text lines a label should show: control characters escaped as repr writes them, newlines break."""
    visible = re.sub(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]", lambda m: ascii(m[0])[1:-1], label)
    return visible.split("\n")


def nasty_graph() -> Value:
    leaves = []
    with scope('scope "q" \\ <&> ends in \\'):
        for i, label in enumerate(NASTY_LABELS + ["two\nlines"]):
            leaves.append(Value(float(i + 1), label=label))
    with scope("<b>\\N</b>"):
        out = autograd.sum(leaves)
    out.label = "ends in \\"
    out.backward()
    return out


def test_labels_and_scope_names_with_any_characters_render_exactly(dot_program, tmp_path):
    out = nasty_graph()
    picture = draw_dot(out, collapse=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # graphviz warns of DOT it expects dot to reject
        svg = picture.pipe(format="svg", encoding="utf-8")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    lines = [t.text for t in root.iter(f"{ns}text")]
    for label in NASTY_LABELS + ["two\nlines", 'scope "q" \\ <&> ends in \\', "<b>\\N</b>"]:
        for line in shown_as(label):
            assert line.strip() in [(t or "").strip() for t in lines], f"{label!r} is not shown as {line!r}"
    titles = [a for e in root.iter() for k, a in e.attrib.items() if k.endswith("title")]
    assert any(t.startswith('say "hi": data=1.0') for t in titles)  # tooltips too
    assert any(t.startswith("ends in \\: data=") for t in titles)


def test_collapsed_boxes_with_any_scope_name_render(dot_program):
    svg = draw_dot(nasty_graph(), collapse=1).pipe(format="svg", encoding="utf-8")
    lines = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert 'scope "q" \\ <&> ends in \\' in lines and "<b>\\N</b>" in lines


@pytest.mark.parametrize("where, error", [("missing/g.svg", FileNotFoundError), ("a_file/g.svg", NotADirectoryError),
                                          ("a_dir", ValueError)])
def test_a_render_that_cannot_write_names_the_file_and_leaves_nothing(dot_program, tmp_path, where, error):
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "a_dir").mkdir()
    with pytest.raises(error) as info:
        draw_dot(neuron()[0]).render(outfile=tmp_path / where, format="svg")
    if isinstance(info.value, OSError):
        assert info.value.filename == str(tmp_path / where)  # the file asked for, not a temporary name
    else:  # a folder is refused before dot runs, as every writer refuses what is not a file
        assert str(tmp_path / where) in str(info.value) and "a directory" in str(info.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a_dir", "a_file"]


def test_collapse_by_a_numbered_name_takes_that_number_whole():
    x = Value(0.5, label="x")
    for t in range(12):  # scopes t=0 ... t=11, as an RNN unrolled over 12 steps makes
        with autograd.scope(f"t={t}"):
            x = (x * 0.9).tanh()
    boxes = sorted(text(a).split(" ")[0] for n, a in nodes(draw_dot(x, collapse="t=1").source).items()
                   if n.startswith("s"))
    assert boxes == ["t=1"]  # not t=10 and t=11
    every_step = [n for n in nodes(draw_dot(x, collapse="t=").source) if n.startswith("s")]
    assert len(every_step) == 12


# ---- one package, one layout model ------------------------------------------------------------


def _scoped_mlp() -> Value:
    x = [Value(0.5, label="x0"), Value(-1.5, label="x1")]
    with scope("Layer 0"):
        hidden = []
        for n in range(2):
            with scope(f"Neuron {n}"):
                hidden.append((Value(0.3 * n, label="w0") * x[0] + Value(-0.2, label="w1") * x[1]).tanh())
    out = hidden[0] * hidden[1]
    out.backward()
    return out


def test_every_picture_style_draws_the_one_layout_of_the_same_options():
    from dataclasses import FrozenInstanceError

    from autograd.draw import Layout, PictureOptions, backward_steps, explore
    from autograd.draw.graph import _draw

    root = _scoped_mlp()
    options = PictureOptions(collapse="Neuron", local_grads=True)
    layout = Layout.of(root, options)
    with pytest.raises(FrozenInstanceError):
        layout.order = ()
    assert _draw(layout).source == draw_dot(root, collapse="Neuron", local_grads=True).source
    # x0 and x1 (used by both neurons), the output and its op; then the neurons' boxes, in the layer's frame
    assert [(n.id, n.kind) for n in layout.nodes] == [("v1", "value"), ("v4", "value"), ("v14", "value"),
                                                      ("o14", "op"), ("s0", "box"), ("s1", "box")]
    assert [s.name for s in layout.clusters.values()] == ["Layer 0"]
    assert [s.name for s in layout.box_ids] == ["Neuron 0", "Neuron 1"]
    assert list(layout.rows.values()) == [(("s1", "s0"),)]  # kept in order side by side (LR: backwards)
    # the explorer shows the layout's nodes and frames; each step frame has the layout's nodes and edges
    data = explore(root, collapse="Neuron").data
    plain = Layout.of(root, PictureOptions(collapse="Neuron"))
    assert [n["id"] for n in data["nodes"]] == [n.id for n in plain.nodes]
    assert [f["label"] for f in data["frames"]] == [s.name for s in plain.clusters.values()]
    assert data["order"] == [plain.ids[v] for v in reversed(autograd.topological_order(root))]
    for frame in backward_steps(root, collapse="Neuron"):
        assert [(a, b) for a, b, _ in edges(frame.source)] == [(e.tail, e.head) for e in plain.edges]


def test_a_wheel_of_the_project_ships_the_picture_package_and_the_explorers_script(project_wheel):
    from pathlib import Path

    package = Path(autograd.__file__).parent / "draw"
    names = set(project_wheel.namelist())  # project_wheel: tests/conftest.py
    assert {f"autograd/draw/{p.name}" for p in package.iterdir() if p.suffix in (".py", ".js")} <= names
    assert project_wheel.read("autograd/draw/explorer.js") == (package / "explorer.js").read_bytes()
    assert "autograd/draw.py" not in names and "autograd/explorer.js" not in names
