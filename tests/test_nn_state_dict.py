"""Module.state_dict / load_state_dict: PyTorch's names and shapes, plain floats, loads checked all or nothing.

The cross-checks with PyTorch itself (a state dict loaded into torch.nn.Linear modules with
strict=True, and back) are in test_nn_export.py, with the rest of the way out to PyTorch.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest

from autograd import Value
from nn import MLP, Layer, Module, Neuron

pytestmark = pytest.mark.nn


def numbers(model: Module) -> list[str]:
    """Every parameter's number, bit for bit (hex), in parameter order."""
    return [p.data.hex() for p in model.parameters()]


class TwoHeads(Module):
    """A user's own module: a scale, a vector, an MLP body and a list of heads."""

    def __init__(self) -> None:
        self.scale = Value(2.0)
        self.offsets = [Value(0.5), Value(-0.5), Value(1.5)]
        self.body = MLP(3, [4, 2], seed=1)
        self.heads = [Neuron(2, seed=2), Layer(2, 3, seed=3)]
        self.note = "not a parameter"

    def forward(self, x):
        h = self.body(x)
        return [self.heads[0](h) * self.scale, *self.heads[1](h)]


# ---- names and shapes -------------------------------------------------------------------------


def test_an_mlp_has_pytorch_names_and_linear_shapes():
    model = MLP(2, [16, 16, 1], seed=0)
    state = model.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                           "layers.2.weight", "layers.2.bias"]
    for i, layer in enumerate(model.layers):
        weight, bias = state[f"layers.{i}.weight"], state[f"layers.{i}.bias"]
        # as torch.nn.Linear(nin, nout).weight: nout rows of nin, row j = neuron j's weights
        assert [len(row) for row in weight] == [layer.nin] * layer.nout
        assert weight == [[w.data for w in n.w] for n in layer.neurons]
        assert bias == [n.b.data for n in layer.neurons]


def test_a_layer_is_stored_as_a_linear_and_a_neuron_as_a_linear_with_one_output():
    layer, neuron = Layer(3, 2, seed=0), Neuron(3, seed=1)
    assert layer.state_dict() == {"weight": [[w.data for w in n.w] for n in layer.neurons],
                                  "bias": [n.b.data for n in layer.neurons]}
    assert neuron.state_dict() == {"weight": [[w.data for w in neuron.w]], "bias": [neuron.b.data]}


def test_dropout_has_no_entries_and_does_not_shift_the_names():
    with_dropout = MLP(2, [3, 3, 1], dropout=0.5, seed=0)
    assert list(with_dropout.state_dict()) == list(MLP(2, [3, 3, 1], seed=0).state_dict())


def test_a_users_module_is_named_after_its_attributes():
    state = TwoHeads().state_dict()
    assert list(state) == [
        "scale",  # a Value: one number
        "offsets",  # a list of Values: a vector
        "body.layers.0.weight", "body.layers.0.bias", "body.layers.1.weight", "body.layers.1.bias",
        "heads.0.weight", "heads.0.bias",  # a list of modules: by index, as a torch ModuleList
        "heads.1.weight", "heads.1.bias",
    ]
    assert state["scale"] == 2.0 and state["offsets"] == [0.5, -0.5, 1.5]


def test_a_matrix_attribute_is_found_row_by_row_and_stored_as_a_2d_tensor():
    class Bilinear(Module):  # x^T W y with W a list of rows of Values, as an RNN's weight_hh
        def __init__(self) -> None:
            self.W = [[Value(1.0), Value(2.0), Value(3.0)], [Value(4.0), Value(5.0), Value(6.0)]]

    model = Bilinear()
    assert model.parameters() == [v for row in model.W for v in row]
    assert model.state_dict() == {"W": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]}
    model.load_state_dict({"W": [[0.5] * 3, [0.25] * 3]})
    assert [v.data for row in model.W for v in row] == [0.5] * 3 + [0.25] * 3
    with pytest.raises(ValueError, match=r"'W' must have shape \(2, 3\)"):
        model.load_state_dict({"W": [[0.5] * 2, [0.25] * 2]})


