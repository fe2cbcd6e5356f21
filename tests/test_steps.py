"""Step-by-step backprop: the trace follows backward() exactly, and the frames show it."""

from __future__ import annotations

import math
import re

import pytest
from _reference import finite_differences, matches_finite_differences, matches_torch, torch_value_and_grad

from autograd import Value, backward_steps, dot, scope
from autograd import sum as vsum
from autograd import topological_order as _topological_order
from autograd.draw.steps import backward_trace, save_gif, save_steps, steps_slider
from autograd.draw.style import _FOCUS

pytestmark = pytest.mark.graph


def neuron(x1=2.0, w1=-3.0, x2=0.0, w2=1.0, b=6.8813735870195432):
    return (x1 * w1 + x2 * w2 + b).tanh()


def shared(x, y):
    a = x * y
    return (a * a + a.exp() / (y + 3.0) - x).sigmoid() + a  # a and y reached by several paths


def wide(x, y, z):
    """One dot node and one n-ary sum node (the engine's own ops for a neuron)."""
    return dot([x, y, z], [y, z, x], bias=x).tanh() + vsum([x, y * y, z.sin()])


def wide_torch(x, y, z):
    return (x * y + y * z + z * x + x).tanh() + (x + y * y + z.sin())


def numbers(x, y):
    """A number in every place an op takes one: x + c, x - c, c - x, x * c, x / c, c / x, c ** x, x ** c."""
    return (2.0 - x * 1.5) / (y**2 + 1.0) + 2.0**y - 0.5 / x + (x - 0.25) / 3.0


GRAPHS = [(neuron, [2.0, -3.0, 0.0, 1.0, 6.8813735870195432]), (shared, [0.7, -1.3]), (wide, [0.3, -0.8, 1.1]),
          (numbers, [0.7, -1.3])]
TORCH_VERSION = {wide: wide_torch}


def build(f, point):
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    return f(*leaves), leaves


def final_gradients(root, steps):
    """d(root)/d(node) for every node, read from the trace: the last update each node received."""
    grads = {root: 1.0}
    for step in steps:
        for inp, _, total in step.updates:
            grads[inp] = total
    return grads


@pytest.mark.parametrize("f, point", GRAPHS, ids=[f.__name__ for f, _ in GRAPHS])
def test_the_trace_visits_the_nodes_in_the_engines_backward_order(f, point):
    root, _ = build(f, point)
    steps = backward_trace(root)
    assert [s.node for s in steps] == [n for n in reversed(_topological_order(root)) if n.inputs]
    for step in steps:
        assert [u[0] for u in step.updates] == list(step.node.inputs)
        assert [u[1] for u in step.updates] == list(step.node.local_grads)


@pytest.mark.parametrize("f, point", GRAPHS, ids=[f.__name__ for f, _ in GRAPHS])
def test_the_last_step_holds_exactly_the_gradients_backward_computes(f, point):
    root, _ = build(f, point)
    traced = final_gradients(root, backward_trace(root))
    root.backward()
    nodes = _topological_order(root)
    assert set(traced) == set(nodes)
    for node in nodes:
        assert traced[node] == node.grad  # bit for bit, not approximately


@pytest.mark.parametrize("f, point", GRAPHS, ids=[f.__name__ for f, _ in GRAPHS])
def test_traced_input_gradients_match_pytorch_and_finite_differences(f, point, torch):
    root, leaves = build(f, point)
    traced = final_gradients(root, backward_trace(root))
    ours = [traced.get(leaf, 0.0) for leaf in leaves]
    assert ours == matches_torch(torch_value_and_grad(torch, TORCH_VERSION.get(f, f), point)[1])

    def f_float(*xs):
        return f(*(Value(x) for x in xs)).data

    assert ours == matches_finite_differences(finite_differences(f_float, point))


def test_each_step_passes_on_a_complete_gradient():
    x = Value(0.5, label="x")
    y = x * x  # x reached twice by one node
    z = (y + x).tanh()
    steps = backward_trace(z)
    grads_seen = {s.node: s.grad for s in steps}
    z.backward()
    for node, g in grads_seen.items():
        assert g == node.grad  # nothing is added to a node after its step


def test_an_op_with_a_number_passes_its_gradient_to_its_one_input():
    x = Value(0.5, label="x")
    y = (x * 3.0 + 1.0).tanh()
    steps = backward_trace(y)
    assert [s.node.op for s in steps] == ["tanh", "+", "*"]
    assert [[(inp, local) for inp, local, _ in s.updates] for s in steps[1:]] == [
        [(steps[2].node, 1.0)], [(x, 3.0)]]  # d(u + 1)/du = 1, d(3x)/dx = 3


def test_tracing_touches_no_grad():
    root, leaves = build(shared, [0.7, -1.3])
    backward_trace(root)
    assert all(n.grad == 0.0 for n in _topological_order(root))


def test_bad_root_is_refused():
    with pytest.raises(TypeError, match="root must be a Value"):
        backward_trace(1.5)


# ---- the frames -------------------------------------------------------------------------------


NODE = re.compile(r"^\s*(v\d+) \[label=<(.*)> shape=", re.M)


def grad_texts(source: str) -> list[str]:
    return re.findall(r"grad ([^<]+)<", source)


def test_there_is_one_frame_for_the_seed_and_one_per_step():
    root, _ = build(neuron, GRAPHS[0][1])
    assert len(backward_steps(root)) == len(backward_trace(root)) + 1


