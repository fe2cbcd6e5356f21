"""`detect_anomaly`'s checks: find the first NaN or infinity, and say which op made it and where.

Inside `with autograd.detect_anomaly():` (autograd/modes.py) every node remembers the line of
the program that made it, and two things are checked:
- forward: an op whose output is NaN or infinite raises AnomalyError at once;
- backward: the chain rule is run with a check of every share it passes to an input
  (local derivative x gradient), so an infinite local derivative times a zero gradient (NaN),
  or an overflow, is named at the node where it happened; the same in grad(..., create_graph=True),
  whose new nodes are checked as they are made, as in the forward pass.
Outside the block none of this runs.
"""

from __future__ import annotations

import math
import os
import sys
import weakref

from autograd.value import Value


class AnomalyError(FloatingPointError):
    """Under detect_anomaly: an op's output, or a gradient flowing back through it, is NaN or infinite."""


# node -> "file:line" of the program line that made it (only nodes made under detect_anomaly)
_made_at: weakref.WeakKeyDictionary[Value, str] = weakref.WeakKeyDictionary()

# Frames in these folders are chainrule's own; the line to report is the first one outside them.
_OURS = tuple(os.path.dirname(os.path.dirname(__file__)) + os.sep + package + os.sep for package in ("autograd", "nn"))


def made(node: Value, numbers: list[float]) -> None:
    """A node was made under detect_anomaly: remember where, and check its number."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_OURS):
        frame = frame.f_back
    _made_at[node] = _place(frame.f_code.co_filename, frame.f_lineno) if frame is not None else "(unknown)"
    if not math.isfinite(node.data):
        raise AnomalyError(f"detect_anomaly: {_describe(node)} computed {node.data!r} "
                           f"from {', '.join(map(repr, numbers))}")


def _place(filename: str, line: int) -> str:
    """"file:line", or "Cell In[3], line 7" for code typed into a Jupyter cell, as IPython names it."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is not None:
        name = shell.compile.format_code_name(filename)  # None for a file that is not a cell
        if name is not None:
            return f"{name[0]} {name[1]}, line {line}"
    return f"{filename}:{line}"


def chain_rule(root: Value, order: list[Value], into_grad: bool) -> None:
    """backprop's chain rule, checking every share a node passes to an input."""
    for node in order:
        node._grad_buffer = 0.0
    root._grad_buffer = 1.0
    for node in reversed(order):
        g = node._grad_buffer
        if into_grad:
            node.grad += g
        for position, (inp, local) in enumerate(zip(node.inputs, node.local_grads)):
            share = local * g
            check_share(node, position, local, g, share, "backward")
            inp._grad_buffer += share


def check_share(node: Value, position: int, local: object, g: object, share: object, where: str) -> None:
    """A share of a gradient (a float, or a Value under create_graph) that is NaN or infinite is an AnomalyError."""
    if not math.isfinite(float(share)):
        raise AnomalyError(
            f"detect_anomaly: in {where}, {_describe(node)} passes {float(share)!r} to its input {position} "
            f"(local derivative {float(local)!r} x gradient {float(g)!r}); its inputs are "
            f"{', '.join(repr(v.data) for v in node.inputs)}")


def _describe(node: Value) -> str:
    where = _made_at.get(node, "a line outside detect_anomaly")
    scope = f" (in {'/'.join(node.scope.path)})" if node.scope is not None else ""
    label = f" {node.label!r}" if node.label else ""
    return f"the '{node.op}' node{label} made at {where}{scope}"
