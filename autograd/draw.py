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

import html
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz

from autograd.backprop import GraphCycleError, topological_order
from autograd.files import require_regular_file, write_file
from autograd.modes import Scope
from autograd.value import Value

MAX_NODES = 500  # dot lays out a few hundred nodes in about a second; tens of thousands take minutes
RENDER_TIMEOUT = 10.0  # seconds dot may take for one picture before rendering gives up

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


class GraphRenderTimeoutError(GraphTooLargeError):
    """Graphviz's `dot` did not finish the picture within the time allowed (`timeout=`, in seconds).

    A GraphTooLargeError, so code that handles a picture too large to draw handles this too.
    """

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: in Jupyter the reader sees the advice, not our stack
        return [f"{type(self).__name__}: {self}"]


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """The Graphviz `dot` program is not installed, so the picture cannot be rendered."""

    def __init__(self, message: str) -> None:
        RuntimeError.__init__(self, message)  # graphviz's own __init__ would reformat the message


def _dot_not_found() -> GraphvizNotFoundError:
    return GraphvizNotFoundError(f"cannot render the picture: the Graphviz `dot` program was not found; "
                                 f"{INSTALL_GRAPHVIZ}")


class Picture(graphviz.Digraph):
    """A graphviz.Digraph whose rendering is bounded in time and writes only the file asked for.

    `.source` is the DOT text (no `dot` needed). `pipe` and `render` give Graphviz's `dot` at
    most `timeout` seconds, by default the picture's `.timeout` (RENDER_TIMEOUT; set it, or
    math.inf for no limit), then raise GraphRenderTimeoutError; a missing `dot` raises
    GraphvizNotFoundError, which says how to install it. Jupyter shows the picture inline
    through `pipe`, so the display is bounded the same way and shows that error's message.
    """

    timeout: float = RENDER_TIMEOUT

    # In a notebook a picture is saved as SVG and PNG: JupyterLab and VS Code show no SVG from a
    # notebook its reader has not trusted (every freshly cloned one), but they do show PNG.

    description = "a computation graph"  # the picture in words, for viewers that show no image
    # What the picture's node and cluster names stand for (autograd.explore reads them): a Value's
    # box or dashed copy -> the Value, a collapsed box -> (scope, its Values), a cluster -> its scope.
    values: dict[str, Value] = {}
    boxes: dict[str, tuple[Scope, list[Value]]] = {}
    scopes: dict[str, Scope] = {}

    def __repr__(self) -> str:  # no memory address, so a saved notebook is the same from run to run
        return f"<Picture: {self.description}>"

    def _repr_mimebundle_(self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None,
                          **_: Any) -> tuple[dict[str, str | bytes], dict[str, dict[str, int]]]:
        """(data, metadata) for Jupyter: SVG, PNG and text/plain.

        The PNG has `_PNG_DENSITY` pixels per CSS pixel of the SVG, and its metadata asks the
        viewer to show it at the SVG's size: sharp on high-density screens, and the same size.
        """
        wanted = set(include) if include is not None else {"image/svg+xml", "image/png", "text/plain"}
        wanted -= set(exclude or ())
        data: dict[str, str | bytes] = {}
        metadata: dict[str, dict[str, int]] = {}
        if wanted & {"image/svg+xml", "image/png"}:
            svg = self.pipe(format="svg", encoding="utf-8")
            if "image/svg+xml" in wanted:
                data["image/svg+xml"] = svg
            if "image/png" in wanted:
                data["image/png"], metadata["image/png"] = self._png_like(svg)
        if "text/plain" in wanted:
            data["text/plain"] = repr(self)
        return data, metadata

    def _png_like(self, svg: str, max_pixels: int | None = None) -> tuple[bytes, dict[str, int]]:
        """The picture as PNG (at most `max_pixels`, default _PNG_MAX_PIXELS), and the size in CSS
        pixels at which it matches `svg`."""
        width_pt, height_pt = _svg_size(svg)
        css = 96 / 72  # CSS pixels per point: browsers show an SVG's points at this scale
        budget = _PNG_MAX_PIXELS if max_pixels is None else max_pixels
        density = min(_PNG_DENSITY, math.sqrt(budget / max(1.0, width_pt * height_pt * css * css)))
        sharp = self.copy()
        sharp.graph_attr["dpi"] = f"{96 * density:.4g}"  # more pixels per inch; the layout stays the same
        return sharp.pipe(format="png"), {"width": round(width_pt * css), "height": round(height_pt * css)}

    def pipe(self, format: str | None = None, renderer: str | None = None, formatter: str | None = None,  # noqa: A002
             neato_no_op: bool | int | None = None, quiet: bool = False, *, engine: str | None = None,
             encoding: str | None = None, timeout: float | None = None) -> bytes | str:
        """The picture as bytes in `format` ("svg", "png", "pdf", ...), or as text given `encoding`.

        The arguments are graphviz's; `timeout` bounds dot's time in seconds (None: the
        picture's `.timeout`). dot's warnings go to stderr unless `quiet`.
        """
        fmt = format if format is not None else self.format
        engine = engine if engine is not None else self.engine
        if fmt not in graphviz.FORMATS:
            raise ValueError(f"pipe: unknown format {fmt!r}; e.g. 'svg', 'png' or 'pdf'")
        if engine not in graphviz.ENGINES:
            raise ValueError(f"pipe: unknown layout engine {engine!r}; e.g. 'dot'")
        if renderer is not None and renderer not in graphviz.RENDERERS:
            raise ValueError(f"pipe: unknown renderer {renderer!r}")
        if formatter is not None and (renderer is None or formatter not in graphviz.FORMATTERS):
            raise ValueError(f"pipe: unknown formatter {formatter!r} (a formatter needs a renderer)")
        timeout = self.timeout if timeout is None else timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"pipe: timeout must be a positive number of seconds (math.inf: no limit), got "
                             f"{timeout!r}")
        command = ["dot", f"-K{engine}", "-T" + ":".join(f for f in (fmt, renderer, formatter) if f is not None)]
        if neato_no_op:
            command.append(f"-n{int(neato_no_op)}")
        try:
            dot = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise _dot_not_found() from None
        # our own wait, not graphviz's pipe: graphviz has no timeout, and a dot that runs out of time
        # or is interrupted by Ctrl-C must not outlive the call (killed and reaped)
        try:
            out, err = dot.communicate(self.source.encode(self.encoding), timeout=None if math.isinf(timeout)
                                       else timeout)
        except BaseException as error:
            dot.kill()
            dot.wait()
            if isinstance(error, subprocess.TimeoutExpired):
                raise GraphRenderTimeoutError(self._too_slow(timeout)) from None
            raise
        finally:
            for stream in (dot.stdin, dot.stdout, dot.stderr):
                stream.close()
        if dot.returncode != 0:
            raise graphviz.CalledProcessError(dot.returncode, command, output=out, stderr=err)
        if err and not quiet:
            sys.stderr.write(err.decode(self.encoding, errors="replace"))
        return out if encoding is None else out.decode(encoding)

    def render(self, filename: str | os.PathLike | None = None, directory: str | os.PathLike | None = None,
               view: bool = False, cleanup: bool = False, format: str | None = None, renderer: str | None = None,  # noqa: A002
               formatter: str | None = None, neato_no_op: bool | int | None = None, quiet: bool = False,
               quiet_view: bool = False, *, outfile: str | os.PathLike | None = None, engine: str | None = None,
               raise_if_result_exists: bool = False, overwrite_source: bool = False,
               timeout: float | None = None) -> str:
        """Write the picture to a file and return its path.

        `render(outfile="graph.svg")` writes exactly that file, its format following the suffix
        (or `format=`), and nothing else: no DOT source beside it, and on any failure (no
        `dot`, timeout, unwritable folder) no file at all; an existing file is replaced whole
        or not at all. Given `filename` (or no outfile), it also saves the DOT source there
        and, without outfile, writes the picture to `filename.<format>`, as graphviz does;
        `cleanup=True` then deletes that source afterwards. `timeout` as in `pipe`.
        """
        source_path: Path | None = None
        if outfile is not None:
            target = Path(os.fspath(outfile))
            if directory is None:
                target = Path(self.directory, target)  # where graphviz would put it
            fmt = format if format is not None else _format_of(target)
        else:
            fmt = format if format is not None else self.format
        if filename is not None or outfile is None:  # the caller asked for the DOT source to be saved
            source_path = Path(self.save(filename, directory=directory))
            if outfile is None:
                suffix = ".".join(f for f in (formatter, renderer, fmt) if f is not None)
                target = source_path.with_name(f"{source_path.name}.{suffix}")
            elif not overwrite_source and target.resolve() == source_path.resolve():
                raise ValueError(f"render: outfile {os.fspath(target)!r} is the DOT source file; "
                                 "pick another name (or pass overwrite_source=True)")
        if raise_if_result_exists and target.exists():
            raise graphviz.FileExistsError(f"output file exists: {os.fspath(target)!r}")
        require_regular_file(target, "render")  # a FIFO or a device is refused before dot runs
        data = self.pipe(fmt, renderer, formatter, neato_no_op, quiet, engine=engine, timeout=timeout)
        write_file(target, data, "render")
        if cleanup and source_path is not None:
            source_path.unlink()
        if view or quiet_view:
            self._view(target, format=fmt, quiet=quiet_view)
        return os.fspath(target)

    def save(self, filename: str | os.PathLike | None = None, directory: str | os.PathLike | None = None, *,
             skip_existing: bool | None = False) -> str:
        """Write the DOT source to `filename` (default: the picture's own) in `directory`, as graphviz
        does, but through autograd.files.write_file: whole or not at all, never onto a FIFO or device."""
        if filename is not None:
            self.filename = filename
        if directory is not None:
            self.directory = directory
        path = self.filepath
        if skip_existing and os.path.exists(path):
            return path
        write_file(path, self.source.encode(self.encoding), "save")
        return path

    def _too_slow(self, timeout: float) -> str:
        nodes = sum(1 for line in self.body if _NODE_STATEMENT.match(line))
        edges = sum(1 for line in self.body if " -> " in line)
        return (f"Graphviz's dot did not finish laying out the picture ({nodes:,} nodes, {edges:,} edges) within "
                f"{timeout:g} s. Draw a smaller part of the graph, collapse scopes into one box each with "
                f"collapse=1 (or collapse='<scope name>'), or allow more time: .render(outfile=..., timeout=60), "
                f".pipe(format=..., timeout=60) or .timeout = 60 for Jupyter; .source has the DOT text")


