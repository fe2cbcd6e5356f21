"""Conv1d, Conv2d, MaxPool2d, AvgPool2d and Flatten: convolutional networks on nested lists of Values.

A convolution slides one small kernel over its input. Output channel o at position t of a Conv1d:

    out[o][t] = bias[o] + sum_c sum_k weight[o][c][k] * x[c][t * stride + k - padding]

(Conv2d the same over rows and columns). The kernel's weights are *shared*: weight[o][c][k] is one
Value used at every position t, so in the graph it has an edge to every output it helps make,
and backward adds its gradient over all of them:  d loss / d w[o][c][k] = sum_t g[o][t] x[c][t*s+k-p].
Padding adds zeros around the input; a zero term adds nothing, so it is left out of the graph.
`activation` (chainrule's addition, default "linear" as in PyTorch) applies one of nn.ACTIVATIONS
to every output, as a Layer does: Conv2d(1, 8, 3, activation="relu") is Conv2d then ReLU.

Shapes are PyTorch's without the batch: a Conv1d takes [channel][position], a Conv2d and the
pools [channel][row][column]; Flatten makes one list of everything, channel by channel, row by row
(what `torch.nn.Flatten` gives per sample). Every output Value is made in a scope "channel o"
inside the module's, and in one "position t" (or "position i,j") inside that, so a picture can
collapse a convolution by channel or by position (`draw_dot(..., collapse="channel")`).
"""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

from autograd import BLOCKED, OPS, Op, Scope, Value, current_scope
from nn._numbers import check_bool, check_int, is_real, show, to_float
from nn.modules.activations import activation as activation_row
from nn.modules.layers import ACTIVATIONS, MAX_WIDTH, _rng
from nn.modules.layout import Step, activation_step
from nn.modules.module import Module, one_path

_DOT, _SUM, _DIV = OPS["dot"], OPS["sum"], OPS["/"]


def _pair(value: object, what: str, dims: int, low: int) -> tuple[int, ...]:
    """An int or a tuple of `dims` ints (kernel_size=3 or (3, 2)), each at least `low`."""
    if isinstance(value, (tuple, list)):
        if len(value) != dims:
            raise ValueError(f"{what} must be an int or {dims} ints, got {show(value)}")
        return tuple(check_int(v, what, low) for v in value)
    return (check_int(value, what, low),) * dims


def _shape_of(x: object) -> tuple[int, ...] | None:
    """The shape of nested lists read along their first items; None for a number."""
    if isinstance(x, (list, tuple)):
        return (len(x), *(_shape_of(x[0]) or ())) if x else (0,)
    return None


def _grid(x: object, dims: int, who: str, expected: str) -> list:
    """x as nested lists of Values, `dims` deep, every row as long as the first; otherwise a
    ValueError naming the module, the shape it takes and the shape it got."""
    def walk(item: object, depth: int, length: list, at: str = "") -> object:
        if depth == dims:
            if isinstance(item, Value):
                return item
            if is_real(item):
                return Value(to_float(item, f"{who} input {at}"))
            raise TypeError(f"{who}: input {at} must be a number or a Value, got {type(item).__name__}")
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) == 0:
            raise ValueError(f"{who} expects an input of shape {expected}, got {_describe(x)}")
        if length[depth] is None:
            length[depth] = len(item)
        elif len(item) != length[depth]:
            raise ValueError(f"{who} expects an input of shape {expected}, got ragged rows: "
                             f"{length[depth]} and {len(item)} elements at depth {depth} (input shape {_describe(x)})")
        return [walk(element, depth + 1, length, f"{at}[{i}]") for i, element in enumerate(item)]

    return walk(x, 0, [None] * dims)


def _describe(x: object) -> str:
    shape = _shape_of(x)
    return "a number" if shape is None else str(shape)


