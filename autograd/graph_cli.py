"""`chainrule graph`: draw an expression's graph with its gradients, and print d(out)/d(input).

    chainrule graph "tanh(x*w + b)" x=2 w=-3 b=6.88 -o graph.svg

The expression is parsed safely (autograd.expression: a whitelist over Python's `ast`, never
eval). Exit status 0 on success, 2 for a mistake in the command (bad expression, unknown or
missing name, value that is not a number, domain error such as log(-1), graph too large),
1 when the picture cannot be written (Graphviz missing, unwritable file). Errors are one line
on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

from autograd.draw import MAX_NODES, GraphTooLargeError, GraphvizNotFoundError, draw_dot
from autograd.expression import FUNCTIONS, ExpressionError, parse
from autograd.value import Value

USAGE = f"""usage: chainrule graph EXPRESSION [NAME=VALUE ...] [-o FILE] [options]

Evaluate EXPRESSION at the given values, run backward(), print the gradient with respect to each
name, and draw the computation graph with every gradient on it.

  EXPRESSION          numbers, names, + - * / ** (unary -), parentheses, and the functions
                      {", ".join(FUNCTIONS)}; e.g. "tanh(x*w + b)"
  NAME=VALUE          one value per name in the expression, e.g. x=2 w=-3 b=6.88
  -o, --output FILE   write the picture; the format follows the suffix: .svg .png .pdf, or
                      .dot/.gv for the DOT source (svg, png and pdf need Graphviz's `dot` program)
  --rankdir DIR       LR (default), TB, RL or BT
  --colors            colour each value by |grad| on a log scale
  --local-grads       write the local derivative d(out)/d(in) on each input edge
  --max-nodes N       refuse pictures with more than N nodes (default {MAX_NODES})
  -h, --help          show this help

Exit status: 0 done, 2 a mistake in the command, 1 the picture could not be written."""

_FORMATS = ("svg", "png", "pdf", "dot", "gv")


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
        expression = parse(options["expression"])
        leaves = {name: Value(x, label=name) for name, x in _values(options["assignments"], expression.names).items()}
        out = expression.evaluate(leaves)
        out.backward()
        picture = None
        if options["output"] is not None:
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
    try:
        _write(picture, options["output"])
    except GraphvizNotFoundError as error:
        return _fail(f"{error} (or write the DOT source with -o graph.dot)", 1)
    except OSError as error:
        return _fail(f"cannot write {str(options['output'])!r}: {error.strerror or error}", 1)
    except Exception as error:  # dot itself failing; still one line, as promised
        return _fail(f"cannot render {str(options['output'])!r}: {type(error).__name__}: {error}", 1)
    print(f"wrote {options['output']}")
    return 0


def _fail(message: str, status: int) -> int:
    print(f"chainrule graph: error: {' '.join(message.split())}", file=sys.stderr)  # one line, always
    return status


def _parse_args(args: list[str]) -> dict:
    options: dict = {"expression": None, "assignments": [], "output": None, "rankdir": "LR", "colors": False,
                     "local_grads": False, "max_nodes": MAX_NODES}
    with_value = {"-o": "output", "--output": "output", "--rankdir": "rankdir", "--max-nodes": "max_nodes"}
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
        elif "=" in arg:
            options["assignments"].append(arg)
        elif options["expression"] is None:
            options["expression"] = arg
        else:
            raise _UsageError(f"unexpected argument {arg!r}: give one expression, then NAME=VALUE pairs")
    if options["expression"] is None:
        raise _UsageError('no expression given; e.g. chainrule graph "tanh(x*w + b)" x=2 w=-3 b=6.88 -o graph.svg')
    if options["rankdir"] not in ("LR", "TB", "RL", "BT"):
        raise _UsageError(f"--rankdir must be LR, TB, RL or BT, got {options['rankdir']!r}")
    try:
        options["max_nodes"] = int(options["max_nodes"])
    except ValueError:
        raise _UsageError(f"--max-nodes must be a whole number, got {options['max_nodes']!r}") from None
    if options["max_nodes"] < 1:
        raise _UsageError(f"--max-nodes must be at least 1, got {options['max_nodes']}")
    if options["output"] is not None:
        options["output"] = Path(options["output"])
        suffix = options["output"].suffix.lower().lstrip(".")
        if suffix not in _FORMATS:
            raise _UsageError(f"cannot tell the format of {str(options['output'])!r} from its suffix; use one of "
                              f"{', '.join('.' + f for f in _FORMATS)}")
    return options


def _values(assignments: list[str], names: tuple[str, ...]) -> dict[str, float]:
    """NAME=VALUE pairs as numbers, exactly one for each name of the expression."""
    values: dict[str, float] = {}
    for assignment in assignments:
        name, _, text = assignment.partition("=")
        name = name.strip()
        if not name.isidentifier():
            raise _UsageError(f"{assignment!r} is not NAME=VALUE: {name!r} is not a name")
        if name in values:
            raise _UsageError(f"{name!r} is given twice")
        try:
            values[name] = float(text)
        except ValueError:
            raise _UsageError(f"{assignment!r}: the value {text!r} is not a number") from None
        if name not in names:
            known = f"its names are {', '.join(names)}" if names else "it has no names"
            raise _UsageError(f"{name}={text} is given but the expression has no name {name!r}; {known}")
    missing = [n for n in names if n not in values]
    if missing:
        raise _UsageError(f"no value for {', '.join(missing)}; give {' '.join(n + '=NUMBER' for n in missing)}")
    return values


def _write(picture, path: Path) -> None:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("dot", "gv"):
        path.write_text(picture.source, encoding="utf-8")
    else:
        data = picture.pipe(format=suffix)  # render first: a failure leaves no half-written file
        path.write_bytes(data)
