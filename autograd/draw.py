"""draw_dot: the computation graph as a Graphviz picture, with the gradient on every Value.

Each Value is a box with its label, data and grad; each op is a small oval between its inputs
and its output, so the picture reads like the program: inputs -> op -> output. A plain number
in the expression is part of its op, not a Value, so it gets no box: its op's oval shows it
("* 2", "2 -"). Options colour the boxes by |grad| on a log scale (vanishing and exploding
gradients show at a glance), group the Values made inside `autograd.scope(...)` blocks into
clusters or collapse each group into one box, and write on every input edge its local
derivative d(out)/d(in): the factor the chain rule multiplies by on the way back,
`input.grad += local * output.grad`.
"""

from __future__ import annotations

import contextlib
import html
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import graphviz

from autograd.modes import Scope
from autograd.value import Value

MAX_NODES = 500  # dot lays out a few hundred nodes in about a second; tens of thousands take minutes

INSTALL_GRAPHVIZ = (
    "install Graphviz, which provides the `dot` program: `sudo apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install -c conda-forge graphviz`; check with `dot -V`"
)

_RANKDIRS = ("LR", "TB", "RL", "BT")
_FONT = "Helvetica,Arial,sans-serif"
_FONTSIZE = 11
_RED = "#d62728"  # reserved for NaN/inf: no colour of the gradient scale is red
_ZERO_GREY = "#e0e0e0"
_CLUSTER_FILLS = ("#f3f6fb", "#e8eef7", "#dde6f2")  # one per nesting depth, darker inside
_EDGE_NOTE = "#1f4e9c"  # local derivatives on edges
_FOCUS = "#e07b00"  # the node a step-by-step frame is processing
# Viridis, sampled at ten points: perceptually even, readable in grey and by colour-blind readers.
_SCALE = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725")


class GraphTooLargeError(ValueError):
    """The graph has more nodes than `max_nodes`: dot would take minutes to lay it out."""


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """The Graphviz `dot` program is not installed, so the picture cannot be rendered."""

    def __init__(self, message: str) -> None:
        RuntimeError.__init__(self, message)  # graphviz's own __init__ would reformat the message


@contextlib.contextmanager
def _dot_program_needed() -> Iterator[None]:
    try:
        yield
    except graphviz.ExecutableNotFound as error:
        if isinstance(error, GraphvizNotFoundError):
            raise
        message = f"cannot render the picture: the Graphviz `dot` program was not found; {INSTALL_GRAPHVIZ}"
        raise GraphvizNotFoundError(message) from None


