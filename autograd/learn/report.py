"""A pytest plugin for `chainrule learn check`: what happened in one task's test run, as JSON.

Loaded with `-p autograd.learn.report`; writes {"passed": n, "failed": n, "problem": {...} or
null} to the file $CHAINRULE_LEARN_REPORT when the run ends. The problem is the first failure,
in one line or a few of plain words: the oracle's message, "not started: task 3: ..." for a stub,
or the error and where in the learner's files it happened.
"""

from __future__ import annotations

import json
import os
import re
import traceback
from pathlib import Path

import pytest

from autograd.files import write_file

_result: dict = {"passed": 0, "failed": 0, "problem": None}


def _where(excinfo: pytest.ExceptionInfo) -> str:
    """' (mygrad/engine.py, line 31)': the last frame in the workspace outside its tests."""
    root = Path.cwd().resolve()
    for frame in reversed(traceback.extract_tb(excinfo.tb)):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(root) and "tests" not in path.relative_to(root).parts:
            return f" ({path.relative_to(root).as_posix()}, line {frame.lineno})"
    return ""


def _problem(test: str, excinfo: pytest.ExceptionInfo) -> dict:
    error = excinfo.value
    if isinstance(error, pytest.fail.Exception):
        kind, message = "failed", str(error.msg)
    elif isinstance(error, NotImplementedError):
        kind, message = "not started", f"not started: {error}"
    elif isinstance(error, RecursionError):
        kind, message = "error", f"RecursionError: the walk never ends{_where(excinfo)} (a node among its own inputs?)"
    else:
        kind, message = "error", f"{type(error).__name__}: {error}{_where(excinfo)}"
    picture = next((line.split(" ", 2)[1] for line in message.splitlines() if line.startswith("Picture: ")), None)
    return {"test": test, "kind": kind, "message": message, "picture": picture}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    if call.excinfo is not None and _result["problem"] is None and call.when in ("setup", "call"):
        _result["problem"] = _problem(item.name, call.excinfo)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        _result["passed"] += 1
    elif report.failed:
        _result["failed"] += 1


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed and _result["problem"] is None:
        text = str(report.longrepr)
        lines = [line[1:].strip() for line in text.splitlines() if line.startswith("E")]
        message = lines[-1] if lines else text.strip().splitlines()[-1]
        places = re.findall(r"^(mygrad/\S+\.py):(\d+)", text, re.MULTILINE)  # where in the learner's package
        if places:
            message += f" ({places[-1][0]}, line {places[-1][1]})"
        _result["failed"] += 1
        _result["problem"] = {"test": "importing the tests", "kind": "error", "message": message, "picture": None}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("CHAINRULE_LEARN_REPORT")
    if target:
        write_file(target, json.dumps(_result).encode(), "chainrule learn check")
