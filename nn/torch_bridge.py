"""`to_torch` and `from_torch`: the same network in PyTorch, with the same numbers, and back again.

    >>> import nn
    >>> model = nn.MLP(2, [16, 16, 1], seed=0)
    >>> net = nn.to_torch(model)    # Sequential(Linear(2, 16), ReLU(), Linear(16, 16), ReLU(), Linear(16, 1)), float64
    >>> back = nn.from_torch(net)   # an MLP again, every weight the same float

The PyTorch network is a plain `torch.nn.Sequential` of `Linear`, activation and `Dropout`
modules (nn/layout.py says which), so everything PyTorch offers works on it: batches, other
optimizers, GPUs, `torch.save`, distributed training. In float64 it computes what the chainrule
model computes, up to the order of floating-point additions (~1e-16 relative).

PyTorch is optional: `pip install 'chainrule[torch]'`.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nn.activations import LEAKY_RELU_SLOPE, SOFTPLUS_THRESHOLD, TABLE
from nn.layers import MLP
from nn.layout import Linear, linear, standard_layers
from nn.module import Module
from nn.state import _linear_entries, _load

if TYPE_CHECKING:
    import torch

INSTALL_TORCH = "pip install 'chainrule[torch]'"


def _import_torch(who: str) -> Any:
    try:
        import torch
    except ImportError:  # also when sys.modules["torch"] is None (an import blocked on purpose)
        message = f"{who} needs PyTorch, which is not installed: {INSTALL_TORCH}"
        raise ModuleNotFoundError(message, name="torch") from None
    return torch


def _torch_activations(torch: Any) -> dict[str, Callable[[], Any]]:
    """chainrule activation name (a key of nn.ACTIVATIONS) -> a maker of the PyTorch module computing it."""
    return {name: functools.partial(row.torch, torch) for name, row in TABLE.items() if row.torch is not None}


def to_torch(model: Module, dtype: torch.dtype | None = None) -> torch.nn.Sequential:
    """A `torch.nn.Sequential` computing what `model` (a Neuron, Layer or MLP) computes.

    Layer i of an MLP becomes `torch.nn.Linear(nin, nout)` with `weight[j]` = neuron j's w and
    `bias[j]` = its b, followed by the activation module (none for "linear") and `Dropout(p)`
    when the MLP has dropout. The weights are copied (float64 unless `dtype` says otherwise, e.g.
    `torch.float32`), so training either network leaves the other as it was. The network is in
    training or eval mode as `model` is. PyTorch's global random state is not touched.
    """
    torch = _import_torch("to_torch")
    if dtype is None:
        dtype = torch.float64
    elif not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"to_torch: dtype must be a floating-point torch dtype such as torch.float32, got {dtype!r}")
    try:
        steps = standard_layers(model)
    except TypeError:
        raise TypeError(f"to_torch: can convert a Neuron, Layer or MLP, got {type(model).__name__}") from None
    activations = _torch_activations(torch)
    modules = []
    for kind, step in steps:
        if kind == "linear":
            modules.append(_torch_linear(torch, step, dtype))
        elif kind == "activation":
            if step not in activations:
                raise ValueError(f"to_torch: the activation {step!r} has no PyTorch counterpart here "
                                 f"(nn/torch_bridge.py knows {', '.join(sorted(activations))})")
            modules.append(activations[step]())
        else:
            modules.append(torch.nn.Dropout(step))
    net = torch.nn.Sequential(*modules)
    net.train(model.training)
    return net


def _torch_linear(torch: Any, step: Linear, dtype: Any) -> Any:
    # skip_init: no random initialisation, so PyTorch's global random state stays as it was
    layer = torch.nn.utils.skip_init(torch.nn.Linear, step.nin, step.nout, dtype=dtype)
    with torch.no_grad():
        # built in float64 (exactly our floats), then rounded once to dtype by copy_
        layer.weight.copy_(torch.tensor([[v.data for v in row] for row in step.weight], dtype=torch.float64))
        layer.bias.copy_(torch.tensor([v.data for v in step.bias], dtype=torch.float64))
    finite = [v.data for row in step.weight for v in row] + [v.data for v in step.bias]
    if all(map(math.isfinite, finite)) and not all(torch.isfinite(p).all() for p in (layer.weight, layer.bias)):
        raise ValueError(f"to_torch: the model has a weight too large for {dtype} (it would become infinite)")
    return layer


def from_torch(module: torch.nn.Module) -> MLP:
    """An MLP computing what a `torch.nn.Sequential` (or a single `torch.nn.Linear`) computes.

    The Sequential must have the shape `to_torch` gives an MLP: Linear, then one activation
    (ReLU, Tanh, Sigmoid, LeakyReLU(0.01) or Softplus(beta=1, 34 <= threshold <= 709), each computing
    exactly what chainrule's does; or none), then optionally Dropout(p), then the next
    Linear, ..., and a last Linear with nothing after it. All hidden layers share one activation
    and one dropout p, and every Linear has a bias. Anything else raises an error naming the
    layer (its index and class). The weights are copied exactly (a float32 weight becomes the
    same number as a float); the MLP is in training or eval mode as `module` is.
    """
    torch = _import_torch("from_torch")
    if type(module) is torch.nn.Linear:
        layers, prefix = [module], ""  # its state is "weight" and "bias"
    elif isinstance(module, torch.nn.Sequential):
        layers, prefix = list(module), None
    else:
        raise TypeError(f"from_torch: needs a torch.nn.Sequential of Linear, activation and Dropout layers "
                        f"(or one torch.nn.Linear), got {type(module).__name__}")
    if not layers:
        raise ValueError("from_torch: the Sequential is empty; an MLP needs at least one Linear")
    positions, activation, dropout = _read_sequential(torch, layers)
    nouts = [layers[j].out_features for j in positions]
    model = MLP(layers[positions[0]].in_features, nouts, activation, dropout=dropout, seed=0)
    # The weights go in through load_state_dict's checks, under the names the user sees (2.weight, ...)
    entries, state = [], {}
    for layer, j in zip(model.layers, positions):
        key = f"{j}." if prefix is None else prefix
        entries += _linear_entries(linear(layer), key)
        state[f"{key}weight"], state[f"{key}bias"] = layers[j].weight.detach(), layers[j].bias.detach()
    _load(model, entries, state, True, "from_torch")
    return model.train(module.training)


@functools.cache
def _softplus_is_x_from() -> float:
    """The smallest float from which chainrule's softplus is x itself (about 33.3: beyond it
    log(1 + e^-x) is below half an ulp of x); read from the engine's forward rule, by bisection."""
    forward = TABLE["softplus"].op.forward
    low, high = 0.0, SOFTPLUS_THRESHOLD  # forward(low) != low, forward(high) == high
    while math.nextafter(low, high) < high:
        middle = (low + high) / 2
        low, high = (middle, high) if forward(middle) != middle else (low, middle)
    return high


