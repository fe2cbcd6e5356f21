"""`chainrule graph`: draw an expression's graph with its gradients, and print d(out)/d(input).

    chainrule graph "tanh(x*w + b)" x=2 w=-3 b=6.88 -o graph.svg
    chainrule graph "tanh(x*w + b)" x=2 w=-3 b=6.88 --html graph.html

The expression is parsed safely (autograd.expression: a whitelist over Python's `ast`, never
eval). An argument is a NAME=VALUE pair when it reads NAME=NUMBER; any other is the expression,
so "x==1" and "leaky_relu(x, slope=0.1)" reach the parser, which says what is wrong with them.
Names are read as Python reads them (NFKC-normalised: "ﬁ=3" gives the name fi its value).
Exit status 0 on success, 2 for a mistake in the command (bad expression, unknown or missing
name, value that is not a number, domain error such as log(-1), graph too large), 1 when the
picture cannot be made or written (Graphviz missing, dot too slow, unwritable file). Errors are
one line on stderr, never a traceback (nn.cli adds Ctrl-C and a closed pipe). The options are read
by argparse (autograd.cli_args, shared by every `chainrule` command).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from autograd import cli_args
from autograd.cli_args import UsageError
from autograd.draw import (
    MAX_NODES,
    RENDER_TIMEOUT,
    GraphRenderTimeoutError,
    GraphTooLargeError,
    GraphvizNotFoundError,
    draw_dot,
    explore,
)
from autograd.expression import FUNCTIONS, ExpressionError, normal_name, parse
from autograd.files import require_regular_file, write_file
from autograd.value import Value

PROG = "chainrule graph"
_DESCRIPTION = f"""Evaluate EXPRESSION at the given values, run backward(), print the gradient with respect to each
name, and draw the computation graph with every gradient on it.

  EXPRESSION          numbers, names, + - * / ** (unary -), parentheses, and the functions
                      {", ".join(FUNCTIONS)}; e.g. "tanh(x*w + b)"
  NAME=VALUE          one number per name in the expression, e.g. x=2 w=-3 b=6.88; names are
                      read as Python reads them (Unicode-normalised, NFKC)

Every argument that is not an option is the expression or a NAME=VALUE pair (one beginning with a
single minus, such as -offset*2, is never an option); after -- none is an option."""
_EXIT_STATUS = """exit status:
  0    done
  1    the picture could not be made or written (Graphviz missing, over --timeout, unwritable
       file); the gradients are printed all the same
  2    a mistake in the command: the expression, names, values, options, a domain error such
       as log(-1), a graph over --max-nodes
  130  interrupted (Ctrl-C)
  141  the reader of the output went away (a closed pipe)"""

_FORMATS = ("svg", "png", "pdf", "dot", "gv")
# NAME=VALUE as typed: a name-like word, one '=' (not '=='), the rest. Anything else is the expression.
_ASSIGNMENT = re.compile(r"\s*([^\s=()\[\]{}<>!,.:;*+\-/%^&|~@'\"]+)\s*=(?!=)(.*)", re.DOTALL)


def _picture(text: str) -> Path:
    """An argparse type: a picture's file name, whose suffix says its format."""
    if Path(text).suffix.lower().lstrip(".") not in _FORMATS:
        raise argparse.ArgumentTypeError(f"cannot tell the format of {text!r} from its suffix; use one of "
                                         f"{', '.join('.' + f for f in _FORMATS)}")
    return Path(text)


