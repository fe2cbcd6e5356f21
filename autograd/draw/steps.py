"""Step-by-step backprop: the pictures of one backward pass, one step at a time.

`backward()` walks the graph once, outputs before inputs, and at each node applies the chain
rule to every input:  input.grad += local_derivative * node.grad.  `backward_trace` records
exactly that walk (the engine's own order and stored local derivatives, in the same float
arithmetic), and `backward_steps` draws it: the node being processed highlighted, its edges
labelled local × grad, and every gradient known so far filled in ("?" where none has arrived).
Save the frames as files with `save_steps`, as an animated GIF with `save_gif`, or browse them
in Jupyter with `steps_slider`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphviz

from autograd.backprop import topological_order
from autograd.draw import jupyter
from autograd.draw.graph import _draw, _Overlay
from autograd.draw.layout import MAX_NODES, Layout, PictureOptions
from autograd.draw.picture import GraphTooLargeError
from autograd.draw.style import _fmt, _op_text, shorten
from autograd.files import kind_of, require_regular_file, write_file
from autograd.value import Value


@dataclass(frozen=True)
class BackwardStep:
    """One node of the backward pass: its complete gradient, passed on to each input."""

    node: Value  # the node whose gradient d(root)/d(node) is complete
    grad: float  # that gradient
    updates: tuple[tuple[Value, float, float], ...]  # (input, local derivative, input's gradient after this step)


def backward_trace(root: Value) -> list[BackwardStep]:
    """The steps backward() takes from root, in its order: one per node that has inputs.

    It replays backprop's own pass: the same order (`topological_order`), the same stored local
    derivatives and the same float additions in the same sequence, so the last gradient recorded
    for each Value equals what `root.backward()` adds to its `.grad`, bit for bit. Leaves pass
    nothing on and get no step. No `.grad` is touched.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_trace: root must be a Value, got {type(root).__name__}")
    grads: dict[Value, float] = {root: 1.0}
    steps = []
    for node in reversed(topological_order(root)):
        if not node.inputs:
            continue
        g = grads[node]
        updates = []
        for inp, local in zip(node.inputs, node.local_grads):  # input.grad += local * node.grad
            grads[inp] = grads.get(inp, 0.0) + local * g
            updates.append((inp, local, grads[inp]))
        steps.append(BackwardStep(node, g, tuple(updates)))
    return steps


def _check_steps(root: Value, max_nodes: int) -> None:
    """Refuse a graph too large for step pictures before doing any work: count at most max_nodes + 1 nodes."""
    seen, stack = {root}, [root]
    while stack:
        for inp in stack.pop().inputs:
            if inp not in seen:
                if len(seen) == max_nodes:
                    raise GraphTooLargeError(
                        f"backward_steps: the graph has more than {max_nodes} nodes, and a step-by-step picture "
                        f"draws one frame per node: build a smaller example (or raise max_nodes)")
                seen.add(inp)
                stack.append(inp)


