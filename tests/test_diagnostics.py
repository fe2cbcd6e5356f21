"""fit(..., diagnostics=True): statistics per layer that say why a network does not learn.

Each statistic is pinned down where its answer is known: a layer killed by biases of -100 is all
dead and gets no gradient; tanh with weights x50 is saturated; and every number of a tiny model's
statistics is worked out by hand from its gradients, its parameters and its outputs.
"""

from __future__ import annotations

import copy
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

import nn.live
from autograd import Value
from nn import (
    MLP,
    SGD,
    Adam,
    Dropout,
    Layer,
    LivePlot,
    Module,
    Neuron,
    TrainingRun,
    fit,
    hinge_loss,
    make_moons,
    mse_loss,
    plot_diagnostics,
)
from nn.diagnostics import DIAGNOSTICS_PANELS, STATS, draw_layer_stat
from nn.live import default_panels

pytestmark = pytest.mark.diagnostics

PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def moons(n=40):
    return make_moons(n=n, noise=0.1, seed=0)


def weights(model) -> list[float]:
    return [p.data for p in model.parameters()]


def train(model, epochs=3, optimizer=None, **kwargs):
    X, y = moons()
    optimizer = optimizer or SGD(model.parameters(), lr=0.05)
    return fit(model, X, y, hinge_loss, optimizer, epochs=epochs, progress=False, diagnostics=True, **kwargs)


# ---- what is recorded -----------------------------------------------------------------------------------


def test_one_dict_per_layer_per_epoch_with_the_six_statistics():
    history = train(MLP(2, [6, 5, 1], seed=0), epochs=4)
    assert len(history.layer_stats) == history.epochs == 4
    for epoch in history.layer_stats:
        assert len(epoch) == 3
        assert all(list(stats) == list(STATS) for stats in epoch)
        assert all(isinstance(v, float) and math.isfinite(v) for stats in epoch for v in stats.values())
    assert STATS == ("grad_norm", "update_ratio", "dead_fraction", "saturated_fraction",
                     "activation_mean", "activation_std")
    assert history.layer_names == ["layer 0 (relu, 6 units)", "layer 1 (relu, 5 units)", "layer 2 (linear, 1 unit)"]


def test_without_diagnostics_nothing_is_recorded():
    X, y = moons()
    model = MLP(2, [4, 1], seed=0)
    history = fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.05), epochs=2, progress=False)
    assert history.layer_stats == [] and history.layer_names == [] and history.last_activations == []


def test_recording_does_not_change_training():
    X, y = moons()
    plain, recorded = MLP(2, [6, 6, 1], dropout=0.2, seed=3), MLP(2, [6, 6, 1], dropout=0.2, seed=3)
    h1 = fit(plain, X, y, hinge_loss, Adam(plain.parameters(), lr=0.02), epochs=3, batch_size=8, progress=False)
    h2 = fit(recorded, X, y, hinge_loss, Adam(recorded.parameters(), lr=0.02), epochs=3, batch_size=8,
             progress=False, diagnostics=True)
    assert weights(plain) == weights(recorded)
    assert h1.loss == h2.loss


def test_a_first_layer_with_biases_of_minus_100_is_all_dead_and_gets_no_gradient():
    model = MLP(2, [8, 8, 1], seed=0)
    for neuron in model.layers[0].neurons:
        neuron.b.data = -100.0  # w . x + b < 0 for every input of size ~1: relu outputs 0, relu' = 0
    history = train(model, epochs=3)
    for epoch in history.layer_stats:
        assert epoch[0]["dead_fraction"] == 1.0
        assert epoch[0]["grad_norm"] == 0.0
        assert epoch[0]["update_ratio"] == 0.0  # SGD without decay or momentum: no gradient, no step
        assert epoch[0]["activation_mean"] == epoch[0]["activation_std"] == 0.0
        assert epoch[2]["grad_norm"] > 0.0  # the output layer's bias still learns
    assert history.last_activations[0] == [0.0] * (40 * 8)


def test_a_unit_positive_for_a_single_sample_is_not_dead():
    model = MLP(1, [2, 1], seed=0)
    first, second = model.layers[0].neurons
    first.w[0].data, first.b.data = 1.0, -0.5  # positive only for x = 1
    second.w[0].data, second.b.data = 1.0, -5.0  # never positive on [-1, 1]
    X = [[x / 2] for x in range(-2, 3)]
    history = fit(model, X, [0.0] * 5, mse_loss, SGD(model.parameters(), lr=0.0), epochs=1, progress=False,
                  diagnostics=True)
    assert history.layer_stats[0][0]["dead_fraction"] == 0.5


