"""The workspace: writing a new one, and the worked solutions (printed, or filled in for a teacher's test).

A workspace is a copy of `template/`: the package `mygrad` to complete, one test module per task,
a README. The parts a learner writes sit between marker lines, `# >>> NAME: task N` and
`# <<< NAME`; a worked solution (`solutions/N.md`) is text with Python blocks headed
`python FILE NAME`, each the new text of one such part.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from autograd.files import write_file
from autograd.learn.tasks import Task

REQUIRED = ("conftest.py", "mygrad/__init__.py", "mygrad/engine.py", "mygrad/nn.py", "mygrad/own_op.py")
_BLOCK = re.compile(r"^```python (\S+) (\S+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


class WorkspaceError(Exception):
    """The folder is not a workspace chainrule can check (one line, exit status 2)."""


def _template_files(folder=None, prefix: str = "") -> list[tuple[str, bytes]]:
    folder = folder or resources.files("autograd.learn") / "template"
    files = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            files += _template_files(entry, f"{prefix}{entry.name}/")
        else:
            files.append((prefix + entry.name, entry.read_bytes()))
    return files


def init(folder: str | os.PathLike) -> list[str]:
    """Write a new workspace into folder (made if missing; it must be empty). Returns the files written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise WorkspaceError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise WorkspaceError(f"{folder} is not empty: a workspace goes into a new or empty folder, "
                             "so that nothing of yours is overwritten")
    written = []
    for name, data in _template_files():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data, "chainrule learn init")
        written.append(name)
    return written


def missing_files(folder: Path, tasks: tuple[Task, ...]) -> list[str]:
    return [name for name in (*REQUIRED, *(t.module for t in tasks)) if not (folder / name).is_file()]


def solution_text(task: Task) -> str:
    """The worked solution of task, as text (Markdown)."""
    return (resources.files("autograd.learn") / "solutions" / f"{task.number}.md").read_text(encoding="utf-8")


def apply_solution(folder: str | os.PathLike, task: Task) -> None:
    """Replace the parts of the workspace the task writes with its worked solution."""
    for file, part, code in _BLOCK.findall(solution_text(task)):
        path = Path(folder) / file
        text = path.read_text(encoding="utf-8")
        start = re.search(rf"^[ \t]*# >>> {re.escape(part)}:.*\n", text, re.MULTILINE)
        end = re.search(rf"^[ \t]*# <<< {re.escape(part)}\n", text, re.MULTILINE)
        if start is None or end is None or end.start() < start.end():
            raise WorkspaceError(f"{file}: the lines '# >>> {part}: ...' and '# <<< {part}' are missing")
        write_file(path, (text[: start.end()] + code + text[end.start():]).encode(), "chainrule learn")