class _Conv(Module):
    """What Conv1d and Conv2d share: the kernel over `dims` spatial dimensions."""

    dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple, stride: int | tuple = 1,
                 padding: int | tuple = 0, bias: bool = True, seed: int | random.Random | None = None,
                 activation: str = "linear") -> None:
        self.in_channels = check_int(in_channels, "in_channels", 1, MAX_WIDTH)
        self.out_channels = check_int(out_channels, "out_channels", 1, MAX_WIDTH)
        self.kernel_size = _pair(kernel_size, "kernel_size", self.dims, 1)
        self.stride = _pair(stride, "stride", self.dims, 1)
        self.padding = _pair(padding, "padding", self.dims, 0)
        self.has_bias = check_bool(bias, "bias")
        self.activation = activation_row(activation, "activation").name
        self._act = ACTIVATIONS[self.activation]
        rng = _rng(seed)
        taps = math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(self.in_channels * taps)  # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        # one row per output channel: its in_channels x kernel weights, flat in PyTorch's order
        self.weight = [[Value(rng.uniform(-bound, bound), label=f"weight[{o}][{i}]") for i in
                        range(self.in_channels * taps)] for o in range(self.out_channels)]
        self.bias = [Value(rng.uniform(-bound, bound), label=f"bias[{o}]") for o in range(out_channels)] if bias else []
        self.scope_name = type(self).__name__

    def _positions(self, size: tuple[int, ...], who: str, shape: str) -> list[tuple[int, ...]]:
        """Every output position, after checking that the kernel fits the padded input."""
        counts = []
        for n, k, s, p in zip(size, self.kernel_size, self.stride, self.padding):
            if n + 2 * p < k:
                padded = tuple(n + 2 * p for n, p in zip(size, self.padding))
                raise ValueError(f"{who}: the kernel {self.kernel_size} is larger than the padded input "
                                 f"{padded} (input shape {shape}, padding {self.padding})")
            counts.append((n + 2 * p - k) // s + 1)
        return list(itertools.product(*map(range, counts)))

    @one_path
    def forward(self, x: Any) -> list:
        """out[o][position] as in the module docstring, nested as the input (channel first)."""
        who = repr(self)
        expected = f"({self.in_channels}, {', '.join(['L'] if self.dims == 1 else ['H', 'W'])})"
        grid = _grid(x, self.dims + 1, who, expected)
        if len(grid) != self.in_channels:
            raise ValueError(f"{who} expects an input of shape {expected}, got {_describe(x)} "
                             f"({len(grid)} channels, not {self.in_channels})")
        size = tuple(_shape_of(grid)[1:])
        positions = self._positions(size, who, _describe(x))
        flat = _flatten(grid)
        data = [v.data for v in flat]
        plan = convolution_taps(size, self.in_channels, self.kernel_size, self.stride, self.padding)
        out_shape = [len({p[d] for p in positions}) for d in range(self.dims)]
        module_scope, outputs, act = current_scope(), [], self._act
        for o, row in enumerate(self.weight):
            channel_scope = Scope(f"channel {o}", module_scope)
            bias = [self.bias[o]] if self.has_bias else []
            values = []
            for pos, pairs in zip(positions, plan):
                inputs = [row[w] for w, _ in pairs] + [flat[i] for _, i in pairs] + bias
                numbers = [v.data for v in inputs[:len(pairs)]] + [data[i] for _, i in pairs] + [b.data for b in bias]
                name = f"position {','.join(map(str, pos))}"
                here = Scope(name, channel_scope)
                total = _DOT.apply(inputs, numbers, here)
                values.append(total if act is None else act.apply((total,), [total.data, *act.defaults], here))
            outputs.append(_unflatten(values, out_shape))
        return outputs

    def _state_members(self) -> Iterator[tuple[str, object]]:
        from nn.modules.state import Tensor
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        yield "weight", Tensor([v for row in self.weight for v in row], shape)
        if self.has_bias:
            yield "bias", list(self.bias)

    def _config(self) -> dict[str, Any]:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "bias": self.has_bias, "activation": self.activation}

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        o = check_int(config["out_channels"], "config.out_channels", 1, MAX_WIDTH)
        c = check_int(config["in_channels"], "config.in_channels", 1, MAX_WIDTH)
        taps = math.prod(check_int(k, "config.kernel_size", 1, MAX_WIDTH) for k in config["kernel_size"])
        return o * c * taps + (o if config["bias"] is True else 0)

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> _Conv:
        return cls(config["in_channels"], config["out_channels"], tuple(config["kernel_size"]),
                   tuple(config["stride"]), tuple(config["padding"]), config["bias"], seed=0,
                   activation=config["activation"])

    def standard_layers(self) -> list[Step]:
        return [(f"conv{self.dims}d", self), *activation_step(self.activation)]

    def __repr__(self) -> str:
        def show(t: tuple) -> str:
            return str(t[0]) if self.dims == 1 else str(t)
        extra = f", stride={show(self.stride)}" if any(s != 1 for s in self.stride) else ""
        extra += f", padding={show(self.padding)}" if any(self.padding) else ""
        extra += "" if self.has_bias else ", bias=False"
        extra += "" if self.activation == "linear" else f", activation={self.activation!r}"
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
                f"kernel_size={show(self.kernel_size)}{extra})")