def test_leaky_relu_units_die_the_same_way():
    model = MLP(2, [8, 1], activation="leaky_relu", seed=0)
    for neuron in model.layers[0].neurons:
        neuron.b.data = -100.0
    assert train(model, epochs=1).layer_stats[0][0]["dead_fraction"] == 1.0


def test_tanh_with_weights_times_50_is_saturated():
    model = MLP(2, [8, 8, 1], activation="tanh", seed=0)
    for layer in model.layers[:-1]:
        for neuron in layer.neurons:
            for w in neuron.w:
                w.data *= 50.0
    history = train(model, epochs=2)
    for epoch in history.layer_stats:
        assert epoch[0]["saturated_fraction"] > 0.9
        assert epoch[1]["saturated_fraction"] > 0.9
        assert epoch[0]["dead_fraction"] == 0.0  # tanh units do not die; they saturate
        assert epoch[2]["saturated_fraction"] == 0.0  # the linear output layer cannot saturate


def test_a_fresh_tanh_network_is_not_saturated():
    history = train(MLP(2, [8, 8, 1], activation="tanh", seed=0), epochs=1)
    assert all(stats["saturated_fraction"] < 0.05 for stats in history.layer_stats[0])


def test_sigmoid_saturates_outside_0_03_to_0_97():
    model = MLP(1, [2, 1], activation="sigmoid", seed=0)
    low, high = model.layers[0].neurons
    low.w[0].data, low.b.data = 0.0, -3.0  # sigmoid(-3) = 0.047: not saturated
    high.w[0].data, high.b.data = 0.0, 4.0  # sigmoid(4) = 0.982: saturated
    X = [[0.0], [1.0]]
    history = fit(model, X, [0.0, 0.0], mse_loss, SGD(model.parameters(), lr=0.0), epochs=1, progress=False,
                  diagnostics=True)
    assert history.layer_stats[0][0]["saturated_fraction"] == 0.5


def test_every_statistic_of_a_tiny_model_equals_a_hand_computation_for_sgd():
    # Two steps per epoch (batches of one sample; both samples are the same point, so the
    # shuffle does not matter), so the averages over the epoch's steps are exercised too.
    x, target, lr = [0.5, -1.5], 1.0, 0.3
    model, by_hand = MLP(2, [3, 2, 1], activation="tanh", seed=4), MLP(2, [3, 2, 1], activation="tanh", seed=4)
    history = fit(model, [x, x], [target, target], mse_loss, SGD(model.parameters(), lr=lr), epochs=2, batch_size=1,
                  progress=False, diagnostics=True)
    optimizer = SGD(by_hand.parameters(), lr=lr)
    for epoch in range(2):
        sums = [dict.fromkeys(("grad_norm", "update_ratio"), 0.0) for _ in by_hand.layers]
        outputs = [[] for _ in by_hand.layers]
        for _ in range(2):
            h = x
            for i, layer in enumerate(by_hand.layers):
                h = layer(h)
                outputs[i] += [v.data for v in h]
            loss = mse_loss([h[0]], [target])
            optimizer.zero_grad()
            loss.backward()
            before = [[p.data for p in layer.parameters()] for layer in by_hand.layers]
            optimizer.step()
            for i, layer in enumerate(by_hand.layers):
                params = layer.parameters()
                sums[i]["grad_norm"] += math.sqrt(sum(p.grad**2 for p in params))
                change = [p.data - b for p, b in zip(params, before[i])]
                sums[i]["update_ratio"] += statistics.pstdev(change) / statistics.pstdev(before[i])
        for i, layer in enumerate(by_hand.layers):
            recorded = history.layer_stats[epoch][i]
            assert recorded["grad_norm"] == pytest.approx(sums[i]["grad_norm"] / 2, rel=1e-12)
            assert recorded["update_ratio"] == pytest.approx(sums[i]["update_ratio"] / 2, rel=1e-9)
            # SGD: the change is -lr * grad, so the ratio is lr * std(grad) / std(parameters)
            assert recorded["activation_mean"] == pytest.approx(statistics.fmean(outputs[i]), rel=1e-12)
            assert recorded["activation_std"] == pytest.approx(statistics.pstdev(outputs[i]), rel=1e-12)
            saturated = sum(abs(v) > 0.97 for v in outputs[i]) / len(outputs[i]) if layer.activation == "tanh" else 0.0
            assert recorded["saturated_fraction"] == saturated
    assert weights(model) == weights(by_hand)


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    lambda ps: Adam(ps, lr=0.01),
    lambda ps: nn.RMSprop(ps, lr=0.01),
])
def test_the_update_ratio_is_measured_for_every_optimizer(make):
    model = MLP(2, [6, 1], seed=0)
    history = train(model, epochs=2, optimizer=make(model.parameters()))
    ratios = [stats["update_ratio"] for epoch in history.layer_stats for stats in epoch]
    assert all(1e-5 < r < 1 for r in ratios)