def test_the_state_holds_every_parameter_once():
    for model in (MLP(3, [5, 1, 4], seed=0), TwoHeads(), Layer(1, 1, seed=0), Neuron(1, seed=0)):
        for i, p in enumerate(model.parameters()):
            p.data = float(i)  # each parameter its own number
        flat = []
        for value in model.state_dict().values():
            rows = value if isinstance(value, list) else [value]
            for row in rows:
                flat += row if isinstance(row, list) else [row]
        assert sorted(flat) == [float(i) for i in range(model.num_parameters())]


def test_the_state_is_plain_floats_that_json_holds_exactly():
    model = TwoHeads()
    state = json.loads(json.dumps(model.state_dict()))
    other = TwoHeads()
    for p in other.parameters():
        p.data = 0.0
    other.load_state_dict(state)
    assert numbers(other) == numbers(model)


def test_the_state_is_a_copy_in_both_directions():
    model = MLP(2, [2, 1], seed=0)
    before = numbers(model)
    state = model.state_dict()
    state["layers.0.weight"][0][0] = 123.0
    assert numbers(model) == before
    model.layers[0].neurons[0].w[0].data = -7.0
    assert state["layers.0.weight"][0][0] == 123.0


def test_a_shared_value_is_listed_under_each_name_as_in_pytorch():
    class Tied(Module):
        def __init__(self):
            self.a = Value(1.0)
            self.b = self.a

    assert Tied().state_dict() == {"a": 1.0, "b": 1.0}
    assert Tied().num_parameters() == 1


# ---- loading ----------------------------------------------------------------------------------


def test_a_state_loads_into_another_model_bit_for_bit():
    source, target = MLP(3, [5, 1, 4], activation="tanh", seed=1), MLP(3, [5, 1, 4], activation="tanh", seed=2)
    assert numbers(source) != numbers(target)
    result = target.load_state_dict(source.state_dict())
    assert numbers(target) == numbers(source)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    x = [0.3, -1.2, 2.0]
    assert [v.data for v in target(x)] == [v.data for v in source(x)]


def test_tuples_and_other_real_numbers_load_as_floats():
    neuron = Neuron(2, seed=0)
    neuron.load_state_dict({"weight": ((1, Fraction(1, 4)),), "bias": (-3,)})
    assert [p.data for p in neuron.parameters()] == [1.0, 0.25, -3.0]
    assert all(type(p.data) is float for p in neuron.parameters())


def test_numpy_arrays_load_through_tolist():
    import numpy as np
    layer = Layer(2, 3, seed=0)
    state = {key: np.array(value) for key, value in Layer(2, 3, seed=5).state_dict().items()}
    layer.load_state_dict(state)
    assert numbers(layer) == numbers(Layer(2, 3, seed=5))


def good_state() -> dict:
    return MLP(2, [3, 1], seed=1).state_dict()


def with_change(key, value=None, *, delete=False, index=None):
    state = good_state()
    if delete:
        del state[key]
    elif index is None:
        state[key] = value
    else:
        row, col = index
        state[key][row][col] = value
    return state


