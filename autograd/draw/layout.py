"""The layout model: what a picture of a graph holds and where, computed once from (root, options).

`Layout.of(root, options)` decides everything the three picture styles share: the program
order of the nodes and their ids, the scope each Value is drawn in, the collapsed boxes with
their members and outputs, the dashed copies of far-used Values, every edge, and the rows that
keep side-by-side boxes in program order. It checks the graph (no cycle, not too large) on the
way. draw_dot, each frame of backward_steps and explore then only say how each node looks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from autograd.backprop import GraphCycleError, topological_order
from autograd.draw.picture import GraphTooLargeError
from autograd.modes import Scope
from autograd.value import Value

MAX_NODES = 500  # dot lays out a few hundred nodes in about a second; tens of thousands take minutes
_RANKDIRS = ("LR", "TB", "RL", "BT")


@dataclass(frozen=True)
class PictureOptions:
    """How a graph is drawn: the one set of options that draw_dot, backward_steps and explore read.

    Each field is the draw_dot argument of the same name (see draw_dot for what it does).
    """

    rankdir: str = "LR"
    grad_colors: bool = False
    local_grads: bool = False
    clusters: bool = True
    collapse: int | str | Iterable[str] | None = None
    max_nodes: int = MAX_NODES


class Node(NamedTuple):
    """One node of the picture, in the order the DOT source lists them."""

    id: str  # v<i> a Value's box, c<i>_<k> its k-th copy, o<i> the op that made Value i, s<k> a collapsed box
    kind: str  # "value", "copy", "op" or "box"
    of: Value | Scope  # the Value it shows (or whose op it is), or the collapsed scope
    where: Scope | None  # the scope whose cluster it is drawn in; None: the picture itself


class Edge(NamedTuple):
    """One edge of the picture, in program order: input -> op -> output, and into and out of boxes."""

    tail: str
    head: str
    user: Value | None = None  # the Value whose op the edge feeds (pos given) or leaves (pos None); None: a box edge
    pos: int | None = None  # which input of `user` the edge carries


@dataclass(frozen=True)
class Layout:
    """What is drawn where: the one model draw_dot, the step frames and the explorer read.

    Made once per graph and options by `Layout.of`; every frame of a backward pass is drawn from
    the same Layout, so the frames line up. Node ids come from the program order, never from id().
    """

    root: Value
    options: PictureOptions
    order: tuple[Value, ...]  # program order: inputs before outputs, first inputs first
    index: Mapping[Value, int]  # position in `order`: stable node ids, never id()
    ids: Mapping[Value, str]  # the node each Value is drawn as: its own box v<i>, or its collapsed box s<k>
    home: Mapping[Value, Scope | None]  # each Value's scope (a leaf joins its users' one scope)
    box_of: Mapping[Value, Scope | None]  # the collapsed scope a Value is drawn inside, or None
    box_ids: Mapping[Scope, str]  # collapsed scope -> its node id, in program order (first op)
    members: Mapping[Scope, tuple[Value, ...]]  # collapsed scope -> its Values, in program order
    outputs: frozenset[Value]  # the Values of boxes used outside their box (or the root)
    first_ops: Mapping[Scope, int]  # scope -> position of the first op computed inside it
    tails: Mapping[tuple[Value, int], str]  # (user, input position) -> the copy its edge starts from
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    clusters: Mapping[str, Scope]  # cluster name -> scope, in program order (empty: clusters=False)
    rows: Mapping[Scope | None, tuple[tuple[str, ...], ...]]  # node ids kept in this order side by side

    @classmethod
    def of(cls, root: Value, options: PictureOptions) -> Layout:
        """The layout of root's graph as `options` say; raises what draw_dot raises for a bad graph."""
        if not isinstance(root, Value):
            raise TypeError(f"draw_dot: root must be a Value, got {type(root).__name__}")
        if options.rankdir not in _RANKDIRS:
            raise ValueError(f"draw_dot: rankdir must be one of {', '.join(_RANKDIRS)}, got {options.rankdir!r}")
        if type(options.max_nodes) is not int or options.max_nodes < 1:
            raise ValueError(f"draw_dot: max_nodes must be a positive int, got {options.max_nodes!r}")
        collapses = _collapse_rule(options.collapse)
        grouped = options.clusters or collapses is not None

        order = _program_order(root)
        index = {v: i for i, v in enumerate(order)}
        if any(index[inp] >= i for i, v in enumerate(order) for inp in v.inputs):  # a graph made by hand
            topological_order(root)  # raises GraphCycleError naming the cycle
            raise GraphCycleError("draw_dot: the graph has a cycle: a Value is among its own inputs")
        home = _home_scopes(order) if grouped else dict.fromkeys(order)
        box_of = _boxes(order, home, collapses)
        first_ops = _first_ops(order, home) if grouped else {}
        # boxes in program order (their first op), so that dot draws neuron 0, 1, 2, ... in order
        boxes = sorted(dict.fromkeys(s for s in box_of.values() if s is not None),
                       key=lambda s: first_ops.get(s, math.inf))
        _check_size(order, box_of, boxes, home, options.max_nodes)

        box_ids = {s: f"s{k}" for k, s in enumerate(boxes)}
        members: dict[Scope, list[Value]] = {box: [] for box in boxes}
        for v in order:
            if box_of[v] is not None:
                members[box_of[v]].append(v)
        ids = {v: box_ids[box_of[v]] if box_of[v] is not None else f"v{index[v]}" for v in order}
        copies = _far_uses(order, box_of)
        tails = {(v, pos): f"c{index[v.inputs[pos]]}_{k}" for (v, pos), k in copies.items()}

        place = (lambda s: s) if options.clusters else (lambda s: None)
        nodes = _nodes(order, index, home, box_of, tails, members, box_ids, place)
        edges = _edges(order, index, box_of, ids, tails)
        rows = _rows_of_boxes(boxes, box_ids, edges, place, reverse=options.rankdir in ("LR", "RL"))
        clusters = _clusters(nodes, first_ops) if options.clusters else {}
        return cls(root, options, tuple(order), index, ids, home, box_of, box_ids,
                   {box: tuple(vs) for box, vs in members.items()}, frozenset(_box_outputs(order, box_of)),
                   first_ops, tails, nodes, edges, clusters, rows)

    @property
    def values(self) -> dict[str, Value]:
        """Node id -> Value, for every Value's own box and each dashed copy."""
        return {node.id: node.of for node in self.nodes if node.kind in ("value", "copy")}

    @property
    def shown(self) -> list[Value]:
        """The Values whose data and grad the picture shows: every Value not in a box, and the boxes' outputs."""
        return [v for v in self.order if self.box_of[v] is None or v in self.outputs]


