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

from autograd import Value
from nn.modules.activations import LEAKY_RELU_SLOPE, SOFTPLUS_THRESHOLD, TABLE
from nn.modules.layers import MLP
from nn.modules.layout import Linear, Recurrent, standard_layers
from nn.modules.module import Module
from nn.modules.state import _entries, _linear_entries, _load

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
    """A `torch.nn.Sequential` computing what `model` computes: every built-in module converts.

    The model's standard layers (nn/layout.py) each become their PyTorch module: layer i of an
    MLP becomes `torch.nn.Linear(nin, nout)` with `weight[j]` = neuron j's w and `bias[j]` = its
    b, followed by the activation module (none for "linear") and `Dropout(p)` when the MLP has
    dropout; a LayerNorm `torch.nn.LayerNorm(n, eps)`; a Residual block a `Residual` module
    computing x + block(x); an RNN a `RNNStates` module holding `torch.nn.RNN(batch_first=True)`
    and giving every hidden state, as chainrule's RNN does (its one bias is `bias_ih_l0`;
    `bias_hh_l0` is 0); a Conv1d, Conv2d, MaxPool2d, AvgPool2d, Flatten or BatchNorm1d its
    `torch.nn` namesake (a convolution's activation the module after it; the running statistics
    copied). The weights are copied (float64 unless `dtype` says otherwise, e.g.
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
    except TypeError as error:
        raise TypeError(f"to_torch: {error}") from None
    net = torch.nn.Sequential(*_torch_modules(torch, steps, dtype))
    net.train(model.training)
    return net


def _torch_modules(torch: Any, steps: list, dtype: Any) -> list:
    """The PyTorch module of each standard layer."""
    activations = _torch_activations(torch)
    modules = []
    for kind, step in steps:
        if kind == "linear":
            modules.append(_torch_linear(torch, step, dtype))
        elif kind == "activation":
            if step not in activations:
                raise ValueError(f"to_torch: the activation {step!r} has no PyTorch counterpart here "
                                 f"(nn.modules.activations knows {', '.join(sorted(activations))})")
            modules.append(activations[step]())
        elif kind == "dropout":
            modules.append(torch.nn.Dropout(step))
        elif kind == "layer_norm":
            norm = torch.nn.LayerNorm(len(step.weight), eps=step.eps, dtype=dtype)
            _copy(torch, [(norm.weight, step.weight), (norm.bias, step.bias)], dtype)
            modules.append(norm)
        elif kind in _CNN_KINDS:
            modules.append(_torch_cnn_module(torch, kind, step, dtype))
        elif kind == "residual":
            modules.append(_torch_classes(torch)[0](torch.nn.Sequential(*_torch_modules(torch, step, dtype))))
        else:  # "rnn"
            modules.append(_torch_rnn(torch, step, dtype))
    return modules


_CNN_KINDS = ("conv1d", "conv2d", "max_pool2d", "avg_pool2d", "flatten", "batch_norm1d")


def _torch_cnn_module(torch: Any, kind: str, step: Any, dtype: Any) -> Any:
    """The PyTorch module of a convolution, pool or batch norm step, its state copied through its state dict."""
    if kind in ("max_pool2d", "avg_pool2d"):
        kernel, stride = step
        return (torch.nn.MaxPool2d if kind == "max_pool2d" else torch.nn.AvgPool2d)(kernel, stride)
    if kind == "flatten":
        return torch.nn.Flatten()
    with torch.random.fork_rng(devices=[]):  # its random initialisation leaves the global state as it was
        if kind == "batch_norm1d":
            module = torch.nn.BatchNorm1d(step.num_features, eps=step.eps, momentum=step.momentum, dtype=dtype)
        else:
            cls = torch.nn.Conv1d if kind == "conv1d" else torch.nn.Conv2d
            module = cls(step.in_channels, step.out_channels, step.kernel_size, step.stride, step.padding,
                         bias=step.has_bias, dtype=dtype)
    state = module.state_dict()
    _copy(torch, [(state[k], _floats(v) if isinstance(v, list) else [v]) for k, v in step.state_dict().items()
                  if state[k].is_floating_point()], dtype)
    if kind == "batch_norm1d":
        module.num_batches_tracked.fill_(int(step.num_batches_tracked.data))
    return module


def _torch_rnn(torch: Any, step: Recurrent, dtype: Any) -> Any:
    if step.activation not in ("tanh", "relu"):
        raise ValueError(f"to_torch: torch.nn.RNN has tanh or relu, not {step.activation!r}")
    nhidden, nin = len(step.weight_ih), len(step.weight_ih[0])
    with torch.random.fork_rng(devices=[]):  # its random initialisation leaves the global state as it was
        rnn = torch.nn.RNN(nin, nhidden, nonlinearity=step.activation, batch_first=True, dtype=dtype)
    zeros = [0.0] * nhidden
    _copy(torch, [(rnn.weight_ih_l0, step.weight_ih), (rnn.weight_hh_l0, step.weight_hh),
                  (rnn.bias_ih_l0, step.bias), (rnn.bias_hh_l0, zeros)], dtype)
    return _torch_classes(torch)[1](rnn)


def _copy(torch: Any, pairs: list, dtype: Any) -> None:
    """Each tensor set to the numbers of its Values (or floats), exactly in float64, then rounded once to dtype."""
    with torch.no_grad():
        for tensor, values in pairs:
            tensor.copy_(torch.tensor(_floats(values), dtype=torch.float64))
            if not torch.isfinite(tensor).all() and all(map(math.isfinite, _flat(values))):
                raise ValueError(f"to_torch: the model has a weight too large for {dtype} (it would become infinite)")


def _floats(values: list) -> list:
    return [_floats(v) if isinstance(v, list) else (v.data if isinstance(v, Value) else v) for v in values]


def _flat(values: list) -> list[float]:
    return [x for v in _floats(values) for x in (v if isinstance(v, list) else [v])]


@functools.cache
def _torch_classes(torch: Any) -> tuple[type, type]:
    """The two PyTorch modules that torch.nn has no class for: a residual block, and an RNN giving its states."""

    class Residual(torch.nn.Module):
        """x + block(x)."""

        def __init__(self, block: Any) -> None:
            super().__init__()
            self.block = block

        def forward(self, x: Any) -> Any:
            return x + self.block(x)

    class RNNStates(torch.nn.Module):
        """torch.nn.RNN's outputs alone: the hidden state after every step, (batch, steps, nhidden)."""

        def __init__(self, rnn: Any) -> None:
            super().__init__()
            self.rnn = rnn

        def forward(self, x: Any) -> Any:
            return self.rnn(x)[0]

    return Residual, RNNStates


