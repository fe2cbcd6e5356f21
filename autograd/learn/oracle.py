"""The workshop's oracle: your engine's numbers and gradients against chainrule's, in plain words.

The workspace's tests call these functions. Each builds the same expression with your `Value` and
with chainrule's, compares the two, and on a difference fails with what was expected, what came
out and the usual cause. Your graph is read only through micrograd's names: `data`, `grad`,
`_prev` (the inputs), `_op` (the op's name) and `_local_grads`. To find *where* a gradient goes
wrong, the oracle rebuilds your graph with chainrule's ops (the mirror: same leaves, same ops) and
walks both from the output back: the first node whose gradient differs is drawn in red.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from autograd.learn import picture
from autograd.learn.graph import graph_order, inputs_of
from autograd.value import Value as Reference


def fail(message: str) -> None:
    """Fail the running test with message alone (no traceback into the oracle)."""
    import pytest  # the workspace's tests run under pytest; chainrule itself does not need it

    pytest.fail(message, pytrace=False)


def close(got: float, expected: float) -> bool:
    if isinstance(got, float) and isinstance(expected, float) and math.isnan(got) and math.isnan(expected):
        return True
    try:
        return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9)
    except TypeError:
        return False


def _n(x: float) -> str:
    """A number as a learner reads it: six significant digits."""
    return f"{x:.6g}" if isinstance(x, float) else repr(x)


def expect(ok: bool, what: str, expected: object, got: object, cause: str) -> None:
    """Fail with `what: expected ..., got ...` and the usual cause unless ok."""
    if not ok:
        fail(f"{what}: expected {expected!r}, got {got!r}.\nUsual cause: {cause}")


def mirror(root: object) -> dict[int, Reference] | None:
    """id(your node) -> chainrule's node made by the same op from the same leaves; None when an
    op's name is not one chainrule can read ('+', '*', 'tanh', 'exp', 'relu', '**n')."""
    made: dict[int, Reference] = {}
    for node in graph_order(root):
        ins = [made[id(p)] for p in inputs_of(node)]
        op = getattr(node, "_op", "")
        try:
            if not ins:
                made[id(node)] = Reference(float(node.data))
            elif op in ("+", "*") and len(ins) == 2:
                made[id(node)] = ins[0] + ins[1] if op == "+" else ins[0] * ins[1]
            elif op in ("tanh", "exp", "relu") and len(ins) == 1:
                made[id(node)] = getattr(ins[0], op)()
            elif isinstance(op, str) and op.startswith("**") and len(ins) == 1:
                made[id(node)] = ins[0] ** float(op[2:])
            else:
                return None
        except (TypeError, ValueError, OverflowError, ZeroDivisionError):
            return None
    return made


def describe(node: object, names: dict[int, str], depth: int = 3, bare: bool = True) -> str:
    """node as an expression: 'x', 'tanh(x*w + b)', '...' below depth; bare=False: a sum in parentheses."""
    if id(node) in names:
        return names[id(node)]
    ins = inputs_of(node)
    if not ins:
        return f"{node.data:g}"
    if depth == 0:
        return "..."
    op = getattr(node, "_op", "?")
    if op in ("+", "*") and len(ins) == 2:
        a, b = (describe(p, names, depth - 1, bare=op == "+") for p in ins)
        return f"{a} {op} {b}" if bare or op == "*" else f"({a} {op} {b})"
    if isinstance(op, str) and op.startswith("**") and len(ins) == 1:
        return f"{describe(ins[0], names, depth - 1, bare=False)}{op}"
    return f"{op}({', '.join(describe(p, names, depth - 1) for p in ins)})"


# ---- the checks ------------------------------------------------------------------------------


def build(value_class: type, f: Callable, inputs: dict[str, float]) -> tuple[object, dict[str, object]]:
    """f(**leaves) with a leaf of value_class per input; fails in words when f does not give a Value."""
    leaves = {name: value_class(x) for name, x in inputs.items()}
    out = f(**leaves)
    if value_class is not Reference and not isinstance(out, value_class):
        fail(f"the result should be one of your Values, got {type(out).__name__} {out!r:.60}.\n"
             "Usual cause: an operation returns a number (or None) instead of a new Value.")
    return out, leaves


