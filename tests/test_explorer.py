"""explore(root): what the explorer's page holds, before any browser opens it.

The page is one file with everything inline (no address of any network resource), its data is
JSON in which no <, > or & appears as itself, its gradients are one replay of backward(), and a
graph over `max_nodes` is refused with advice on what to collapse. In Jupyter it is a widget
with a PNG and a text beside it for viewers that show no widgets.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

import autograd
from autograd import Value, explore, scope, topological_order
from autograd.draw import GraphTooLargeError

pytestmark = pytest.mark.graph


def graph() -> Value:
    x, w = Value(2.0, label="x"), Value(-3.0, label="</script><b>w</b> & co")
    with scope("Neuron 0"):
        y = (x * w + x).tanh()
    z = y * y + x
    z.label = "z"
    z.backward()
    return z


def page_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="chainrule-graph">(.*?)</script>', html, re.DOTALL)
    return json.loads(found[1])


def test_the_page_is_one_file_with_everything_inline(dot_program):
    html = explore(graph()).html()
    assert html.startswith("<!doctype html>") and "function mountExplorer" in html
    fetched = re.search(r"(src|href)=|https?://|@import", html.replace('"http://www.w3.org/2000/svg"', ""))
    assert fetched is None  # nothing fetched from anywhere (the SVG namespace is a name, not an address)
    assert html.count("</script>") == 2  # the data's and the script's own: a label cannot close one


def test_labels_are_data_with_no_markup_character_as_itself(dot_program):
    html = explore(graph()).html()
    data_text = re.search(r'id="chainrule-graph">(.*?)</script>', html, re.DOTALL)[1]
    assert not set("<>&") & set(data_text)
    labels = {n.get("label") for n in page_data(html)["nodes"]}
    assert "</script><b>w</b> & co" in labels


def test_every_value_and_op_is_a_node_and_backwards_order_is_the_engines(dot_program):
    root = graph()
    data = explore(root).data
    order = topological_order(root)
    values = [n for n in data["nodes"] if n["kind"] == "value"]
    assert len(values) == len(order) and sum(n["kind"] == "op" for n in data["nodes"]) == sum(bool(v.inputs)
                                                                                                for v in order)
    label_of = {n["id"]: n.get("label", "") for n in values}
    assert [label_of[i] for i in data["order"]] == [v.label for v in reversed(order)]


def test_each_values_shares_add_up_to_its_grad_bit_for_bit(dot_program):
    root = graph()
    data = explore(root).data
    by_label = {n["label"]: n for n in data["nodes"] if n["kind"] == "value" and "label" in n}
    for v in topological_order(root):
        if not v.label:
            continue
        node = by_label[v.label]
        total = 1.0 if v is root else 0.0
        for use in node["uses"]:
            total += float(use[4])  # user, local, grad of the user, share, exact share
        assert total == v.grad and node["grad"] == f"{v.grad:.4g}" and "g" not in node  # .grad is this pass's


def test_a_graph_over_max_nodes_is_refused_with_advice_on_collapsing():
    x = Value(1.0)
    with scope("Layer 1"):
        for _ in range(40):
            x = x * 1.5
    with pytest.raises(GraphTooLargeError, match=r"^explore: .*collapse=1"):
        explore(x, max_nodes=50)


def test_collapse_makes_a_scope_one_box(dot_program):
    data = explore(graph(), collapse=1).data
    (box,) = [n for n in data["nodes"] if n["kind"] == "box"]
    assert box["label"] == "Neuron 0" and box["n"] > 1


@pytest.mark.parametrize("kwargs", [{"rankdir": "UP"}, {"max_nodes": 0}, {"collapse": 0}])
def test_bad_options_are_refused_as_draw_dot_refuses_them(kwargs):
    with pytest.raises(ValueError):
        explore(graph(), **kwargs)


def test_jupyter_gets_the_widget_a_png_and_a_text_saying_what_it_is(dot_program):
    pytest.importorskip("anywidget")
    data, metadata = explore(graph())._repr_mimebundle_()
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n" and "width" in metadata["image/png"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("Graph explorer of z = ")


def test_without_anywidget_the_widget_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "anywidget", None)
    monkeypatch.setattr(autograd.draw.explorer, "_WIDGET", None)
    with pytest.raises(ImportError, match=r"chainrule\[explore\]"):
        explore(graph()).widget()


def test_an_unknown_option_is_refused_naming_it_and_the_options_there_are():
    with pytest.raises(TypeError, match=r"unknown option colours.*rankdir, grad_colors, local_grads"):
        explore(graph(), colours=True)



def test_draw_dots_options_shape_the_explorers_layout_as_they_shape_the_picture(dot_program):
    chain = Value(1.0, label="x")
    for _ in range(6):
        chain = chain.tanh()
    wide, tall = explore(chain).data, explore(chain, rankdir="TB").data
    assert wide["width"] > wide["height"] and tall["height"] > tall["width"]
    with_locals = explore(chain, local_grads=True).data
    assert sum("l" in e for e in with_locals["edges"]) == 6 and not any("l" in e for e in wide["edges"])


def test_the_explorers_saved_in_the_notebooks_run_the_current_script():
    # a saved widget carries its script: after a change to autograd/draw/explorer.js, run notebooks/refresh.py
    from pathlib import Path

    from autograd.draw.explorer import _script

    saved = []
    for path in sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb")):
        state = json.loads(path.read_text()).get("metadata", {}).get("widgets", {}).get(
            "application/vnd.jupyter.widget-state+json", {}).get("state", {})
        saved += [(path.name, model["state"].get("_esm", "")) for model in state.values()
                  if model.get("model_name") == "AnyModel"]
    assert {name for name, _ in saved} >= {"03_training_an_mlp.ipynb", "07_backprop_step_by_step.ipynb",
                                           "10_backprop_through_time.ipynb"}
    assert [name for name, esm in saved if not esm.startswith(_script())] == []
