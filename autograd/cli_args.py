"""The argument parser every `chainrule` command uses: argparse, with one-line errors.

A command builds a `Parser`, calls `parse(parser, argv)` and gets the options, or an exit
status when there is nothing more to do (--help printed: 0; a mistake reported in one line: 2).
`fail` reports any later mistake or failure the same way. (In autograd, so that the commands of
both packages share it: autograd never imports nn.)
"""

from __future__ import annotations

import argparse
import sys

EXIT_USAGE = 2  # a mistake in the command line


class UsageError(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's default in --help, and the description and exit statuses laid out as written.

    A help text that says its default in words, "(default: no picture)", keeps them; a required
    option, or one whose default is None, shows none (argparse would write "(default: None)").
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.required or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)

    def _format_action_invocation(self, action: argparse.Action) -> str:  # "-o, --output FILE", not "-o FILE, ..."
        if not action.option_strings or action.nargs == 0:
            return super()._format_action_invocation(action)
        return f"{', '.join(action.option_strings)} {self._format_args(action, action.dest.upper())}"


class Parser(argparse.ArgumentParser):
    """argparse with the defaults shown in --help and a mistake raised as one UsageError line."""

    def __init__(self, prog: str, **kwargs):
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(prog=prog, **kwargs)

    def error(self, message: str):  # argparse would print the usage too and exit: we keep to one line
        raise UsageError(f"{message} (see {self.prog} --help)")


def parse(parser: argparse.ArgumentParser, argv: list[str], known: bool = False, max_line: int | None = None):
    """parser's options from argv, or the exit status when the command is over (--help: 0; a mistake: 2).

    known=True gives (options, the arguments argparse did not take), as parse_known_args does.
    """
    try:
        return parser.parse_known_args(argv) if known else parser.parse_args(argv)
    except SystemExit as e:  # --help: argparse has printed it
        return int(e.code or 0)
    except UsageError as e:
        return fail(parser.prog, str(e), EXIT_USAGE, max_line)


def fail(prog: str, message: str, status: int, max_line: int | None = None) -> int:
    """Say `prog: error: message` in one line on stderr (cut in the middle past max_line characters);
    returns status."""
    line = f"{prog}: error: {' '.join(message.split())}"
    if max_line is not None and len(line) > max_line:
        head = (max_line - 5) // 2
        line = f"{line[:head]} ... {line[-(max_line - 5 - head):]}"
    print(line, file=sys.stderr)
    return status


def whole(least: int):
    """An argparse type: a whole number of at least `least`."""
    def number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value
    return number


def between(low: float, high: float, low_allowed: bool):
    """An argparse type: a number from low (or above it) to below high."""
    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (low <= value if low_allowed else low < value) or not value < high:
            raise argparse.ArgumentTypeError(f"must be {'at least' if low_allowed else 'above'} {low:g} and below "
                                             f"{high:g}, got {text}")
        return value
    return number


def seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value
