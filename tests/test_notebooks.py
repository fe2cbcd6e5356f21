"""The course notebooks run top to bottom, headless, and their committed outputs are current.

Each notebook is executed in a fresh kernel of this Python (a copy, in a temporary folder: the
repository is not touched). The committed file must carry the outputs of its current code:
notebooks/refresh.py records a hash of the code cells when it saves them, and it is checked here.
Their pictures must show wherever a notebook is opened (a PNG beside every SVG: JupyterLab and
VS Code show no SVG from an untrusted notebook), and refreshing unchanged notebooks must not
change a byte.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import io
import re
import sys
import uuid
from importlib import metadata
from pathlib import Path

import nbformat
import numpy as np
import pytest
from matplotlib.figure import Figure
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook, new_output
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from PIL import Image

pytestmark = pytest.mark.notebooks

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
COURSE = [
    "01_values_and_the_chain_rule",
    "02_a_neuron",
    "03_training_an_mlp",
    "04_vanishing_and_exploding_gradients",
    "05_optimizers",
    "06_higher_order_derivatives",
    "07_backprop_step_by_step",
    "08_diagnosing_training",
    "09_from_chainrule_to_pytorch",
    "10_backprop_through_time",
    "11_residual_connections_and_normalisation",
    "12_regression_and_universal_approximation",
    "13_handwritten_digits",
    "14_exercises_write_your_own_op",
    "15_backprop_as_code",
    "16_convolution_and_weight_sharing",
    "17_batch_normalisation",
]
MAX_BYTES = 2_000_000
IMAGE_TYPES = ("image/png", "image/svg+xml")


def _load_refresh():
    spec = importlib.util.spec_from_file_location("notebooks_refresh", NOTEBOOK_DIR / "refresh.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


refresh = _load_refresh()


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code_cells(nb: nbformat.NotebookNode) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_every_notebook_of_the_course_is_present():
    assert [p.stem for p in NOTEBOOKS] == COURSE


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_top_to_bottom_without_errors(path, tmp_path):
    nb = _read(path)
    try:
        refresh.execute(nb, cwd=tmp_path)
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed to execute:\n{error}")
    outputs = [out for cell in _code_cells(nb) for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_outputs_come_from_the_current_code(path):
    nb = _read(path)
    assert refresh.saved_code_hash(nb) == refresh.code_hash(nb), (
        f"{path.name}: its code changed since its outputs were saved; run `.venv/bin/python notebooks/refresh.py`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_was_executed_top_to_bottom_in_one_kernel(path):
    counts = [cell.execution_count for cell in _code_cells(_read(path))]
    assert counts == list(range(1, len(counts) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_shows_pictures_and_no_errors(path):
    outputs = [out for cell in _code_cells(_read(path)) for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    pictures = [out for out in outputs if any(kind in out.get("data", {}) for kind in IMAGE_TYPES)]
    assert pictures, f"{path.name} has no saved picture (plot or graph)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_prints_nothing_to_stderr(path):
    # warnings and tracebacks would be saved in the file and shown to every reader
    streams = [out for cell in _code_cells(_read(path)) for out in cell.outputs if out.output_type == "stream"]
    assert [out.text for out in streams if out.name == "stderr"] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_is_small(path):
    assert path.stat().st_size < MAX_BYTES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_saved_picture_has_a_png_for_viewers_that_show_no_svg(path):
    # the outputs of the cells and those kept in the state of Output widgets (the step slider)
    pictures = [(where, out) for where, out in refresh.outputs(_read(path)) if "image/svg+xml" in out.get("data", {})]
    assert [where for where, out in pictures if "image/png" not in out["data"]] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_saved_text_holds_a_memory_address_or_a_figure_placeholder(path):
    nb = _read(path)
    assert refresh.addresses(nb) == []  # they change on every run: <autograd.draw.Picture at 0x7f4b...>
    texts = [out.get("data", {}).get("text/plain", "") for _, out in refresh.outputs(nb)]
    assert [t for t in texts if "<Figure size" in t] == []  # what untrusted viewers showed instead of plots


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_progress_bars_are_saved_finished_as_text(path):
    texts = [out.get("data", {}).get("text/plain", "") for _, out in refresh.outputs(_read(path))]
    bars = [text for text in texts if text.startswith("training:")]
    for bar in bars:  # no widget (saved as "0%"), no timings (they change on every run)
        assert re.fullmatch(r"training: 100%\|█+\| (\d+)/\1 epochs(, \w+=[-\d.]+)+", bar), bar
    if path.stem == "03_training_an_mlp":
        assert len(bars) == 1 and "150/150" in bars[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_saved_widget_state_belongs_to_widgets_the_notebook_shows(path):
    nb = _read(path)
    state = nb.metadata.get("widgets", {}).get(refresh.WIDGET_STATE, {}).get("state", {})
    shown = [out.data["application/vnd.jupyter.widget-view+json"]["model_id"] for cell in _code_cells(nb)
             for out in cell.outputs if "application/vnd.jupyter.widget-view+json" in out.get("data", {})]
    reached, todo = set(), list(shown)
    while todo:  # every model a shown widget refers to, directly or through others
        model = todo.pop()
        if model not in reached:
            reached.add(model)
            todo += re.findall(r"IPY_MODEL_([0-9a-f]+)", str(state.get(model, {})))
    assert set(state) == reached  # nothing left over from an earlier run (a progress widget, say)


def test_tidy_numbers_widgets_by_creation_order_and_leaves_out_figure_placeholders():
    def executed(ids: list[str]) -> nbformat.NotebookNode:
        """A notebook as nbclient leaves it: a slider widget (three models) and a plot."""
        slider, layout, style = ids
        view = new_output("execute_result", {"application/vnd.jupyter.widget-view+json": {"model_id": slider},
                                             "text/plain": "IntSlider(value=0)"}, execution_count=1)
        plot = new_output("display_data", {"image/png": "iVBORw0KGgo=",
                                           "text/plain": "<Figure size 600x350 with 1 Axes>"})
        nb = new_notebook(cells=[new_code_cell("slider", execution_count=1, outputs=[view, plot])])
        nb.cells[0].id = "cell-0"
        nb.metadata.widgets = {refresh.WIDGET_STATE: {"state": {
            slider: {"model_name": "IntSliderModel", "state": {"layout": f"IPY_MODEL_{layout}",
                                                               "style": f"IPY_MODEL_{style}"}},
            layout: {"model_name": "LayoutModel", "state": {}},
            style: {"model_name": "SliderStyleModel", "state": {}}}, "version_major": 2, "version_minor": 0}}
        return nb

    first = refresh.tidy(executed([uuid.uuid4().hex for _ in range(3)]), "demo")
    second = refresh.tidy(executed([uuid.uuid4().hex for _ in range(3)]), "demo")
    assert nbformat.writes(first) == nbformat.writes(second)  # same widgets made in the same order: same ids
    state = first.metadata.widgets[refresh.WIDGET_STATE]["state"]
    slider, layout, style = state
    assert state[slider]["state"] == {"layout": f"IPY_MODEL_{layout}", "style": f"IPY_MODEL_{style}"}
    view, plot = first.cells[0].outputs
    assert view.data["application/vnd.jupyter.widget-view+json"]["model_id"] == slider
    assert view.data["text/plain"] == "IntSlider(value=0)"  # a widget's text stays: it is all a static view has
    assert set(plot.data) == {"image/png"}


TINY = [
    """%matplotlib inline
