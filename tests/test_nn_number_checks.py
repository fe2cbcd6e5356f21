"""One number-check family: each kind of bad number raises one exception type, everywhere in nn.

The kinds (nn/_numbers.py says them once): the wrong kind of thing - not a number, a bool, a
non-int where an int is wanted, anything but True/False for a flag - is a TypeError; the right
kind with a wrong value - NaN, an infinity, an int too large for a float, a number out of its
range - is a ValueError; and a bad number inside data (a model file, a state dict) is a ValueError
naming its field. Every public entry point that takes a number is fed every kind of mistake
below; each error names the argument, and nothing the call was given changes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import nn
from autograd import Value
from nn import (
    MLP,
    RNN,
    SGD,
    Adam,
    AvgPool2d,
    BatchNorm1d,
    Conv1d,
    Conv2d,
    CosineAnnealingLR,
    Dropout,
    Layer,
    LayerNorm,
    LinearLR,
    LivePlot,
    MaxPool2d,
    Neuron,
    RMSprop,
    StepLR,
)
from nn.training.plots import draw_decision_boundary

pytestmark = pytest.mark.nn

HUGE = 10**400  # float(HUGE) is a bare OverflowError in Python; here it is a ValueError naming the argument
X, Y = [[0.5, -0.25], [0.1, 0.9], [-0.7, 0.3], [0.2, 0.2]], [1.0, -1.0, 1.0, -1.0]
NOWHERE = Path("/nonexistent-chainrule-folder")  # a call that checked nothing would fail to write here

# the kinds of mistake, and the one exception each raises wherever the number goes
NOT_A_NUMBER = {"a str": "0.5", "None": None, "a complex": 1j, "a list": [0.5]}
A_BOOL = {"True": True}
NOT_FINITE = {"NaN": math.nan, "inf": math.inf, "-inf": -math.inf, "10**400": HUGE}
NOT_AN_INT = {"2.5": 2.5, "2.0": 2.0}
NOT_A_FLAG = {"1": 1, "'yes'": "yes", "None": None}


class World:
    """What a call may touch: a model, its optimizer; `state()` is everything that must not change."""

    def __init__(self) -> None:
        self.model = MLP(2, [3, 1], seed=0)
        self.optimizer = SGD(self.model.parameters(), lr=0.1)
        for i, p in enumerate(self.model.parameters()):
            p.grad = 0.125 * i  # gradients a failed call must not clip, zero or step with

    def state(self) -> tuple:
        params = [(p.data, p.grad) for p in self.model.parameters()]
        options = {k: v.copy() if isinstance(v, (list, dict)) else v for k, v in vars(self.optimizer).items()}
        # (fit's model.train() writes `training` onto each module, with the value it had)
        modules = [(m.training, {k: v for k, v in vars(m).items() if k != "training"}) for m in self.model.modules()]
        return params, options, modules


def fit(w: World, **kwargs: object) -> object:
    kwargs.setdefault("progress", False)
    validation = (X, Y) if "patience" in kwargs else None
    return nn.fit(w.model, X, Y, nn.mse_loss, w.optimizer, epochs=kwargs.pop("epochs", 1), validation=validation,
                  **kwargs)


def lr_find(w: World, **kwargs: object) -> object:
    return nn.lr_find(w.model, X, Y, nn.mse_loss, w.optimizer, **{"steps": 3, **kwargs})


# name shown in the message, the call with the bad value v, and a value out of range (None: no range)
REALS = {
    "fit min_delta": ("fit: min_delta", lambda w, v: fit(w, patience=2, min_delta=v), -0.1),
    "fit clip_norm": ("fit: clip_norm", lambda w, v: fit(w, clip_norm=v), -1.0),
    "SGD lr": ("lr", lambda w, v: SGD(w.model.parameters(), lr=v), -0.1),
    "SGD momentum": ("momentum", lambda w, v: SGD(w.model.parameters(), 0.1, momentum=v), -0.5),
    "SGD weight_decay": ("weight_decay", lambda w, v: SGD(w.model.parameters(), 0.1, weight_decay=v), -1.0),
    "Adam lr": ("lr", lambda w, v: Adam(w.model.parameters(), lr=v), -1.0),
    "Adam betas[0]": ("betas[0]", lambda w, v: Adam(w.model.parameters(), betas=(v, 0.999)), 1.0),
    "Adam eps": ("eps", lambda w, v: Adam(w.model.parameters(), eps=v), 0.0),
    "Adam weight_decay": ("weight_decay", lambda w, v: Adam(w.model.parameters(), weight_decay=v), -0.1),
    "RMSprop eps": ("eps", lambda w, v: RMSprop(w.model.parameters(), eps=v), 0.0),
    "RMSprop alpha": ("alpha", lambda w, v: RMSprop(w.model.parameters(), alpha=v), 1.5),
    "StepLR gamma": ("StepLR: gamma", lambda w, v: StepLR(w.optimizer, 2, gamma=v), 0.0),
    "CosineAnnealingLR eta_min": ("eta_min", lambda w, v: CosineAnnealingLR(w.optimizer, 5, eta_min=v), -1.0),
    "LinearLR start_factor": ("start_factor", lambda w, v: LinearLR(w.optimizer, start_factor=v), 0.0),
    "LinearLR end_factor": ("end_factor", lambda w, v: LinearLR(w.optimizer, end_factor=v), 1.5),
    "clip_grad_norm max_norm": ("max_norm", lambda w, v: nn.clip_grad_norm(w.model.parameters(), v), -1.0),
    "Dropout p": ("dropout probability", lambda w, v: Dropout(v), 1.5),
    "MLP dropout": ("dropout probability", lambda w, v: MLP(2, [3, 1], dropout=v), -0.5),
    "LayerNorm eps": ("eps", lambda w, v: LayerNorm(3, eps=v), 0.0),
    "BatchNorm1d eps": ("eps", lambda w, v: BatchNorm1d(3, eps=v), -1e-5),
    "BatchNorm1d momentum": ("momentum", lambda w, v: BatchNorm1d(3, momentum=v), 1.5),
    "make_moons noise": ("noise", lambda w, v: nn.make_moons(noise=v), -0.1),
    "make_circles factor": ("factor", lambda w, v: nn.make_circles(factor=v), 1.0),
    "train_test_split test_fraction": ("test_fraction", lambda w, v: nn.train_test_split(X, Y, test_fraction=v), 1.0),
    "lr_find start_lr": ("lr_find: start_lr", lambda w, v: lr_find(w, start_lr=v), 0.0),
    "lr_find end_lr": ("lr_find: end_lr", lambda w, v: lr_find(w, end_lr=v), -1.0),
    "train_val_split val_fraction": ("val_fraction", lambda w, v: nn.train_val_split(X, Y, val_fraction=v), 0.0),
    "lr_find divergence": ("lr_find: divergence", lambda w, v: lr_find(w, divergence=v), 1.0),
    "LivePlot interval": ("LivePlot: interval", lambda w, v: LivePlot(interval=v), -1.0),
    "LivePlot panel_size": ("LivePlot: panel_size[1]", lambda w, v: LivePlot(panel_size=(4.0, v)), 0.0),
}

INTS = {
    "fit epochs": ("fit: epochs", lambda w, v: fit(w, epochs=v), -1),
    "fit batch_size": ("fit: batch_size", lambda w, v: fit(w, batch_size=v), 0),
    "fit patience": ("fit: patience", lambda w, v: fit(w, patience=v), 0),
    "MLP nin": ("nin", lambda w, v: MLP(v, [3]), 0),
    "MLP nouts[1]": ("nouts[1]", lambda w, v: MLP(2, [3, v]), 0),
    "Layer nout": ("nout", lambda w, v: Layer(2, v), 0),
    "Neuron nin": ("nin", lambda w, v: Neuron(v), -2),
    "LayerNorm n": ("n", lambda w, v: LayerNorm(v), 0),
    "BatchNorm1d num_features": ("num_features", lambda w, v: BatchNorm1d(v), 0),
    "RNN nhidden": ("nhidden", lambda w, v: RNN(2, v), 0),
    "Conv1d in_channels": ("in_channels", lambda w, v: Conv1d(v, 1, 2), 0),
    "Conv1d kernel_size": ("kernel_size", lambda w, v: Conv1d(1, 1, v), 0),
    "Conv1d stride": ("stride", lambda w, v: Conv1d(1, 1, 2, stride=v), 0),
    "Conv1d padding": ("padding", lambda w, v: Conv1d(1, 1, 2, padding=v), -1),
    "MaxPool2d kernel_size": ("kernel_size", lambda w, v: MaxPool2d((2, v)), 0),
    "AvgPool2d stride": ("stride", lambda w, v: AvgPool2d(2, stride=(1, v)), 0),
    "Conv2d out_channels": ("out_channels", lambda w, v: Conv2d(1, v, 3), 0),
    "export_onnx sequence_length": (
        "export_onnx: sequence_length", lambda w, v: nn.export_onnx(w.model, NOWHERE / "m.onnx", sequence_length=v), 0),
    "export_onnx input_shape": (
        "export_onnx: input_shape[1]", lambda w, v: nn.export_onnx(w.model, NOWHERE / "m.onnx", input_shape=(2, v)), 0),
    "StepLR step_size": ("StepLR: step_size", lambda w, v: StepLR(w.optimizer, v), 0),
    "CosineAnnealingLR T_max": ("T_max", lambda w, v: CosineAnnealingLR(w.optimizer, v), 0),
    "LinearLR total_iters": ("total_iters", lambda w, v: LinearLR(w.optimizer, total_iters=v), 0),
    "make_moons n": ("n", lambda w, v: nn.make_moons(n=v), 0),
    "make_circles n": ("n", lambda w, v: nn.make_circles(n=v), 0),
    "make_xor n": ("n", lambda w, v: nn.make_xor(n=v), -1),
    "make_sine n": ("n", lambda w, v: nn.make_sine(n=v), 0),
    "make_spiral classes": ("classes", lambda w, v: nn.make_spiral(classes=v), 1),
    "lr_find steps": ("lr_find: steps", lambda w, v: lr_find(w, steps=v), 1),
    "lr_find batch_size": ("lr_find: batch_size", lambda w, v: lr_find(w, batch_size=v), 0),
    "LivePlot columns": ("LivePlot: columns", lambda w, v: LivePlot(columns=v), 0),
    "LivePlot dpi": ("LivePlot: dpi", lambda w, v: LivePlot(dpi=v), 5),
    "draw_decision_boundary resolution": (
        "resolution", lambda w, v: draw_decision_boundary(None, w.model, X, Y, resolution=v), 1),
    "plot_decision_boundary resolution": (
        "resolution", lambda w, v: nn.plot_decision_boundary(w.model, X, Y, NOWHERE / "b.png", resolution=v), 10**6),
}

FLAGS = {
    "fit progress": ("fit: progress", lambda w, v: fit(w, progress=v)),
    "fit diagnostics": ("fit: diagnostics", lambda w, v: fit(w, diagnostics=v)),
    "fit compile": ("fit: compile", lambda w, v: fit(w, compile=v)),
    "fit restore_best": ("fit: restore_best", lambda w, v: fit(w, patience=2, restore_best=v)),
    "Module.train mode": ("train(mode)", lambda w, v: w.model.train(v)),
    "load_state_dict strict": ("strict", lambda w, v: w.model.load_state_dict(w.model.state_dict(), strict=v)),
    "Conv1d bias": ("bias", lambda w, v: Conv1d(1, 1, 2, bias=v)),
    "clip_grad_norm error_if_nonfinite": (
        "error_if_nonfinite", lambda w, v: nn.clip_grad_norm(w.model.parameters(), 1.0, error_if_nonfinite=v)),
    "sanity_check verbose": ("verbose", lambda w, v: nn.sanity_check(w.model, X, Y, nn.mse_loss, verbose=v)),
}

SEEDS = {
    "fit seed": lambda w, v: fit(w, batch_size=2, seed=v),
    "MLP seed": lambda w, v: MLP(2, [3], seed=v),
    "make_moons seed": lambda w, v: nn.make_moons(seed=v),
}


# None is a meaningful value of these (the whole data set, no early stopping, no clipping, a plain mean)
OPTIONAL = {"fit batch_size", "lr_find batch_size", "fit patience", "fit clip_norm", "BatchNorm1d momentum",
            "export_onnx sequence_length"}


def cases(table: dict, kinds: dict[type[Exception], dict]) -> list:
    """Every (entry, bad value, exception) of the table: the kinds given, and its own out-of-range value."""
    found = []
    for entry, (name, call, *out_of_range) in table.items():
        for error, values in kinds.items():
            found += [pytest.param(name, call, value, error, id=f"{entry}-{shown}")
                      for shown, value in values.items() if not (value is None and entry in OPTIONAL)]
        if out_of_range:
            found.append(pytest.param(name, call, out_of_range[0], ValueError, id=f"{entry}-out of range"))
    return found


def refused(name: str, call, value: object, error: type[Exception]) -> None:
    world = World()
    before = world.state()
    with pytest.raises(Exception) as raised:  # the exact type is asserted below, with the message
        call(world, value)
    assert type(raised.value) is error, f"{type(raised.value).__name__}: {raised.value}"
    assert name in str(raised.value)
    assert world.state() == before  # the model, its gradients, its mode and the optimizer are as they were


@pytest.mark.parametrize(
    ("name", "call", "value", "error"),
    cases(REALS, {TypeError: {**NOT_A_NUMBER, **A_BOOL}, ValueError: NOT_FINITE}),
)
def test_a_bad_real_number_raises_one_type_per_kind_naming_the_argument(name, call, value, error):
    refused(name, call, value, error)


@pytest.mark.parametrize(
    ("name", "call", "value", "error"),
    cases(INTS, {TypeError: {**NOT_A_NUMBER, **A_BOOL, **NOT_AN_INT, "NaN": math.nan}, ValueError: {"10**400": HUGE}}),
)
def test_a_bad_int_raises_one_type_per_kind_naming_the_argument(name, call, value, error):
    refused(name, call, value, error)


@pytest.mark.parametrize(("name", "call", "value", "error"), cases(FLAGS, {TypeError: NOT_A_FLAG}))
def test_a_flag_that_is_not_true_or_false_is_a_type_error_naming_it(name, call, value, error):
    refused(name, call, value, error)


@pytest.mark.parametrize("value", [1.5, "0", True, None], ids=["1.5", "'0'", "True", "None"])
@pytest.mark.parametrize("entry", sorted(SEEDS))
def test_a_seed_that_is_not_an_int_is_a_type_error(entry, value):
    if value is None and entry == "MLP seed":
        return  # MLP(seed=None) draws fresh weights, as documented
    refused("seed", SEEDS[entry], value, TypeError)


def test_a_numpy_int_counts_as_an_int_and_saves_as_one(tmp_path):
    np = pytest.importorskip("numpy")
    model = MLP(np.int64(2), [np.int64(3), np.int64(1)], seed=0)
    assert type(model.layers[0].nin) is int
    nn.save(model, tmp_path / "m.json")  # json.dumps refuses a NumPy int: the sizes were made Python ints
    assert nn.load(tmp_path / "m.json").state_dict() == model.state_dict()
    history = nn.fit(model, X, Y, nn.mse_loss, SGD(model.parameters(), 0.1), epochs=np.int64(2),
                     batch_size=np.int64(2), progress=False)
    assert len(history.loss) == 2


@pytest.mark.parametrize("compile_", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("where", ["input", "target"])
def test_fit_refuses_an_int_too_large_for_a_float_in_the_data_alike_compiled_or_not(compile_, where):
    world = World()
    before = world.state()
    X_bad, Y_bad = [list(x) for x in X], list(Y)
    if where == "input":
        X_bad[1][0] = HUGE
    else:
        Y_bad[1] = HUGE
    words = f"{where}.* too large for a float|{where} 1 must be a finite number"
    with pytest.raises(ValueError, match=words) as raised:
        nn.fit(world.model, X_bad, Y_bad, nn.mse_loss, world.optimizer, epochs=1, progress=False, compile=compile_)
    assert "10**400" not in str(raised.value) and "an int of about 1e+400" in str(raised.value)
    assert world.state() == before


# ---- numbers inside data: a model file and a state dict ---------------------------------------------------


@pytest.mark.parametrize(
    "bad", ['"3"', "3.5", "true", "1e999", "-1", "1" + "0" * 400, "null"],
    ids=["a str", "3.5", "true", "1e999", "-1", "10**400", "null"],
)
@pytest.mark.parametrize("version", ["MLP file", "Sequential file"])
def test_a_bad_number_in_a_model_file_is_a_value_error_naming_the_field(tmp_path, bad, version):
    model = MLP(2, [3, 1], seed=0) if version == "MLP file" else nn.Sequential(Layer(2, 3, seed=0), Layer(3, 1, seed=0))
    path = tmp_path / "m.json"
    nn.save(model, path)
    doc = json.loads(path.read_text())
    config = doc["config"] if version == "MLP file" else doc["model"]["parts"][0]["config"]
    config["nin"] = "__BAD__"
    path.write_text(json.dumps(doc).replace('"__BAD__"', bad))
    before = path.read_bytes()
    with pytest.raises(ValueError, match="not a valid chainrule model file") as raised:
        nn.load(path)
    assert "nin" in str(raised.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "bad", ["0.5", None, True, 1j, math.nan, math.inf, HUGE],
    ids=["a str", "None", "True", "complex", "NaN", "inf", "10**400"],
)
def test_a_bad_number_in_a_state_dict_is_a_value_error_naming_the_key(bad):
    world = World()
    before = world.state()
    state = world.model.state_dict()
    state["layers.1.bias"] = [bad]
    with pytest.raises(ValueError, match=r"'layers.1.bias'\[0\] must be a finite real number"):
        world.model.load_state_dict(state)
    assert world.state() == before


def test_every_kind_reads_the_same_through_the_engine_values_a_model_is_given():
    """A Value the user made already holds a float; the model's errors are for what it converts itself."""
    model = MLP(2, [1], seed=0)
    assert isinstance(model([Value(0.5), 2]), Value)
    with pytest.raises(ValueError, match="MLP input 1 is too large for a float"):
        model([0.5, HUGE])
    with pytest.raises(TypeError, match="MLP input 1 must be a number or a Value, got str"):
        model([0.5, "2"])


def test_accuracy_names_a_target_that_is_not_a_number():
    with pytest.raises(TypeError, match="accuracy: target 1 must be a number, got str: '1'"):
        nn.accuracy([0.5, -0.5], [1, "1"])
    assert nn.accuracy([0.5, -0.5], [True, False]) == 1.0  # a bool label is a 0/1 label