@functools.lru_cache(maxsize=64)
def convolution_taps(size: tuple[int, ...], channels: int, kernel: tuple[int, ...], stride: tuple[int, ...],
                     padding: tuple[int, ...]) -> list[list[tuple[int, int]]]:
    """Which input each kernel weight meets, for an input of `channels` x `size` (size: (L,) or (H, W)).

    For each output position (row-major), the (weight index, input index) pairs of the taps that
    fall inside the input, both flat in PyTorch's order: the weight index into one output channel's
    in_channels x kernel weights, the input index into the channels x size numbers. The taps on
    padding are left out. Conv1d and Conv2d build their graphs from it, and ONNX export
    (nn/exchange/_onnx_cnn.py) its Gather indices, so both read the same positions.
    """
    taps = list(itertools.product(range(channels), *map(range, kernel)))
    strides = [math.prod(size[d + 1:]) for d in range(len(size))]
    counts = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding)]
    plan = []
    for pos in itertools.product(*map(range, counts)):
        pairs = []
        for w_index, (c, *k) in enumerate(taps):
            at = [t * s + kk - p for t, s, kk, p in zip(pos, stride, k, padding)]
            if all(0 <= a < n for a, n in zip(at, size)):
                pairs.append((w_index, c * math.prod(size) + sum(a * st for a, st in zip(at, strides))))
        plan.append(pairs)
    return plan


def _flatten(grid: object) -> list:
    if isinstance(grid, (list, tuple)):
        return [v for item in grid for v in _flatten(item)]
    return [grid]


