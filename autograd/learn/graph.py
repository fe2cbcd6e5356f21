"""Your graph, read only through micrograd's `_prev`: a node's inputs, and every node in order.

The oracle and its pictures both walk it.
"""

from __future__ import annotations


def inputs_of(node: object) -> tuple:
    return tuple(getattr(node, "_prev", ()) or ())


def graph_order(root: object) -> list:
    """Every node behind root, each after its inputs (the oracle's own walk, by identity: never your engine's)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(inputs_of(node)))
    return order
