"""explore: the graph behind a Value as an interactive picture, in Jupyter or as one offline HTML page.

The layout is draw_dot's, the same Layout (autograd/draw/layout.py): the same boxes, ovals, node
ids and scope frames, placed once by Graphviz's `dot` (its JSON output) in Python. The page draws
them itself (autograd/draw/explorer.js, the same script for the HTML file and the Jupyter
widget) and adds what a picture cannot do: pan and zoom, search by label, a click on a Value
showing the chain-rule sum of its gradient

    d(root)/d(v) = sum over the uses of v of  d(user)/d(v) * d(root)/d(user)

one row per use (local derivative x gradient of the user = share), the backward pass step by
step in backward()'s own order, and scope frames that collapse and expand. Every label is put
in the page as data (JSON, with <, > and & escaped) and shown with textContent: a label is
never markup or code.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Iterable
from dataclasses import fields, replace
from importlib import resources
from typing import Any

from autograd.backprop import topological_order
from autograd.draw.graph import _draw
from autograd.draw.layout import MAX_NODES, Layout, PictureOptions
from autograd.draw.picture import GraphTooLargeError, Picture, _svg_size
from autograd.draw.style import _fill_for, _fmt, _GradScale, _op_text, shorten
from autograd.files import require_regular_file, write_file
from autograd.value import Value

EXPLORE_MAX_NODES = 5000  # the page itself stays quick far beyond this; dot's layout takes seconds here
LAYOUT_TIMEOUT = 120.0  # seconds dot may take to lay out the graph once

_PNG_PIXELS = 500_000  # the static view a saved notebook keeps: enough to recognise, small to store
_PNG_WIDTH, _PNG_HEIGHT = 960, 1200  # CSS pixels: about a notebook's output area, one screen high
_STILL_MAX_POINTS = 3000  # a longer side makes an unreadable still picture: collapse scopes for it


class Explorer:
    """The interactive view `explore` returns: shown in Jupyter as a widget, saved with `save_html`."""

    def __init__(self, data: dict[str, Any], picture: Picture, note: str = "") -> None:
        self.data = data  # everything the page shows, as JSON-ready data
        self.picture = picture  # draw_dot's picture of the graph: the PNG a saved notebook shows
        self._note = note  # how that picture differs from the explorer's view, if it does

    def __repr__(self) -> str:
        return f"<Explorer: {self.data['title']}; save_html(path) writes it as one page>"

    def html(self) -> str:
        """The whole page: one self-contained HTML document, scripts, styles and data inline, no network."""
        return _page(self.data)

    def save_html(self, path: str | os.PathLike) -> str:
        """Write the page to `path` (atomically, never onto a FIFO, device or folder); returns the path."""
        require_regular_file(path, "save_html")
        write_file(path, self.html().encode("utf-8"), "save_html")
        return os.fspath(path)

    def widget(self) -> Any:
        """The Jupyter widget (anywidget) showing this view; needs `pip install 'chainrule[explore]'`."""
        return _widget_class()(graph=_json(self.data))

    def _repr_mimebundle_(self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None,
                          **_: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The widget, with a PNG of the graph and a text saying what it is for viewers without widgets.

        A saved notebook opened untrusted (or on GitHub) shows the PNG instead of the widget.
        """
        svg = self.picture.pipe(format="svg", encoding="utf-8")
        png, size = self.picture._png_like(svg, max_pixels=_PNG_PIXELS)
        shrink = min(1.0, _PNG_WIDTH / size["width"], _PNG_HEIGHT / size["height"])
        size = {k: round(v * shrink) for k, v in size.items()}  # shown whole, not wider than a cell
        data: dict[str, Any] = {"image/png": png}
        metadata: dict[str, Any] = {"image/png": size}
        data["text/plain"] = (f"Graph explorer of {self.data['title']} (an interactive widget of "
                              f"{len(self.data['nodes']):,} nodes; the picture is its static view{self._note})")
        widget = self.widget()
        bundle = widget._repr_mimebundle_()
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        if bundle:
            data.update({k: v for k, v in bundle.items() if k != "text/plain"})
        return data, metadata