%config InlineBackend.figure_formats = ["retina"]
import matplotlib.pyplot as plt
from autograd import Value, backward_steps, draw_dot
from autograd.draw.steps import steps_slider
from nn import MLP, Adam, fit, hinge_loss, make_moons""",
    """x = Value(2.0, label="x")
y = (x * x + 1.0).tanh()
y.backward()
draw_dot(y)""",
    "steps_slider(backward_steps(y))",
    "plt.plot([1, 2, 3], [2.0, 1.0, 3.0]);",
    """X, labels = make_moons(n=20, noise=0.1, seed=0)
model = MLP(2, [4, 1], seed=0)
history = fit(model, X, labels, hinge_loss, Adam(model.parameters(), lr=0.05), epochs=3, live=True)""",
    """from autograd import AnomalyError, detect_anomaly
with detect_anomaly():
    try:
        Value(float("inf")) - float("inf")
    except AnomalyError as error:
        print(error)""",
]


def test_refreshing_a_notebook_twice_writes_the_same_bytes(tmp_path):
    # a graph, a widget, a plot, a progress bar and a live view: all that used to change from run to run
    path = tmp_path / "tiny.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(source) for source in TINY]), path)
    assert refresh.refresh(path) == []
    first = path.read_bytes()
    assert refresh.refresh(path) == []
    assert path.read_bytes() == first
    nb = _read(path)
    assert nb.metadata.widgets and all(cell.outputs for cell in _code_cells(nb)[1:])
    # detect_anomaly names a cell as IPython does, not by its kernel's temporary file (a new name each run)
    assert "made at Cell In[6], line 4" in _code_cells(nb)[-1].outputs[0].text


def test_code_hash_changes_when_a_code_cell_changes_and_only_then():
    nb = _read(NOTEBOOKS[0])
    edited_code, edited_text = copy.deepcopy(nb), copy.deepcopy(nb)
    code = _code_cells(edited_code)[-1]
    code.source += "\n# one more line"
    markdown = next(cell for cell in edited_text.cells if cell.cell_type == "markdown")
    markdown.source += "\nOne more sentence."
    assert refresh.code_hash(edited_code) != refresh.code_hash(nb)
    assert refresh.code_hash(edited_text) == refresh.code_hash(nb)


@pytest.mark.parametrize(("text", "words"), [("not json", "does not appear to be JSON"),
                                             ('{"a": 1}', "missing a key: cells"),
                                             ('{"cells": 3, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "")])
def test_refresh_on_a_file_that_is_not_a_notebook_is_one_line_and_exit_status_2(tmp_path, text, words):
    import subprocess
    import sys

    good = tmp_path / "good.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("1 + 1")]), good)
    bad = tmp_path / "bad.ipynb"
    bad.write_text(text)
    done = subprocess.run([sys.executable, str(NOTEBOOK_DIR / "refresh.py"), str(good), str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""  # checked before any notebook runs: good.ipynb did not either
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"refresh: not a notebook: {bad}: ")
    assert words in done.stderr and "Traceback" not in done.stderr
    assert not _read(good).cells[0].outputs


def _png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _plot_png(**style) -> bytes:
    """A small matplotlib plot as a full-colour PNG, as the inline backend makes it."""
    fig = Figure(figsize=(3, 2), dpi=100)
    ax = fig.add_subplot()
    ax.plot([0, 1, 2, 3], [1.0, 3.0, 2.0, 4.0], label="a curve", **style)
    ax.legend()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def test_saved_plots_get_a_palette_png_that_looks_the_same_and_is_smaller():
    png = _plot_png(lw=2)
    smaller = refresh.smaller_png(png)
    before, after = Image.open(io.BytesIO(png)), Image.open(io.BytesIO(smaller))
    assert after.mode == "P" and after.size == before.size
    assert len(smaller) < len(png) / 2
    difference = np.abs(np.asarray(before.convert("RGB"), dtype=int) - np.asarray(after.convert("RGB"), dtype=int))
    assert (difference.max(axis=2) == 0).mean() > 0.98  # the background, the axes and the text: the same pixels
    assert refresh.smaller_png(png) == smaller  # the same bytes every time: refresh.py stays byte-stable


def test_pictures_whose_palette_would_show_are_kept_as_they_are():
    ramp = np.linspace(0, 255, 512)
    gradient = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], 255 - ramp[None, :]), axis=2)
    smooth = _png(Image.fromarray(gradient.astype(np.uint8), "RGB"))  # 512x512 colours: a palette would band
    assert refresh.smaller_png(smooth) == smooth
    see_through = Image.new("RGBA", (64, 64), (255, 255, 255, 0))
    assert refresh.smaller_png(_png(see_through)) == _png(see_through)  # its background is the viewer's
    assert refresh.smaller_png(b"\x89PNG\r\n\x1a\n") == b"\x89PNG\r\n\x1a\n"  # not readable: left alone


def _imported_modules(nb: nbformat.NotebookNode) -> set[str]:
    """The top-level names of the modules nb's code cells import (IPython's %magic lines left out)."""
    names = set()
    for cell in _code_cells(nb):
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def _installed_with(requirements: list[str]) -> set[str]:
    """The distributions that installing `requirements` brings, with all they depend on (normalised names)."""
    found, todo = set(), [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found.add(name)
        try:
            todo += [r for r in map(Requirement, metadata.requires(requirement.name) or ())
                     if not r.marker or any(r.marker.evaluate({"extra": e}) for e in requirement.extras | {""})]
        except metadata.PackageNotFoundError:  # not in this environment (JupyterLab): its own name is all we know
            pass
    return found


def test_the_notebooks_extra_installs_every_module_a_notebook_imports():
    # what `pip install -e '.[notebooks]'` installs, as pip reads it: chainrule's installed metadata
    installed = _installed_with(["chainrule[notebooks]"]) - {"chainrule"}
    own = {"autograd", "nn"}  # the packages of this distribution
    providers = metadata.packages_distributions()
    missing = {}
    for path in NOTEBOOKS:
        for module in _imported_modules(_read(path)) - set(sys.stdlib_module_names) - own:
            if not {canonicalize_name(d) for d in providers.get(module, [module])} & installed:
                missing.setdefault(module, []).append(path.stem)
    assert missing == {}  # pip install -e '.[notebooks]' must run every notebook (notebook 9 imports torch)
