"""Re-execute the course notebooks top to bottom and save them with their outputs.

    .venv/bin/python notebooks/refresh.py                        # every notebook
    .venv/bin/python notebooks/refresh.py notebooks/01_*.ipynb   # some of them

Each notebook runs in a fresh kernel of *this* Python (the project's .venv), headless: plots
use matplotlib's inline backend, never a display. The saved notebook records in its metadata
a hash of its code cells, so tests/test_notebooks.py can tell when the committed outputs no
longer come from the current code (then run this script again).

Run twice on unchanged code, it writes the same bytes: no timings are recorded, widget ids
are numbered in the order the widgets were made, and a picture's text/plain that only says
"<Figure size 600x400 with 1 Axes>" is left out (an image output needs no such stand-in).
Every PNG is saved with at most 256 colours where that changes no area of the picture visibly
(see `smaller_png`): plots and graphs hold few colours, and the course is less than half the size.
Anything else that changes from run to run (a memory address such as 0x7f3d26a0ee90 in an
output) is reported, and the script exits with status 1. A path that is not a notebook file
(a missing file, another suffix, not JSON, not valid nbformat) is one line, exit status 2,
before any notebook runs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path

import nbformat
import numpy as np
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from PIL import Image

NOTEBOOK_DIR = Path(__file__).resolve().parent
METADATA_KEY = "chainrule"  # notebook metadata: {"chainrule": {"code_sha256": ...}}
CELL_TIMEOUT = 600  # seconds for one cell; the whole course takes a few minutes
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MEMORY_ADDRESS = re.compile(r"0x[0-9a-f]{6,}")
_FIGURE_REPR = re.compile(r"<(?:matplotlib\.figure\.)?Figure size [\d.]+x[\d.]+ with \d+ Axes>")
PNG_COLOURS = 256  # a palette PNG: one byte per pixel instead of three or four
PNG_TOLERANCE = 8  # the largest mean error (of 0..255) allowed in any 8x8 block of a picture made smaller
_IDS = uuid.UUID("5c0b1a53-0d1e-4a8e-9f4b-6a1d2c3e4f50")  # namespace of the widget ids written here


def code_hash(nb: nbformat.NotebookNode) -> str:
    """sha256 of the notebook's code cells (their source text, in order), as hex."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
            h.update(source.encode("utf-8"))
            h.update(b"\0")  # so moving text across a cell boundary changes the hash
    return h.hexdigest()


def saved_code_hash(nb: nbformat.NotebookNode) -> str | None:
    """The code hash recorded when the notebook was last executed and saved, if any."""
    return nb.metadata.get(METADATA_KEY, {}).get("code_sha256")


def _kernel_manager() -> KernelManager:
    # No kernel directories: "python3" is then ipykernel's own spec for sys.executable, so the
    # notebooks run on this Python even when the machine has other "python3" kernels installed.
    specs = KernelSpecManager(kernel_dirs=[])
    return KernelManager(kernel_name="python3", kernel_spec_manager=specs)


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DISPLAY", None)  # headless, whatever the caller's session has
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences a debugger warning on Python 3.11+
    env["SOURCE_DATE_EPOCH"] = "0"  # matplotlib writes this date into SVGs instead of the current time
    env["PYTHONHASHSEED"] = "0"  # any order that follows a set of strings is the same in every run
    return env


