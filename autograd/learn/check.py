"""`chainrule learn check`: run the workspace's tasks in order, one pytest run each, with a time limit.

Each task's tests run in a process of their own (`python -m pytest -x tests/test_NN_...py` in the
workspace, with the plugin autograd.learn.report), so an endless loop in a stub costs one task its
time limit and nothing else, and nothing the learner's code does can reach this process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from autograd.learn.tasks import TASKS, Task
from autograd.learn.workspace import WorkspaceError, missing_files

TIME_LIMIT = 120.0  # seconds per task: training (task 8) takes a few seconds on a slow machine


@dataclass
class TaskResult:
    number: int
    name: str
    title: str
    status: str  # "passed", "not started" (a stub), "failed" (a wrong result), "error" (an exception) or "timed out"
    tests_passed: int
    test: str | None  # the first test that failed
    message: str | None  # what went wrong, in words
    picture: str | None  # the picture of a wrong gradient
    seconds: float


def check_folder(folder: Path) -> None:
    """Raise WorkspaceError unless folder is a workspace whose Python files all compile."""
    if not folder.is_dir():
        raise WorkspaceError(f"{folder} is not a folder (make a workspace with `chainrule learn init {folder}`)")
    missing = missing_files(folder, TASKS)
    if missing:
        raise WorkspaceError(f"{folder} is not a complete workspace: {', '.join(missing)} missing "
                             "(`chainrule learn init NEW_FOLDER` writes a new one)")
    for path in sorted([*folder.glob("mygrad/*.py"), *folder.glob("tests/*.py"), folder / "conftest.py"]):
        try:
            compile(path.read_bytes(), str(path), "exec")
        except SyntaxError as error:
            where = path.relative_to(folder).as_posix()
            raise WorkspaceError(f"{where}, line {error.lineno}: {error.msg} (a syntax error: no task can run)") \
                from None
        except (ValueError, UnicodeError) as error:
            raise WorkspaceError(f"{path.relative_to(folder).as_posix()}: cannot be read as Python ({error})") from None


def run_task(folder: Path, task: Task, time_limit: float) -> TaskResult:
    with tempfile.TemporaryDirectory(prefix="chainrule-learn-") as scratch:
        report = Path(scratch) / "report.json"
        # No plugins of the environment (hypothesis, ...): the workspace needs none, and they cost ~0.7 s a task.
        env = dict(os.environ, CHAINRULE_LEARN_REPORT=str(report), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
                   CHAINRULE_LEARN_PICTURES="pictures", PYTHONDONTWRITEBYTECODE="1")  # in the workspace
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "autograd.learn.report", task.module]
        start = time.monotonic()
        process = subprocess.Popen(command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            _stop(process)
            return TaskResult(task.number, task.name, task.title, "timed out", 0, None,
                              f"task {task.number} took longer than {time_limit:g} s and was stopped: an endless loop? "
                              "(a walk that revisits nodes, or a while loop whose condition never changes)",
                              None, round(time.monotonic() - start, 2))
        seconds = round(time.monotonic() - start, 2)
        try:
            result = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            message = f"the tests of task {task.number} could not run (pytest exit status {process.returncode})"
            result = {"passed": 0, "problem": {"test": None, "kind": "error", "picture": None, "message": message}}
    problem = result["problem"]
    if process.returncode == 0 and problem is None:
        return TaskResult(task.number, task.name, task.title, "passed", result["passed"], None, None, None, seconds)
    problem = problem or {"test": None, "kind": "error", "picture": None,
                          "message": f"pytest ended with exit status {process.returncode}"}
    return TaskResult(task.number, task.name, task.title, problem["kind"], result["passed"], problem["test"],
                      problem["message"], problem["picture"], seconds)


def _stop(process: subprocess.Popen) -> None:
    """Stop the task's process and anything it started (its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def run(folder: Path, time_limit: float = TIME_LIMIT) -> list[TaskResult]:
    """Every task's result, in order; WorkspaceError for a folder that is not a workspace."""
    check_folder(folder)
    if importlib.util.find_spec("pytest") is None:
        raise WorkspaceError("the tasks are pytest modules, and pytest is not installed: pip install pytest")
    for old in (folder / "pictures").glob("test_*.png"):  # this run's pictures only
        old.unlink(missing_ok=True)
    return [run_task(folder, task, time_limit) for task in TASKS]


def as_table(folder: Path, results: list[TaskResult]) -> str:
    passed = sum(r.status == "passed" for r in results)
    lines = [f"chainrule learn: {passed} of {len(results)} tasks pass ({folder})", ""]
    for r in results:
        lines.append(f"  {r.number}  {r.title:<42} {r.status}")
    first = next((r for r in results if r.status != "passed"), None)
    if first is None:
        lines += ["", "Every task passes: your engine computes what chainrule computes. Well done!"]
        return "\n".join(lines)
    lines += ["", f"Task {first.number}, {first.title}" + (f" ({first.test}):" if first.test else ":")]
    lines += [f"  {line}" for line in (first.message or "").splitlines()]
    lines += ["", f"Read tests/test_{first.number:02d}_{first.name}.py and README.md (task {first.number}); "
              f"`chainrule learn solution {first.number}` shows a worked solution."]
    return "\n".join(lines)


def as_json(folder: Path, results: list[TaskResult]) -> str:
    return json.dumps({"workspace": str(folder), "passed": sum(r.status == "passed" for r in results),
                       "total": len(results), "tasks": [asdict(r) for r in results]}, indent=2)