BAD_STATES = {
    "missing key": (with_change("layers.1.bias", delete=True), "missing key 'layers.1.bias'"),
    "extra key": ({**good_state(), "layers.2.weight": [[1.0]]}, "unexpected key 'layers.2.weight'"),
    "too few rows": (with_change("layers.0.weight", [[1.0, 2.0]] * 2), r"'layers.0.weight' must have shape \(3, 2\)"),
    "too many columns": (with_change("layers.0.weight", [[1.0, 2.0, 3.0]] * 3), r"'layers.0.weight' must have shape"),
    "ragged rows": (with_change("layers.0.weight", [[1.0, 2.0], [1.0], [1.0, 2.0]]), "ragged"),
    "a number for a vector": (with_change("layers.1.bias", 0.5), r"'layers.1.bias' must have shape \(1,\)"),
    "a matrix for a vector": (with_change("layers.1.bias", [[0.5]]), r"'layers.1.bias' must have shape \(1,\)"),
    "a bool": (with_change("layers.0.weight", True, index=(2, 1)), r"'layers.0.weight'\[2\]\[1\] .* got bool True"),
    "a NaN": (with_change("layers.0.weight", math.nan, index=(1, 0)), r"'layers.0.weight'\[1\]\[0\] .* got nan"),
    "an infinity": (with_change("layers.1.bias", [-math.inf]), r"'layers.1.bias'\[0\] .* got -inf"),
    "a huge int": (with_change("layers.1.bias", [10**400]), r"'layers.1.bias'\[0\] must be a finite real number"),
    "a string": (with_change("layers.0.weight", "0.5", index=(0, 0)), r"'layers.0.weight'\[0\]\[0\] .* got str"),
    "a complex number": (with_change("layers.1.bias", [1j]), r"'layers.1.bias'\[0\] .* got complex"),
    "None": (with_change("layers.0.bias", None), r"'layers.0.bias' must have shape \(3,\)"),
}


# with strict=False a missing or unexpected key is reported instead (tested below); a bad value is still an error
CASES = [(case, True) for case in BAD_STATES] + [(case, False) for case in BAD_STATES if "key" not in case]


@pytest.mark.parametrize(("case", "strict"), CASES)
def test_a_bad_state_raises_a_value_error_naming_the_key_and_changes_nothing(case, strict):
    state, message = BAD_STATES[case]
    model = MLP(2, [3, 1], seed=0)
    before = numbers(model)
    state = dict(state)
    state["layers.0.bias"] = state["layers.0.bias"] if case == "None" else [9.0, 9.0, 9.0]  # a good change, too
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state, strict=strict)
    assert numbers(model) == before  # not even the good entries were loaded


def test_strict_false_loads_the_matching_keys_and_reports_the_others():
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    source = MLP(2, [3, 1], seed=1).state_dict()
    result = model.load_state_dict({"layers.0.bias": source["layers.0.bias"], "extra": 1.0}, strict=False)
    assert result.missing_keys == ["layers.0.weight", "layers.1.weight", "layers.1.bias"]
    assert result.unexpected_keys == ["extra"]
    assert repr(result) == ("IncompatibleKeys(missing_keys=['layers.0.weight', 'layers.1.weight', 'layers.1.bias'], "
                            "unexpected_keys=['extra'])")
    after = model.state_dict()
    assert after["layers.0.bias"] == source["layers.0.bias"]
    assert {k: after[k] for k in result.missing_keys} == {k: before[k] for k in result.missing_keys}


def test_strict_error_lists_both_missing_and_unexpected_keys():
    state = good_state()
    state["layers.9.bias"] = state.pop("layers.1.bias")
    with pytest.raises(ValueError, match=r"missing key 'layers.1.bias'; unexpected key 'layers.9.bias'"):
        MLP(2, [3, 1], seed=0).load_state_dict(state)


def test_a_shared_value_given_two_different_numbers_is_refused():
    class Tied(Module):
        def __init__(self):
            self.a = Value(1.0)
            self.b = self.a

    tied = Tied()
    tied.load_state_dict({"a": 3.0, "b": 3.0})
    assert tied.a.data == 3.0
    with pytest.raises(ValueError, match="'a' and 'b' are the same parameter"):
        tied.load_state_dict({"a": 4.0, "b": 5.0})
    assert tied.a.data == 3.0


@pytest.mark.parametrize("state", [[("weight", [[1.0]])], "weight", None])
def test_a_state_that_is_not_a_mapping_is_a_type_error(state):
    with pytest.raises(TypeError, match="state must be a dict"):
        Neuron(1, seed=0).load_state_dict(state)


