"""Why a network does not learn: statistics per layer while `fit` trains, and their picture.

`fit(..., diagnostics=True)` records, for every epoch and every `nn.Layer` of the model, the
numbers practitioners watch, in `history.layer_stats[epoch][layer]` (a dict):

- `grad_norm`: sqrt(sum of g^2) over the layer's parameters (weights and biases), as backward
  computed them (before `clip_norm` scales them), averaged over the epoch's steps. 0 means no
  gradient reaches the layer: it cannot learn.
- `update_ratio`: std(the change the optimizer step made to the layer's parameters) / std(the
  parameters before the step), averaged over the steps. It reads the parameters before and after
  `optimizer.step()`, so it works for every optimizer. Healthy training sits near 1e-3 (a rule of
  thumb from Karpathy's CS231n notes): far below, the layer barely moves; far above, every step
  throws it around. A layer whose parameters were all equal before a step (all zero, say) has no
  spread to compare with: a step that moves them unevenly counts as inf, one that moves them all
  alike as 0.
- `dead_fraction`: the share of the layer's relu / leaky_relu units whose pre-activation was
  <= 0 for every sample of the epoch. Such a unit outputs a constant and passes no gradient
  back (relu'(s) = 0 for s <= 0): it is dead. 0 for other activations.
- `saturated_fraction`: the share of (unit, sample) pairs where tanh is beyond +-0.97, or sigmoid
  outside [0.03, 0.97]. There the local derivative is tiny (1 - 0.97^2 = 0.06 for tanh,
  0.97 * 0.03 = 0.03 for sigmoid, against 1 and 0.25 at 0), so the gradient fades. 0 for others.
- `activation_mean`, `activation_std`: of the layer's outputs (after its activation) over all
  (unit, sample) pairs of the epoch.

The layers are the `nn.Layer`, `Conv1d`, `Conv2d` and `BatchNorm1d` modules of the model (a
convolution's units are its output channels at each position), in the order `model.modules()` lists them
(for an MLP: `model.layers`; for a Module of your own: the order its attributes were set). A layer
called more than once per sample (shared weights) counts every call as a sample. An epoch in which
a layer was never called records NaN for its unit statistics.

`plot_diagnostics(history)` draws all of it as one figure; with `fit(live=True, diagnostics=True)`
the live view shows the gradient norm, the update ratio and the dead or saturated units as well.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from itertools import repeat
from operator import attrgetter, sub
from typing import Any

from autograd import Value, is_grad_enabled
from nn.modules.activations import TABLE
from nn.modules.batchnorm import BatchNorm1d
from nn.modules.conv import Conv1d, Conv2d
from nn.modules.layers import Layer
from nn.modules.module import Module, RemovableHandle
from nn.training.callbacks import Callback, History, TrainingRun

STATS = ("grad_norm", "update_ratio", "dead_fraction", "saturated_fraction", "activation_mean", "activation_std")
HEALTHY_UPDATE_RATIO = 1e-3  # the guide line of the update-ratio plots
SATURATED_TANH = TABLE["tanh"].healthy[1]  # |tanh| beyond it is saturated (nn.modules.activations says why)
SATURATED_SIGMOID = TABLE["sigmoid"].healthy  # sigmoid outside it is saturated
_DATA, _GRAD = attrgetter("data"), attrgetter("grad")


def diagnosed_layers(model: Module) -> list[Layer]:
    """The layers `fit(..., diagnostics=True)` records, in order; a ValueError when the model has none."""
    if not isinstance(model, Module):
        raise TypeError(f"diagnostics need an nn.Module, got {type(model).__name__}")
    layers = [m for m in model.modules() if isinstance(m, (Layer, Conv1d, Conv2d, BatchNorm1d))]
    if not layers:
        raise ValueError(
            f"diagnostics record statistics per nn.Layer, and the model ({type(model).__name__}) has none; "
            "build it from nn.Layer modules (an MLP, or a Module with Layer attributes)"
        )
    return layers


def layer_name(index: int, layer: Layer) -> str:
    """How pictures name a layer: 'layer 0 (relu, 16 units)'."""
    if not isinstance(layer, Layer):  # a convolution or a batch normalisation
        what = f"{layer.out_channels} channels" if hasattr(layer, "out_channels") else f"{layer.num_features} features"
        return f"layer {index} ({type(layer).__name__}, {_activation_of(layer)}, {what})"
    return f"layer {index} ({layer.activation}, {layer.nout} unit{'s' if layer.nout != 1 else ''})"


def _activation_of(layer: Module) -> str:
    return getattr(layer, "activation", "linear")  # BatchNorm1d has none


class _Recording:
    """A forward hook on one Layer while fit records: keeps the numbers of every output it gives.

    A hook sees every call of the layer, whoever makes it (`MLP.forward`, or a Module of your
    own calling `layer(x)`). Calls under `no_grad` (validation, the live view's pictures) are not
    training and are not recorded. A copy of the model made during training (a callback keeping
    the best model) does not take the hook along: it belongs to this run.
    """

    __slots__ = ("rows",)
    copied_with_module = False

    def __init__(self) -> None:
        self.rows: list[list[float]] | None = None  # None: not recording (between epochs)

    def __call__(self, layer: Module, inputs: tuple, outputs: list[Value]) -> None:
        if self.rows is not None and is_grad_enabled():
            self.rows.append(list(map(_DATA, _flat(outputs))))


def _flat(outputs: list) -> list[Value]:
    """A layer's outputs, or a convolution's channels of positions, as one list."""
    return [v for item in outputs for v in _flat(item)] if isinstance(outputs, list) else [outputs]


class LayerStatsRecorder:
    """What `fit(..., diagnostics=True)` uses: it measures every step and sums up every epoch.

    fit calls, in this order: `start()` once; per epoch `begin_epoch()`, then per step
    `before_step()` (after backward, before clipping) and `after_step()` (after the optimizer step),
    then `end_epoch(history)`, which appends the epoch's statistics; `stop()` at the end, always
    (it removes its hooks from the layers).
    """

    def __init__(self, model: Module) -> None:
        self.layers = diagnosed_layers(model)
        self.names = [layer_name(i, layer) for i, layer in enumerate(self.layers)]
        self._params = [layer.parameters() for layer in self.layers]
        self._recordings = [_Recording() for _ in self.layers]
        self._handles: list[RemovableHandle] = []
        self._before: list[list[float]] = []
        self._reset_sums()

    def _reset_sums(self) -> None:
        self._steps = 0
        self._grad_norms = [0.0] * len(self.layers)
        self._ratios = [0.0] * len(self.layers)

    def start(self) -> None:
        self._handles = [layer.register_forward_hook(rec) for layer, rec in zip(self.layers, self._recordings)]

    def stop(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        for recording in self._recordings:
            recording.rows = None

    def begin_epoch(self) -> None:
        self._reset_sums()
        for recording in self._recordings:
            recording.rows = []
        # the parameters before the epoch's first step (a callback may have changed them since the last)
        self._before = [list(map(_DATA, params)) for params in self._params]

    def before_step(self) -> None:
        for i, params in enumerate(self._params):
            self._grad_norms[i] += math.hypot(*map(_GRAD, params))  # hypot: no overflow on the squares

    def after_step(self) -> None:
        for i, (params, before) in enumerate(zip(self._params, self._before)):
            after = list(map(_DATA, params))
            change = _std(list(map(sub, after, before)))
            spread = _std(before)
            # parameters all equal (zero-initialised, say) have no spread: any uneven change is infinitely large
            self._ratios[i] += 0.0 if change == 0.0 else change / spread if spread > 0.0 else math.inf
            self._before[i] = after  # within an epoch nothing but the optimizer changes the parameters
        self._steps += 1

    def end_epoch(self, history: History) -> None:
        steps = self._steps or math.nan
        stats, activations = [], []
        for i, (layer, recording) in enumerate(zip(self.layers, self._recordings)):
            rows, recording.rows = recording.rows or [], None
            flat = [v for row in rows for v in row]
            stats.append({
                "grad_norm": self._grad_norms[i] / steps,
                "update_ratio": self._ratios[i] / steps,
                "dead_fraction": _dead_fraction(_activation_of(layer), rows),
                "saturated_fraction": _saturated_fraction(_activation_of(layer), flat),
                "activation_mean": _mean(flat),
                "activation_std": _std(flat),
            })
            activations.append(flat)
        history.layer_stats.append(stats)
        history.layer_names = list(self.names)
        history.last_activations = activations


class LayerStatistics(Callback):
    """What `fit(..., diagnostics=True)` adds to the callbacks: a LayerStatsRecorder told of every event."""

    def __init__(self, model: Module) -> None:
        self.recorder = LayerStatsRecorder(model)

    def on_train_begin(self, run: TrainingRun) -> None:
        self.recorder.start()

    def on_epoch_begin(self, run: TrainingRun) -> None:
        self.recorder.begin_epoch()

    def on_batch_end(self, run: TrainingRun) -> None:
        self.recorder.before_step()

    def on_step_end(self, run: TrainingRun) -> None:
        self.recorder.after_step()

    def on_epoch_end(self, run: TrainingRun, logs: dict[str, float]) -> None:
        self.recorder.end_epoch(run.history)

    def on_train_end(self, run: TrainingRun) -> None:
        self.recorder.stop()


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def _std(xs: Sequence[float]) -> float:
    """The population standard deviation (1/n): a ratio of two of them is the same with 1/(n-1)."""
    if not xs:
        return math.nan
    m = sum(xs) / len(xs)
    return math.hypot(*map(sub, xs, repeat(m))) / math.sqrt(len(xs))  # hypot: sqrt of the sum of squares, in C


def _dead_fraction(activation: str, rows: list[list[float]]) -> float:
    if not TABLE[activation].dies:
        return 0.0
    if not rows:
        return math.nan
    # relu and leaky_relu (slope > 0) keep the sign of s: an output <= 0 means a pre-activation <= 0
    units = list(zip(*rows))
    return sum(max(unit) <= 0.0 for unit in units) / len(units)


def _saturated_fraction(activation: str, flat: list[float]) -> float:
    healthy = TABLE[activation].healthy
    if healthy is None:
        return 0.0
    low, high = healthy
    return sum(not low <= v <= high for v in flat) / len(flat) if flat else math.nan


# ---- pictures -------------------------------------------------------------------------------------

_TITLES = {
    "grad_norm": "gradient norm per layer",
    "update_ratio": "update / parameter size (std ratio)",
    "dead_fraction": "dead units (relu, leaky_relu)",
    "saturated_fraction": "saturated units (tanh, sigmoid)",
    "activation_mean": "mean of the outputs",
    "activation_std": "std of the outputs",
}
_LOG = ("grad_norm", "update_ratio")
# values a log axis cannot show, marked on its edges instead: (value, marker, legend entry)
_EDGES = ((0.0, "x", "x on the bottom edge: exactly 0"), (math.inf, "^", "^ on the top edge: infinite"))


def _check_history(history: object, who: str) -> History:
    if not isinstance(history, History):
        raise TypeError(f"{who}: history must be the History that fit returns, got {type(history).__name__}")
    if not history.layer_stats:
        raise ValueError(f"{who}: the history has no layer statistics; train with fit(..., diagnostics=True)")
    return history


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    return [colormaps["viridis"](i / (n - 1)) for i in range(n)]


def _names(history: History) -> list[str]:
    n = len(history.layer_stats[0])
    return history.layer_names if len(history.layer_names) == n else [f"layer {i}" for i in range(n)]


def draw_layer_stat(ax: Any, history: History, key: str, legend: bool = True, epochs: int | None = None) -> None:
    """Draw one statistic per layer over the epochs on `ax`: `key` is one of STATS.

    grad_norm and update_ratio are drawn on a log axis, the update ratio with a dotted line at
    1e-3; a value of exactly 0 has no place on a log axis and is marked x on its bottom edge (a
    layer whose value is 0 every epoch also says so in the legend), an infinite one ^ on its top
    edge. The fractions are on 0..1.
    """
    if key not in STATS:
        raise ValueError(f"draw_layer_stat: key must be one of {', '.join(STATS)}, got {key!r}")
    _check_history(history, "draw_layer_stat")
    x = list(range(1, len(history.layer_stats) + 1))
    edges_seen = set()
    for i, (name, colour) in enumerate(zip(_names(history), _colours(len(_names(history))))):
        ys = [epoch[i][key] for epoch in history.layer_stats]
        if key in _LOG:
            for edge, (value, marker, _) in enumerate(_EDGES):
                at = [e for e, v in zip(x, ys) if v == value]
                if at:
                    edges_seen.add(edge)  # x in data, y in axes coordinates: 0 the bottom edge, 1 the top
                    ax.plot(at, [float(edge)] * len(at), marker, color=colour, transform=ax.get_xaxis_transform(),
                            clip_on=False, markersize=5)
            if all(y == 0.0 for y in ys):
                name += ": 0 every epoch"
            ys = [y if 0.0 < y < math.inf else math.nan for y in ys]
        ax.plot(x, ys, color=colour, label=name, marker="o" if len(x) == 1 else None, markersize=3)
    if key in _LOG:
        ax.set_yscale("log")
        _plain_log_labels(ax)
        for edge in sorted(edges_seen):
            _, marker, label = _EDGES[edge]
            ax.plot([], [], marker, color="black", label=label)
    if key == "update_ratio":
        ax.axhline(HEALTHY_UPDATE_RATIO, color="grey", linestyle=":", linewidth=1.2, label="1e-3: healthy")
    if key in ("dead_fraction", "saturated_fraction"):
        ax.set_ylim(-0.03, 1.03)
    ax.set_xlim(1, max(2, epochs or len(x)))
    ax.set_xlabel("epoch")
    ax.set_title(_TITLES[key], fontsize=10)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=7)


def _plain_log_labels(ax: Any) -> None:
    """Tick labels such as 0.2 and 0.001 instead of 2x10^-1 and 10^-3; between the powers of ten
    (at 2, 3 and 5) only while the axis spans less than a factor of 20, else they crowd."""
    from matplotlib.ticker import FuncFormatter

    def minor(value: float, _position: int) -> str:
        low, high = ax.get_ylim()
        mantissa = round(value / 10 ** math.floor(math.log10(value) + 1e-9), 6)
        return f"{value:g}" if high < 20 * low and mantissa in (2, 3, 5) else ""

    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(minor))


def draw_units_off(ax: Any, history: History, epochs: int | None = None) -> None:
    """Dead units (solid) and saturated units (dashed) per layer on one Axes; only the curves that leave 0."""
    _check_history(history, "draw_units_off")
    x = list(range(1, len(history.layer_stats) + 1))
    for i, (name, colour) in enumerate(zip(_names(history), _colours(len(_names(history))))):
        for key, style, what in (("dead_fraction", "-", "dead"), ("saturated_fraction", "--", "saturated")):
            ys = [epoch[i][key] for epoch in history.layer_stats]
            if any(y != 0.0 for y in ys):
                ax.plot(x, ys, style, color=colour, label=f"{name}: {what}", marker="o" if len(x) == 1 else None)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlim(1, max(2, epochs or len(x)))
    ax.set_xlabel("epoch")
    ax.set_title("dead (—) and saturated (- -) units", fontsize=10)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no dead or saturated units", transform=ax.transAxes, ha="center", va="center")


def draw_activation_histogram(ax: Any, history: History, index: int) -> None:
    """The histogram of layer `index`'s outputs over the last epoch (every unit and sample)."""
    _check_history(history, "draw_activation_histogram")
    name = _names(history)[index]
    values = [v for v in history.last_activations[index] if math.isfinite(v)] if history.last_activations else []
    colour = _colours(len(_names(history)))[index]
    if values:
        ax.hist(values, bins=40, color=colour, alpha=0.85)
    stats = history.layer_stats[-1][index]
    zeros = sum(v == 0.0 for v in values) / len(values) if values else 0.0
    exactly_zero = f", {zeros:.0%} exactly 0" if zeros >= 0.005 else ""  # a relu layer's off units pile up at 0
    ax.set_title(f"{name}\nmean {stats['activation_mean']:.3g}, std {stats['activation_std']:.3g}{exactly_zero}",
                 fontsize=9)
    ax.set_xlabel("output (after the activation)")
    ax.grid(alpha=0.3)


def plot_diagnostics(history: History, path: str | os.PathLike | None = None, title: str = "") -> Any:
    """One figure of `fit(..., diagnostics=True)`'s layer statistics; returns the matplotlib Figure.

    Top: each statistic of `history.layer_stats` per layer over the epochs (the gradient norm and
    the update ratio on log axes, the update ratio with its 1e-3 guide line). Bottom: the
    histogram of every layer's outputs in the last epoch. With `path`, the figure is also saved
    there (the format follows the suffix; a PNG has twice the pixels of the figure on screen). In
    Jupyter the returned figure shows itself.
    """
    from nn.training.plots import _figure, save_figure

    _check_history(history, "plot_diagnostics")
    n_layers = len(history.layer_stats[0])
    columns = max(3, n_layers)
    # 80 dpi: 840 pixels wide on screen; Jupyter's retina PNGs and the saved file have twice as many
    fig = _figure(figsize=(10.5, 8.8), dpi=80, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[2.9, 1])
    axes = top.subplots(2, 3).ravel()
    for ax, key in zip(axes, STATS):
        draw_layer_stat(ax, history, key, legend=False)
    handles, labels = axes[1].get_legend_handles_labels()  # the update-ratio panel also has the guide line
    top.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize=8)
    hist_axes = bottom.subplots(1, columns, squeeze=False).ravel()
    for i, ax in enumerate(hist_axes):
        if i < n_layers:
            draw_activation_histogram(ax, history, i)
        else:
            ax.set_visible(False)
    bottom.suptitle(f"outputs of each layer in the last epoch ({len(history.layer_stats)})", fontsize=10)
    fig.suptitle(title or "training diagnostics per layer")
    if path is not None:
        save_figure(fig, path, "plot_diagnostics", dpi=2 * fig.dpi)
    return fig


# ---- live-view panels (nn.training.live shows them when fit records diagnostics) ---------------------------------


def grad_norm_panel(ax: Any, run: TrainingRun) -> None:
    """The gradient norm per layer over the epochs so far (log axis)."""
    draw_layer_stat(ax, run.history, "grad_norm", epochs=run.epochs)


def update_ratio_panel(ax: Any, run: TrainingRun) -> None:
    """The update ratio per layer over the epochs so far (log axis, 1e-3 guide line)."""
    draw_layer_stat(ax, run.history, "update_ratio", epochs=run.epochs)


def units_panel(ax: Any, run: TrainingRun) -> None:
    """The dead (relu) and saturated (tanh, sigmoid) units per layer over the epochs so far."""
    draw_units_off(ax, run.history, epochs=run.epochs)


DIAGNOSTICS_PANELS = (grad_norm_panel, update_ratio_panel, units_panel)