def _check_options(torch: Any, layer: Any, where: str) -> None:
    """Refuse an activation whose options make it compute something chainrule's does not.

    ReLU's `inplace` changes no number; LeakyReLU's `negative_slope` must be chainrule's; Softplus
    must have beta 1, and a `threshold` (above it PyTorch gives x itself) where log(1 + e^x) is x
    in float64 anyway, and below which PyTorch's log1p(exp(x)) does not overflow. Tanh and Sigmoid
    have no options.
    """
    if type(layer) is torch.nn.LeakyReLU and layer.negative_slope != LEAKY_RELU_SLOPE:
        raise ValueError(f"{where} has negative_slope={layer.negative_slope!r}; chainrule's "
                         f"leaky_relu has slope {LEAKY_RELU_SLOPE!r}")
    if type(layer) is torch.nn.Softplus:
        if layer.beta != 1.0:
            raise ValueError(f"{where} has beta={layer.beta!r}; chainrule's softplus is log(1 + e^x), beta 1")
        exact, overflow = _softplus_is_x_from(), math.log(sys.float_info.max)
        if not exact <= layer.threshold <= overflow:
            why = (f"PyTorch gives x itself above it, where log(1 + e^x) is still larger (up to x = {exact:.4g})"
                   if not layer.threshold > exact else
                   f"below it PyTorch computes log(1 + e^x), which overflows to inf beyond x = {overflow:.6g}")
            raise ValueError(
                f"{where} has threshold={layer.threshold!r}: {why}, and chainrule's softplus is log(1 + e^x) "
                f"everywhere without overflow; set its threshold between {math.ceil(exact)} and {math.floor(overflow)} "
                f"(to_torch uses {SOFTPLUS_THRESHOLD:g}) to convert it"
            )