class Picture(graphviz.Digraph):
    """A graphviz.Digraph that says how to install Graphviz when `dot` is missing.

    Everything else is graphviz's own: `.source` (the DOT text, no `dot` needed), `render`,
    `pipe`, and inline display in Jupyter (`_repr_mimebundle_`, which pipes through `dot`).
    """

    def render(self, *args: Any, **kwargs: Any) -> str:
        with _dot_program_needed():
            return super().render(*args, **kwargs)

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        with _dot_program_needed():
            return super().pipe(*args, **kwargs)


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
) -> graphviz.Digraph:
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

    Display it in Jupyter as it is; save it with `.render(outfile="graph.svg")` or get bytes with
    `.pipe(format="png")`. Both need the Graphviz `dot` program; `.source` does not.
    """
    return _draw(root, rankdir, grad_colors, local_grads, clusters, collapse, max_nodes)


def _draw(
    root: Value,
    rankdir: str,
    grad_colors: bool,
    local_grads: bool,
    clusters: bool,
    collapse: int | str | Iterable[str] | None,
    max_nodes: int,
    overlay: _Overlay | None = None,
) -> Picture:
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: root must be a Value, got {type(root).__name__}")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"draw_dot: rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")
    if type(max_nodes) is not int or max_nodes < 1:
        raise ValueError(f"draw_dot: max_nodes must be a positive int, got {max_nodes!r}")
    collapses = _collapse_rule(collapse)

    order = _program_order(root)
    index = {v: i for i, v in enumerate(order)}  # stable ids from the traversal, never id()
    home = _home_scopes(order) if clusters or collapses else dict.fromkeys(order)
    box_of = _boxes(order, home, collapses)
    boxes = list(dict.fromkeys(s for s in box_of.values() if s is not None))
    _check_size(order, box_of, boxes, home, max_nodes)

    outputs = _box_outputs(order, box_of)
    grad_of = (lambda v: overlay.grads.get(v)) if overlay else (lambda v: v.grad)
    shown = [v for v in order if box_of[v] is None or v in outputs]
    scale = _GradScale.of(grad_of(v) for v in shown) if grad_colors else None
    box_ids = {s: f"s{k}" for k, s in enumerate(boxes)}

    def node_id(v: Value) -> str:
        box = box_of[v]
        return box_ids[box] if box is not None else f"v{index[v]}"

    pic = Picture("computation_graph", graph_attr={"rankdir": rankdir, "fontname": _FONT, "nodesep": "0.25",
                                                     "ranksep": "0.35"},
                  node_attr={"fontname": _FONT, "fontsize": str(_FONTSIZE)},
                  edge_attr={"fontname": _FONT, "fontsize": "10", "arrowsize": "0.7", "color": "#555555"})
    # Nodes go into their scope's cluster (None = the picture itself); clusters are attached last.
    statements: dict[Scope | None, list[tuple[str, dict[str, str]]]] = {None: []}
    place = (lambda s: s) if clusters else (lambda s: None)

    for v in order:
        if box_of[v] is not None:
            continue
        statements.setdefault(place(home[v]), []).append((f"v{index[v]}", _value_node(v, grad_of(v), v is root,
                                                                                        scale, overlay)))
        if v.inputs:
            statements[place(home[v])].append((f"o{index[v]}", _op_node(v, overlay)))
    members_of: dict[Scope, list[Value]] = {box: [] for box in boxes}
    for v in order:
        if box_of[v] is not None:
            members_of[box_of[v]].append(v)
    for box, members in members_of.items():
        box_outputs = [v for v in members if v in outputs]
        statements.setdefault(place(box.parent), []).append((box_ids[box], _box_node(box, members, box_outputs,
                                                                                    grad_of, scale)))
    for name, attrs in statements[None]:
        pic.node(name, **attrs)
    if clusters:
        _attach_clusters(pic, statements, _first_ops(order, home))
    _add_edges(pic, order, index, box_of, node_id, local_grads, overlay)
    caption = _caption(scale, local_grads, overlay)
    if caption:
        pic.attr(label=caption, labelloc="t" if overlay else "b", labeljust="l")
    return pic


def _program_order(root: Value) -> list[Value]:
    """Every node behind root, inputs before outputs, first inputs first (dot keeps that order).

    The engine's `_topological_order` visits a node's last input first; here the inputs are
    stacked in reverse so x1 comes before x2, as in the program. No recursion.
    """
    order: list[Value] = []
    seen: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((inp, False) for inp in reversed(node.inputs) if inp not in seen)
    return order


# ---- which group each Value belongs to --------------------------------------------------


def _home_scopes(order: list[Value]) -> dict[Value, Scope | None]:
    """Each Value's scope, where a leaf made outside every scope joins its users' one scope."""
    home = {v: v.scope for v in order}
    mixed = object()
    user_scope: dict[Value, object] = {}
    for v in order:
        for inp in v.inputs:
            if inp.scope is None and not inp.inputs:
                seen = user_scope.get(inp, v.scope)
                user_scope[inp] = v.scope if seen is v.scope else mixed
    for leaf, s in user_scope.items():
        if s is not mixed:
            home[leaf] = s
    return home


def _collapse_rule(collapse: int | str | Iterable[str] | None) -> Callable[[Scope, int], bool] | None:
    """collapse= as a test on (scope, depth); None when nothing is collapsed."""
    if collapse is None:
        return None
    if isinstance(collapse, bool):
        raise TypeError("draw_dot: collapse must be a depth (int), a scope name (str) or names, got a bool")
    if isinstance(collapse, int):
        if collapse < 1:
            raise ValueError(f"draw_dot: collapse depth must be 1 (outermost scopes) or more, got {collapse}")
        return lambda scope, depth: depth == collapse
    names = (collapse,) if isinstance(collapse, str) else collapse
    if not isinstance(names, Iterable):
        raise TypeError(f"draw_dot: collapse must be a depth (int), a scope name (str) or names, got "
                        f"{type(collapse).__name__}")
    names = tuple(names)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"draw_dot: collapse names must be non-empty strings, got {collapse!r}")
    return lambda scope, depth: any(_name_matches(scope.name, n) for n in names)


def _name_matches(name: str, wanted: str) -> bool:
    """'Neuron' matches 'Neuron', 'Neuron 3' and 'Neuron[3]', but not 'Neurons'."""
    return name == wanted or (name.startswith(wanted) and not name[len(wanted)].isalpha())


def _boxes(order: list[Value], home: Mapping[Value, Scope | None], collapses) -> dict[Value, Scope | None]:
    """The collapsed scope each Value is drawn inside (its outermost matching scope), or None."""
    if collapses is None:
        return dict.fromkeys(order)
    box_for: dict[Scope, Scope | None] = {}
    for s in dict.fromkeys(home.values()):
        if s is None:
            continue
        chain = []
        node: Scope | None = s
        while node is not None:
            chain.append(node)
            node = node.parent
        box_for[s] = next((c for depth, c in enumerate(reversed(chain), 1) if collapses(c, depth)), None)
    return {v: (box_for[home[v]] if home[v] is not None else None) for v in order}


def _box_outputs(order: list[Value], box_of: Mapping[Value, Scope | None]) -> set[Value]:
    """The Values in collapsed boxes that are used outside their box (or are the root)."""
    outputs = {order[-1]} if box_of[order[-1]] is not None else set()
    for v in order:
        for inp in v.inputs:
            if box_of[inp] is not None and box_of[inp] is not box_of[v]:
                outputs.add(inp)
    return outputs


def _check_size(order, box_of, boxes, home, max_nodes: int) -> None:
    values = sum(1 for v in order if box_of[v] is None)
    ops = sum(1 for v in order if box_of[v] is None and v.inputs)
    total = values + ops + len(boxes)
    if total <= max_nodes:
        return
    depth = max((len(s.path) for s in set(home.values()) if s is not None), default=0)
    if depth:
        how = (f"collapse scopes into one box each with collapse=1 (outermost) ... collapse={depth} "
               f"(innermost) or collapse='<scope name>'")
    else:
        how = "build the model inside `with autograd.scope(name):` blocks and collapse them with collapse=1"
    raise GraphTooLargeError(
        f"draw_dot: the picture would have {total:,} nodes ({values:,} Values, {ops:,} ops, {len(boxes):,} "
        f"collapsed boxes), more than max_nodes={max_nodes:,}; Graphviz would take minutes on it. "
        f"Draw a smaller part of the graph, {how}, or raise the limit with max_nodes={total}"
    )


# ---- what each node looks like -----------------------------------------------------------


def _fmt(x: float | None) -> str:
    """x to 4 significant digits: 2.0 -> '2', 0.761594 -> '0.7616', 1e-9 -> '1e-09'."""
    if x is None:
        return "?"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "0" if x == 0.0 else f"{x:.4g}"


def _finite(x: float | None) -> bool:
    return x is None or math.isfinite(x)


@dataclass
class _GradScale:
    """log10 |grad| -> a colour of the scale, over whole decades [lo, hi]."""

    lo: int
    hi: int

    @classmethod
    def of(cls, grads: Iterable[float | None]) -> _GradScale:
        logs = [math.log10(abs(g)) for g in grads if g is not None and math.isfinite(g) and g != 0.0]
        if not logs:
            return cls(-1, 1)
        lo, hi = math.floor(min(logs)), math.ceil(max(logs))
        return cls(lo, hi if hi > lo else lo + 1)

    def fraction(self, g: float) -> float:
        return min(1.0, max(0.0, (math.log10(abs(g)) - self.lo) / (self.hi - self.lo)))

    def fill(self, g: float) -> tuple[str, str]:
        """(background, text colour) for a finite, non-zero gradient."""
        t = self.fraction(g)
        return _interpolate(t), ("white" if t < 0.6 else "black")

    def decades(self) -> list[int]:
        step = max(1, math.ceil((self.hi - self.lo) / 8))
        return list(range(self.lo, self.hi + 1, step))


def _interpolate(t: float) -> str:
    x = t * (len(_SCALE) - 1)
    i = min(int(x), len(_SCALE) - 2)
    a, b = _SCALE[i], _SCALE[i + 1]
    f = x - i
    rgb = [round(int(a[k : k + 2], 16) * (1 - f) + int(b[k : k + 2], 16) * f) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _fill_for(data_ok: bool, grad: float | None, scale: _GradScale | None) -> tuple[str, str]:
    """(background, text colour) of a Value's box."""
    if not data_ok or not _finite(grad):
        return _RED, "white"
    if scale is None or grad is None:
        return "#ffffff", "black"
    if grad == 0.0:
        return _ZERO_GREY, "black"
    return scale.fill(grad)


