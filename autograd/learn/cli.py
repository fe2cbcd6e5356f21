"""`chainrule learn init DIR | check [DIR] [--json] [--time-limit S] | solution TASK`.

Exit status: 0 done (check: every task passes); 1 check: a task does not pass yet; 2 a mistake in
the command, or a folder that is not a workspace (missing files, a syntax error). Problems are one
line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

from autograd.learn import check
from autograd.learn.tasks import TASKS, find_task
from autograd.learn.workspace import WorkspaceError, init, solution_text

USAGE = f"""usage: chainrule learn init DIR | check [DIR] [--json] [--time-limit SECONDS] | solution TASK

Build your own autodiff engine, one task at a time, checked against chainrule.

  init DIR          write a workspace into DIR (new or empty): the package mygrad with the parts
                    to write, tests/ with one module per task, and a README saying what each asks
  check [DIR]       run the tasks in order (DIR: default the current folder): a table of what passes
                    and, for the first task that does not, what went wrong in words; a wrong gradient
                    also gets a picture, DIR/pictures/*.png: your graph beside chainrule's, the first
                    node whose gradient differs in red
      --json        the results as JSON, for a teacher's grading script
      --time-limit S  stop a task after S seconds (default {check.TIME_LIMIT:g}): an endless loop costs one task
  solution TASK     print a worked solution of TASK (its number or name)

Tasks: {"; ".join(f"{t.number} {t.title}" for t in TASKS)}.
Plain `pytest` in the workspace runs the same tests.

Exit status: 0 done (check: every task passes); 1 a task does not pass yet; 2 a mistake in the
command, or DIR is not a workspace (a file missing, a syntax error)."""


class _UsageError(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[2:] if argv is None else list(argv)
    if not args or any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return 0
    try:
        return _run(args[0], args[1:])
    except (_UsageError, WorkspaceError) as error:
        print(f"chainrule learn: {error}", file=sys.stderr)
        return 2


def _run(command: str, rest: list[str]) -> int:
    if command == "init":
        if len(rest) != 1:
            raise _UsageError("init takes one folder: chainrule learn init DIR")
        written = init(rest[0])
        print(f"Wrote a workspace of {len(written)} files into {rest[0]}. Next:\n"
              f"  cd {rest[0]}\n  open README.md, then mygrad/engine.py (task 1)\n"
              "  chainrule learn check      (or: pytest)")
        return 0
    if command == "solution":
        if len(rest) != 1:
            raise _UsageError("solution takes one task: chainrule learn solution 3 (or its name)")
        try:
            task = find_task(rest[0])
        except KeyError as error:
            raise _UsageError(error.args[0]) from None
        print(solution_text(task), end="")
        return 0
    if command == "check":
        return _check(rest)
    raise _UsageError(f"unknown command {command!r}: init, check or solution (chainrule learn --help)")


def _check(rest: list[str]) -> int:
    folders, as_json, time_limit = [], False, check.TIME_LIMIT
    it = iter(rest)
    for arg in it:
        if arg == "--json":
            as_json = True
        elif arg == "--time-limit" or arg.startswith("--time-limit="):
            value = arg.partition("=")[2] if "=" in arg else next(it, "")
            try:
                time_limit = float(value)
            except ValueError:
                raise _UsageError(f"--time-limit needs a number of seconds, got {value!r}") from None
            if not 0 < time_limit < float("inf"):
                raise _UsageError(f"--time-limit must be a positive number of seconds, got {value}")
        elif arg.startswith("-"):
            raise _UsageError(f"unknown option {arg!r} (chainrule learn --help)")
        else:
            folders.append(arg)
    if len(folders) > 1:
        raise _UsageError("check takes one folder")
    folder = Path(folders[0] if folders else ".")
    results = check.run(folder, time_limit)
    print(check.as_json(folder, results) if as_json else check.as_table(folder, results))
    return 0 if all(r.status == "passed" for r in results) else 1