def test_the_gradient_norm_is_read_before_clipping():
    X, y = moons()
    clipped, free = MLP(2, [6, 1], seed=0), MLP(2, [6, 1], seed=0)
    h1 = fit(clipped, X, y, hinge_loss, SGD(clipped.parameters(), lr=0.05), epochs=1, progress=False,
             diagnostics=True, clip_norm=1e-6)
    h2 = fit(free, X, y, hinge_loss, SGD(free.parameters(), lr=0.05), epochs=1, progress=False, diagnostics=True)
    assert h1.layer_stats[0][0]["grad_norm"] == h2.layer_stats[0][0]["grad_norm"] > 1e-3
    assert h1.layer_stats[0][0]["update_ratio"] < h2.layer_stats[0][0]["update_ratio"] / 100


def test_only_the_optimizer_step_counts_as_an_update_not_a_callback_between_epochs():
    model = MLP(2, [4, 1], seed=0)

    def scale_weights(epoch, logs):
        for p in model.parameters():
            p.data *= 10.0

    history = train(model, epochs=2, optimizer=SGD(model.parameters(), lr=0.0), callbacks=[scale_weights])
    assert [stats["update_ratio"] for epoch in history.layer_stats for stats in epoch] == [0.0] * 4


def test_a_zero_initialised_layer_has_an_infinite_update_ratio_not_a_zero_division(tmp_path):
    # the zero-initialisation lesson: every parameter equal, no spread to measure a step against
    model = MLP(2, [4, 1], activation="tanh", seed=0)
    for p in model.parameters():
        p.data = 0.0
    history = train(model, epochs=2, optimizer=SGD(model.parameters(), lr=0.1))
    first, second = history.layer_stats
    assert first[1]["update_ratio"] == math.inf  # the output layer's weights moved apart from 0
    assert first[0]["update_ratio"] == 0.0  # tanh'(0) * 0 weights: no gradient reaches layer 0, no step
    assert math.isfinite(second[1]["update_ratio"]) and second[1]["update_ratio"] > 0.0  # now they differ
    fig = plot_diagnostics(history, tmp_path / "zero.png")  # inf is marked on the top edge, not an error
    ratio = next(ax for ax in fig.get_axes() if ax.get_title().startswith("update"))
    assert "^ on the top edge: infinite" in ratio.get_legend_handles_labels()[1]


def test_only_training_samples_are_recorded_not_validation():
    X, y = moons()
    model = MLP(2, [5, 1], seed=0)
    history = fit(model, X[:30], y[:30], hinge_loss, SGD(model.parameters(), lr=0.05), epochs=2,
                  validation=(X[30:], y[30:]), progress=False, diagnostics=True)
    assert [len(a) for a in history.last_activations] == [30 * 5, 30 * 1]


def test_early_stopping_records_the_epochs_that_ran():
    X, y = moons()
    model = MLP(2, [5, 1], seed=0)
    history = fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.05), epochs=10, progress=False,
                  diagnostics=True, callbacks=[lambda epoch, logs: epoch == 2])
    assert history.epochs == len(history.layer_stats) == 3


# ---- which models ----------------------------------------------------------------------------------------


class TwoLayers(Module):
    """A Module of one's own: its layers are attributes, called as modules."""

    def __init__(self):
        self.hidden = Layer(2, 4, activation="tanh", seed=0)
        self.drop = Dropout(0.1, seed=0)
        self.out = Layer(4, 1, activation="linear", seed=1)

    def forward(self, x):
        return self.out(self.drop(self.hidden(x)))[0]


def test_any_module_made_of_layers_is_recorded_in_attribute_order():
    history = train(TwoLayers(), epochs=2)
    assert history.layer_names == ["layer 0 (tanh, 4 units)", "layer 1 (linear, 1 unit)"]
    assert [len(a) for a in history.last_activations] == [40 * 4, 40]


def test_a_model_without_layers_is_refused_and_left_as_it_was():
    model = Neuron(2, seed=0)
    before = weights(model)
    X, y = moons()
    with pytest.raises(ValueError, match=r"statistics per nn.Layer, and the model \(Neuron\) has none"):
        fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.1), epochs=1, progress=False, diagnostics=True)
    assert weights(model) == before


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_diagnostics_must_be_a_bool(bad):
    model = MLP(2, [3, 1], seed=0)
    before = weights(model)
    X, y = moons()
    with pytest.raises(TypeError, match=f"fit: diagnostics must be True or False, got {type(bad).__name__}"):
        fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.1), epochs=1, progress=False, diagnostics=bad)
    assert weights(model) == before


