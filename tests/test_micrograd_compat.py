"""micrograd's names on chainrule's Value, against micrograd 0.1.0 itself; comparisons; bool; memory.

`_prev` (the inputs, a set), `_op` (the op's name, '' for a leaf) and `_backward()` (one node's
step of the chain rule) are what micrograd's lecture code reads; attributes of your own (`p.m`)
are what optimizers written for micrograd set. The lecture's own cells (MIT, copied with their
licenses in tests/micrograd_cells/) run with only the import changed.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
from pathlib import Path

import pytest

from autograd import Value

pytestmark = pytest.mark.compat

micrograd = pytest.importorskip("micrograd.engine", reason="micrograd==0.1.0 is a test dependency (pyproject.toml)")
MValue = micrograd.Value
CELLS = Path(__file__).resolve().parent / "micrograd_cells" / "cells.json"


def expression(V):
    """The same graph in either engine: a value used twice, a diamond, a number on both sides."""
    a, b, c = V(2.0), V(-3.0), V(10.0)
    e = a * b
    d = e + c
    f = d * a + b * e
    return f, (a, b, c, e, d)


def build_topo(root):
    """The lecture's topological sort, written against `_prev` only."""
    topo, visited = [], set()

    def visit(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                visit(child)
            topo.append(v)

    visit(root)
    return topo


# ---- _prev, _op, _backward against micrograd ------------------------------------------------


def test_prev_is_the_set_of_inputs_as_in_micrograd():
    (f, nodes), (mf, mnodes) = expression(Value), expression(MValue)
    for node, mnode in zip((f, *nodes), (mf, *mnodes)):
        assert isinstance(node._prev, set)
        assert sorted(p.data for p in node._prev) == sorted(p.data for p in mnode._prev)
    a = Value(3.0)
    assert (a * a)._prev == {a} and Value(1.0)._prev == set()


def test_op_names_the_op_and_is_empty_for_a_leaf_as_in_micrograd():
    (f, (a, _, _, e, d)), (mf, (ma, _, _, me, md)) = expression(Value), expression(MValue)
    for node, mnode in ((a, ma), (e, me), (d, md), (f, mf)):
        assert node._op == mnode._op
    assert a._op == "" and e._op == "*" and d._op == "+"
    assert isinstance(Value(1.0).tanh()._op, str) and Value(1.0).tanh()._op == "tanh"


def test_a_number_in_an_expression_is_part_of_the_op_not_a_node_of_prev():
    # documented difference: micrograd makes Value(2) a child of x * 2; chainrule keeps 2 in the op
    x, mx = Value(1.5), MValue(1.5)
    assert (x * 2)._prev == {x}
    assert len((mx * 2)._prev) == 2


def test_stepping_backprop_by_hand_with_backward_gives_micrograds_gradients():
    (f, nodes), (mf, mnodes) = expression(Value), expression(MValue)
    f.grad, mf.grad = 1.0, 1.0
    for node in reversed(build_topo(f)):
        node._backward()
    for node in reversed(build_topo(mf)):
        node._backward()
    assert [n.grad for n in nodes] == pytest.approx([n.grad for n in mnodes], rel=1e-12)
    g, more = expression(Value)
    g.backward()
    assert [n.grad for n in nodes] == pytest.approx([n.grad for n in more], rel=1e-12)


def test_backward_of_one_node_adds_local_derivative_times_its_grad_to_each_input():
    x = Value(3.0)
    y = x * x  # x is both inputs: it gets both shares
    y.grad = 2.0
    y._backward()
    assert x.grad == 2 * 3.0 * 2.0
    y._backward()  # adds again, as micrograd's closure does
    assert x.grad == 2 * (2 * 3.0 * 2.0)
    Value(1.0)._backward()  # a leaf: nothing to do


# ---- attributes of your own ------------------------------------------------------------------


def test_a_value_takes_attributes_of_its_own_as_adamw_sets_them():
    def adamw(V, steps=5, lr=0.1, b1=0.9, b2=0.95, wd=0.01):
        p = V(0.7)
        p.m, p.v = 0.0, 0.0
        for t in range(1, steps + 1):
            p.grad = 0.0
            loss = p * p + p * 3
            loss.backward()
            p.m = b1 * p.m + (1 - b1) * p.grad
            p.v = b2 * p.v + (1 - b2) * p.grad**2
            m_hat, v_hat = p.m / (1 - b1**t), p.v / (1 - b2**t)
            p.data -= lr * (m_hat / (v_hat**0.5 + 1e-8) + wd * p.data)
        return p

    ours, theirs = adamw(Value), adamw(MValue)
    assert ours.data == pytest.approx(theirs.data, rel=1e-12)
    assert (ours.m, ours.v) == pytest.approx((theirs.m, theirs.v), rel=1e-12)
    x = Value(1.0)
    x.color = "red"
    assert x.color == "red" and "color" in vars(x)
    assert (x * 2).data == 2.0  # an attribute of one's own changes nothing of the engine


def test_a_node_of_the_benchmark_chain_stays_within_288_bytes():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        import graphs
        from timing import traced_bytes
    finally:
        sys.path.pop(0)
    rounds = 2000
    held, freed = traced_bytes(lambda: graphs.chainrule_chain(rounds))
    assert held / (3 * rounds) <= 288
    assert freed  # still no reference cycles: dropping the graph frees it at once


# ---- comparisons and truth -------------------------------------------------------------------


@pytest.mark.parametrize("a, b", [(1.0, 2.0), (2.0, 2.0), (3.0, -1.0), (0.0, -0.0), (math.nan, 1.0), (math.inf, 1e308)])
def test_comparisons_compare_the_numbers_and_return_a_bool(a, b):
    x, y = Value(a), Value(b)
    for got, expected in (
        (x < y, a < b), (x <= y, a <= b), (x > y, a > b), (x >= y, a >= b),
        (x < b, a < b), (a < y, a < b), (x >= b, a >= b), (b >= x, b >= a),
    ):
        assert type(got) is bool and got == expected


def test_comparisons_make_no_node_and_order_values_for_sorted_and_max():
    xs = [Value(3.0), Value(-1.0), Value(2.0)]
    assert [v.data for v in sorted(xs)] == [-1.0, 2.0, 3.0]
    assert max(xs) is xs[0] and min(xs) is xs[1]


def test_comparing_with_something_that_is_not_a_number_raises_typeerror():
    with pytest.raises(TypeError, match="not supported between instances of 'Value' and 'str'"):
        _ = Value(1.0) < "2"
    with pytest.raises(TypeError):
        _ = None >= Value(1.0)


def test_equality_stays_identity_so_values_are_dictionary_keys():
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b and not (a == 1.0)
    assert len({a: 1, b: 2}) == 2 and hash(a) != hash(b)


@pytest.mark.parametrize("data, truth", [(0.0, False), (-0.0, False), (2.5, True), (-1e-300, True), (math.nan, True),
                                         (math.inf, True)])
def test_bool_is_data_not_equal_to_zero_as_for_pytorch_scalars(data, truth):
    assert bool(Value(data)) is truth is bool(data)


# ---- the lecture's own cells ------------------------------------------------------------------


def _lecture(name: str) -> list[str]:
    cells = json.loads(CELLS.read_text(encoding="utf-8"))[name]["code_cells"]
    return [c for c in cells if c.strip()]


def _with_chainrule(cell: str) -> str:
    """The only change: the lecture's Value (its class statement, or micrograd's import) becomes
    chainrule's; IPython's % lines are left out (they are not Python)."""
    lines = [line for line in cell.splitlines() if not line.startswith("%")]
    if lines and lines[0].startswith("class Value"):
        end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() and not line[0].isspace()), len(lines))
        lines = ["from autograd import Value", *lines[end:]]
    return "\n".join(lines).replace("from micrograd.engine import Value", "from autograd import Value")


@pytest.mark.parametrize("notebook, cells", [
    ("micrograd_lecture_first_half_roughly", 33),
    ("micrograd_lecture_second_half_roughly", 19),
    ("trace_graph", 6),
])
def test_every_cell_of_the_lecture_runs_on_chainrule(notebook, cells, tmp_path, monkeypatch, torch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)  # trace_graph renders 'gout' into the current folder
    namespace: dict = {}
    code = _lecture(notebook)
    assert len(code) == cells
    for i, cell in enumerate(code):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(_with_chainrule(cell), f"{notebook} cell {i}", "exec"), namespace)
    assert namespace["Value"] is Value
    if notebook != "trace_graph":  # the lecture's neuron, stepped by hand and by backward(): its gradients
        assert namespace["o"].data == pytest.approx(math.tanh(0.8813735870195432), rel=1e-9)
