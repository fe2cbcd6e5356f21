"""draw_dot: the computation graph as a Graphviz picture, with the gradient on every Value.

Each Value is a box with its label, data and grad; each op is a small oval between its inputs
and its output, so the picture reads like the program: inputs -> op -> output. A plain number
in the expression is part of its op, not a Value, so it gets no box: its op's oval shows it
("* 2", "2 -"). Options colour the boxes by |grad| on a log scale (vanishing and exploding
gradients show at a glance), group the Values made inside `autograd.scope(...)` blocks into
clusters or collapse each group into one box, and write on every input edge its local
derivative d(out)/d(in): the factor the chain rule multiplies by on the way back,
`input.grad += local * output.grad`.

What is drawn where is the Layout's (autograd/draw/layout.py); this module says how each node
and edge looks, and a frame of step-by-step backprop adds its `_Overlay`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import graphviz

from autograd.draw.layout import MAX_NODES, Edge, Layout, PictureOptions
from autograd.draw.picture import Picture
from autograd.draw.style import (
    _CLUSTER_FILLS,
    _EDGE_NOTE,
    _FOCUS,
    _FONT,
    _FONTSIZE,
    _NUMBER_FIRST,
    _RED,
    _ZERO_GREY,
    _fill_for,
    _finite,
    _fmt,
    _GradScale,
    _op_text,
    _plain,
    _text,
    _text_width,
    shorten,
)
from autograd.modes import Scope
from autograd.value import Value


@dataclass
class _Overlay:
    """What a frame of step-by-step backprop (autograd.steps) adds to a plain picture.

    Every frame of one pass carries the same edge notes and cell widths, shown or invisible,
    so that dot gives every frame the same layout.
    """

    grads: Mapping[Value, float]  # shown instead of .grad; a Value missing here shows "?"
    current: Value | None = None  # the node whose gradient is being passed back
    done: frozenset = frozenset()  # nodes already processed (their edge notes stay, in grey)
    edge_notes: Mapping[tuple[Value, int], str] = field(default_factory=dict)  # (output, input position) -> text
    caption: str = ""
    caption_chars: int = 0  # the longest caption of all frames
    grad_chars: Mapping[Value, int] = field(default_factory=dict)  # the longest grad text of all frames


def draw_dot(
    root: Value,
    rankdir: str = "LR",
    *,
    grad_colors: bool = False,
    local_grads: bool = False,
    clusters: bool = True,
    collapse: int | str | Iterable[str] | None = None,
    max_nodes: int = MAX_NODES,
) -> Picture:
    """The graph behind `root` as a Graphviz Digraph: one box per Value, one oval per op.

    Each box shows the Value's label (when set), data and grad to 4 significant digits; a
    Value used several times is drawn once. An op with a number shows it in its oval, where
    it stood in the expression: x * 2 -> "* 2", 2 - x -> "2 -". The same graph always gives
    the same DOT source.

    - rankdir: "LR" (left to right), "TB", "RL" or "BT".
    - grad_colors: fill each box by log10 |grad| (legend below the picture); grad 0 is grey.
      NaN or infinite data or grad is always drawn red, with or without this option.
    - local_grads: write on each input -> op edge the local derivative d(out)/d(input).
    - clusters: draw the Values made inside each `autograd.scope(name)` block in a labelled
      frame, nested like the scopes. A leaf made outside every scope (a weight) joins the
      scope of its users when they all share one.
    - collapse: draw whole scopes as one box each: an int d collapses the scopes d levels deep
      (1 = outermost), a name collapses the scopes called so or numbered after it ("Neuron"
      matches "Neuron 3"), several names any of them. The box shows the group's outputs.
    - max_nodes: refuse (GraphTooLargeError) a picture with more boxes and ovals than this.

    A Value used far from where it is drawn, in a graph where such long edges would make dot
    take seconds to minutes (x*y*x*y*... with 100 factors), is drawn again as a dashed copy
    beside those uses. Labels and scope names show exactly, whatever characters they hold.

    Display it in Jupyter as it is; save it with `.render(outfile="graph.svg")` (that file and
    no other) or get bytes with `.pipe(format="png")`. Both need the Graphviz `dot` program and
    give it `timeout` seconds (default the picture's `.timeout`, 10 s) before raising
    GraphRenderTimeoutError; `.source` needs neither.
    """
    return _draw(Layout.of(root, PictureOptions(rankdir, grad_colors, local_grads, clusters, collapse, max_nodes)))


def _draw(layout: Layout, overlay: _Overlay | None = None) -> Picture:
    """The picture of `layout`; a step frame of backward_steps adds `overlay`."""
    options = layout.options
    grad_of = (lambda v: overlay.grads.get(v)) if overlay else (lambda v: v.grad)
    scale = _GradScale.of(grad_of(v) for v in layout.shown) if options.grad_colors else None
    pic = Picture("computation_graph", graph_attr={"rankdir": options.rankdir, "fontname": _FONT, "nodesep": "0.25",
                                                     "ranksep": "0.35"},
                  node_attr={"fontname": _FONT, "fontsize": str(_FONTSIZE)},
                  edge_attr={"fontname": _FONT, "fontsize": "10", "arrowsize": "0.7", "color": "#555555"})
    # Nodes go into their scope's cluster (None = the picture itself); clusters are attached last.
    statements: dict[Scope | None, list[tuple[str, dict[str, str]]]] = {None: []}
    for node in layout.nodes:
        statements.setdefault(node.where, []).append((node.id, _node_attrs(layout, node, grad_of, scale, overlay)))
    for name, attrs in statements[None]:
        pic.node(name, **attrs)
    rows = {where: [f"\t{{rank=same; {' -> '.join(ids)} [style=invis]}}\n" for ids in chains]
            for where, chains in layout.rows.items()}
    if rows:
        pic.attr(remincross="false")  # a second crossing minimisation would reorder the rows
    for row in rows.get(None, ()):
        pic.body.append(row)
    if layout.clusters:
        _attach_clusters(pic, layout.clusters, statements, rows)
    for edge in layout.edges:
        pic.edge(edge.tail, edge.head, **_edge_attrs(edge, options.local_grads, overlay))
    pic.description = overlay.caption if overlay and overlay.caption else _describe(layout)
    caption = _caption(scale, options.local_grads, overlay, bool(layout.tails))
    if caption:
        pic.attr(label=caption, labelloc="t" if overlay else "b", labeljust="l")
    return pic


def _node_attrs(layout: Layout, node, grad_of, scale: _GradScale | None, overlay: _Overlay | None) -> dict[str, str]:
    """How one node of the layout looks."""
    if node.kind == "box":
        members = layout.members[node.of]
        outputs = [v for v in members if v in layout.outputs]
        return _box_node(node.of, list(members), outputs, grad_of, scale)
    if node.kind == "op":
        return _op_node(node.of, overlay)
    v = node.of
    return _value_node(v, grad_of(v), node.kind == "value" and v is layout.root, scale, overlay,
                       copy=node.kind == "copy")


def _value_node(v: Value, grad: float | None, is_root: bool, scale: _GradScale | None,
                overlay: _Overlay | None, copy: bool = False) -> dict[str, str]:
    """A Value's box: label, data and grad; a copy (drawn again beside a far use) has a dashed border."""
    bg, fg = _fill_for(math.isfinite(v.data), grad, scale)
    border, border_color = (2 if is_root or overlay else 1), "black"  # frames keep one border width: no jumps
    if not math.isfinite(v.data) or not _finite(grad):
        border, border_color = 3, "#8b0000"
    elif overlay and v is overlay.current:
        bg, fg, border, border_color = "#ffe08a", "black", 2, _FOCUS
    elif overlay and overlay.current is not None and any(v is inp for inp in overlay.current.inputs):
        bg, fg = "#fff4d1", "black"
    grad_text = _fmt(grad)
    width = ""
    if overlay and v in overlay.grad_chars:  # a fixed width keeps the layout still from frame to frame
        width = f' width="{_text_width(overlay.grad_chars[v] + 5, _FONTSIZE)}"'
    cells = []
    if v.label:
        cells.append(f"<td><b>{_text(shorten(v.label), fg)}</b></td>")
    cells.append(f"<td>{_text('data ' + _fmt(v.data), fg, bold=not math.isfinite(v.data))}</td>")
    grad_fg = "#888888" if grad is None and fg == "black" else fg
    cells.append(f"<td{width}>{_text('grad ' + grad_text, grad_fg, bold=not _finite(grad))}</td>")
    dashed = ' style="dashed"' if copy else ""
    label = (f'<<table border="{border}" color="{border_color}"{dashed} cellborder="0" cellspacing="0" '
             f'cellpadding="4" bgcolor="{bg}"><tr>{"".join(cells)}</tr></table>>')
    again = " (drawn again here, near its use)" if copy else ""
    tooltip = f"{shorten(v.label) or 'value'}: data={v.data!r} grad={grad!r}{again}"
    return {"label": label, "shape": "plain", "tooltip": _plain(tooltip)}


def _op_node(v: Value, overlay: _Overlay | None) -> dict[str, str]:
    attrs = {"label": _plain(_op_text(v)), "shape": "ellipse", "style": "filled", "fillcolor": "#f0f0f0",
             "color": "#777777", "fontsize": "10", "margin": "0.03,0.02", "height": "0.3", "width": "0.3"}
    if overlay and v is overlay.current:
        attrs.update(fillcolor="#ffe08a", color=_FOCUS, penwidth="2")
    return attrs


def _box_node(box: Scope, members: list[Value], outputs: list[Value], grad_of, scale: _GradScale | None
              ) -> dict[str, str]:
    """A collapsed scope: its name, size and ops, and the data and grad of its outputs."""
    ops = list(dict.fromkeys(_NUMBER_FIRST.get(v.op, v.op) for v in members if v.op))  # 2 - x is a "-" too
    bad = any(not math.isfinite(v.data) or not _finite(grad_of(v)) for v in members)
    shown = outputs[:3]
    biggest = max((grad_of(v) for v in shown if grad_of(v) is not None), key=lambda g: abs(g) if math.isfinite(g)
                  else math.inf, default=None)
    bg, fg = _fill_for(not bad, biggest, scale)
    rows = [f"<tr><td><b>{_text(shorten(box.name), fg)}</b></td></tr>",
            f"<tr><td>{_text(f'{len(members)} values · ' + ', '.join(ops[:4]) + (' …' if len(ops) > 4 else ''), fg)}"
            "</td></tr>"]
    if bad:
        rows.append(f"<tr><td>{_text('contains NaN/inf', fg, bold=True)}</td></tr>")
    for v in shown:
        name = shorten(v.label) or "out"
        line = f"{name} data {_fmt(v.data)}   grad {_fmt(grad_of(v))}"
        rows.append(f"<tr><td>{_text(line, fg)}</td></tr>")
    if len(outputs) > len(shown):
        rows.append(f"<tr><td>{_text(f'+{len(outputs) - len(shown)} more outputs', fg)}</td></tr>")
    border_color = "#8b0000" if bad else "#333333"
    label = (f'<<table border="{3 if bad else 1}" color="{border_color}" cellborder="0" cellspacing="0" '
             f'cellpadding="3" bgcolor="{bg}" style="rounded">{"".join(rows)}</table>>')
    return {"label": label, "shape": "plain", "tooltip": _plain(shorten("/".join(box.path)))}


# ---- clusters, edges and the caption ---------------------------------------------------------


def _attach_clusters(pic: Picture, clusters: Mapping[str, Scope], statements: Mapping[Scope | None, list],
                     rows: Mapping[Scope | None, list[str]]) -> None:
    """One DOT cluster per scope, nested like the scopes, innermost attached first."""
    depth = {s: len(s.path) for s in clusters.values()}
    graphs = {}
    for name, s in clusters.items():
        fill = _CLUSTER_FILLS[(depth[s] - 1) % len(_CLUSTER_FILLS)]
        g = graphviz.Digraph(name=name, graph_attr={"label": _plain(shorten(s.name)), "labeljust": "l",
                             "style": "rounded,filled", "fillcolor": fill, "color": "#9aa8bd", "fontsize": "10"})
        for node, attrs in statements.get(s, ()):
            g.node(node, **attrs)
        g.body.extend(rows.get(s, ()))
        graphs[s] = g
    for s in sorted(graphs, key=lambda s: -depth[s]):  # stable sort: first-seen order within a depth
        (graphs[s.parent] if s.parent is not None else pic).subgraph(graphs[s])


def _edge_attrs(edge: Edge, local_grads: bool, overlay: _Overlay | None) -> dict[str, str]:
    """How an edge looks: an input edge may carry its local derivative, or a step frame's note."""
    v = edge.user
    if v is None:  # into or out of a collapsed box
        return {}
    focus = overlay is not None and v is overlay.current
    if edge.pos is None:  # op -> its output
        return {"color": _FOCUS, "penwidth": "2"} if focus else {}
    note = overlay.edge_notes.get((v, edge.pos)) if overlay else None
    if note and focus:
        return {"label": note, "color": _FOCUS, "fontcolor": _FOCUS, "penwidth": "2"}
    if note:  # an invisible note still takes its place, so the layout does not move
        return {"label": note, "fontcolor": "#999999" if v in overlay.done else "transparent"}
    if local_grads:
        return {"label": _fmt(v.local_grads[edge.pos]), "fontcolor": _EDGE_NOTE}
    return {}


def _describe(layout: Layout) -> str:
    """The picture in a few words: 'the graph of o = 0.7071: 10 values, 5 ops'."""
    root, order, box_of, boxes = layout.root, layout.order, layout.box_of, layout.box_ids
    values = sum(1 for v in order if box_of[v] is None)
    ops = sum(1 for v in order if box_of[v] is None and v.inputs)
    name = f"{shorten(root.label)} = {_fmt(root.data)}" if root.label else f"a value of {_fmt(root.data)}"
    parts = [f"{values} value{'s' * (values != 1)}", f"{ops} op{'s' * (ops != 1)}"]
    if boxes:
        parts.append(f"{len(boxes)} collapsed scope{'s' * (len(boxes) != 1)}")
    return f"the graph of {name}: {', '.join(parts)}"


def _caption(scale: _GradScale | None, local_grads: bool, overlay: _Overlay | None, copies: bool = False) -> str:
    """The picture's label, as an HTML table: step caption, then colour legend and edge-label note.

    Legend and note share one row: a row under a wider one would stretch the legend's cells.
    """
    rows = []
    if overlay and overlay.caption:
        width = _text_width(overlay.caption_chars, 14)  # dot's default font size for a graph label
        rows.append(f'<tr><td align="left" width="{width}">{_text(overlay.caption, "black")}</td></tr>')
    cells = []
    if scale is not None:
        cells.append("<td>|grad|</td>")
        for d in scale.decades():
            bg, fg = scale.fill(10.0**d)
            text = f"{10.0**d:g}" if -3 <= d <= 3 else f"1e{d}"
            cells.append(f'<td bgcolor="{bg}" border="1"><font color="{fg}">{text}</font></td>')
        cells.append(f'<td bgcolor="{_ZERO_GREY}" border="1">0</td>')
        cells.append(f'<td bgcolor="{_RED}" border="1"><font color="white"><b>NaN/inf</b></font></td>')
    if local_grads:
        cells.append(f'<td><font color="{_EDGE_NOTE}">{"   " if cells else ""}numbers on edges: local derivatives '
                     "d(out)/d(in); backward adds local × out.grad to in.grad</font></td>")
    if copies:
        cells.append(f'<td>{"   " if cells else ""}dashed box: a Value drawn again beside a far use</td>')
    if cells:
        rows.append(f'<tr><td align="left"><table border="0" cellspacing="2" cellpadding="3"><tr>{"".join(cells)}'
                    "</tr></table></td></tr>")
    if not rows:
        return ""
    return f'<<table border="0" cellspacing="0" cellpadding="2">{"".join(rows)}</table>>'