def _read_sequential(torch: Any, layers: list) -> tuple[list[int], str, float]:
    """Check that `layers` is Linear, [activation], [Dropout], Linear, ... ; returns the Linears'
    indices, the hidden activation's name and the dropout probability."""
    makers = _torch_activations(torch)
    names = {type(make()): name for name, make in makers.items()}
    known = ", ".join(cls.__name__ for cls in names)

    def where(j: int) -> str:
        return f"from_torch: layer {j} ({type(layers[j]).__name__})"

    positions: list[int] = []  # index of each Linear
    hidden: list[dict] = []  # per hidden layer: its Linear's index, activation (name, index), dropout (p, index)
    j, width = 0, None
    while j < len(layers):
        layer = layers[j]
        if type(layer) is not torch.nn.Linear:
            if type(layer) in names or type(layer) is torch.nn.Dropout:
                raise ValueError(f"{where(j)} cannot come here: an MLP is Linear, then its activation, then "
                                 f"Dropout, then the next Linear")
            raise ValueError(f"{where(j)} has no chainrule counterpart: an MLP is made of Linear, "
                             f"{known} and Dropout layers")
        if layer.bias is None:
            raise ValueError(f"{where(j)} has no bias (bias=False); every chainrule neuron has one")
        if width is not None and layer.in_features != width:
            raise ValueError(f"{where(j)} takes {layer.in_features} inputs but the layer before it gives {width}")
        positions.append(j)
        block = {"linear": j, "activation": ("linear", None), "dropout": (None, None)}
        width, j = layer.out_features, j + 1
        if j < len(layers) and type(layers[j]) in names:
            block["activation"] = (names[type(layers[j])], j)
            _check_options(torch, layers[j], where(j))
            j += 1
        if j < len(layers) and type(layers[j]) is torch.nn.Dropout:
            block["dropout"] = (float(layers[j].p), j)
            j += 1
        if j == len(layers) and j - 1 != block["linear"]:
            raise ValueError(f"{where(block['linear'] + 1)} follows the last Linear, but an MLP's last layer is linear "
                             f"(it gives scores for a loss); leave it out (apply it to the outputs yourself if needed)")
        if j < len(layers):
            hidden.append(block)

    def show(block: dict, key: str) -> str:
        index = block[key][1]
        return "none" if index is None else f"{layers[index]!r} (layer {index})"

    for block in hidden[1:]:
        for key, what in (("activation", "one activation"), ("dropout", "the same Dropout")):
            if block[key][0] != hidden[0][key][0]:
                raise ValueError(f"from_torch: the hidden layers differ: {show(hidden[0], key)} after the Linear at "
                                 f"layer {hidden[0]['linear']}, {show(block, key)} after the one at layer "
                                 f"{block['linear']}; an MLP's hidden layers have {what}")
    activation = hidden[0]["activation"][0] if hidden else "relu"  # one Linear alone: MLP's default, unused
    dropout = hidden[0]["dropout"][0] if hidden and hidden[0]["dropout"][0] is not None else 0.0
    return positions, activation, dropout
