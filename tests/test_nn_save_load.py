"""nn.save / nn.load: exact round trips, atomic writes, and every kind of bad file refused with ValueError."""

from __future__ import annotations

import errno
import json
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import nn
from nn import MLP, Layer, Neuron

pytestmark = pytest.mark.nn

POINTS = [[0.1, -0.7], [1e-3, 2.5], [-3.0, 0.25]]
ROOT = Path(__file__).resolve().parent.parent


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


def test_only_the_modules_nn_defines_can_be_saved(tmp_path):
    class Mine(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="save: can save the modules nn defines .* got Mine"):
        nn.save(Mine(), tmp_path / "d.json")
    with pytest.raises(TypeError, match="save: can save the modules nn defines .* got Mine"):
        nn.save(nn.Sequential(nn.Layer(2, 2, seed=0), Mine()), tmp_path / "d.json")


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


def test_a_failure_in_the_middle_of_the_write_removes_the_half_written_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    nn.save(MLP(2, [3, 1], seed=0), path)
    good = path.read_bytes()
    real_write = os.write
    seen = []

    def disk_full(fd, data):
        if seen:
            raise OSError(errno.ENOSPC, "No space left on device")
        seen.append(os.listdir(tmp_path))  # the temporary file exists now, next to the model
        return real_write(fd, bytes(data)[:10])  # a short write: the rest must be retried, and fails

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        nn.save(MLP(2, [3, 1], seed=1), path)
    assert len(seen[0]) == 2
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["model.json"]


