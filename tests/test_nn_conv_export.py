"""A CNN with batch normalisation to PyTorch and back, to an ONNX file, to a model file, and through fit(compile=True).

The model uses every new module (Conv1d alone, as it takes another input shape): the PyTorch
network computes the same outputs (float64, within 1e-9), from_torch gives back the same
state, onnxruntime runs the exported file within 1e-9, nn.load gives back the same model.
"""

from __future__ import annotations

import random

import pytest

import nn
from autograd import no_grad
from nn import (
    SGD,
    AvgPool2d,
    BatchNorm1d,
    Conv1d,
    Conv2d,
    Flatten,
    Layer,
    MaxPool2d,
    Sequential,
    cross_entropy,
    fit,
)

pytestmark = pytest.mark.nn

TOL = {"rel": 1e-9, "abs": 1e-12}


def cnn() -> Sequential:
    model = Sequential(Conv2d(1, 3, 3, padding=1, activation="relu", seed=0), MaxPool2d(2),
                       Conv2d(3, 2, (2, 1), stride=(1, 2), seed=1), AvgPool2d((2, 1), stride=1), Flatten(),
                       Layer(4, 5, "tanh", seed=2), BatchNorm1d(5), Layer(5, 3, "linear", seed=3))
    rng = random.Random(0)
    for _ in range(3):  # running statistics away from 0 and 1
        model.forward_batch(images(4, rng))
    return model


def images(n: int, rng: random.Random, size: int = 6) -> list:
    return [[[[rng.uniform(0, 1) for _ in range(size)] for _ in range(size)]] for _ in range(n)]


def outputs(model, xs) -> list[float]:
    with no_grad():
        return [v.data for o in model.forward_batch(xs) for v in o]


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_to_torch_computes_the_same_and_from_torch_gives_the_state_back(torch, mode):
    model = cnn().train(mode == "train")
    net = nn.to_torch(model)
    xs = images(5, random.Random(1))
    theirs = net(torch.tensor(xs)).flatten().tolist()
    assert outputs(model, xs) == pytest.approx(theirs, **TOL)  # (training mode: one more batch tracked on both)
    back = nn.from_torch(net)
    assert repr(back) == repr(model)
    assert _same(back.state_dict(), model.state_dict())


def _same(a: dict, b: dict) -> bool:
    def flat(x):
        return [v for i in x for v in flat(i)] if isinstance(x, list) else [x]
    return list(a) == list(b) and all(flat(a[k]) == pytest.approx(flat(b[k]), **TOL) for k in a)


def test_conv1d_to_torch_and_back(torch):
    conv = Conv1d(2, 3, 3, stride=2, padding=1, activation="sigmoid", seed=0)
    net = nn.to_torch(conv)
    x = [[random.Random(i).uniform(-1, 1) for _ in range(7)] for i in range(2)]
    assert [v.data for o in conv(x) for v in o] == pytest.approx(net(torch.tensor([x])).flatten().tolist(), **TOL)
    assert _same(nn.from_torch(net).state_dict(), conv.state_dict())


