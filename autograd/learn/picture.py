"""Where a gradient goes wrong, drawn: your graph beside chainrule's, the first wrong node in red.

Both graphs are read the same way, through micrograd's names (`_prev`, `_op`, `data`, `grad`),
which chainrule's Values have too. Each value is a box (its name, number and gradient), each op
an oval between its inputs and its output, as in micrograd's pictures.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import graphviz

from autograd.files import write_file
from autograd.learn.graph import graph_order

MAX_NODES = 300  # a bigger graph is not drawn: it would not be readable
RED, RED_FILL = "#c62828", "#ffcdd2"


def folder() -> Path:
    """Where pictures go: $CHAINRULE_LEARN_PICTURES (`chainrule learn check` sets it), else ./pictures."""
    return Path(os.environ.get("CHAINRULE_LEARN_PICTURES", "pictures"))


def save_for_test(root: object, same: dict | None, red: object, names: dict[int, str]) -> str:
    """Draw the picture for the running test; returns the line saying where it is (or why not)."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "graph").split(" ")[0]
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", test.rsplit("/", 1)[-1].replace(".py::", "__")).strip("_")[:100]
    path = folder() / f"{stem}.png"
    try:
        png = draw(root, same, red, names).pipe(format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, png, "chainrule learn")
    except graphviz.ExecutableNotFound:
        return "(No picture: Graphviz's `dot` program is not installed.)"
    except (OSError, ValueError, graphviz.CalledProcessError) as error:
        return f"(No picture: {error})"
    except _TooLarge:
        return f"(No picture: the graph has more than {MAX_NODES} nodes.)"
    return f"Picture: {path} (your graph beside chainrule's, the first node whose gradient differs in red)"


class _TooLarge(Exception):
    pass


def draw(root: object, same: dict | None, red: object, names: dict[int, str]) -> graphviz.Digraph:
    """Your graph (left) and, when chainrule could rebuild it, chainrule's (right)."""
    order = graph_order(root)
    if len(order) > MAX_NODES:
        raise _TooLarge
    dot = graphviz.Digraph(graph_attr={"rankdir": "LR", "fontname": "Helvetica", "nodesep": "0.2", "labelloc": "t",
                                       "label": "In red: the first node, from the output back, whose gradient differs"},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"})
    sides = [("yours", "your engine", {id(n): n for n in order})]
    if same is not None:  # drawn first, so that Graphviz puts it below yours
        sides.insert(0, ("chainrule", "chainrule's engine, the same graph", same))
    for key, title, nodes in sides:
        with dot.subgraph(name=f"cluster_{key}") as side:
            side.attr(label=title, fontsize="14", color="#9e9e9e")
            for node in order:
                v = nodes[id(node)]  # yours, or chainrule's node made like it: same _prev, same _op
                uid = f"{key}{id(node)}"
                style = {"color": RED, "fillcolor": RED_FILL, "style": "filled", "penwidth": "2.5"}
                style = style if node is red else {}
                name = names.get(id(node), "")
                side.node(uid, label=f"{{ {name + ' | ' if name else ''}data {v.data:.4f} | grad {v.grad:.4f} }}",
                          shape="record", **style)
                if v._op:
                    side.node(uid + "op", label=str(v._op), shape="ellipse")
                    side.edge(uid + "op", uid)
                    for child in node._prev:
                        side.edge(f"{key}{id(child)}", uid + "op")
    return dot