_NODE_STATEMENT = re.compile(r"\s*(?!(?:graph|node|edge) )\w+ \[")


def _format_of(path: Path) -> str:
    """The picture format a file name asks for: graph.svg -> 'svg'."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in graphviz.FORMATS:
        raise ValueError(f"render: cannot tell the picture format from the name {os.fspath(path)!r}; "
                         "end it in .svg, .png or .pdf, or pass format=")
    return fmt


_PNG_DENSITY = 2  # PNG pixels per CSS pixel in notebooks: sharp on high-density ("retina") screens
_PNG_MAX_PIXELS = 6_000_000  # a huge graph gets fewer pixels per CSS pixel: notebooks stay small


def _svg_size(svg: str) -> tuple[float, float]:
    """(width, height) in points from the header dot writes: <svg width="429pt" height="813pt" ...>."""
    found = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if found is None:
        raise ValueError("draw: the SVG from dot has no width and height in points")
    return float(found[1]), float(found[2])


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

    A Value used far from where it is drawn, in a graph where such long edges would make dot
    take seconds to minutes (x*y*x*y*... with 100 factors), is drawn again as a dashed copy
    beside those uses. Labels and scope names show exactly, whatever characters they hold.

    Display it in Jupyter as it is; save it with `.render(outfile="graph.svg")` (that file and
    no other) or get bytes with `.pipe(format="png")`. Both need the Graphviz `dot` program and
    give it `timeout` seconds (default the picture's `.timeout`, 10 s) before raising
    GraphRenderTimeoutError; `.source` needs neither.
    """
    return _draw(root, PictureOptions(rankdir, grad_colors, local_grads, clusters, collapse, max_nodes))