def test_onnx_file_runs_in_onnxruntime_as_the_model_in_eval_mode(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    np = pytest.importorskip("numpy")
    model = cnn().eval()
    path = tmp_path / "cnn.onnx"
    nn.export_onnx(model, path, input_shape=(1, 6, 6))
    xs = images(4, random.Random(2))
    session = onnxruntime.InferenceSession(str(path))
    theirs = session.run(None, {"input": np.array(xs, dtype=np.float64)})[0]
    assert outputs(model, xs) == pytest.approx(theirs.flatten().tolist(), **TOL)


def test_save_and_load_keep_every_module_and_buffer(tmp_path):
    model = cnn()
    nn.save(model, tmp_path / "cnn.json")
    back = nn.load(tmp_path / "cnn.json")
    assert repr(back) == repr(model) and back.state_dict() == model.state_dict()


def test_fit_with_compile_trains_as_fit_without(torch):
    rng = random.Random(3)
    xs, ys = images(12, rng), [rng.randrange(3) for _ in range(12)]
    eager, compiled = cnn(), cnn()
    for model, flag in ((eager, False), (compiled, True)):
        fit(model, xs, ys, cross_entropy, SGD(model.parameters(), lr=0.1), epochs=3, batch_size=4,
            progress=False, compile=flag)
    assert _same(compiled.state_dict(), eager.state_dict())


def test_fit_with_compile_trains_a_conv1d_and_batch_norm_over_positions_as_fit_without():
    rng = random.Random(7)
    xs = [[[rng.uniform(-1, 1) for _ in range(5)] for _ in range(2)] for _ in range(10)]
    ys = [rng.randrange(2) for _ in range(10)]
    models = []
    for flag in (False, True):
        model = Sequential(Conv1d(2, 3, 2, seed=0), BatchNorm1d(3, momentum=None), Flatten(),
                           Layer(12, 2, "linear", seed=1))
        fit(model, xs, ys, cross_entropy, SGD(model.parameters(), lr=0.1), epochs=3, batch_size=4,
            progress=False, compile=flag)  # batches of 4, 4 and 2: the short last one too
        models.append(model)
    assert models[1][1].num_batches_tracked.data == 9
    assert _same(models[1].state_dict(), models[0].state_dict())


def test_diagnostics_record_statistics_per_convolution_and_batch_norm():
    rng = random.Random(4)
    xs, ys = images(8, rng), [rng.randrange(3) for _ in range(8)]
    model = cnn()
    history = fit(model, xs, ys, cross_entropy, SGD(model.parameters(), lr=0.1), epochs=2, batch_size=4,
                  progress=False, diagnostics=True)
    assert history.layer_names == ["layer 0 (Conv2d, relu, 3 channels)", "layer 1 (Conv2d, linear, 2 channels)",
                                   "layer 2 (tanh, 5 units)", "layer 3 (BatchNorm1d, linear, 5 features)",
                                   "layer 4 (linear, 3 units)"]
    first = history.layer_stats[-1][0]
    assert first["grad_norm"] > 0 and 0.0 <= first["dead_fraction"] <= 1.0
    assert len(history.last_activations[0]) == 8 * 3 * 6 * 6  # every sample's channels at every position


def test_diagnostics_give_every_statistic_for_a_conv1d_and_its_batch_norm_over_channels_and_positions():
    from nn.training.diagnostics import STATS

    rng = random.Random(6)
    xs = [[[rng.uniform(-1, 1) for _ in range(6)] for _ in range(2)] for _ in range(8)]
    ys = [rng.randrange(2) for _ in range(8)]
    model = Sequential(Conv1d(2, 3, 3, padding=1, activation="relu", seed=0), BatchNorm1d(3), Flatten(),
                       Layer(18, 2, "linear", seed=1))
    history = fit(model, xs, ys, cross_entropy, SGD(model.parameters(), lr=0.1), epochs=2, batch_size=4,
                  progress=False, diagnostics=True)
    assert history.layer_names == ["layer 0 (Conv1d, relu, 3 channels)", "layer 1 (BatchNorm1d, linear, 3 features)",
                                   "layer 2 (linear, 2 units)"]
    for epoch in history.layer_stats:
        for stats in epoch:
            assert sorted(stats) == sorted(STATS) and stats["grad_norm"] > 0 and stats["update_ratio"] > 0
    conv, norm, _ = history.layer_stats[-1]
    assert 0.0 <= conv["dead_fraction"] < 1.0 and conv["activation_mean"] > 0  # relu: nothing below 0
    # in training a batch norm's outputs have, channel by channel, the batch's mean 0 and std 1 (weight 1, bias 0 at
    # first, moved a little by the steps)
    assert abs(norm["activation_mean"]) < 0.05 and abs(norm["activation_std"] - 1.0) < 0.05


def test_a_small_cnn_reads_the_digits_far_better_than_chance():
    X, y = nn.load_digits()
    images_ = [[[x[r * 8:(r + 1) * 8] for r in range(8)]] for x in X]
    X_train, y_train, X_test, y_test = nn.train_test_split(images_[:700], y[:700], test_fraction=0.3, seed=0)
    model = Sequential(Conv2d(1, 4, 3, activation="relu", seed=0), MaxPool2d(2), Flatten(),
                       Layer(36, 10, "linear", seed=1))
    fit(model, X_train, y_train, cross_entropy, nn.Adam(model.parameters(), lr=0.02), epochs=2, batch_size=32,
        progress=False, compile=True)
    loss, accuracy = nn.evaluate(model, X_test, y_test, cross_entropy)
    assert accuracy > 0.7  # chance is 0.1


def test_conv1d_onnx_file_runs_in_onnxruntime(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    np = pytest.importorskip("numpy")
    model = Sequential(Conv1d(2, 3, 3, stride=2, padding=1, activation="tanh", seed=0), Flatten(),
                       Layer(12, 2, "linear", seed=1))
    nn.export_onnx(model, tmp_path / "conv1d.onnx", input_shape=(2, 7))
    rng = random.Random(5)
    xs = [[[rng.uniform(-1, 1) for _ in range(7)] for _ in range(2)] for _ in range(3)]
    theirs = onnxruntime.InferenceSession(str(tmp_path / "conv1d.onnx")).run(None, {"input": np.array(xs)})[0]
    assert outputs(model, xs) == pytest.approx(theirs.flatten().tolist(), **TOL)


def test_a_convolution_without_input_shape_is_refused_by_export_onnx(tmp_path):
    pytest.importorskip("onnx")
    with pytest.raises(ValueError, match="input_shape="):
        nn.export_onnx(Sequential(Conv2d(1, 2, 3), Flatten()), tmp_path / "cnn.onnx")
