"""The course notebooks run top to bottom, headless, and their committed outputs are current.

Each notebook is executed in a fresh kernel of this Python (a copy, in a temporary folder: the
repository is not touched). The committed file must carry the outputs of its current code:
notebooks/refresh.py records a hash of the code cells when it saves them, and it is checked here.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

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
    "09_from_chainrule_to_pytorch",
]
MAX_BYTES = 1_000_000
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


def test_code_hash_changes_when_a_code_cell_changes_and_only_then():
    nb = _read(NOTEBOOKS[0])
    edited_code, edited_text = copy.deepcopy(nb), copy.deepcopy(nb)
    code = _code_cells(edited_code)[-1]
    code.source += "\n# one more line"
    markdown = next(cell for cell in edited_text.cells if cell.cell_type == "markdown")
    markdown.source += "\nOne more sentence."
    assert refresh.code_hash(edited_code) != refresh.code_hash(nb)
    assert refresh.code_hash(edited_text) == refresh.code_hash(nb)
