"""nn.save / nn.load: exact round trips, atomic writes, and every kind of bad file refused with ValueError."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

import nn
from nn import MLP, Layer, Neuron

pytestmark = pytest.mark.nn

POINTS = [[0.1, -0.7], [1e-3, 2.5], [-3.0, 0.25]]


def outputs(model, points=POINTS) -> list[float]:
    result = []
    for x in points:
        out = model(x)
        result += [v.data for v in out] if isinstance(out, list) else [out.data]
    return result


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
def test_an_mlp_comes_back_as_an_mlp_computing_the_same_bits(tmp_path, activation):
    model = MLP(2, [7, 1, 3], activation=activation, dropout=0.25, seed=11)
    path = tmp_path / "model.json"
    nn.save(model, path)
    loaded = nn.load(path)
    assert type(loaded) is MLP and repr(loaded) == repr(model)
    assert (loaded.nin, loaded.nouts, loaded.activation, loaded.dropout) == (2, [7, 1, 3], activation, 0.25)
    assert [p.data for p in loaded.parameters()] == [p.data for p in model.parameters()]
    assert outputs(loaded.eval()) == outputs(model.eval())


def test_awkward_floats_survive_exactly(tmp_path):
    model = MLP(1, [3, 1], seed=0)
    awkward = [0.1, 1 / 3, 5e-324, -1.7976931348623157e308, 2.0**-1022, -0.0, 123456789.12345679]
    for p, value in zip(model.parameters(), awkward):
        p.data = value
    nn.save(model, tmp_path / "m.json")
    loaded = [p.data for p in nn.load(tmp_path / "m.json").parameters()]
    assert [v.hex() for v in loaded] == [p.data.hex() for p in model.parameters()]


def test_a_layer_and_a_neuron_round_trip(tmp_path):
    layer, neuron = Layer(3, 2, activation="tanh", seed=1), Neuron(4, activation="sigmoid", seed=2)
    nn.save(layer, tmp_path / "layer.json")
    nn.save(neuron, tmp_path / "neuron.json")
    loaded_layer, loaded_neuron = nn.load(tmp_path / "layer.json"), nn.load(tmp_path / "neuron.json")
    assert type(loaded_layer) is Layer and type(loaded_neuron) is Neuron
    assert [v.data for v in loaded_layer([1.0, -2.0, 0.5])] == [v.data for v in layer([1.0, -2.0, 0.5])]
    assert loaded_neuron([1.0, 2.0, 3.0, 4.0]).data == neuron([1.0, 2.0, 3.0, 4.0]).data


def test_the_file_is_readable_json_with_the_architecture(tmp_path):
    model = MLP(2, [2, 1], seed=0)
    nn.save(model, tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["type"] == "MLP" and doc["config"]["nouts"] == [2, 1]
    assert doc["layers"][1][0]["w"] == [w.data for w in model.layers[1].neurons[0].w]


def test_the_loaded_model_has_parameters_of_its_own(tmp_path):
    model = MLP(2, [2, 1], seed=0)
    nn.save(model, str(tmp_path / "m.json"))  # a str path works as well as a Path
    loaded = nn.load(str(tmp_path / "m.json"))
    loaded.parameters()[0].data += 1.0
    assert loaded.parameters()[0].data != model.parameters()[0].data


def test_only_neurons_layers_and_mlps_can_be_saved(tmp_path):
    with pytest.raises(TypeError, match="Neuron, Layer or MLP"):
        nn.save(nn.Dropout(0.5), tmp_path / "d.json")


def test_the_saved_file_has_ordinary_permissions(tmp_path):
    nn.save(MLP(2, [3, 1], seed=0), tmp_path / "model.json")
    (tmp_path / "plain.txt").write_text("x")
    assert (tmp_path / "model.json").stat().st_mode == (tmp_path / "plain.txt").stat().st_mode


# ---- atomic writes ----------------------------------------------------------------------------


def test_a_failed_save_leaves_the_old_file_intact_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    nn.save(MLP(2, [3, 1], seed=0), path)
    good = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        nn.save(MLP(2, [3, 1], seed=1), path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["model.json"]


def test_a_crash_while_writing_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    nn.save(MLP(2, [3, 1], seed=0), path)
    good = path.read_bytes()

    def crash(fd):
        raise KeyboardInterrupt  # the user pressed Ctrl-C after the bytes were written, before the rename

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        nn.save(MLP(2, [3, 1], seed=1), path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["model.json"]


def test_a_model_with_a_non_finite_weight_is_not_saved(tmp_path):
    path = tmp_path / "model.json"
    nn.save(MLP(2, [3, 1], seed=0), path)
    good = path.read_bytes()
    broken = MLP(2, [3, 1], seed=0)
    broken.layers[0].neurons[1].b.data = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        nn.save(broken, path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["model.json"]


# ---- bad files -----------------------------------------------------------------------------------


def good_document() -> dict:
    model = MLP(2, [2, 1], seed=0)
    return {
        "format": "chainrule.nn",
        "version": 1,
        "type": "MLP",
        "config": {"nin": 2, "nouts": [2, 1], "activation": "relu", "dropout": 0.0},
        "layers": [
            [{"w": [w.data for w in n.w], "b": n.b.data} for n in layer.neurons] for layer in model.layers
        ],
    }


def edited(change) -> str:
    doc = good_document()
    change(doc)
    return json.dumps(doc)


def assign(path: tuple, value):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def test_the_reference_document_itself_loads(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps(good_document()))
    assert type(nn.load(tmp_path / "m.json")) is MLP


BAD_TEXTS = {
    "empty file": "",
    "not json": "this is not a model",
    "python literal": "{'format': 'chainrule.nn'}",
    "a list": "[1, 2, 3]",
    "truncated": json.dumps(good_document())[:-7],
    "truncated early": json.dumps(good_document())[:40],
    "NaN weight": json.dumps(good_document()).replace('"b": ', '"b": NaN, "x": ', 1),
    "Infinity weight": edited(assign(("layers", 0, 0, "w"), [1.0, 2.0])).replace("2.0", "Infinity"),
    "huge weight": edited(assign(("layers", 0, 0, "w"), [1.0, 2.0])).replace("2.0", "1e999"),
    "bool weight": edited(assign(("layers", 0, 0, "w"), [1.0, True])),
    "string weight": edited(assign(("layers", 0, 0, "w"), [1.0, "2.0"])),
    "null bias": edited(assign(("layers", 1, 0, "b"), None)),
    "nested weight": edited(assign(("layers", 0, 0, "w"), [1.0, [2.0]])),
    "too few weights": edited(assign(("layers", 0, 0, "w"), [1.0])),
    "too many neurons": edited(lambda d: d["layers"][1].append({"w": [0.0, 0.0], "b": 0.0})),
    "missing layer": edited(lambda d: d["layers"].pop()),
    "bool as nin": edited(assign(("config", "nin"), True)),
    "float as size": edited(assign(("config", "nouts"), [2.0, 1])),
    "zero size": edited(assign(("config", "nouts"), [0, 1])),
    "unknown activation": edited(assign(("config", "activation"), "__import__('os')")),
    "bad dropout": edited(assign(("config", "dropout"), 2.0)),
    "unknown type": edited(assign(("type",), "Sequential")),
    "wrong format": edited(assign(("format",), "pytorch")),
    "wrong version": edited(assign(("version",), 2)),
    "bool version": edited(assign(("version",), True)),
    "missing key": edited(lambda d: d.pop("layers")),
    "extra key": edited(assign(("config", "seed"), 0)),
    "duplicate key": json.dumps(good_document())[:-1] + ', "type": "MLP"}',
    "deep nesting": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("text", BAD_TEXTS.values(), ids=BAD_TEXTS.keys())
def test_every_kind_of_bad_file_raises_value_error(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match="bad.json"):
        nn.load(path)


def test_binary_files_raise_value_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match="not valid JSON"):
        nn.load(path)


class _Trap:
    """Unpickling this creates a file: proof that a pickle would have run code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_is_refused_without_running_anything(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"format": "chainrule.nn", "trap": _Trap(marker)}))
    with pytest.raises(ValueError, match="not valid JSON"):
        nn.load(path)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the trap is real: unpickling would have run it
    assert marker.exists()


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        nn.load(tmp_path / "nope.json")