def explore(root: Value, *, max_nodes: int = EXPLORE_MAX_NODES, timeout: float = LAYOUT_TIMEOUT,
            **options: Any) -> Explorer:
    """An interactive view of the graph behind `root`.

    The options are those of `draw_dot` (autograd.draw.PictureOptions): rankdir, grad_colors,
    local_grads, clusters, collapse; `max_nodes` (default 5,000) refuses a larger graph with
    advice on what to collapse, and dot gets `timeout` seconds to lay it out, once.

    Jupyter shows it as a widget (`pip install 'chainrule[explore]'`); `.save_html(path)` writes
    it as one HTML page that opens from disk in any browser. In both: drag to pan, wheel to zoom,
    "fit" to see it all; search a label; click a Value for its data, grad, op, inputs and the
    chain-rule sum of its gradient (the path to the root lights up); step through backward() with
    the arrow keys or the step buttons; click a scope's frame to collapse or expand it.

    Gradients are those of one backward pass from `root` (as backward_trace computes them):
    after one `root.backward()` they are the `.grad` of every Value.
    """
    unknown = set(options) - {f.name for f in fields(PictureOptions)}
    if unknown:
        raise TypeError(f"explore: unknown option {', '.join(sorted(unknown))}; the options are draw_dot's: "
                        f"{', '.join(f.name for f in fields(PictureOptions))}, and timeout")
    chosen = PictureOptions(max_nodes=max_nodes, **options)
    try:
        layout = Layout.of(root, chosen)
    except (GraphTooLargeError, ValueError, TypeError) as error:  # draw_dot's checks, named as explore's
        raise type(error)(str(error).replace("draw_dot:", "explore:", 1)) from None
    picture = _draw(layout)
    placed = json.loads(picture.pipe(format="json0", encoding="utf-8", timeout=timeout))
    data = _graph_data(layout, placed)
    still, note = picture, ""
    too_big = len(data["nodes"]) > MAX_NODES or max(data["width"], data["height"]) > _STILL_MAX_POINTS
    if too_big and chosen.collapse is None:
        for depth in range(max((len(s.path) for s in layout.clusters.values()), default=0), 0, -1):
            try:  # a still picture a reader can read: the deepest collapse that fits (neurons, not layers)
                candidate = _draw(Layout.of(root, replace(chosen, collapse=depth, max_nodes=MAX_NODES)))
            except GraphTooLargeError:
                continue
            if max(_svg_size(candidate.pipe(format="svg", encoding="utf-8", timeout=timeout))) <= _STILL_MAX_POINTS:
                still, note = candidate, f", with the scopes {depth} deep collapsed"
                break
    return Explorer(data, still, note)


def _graph_data(layout: Layout, placed: dict[str, Any]) -> dict[str, Any]:
    """What the page needs: the layout's nodes where dot `placed` them, and one replay of the backward pass."""
    root, values = layout.root, layout.values
    order = list(reversed(topological_order(root)))  # backward()'s order: root first
    grads: dict[Value, float] = {root: 1.0}
    users: dict[Value, list[tuple[Value, int]]] = {}
    steps = []
    for node in order:  # the chain rule as backward() runs it: same order, same float additions
        g = grads.get(node, 0.0)
        grads[node] = g
        updates = []
        for pos, (inp, local) in enumerate(zip(node.inputs, node.local_grads)):
            grads[inp] = grads.get(inp, 0.0) + local * g
            users.setdefault(inp, []).append((node, pos))
            updates.append([pos, _fmt(local), _fmt(local * g)])  # inputs[pos]: made an id below
        steps.append(updates)
    scale = _GradScale.of(v.grad for v in values.values()) if layout.options.grad_colors else None
    value_id = layout.ids
    height = float(placed["bb"].split(",")[3])

    def place(obj: dict[str, Any]) -> dict[str, float]:
        x, y = map(float, obj["pos"].split(","))
        w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
        return {"x": round(x - w / 2), "y": round(height - y - h / 2), "w": round(w), "h": round(h)}

    boxes = {name: box for box, name in layout.box_ids.items()}
    gvid_name: dict[int, str] = {}
    nodes = []
    for obj in placed.get("objects", ()):
        if "nodes" in obj or "pos" not in obj:
            continue
        name = obj["name"]
        gvid_name[obj["_gvid"]] = name
        node: dict[str, Any] = {"id": name, **place(obj)}
        if name in values:
            v = values[name]
            node.update(_value_fields(v, grads, value_id, users, root))
            fill, fg = _fill_for(math.isfinite(v.data), v.grad, scale)
            if (fill, fg) != ("#ffffff", "black"):
                node["fill"], node["fg"] = fill, fg
            if name.startswith("c"):
                node["kind"], node["of"] = "copy", value_id[v]
        elif name in boxes:
            node.update(kind="box", label=shorten(boxes[name].name), n=len(layout.members[boxes[name]]))
        else:  # an op oval o<i>: the op of the Value v<i>
            node.update(kind="op", label=_op_text(layout.order[int(name[1:])]), of="v" + name[1:])
        nodes.append(node)
    edges = []
    for e in placed.get("edges", ()):
        points = e["pos"].split()
        end = None
        if points[0].startswith("e,"):
            end, points = points[0][2:], points[1:]
        xy = [tuple(map(float, p.split(","))) for p in points]
        if end is not None:
            xy.append(tuple(map(float, end.split(","))))
        edge: dict[str, Any] = {"t": gvid_name[e["tail"]], "h": gvid_name[e["head"]],
                                "p": [c for x, y in xy for c in (round(x), round(height - y))]}
        if e.get("label") and "lp" in e:
            lx, ly = map(float, e["lp"].split(","))
            edge.update(l=e["label"], lx=round(lx), ly=round(height - ly))
        edges.append(edge)
    frames = []
    for obj in placed.get("objects", ()):
        if obj.get("name") in layout.clusters:
            x0, y0, x1, y1 = map(float, obj["bb"].split(","))
            scope = layout.clusters[obj["name"]]
            frames.append({"label": shorten(scope.name), "path": shorten("/".join(scope.path)),
                           "depth": len(scope.path), "x": x0, "y": height - y1, "w": x1 - x0, "h": y1 - y0,
                           "nodes": [gvid_name[k] for k in obj.get("nodes", ()) if k in gvid_name]})
    title = f"{shorten(root.label)} = {_fmt(root.data)}" if root.label else f"a value of {_fmt(root.data)}"
    return {"title": title, "root": value_id[root], "width": float(placed["bb"].split(",")[2]), "height": height,
            "nodes": nodes, "edges": edges, "frames": frames,
            "order": [value_id[v] for v in order],
            "steps": [[[value_id[v.inputs[u[0]]], *u[1:]] for u in updates] for v, updates in zip(order, steps)]}