def test_gradients_fill_in_from_the_output_until_none_is_missing():
    root, leaves = build(neuron, GRAPHS[0][1])
    frames = [f.source for f in backward_steps(root)]
    unknown = [grad_texts(src).count("?") for src in frames]
    assert unknown[0] == len(_topological_order(root)) - 1  # only the output's own gradient is known
    assert unknown == sorted(unknown, reverse=True) and unknown[-1] == 0
    root.backward()
    last = frames[-1]
    x0 = next(lbl for _, lbl in NODE.findall(last) if "<b>x0</b>" in lbl)
    assert f"grad {leaves[0].grad:.4g}" in x0


def test_each_frame_highlights_the_node_being_processed():
    root, _ = build(shared, [0.7, -1.3])
    frames = backward_steps(root)
    steps = backward_trace(root)
    assert not any(f'color="{_FOCUS}"' in lbl for _, lbl in NODE.findall(frames[0].source))
    for frame, step in zip(frames[1:], steps):
        focused = [lbl for _, lbl in NODE.findall(frame.source) if f'color="{_FOCUS}"' in lbl]
        assert len(focused) == 1
        assert f"data {step.node.data:.4g}" in focused[0]


def test_the_frames_captions_count_the_steps():
    root, _ = build(neuron, GRAPHS[0][1])
    frames = backward_steps(root)
    n = len(frames) - 1
    for k, frame in enumerate(frames):
        assert f"step {k} of {n}" in frame.source


def test_a_frames_caption_and_edge_note_show_the_ops_number():
    x = Value(0.5, label="x")
    y = (2.0 - x).tanh()
    frames = backward_steps(y)
    g = backward_trace(y)[1].grad  # the gradient reaching 2 - x
    assert f"step 2 of 2: the 2 - node has its complete gradient {g:.4g}" in frames[2].source
    assert f'label="-1 × {g:.4g}" color="{_FOCUS}"' in frames[2].source  # the one edge, from x


def test_frames_use_scopes_and_collapse_like_draw_dot():
    x = Value(0.5, label="x")
    with scope("Block"):
        y = (x * 2.0).tanh()
    frames = backward_steps(y, collapse="Block")
    assert all("s0 [" in f.source for f in frames)


# ---- rendering the frames ------------------------------------------------------------------------




def layout(picture) -> list[tuple[str, ...]]:
    """Node names, positions and sizes from dot's plain output."""
    return [tuple(line.split()[:6]) for line in picture.pipe(format="plain", encoding="utf-8").splitlines()
            if line.startswith("node ")]


def test_every_frame_has_the_same_layout(dot_program):
    root, _ = build(shared, [0.7, -1.3])
    frames = backward_steps(root)
    first = layout(frames[0])
    assert first and all(layout(f) == first for f in frames[1:])


def test_save_steps_writes_one_file_per_frame(dot_program, tmp_path):
    root, _ = build(neuron, GRAPHS[0][1])
    frames = backward_steps(root)
    svgs = save_steps(frames, tmp_path / "svg")
    assert [p.name for p in svgs] == [f"step_{k:03d}.svg" for k in range(len(frames))]
    assert all(p.read_text().lstrip().startswith("<?xml") for p in svgs)
    pngs = save_steps(frames, tmp_path / "png", suffix="png")
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_save_gif_writes_an_animation_with_every_frame(dot_program, tmp_path):
    from PIL import Image

    root, _ = build(neuron, GRAPHS[0][1])
    frames = backward_steps(root)
    path = save_gif(frames, tmp_path / "backprop.gif", seconds_per_frame=0.5)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == len(frames)
        assert gif.info["duration"] == 500


def test_save_gif_refuses_nonsense():
    with pytest.raises(ValueError, match="no frames"):
        save_gif([], "x.gif")
    root, _ = build(neuron, GRAPHS[0][1])
    with pytest.raises(ValueError, match="seconds_per_frame"):
        save_gif(backward_steps(root), "x.gif", seconds_per_frame=0)


def test_the_notebook_slider_starts_at_step_zero_and_moves(monkeypatch):
    monkeypatch.setattr("autograd.draw.jupyter.in_jupyter_kernel", lambda: True)  # as in a notebook's kernel
    root, _ = build(neuron, GRAPHS[0][1])
    frames = backward_steps(root)
    widget = steps_slider(frames)
    slider, _ = widget.children
    assert (slider.min, slider.max, slider.value) == (0, len(frames) - 1, 0)
    slider.value = 3  # redraws without error
    assert math.isfinite(slider.value)


def test_the_slider_outside_jupyter_says_it_needs_jupyter_and_what_to_use_instead(capsys):
    root, _ = build(neuron, GRAPHS[0][1])
    with pytest.raises(RuntimeError) as info:
        steps_slider(backward_steps(root))  # pytest runs no Jupyter kernel
    message = str(info.value)
    assert message.startswith("steps_slider needs Jupyter") and "kernel" in message
    assert "save_gif(frames" in message and "save_steps(frames" in message
    assert capsys.readouterr() == ("", "")  # no escape codes, no DOT source printed on the way


def test_a_frames_text_for_notebooks_is_its_caption():
    root, _ = build(neuron, GRAPHS[0][1])
    frames = backward_steps(root)
    n = len(frames) - 1
    for k, frame in enumerate(frames):
        assert repr(frame).startswith(f"<Picture: Backprop, step {k} of {n}: ")


def test_a_graph_too_large_for_step_pictures_is_refused_before_any_work():
    import time

    from autograd.draw import GraphTooLargeError

    x = Value(0.5)
    y = x
    for _ in range(100_000):  # 300,000 nodes: tracing and drawing every step would take minutes
        y = (y * 1.0001 + 0.0001).tanh()
    start = time.process_time()
    with pytest.raises(GraphTooLargeError, match="more than 500 nodes"):
        backward_steps(y)
    assert time.process_time() - start < 0.1  # it counted 501 nodes and stopped
    assert x.grad == 0.0