def backward_steps(
    root: Value,
    rankdir: str = "LR",
    *,
    clusters: bool = True,
    collapse: int | str | Iterable[str] | None = None,
    max_nodes: int = MAX_NODES,
) -> list[graphviz.Digraph]:
    """Pictures of root's backward pass: frame 0 seeds d(root)/d(root) = 1, frame k shows step k.

    Gradients are those of this pass alone (not `.grad`, which backward() would add them to);
    a Value no gradient has reached yet shows "grad ?". Every frame has the same layout, so
    the frames can be flipped through as an animation. Options are those of `draw_dot`.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps: root must be a Value, got {type(root).__name__}")
    if type(max_nodes) is not int or max_nodes < 1:
        raise ValueError(f"backward_steps: max_nodes must be a positive int, got {max_nodes!r}")
    _check_steps(root, max_nodes)
    steps = backward_trace(root)
    grads: dict[Value, float] = {root: 1.0}
    widths: dict[Value, int] = {root: 1}
    for step in steps:
        for inp, _, total in step.updates:
            widths[inp] = max(widths.get(inp, 1), len(_fmt(total)))

    layout = Layout.of(root, PictureOptions(rankdir, clusters=clusters, collapse=collapse, max_nodes=max_nodes))
    notes = {(step.node, pos): f"{_fmt(local)} × {_fmt(step.grad)}"
             for step in steps for pos, (_, local, _) in enumerate(step.updates)}
    n = len(steps)
    captions = [f"Backprop, step 0 of {n}: the output's own gradient is d(out)/d(out) = 1"]
    for k, step in enumerate(steps, 1):
        name = f" {shorten(step.node.label)!r}" if step.node.label else ""
        captions.append(f"Backprop, step {k} of {n}: the {_op_text(step.node)} node{name} has its complete gradient "
                        f"{_fmt(step.grad)}, so each input.grad += local × {_fmt(step.grad)}")
    longest = max(map(len, captions))

    def frame(k: int) -> graphviz.Digraph:
        current = steps[k - 1].node if k else None
        done = frozenset(step.node for step in steps[: k - 1]) if k else frozenset()
        overlay = _Overlay(dict(grads), current, done, notes, captions[k], longest, widths)
        return _draw(layout, overlay)  # one layout, so every frame is drawn alike

    frames = [frame(0)]
    for k, step in enumerate(steps, 1):
        for inp, _, total in step.updates:
            grads[inp] = total
        frames.append(frame(k))
    return frames


def save_steps(frames: Sequence[graphviz.Digraph], directory: str | Path, suffix: str = "svg",
               prefix: str = "step") -> list[Path]:
    """Write frame k to `directory/{prefix}_{k:03d}.{suffix}` (suffix svg, png, pdf, ...); returns the paths.

    Each file is written whole through autograd.files.write_file; a FIFO, device or folder at
    any of the names is refused (ValueError) before the first frame is rendered.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"save_steps: {directory} is {kind_of(os.stat(directory).st_mode)}, not a folder")
    paths = [directory / f"{prefix}_{k:03d}.{suffix}" for k in range(len(frames))]
    for path in paths:
        require_regular_file(path, "save_steps")
    directory.mkdir(parents=True, exist_ok=True)
    for picture, path in zip(frames, paths):
        write_file(path, picture.pipe(format=suffix), "save_steps")
    return paths


def save_gif(frames: Sequence[graphviz.Digraph], path: str | Path, seconds_per_frame: float = 1.5) -> Path:
    """Write the frames as an animated GIF that loops (needs Pillow, which matplotlib installs).

    Written whole through autograd.files.write_file; a FIFO, device or folder at `path` is
    refused (ValueError) before any frame is rendered.
    """
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("save_gif needs Pillow: `pip install pillow` (or use save_steps for SVG/PNG files)") from None
    if not frames:
        raise ValueError("save_gif: there are no frames to save")
    if not seconds_per_frame > 0:
        raise ValueError(f"save_gif: seconds_per_frame must be positive, got {seconds_per_frame!r}")
    path = Path(path)
    require_regular_file(path, "save_gif")
    images = [Image.open(io.BytesIO(picture.pipe(format="png"))).convert("RGB") for picture in frames]
    width, height = max(im.width for im in images), max(im.height for im in images)
    canvases = []
    for im in images:  # frames share a layout; padding only guards against a pixel of difference
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(im, (0, 0))
        canvases.append(canvas)
    gif = io.BytesIO()
    canvases[0].save(gif, format="GIF", save_all=True, append_images=canvases[1:],
                     duration=round(seconds_per_frame * 1000), loop=0)
    write_file(path, gif.getvalue(), "save_gif")
    return path


def steps_slider(frames: Sequence[graphviz.Digraph]) -> Any:
    """A Jupyter widget: a slider over the frames and the picture of the chosen step.

    It needs a running Jupyter kernel (JupyterLab, Jupyter Notebook, VS Code) and ipywidgets
    (`pip install 'chainrule[notebooks]'`). Elsewhere, save the frames with `save_gif` or `save_steps`.
    """
    if not frames:
        raise ValueError("steps_slider: there are no frames to show")
    if not jupyter.in_jupyter_kernel():
        raise RuntimeError(
            "steps_slider needs Jupyter: the slider is an ipywidgets widget, which works only in a running "
            "notebook kernel (JupyterLab, Jupyter Notebook, VS Code). Outside Jupyter, save the frames instead: "
            "save_gif(frames, 'backprop.gif') for an animation, or save_steps(frames, 'steps/') for one picture "
            "per step"
        )
    try:
        import ipywidgets
    except ImportError:
        raise ImportError("steps_slider needs ipywidgets: pip install 'chainrule[notebooks]' "
                          "(or pip install ipywidgets)") from None
    from IPython.display import display

    slider = ipywidgets.IntSlider(value=0, min=0, max=len(frames) - 1, description="step")
    out = ipywidgets.Output()

    def show(_change: object = None) -> None:
        out.clear_output(wait=True)
        with out:
            display(frames[slider.value])

    slider.observe(show, names="value")
    show()
    return ipywidgets.VBox([slider, out])