def check_values(value_class: type, f: Callable, /, reference: Callable | None = None, **inputs: float) -> object:
    """f with your Values gives the number `reference` (default f) gives with chainrule's; returns
    your output. Where they differ, says which node of yours computed a wrong number."""
    out, leaves = build(value_class, f, inputs)
    expected = (reference or f)(**{name: Reference(x) for name, x in inputs.items()})
    names = {id(v): name for name, v in leaves.items()}
    if not close(out.data, expected.data):
        cause = "an operation computes the wrong number."
        same = mirror(out)
        if same is not None:  # the first node, inputs first, whose number is off
            for node in graph_order(out):
                if inputs_of(node) and not close(node.data, same[id(node)].data):
                    args = ", ".join(f"{p.data:g}" for p in inputs_of(node))
                    cause = (f"the {node._op!r} node {describe(node, names)} gives {node.data!r} from {args}; "
                             f"chainrule gives {same[id(node)].data!r}.")
                    break
        fail(f"the value of {describe(out, names)}: expected {expected.data!r}, got {out.data!r}.\n"
             f"Usual cause: {cause}")
    return out


def check_gradients(value_class: type, f: Callable, /, how: str = "backward", reference: Callable | None = None,
                    **inputs: float) -> object:
    """f with your Values gives the gradient of every input that `reference` (default f) gives
    with chainrule's; returns your output.

    how="backward": your backward(). how="local": the oracle's chain rule run on your local
    derivatives (so that they can be checked before backward exists)."""
    check_values(value_class, f, reference, **inputs)
    out, leaves = build(value_class, f, inputs)  # a fresh graph: no gradient left from other checks
    if how == "backward":
        out.backward()
    else:
        chain_rule(out, graph_order(out))
    theirs = {name: Reference(x) for name, x in inputs.items()}
    (reference or f)(**theirs).backward()
    for name, leaf in leaves.items():
        if not close(leaf.grad, theirs[name].grad):
            explain_gradient(out, leaves, name, theirs[name].grad)
    return out


def chain_rule(root: object, order: list) -> None:
    """The chain rule on your graph in the given order (outputs last), adding to your .grad."""
    grads = {id(root): 1.0}
    for node in reversed(order):
        g = grads.get(id(node), 0.0)
        node.grad += g
        for child, local in zip(inputs_of(node), tuple(getattr(node, "_local_grads", ()))):
            grads[id(child)] = grads.get(id(child), 0.0) + local * g


def explain_gradient(out: object, leaves: dict[str, object], name: str, expected: float, extra: str = "",
                     cause: str | None = None) -> None:
    """Fail saying the gradient of `name` is wrong, why it usually is, and draw where it goes wrong."""
    names = {id(v): n for n, v in leaves.items()}
    got = leaves[name].grad
    same = mirror(out)
    red = leaves[name]
    if same is not None:
        same[id(out)].backward()
        red = next((n for n in reversed(graph_order(out)) if not close(n.grad, same[id(n)].grad)), red)
        if id(red) in names and red is not leaves[name]:  # a sibling input went wrong first: name it instead
            name, expected, got = names[id(red)], same[id(red)].grad, red.grad
        if cause is None:
            cause = _cause(red, out, same, names)
    if cause is None:
        cause = "backward passes each node's gradient times its local derivative to every input, and adds it up."
    where = "" if red is leaves[name] else f" It first goes wrong at {describe(red, names)}, drawn in red."
    shown = picture.save_for_test(out, same, red, names)
    fail(f"the gradient of {name}{extra}: expected {_n(expected)}, got {_n(got)}.{where}\n"
         f"Usual cause: {cause}\n{shown}")