def _torch_linear(torch: Any, step: Linear, dtype: Any) -> Any:
    # skip_init: no random initialisation, so PyTorch's global random state stays as it was
    layer = torch.nn.utils.skip_init(torch.nn.Linear, step.nin, step.nout, dtype=dtype)
    _copy(torch, [(layer.weight, step.weight), (layer.bias, step.bias)], dtype)
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

    A Sequential holding a Conv1d or Conv2d (dilation 1, groups 1, zero padding; an activation right
    after it becomes its `activation`), a MaxPool2d or AvgPool2d (no padding, no ceil_mode), a
    Flatten() or a BatchNorm1d gives a chainrule Sequential of the same modules, state included.
    """
    torch = _import_torch("from_torch")
    if _beyond_mlp(torch, module):
        return _from_parts(torch, list(module) if isinstance(module, torch.nn.Sequential) else [module])
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
        entries += _linear_entries(layer.standard_layers()[0][1], key)
        state[f"{key}weight"], state[f"{key}bias"] = layers[j].weight.detach(), layers[j].bias.detach()
    _load(model, entries, state, True, "from_torch")
    return model.train(module.training)


def _beyond_mlp(torch: Any, module: Any) -> bool:
    """Whether module is no MLP: it holds a LayerNorm, a residual block or an RNN (which to_torch makes), or
    is one Linear with an activation after it."""
    kinds = (torch.nn.LayerNorm, *_torch_classes(torch), *_cnn_classes(torch))
    if isinstance(module, kinds):
        return True
    if not isinstance(module, torch.nn.Sequential):
        return False
    layers, activations = list(module), tuple(type(make()) for make in _torch_activations(torch).values())
    # a Linear and its activation: a Layer (what to_torch makes of a Layer or Neuron)
    one_layer = len(layers) == 2 and type(layers[0]) is torch.nn.Linear and type(layers[1]) in activations
    return one_layer or any(isinstance(m, kinds) for m in layers)


def _from_parts(torch: Any, layers: list) -> Module:
    """A Sequential (or the one module) of chainrule modules, one per PyTorch module (a Linear with the
    activation after it is one Layer); each takes its weights through load_state_dict's checks."""
    from nn.modules.containers import Residual, Sequential
    from nn.modules.layers import Dropout, Layer
    from nn.modules.normalization import LayerNorm
    from nn.modules.rnn import RNN

    residual, states = _torch_classes(torch)
    activations = {type(make()): name for name, make in _torch_activations(torch).items()}
    parts: list[Module] = []
    j = 0
    while j < len(layers):
        layer, where = layers[j], f"from_torch: layer {j} ({type(layers[j]).__name__})"
        if type(layer) is torch.nn.Linear:
            if layer.bias is None:
                raise ValueError(f"{where} has no bias (bias=False); every chainrule neuron has one")
            name = "linear"
            if j + 1 < len(layers) and type(layers[j + 1]) in activations:
                _check_options(torch, layers[j + 1], f"from_torch: layer {j + 1} ({type(layers[j + 1]).__name__})")
                name, j = activations[type(layers[j + 1])], j + 1
            part = Layer(layer.in_features, layer.out_features, name, seed=0)
            state = {"weight": layer.weight, "bias": layer.bias}
        elif type(layer) is torch.nn.Dropout:
            part, state = Dropout(float(layer.p), seed=0), {}
        elif type(layer) is torch.nn.LayerNorm:
            if len(layer.normalized_shape) != 1 or layer.weight is None or layer.bias is None:
                raise ValueError(f"{where} must normalise one dimension, with weight and bias")
            part, state = LayerNorm(layer.normalized_shape[0], eps=layer.eps), {"weight": layer.weight,
                                                                                  "bias": layer.bias}
        elif type(layer) in _cnn_classes(torch):
            part, j = _cnn_part(torch, layers, j, activations, where)
            state = dict(layer.state_dict())
        elif type(layer) is residual:
            part, state = Residual(_from_parts(torch, list(layer.block))), {}
        elif type(layer) is states:
            rnn = layer.rnn
            if rnn.num_layers != 1 or rnn.bidirectional or not rnn.bias or not rnn.batch_first:
                raise ValueError(f"{where}: only a one-layer, one-way torch.nn.RNN with biases and batch_first")
            part = RNN(rnn.input_size, rnn.hidden_size, rnn.nonlinearity, seed=0)
            state = {"weight_ih": rnn.weight_ih_l0, "weight_hh": rnn.weight_hh_l0,
                     "bias": rnn.bias_ih_l0 + rnn.bias_hh_l0}  # chainrule's one bias is their sum
        else:
            raise ValueError(f"{where} has no chainrule counterpart")
        if state:
            _load(part, _entries(part), {k: v.detach() for k, v in state.items()}, True, "from_torch")
        parts.append(part.train(layer.training))
        j += 1
    return parts[0] if len(parts) == 1 else Sequential(*parts).train(parts[0].training)