def _nodes(order, index, home, box_of, tails, members, box_ids, place) -> tuple[Node, ...]:
    """Every node, in the order the DOT source lists them: a Value's copy just before its first
    user (dot keeps that order), then the Value and its op; the collapsed boxes last."""
    nodes: list[Node] = []
    drawn_copies: set[str] = set()
    for v in order:
        if box_of[v] is not None:
            continue
        for pos, inp in enumerate(v.inputs):
            tail = tails.get((v, pos))
            if tail is not None and tail not in drawn_copies:
                drawn_copies.add(tail)
                nodes.append(Node(tail, "copy", inp, place(home[inp])))
        nodes.append(Node(f"v{index[v]}", "value", v, place(home[v])))
        if v.inputs:
            nodes.append(Node(f"o{index[v]}", "op", v, place(home[v])))
    nodes.extend(Node(box_ids[box], "box", box, place(box.parent)) for box in members)
    return tuple(nodes)


def _first_ops(order: list[Value], home: Mapping[Value, Scope | None]) -> dict[Scope, int]:
    """Scope -> position of the first op computed inside it: clusters are listed in computation order."""
    first: dict[Scope, int] = {}
    for i, v in enumerate(order):
        s = home[v] if v.inputs else None
        while s is not None and s not in first:
            first[s] = i
            s = s.parent
    return first


def _clusters(nodes: tuple[Node, ...], first_ops: Mapping[Scope, int]) -> dict[str, Scope]:
    """One cluster per scope that holds a node, and its enclosing scopes: name -> scope, in computation order."""
    found: dict[Scope, None] = {}
    for s in dict.fromkeys(node.where for node in nodes):
        chain = []
        while s is not None and s not in found:
            chain.append(s)
            s = s.parent
        for c in reversed(chain):
            found[c] = None
    scopes = sorted(found, key=lambda s: first_ops.get(s, math.inf))  # stable: ties keep order
    return {f"cluster_{k}": s for k, s in enumerate(scopes)}


def _edges(order, index, box_of, ids: Mapping[Value, str], tails: Mapping[tuple[Value, int], str]
           ) -> tuple[Edge, ...]:
    """Every edge of the picture, in program order: input -> op -> output, and into and out of boxes.

    `tails` gives the node an input edge starts from where it is not the input's own box (a copy
    of a far-away Value drawn beside its use)."""
    edges: list[Edge] = []
    seen_box_edges: set[tuple[str, str]] = set()

    def box_edge(tail: str, head: str) -> None:
        if (tail, head) not in seen_box_edges:
            seen_box_edges.add((tail, head))
            edges.append(Edge(tail, head))

    for v in order:
        box = box_of[v]
        if box is not None:  # into a collapsed box: only edges that cross its border
            for inp in v.inputs:
                if box_of[inp] is not box:
                    box_edge(ids[inp], ids[v])
            continue
        if not v.inputs:
            continue
        op = f"o{index[v]}"
        for pos, inp in enumerate(v.inputs):
            if box_of[inp] is not None:
                box_edge(ids[inp], op)
                continue
            edges.append(Edge(tails.get((v, pos)) or ids[inp], op, v, pos))
        edges.append(Edge(op, ids[v], v))
    return tuple(edges)