def _draw(root: Value, options: PictureOptions, overlay: _Overlay | None = None) -> Picture:
    """The picture of root's graph as `options` say; a step frame of backward_steps adds `overlay`."""
    rankdir, grad_colors, local_grads, clusters, collapse, max_nodes = (
        options.rankdir, options.grad_colors, options.local_grads, options.clusters, options.collapse,
        options.max_nodes)
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: root must be a Value, got {type(root).__name__}")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"draw_dot: rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")
    if type(max_nodes) is not int or max_nodes < 1:
        raise ValueError(f"draw_dot: max_nodes must be a positive int, got {max_nodes!r}")
    collapses = _collapse_rule(collapse)

    order = _program_order(root)
    index = {v: i for i, v in enumerate(order)}  # stable ids from the traversal, never id()
    if any(index[inp] >= i for i, v in enumerate(order) for inp in v.inputs):  # a graph made by hand
        topological_order(root)  # raises GraphCycleError naming the cycle
        raise GraphCycleError("draw_dot: the graph has a cycle: a Value is among its own inputs")
    home = _home_scopes(order) if clusters or collapses else dict.fromkeys(order)
    box_of = _boxes(order, home, collapses)
    first_ops = _first_ops(order, home) if clusters or collapses else {}
    # boxes in program order (their first op), so that dot draws neuron 0, 1, 2, ... in order
    boxes = sorted(dict.fromkeys(s for s in box_of.values() if s is not None), key=lambda s: first_ops.get(s, math.inf))
    _check_size(order, box_of, boxes, home, max_nodes)

    outputs = _box_outputs(order, box_of)
    grad_of = (lambda v: overlay.grads.get(v)) if overlay else (lambda v: v.grad)
    shown = [v for v in order if box_of[v] is None or v in outputs]
    scale = _GradScale.of(grad_of(v) for v in shown) if grad_colors else None
    box_ids = {s: f"s{k}" for k, s in enumerate(boxes)}

    def node_id(v: Value) -> str:
        box = box_of[v]
        return box_ids[box] if box is not None else f"v{index[v]}"

    copies = _far_uses(order, box_of)
    tails = {(v, pos): f"c{index[v.inputs[pos]]}_{k}" for (v, pos), k in copies.items()}  # the edge's tail node

    pic = Picture("computation_graph", graph_attr={"rankdir": rankdir, "fontname": _FONT, "nodesep": "0.25",
                                                     "ranksep": "0.35"},
                  node_attr={"fontname": _FONT, "fontsize": str(_FONTSIZE)},
                  edge_attr={"fontname": _FONT, "fontsize": "10", "arrowsize": "0.7", "color": "#555555"})
    # Nodes go into their scope's cluster (None = the picture itself); clusters are attached last.
    statements: dict[Scope | None, list[tuple[str, dict[str, str]]]] = {None: []}
    place = (lambda s: s) if clusters else (lambda s: None)

    drawn_copies: set[str] = set()
    for v in order:
        if box_of[v] is not None:
            continue
        for pos, inp in enumerate(v.inputs):  # a copy goes just before its first user: dot keeps that order
            tail = tails.get((v, pos))
            if tail is not None and tail not in drawn_copies:
                drawn_copies.add(tail)
                statements.setdefault(place(home[inp]), []).append((tail, _value_node(inp, grad_of(inp), False, scale,
                                                                                    overlay, copy=True)))
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
    edges = _edges(order, index, box_of, node_id, tails, local_grads, overlay)
    rows = _rows_of_boxes(boxes, box_ids, edges, place, reverse=rankdir in ("LR", "RL"))
    if rows:
        pic.attr(remincross="false")  # a second crossing minimisation would reorder the rows
    for row in rows.get(None, ()):
        pic.body.append(row)
    if clusters:
        pic.scopes = _attach_clusters(pic, statements, first_ops, rows)
    for tail, head, attrs in edges:
        pic.edge(tail, head, **attrs)
    pic.values = {f"v{i}": v for i, v in enumerate(order) if box_of[v] is None}
    pic.values.update((tail, order[int(tail[1:].partition("_")[0])]) for tail in drawn_copies)
    pic.boxes = {box_ids[box]: (box, members) for box, members in members_of.items()}
    pic.description = overlay.caption if overlay and overlay.caption else _describe(root, order, box_of, boxes)
    caption = _caption(scale, local_grads, overlay, bool(copies))
    if caption:
        pic.attr(label=caption, labelloc="t" if overlay else "b", labeljust="l")
    return pic


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


