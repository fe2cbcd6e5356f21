"""A Value: what it accepts, what it holds, how it prints.

A Value is a real number stored as a float, with a gradient (0.0 until backward runs), an
optional label, and the record of how it was made: `.op` and `.inputs` (empty for a leaf).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from autograd import Value

pytestmark = pytest.mark.value


@pytest.mark.parametrize(
    ("data", "expected"),
    [(3, 3.0), (-2.5, -2.5), (0, 0.0), (10**20, 1e20), (Fraction(1, 4), 0.25), (math.inf, math.inf)],
    ids=["int", "float", "zero", "big-int", "fraction", "inf"],
)
def test_real_numbers_are_accepted_and_stored_as_float(data, expected):
    v = Value(data)
    assert type(v.data) is float
    assert v.data == expected


def test_numpy_scalars_are_accepted_and_stored_as_float():
    np = pytest.importorskip("numpy")  # comes with matplotlib, a test dependency: no skip in CI
    for scalar in (np.float64(1.5), np.float32(0.25), np.int64(-7), np.int8(3)):
        v = Value(scalar)
        assert type(v.data) is float
        assert v.data == float(scalar)


@pytest.mark.parametrize(
    ("data", "type_name"),
    [
        (True, "bool"),
        (False, "bool"),
        ("1.0", "str"),
        (None, "NoneType"),
        (1 + 2j, "complex"),
        ([1.0], "list"),
        ((1.0,), "tuple"),
        ({"x": 1.0}, "dict"),
        (Value(1.0), "Value"),
    ],
    ids=["True", "False", "str", "None", "complex", "list", "tuple", "dict", "Value"],
)
def test_non_real_data_raises_type_error_naming_the_type(data, type_name):
    with pytest.raises(TypeError, match=type_name):
        Value(data)


def test_a_new_value_is_a_leaf_with_zero_gradient():
    v = Value(2.0)
    assert v.grad == 0.0 and type(v.grad) is float
    assert v.label == ""
    assert v.op == ""
    assert v.inputs == ()


def test_label_is_kept():
    assert Value(2.0, label="x").label == "x"
    assert Value(2.0, "w").label == "w"


def test_a_label_that_is_not_a_str_raises_type_error():
    with pytest.raises(TypeError, match="int"):
        Value(2.0, label=3)


def test_a_computed_value_records_its_op_and_inputs():
    x, w = Value(2.0), Value(-3.0)
    y = x * w
    assert y.data == -6.0
    assert y.op == "*"
    assert y.inputs == (x, w)
    assert y.label == ""
    assert y.grad == 0.0


def test_repr_shows_data_and_grad():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"


def test_repr_shows_the_label_when_set():
    assert repr(Value(2.0, label="x")) == "Value(data=2.0, grad=0.0, label='x')"


def test_repr_shows_the_gradient_after_backward():
    x = Value(3.0)
    (x * x).backward()
    assert repr(x) == "Value(data=3.0, grad=6.0)"


@pytest.mark.parametrize("data", [2.5, -1, 0, 1e300])
def test_float_of_a_value_is_its_data(data):
    v = Value(data)
    assert float(v) == float(data)
    assert type(float(v)) is float


def test_values_compare_by_identity_so_they_can_be_dict_keys():
    # The graph walk keeps Values in sets and dicts: two equal numbers are still two nodes.
    a, b = Value(1.0), Value(1.0)
    assert a != b
    assert len({a, b}) == 2


def test_a_graph_pickles_with_its_built_in_ops_by_name_and_loads_equal():
    import pickle

    import autograd

    x, w = Value(0.5, label="x"), Value(-1.5, label="w")
    with autograd.scope("layer"):
        y = (x * w + 2).tanh() + x**2 + autograd.dot([x, w], [w, x]) + w.leaky_relu(0.1)
    y.backward()
    again = pickle.loads(pickle.dumps(y))
    nodes, copies = autograd.topological_order(y), autograd.topological_order(again)
    assert len(copies) == len(nodes)
    fields = ("data", "grad", "label", "constant", "local_grads")
    for a, b in zip(nodes, copies):
        assert [getattr(b, f) for f in fields] == [getattr(a, f) for f in fields]
        assert b.op is a.op  # the very op of autograd.OPS: a built-in op travels by its name
        assert [nodes.index(i) for i in a.inputs] == [copies.index(i) for i in b.inputs]  # the same wiring
    assert again is not y and again.scope is not None and str(again.scope) == str(y.scope)
    for node in copies:
        node.grad = 0.0
    again.backward()  # the loaded graph differentiates again, to the same gradients
    assert [node.grad for node in copies] == [node.grad for node in nodes]