@pytest.mark.parametrize("failing", ["json.dumps", "os.fchmod", "os.close"])
def test_ctrl_c_at_any_step_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch, failing):
    path = tmp_path / "model.json"
    nn.save(MLP(2, [3, 1], seed=0), path)
    good = path.read_bytes()
    module, name = failing.split(".")
    real = getattr({"json": json, "os": os}[module], name)

    def interrupted(*args, **kwargs):
        real(*args, **kwargs)  # the step itself happens (a closed fd stays closed), then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr({"json": json, "os": os}[module], name, interrupted)
    with pytest.raises(KeyboardInterrupt):
        nn.save(MLP(2, [3, 1], seed=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["model.json"]


def test_a_missing_folder_is_an_os_error_naming_the_path_given(tmp_path):
    path = tmp_path / "no such folder" / "model.json"
    with pytest.raises(FileNotFoundError) as raised:
        nn.save(MLP(2, [3, 1], seed=0), path)
    assert raised.value.filename == str(path)
    assert os.listdir(tmp_path) == []


# ---- saves keep what the user had ------------------------------------------------------------


def test_saving_through_a_symlink_writes_its_target_and_the_link_stays(tmp_path):
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "model-v1.json"
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(os.path.join("store", "model-v1.json"))  # relative, into another folder
    model = MLP(2, [3, 1], seed=0)
    nn.save(model, link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("store", "model-v1.json")
    assert outputs(nn.load(target)) == outputs(model)
    assert sorted(os.listdir(tmp_path)) == ["latest.json", "store"]
    assert os.listdir(tmp_path / "store") == ["model-v1.json"]


def test_a_chain_of_symlinks_is_followed_to_the_end(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    (tmp_path / "b.json").symlink_to(target)
    (tmp_path / "a.json").symlink_to(tmp_path / "b.json")
    nn.save(Neuron(2, seed=0), tmp_path / "a.json")
    assert (tmp_path / "a.json").is_symlink() and (tmp_path / "b.json").is_symlink()
    assert type(nn.load(target)) is Neuron
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.json", "real.json"]


def test_a_dangling_symlink_gets_its_target_created_as_open_would(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "made.json")
    nn.save(Neuron(2, seed=0), link)
    assert link.is_symlink() and type(nn.load(tmp_path / "made.json")) is Neuron


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o755])
def test_an_existing_file_keeps_its_permissions(tmp_path, mode):
    path = tmp_path / "model.json"
    path.write_text("old")
    path.chmod(mode)
    nn.save(MLP(2, [3, 1], seed=0), path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert type(nn.load(path)) is MLP


def test_the_temporary_copy_of_a_private_file_is_private_from_the_start(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    path.write_text("old")
    path.chmod(0o600)
    modes = []
    real_write = os.write

    def spy(fd, data):
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    nn.save(MLP(2, [3, 1], seed=0), path)
    assert modes and set(modes) == {0o600}


def test_a_read_only_file_is_treated_as_open_would_treat_it(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("old")
    path.chmod(0o444)
    try:
        with open(path, "a"):
            writable = True  # root may write any file
    except PermissionError:
        writable = False
    if writable:
        nn.save(Neuron(2, seed=0), path)
        assert type(nn.load(path)) is Neuron and stat.S_IMODE(path.stat().st_mode) == 0o444
    else:
        with pytest.raises(PermissionError, match="read-only"):
            nn.save(Neuron(2, seed=0), path)
        assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["model.json"]


def test_an_existing_file_keeps_its_owner_where_the_system_allows(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("old")
    owner = (65534, 65534) if os.geteuid() == 0 else (os.geteuid(), os.getegid())  # root: give it to nobody
    os.chown(path, *owner)
    nn.save(Neuron(2, seed=0), path)
    assert (path.stat().st_uid, path.stat().st_gid) == owner


@pytest.mark.parametrize(
    "name",
    ["my model.json", "modèle-ü-模型.json", "-rf.json", "--help", "model", ".hidden.json", "a" * 250 + ".json"],
    ids=["spaces", "unicode", "leading-dash", "double-dash", "no-suffix", "hidden", "255-bytes"],
)
def test_any_valid_file_name_works_even_without_a_folder_part(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    model = MLP(2, [3, 1], seed=0)
    nn.save(model, name)  # a bare name: the current folder
    nn.save(model, name)  # and again, over the file it made
    assert outputs(nn.load(name)) == outputs(model)
    assert os.listdir(tmp_path) == [name]


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_path_that_is_not_a_regular_file_is_refused_and_left_alone(tmp_path, kind):
    path = tmp_path / "model.json"
    if kind == "directory":
        path.mkdir()
        (path / "inside.txt").write_text("kept")
    else:
        os.mkfifo(path)  # opening it to write would wait for a reader forever
    with pytest.raises(ValueError, match="not a regular file"):
        nn.save(MLP(2, [3, 1], seed=0), path)
    assert path.is_dir() if kind == "directory" else stat.S_ISFIFO(path.stat().st_mode)
    assert os.listdir(tmp_path) == ["model.json"]


def test_save_refuses_a_model_that_load_would_refuse(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    monkeypatch.setattr(nn.io, "MAX_PARAMETERS", 16)
    nn.save(MLP(2, [3, 1], seed=0), path)  # 13 parameters
    assert type(nn.load(path)) is MLP
    with pytest.raises(ValueError, match="17 parameters; a model file holds at most 16"):
        nn.save(MLP(2, [3, 1, 1, 1], seed=0), path)
    monkeypatch.setattr(nn.io, "MAX_BYTES", 100)
    with pytest.raises(ValueError, match="a model file holds at most 100"):
        nn.save(MLP(2, [3, 1], seed=0), path)
    assert os.listdir(tmp_path) == ["model.json"]


def test_at_most_max_layers_layers_are_saved_and_loaded_and_more_are_refused_before_parsing(tmp_path):
    path = tmp_path / "deep.json"
    deepest = MLP(1, [1] * nn.io.MAX_LAYERS, "tanh", seed=0)
    nn.save(deepest, path)
    assert nn.load(path).state_dict() == deepest.state_dict()
    with pytest.raises(ValueError, match=f"1001 layers; a model file holds at most {nn.io.MAX_LAYERS}"):
        nn.save(MLP(1, [1] * 1001, seed=0), path)
    # a valid file, but deeper: refused from the layer sizes, before the million-object JSON is parsed
    neuron = '[{"w": [0.5], "b": 0.25}]'
    path.write_text(mlp_file(1, [1] * 1_000_000, "[" + ", ".join([neuron] * 1_000_000) + "]"))
    parsed = []
    original = json.loads
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nn.io.json, "loads", lambda *a, **k: parsed.append(1) or original(*a, **k))
        with pytest.raises(ValueError, match="config.nouts has 1000000 layers; a model file holds at most 1000"):
            nn.load(path)
    assert parsed == []


# ---- bad files -----------------------------------------------------------------------------------


def good_document() -> dict:
    model = MLP(2, [2, 1], seed=0)
    return {
        "format": "chainrule.nn",
        "version": 1,
        "type": "MLP",
        "config": {"nin": 2, "nouts": [2, 1], "activation": "relu", "dropout": 0.0},
        "layers": [[{"w": [w.data for w in n.w], "b": n.b.data} for n in layer.neurons] for layer in model.layers],
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


# ---- hostile files: refused before they cost memory or time --------------------------------------

# The 130-byte file of issue 17: it used to build a billion-input neuron (a minute, over 6 GB).
BILLION_INPUTS = (
    '{"format": "chainrule.nn", "version": 1, "type": "Neuron", '
    '"config": {"nin": 1000000000, "activation": "relu"}, "w": [], "b": 0.0}'
)


def neuron_file(nin: str = "2", w: str = "[0.5, -0.5]", b: str = "0.0") -> str:
    return (
        f'{{"format": "chainrule.nn", "version": 1, "type": "Neuron", '
        f'"config": {{"nin": {nin}, "activation": "relu"}}, "w": {w}, "b": {b}}}'
    )


def layer_file(nin: int, nout: int, neurons: str) -> str:
    return (
        f'{{"format": "chainrule.nn", "version": 1, "type": "Layer", '
        f'"config": {{"nin": {nin}, "nout": {nout}, "activation": "tanh"}}, "neurons": {neurons}}}'
    )


def mlp_file(nin: int, nouts: list[int], layers: str) -> str:
    return (
        f'{{"format": "chainrule.nn", "version": 1, "type": "MLP", "config": {{"nin": {nin}, '
        f'"nouts": {json.dumps(nouts)}, "activation": "relu", "dropout": 0.0}}, "layers": {layers}}}'
    )


# (file text, the words the ValueError must contain): each names the field and what is wrong with it
HOSTILE = {
    "billion inputs, no weights": (BILLION_INPUTS, "w has 0 weights, but config.nin is 1000000000"),
    "10**400 inputs": (
        neuron_file(nin="1" + "0" * 400, w="[]"),
        "config.nin must be a positive integer, got an integer of 401 digits",
    ),
    "10**300 inputs": (
        neuron_file(nin="1" + "0" * 300, w="[1.0]"),
        "w has 1 weights, but config.nin is an int of about 1e+300",
    ),
    "a million-digit size": (
        neuron_file(nin="9" * 1_000_000, w="[]"),
        "config.nin must be a positive integer, got an integer of 1000000 digits",
    ),
    "a layer of a billion neurons": (
        layer_file(2, 10**9, "[]"),
        "neurons has 0 neurons, but config.nout is 1000000000",
    ),
    "a layer of a billion inputs": (
        layer_file(10**9, 1, '[{"w": [1.0], "b": 0.0}]'),
        "neurons[0].w has 1 weights, but config.nin is 1000000000",
    ),
    "an mlp of huge layers": (
        mlp_file(10**6, [10**6, 10**6, 1], "[[], [], []]"),
        "layers[0] has 0 neurons, but config.nouts[0] is 1000000",
    ),
    "an mlp missing a layer": (
        mlp_file(1, [1, 1], '[[{"w": [1.0], "b": 0.0}]]'),
        "layers has 1 layers, but the length of config.nouts is 2",
    ),
    "a second layer of the wrong width": (
        mlp_file(1, [2, 1], '[[{"w": [1], "b": 0}, {"w": [1], "b": 0}], [{"w": [1], "b": 0}]]'),
        "layers[1][0].w has 1 weights, but config.nouts[0] is 2",
    ),
    "a million layer sizes": (
        mlp_file(1, [1] * 1_000_000, "[]"),
        "config.nouts has 1000000 layers; a model file holds at most 1000",
    ),
    "a weight of 10**400": (
        neuron_file(w="[1" + "0" * 400 + ", 0.0]"),
        "w[0] is too large for a float, got an integer of 401 digits",
    ),
    "a weight of 2 * 10**308": (
        neuron_file(w="[2" + "0" * 308 + ", 0.0]"),
        "w[0] must be a finite number, got an int of about 2e+308",
    ),
    "a weight of 1e999": (neuron_file(w="[0.0, -1e999]"), "w[1] must be a finite number, got -inf"),
    "a bias of 1e400": (neuron_file(b="1e400"), "b must be a finite number, got inf"),
    "a weight of NaN": (neuron_file(w="[NaN, 0.0]"), "NaN is not a number JSON allows"),
    "a version of 5000 digits": (
        neuron_file().replace('"version": 1', '"version": 1' + "0" * 5000),
        "version must be 1 or 2, got an integer of 5001 digits",
    ),
    "a duplicate key": (neuron_file().replace('"b": 0.0', '"b": 0.0, "b": 1.0'), "key 'b' appears twice"),
    "a huge activation name": (
        neuron_file().replace('"relu"', '"' + "x" * 10**6 + '"'),
        "config.activation must be one of",
    ),
    "deep nesting": (neuron_file(w="[" * 1_000_000 + "]" * 1_000_000), "not valid JSON: maximum recursion depth"),
    "a parameter count past the limit": (
        layer_file(3, 600_000, "[" + ",".join(['{"w":[0,0,0],"b":0}'] * 600_000) + "]"),
        "the config makes 2400000 parameters; a model file holds at most 2000000",
    ),
    "more neurons than parameters allow": (
        layer_file(1, 1_500_000, "[" + ",".join(['{"w":[0],"b":0}'] * 1_500_000) + "]"),
        "the file has 1500002 '{' and 3000005 ','; "
        "a model of at most 2000000 parameters has at most 1000002 and 4000064",
    ),
    "more numbers than parameters allow": (
        neuron_file(nin="5000000", w="[" + ",".join(["0.0"] * 5_000_000) + "]"),
        "the file has 2 '{' and 5000005 ','",
    ),
}


def run_capped(script: str, *args: str, memory: int = 512 * 2**20, timeout: float = 60.0) -> list:
    """Run `script` in a fresh Python with its address space capped at `memory` bytes; its output lines as JSON."""
    capped = f"import resource\nresource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))\n{script}"
    done = subprocess.run(
        [sys.executable, "-c", capped, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


LOAD_EACH = """
import json, sys
import nn
for path in sys.argv[1:]:
    try:
        nn.load(path)
        print(json.dumps(["loaded", ""]))
    except BaseException as e:
        print(json.dumps([type(e).__name__, str(e)]))
"""


def test_hostile_files_are_refused_in_a_memory_capped_process(tmp_path):
    paths = []
    for i, (text, _) in enumerate(HOSTILE.values()):
        path = tmp_path / f"hostile-{i}.json"
        path.write_text(text)
        paths.append(str(path))
    # one process for all: a file that built its claimed model would fail the cap (MemoryError)
    results = run_capped(LOAD_EACH, *paths)
    assert len(results) == len(HOSTILE)
    wrong = [
        f"{name}: {kind}: {message[:300]}"
        for (name, (_, words)), path, (kind, message) in zip(HOSTILE.items(), paths, results)
        if kind != "ValueError" or not message.startswith(f"{path}: ") or words not in message
    ]
    assert not wrong, "\n".join(wrong)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    link = tmp_path / "link.json"
    link.symlink_to(fifo)
    results = run_capped(LOAD_EACH, str(fifo), str(link), timeout=30)
    assert results == [
        ["ValueError", f"{p}: is a FIFO (named pipe), not a regular file; a model is a file written by nn.save"]
        for p in (fifo, link)
    ]


def test_a_file_that_becomes_a_fifo_after_the_check_is_refused_without_waiting(tmp_path):
    # The race: the name is a regular file when looked at, and a FIFO when opened. Here os.stat
    # is made to lie; the open must not block, and the check of what was opened must catch it.
    fifo, plain = tmp_path / "model.json", tmp_path / "plain.json"
    os.mkfifo(fifo)
    plain.write_text(neuron_file())
    script = f"import os\nplain = os.stat({str(plain)!r})\nos.stat = lambda path, *a, **k: plain\n" + LOAD_EACH
    assert run_capped(script, str(fifo), timeout=30) == [
        ["ValueError", f"{fifo}: is a FIFO (named pipe), not a regular file; a model is a file written by nn.save"]
    ]


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a character device"), ("/dev/null", "a character device")])
def test_a_device_is_refused_without_reading_it(path, kind):
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing on this system")
    assert run_capped(LOAD_EACH, path, timeout=30) == [
        ["ValueError", f"{path}: is {kind}, not a regular file; a model is a file written by nn.save"]
    ]


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is a directory, not a regular file"):
        nn.load(tmp_path)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_the_size_limit_counts_bytes_read_not_the_size_the_file_claims(monkeypatch):
    # A /proc file is a regular file that says it holds 0 bytes, and yet has more
    assert os.stat("/proc/self/status").st_size == 0
    monkeypatch.setattr(nn.io, "MAX_BYTES", 100)
    with pytest.raises(ValueError, match="larger than 100 bytes"):
        nn.load("/proc/self/status")


def test_a_file_one_byte_over_the_limit_is_refused_and_one_at_it_is_read(tmp_path, monkeypatch):
    text = neuron_file()
    monkeypatch.setattr(nn.io, "MAX_BYTES", len(text.encode()))
    (tmp_path / "fits.json").write_text(text)
    (tmp_path / "over.json").write_text(text + " ")
    assert type(nn.load(tmp_path / "fits.json")) is Neuron
    with pytest.raises(ValueError, match=f"larger than {len(text)} bytes"):
        nn.load(tmp_path / "over.json")


def test_a_sparse_file_past_the_limit_is_refused_in_a_memory_capped_process(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(nn.io.MAX_BYTES + 4096)  # 64 MB of zeros that take no disk space
    assert run_capped(LOAD_EACH, str(path), memory=384 * 2**20) == [
        ["ValueError", f"{path}: larger than {nn.io.MAX_BYTES} bytes; not a chainrule model file"]
    ]


def test_a_hard_link_is_the_one_thing_a_save_does_not_keep(tmp_path):
    # Documented: os.replace gives the name a new file; the other name keeps the old model.
    path, other = tmp_path / "model.json", tmp_path / "other-name.json"
    nn.save(Neuron(2, seed=0), path)
    os.link(path, other)
    nn.save(Neuron(2, seed=1), path)
    assert outputs(nn.load(path), [[1.0, 2.0]]) == outputs(Neuron(2, seed=1), [[1.0, 2.0]])
    assert outputs(nn.load(other), [[1.0, 2.0]]) == outputs(Neuron(2, seed=0), [[1.0, 2.0]])
    assert path.stat().st_nlink == other.stat().st_nlink == 1