def _text_width(chars: int, fontsize: int) -> int:
    """Points that surely hold `chars` characters of the sans-serif font (digits are 0.56 em wide)."""
    return round(0.6 * fontsize * chars) + 8


# What a label cannot show as it is: control characters (but newline), lone surrogates (not UTF-8)
# and U+FFFE/U+FFFF (not XML, which dot's HTML-like labels are). They are shown escaped, as repr does.
_UNSHOWABLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


# dot fails on a label over about 16,000 characters, and a box that wide is unreadable anyway:
# a longer text is cut and ends in an ellipsis that says how long it was.
MAX_LABEL_CHARS = 200


def shorten(s: str, limit: int = MAX_LABEL_CHARS) -> str:
    """s itself, or its first characters and "… (N characters)" when it is longer than `limit`."""
    return s if len(s) <= limit else f"{s[: limit - 1]}… ({len(s):,} characters)"


def _visible(s: str) -> str:
    """s with each character a label cannot show written as its escape: bell -> \\x07, tab -> \\t."""
    return _UNSHOWABLE.sub(lambda m: ascii(m[0])[1:-1], s)


def _text(s: str, color: str, bold: bool = False) -> str:
    """s as the text of an HTML-like label, shown exactly: <, > and & escaped, each backslash
    doubled (dot reads \\N in these labels too), a newline a line break."""
    body = "<br/>".join(html.escape(_visible(line).replace("\\", "\\\\"), quote=False) for line in s.split("\n"))
    if bold:
        body = f"<b>{body}</b>"
    return body if color == "black" else f'<font color="{color}">{body}</font>'