def test_the_layers_are_put_back_after_training_and_after_an_error():
    model = MLP(2, [4, 1], seed=0)
    train(model, epochs=1)
    assert all("_value_forward" not in vars(layer) for layer in model.layers)
    X, y = moons()
    with pytest.raises(TypeError, match="loss_fn must return a Value"):
        fit(model, X, y, lambda out, t: 1.0, SGD(model.parameters(), lr=0.1), epochs=1, progress=False,
            diagnostics=True)
    assert all("_value_forward" not in vars(layer) for layer in model.layers)


def test_a_deep_copy_made_during_training_computes_with_its_own_weights():
    model = MLP(2, [4, 1], seed=0)
    copies = []
    train(model, epochs=2, callbacks=[lambda epoch, logs: copies.append(copy.deepcopy(model)) if epoch == 0 else None])
    snapshot = copies[0]
    fresh = MLP(2, [4, 1], seed=1)
    fresh.load_state_dict(snapshot.state_dict())
    x = [Value(0.3), Value(-0.7)]
    assert snapshot(x).data == fresh(x).data != model(x).data


# ---- pictures --------------------------------------------------------------------------------------------


def test_plot_diagnostics_draws_every_statistic_and_a_histogram_per_layer(tmp_path):
    history = train(MLP(2, [6, 5, 1], seed=0), epochs=3)
    path = tmp_path / "diagnostics.png"
    fig = plot_diagnostics(history, path)
    png = path.read_bytes()
    assert png[:8] == PNG_HEADER
    assert int.from_bytes(png[16:20], "big") == 2 * fig.get_figwidth() * fig.dpi  # sharp on high-density screens
    titles = [ax.get_title() for ax in fig.get_axes() if ax.get_visible()]
    assert len(titles) == 6 + 3  # six statistics, three histograms
    ratio = next(ax for ax in fig.get_axes() if ax.get_title().startswith("update"))
    assert ratio.get_yscale() == "log"
    assert any(list(line.get_ydata()) == [1e-3, 1e-3] for line in ratio.get_lines())  # the guide line


def test_a_history_prints_without_the_thousands_of_recorded_outputs():
    history = train(MLP(2, [6, 1], seed=0), epochs=1)
    assert len(history.last_activations[0]) == 240 and "last_activations" not in repr(history)


def test_draw_layer_stat_names_an_unknown_statistic():
    from matplotlib.figure import Figure

    history = train(MLP(2, [3, 1], seed=0), epochs=1)
    with pytest.raises(ValueError, match="key must be one of grad_norm, .*activation_std, got 'gradient'"):
        draw_layer_stat(Figure().add_subplot(), history, "gradient")


def test_plot_diagnostics_needs_a_history_with_layer_statistics():
    X, y = moons()
    model = MLP(2, [3, 1], seed=0)
    history = fit(model, X, y, hinge_loss, SGD(model.parameters(), lr=0.1), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"fit\(\.\.\., diagnostics=True\)"):
        plot_diagnostics(history)
    with pytest.raises(TypeError, match="history must be the History that fit returns, got list"):
        plot_diagnostics([])


def test_the_live_view_shows_the_diagnostics_panels_when_fit_records_them():
    X, y = moons()
    model = MLP(2, [5, 1], seed=0)
    optimizer = SGD(model.parameters(), lr=0.05)
    history = fit(model, X, y, hinge_loss, optimizer, epochs=2, progress=False, diagnostics=True)
    run = TrainingRun(model, X, y, hinge_loss, optimizer, 2, history)
    panels = default_panels(run)
    assert panels[-3:] == list(DIAGNOSTICS_PANELS) and len(panels) == 6
    assert LivePlot().render(run)[:8] == PNG_HEADER


def test_fit_live_with_diagnostics_draws_them_in_the_notebook(monkeypatch):
    shown, drawn = [], []
    monkeypatch.setattr("autograd.draw.jupyter.in_jupyter_kernel", lambda: True)
    monkeypatch.setattr(nn.live, "_publish", lambda data, metadata, handle: shown.append(data) or "handle")
    original = nn.live.LivePlot.render

    def render(self, run, density=2):
        drawn.append([panel.__name__ for panel in default_panels(run)])
        return original(self, run, density)

    monkeypatch.setattr(nn.live.LivePlot, "render", render)
    train(MLP(2, [5, 1], seed=0), epochs=2, live=LivePlot(interval=0))
    assert len(shown) == len(drawn) == 3  # epoch 1, epoch 2, the final picture
    assert all(names[-3:] == ["grad_norm_panel", "update_ratio_panel", "units_panel"] for names in drawn)


# ---- the cost benchmark does not rot ---------------------------------------------------------------------


@pytest.mark.bench
def test_the_cost_benchmark_runs_in_quick_mode():
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "diagnostics_cost.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("| MLP(") == 4 and "diagnostics cost at most 30% more per epoch" in done.stdout