def _rows_of_boxes(boxes: list[Scope], box_ids: Mapping[Scope, str], edges: tuple[Edge, ...], place,
                   reverse: bool) -> dict[Scope | None, tuple[tuple[str, ...], ...]]:
    """Rows of side-by-side boxes, kept in program order, keyed by the cluster they go in.

    Boxes side by side are siblings (one parent scope: the neurons of a layer) on the same level
    of the picture (the longest path to them from a node without inputs). dot's crossing
    minimisation would shuffle them (neuron 1, 2, 0); a row of invisible edges between them in a
    `rank=same` group pins their order. dot draws LR and RL pictures top to bottom and then turns
    them, which puts a flat edge's head above its tail: there the row runs backwards.
    """
    level = _levels(edges)
    groups: dict[tuple[Scope | None, int], list[str]] = {}
    for box in boxes:  # in program order
        if box_ids[box] in level:
            groups.setdefault((place(box.parent), level[box_ids[box]]), []).append(box_ids[box])
    rows: dict[Scope | None, list[tuple[str, ...]]] = {}
    for (where, _), ids in groups.items():
        if len(ids) > 1:
            rows.setdefault(where, []).append(tuple(reversed(ids) if reverse else ids))
    return {where: tuple(chains) for where, chains in rows.items()}


def _levels(edges: tuple[Edge, ...]) -> dict[str, int]:
    """Node id -> length of the longest path to it (Kahn's algorithm); nodes on a cycle get none.

    Collapsing can make a cycle: a box whose output feeds a node that feeds the box again.
    """
    successors: dict[str, list[str]] = {}
    waiting: dict[str, int] = {}  # edges into the node not yet walked
    for tail, head, _, _ in edges:
        successors.setdefault(tail, []).append(head)
        waiting[head] = waiting.get(head, 0) + 1
        waiting.setdefault(tail, 0)
    level = dict.fromkeys((n for n, w in waiting.items() if w == 0), 0)
    ready = list(level)
    while ready:
        node = ready.pop()
        for head in successors.get(node, ()):
            level[head] = max(level.get(head, 0), level[node] + 1)
            waiting[head] -= 1
            if waiting[head] == 0:
                ready.append(head)
    return {n: k for n, k in level.items() if waiting[n] == 0}


# dot routes an edge that skips ranks through one hidden node per rank skipped, and its layout time
# grows faster than their number: x*y*x*y*... with 100 factors makes ~20,000 of them and takes 22 s,
# 250 factors minutes. Above this many, far uses get a copy of their Value beside them instead.
_HIDDEN_NODES_BUDGET = 3000
_NEAR = 6  # ranks: a use at most this far after where its Value is drawn keeps its edge


def _far_uses(order: list[Value], box_of: Mapping[Value, Scope | None]) -> dict[tuple[Value, int], int]:
    """(user, input position) -> k, for the uses drawn from the k-th copy of their input (k >= 1).

    Ranks are estimated as dot assigns them: an op one rank after its last input, its Value one
    after the op, a leaf just before its first use. While the long edges would need at most
    _HIDDEN_NODES_BUDGET hidden nodes, nothing is copied: a Value used several times is drawn
    once. Above it, a use more than _NEAR ranks after where its Value was last drawn gets a new
    copy of the Value beside it, which also serves the uses within _NEAR ranks after it.
    """
    rank: dict[Value, int] = {}
    for v in order:
        rank[v] = 2 + max((rank[inp] for inp in v.inputs), default=-2)  # leaves 0; v's op at rank[v] - 1
    uses: dict[Value, list[tuple[int, Value, int]]] = {}
    for v in order:
        if box_of[v] is None:
            for pos, inp in enumerate(v.inputs):
                if box_of[inp] is None:
                    uses.setdefault(inp, []).append((rank[v] - 1, v, pos))
    start = {inp: rank[inp] if inp.inputs else min(r for r, _, _ in used) - 1 for inp, used in uses.items()}
    hidden = sum(r - start[inp] - 1 for inp, used in uses.items() for r, _, _ in used)
    if hidden <= _HIDDEN_NODES_BUDGET:
        return {}
    copies: dict[tuple[Value, int], int] = {}
    for inp, used in uses.items():
        drawn_at, k = start[inp], 0
        for r, v, pos in sorted(used, key=lambda use: use[0]):
            if r - drawn_at > _NEAR:
                drawn_at, k = r - 1, k + 1
            if k:
                copies[(v, pos)] = k
    return copies


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
    """'Neuron' matches 'Neuron', 'Neuron 3' and 'Neuron[3]', but not 'Neurons'; 'Neuron 1' not
    'Neuron 10', and 't=' every time step 't=0', 't=1', ... (a word or number is matched whole)."""
    if name == wanted:
        return True
    if not name.startswith(wanted):
        return False
    after = name[len(wanted)]
    return not after.isalpha() and not (wanted[-1:].isalnum() and after.isalnum())


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

