"""Backpropagation: the chain rule, run from the output back to every input.

Each node stores its local derivatives d(node)/d(input). The gradient of the output root with
respect to a node, d(root)/d(node), is then the sum over the node's uses:

    d(root)/d(input) = sum over nodes using input of  d(root)/d(node) * d(node)/d(input)

so backprop visits the nodes in reverse topological order (a node before its inputs), and by
the time it reaches a node every use has added its share: the node's gradient is complete,
and it passes it on with one line,  input.grad += local_derivative * node.grad.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from autograd import anomaly
from autograd.modes import CHECKING, _get_mode
from autograd.value import Value


class GraphCycleError(ValueError):
    """A Value is among its own inputs (a graph made by hand): it has no gradient to compute."""


# The walk's marks and the gradient buffers live in slots of the nodes (faster than a set and a
# dict keyed by node), and a parameter may be part of graphs in several threads: one pass at a time.
_lock = threading.Lock()


def backward(root: Value) -> None:
    """Add d(root)/d(node) to `node.grad` for every node behind root (root included); see Value.backward."""
    with _lock:
        order = _walk(root)
        before = [node.grad for node in order]
        try:
            _chain_rule(root, order, into_grad=True)
        except BaseException:  # all or nothing: a failure or a Ctrl-C half way leaves every .grad as it was
            for node, grad_before in zip(order, before):
                node.grad = grad_before
            raise


def _chain_rule(root: Value, order: list[Value], into_grad: bool) -> None:
    """Leave d(root)/d(node) in every node's `_grad_buffer` (and add it to `.grad` if into_grad)."""
    if _get_mode().recording is CHECKING:  # under detect_anomaly: the same loop, checking every number
        return anomaly.chain_rule(root, order, into_grad)
    for node in order:
        node._grad_buffer = 0.0
    root._grad_buffer = 1.0
    for node in reversed(order):  # outputs before inputs: a gradient is complete when reached
        g = node._grad_buffer
        if into_grad:
            node.grad += g
        inputs = node.inputs
        if len(inputs) == 1:  # most nodes have one input, and zip() costs more than the rule itself
            inputs[0]._grad_buffer += node.local_grads[0] * g
        else:
            for inp, local in zip(inputs, node.local_grads):  # the chain rule
                inp._grad_buffer += local * g


def topological_order(root: Value) -> list[Value]:
    """Every node behind root, root included, each after all of its inputs (a node once): the
    order backward() walks backwards. Raises GraphCycleError for a graph with a cycle."""
    if not isinstance(root, Value):
        raise TypeError(f"topological_order: root must be a Value, got {type(root).__name__}")
    with _lock:
        return _walk(root)


def _walk(root: Value) -> list[Value]:
    """topological_order, for a caller holding the lock.

    Depth first, with a stack instead of recursion, so a graph a million nodes deep works.
    A node is `entered` when the walk first reaches it, and `done` once all of its inputs are
    in the order and it is too; an input found entered again is its own ancestor: a cycle.
    """
    entered, done = object(), object()  # this walk's marks (no other walk's mark is either)
    order: list[Value] = []
    stack = [root]
    while stack:
        node = stack.pop()
        mark = node._mark
        if mark is entered:  # back at node: its inputs are all in order now
            node._mark = done
            order.append(node)
            continue
        if mark is done:  # reached twice before it was entered
            continue
        # Go down the chain of one-input nodes below node, entering each.
        chain_start = len(stack)
        while len(node.inputs) == 1 and node._mark is not entered and node._mark is not done:
            node._mark = entered
            stack.append(node)
            node = node.inputs[0]
        if node._mark is entered:
            raise GraphCycleError(_cycle(node))
        if node._mark is not done:
            if len(node.inputs) > 1:  # walk its inputs first; the chain above waits on the stack
                node._mark = entered
                stack.append(node)
                for inp in node.inputs:
                    mark = inp._mark
                    if mark is done:
                        continue
                    if mark is entered:
                        raise GraphCycleError(_cycle(inp))
                    if inp.inputs:
                        stack.append(inp)
                    else:  # a leaf waits for nothing: into the order at once
                        inp._mark = done
                        order.append(inp)
                continue
            node._mark = done  # a leaf
            order.append(node)
        if len(stack) > chain_start:
            # The chain stands on a node in order, so all of it is done: into the order in one
            # block, bottom first (a speed-up: the benchmark's chain walk costs ~40% less per node).
            chain = stack[chain_start:]
            del stack[chain_start:]
            for node in chain:
                node._mark = done
            order += reversed(chain)
    return order


def _cycle(node: Value) -> str:
    name = f"{node.label!r}" if node.label else f"{node.op or 'a leaf'} node"
    return f"backward: the graph has a cycle through {name} (a Value among its own inputs); no gradient exists"


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[Value]:
    """d(output)/d(input) for each input, as Values, touching no `.grad`.

    Inputs may be leaves or intermediate nodes; one the output does not depend on gets 0.
    With create_graph=True each result is itself a node of a graph built from the inputs,
    so it can be differentiated again (second and third derivatives, Hessians).
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value) or not isinstance(inputs, Iterable):
        raise TypeError(f"grad: inputs must be a sequence of Values, got {type(inputs).__name__}")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(x).__name__}")
    if create_graph:
        grads = _value_gradients(output)
        return [g if isinstance(g, Value) else Value(g) for g in (grads.get(x, 0.0) for x in inputs)]
    with _lock:
        order = _walk(output)
        _chain_rule(output, order, into_grad=False)
        in_graph = set(order)
        return [Value(x._grad_buffer if x in in_graph else 0.0) for x in inputs]


def _value_gradients(root: Value) -> dict[Value, Value | float]:
    """d(root)/d(node) for every node, as Values: the chain rule again, on Values this time.

    Each node's local derivatives come from its op's derivative rule called on the input Values
    (and the node itself as `out`), so every gradient is a node of a new graph and can be
    differentiated again. A node made by hand (its `.op` a plain name, no Op) keeps its stored
    numbers: to the next derivative they are constants.
    """
    with _lock:
        order = _walk(root)
    checking = _get_mode().recording is CHECKING  # under detect_anomaly: every share checked, as backward() does
    grads: dict[Value, Value | float] = {root: 1.0}
    for node in reversed(order):
        if not node.inputs:
            continue
        g = grads[node]
        rule = getattr(node.op, "derivative_on_values", None)  # an Op's; a name set by hand has none
        local_grads = rule(node) if rule is not None else node.local_grads
        for position, (inp, local) in enumerate(zip(node.inputs, local_grads)):
            term = _times(local, g)
            if checking:
                anomaly.check_share(node, position, local, g, term, "grad(create_graph=True)")
            grads[inp] = grads[inp] + term if inp in grads else term
    return grads


def _times(local: Value | float, g: Value | float) -> Value | float:
    """local * g without a node for a factor of exactly 1.0."""
    if type(local) is float and local == 1.0:
        return g
    if type(g) is float and g == 1.0:
        return local
    return local * g
