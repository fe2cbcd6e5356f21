"""The `chainrule` command line (it may import both packages, so autograd never imports nn).

The commands: `chainrule demo` (the main job) and `chainrule graph` (draw an expression).

Whatever happens, the user sees at most one line on stderr, never a traceback, and one of the
exit statuses listed in _USAGE: the commands report their own mistakes and failures; `main`
turns Ctrl-C, a closed pipe and anything unexpected into a line and a status.
"""

from __future__ import annotations

import os
import sys

EXIT_OK = 0
EXIT_FAILED = 1  # something could not be done: a file not written, Graphviz missing or too slow, a bug
EXIT_USAGE = 2  # a mistake in the command line
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a program stopped by Ctrl-C
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what shells report for `yes | head -1`

_USAGE = f"""usage: chainrule <command> [options]

commands:
  demo     the main job: train an MLP on two moons, save a decision boundary, curves and a neuron graph
  graph    draw the graph of an expression with its gradients, e.g.
           chainrule graph "tanh(x*w + b)" x=2 w=-3 b=6.88 -o graph.svg
  export   convert a saved model for PyTorch or ONNX: chainrule export model.json -o model.onnx (or .pt)
  learn    build your own engine, task by task, checked against chainrule: chainrule learn init DIR

Run `chainrule <command> --help` for a command's options.

Exit status (every command):
  {EXIT_OK}    done
  {EXIT_FAILED}    something could not be done: an output file could not be written, Graphviz is missing
       or took too long, or an unexpected error (one line; CHAINRULE_TRACEBACK=1 shows where)
  {EXIT_USAGE}    a mistake in the command line
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
  {EXIT_CLOSED_PIPE}  the output's reader went away (e.g. piped into `head`); nothing is printed"""


def main(argv: list[str] | None = None) -> int:
    """Run `chainrule` with argv (default sys.argv[1:]); returns the exit status, raises nothing."""
    try:
        status = _run(sys.argv[1:] if argv is None else list(argv))
        if sys.stdout is not None:  # None when started with stdout closed
            sys.stdout.flush()  # a closed pipe is found here, not while Python shuts down
        return status
    except KeyboardInterrupt:
        _say("chainrule: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_CLOSED_PIPE
    except Exception as error:  # a bug: still one line, unless the user asks for the traceback
        if os.environ.get("CHAINRULE_TRACEBACK"):
            raise
        _say(f"chainrule: error: {type(error).__name__}: {error} (run with CHAINRULE_TRACEBACK=1 to see where)")
        return EXIT_FAILED


def _run(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE)
        return EXIT_OK
    command, rest = args[0], args[1:]
    if command == "demo":
        from nn.cli.demo import main as demo

        return demo(rest)
    if command == "graph":
        from autograd.graph_cli import main as graph

        return graph(rest)
    if command == "export":
        from nn.cli.export_cli import main as export

        return export(rest)
    if command == "learn":
        from autograd.learn.cli import main as learn

        return learn(rest)
    print(f"chainrule: unknown command {command!r}\n\n{_USAGE}", file=sys.stderr)
    return EXIT_USAGE


def _say(message: str) -> None:
    """One line on stderr."""
    try:
        print(" ".join(message.split()), file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr is closed too: nothing left to tell
        pass


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush does not fail on the closed pipe again
    (the recipe of the `signal` module's documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests capture it): nothing to do
        pass


if __name__ == "__main__":
    sys.exit(main())