def execute(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """Run every cell of nb in a fresh kernel started in `cwd`; raises CellExecutionError on an error."""
    client = NotebookClient(
        nb,
        km=_kernel_manager(),
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        record_timing=False,  # no timestamps in the saved file: re-running changes only what changed
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(env=_kernel_env())
    return nb


def smaller_png(png: bytes) -> bytes:
    """The picture as a PNG of at most 256 colours, or `png` unchanged when that would show.

    Plots and graphs hold a few flat colours and their anti-aliased edges: a palette of 256
    (median cut, refined once by k-means) keeps them, and a palette PNG is a third of the size.
    Smooth colour gradients (a colour bar, a shaded decision boundary) would show bands: when any
    8x8 block of pixels moves by more than PNG_TOLERANCE on average, the picture is kept as it is,
    and so is one with transparent pixels (its background is the viewer's). Deterministic:
    the same picture in gives the same bytes out.
    """
    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except (OSError, ValueError):  # not a picture Pillow can read: saved as it came
        return png
    if image.mode not in ("RGB", "RGBA") or (image.mode == "RGBA" and image.getchannel("A").getextrema()[0] < 255):
        return png
    rgb = image.convert("RGB")
    fewer = rgb.quantize(colors=PNG_COLOURS, method=Image.Quantize.MEDIANCUT, kmeans=1)
    error = np.abs(np.asarray(rgb, dtype=np.int16) - np.asarray(fewer.convert("RGB"), dtype=np.int16)).max(axis=2)
    rows, columns = error.shape[0] // 8 * 8, error.shape[1] // 8 * 8
    blocks = error[:rows, :columns].reshape(rows // 8, 8, columns // 8, 8).mean(axis=(1, 3))
    if blocks.size and blocks.max() > PNG_TOLERANCE:
        return png
    out = io.BytesIO()
    fewer.save(out, format="PNG", optimize=True)
    return out.getvalue() if out.tell() < len(png) else png


def tidy(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """nb's outputs made the same from run to run: widget ids by creation order, no figure reprs;
    every PNG made smaller where that does not show (`smaller_png`).

    Call it on a notebook just executed: its widget state still lists the widgets in the order
    the kernel made them (a saved notebook lists them sorted by their random ids).
    """
    for cell in nb.cells:
        for output in cell.get("outputs", ()):
            data = output.get("data", {})
            if _FIGURE_REPR.fullmatch(data.get("text/plain", "")) and set(data) & {"image/png", "image/svg+xml"}:
                del data["text/plain"]
    for _, output in outputs(nb):  # the cells' and the Output widgets' (the step slider keeps PNGs there)
        data = output.get("data", {})
        if "image/png" in data:
            png = smaller_png(base64.b64decode(data["image/png"]))
            data["image/png"] = base64.b64encode(png).decode("ascii")
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return nb
    text = json.dumps(nb)
    for k, old in enumerate(state):
        text = text.replace(old, uuid.uuid5(_IDS, f"{name}/{k}").hex)  # in outputs, in IPY_MODEL_<id> references
    return nbformat.reads(text, as_version=4)


def addresses(nb: nbformat.NotebookNode) -> list[str]:
    """'cell 3: 0x7f4b9ea229d0' for every memory address in an output's text (they change every run).

    Only text is searched: base64 image data holds such letters by chance."""
    found = []
    for where, output in outputs(nb):
        data = output.get("data", {})
        texts = [output.get("text", "")] + [v for kind, v in data.items() if kind.startswith("text/")]
        found += [f"{where}: {m}" for t in texts for m in MEMORY_ADDRESS.findall(t)]
    return found


def outputs(nb: nbformat.NotebookNode) -> list[tuple[str, dict]]:
    """(where, output) for every output: the cells', and those kept in the state of Output widgets."""
    found = [(f"cell {k}", out) for k, cell in enumerate(nb.cells) for out in cell.get("outputs", ())]
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model in state.values():
        found += [(f"widget {model.get('model_name')}", out) for out in model.get("state", {}).get("outputs", ())]
    return found


def refresh(path: Path) -> list[str]:
    """Execute the notebook at `path`, save it in place with its outputs and code hash; returns
    the memory addresses left in its outputs (see `addresses`)."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # the last run's widgets: nbclient keeps them when this run makes none
    execute(nb, cwd=path.parent)
    nb = tidy(nb, path.stem)
    nb.metadata[METADATA_KEY] = {"code_sha256": code_hash(nb)}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return addresses(nb)


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    if not paths:
        print(f"refresh: no notebooks in {NOTEBOOK_DIR}", file=sys.stderr)
        return 1
    for path in paths:
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"refresh: not a notebook file: {path}", file=sys.stderr)
            return 2
        try:  # all are read before any runs: a file that is no notebook is one line, not a traceback
            nbformat.validate(nbformat.read(path, as_version=4))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, nbformat.ValidationError) as error:
            reason = " ".join(str(error).split())  # NotJSONError (a ValueError) quotes the file: keep it short
            print(f"refresh: not a notebook: {path}: {reason[:200]}{'...' if len(reason) > 200 else ''}",
                  file=sys.stderr)
            return 2
    status = 0
    for path in paths:
        start = time.perf_counter()
        left = refresh(path)
        size = path.stat().st_size / 1024
        print(f"{path.name}: executed in {time.perf_counter() - start:.1f} s, saved ({size:.0f} KiB)")
        for where in left:
            print(f"refresh: {path.name}, {where}: a memory address in an output changes on every run; "
                  "give that object a __repr__ without one", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
