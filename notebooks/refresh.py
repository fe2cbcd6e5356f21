"""Re-execute the course notebooks top to bottom and save them with their outputs.

    .venv/bin/python notebooks/refresh.py                        # every notebook
    .venv/bin/python notebooks/refresh.py notebooks/01_*.ipynb   # some of them

Each notebook runs in a fresh kernel of *this* Python (the project's .venv), headless: plots
use matplotlib's inline backend, never a display. The saved notebook records in its metadata
a hash of its code cells, so tests/test_notebooks.py can tell when the committed outputs no
longer come from the current code (then run this script again).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parent
METADATA_KEY = "chainrule"  # notebook metadata: {"chainrule": {"code_sha256": ...}}
CELL_TIMEOUT = 600  # seconds for one cell; the whole course takes a few minutes


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


def refresh(path: Path) -> None:
    """Execute the notebook at `path` and save it in place with its outputs and code hash."""
    nb = nbformat.read(path, as_version=4)
    execute(nb, cwd=path.parent)
    nb.metadata[METADATA_KEY] = {"code_sha256": code_hash(nb)}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.validate(nb)
    nbformat.write(nb, path)


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    if not paths:
        print(f"refresh: no notebooks in {NOTEBOOK_DIR}", file=sys.stderr)
        return 1
    for path in paths:
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"refresh: not a notebook file: {path}", file=sys.stderr)
            return 2
        start = time.perf_counter()
        refresh(path)
        size = path.stat().st_size / 1024
        print(f"{path.name}: executed in {time.perf_counter() - start:.1f} s, saved ({size:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