def _parser() -> cli_args.Parser:
    p = cli_args.Parser(PROG, usage="chainrule graph EXPRESSION [NAME=VALUE ...] [-o FILE] [options]",
                        description=_DESCRIPTION, epilog=_EXIT_STATUS)
    p.add_argument("-o", "--output", metavar="FILE", type=_picture,
                   help="write the picture; the format follows the suffix: .svg .png .pdf, or .dot/.gv for the DOT "
                        "source (svg, png and pdf need Graphviz's `dot` program) (default: no picture, only the "
                        "gradients are printed)")
    p.add_argument("--html", metavar="FILE", type=Path,
                   help="write the graph explorer: one HTML page (pan, zoom, search, click a value for its chain-rule "
                        "sum, step through backward with the arrow keys) that opens from disk in any browser "
                        "(default: no page)")
    p.add_argument("--rankdir", metavar="DIR", choices=("LR", "TB", "RL", "BT"), default="LR",
                   help="LR, TB, RL or BT: the direction the graph runs in (LR: left to right)")
    p.add_argument("--colors", action="store_true", help="colour each value by |grad| on a log scale")
    p.add_argument("--local-grads", action="store_true",
                   help="write the local derivative d(out)/d(in) on each input edge")
    p.add_argument("--max-nodes", metavar="N", type=cli_args.whole(1), default=MAX_NODES,
                   help="refuse pictures with more than N nodes")
    p.add_argument("--timeout", metavar="SECONDS", type=cli_args.seconds, default=RENDER_TIMEOUT,
                   help="give up when `dot` takes longer than this (default: %(default)g)")
    return p


def _is_minus_expression(word: str) -> bool:
    """'-x*2', '-offset': a single minus and more than one character after it, never an option here."""
    return len(word) > 2 and word[0] == "-" and word[1] != "-"


def main(argv: list[str] | None = None) -> int:
    """Run `chainrule graph` with argv (the arguments after `graph`); returns the exit status."""
    args = sys.argv[2:] if argv is None else list(argv)
    # argparse reads the options; the arguments it leaves are the expression and NAME=VALUE pairs. Split at
    # "--" here: argparse would keep it among those arguments (or not, depending on the Python version).
    head, tail = (args[:args.index("--")], args[args.index("--") + 1:]) if "--" in args else (args, [])
    # A word such as "-offset*2" is an expression: argparse would read it as "-o ffset*2".
    parsed = cli_args.parse(_parser(), [w for w in head if not _is_minus_expression(w)], known=True)
    if isinstance(parsed, int):  # --help printed, or a mistake in an option reported
        return parsed
    options, left = parsed
    words, pending = [], iter(left)
    nxt = next(pending, None)
    for word in head:  # the words argparse left, and the minus expressions, in the order typed
        if _is_minus_expression(word):
            words.append(word)
        elif word == nxt:
            words.append(word)
            nxt = next(pending, None)
    try:
        text, assignments = _expression_and_assignments(words, tail)
        values = _values(assignments)
        expression = parse(text)
        _check_names(values, expression.names)
        leaves = {name: Value(values[name], label=name) for name in expression.names}
        out = expression.evaluate(leaves)
        out.backward()
        picture = None
        if options.output is not None or options.html is not None:
            picture = draw_dot(out, options.rankdir, grad_colors=options.colors,
                               local_grads=options.local_grads, max_nodes=options.max_nodes)
    except (UsageError, ExpressionError) as error:
        return _fail(str(error), 2)
    except GraphTooLargeError as error:
        return _fail(f"{error} (on the command line: --max-nodes N)", 2)
    except (ValueError, ZeroDivisionError, OverflowError) as error:  # the engine's domain errors
        return _fail(f"cannot evaluate the expression: {error}", 2)

    print(f"f = {expression.text.strip()} = {out.data!r}")
    for name in expression.names:
        print(f"df/d{name} = {leaves[name].grad!r}")
    if picture is None:
        return 0
    if sys.stdout is not None:
        sys.stdout.flush()  # the numbers are shown while dot draws
    for path, write in ((options.output, lambda: _write(picture, options.output, options.timeout)),
                        (options.html, lambda: _write_html(out, options))):
        if path is None:
            continue
        try:
            write()
        except GraphvizNotFoundError as error:
            return _fail(f"{error} (or write the DOT source with -o graph.dot)", 1)
        except GraphRenderTimeoutError as error:
            return _fail(f"{error} (on the command line: --timeout SECONDS, or a smaller expression)", 1)
        except OSError as error:
            return _fail(f"cannot write {str(path)!r}: {error.strerror or error}", 1)
        except ValueError as error:  # a FIFO, a device or a folder, refused before dot runs ("who: why")
            return _fail(f"cannot write {str(path)!r}: {str(error).split(': ', 1)[-1]}", 1)
        except Exception as error:  # dot itself failing; still one line, as promised
            return _fail(f"cannot render {str(path)!r}: {type(error).__name__}: {error}", 1)
        print(f"wrote {path}")
    return 0