def _cause(red: object, out: object, same: dict[int, Reference], names: dict[int, str]) -> str:
    users = [n for n in graph_order(out) if any(p is red for p in inputs_of(n))]
    for user in users:
        mine = tuple(getattr(user, "_local_grads", ()))
        theirs = same[id(user)].local_grads
        if len(mine) != len(inputs_of(user)):
            return (f"the {user._op!r} node has {len(inputs_of(user))} inputs but {len(mine)} local derivatives: "
                    "give it one per input, in the order of _prev.")
        for k, (m, t) in enumerate(zip(mine, theirs)):
            if inputs_of(user)[k] is red and not close(m, float(t)):
                return _local_cause(user, k, m, float(t), names)
    expected = same[id(red)].grad
    if close(red.grad, 0.0):
        return (f"no gradient reached {describe(red, names)}: does backward visit every node, and pass "
                "node.grad times the local derivative on to each input?")
    uses = sum(1 for u in users for p in inputs_of(u) if p is red)
    if uses > 1 and abs(red.grad) < abs(expected):
        return (f"{describe(red, names)} is used {uses} times, and its gradient is only part of the sum "
                f"({red.grad / expected:.3g} of it): does backward add each share to the gradient, or overwrite it? "
                "Or does it pass a node on before all of its users have added their shares (topological order)?")
    return (f"the gradient of {describe(red, names)} should be {_n(expected)}: backward passes each node's "
            "gradient times its local derivative to every input, and adds the shares up.")


def _local_cause(user: object, k: int, mine: float, theirs: float, names: dict[int, str]) -> str:
    op, ins = user._op, inputs_of(user)
    head = (f"the local derivative of the {op!r} node {describe(user, names)} with respect to its input "
            f"{k + 1} ({describe(ins[k], names)}) is {_n(mine)}; it should be {_n(theirs)}. ")
    if op == "*" and len(ins) == 2 and close(mine, ins[k].data):
        return head + "d(a*b)/da is b and d(a*b)/db is a: each input gets the OTHER input's number."
    if op == "tanh" and close(mine, 1 - ins[0].data ** 2):
        return head + "The derivative of tanh is 1 - tanh(x)**2, with the output t = tanh(x), not the input x."
    if op == "+":
        return head + "d(a+b)/da and d(a+b)/db are both 1."
    if op == "exp":
        return head + "The derivative of exp(x) is exp(x), the output itself."
    if isinstance(op, str) and op.startswith("**"):
        return head + "d(x**n)/dx is n * x**(n-1)."
    return head


def check_topological_order(value_class: type, f: Callable, /, **inputs: float) -> list:
    """root.topological_order() lists every node once, each after its inputs; returns it."""
    out, leaves = build(value_class, f, inputs)
    names = {id(v): n for n, v in leaves.items()}
    order = out.topological_order()
    if not isinstance(order, list):
        fail(f"topological_order() should return a list, got {type(order).__name__}.\n"
             "Usual cause: the function ends without `return order`.")
    everything = graph_order(out)
    ids = [id(n) for n in order]
    for node in everything:
        n = ids.count(id(node))
        expect(n == 1, f"how often {describe(node, names)} is in the order", 1, n,
               "a node used twice (a diamond, or x * x) is visited twice: remember the nodes you have visited"
               if n > 1 else "the walk misses the inputs of some node: visit every node of _prev.")
    expect(len(order) == len(everything), "the number of nodes in the order", len(everything), len(order),
           "the order holds something that is not a node of this graph.")
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for child in inputs_of(node):
            if position[id(child)] > position[id(node)]:
                chain_rule(out, order)  # what backward in this order gives
                wrong = next(n for n, leaf in leaves.items() if not close(leaf.grad, _true_grad(f, inputs, n)))
                explain_gradient(
                    out, leaves, wrong, _true_grad(f, inputs, wrong), extra=" (backward in your order)",
                    cause=(f"{describe(node, names)} comes before its input {describe(child, names)} in your order: "
                           "walked backwards, the order then passes a node's gradient on before all of its users "
                           "have added their shares. Put each node after all of its inputs (visit the inputs "
                           "first, then append the node)."))
    return order


def _true_grad(f: Callable, inputs: dict[str, float], name: str) -> float:
    reference = {n: Reference(x) for n, x in inputs.items()}
    f(**reference).backward()
    return reference[name].grad