def _value_node(v: Value, grad: float | None, is_root: bool, scale: _GradScale | None,
                overlay: _Overlay | None) -> dict[str, str]:
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
        cells.append(f"<td><b>{_text(v.label, fg)}</b></td>")
    cells.append(f"<td>{_text('data ' + _fmt(v.data), fg, bold=not math.isfinite(v.data))}</td>")
    grad_fg = "#888888" if grad is None and fg == "black" else fg
    cells.append(f"<td{width}>{_text('grad ' + grad_text, grad_fg, bold=not _finite(grad))}</td>")
    label = (f'<<table border="{border}" color="{border_color}" cellborder="0" cellspacing="0" cellpadding="4" '
             f'bgcolor="{bg}"><tr>{"".join(cells)}</tr></table>>')
    tooltip = f"{v.label or 'value'}: data={v.data!r} grad={grad!r}"
    return {"label": label, "shape": "plain", "tooltip": tooltip}


def _text_width(chars: int, fontsize: int) -> int:
    """Points that surely hold `chars` characters of the sans-serif font (digits are 0.56 em wide)."""
    return round(0.6 * fontsize * chars) + 8


def _text(s: str, color: str, bold: bool = False) -> str:
    body = html.escape(s, quote=False)
    if bold:
        body = f"<b>{body}</b>"
    return body if color == "black" else f'<font color="{color}">{body}</font>'


