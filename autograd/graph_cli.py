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
one line on stderr, never a traceback (autograd.cli adds Ctrl-C and a closed pipe).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

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

USAGE = f"""usage: chainrule graph EXPRESSION [NAME=VALUE ...] [-o FILE] [options]

Evaluate EXPRESSION at the given values, run backward(), print the gradient with respect to each
name, and draw the computation graph with every gradient on it.

  EXPRESSION          numbers, names, + - * / ** (unary -), parentheses, and the functions
                      {", ".join(FUNCTIONS)}; e.g. "tanh(x*w + b)"
  NAME=VALUE          one number per name in the expression, e.g. x=2 w=-3 b=6.88; names are
                      read as Python reads them (Unicode-normalised, NFKC)
  -o, --output FILE   write the picture; the format follows the suffix: .svg .png .pdf, or
                      .dot/.gv for the DOT source (svg, png and pdf need Graphviz's `dot` program)
                      (default: no picture, only the gradients are printed)
  --html FILE         write the graph explorer: one HTML page (pan, zoom, search, click a
                      value for its chain-rule sum, step through backward with the arrow keys)
                      that opens from disk in any browser (default: no page)
  --rankdir DIR       LR, TB, RL or BT (default LR: left to right)
  --colors            colour each value by |grad| on a log scale (default off)
  --local-grads       write the local derivative d(out)/d(in) on each input edge (default off)
  --max-nodes N       refuse pictures with more than N nodes (default {MAX_NODES})
  --timeout SECONDS   give up when `dot` takes longer than this (default {RENDER_TIMEOUT:g})
  -h, --help          show this help

Exit status: 0 done; 2 a mistake in the command (expression, names, values, options, a domain
error such as log(-1), a graph over --max-nodes); 1 the picture could not be made or written
(Graphviz missing, over --timeout, unwritable file; the gradients are printed all the same);
130 interrupted (Ctrl-C); 141 the reader of the output went away (a closed pipe)."""

_FORMATS = ("svg", "png", "pdf", "dot", "gv")
# NAME=VALUE as typed: a name-like word, one '=' (not '=='), the rest. Anything else is the expression.
_ASSIGNMENT = re.compile(r"\s*([^\s=()\[\]{}<>!,.:;*+\-/%^&|~@'\"]+)\s*=(?!=)(.*)", re.DOTALL)


