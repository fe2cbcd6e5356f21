"""`chainrule learn init DIR | check [DIR] [--json] [--time-limit S] | solution TASK`.

Exit status: 0 done (check: every task passes); 1 check: a task does not pass yet; 2 a mistake in
the command, or a folder that is not a workspace (missing files, a syntax error). Problems are one
line on stderr, never a traceback. The options are read by argparse (autograd.cli_args).
"""

from __future__ import annotations

import sys
from pathlib import Path

from autograd.cli_args import Parser, UsageError, fail, parse, seconds
from autograd.learn import check
from autograd.learn.tasks import TASKS, find_task
from autograd.learn.workspace import WorkspaceError, init, solution_text

PROG = "chainrule learn"
_DESCRIPTION = f"""Build your own autodiff engine, one task at a time, checked against chainrule.

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

Run `chainrule learn COMMAND --help` for a command's options."""
_EXIT_STATUS = """exit status:
  0    done (check: every task passes)
  1    check: a task does not pass yet
  2    a mistake in the command, or DIR is not a workspace (a file missing, a syntax error)
  130  interrupted (Ctrl-C)
  141  the output's reader went away (e.g. piped into `head`)"""


def _parser() -> Parser:
    p = Parser(PROG, description=_DESCRIPTION, epilog=_EXIT_STATUS)
    commands = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    init_ = commands.add_parser("init", help="write a workspace into DIR", epilog=_EXIT_STATUS,
                                description="Write a workspace into DIR (new or empty): the package mygrad with\n"
                                            "the parts to write, tests/ with one module per task, and a README.")
    init_.add_argument("folder", metavar="DIR", help="the workspace's folder, new or empty")
    run = commands.add_parser("check", help="run the tasks in order", epilog=_EXIT_STATUS,
                              description="Run the tasks in order: a table of what passes and, for the first task\n"
                                          "that does not, what went wrong in words; a wrong gradient also gets a\n"
                                          "picture, DIR/pictures/*.png: your graph beside chainrule's.")
    run.add_argument("folder", metavar="DIR", nargs="?", default=".", help="the workspace")
    run.add_argument("--json", action="store_true", help="the results as JSON, for a teacher's grading script")
    run.add_argument("--time-limit", metavar="SECONDS", type=seconds, default=check.TIME_LIMIT,
                     help="stop a task after this long: an endless loop costs one task")
    solution = commands.add_parser("solution", help="print a worked solution of TASK", epilog=_EXIT_STATUS,
                                   description="Print a worked solution of TASK.")
    solution.add_argument("task", metavar="TASK", help="its number or name: "
                          + "; ".join(f"{t.number} {t.title}" for t in TASKS))
    return p


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[2:] if argv is None else list(argv)
    parser = _parser()
    if not args:
        parser.print_help()
        return 0
    options = parse(parser, args)
    if isinstance(options, int):
        return options
    try:
        return _run(options)
    except (UsageError, WorkspaceError) as error:
        return fail(PROG, str(error), 2)


def _run(options) -> int:
    if options.command == "init":
        written = init(options.folder)
        print(f"Wrote a workspace of {len(written)} files into {options.folder}. Next:\n"
              f"  cd {options.folder}\n  open README.md, then mygrad/engine.py (task 1)\n"
              "  chainrule learn check      (or: pytest)")
        return 0
    if options.command == "solution":
        try:
            task = find_task(options.task)
        except KeyError as error:
            raise UsageError(error.args[0]) from None
        print(solution_text(task), end="")
        return 0
    folder = Path(options.folder)
    results = check.run(folder, options.time_limit)
    print(check.as_json(folder, results) if options.json else check.as_table(folder, results))
    return 0 if all(r.status == "passed" for r in results) else 1