# The ops whose number stood left of the Value (2 - x), named like Python's reflected methods.
_NUMBER_FIRST = {"rsub": "-", "rdiv": "/", "rpow": "**"}


def _op_text(v: Value) -> str:
    """What v's op oval says: the op with its number, read like the expression without the Value.

    x * 2 -> "* 2",  x + 0.5 -> "+ 0.5",  2 - x -> "2 -",  2 ** x -> "2 **";  x ** 2 keeps its
    name "**2", which holds the exponent already. An op between Values is just its name.
    """
    c = v.constant
    if c is None or v.op.startswith("**"):
        return v.op
    if v.op in _NUMBER_FIRST:
        return f"{_fmt_number(c)} {_NUMBER_FIRST[v.op]}"
    return f"{v.op} {_fmt_number(c)}"


def _fmt_number(c: float) -> str:
    """A number the program wrote, as written when 6 significant digits hold it exactly: rounded
    to 4 like computed numbers, x * 1.0001 would read "* 1", an op that seems to do nothing.
    Longer numbers (math.pi, 0.1 + 0.2) do get 4 digits."""
    short = f"{c:.6g}"
    return short if float(short) == c else _fmt(c)


def _op_node(v: Value, overlay: _Overlay | None) -> dict[str, str]:
    attrs = {"label": _op_text(v), "shape": "ellipse", "style": "filled", "fillcolor": "#f0f0f0", "color": "#777777",
             "fontsize": "10", "margin": "0.03,0.02", "height": "0.3", "width": "0.3"}
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
    rows = [f"<tr><td><b>{_text(box.name, fg)}</b></td></tr>",
            f"<tr><td>{_text(f'{len(members)} values · ' + ', '.join(ops[:4]) + (' …' if len(ops) > 4 else ''), fg)}"
            "</td></tr>"]
    if bad:
        rows.append(f"<tr><td>{_text('contains NaN/inf', fg, bold=True)}</td></tr>")
    for v in shown:
        name = v.label or "out"
        line = f"{name} data {_fmt(v.data)}   grad {_fmt(grad_of(v))}"
        rows.append(f"<tr><td>{_text(line, fg)}</td></tr>")
    if len(outputs) > len(shown):
        rows.append(f"<tr><td>{_text(f'+{len(outputs) - len(shown)} more outputs', fg)}</td></tr>")
    border_color = "#8b0000" if bad else "#333333"
    label = (f'<<table border="{3 if bad else 1}" color="{border_color}" cellborder="0" cellspacing="0" '
             f'cellpadding="3" bgcolor="{bg}" style="rounded">{"".join(rows)}</table>>')
    return {"label": label, "shape": "plain", "tooltip": "/".join(box.path)}