class _UsageError(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


def main(argv: list[str] | None = None) -> int:
    """Run `chainrule graph` with argv (the arguments after `graph`); returns the exit status."""
    args = sys.argv[2:] if argv is None else list(argv)
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return 0
    try:
        options = _parse_args(args)
        values = _values(options["assignments"])
        expression = parse(options["expression"])
        _check_names(values, expression.names)
        leaves = {name: Value(values[name], label=name) for name in expression.names}
        out = expression.evaluate(leaves)
        out.backward()
        picture = None
        if options["output"] is not None or options["html"] is not None:
            picture = draw_dot(out, options["rankdir"], grad_colors=options["colors"],
                               local_grads=options["local_grads"], max_nodes=options["max_nodes"])
    except (_UsageError, ExpressionError) as error:
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
    for path, write in ((options["output"], lambda: _write(picture, options["output"], options["timeout"])),
                        (options["html"], lambda: _write_html(out, options))):
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


def _write_html(out: Value, options: dict) -> None:
    """The graph explorer of out as one HTML page (autograd.explore)."""
    require_regular_file(options["html"], "chainrule graph")
    view = explore(out, rankdir=options["rankdir"], grad_colors=options["colors"], local_grads=options["local_grads"],
                   max_nodes=options["max_nodes"], timeout=options["timeout"])
    view.save_html(options["html"])


def _fail(message: str, status: int) -> int:
    print(f"chainrule graph: error: {' '.join(message.split())}", file=sys.stderr)  # one line, always
    return status


def _parse_args(args: list[str]) -> dict:
    options: dict = {"expression": None, "assignments": [], "output": None, "html": None, "rankdir": "LR",
                     "colors": False, "local_grads": False, "max_nodes": MAX_NODES, "timeout": RENDER_TIMEOUT}
    with_value = {"-o": "output", "--output": "output", "--html": "html", "--rankdir": "rankdir",
                  "--max-nodes": "max_nodes", "--timeout": "timeout"}
    flags = {"--colors": "colors", "--local-grads": "local_grads"}
    i, only_positional = 0, False
    while i < len(args):
        arg = args[i]
        i += 1
        key, eq, inline = arg.partition("=")  # "--output=graph.svg" or "--output graph.svg"
        if not only_positional and arg == "--":
            only_positional = True
        elif not only_positional and key in with_value and (not eq or key.startswith("--")):
            if not eq:
                if i == len(args):
                    raise _UsageError(f"{arg} needs a value (see chainrule graph --help)")
                inline, i = args[i], i + 1
            options[with_value[key]] = inline
        elif not only_positional and arg in flags:
            options[flags[arg]] = True
        elif not only_positional and arg.startswith("--"):
            raise _UsageError(f"unknown option {arg!r} (see chainrule graph --help)")
        elif _ASSIGNMENT.fullmatch(arg):
            options["assignments"].append(arg)
        elif options["expression"] is None:
            options["expression"] = arg
        else:
            raise _UsageError(f"unexpected argument {arg!r}: give one expression, then NAME=VALUE pairs")
    if options["expression"] is None:
        read = f" ({' '.join(options['assignments'])} read as NAME=VALUE)" if options["assignments"] else ""
        raise _UsageError(f'no expression given{read}; e.g. chainrule graph "tanh(x*w + b)" x=2 w=-3 b=6.88 '
                          "-o graph.svg")
    if options["rankdir"] not in ("LR", "TB", "RL", "BT"):
        raise _UsageError(f"--rankdir must be LR, TB, RL or BT, got {options['rankdir']!r}")
    try:
        options["max_nodes"] = int(options["max_nodes"])
    except ValueError:
        raise _UsageError(f"--max-nodes must be a whole number, got {options['max_nodes']!r}") from None
    if options["max_nodes"] < 1:
        raise _UsageError(f"--max-nodes must be at least 1, got {options['max_nodes']}")
    try:
        options["timeout"] = float(options["timeout"])
    except ValueError:
        raise _UsageError(f"--timeout must be a number of seconds, got {options['timeout']!r}") from None
    if not 0 < options["timeout"] < float("inf"):
        raise _UsageError(f"--timeout must be a positive number of seconds, got {options['timeout']:g}")
    if options["output"] is not None:
        options["output"] = Path(options["output"])
        suffix = options["output"].suffix.lower().lstrip(".")
        if suffix not in _FORMATS:
            raise _UsageError(f"cannot tell the format of {str(options['output'])!r} from its suffix; use one of "
                              f"{', '.join('.' + f for f in _FORMATS)}")
    if options["html"] is not None:
        options["html"] = Path(options["html"])
    return options


def _values(assignments: list[str]) -> dict[str, float]:
    """NAME=VALUE pairs as {name: number}, each name normalised as Python normalises names."""
    values: dict[str, float] = {}
    given: dict[str, str] = {}
    for assignment in assignments:
        match = _ASSIGNMENT.fullmatch(assignment)
        raw, text = match[1], match[2].strip()
        if not raw.isidentifier():
            raise _UsageError(f"{assignment!r} is not NAME=VALUE: {raw!r} is not a name")
        name = normal_name(raw)
        if name in given:
            same = "" if given[name] == raw else f" ({given[name]!r} and {raw!r} are one name to Python: NFKC)"
            raise _UsageError(f"{name!r} is given twice{same}")
        try:
            values[name] = float(text)
        except ValueError:
            raise _UsageError(f"{assignment!r}: the value {text!r} is not a number") from None
        if math.isinf(values[name]) and any(c.isdigit() for c in text):  # 1e309, as the literal in an expression
            raise _UsageError(f"{assignment!r}: the number {text!r} is too large for a float (write inf for infinity)")
        given[name] = raw
    return values


def _check_names(values: dict[str, float], names: tuple[str, ...]) -> None:
    """Exactly one value for each name of the expression."""
    for name in values:
        if name not in names:
            known = f"its names are {', '.join(names)}" if names else "it has no names"
            raise _UsageError(f"{name}={values[name]:g} is given but the expression has no name {name!r}; {known}")
    missing = [n for n in names if n not in values]
    if missing:
        raise _UsageError(f"no value for {', '.join(missing)}; give {' '.join(n + '=NUMBER' for n in missing)}")


def _write(picture, path: Path, timeout: float) -> None:
    """The picture (or its DOT source) into path, whole or not at all."""
    suffix = path.suffix.lower().lstrip(".")
    require_regular_file(path, "chainrule graph")
    if suffix in ("dot", "gv"):
        write_file(path, picture.source.encode("utf-8"), "chainrule graph")
    else:
        picture.render(outfile=path, format=suffix, timeout=timeout)