def _value_fields(v: Value, grads: dict[Value, float], value_id: dict[Value, str],
                  users: dict[Value, list[tuple[Value, int]]], root: Value) -> dict[str, Any]:
    """A Value's box: what it shows, and the rows of its chain-rule sum (one per use, in backward's order).

    Fields at their usual value are left out (no label, .grad equal to this pass's gradient, ...):
    a saved notebook keeps this data for every Value of the graph.
    """
    g = grads.get(v, 0.0)
    fields: dict[str, Any] = {"kind": "value", "data": _fmt(v.data), "grad": _fmt(v.grad),
                              "inputs": [value_id[inp] for inp in v.inputs],
                              "uses": [[value_id[u], _fmt(u.local_grads[pos]), _fmt(grads[u]),
                                        _fmt(u.local_grads[pos] * grads[u]), repr(u.local_grads[pos] * grads[u])]
                                       for u, pos in users.get(v, ())]}  # user, local, its grad, share, exact share
    if v.label:
        fields["label"] = shorten(v.label)
    if v.inputs:
        fields["op"] = _op_text(v)
    if repr(v.grad) != repr(g):  # backward() ran more than once, or not yet
        fields["gradExact"], fields["g"] = repr(v.grad), _fmt(g)
    if v is root:
        fields["isRoot"] = True
    if not (math.isfinite(v.data) and math.isfinite(g)):
        fields["bad"] = True
    return fields


def _json(data: dict[str, Any]) -> str:
    """data as JSON that is safe inside a <script> element: no <, > or & appears as itself."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _script() -> str:
    return resources.files("autograd.draw").joinpath("explorer.js").read_text(encoding="utf-8")


def _page(data: dict[str, Any]) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<title>{html.escape('Graph explorer: ' + data['title'])}</title>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<style>html,body{margin:0;height:100%;overflow:hidden}</style>\n</head><body>\n"
        "<div id=\"chainrule-explorer\" style=\"height:100vh\"></div>\n"
        f"<script type=\"application/json\" id=\"chainrule-graph\">{_json(data)}</script>\n"
        f"<script>\n{_script()}\n"
        "mountExplorer(document.getElementById('chainrule-explorer'),\n"
        "  JSON.parse(document.getElementById('chainrule-graph').textContent), {page: true});\n"
        "</script>\n</body></html>\n"
    )


_WIDGET: type | None = None


def _widget_class() -> type:
    """The anywidget class, made once; anywidget is an optional extra."""
    global _WIDGET  # noqa: PLW0603 - made on first use: importing anywidget is slow and optional
    if _WIDGET is None:
        try:
            import anywidget
            import traitlets
        except ImportError:
            raise ImportError("explore's Jupyter widget needs anywidget: pip install 'chainrule[explore]' (or pip "
                              "install anywidget); without it, save the page with explore(root).save_html('graph.html')"
                              ) from None

        class GraphExplorerWidget(anywidget.AnyWidget):
            _esm = _script() + "\nexport default { render({ model, el }) { const view = " \
                "mountExplorer(el, JSON.parse(model.get('graph')), {page: false}); return () => view.destroy(); } };\n"
            # one JSON string, not a dict: a saved notebook writes a dict one number per line
            graph = traitlets.Unicode("{}").tag(sync=True)

        _WIDGET = GraphExplorerWidget
    return _WIDGET