# ---- clusters, edges and the caption ---------------------------------------------------------


def _first_ops(order: list[Value], home: Mapping[Value, Scope | None]) -> dict[Scope, int]:
    """Scope -> position of the first op computed inside it: clusters are listed in computation order."""
    first: dict[Scope, int] = {}
    for i, v in enumerate(order):
        s = home[v] if v.inputs else None
        while s is not None and s not in first:
            first[s] = i
            s = s.parent
    return first


def _attach_clusters(pic: Picture, statements: Mapping[Scope | None, list], first_ops: Mapping[Scope, int]) -> None:
    """One DOT cluster per scope, nested like the scopes, innermost attached first."""
    found: dict[Scope, None] = {}
    for s in statements:
        chain = []
        while s is not None and s not in found:
            chain.append(s)
            s = s.parent
        for c in reversed(chain):
            found[c] = None
    scopes = sorted(found, key=lambda s: first_ops.get(s, math.inf))  # stable: ties keep order
    depth = {s: len(s.path) for s in scopes}
    graphs = {}
    for k, s in enumerate(scopes):
        fill = _CLUSTER_FILLS[(depth[s] - 1) % len(_CLUSTER_FILLS)]
        g = graphviz.Digraph(name=f"cluster_{k}", graph_attr={"label": s.name, "labeljust": "l", "style":
                             "rounded,filled", "fillcolor": fill, "color": "#9aa8bd", "fontsize": "10"})
        for name, attrs in statements.get(s, ()):
            g.node(name, **attrs)
        graphs[s] = g
    for s in sorted(scopes, key=lambda s: -depth[s]):  # stable sort: first-seen order within a depth
        (graphs[s.parent] if s.parent is not None else pic).subgraph(graphs[s])


def _add_edges(pic: Picture, order, index, box_of, node_id, local_grads: bool, overlay: _Overlay | None) -> None:
    seen_box_edges: set[tuple[str, str]] = set()

    def box_edge(tail: str, head: str) -> None:
        if (tail, head) not in seen_box_edges:
            seen_box_edges.add((tail, head))
            pic.edge(tail, head)

    for v in order:
        box = box_of[v]
        if box is not None:  # into a collapsed box: only edges that cross its border
            for inp in v.inputs:
                if box_of[inp] is not box:
                    box_edge(node_id(inp), node_id(v))
            continue
        if not v.inputs:
            continue
        op = f"o{index[v]}"
        for pos, (inp, local) in enumerate(zip(v.inputs, v.local_grads)):
            if box_of[inp] is not None:
                box_edge(node_id(inp), op)
                continue
            attrs = {}
            note = overlay.edge_notes.get((v, pos)) if overlay else None
            if note and v is overlay.current:
                attrs = {"label": note, "color": _FOCUS, "fontcolor": _FOCUS, "penwidth": "2"}
            elif note:  # an invisible note still takes its place, so the layout does not move
                attrs = {"label": note, "fontcolor": "#999999" if v in overlay.done else "transparent"}
            elif local_grads:
                attrs = {"label": _fmt(local), "fontcolor": _EDGE_NOTE}
            pic.edge(node_id(inp), op, **attrs)
        focus = overlay is not None and v is overlay.current
        pic.edge(op, node_id(v), **({"color": _FOCUS, "penwidth": "2"} if focus else {}))


def _caption(scale: _GradScale | None, local_grads: bool, overlay: _Overlay | None) -> str:
    """The picture's label, as an HTML table: step caption, then colour legend and edge-label note.

    Legend and note share one row: a row under a wider one would stretch the legend's cells.
    """
    rows = []
    if overlay and overlay.caption:
        width = _text_width(overlay.caption_chars, 14)  # dot's default font size for a graph label
        rows.append(f'<tr><td align="left" width="{width}">{html.escape(overlay.caption, quote=False)}</td></tr>')
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
    if cells:
        rows.append(f'<tr><td align="left"><table border="0" cellspacing="2" cellpadding="3"><tr>{"".join(cells)}'
                    "</tr></table></td></tr>")
    if not rows:
        return ""
    return f'<<table border="0" cellspacing="0" cellpadding="2">{"".join(rows)}</table>>'