@pytest.mark.parametrize("strict", [1, "yes", None])
def test_strict_must_be_a_bool(strict):
    neuron = Neuron(1, seed=0)
    with pytest.raises(TypeError, match="strict must be True or False"):
        neuron.load_state_dict(neuron.state_dict(), strict=strict)


def test_parameters_are_unchanged_by_the_named_walk():
    # parameters() and state_dict() read one walk; its order is the documented parameter order
    model = TwoHeads()
    expected = [model.scale, *model.offsets, *model.body.parameters(), *model.heads[0].parameters(),
                *model.heads[1].parameters()]
    assert [id(p) for p in model.parameters()] == [id(p) for p in expected]


# ---- a module that holds itself or its parent ---------------------------------------------------------


class Holder(Module):
    """A user's module that keeps a reference to itself, or to its parent, among its attributes."""

    def __init__(self) -> None:
        self.head = Layer(2, 1, seed=0)


def test_a_module_holding_itself_or_its_parent_lists_each_module_and_parameter_once_as_pytorch_does():
    me = Holder()
    me.me = me
    assert list(me.modules()) == [me, me.head, *me.head.neurons]
    assert me.parameters() == me.head.parameters()
    parent = Holder()
    parent.head.parent = parent  # a child pointing back up
    assert parent.parameters() == parent.head.parameters()
    assert parent.num_parameters() == 3
    parent.eval()
    assert not parent.training and not parent.head.training
    parent.zero_grad()


@pytest.mark.parametrize("closes", ["itself", "its parent"])
def test_state_dict_of_a_cycle_is_a_clear_error_naming_the_attribute_not_a_recursion_error(closes):
    model = Holder()
    if closes == "itself":
        model.me = model
        where = "'me'"
    else:
        model.head.parent = model
        where = "head.parent"
    with pytest.raises(ValueError, match=f"{where.strip(chr(39))} of the Holder holds the Holder it is part of"):
        model.state_dict()
    with pytest.raises(ValueError, match="a cycle"):
        model.load_state_dict({})


def test_a_module_held_twice_without_a_cycle_keeps_both_names_as_in_pytorch():
    model = Holder()
    model.tail = model.head  # shared, not a cycle
    assert list(model.state_dict()) == ["head.weight", "head.bias", "tail.weight", "tail.bias"]
    assert list(model.modules()).count(model.head) == 1


def test_a_wrong_shaped_array_is_refused_by_its_shape_before_it_is_turned_into_a_list():
    import numpy as np

    class Huge(np.ndarray):  # tolist() of a 5e7-element array takes seconds and gigabytes: it must not be called
        def tolist(self):
            raise AssertionError("tolist() called before the shape was checked")

    model = MLP(2, [3, 1], seed=0)
    before = numbers(model)
    state = model.state_dict()
    state["layers.0.weight"] = np.broadcast_to(np.zeros(1), (50_000_000,)).view(Huge)  # no memory behind it
    with pytest.raises(ValueError, match=r"'layers.0.weight' must have shape \(3, 2\) .*got shape \(50000000,\)"):
        model.load_state_dict(state)
    assert numbers(model) == before
    state["layers.0.weight"] = np.full((3, 2), 0.5)  # the right shape still loads
    model.load_state_dict(state)
    assert model.state_dict()["layers.0.weight"] == [[0.5, 0.5]] * 3


def test_a_wrong_length_list_is_refused_without_walking_its_items():
    class Untouchable(list):  # a list of 5e7 floats took 13 s to walk before its length was compared
        def __iter__(self):
            raise AssertionError("the items were walked before the length was checked")

    model = MLP(2, [3, 1], seed=0)
    for bad, words in [(Untouchable([0.0] * 1000), r"got shape \(1000,\)"),
                       ([[1.0, 2.0], Untouchable([0.0] * 1000), [1.0, 2.0]], "got a ragged nested list")]:
        state = model.state_dict()
        state["layers.0.weight"] = bad
        with pytest.raises(ValueError, match=rf"'layers.0.weight' must have shape \(3, 2\) .*{words}"):
            model.load_state_dict(state)
