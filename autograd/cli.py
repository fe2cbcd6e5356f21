"""The `chainrule` command: `chainrule demo` (the main job) and `chainrule graph` (draw an expression)."""

from __future__ import annotations

import sys

_USAGE = """usage: chainrule <command> [options]

commands:
  demo     the main job: a derivative computed three ways
  graph    draw the graph of an expression with its gradients, e.g.
           chainrule graph "tanh(x*w + b)" x=2 w=-3 b=6.88 -o graph.svg

Run `chainrule <command> --help` for a command's options."""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "demo":
        return _derivative_demo(rest)
    print(f"chainrule: unknown command {command!r}\n\n{_USAGE}", file=sys.stderr)
    return 2


def _derivative_demo(argv: list[str]) -> int:
    from autograd import Value, gradcheck

    def f(x: Value) -> Value:
        return (x * x).sin() + x.exp() / 2

    x0 = 1.3
    x = Value(x0, label="x")
    f(x).backward()
    import math

    by_hand = 2 * x0 * math.cos(x0 * x0) + math.exp(x0) / 2
    def f_float(x: float) -> float:
        return math.sin(x * x) + math.exp(x) / 2

    eps = 1e-6
    numeric = (f_float(x0 + eps) - f_float(x0 - eps)) / (2 * eps)
    print("f(x) = sin(x^2) + e^x / 2 at x = 1.3; df/dx computed three ways:")
    print(f"  chain rule by hand   2x cos(x^2) + e^x/2 = {by_hand:.12f}")
    print(f"  backward()           x.grad              = {x.grad:.12f}")
    print(f"  finite differences   (f(x+e)-f(x-e))/2e  = {numeric:.12f}")
    print(f"gradcheck(f, [1.3]) -> {gradcheck(f, [x0])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