def _cnn_classes(torch: Any) -> tuple[type, ...]:
    return (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d, torch.nn.Flatten,
            torch.nn.BatchNorm1d)


def _cnn_part(torch: Any, layers: list, j: int, activations: dict, where: str) -> tuple[Module, int]:
    """The chainrule module of layers[j], one of _cnn_classes (a convolution takes the activation after
    it); refuses options chainrule's module does not have. Returns it and the index of its last layer."""
    from nn.modules.batchnorm import BatchNorm1d
    from nn.modules.conv import AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool2d

    layer = layers[j]
    if isinstance(layer, (torch.nn.Conv1d, torch.nn.Conv2d)):
        if layer.dilation != (1,) * len(layer.dilation) or layer.groups != 1 or layer.padding_mode != "zeros" \
                or isinstance(layer.padding, str):
            raise ValueError(f"{where}: only dilation 1, groups 1 and numeric zero padding have a chainrule "
                             "counterpart")
        name = "linear"
        if j + 1 < len(layers) and type(layers[j + 1]) in activations:
            _check_options(torch, layers[j + 1], f"from_torch: layer {j + 1} ({type(layers[j + 1]).__name__})")
            name, j = activations[type(layers[j + 1])], j + 1
        cls = Conv1d if isinstance(layer, torch.nn.Conv1d) else Conv2d
        return cls(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                   bias=layer.bias is not None, seed=0, activation=name), j
    if isinstance(layer, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
        plain = layer.padding in (0, (0, 0)) and not layer.ceil_mode
        if isinstance(layer, torch.nn.MaxPool2d):
            plain = plain and layer.dilation in (1, (1, 1)) and not layer.return_indices
        else:
            plain = plain and layer.divisor_override is None
        if not plain:
            raise ValueError(f"{where}: only kernel_size and stride (no padding, ceil_mode, dilation) are supported")
        return (MaxPool2d if isinstance(layer, torch.nn.MaxPool2d) else AvgPool2d)(layer.kernel_size, layer.stride), j
    if isinstance(layer, torch.nn.Flatten):
        if (layer.start_dim, layer.end_dim) != (1, -1):
            raise ValueError(f"{where}: only Flatten() (start_dim=1, end_dim=-1) flattens one sample")
        return Flatten(), j
    if not layer.affine or not layer.track_running_stats:
        raise ValueError(f"{where}: only affine=True, track_running_stats=True has a chainrule counterpart")
    return BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum), j


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