def _plain(s: str) -> str:
    """s as a plain DOT string (an escString: a tooltip, a cluster or op label), shown exactly.

    dot reads backslash sequences in these (\\N is the node's name, \\l ends a line), so each
    backslash is doubled; graphviz escapes the quotes; nohtml keeps "<b>" from becoming markup.
    """
    return graphviz.nohtml(_visible(s).replace("\\", "\\\\").replace("\n", "\\n"))


# The ops whose number stood left of the Value (2 - x), named like Python's reflected methods.
_NUMBER_FIRST = {"rsub": "-", "rdiv": "/", "rpow": "**"}


def _op_text(v: Value) -> str:
    """What v's op oval says: the op with its numbers, read like the expression without the Value.

    x * 2 -> "* 2",  x ** 2 -> "** 2",  2 - x -> "2 -",  2 ** x -> "2 **",  x.leaky_relu(0.1) ->
    "leaky_relu slope=0.1" (a named op names its constants). An op between Values is its name.
    """
    c, op = v.constant, shorten(str(v.op))
    if c is None:
        return op
    constants = c if type(c) is tuple else (c,)
    if op in _NUMBER_FIRST:
        return f"{_fmt_number(constants[0])} {_NUMBER_FIRST[op]}"
    if not op.isidentifier():  # an operator: "* 2"
        return f"{op} {' '.join(map(_fmt_number, constants))}"
    names = getattr(v.op, "parameters", ())[-len(constants) :]  # an Op names its arguments; the constants are last
    if len(names) != len(constants):
        names = ("",) * len(constants)
    shown = (f"{name}={_fmt_number(k)}" if name else _fmt_number(k) for name, k in zip(names, constants))
    return " ".join([op, *shown])


