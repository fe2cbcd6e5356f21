"""The `chainrule` command: `chainrule demo` (the main job) and `chainrule graph` (draw an expression)."""

from __future__ import annotations

import sys

_USAGE = """usage: chainrule <command> [options]

commands:
  demo     the main job: train an MLP on two moons, save a decision boundary, curves and a neuron graph
  graph    draw the graph of an expression with its gradients, e.g.
           chainrule graph "tanh(x*w + b)" x=2 w=-3 b=6.88 -o graph.svg
  export   convert a saved model for PyTorch or ONNX: chainrule export model.json -o model.onnx (or .pt)

Run `chainrule <command> --help` for a command's options."""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "demo":
        from nn.demo import main as demo

        return demo(rest)
    if command == "graph":
        from autograd.graph_cli import main as graph

        return graph(rest)
    if command == "export":
        from nn.export_cli import main as export

        return export(rest)
    print(f"chainrule: unknown command {command!r}\n\n{_USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
