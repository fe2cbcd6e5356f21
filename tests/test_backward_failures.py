"""backward() is all or nothing, and a graph with a cycle is an error, never a hang.

If anything fails half way through backward (an exception from a node made by hand, a Ctrl-C),
every `.grad` is as it was before the call, and backward can be called again at once, from any
thread. A graph whose Value is among its own inputs can only be made by hand; backward and the
other walks of the graph raise GraphCycleError naming the node instead of running forever.
"""

from __future__ import annotations

import threading

import pytest

import autograd
from autograd import GraphCycleError, Value

pytestmark = pytest.mark.chain_rule


class _Exploding(float):
    """A local derivative that raises when backward multiplies it (as a Ctrl-C would arrive)."""

    def __new__(cls, value: float, error: BaseException) -> _Exploding:
        made = super().__new__(cls, value)
        made.error = error
        return made

    def __mul__(self, other: float) -> float:
        raise self.error

    __rmul__ = __mul__


def _graph_failing_half_way(error: BaseException):
    a, b = Value(1.5, label="a"), Value(-2.0, label="b")
    c = a * b
    bad = Value(0.0, label="bad")
    bad.op, bad.inputs, bad.local_grads = "by hand", (c,), (_Exploding(1.0, error),)
    out = bad + a * 3.0 + c.tanh()
    return out, [a, b, c, bad, out]


@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("a user op failed")], ids=["ctrl-c", "error"])
def test_a_backward_that_fails_half_way_leaves_every_grad_as_it_was(error):
    out, nodes = _graph_failing_half_way(error)
    for i, node in enumerate(nodes):
        node.grad = 0.25 * i  # gradients from earlier passes
    before = [node.grad for node in nodes]
    with pytest.raises(type(error)):
        out.backward()
    assert [node.grad for node in nodes] == before


def test_after_a_failed_backward_another_thread_can_backpropagate():
    out, _ = _graph_failing_half_way(RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        out.backward()
    x = Value(2.0)
    done = []
    worker = threading.Thread(target=lambda: (x * x).backward() or done.append(x.grad))
    worker.start()
    worker.join(timeout=10)
    assert done == [4.0]


def _cycle():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c.tanh()
    c.inputs = (a, d)  # by hand: c now depends on d, which depends on c
    return d


def test_a_cycle_made_by_hand_raises_instead_of_hanging():
    d = _cycle()
    with pytest.raises(GraphCycleError, match="cycle"):
        d.backward()
    with pytest.raises(GraphCycleError):
        autograd.topological_order(d)
    with pytest.raises(GraphCycleError):
        autograd.grad(d, [d])


def test_a_value_that_is_its_own_input_is_a_cycle():
    a = Value(1.0, label="a")
    b = a + 1
    b.inputs = (b,)
    with pytest.raises(GraphCycleError, match="'b'|\\+ node"):
        b.backward()


def test_after_a_cycle_error_backward_still_works_in_another_thread():
    with pytest.raises(GraphCycleError):
        _cycle().backward()
    x = Value(3.0)
    worker = threading.Thread(target=lambda: (x * x).backward())
    worker.start()
    worker.join(timeout=10)
    assert x.grad == 6.0