def _fmt_number(c: float) -> str:
    """A number the program wrote, as written when 6 significant digits hold it exactly: rounded
    to 4 like computed numbers, x * 1.0001 would read "* 1", an op that seems to do nothing.
    Longer numbers (math.pi, 0.1 + 0.2) do get 4 digits."""
    short = f"{c:.6g}"
    return short if float(short) == c else _fmt(c)


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


def _first_ops(order: list[Value], home: Mapping[Value, Scope | None]) -> dict[Scope, int]:
    """Scope -> position of the first op computed inside it: clusters are listed in computation order."""
    first: dict[Scope, int] = {}
    for i, v in enumerate(order):
        s = home[v] if v.inputs else None
        while s is not None and s not in first:
            first[s] = i
            s = s.parent
    return first


def _attach_clusters(pic: Picture, statements: Mapping[Scope | None, list], first_ops: Mapping[Scope, int],
                     rows: Mapping[Scope | None, list[str]]) -> dict[str, Scope]:
    """One DOT cluster per scope, nested like the scopes, innermost attached first; returns name -> scope."""
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
        g = graphviz.Digraph(name=f"cluster_{k}", graph_attr={"label": _plain(shorten(s.name)), "labeljust": "l",
                             "style": "rounded,filled", "fillcolor": fill, "color": "#9aa8bd", "fontsize": "10"})
        for name, attrs in statements.get(s, ()):
            g.node(name, **attrs)
        g.body.extend(rows.get(s, ()))
        graphs[s] = g
    for s in sorted(scopes, key=lambda s: -depth[s]):  # stable sort: first-seen order within a depth
        (graphs[s.parent] if s.parent is not None else pic).subgraph(graphs[s])
    return {g.name: s for s, g in graphs.items()}


Edge = tuple[str, str, dict[str, str]]  # tail id, head id, DOT attributes


def _edges(order, index, box_of, node_id, tails: Mapping[tuple[Value, int], str], local_grads: bool,
           overlay: _Overlay | None) -> list[Edge]:
    """Every edge of the picture, in program order: input -> op -> output, and into and out of boxes.

    `tails` gives the node an input edge starts from where it is not the input's own box (a copy
    of a far-away Value drawn beside its use)."""
    edges: list[Edge] = []
    seen_box_edges: set[tuple[str, str]] = set()

    def box_edge(tail: str, head: str) -> None:
        if (tail, head) not in seen_box_edges:
            seen_box_edges.add((tail, head))
            edges.append((tail, head, {}))

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
            edges.append((tails.get((v, pos)) or node_id(inp), op, attrs))
        focus = overlay is not None and v is overlay.current
        edges.append((op, node_id(v), {"color": _FOCUS, "penwidth": "2"} if focus else {}))
    return edges


def _rows_of_boxes(boxes: list[Scope], box_ids: Mapping[Scope, str], edges: list[Edge], place,
                   reverse: bool) -> dict[Scope | None, list[str]]:
    """DOT statements that keep side-by-side boxes in program order, keyed by the cluster they go in.

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
    rows: dict[Scope | None, list[str]] = {}
    for (where, _), ids in groups.items():
        if len(ids) > 1:
            chain = " -> ".join(reversed(ids) if reverse else ids)
            rows.setdefault(where, []).append(f"\t{{rank=same; {chain} [style=invis]}}\n")
    return rows


def _levels(edges: list[Edge]) -> dict[str, int]:
    """Node id -> length of the longest path to it (Kahn's algorithm); nodes on a cycle get none.

    Collapsing can make a cycle: a box whose output feeds a node that feeds the box again.
    """
    successors: dict[str, list[str]] = {}
    waiting: dict[str, int] = {}  # edges into the node not yet walked
    for tail, head, _ in edges:
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


def _describe(root: Value, order: list[Value], box_of: Mapping[Value, Scope | None], boxes: list[Scope]) -> str:
    """The picture in a few words: 'the graph of o = 0.7071: 10 values, 5 ops'."""
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