def _expression_and_assignments(words: list[str], after_dashes: list[str]) -> tuple[str, list[str]]:
    """The expression and the NAME=VALUE pairs among the arguments argparse left (and those after "--").

    argparse leaves an option it does not know among them too: a word starting with "--" before "--"
    is one; one starting with a single "-" ("-x*2") is an expression, as with no options at all.
    """
    unknown = next((w for w in words if w.startswith("--")), None)
    if unknown is not None:
        raise UsageError(f"unknown option {unknown!r} (see chainrule graph --help)")
    assignments = [w for w in words + after_dashes if _ASSIGNMENT.fullmatch(w)]
    others = [w for w in words + after_dashes if not _ASSIGNMENT.fullmatch(w)]
    if not others:
        read = f" ({' '.join(assignments)} read as NAME=VALUE)" if assignments else ""
        raise UsageError(f'no expression given{read}; e.g. chainrule graph "tanh(x*w + b)" x=2 w=-3 b=6.88 '
                         "-o graph.svg")
    if len(others) > 1:
        raise UsageError(f"unexpected argument {others[1]!r}: give one expression, then NAME=VALUE pairs")
    return others[0], assignments


def _write_html(out: Value, options: argparse.Namespace) -> None:
    """The graph explorer of out as one HTML page (autograd.explore)."""
    require_regular_file(options.html, PROG)
    view = explore(out, rankdir=options.rankdir, grad_colors=options.colors, local_grads=options.local_grads,
                   max_nodes=options.max_nodes, timeout=options.timeout)
    view.save_html(options.html)


def _fail(message: str, status: int) -> int:
    return cli_args.fail(PROG, message, status)


def _values(assignments: list[str]) -> dict[str, float]:
    """NAME=VALUE pairs as {name: number}, each name normalised as Python normalises names."""
    values: dict[str, float] = {}
    given: dict[str, str] = {}
    for assignment in assignments:
        match = _ASSIGNMENT.fullmatch(assignment)
        raw, text = match[1], match[2].strip()
        if not raw.isidentifier():
            raise UsageError(f"{assignment!r} is not NAME=VALUE: {raw!r} is not a name")
        name = normal_name(raw)
        if name in given:
            same = "" if given[name] == raw else f" ({given[name]!r} and {raw!r} are one name to Python: NFKC)"
            raise UsageError(f"{name!r} is given twice{same}")
        try:
            values[name] = float(text)
        except ValueError:
            raise UsageError(f"{assignment!r}: the value {text!r} is not a number") from None
        if math.isinf(values[name]) and any(c.isdigit() for c in text):  # 1e309, as the literal in an expression
            raise UsageError(f"{assignment!r}: the number {text!r} is too large for a float (write inf for infinity)")
        given[name] = raw
    return values


def _check_names(values: dict[str, float], names: tuple[str, ...]) -> None:
    """Exactly one value for each name of the expression."""
    for name in values:
        if name not in names:
            known = f"its names are {', '.join(names)}" if names else "it has no names"
            raise UsageError(f"{name}={values[name]:g} is given but the expression has no name {name!r}; {known}")
    missing = [n for n in names if n not in values]
    if missing:
        raise UsageError(f"no value for {', '.join(missing)}; give {' '.join(n + '=NUMBER' for n in missing)}")


def _write(picture, path: Path, timeout: float) -> None:
    """The picture (or its DOT source) into path, whole or not at all."""
    suffix = path.suffix.lower().lstrip(".")
    require_regular_file(path, "chainrule graph")
    if suffix in ("dot", "gv"):
        write_file(path, picture.source.encode("utf-8"), "chainrule graph")
    else:
        picture.render(outfile=path, format=suffix, timeout=timeout)