def _unflatten(values: list, shape: list[int]) -> list:
    if len(shape) == 1:
        return values
    step = math.prod(shape[1:])
    return [_unflatten(values[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


class Conv1d(_Conv):
    """`torch.nn.Conv1d` on a list of `in_channels` lists of equal length; gives `out_channels` lists.

    `weight` is stored as PyTorch's (out_channels, in_channels, kernel_size) tensor (the state dict
    says so); in the module, `weight[o]` is output channel o's kernel, flat (channel by channel).
    """

    dims = 1


class Conv2d(_Conv):
    """`torch.nn.Conv2d` on [channel][row][column] nested lists; kernel_size, stride, padding an int or a pair.

    `weight` is PyTorch's (out_channels, in_channels, kh, kw) tensor; in the module `weight[o]` is
    output channel o's kernel, flat (channel, then row, then column).
    """

    dims = 2


class _Pool2d(Module):
    """What MaxPool2d and AvgPool2d share: windows of kernel_size, moved by stride (default the kernel)."""

    def __init__(self, kernel_size: int | tuple, stride: int | tuple | None = None) -> None:
        self.kernel_size = _pair(kernel_size, "kernel_size", 2, 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", 2, 1)
        self.scope_name = type(self).__name__

    @one_path
    def forward(self, x: Any) -> list:
        who = repr(self)
        grid = _grid(x, 3, who, "(C, H, W)")
        rows, cols = len(grid[0]), len(grid[0][0])
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if rows < kh or cols < kw:
            raise ValueError(f"{who}: the kernel {self.kernel_size} is larger than the input "
                             f"{(rows, cols)} (input shape {_describe(x)})")
        module_scope, out = current_scope(), []
        for c, channel in enumerate(grid):
            channel_scope = Scope(f"channel {c}", module_scope)
            out.append([[self._window([channel[i * sh + a][j * sw + b] for a in range(kh) for b in range(kw)],
                                      Scope(f"position {i},{j}", channel_scope))
                         for j in range((cols - kw) // sw + 1)] for i in range((rows - kh) // sh + 1)])
        return out

    def _window(self, values: list[Value], inside: Scope) -> Value:
        raise NotImplementedError

    def _config(self) -> dict[str, Any]:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride)}

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        return 0

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> _Pool2d:
        return cls(tuple(config["kernel_size"]), tuple(config["stride"]))

    def standard_layers(self) -> list[Step]:
        return [(self.step_kind, (self.kernel_size, self.stride))]

    def __repr__(self) -> str:
        stride = "" if self.stride == self.kernel_size else f", stride={self.stride}"
        return f"{type(self).__name__}(kernel_size={self.kernel_size}{stride})"


def _pool_choice(xs: Sequence) -> int:
    """Where PyTorch's max pooling takes a window's maximum: the first largest element, unless a NaN
    is there, then the last NaN (its kernel's test is `x > top or isnan(x)`, element by element)."""
    best, top = 0, float(xs[0])
    for i, x in enumerate(map(float, xs)):  # (float: the derivative rule gets Values for create_graph)
        if x > top or x != x:
            best, top = i, x
    return best


def _pool_forward(*xs: float) -> float:
    return xs[_pool_choice(xs)]


def _pool_derivative(*xs_and_out: float) -> tuple:
    """1 for the chosen element; the others get no gradient at all (BLOCKED: not even a NaN), as in PyTorch."""
    xs = xs_and_out[:-1]
    k = _pool_choice(xs)
    return (BLOCKED,) * k + (1.0,) + (BLOCKED,) * (len(xs) - k - 1)


# The engine's `max` takes the first NaN (as torch.max over a dimension); PyTorch's max pooling the
# last: so pooling has an op of its own, one declaration like the engine's.
MAX_POOL = Op("max_pool", _pool_forward, _pool_derivative)


class MaxPool2d(_Pool2d):
    """`torch.nn.MaxPool2d(kernel_size, stride)`: the largest of each window, one `max_pool` node each.

    The node's gradient goes to the first largest element of the window (row by row), or to its
    last NaN, as in PyTorch; the others get none.
    """

    step_kind = "max_pool2d"

    def _window(self, values: list[Value], inside: Scope) -> Value:
        return MAX_POOL.apply(values, [v.data for v in values], inside)


class AvgPool2d(_Pool2d):
    """`torch.nn.AvgPool2d(kernel_size, stride)`: the mean of each window, a `sum` node divided by n."""

    step_kind = "avg_pool2d"

    def _window(self, values: list[Value], inside: Scope) -> Value:
        total = _SUM.apply(values, [v.data for v in values], inside)
        return _DIV.apply((total,), [total.data, float(len(values))], inside)


class Flatten(Module):
    """`torch.nn.Flatten()` on one sample: every element of nested lists in one list, in order."""

    def __init__(self) -> None:
        self.scope_name = "Flatten"

    @one_path
    def forward(self, x: Any) -> list[Value]:
        """Every element of x, depth first, as Values."""
        return [v if isinstance(v, Value) else Value(to_float(v, f"Flatten input {i}"))
                for i, v in enumerate(_flatten(x))]

    def _config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        return 0

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> Flatten:
        return cls()

    def standard_layers(self) -> list[Step]:
        return [("flatten", None)]

    def __repr__(self) -> str:
        return "Flatten()"
