"""Neuron, Layer, MLP and Dropout: a multi-layer perceptron made of scalar Values.

A neuron computes  act(w_1 x_1 + ... + w_n x_n + b)  as two graph nodes: one n-ary `dot` node
for the weighted sum (its local derivatives are the x_i, the w_i and 1) and one activation node.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from operator import attrgetter, mul
from typing import Any

from autograd import OPS, Op, Scope, Value, current_scope
from nn._numbers import check_int, check_real, check_seed, is_real, to_float
from nn.modules.activations import TABLE, activation
from nn.modules.layout import Linear, Step, activation_step
from nn.modules.module import Module, one_path

Input = Sequence[Value | float] | Value | float
_DOT = OPS["dot"]
_DATA = attrgetter("data")
_ONLY_VALUES = {Value}
_SHOWN_SIZES = 12  # an MLP's repr lists at most this many sizes
MAX_WIDTH = 10**6  # the most inputs, units or layers a saved model may claim (its parameters are counted too)


# name -> the engine's op (its forward rule is the same function on floats); linear is no op at all
ACTIVATIONS: dict[str, Op | None] = {name: row.op for name, row in TABLE.items()}


def _check_activation(name: object) -> str:
    return activation(name).name


def _check_size(n: object, what: str) -> int:
    return check_int(n, what, 1)  # bool is refused on purpose: MLP(True, ...) is a bug


def _check_probability(p: object) -> float:
    return check_real(p, "dropout probability", 0.0, 1.0)


def _rng(seed: int | random.Random | None) -> random.Random:
    """A private generator: weights never depend on (or disturb) the global `random` state."""
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random()
    return random.Random(check_seed(seed, or_else=", a random.Random or None"))


def _elements(x: Input, n: int, who: str) -> list:
    """x as a list of n Values/numbers; a bare number or Value is allowed when n == 1."""
    if n == 1 and (isinstance(x, Value) or is_real(x)):
        return [x]
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        raise TypeError(f"{who} input must be a list of {n} numbers or Values, got {type(x).__name__}")
    items = list(x)
    if len(items) != n:
        raise ValueError(f"{who} expects {n} input{'s' if n != 1 else ''}, got {len(items)}")
    for i, v in enumerate(items):
        if not (isinstance(v, Value) or is_real(v)):
            raise TypeError(f"{who} input {i} must be a number or a Value, got {type(v).__name__}: {v!r:.40}")
    return items


def _as_values(x: Input, n: int, who: str) -> list[Value]:
    """x as a list of n Values (numbers become leaf Values)."""
    if type(x) is list and len(x) == n and set(map(type, x)) == _ONLY_VALUES:  # a layer's outputs: the usual case
        return x
    items = _elements(x, n, who)
    return [v if isinstance(v, Value) else Value(to_float(v, f"{who} input {i}")) for i, v in enumerate(items)]


class Neuron(Module):
    """act(w . x + b), with weights and bias drawn from U(-1/sqrt(nin), 1/sqrt(nin)).

    That fan-in scaling is the default of PyTorch's nn.Linear: it keeps w . x of the same order
    for any number of inputs. `seed` makes the draw reproducible.
    """

    def __init__(self, nin: int, activation: str = "relu", seed: int | random.Random | None = None) -> None:
        self.nin = _check_size(nin, "nin")
        self.activation = _check_activation(activation)
        rng = _rng(seed)
        bound = 1.0 / math.sqrt(nin)
        self.w = [Value(rng.uniform(-bound, bound), label=f"w{i}") for i in range(nin)]
        self.b = Value(rng.uniform(-bound, bound), label="b")
        self._act = ACTIVATIONS[activation]
        self.scope_name = "Neuron"

    @one_path
    def forward(self, x: Input) -> Value:
        """act(w . x + b) for a list of nin numbers or Values (a bare number when nin == 1): a dot node
        for the weighted sum, and the activation's node."""
        xs = _as_values(x, self.nin, "Neuron")
        return self._nodes(xs, list(map(_DATA, xs)), current_scope())

    def _nodes(self, xs: list[Value], x_data: list[float], inside: Scope | None) -> Value:
        """The two nodes, dot(w, xs, b) and act(s), made from numbers read already, in scope `inside`:
        a neuron is most of a network's graph, and dot's checks of its arguments would cost ~3x."""
        w, b, act = self.w, self.b, self._act
        s = _DOT.apply((*w, *xs, b), [*map(_DATA, w), *x_data, b.data], inside)
        return s if act is None else act.apply((s,), [s.data, *act.defaults], inside)

    def widths(self) -> tuple[int, int]:
        return self.nin, 1

    def _state_members(self) -> Iterator[tuple[str, object]]:
        yield from (("weight", [list(self.w)]), ("bias", [self.b]))  # a Linear(nin, 1)
        yield from ((k, m) for k, m in self._named_members() if k not in ("w", "b"))  # anything added

    def _config(self) -> dict[str, Any]:
        return {"nin": self.nin, "activation": self.activation}

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        return check_int(config["nin"], "config.nin", 1, MAX_WIDTH) + 1

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> Neuron:
        return cls(config["nin"], config["activation"], seed=0)

    def standard_layers(self) -> list[Step]:
        """A Linear(nin, 1), then the activation."""
        return [("linear", Linear([list(self.w)], [self.b])), *activation_step(self.activation)]

    def __repr__(self) -> str:
        return f"Neuron({self.nin} input{'s' if self.nin != 1 else ''}, activation={self.activation!r})"


class Layer(Module):
    """nout neurons reading the same nin inputs; `layer(x)` returns a list of nout Values."""

    def __init__(
        self, nin: int, nout: int, activation: str = "relu", seed: int | random.Random | None = None
    ) -> None:
        self.nin = _check_size(nin, "nin")
        self.nout = _check_size(nout, "nout")
        self.activation = _check_activation(activation)
        rng = _rng(seed)
        self.neurons = [Neuron(nin, activation, seed=rng) for _ in range(nout)]
        for j, neuron in enumerate(self.neurons):
            neuron.scope_name = f"Neuron {j}"
        self._act = ACTIVATIONS[activation]
        self.scope_name = "Layer"

    @one_path
    def forward(self, x: Input) -> list[Value]:
        """[neuron(x) for each neuron]; the inputs are converted to Values once, not per neuron."""
        xs = _as_values(x, self.nin, "Layer")
        x_data, layer_scope = list(map(_DATA, xs)), current_scope()
        # What neuron(xs) does, for the neurons that are plain Neurons without hooks, in a Scope of
        # their own (one cluster per call in the pictures) but without opening a block for each:
        # the inputs' numbers are read once for all. Together a third of the cost of a recorded step.
        return [neuron._nodes(xs, x_data, Scope(neuron.scope_name, layer_scope))
                if type(neuron).forward is Neuron.forward and not neuron.__dict__.get("_forward_hooks")
                else neuron(xs) for neuron in self.neurons]

    def widths(self) -> tuple[int, int]:
        return self.nin, self.nout

    def _state_members(self) -> Iterator[tuple[str, object]]:
        yield from (("weight", [list(n.w) for n in self.neurons]), ("bias", [n.b for n in self.neurons]))
        yield from ((k, m) for k, m in self._named_members() if not k.startswith("neurons."))  # anything added

    def _config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nout": self.nout, "activation": self.activation}

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        nin, nout = (check_int(config[k], f"config.{k}", 1, MAX_WIDTH) for k in ("nin", "nout"))
        return (nin + 1) * nout

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> Layer:
        return cls(config["nin"], config["nout"], config["activation"], seed=0)

    def standard_layers(self) -> list[Step]:
        """A Linear(nin, nout) whose row j is neuron j, then the activation."""
        linear = Linear([list(n.w) for n in self.neurons], [n.b for n in self.neurons])
        return [("linear", linear), *activation_step(self.activation)]

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout}, activation={self.activation!r})"


# Set by nn.training._compiled_fit while it records a training step: `given(dropout, n)` gives the n factors.
_GIVEN_FACTORS: ContextVar[Callable[[Dropout, int], list] | None] = ContextVar("dropout_factors", default=None)


class Dropout(Module):
    """In training mode, zero each input with probability p and scale the others by 1/(1-p).

    The scaling keeps the expected value of every output equal to its input, so in eval mode
    the layer can simply pass its inputs through (PyTorch's "inverted" dropout).
    """

    keeps_width = True

    def __init__(self, p: float = 0.5, seed: int | random.Random | None = None) -> None:
        self.p = _check_probability(p)
        self._rng = _rng(seed)
        self.scope_name = "Dropout"

    @one_path
    def forward(self, x: Sequence[Value | float] | Value) -> list[Value] | Value:
        """x unchanged in eval mode; otherwise each element kept (and scaled) with probability 1-p."""
        if isinstance(x, Value):
            return self.forward([x])[0]
        if not isinstance(x, Sequence) or isinstance(x, (str, bytes)):
            raise TypeError(f"Dropout input must be a Value or a list of Values/numbers, got {type(x).__name__}")
        xs = _as_values(x, len(x), "Dropout")
        if not self.training or self.p == 0.0:
            return xs
        # a dropped input is multiplied by 0, not removed, so the graph shows it gets no gradient
        return list(map(mul, xs, self._factors(len(xs))))

    def _config(self) -> dict[str, Any]:
        return {"p": self.p}

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        return 0

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> Dropout:
        return cls(config["p"], seed=0)

    def standard_layers(self) -> list[Step]:
        return [("dropout", self.p)] if self.p > 0.0 else []

    def replays_now(self) -> bool:
        """Whether a compiled forward may stand for this layer now: not while it draws masks (nn.modules._replay)."""
        return not self.training or self.p == 0.0

    def _factors(self, n: int) -> list[float] | list[Value]:
        """The n numbers the inputs are multiplied by: drawn here, or while fit(compile=True) records
        a step, inputs of the compiled program that fit draws with `_draw` (see nn.training._compiled_fit)."""
        given = _GIVEN_FACTORS.get()
        return self._draw(n) if given is None else given(self, n)

    def _draw(self, n: int) -> list[float]:
        """n factors from the layer's generator: 1/(1-p) with probability 1-p, else 0."""
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        return [scale if self._rng.random() >= self.p else 0.0 for _ in range(n)]

    def __repr__(self) -> str:
        return f"Dropout(p={self.p!r})"


class MLP(Module):
    """A multi-layer perceptron: nin inputs, then one Layer per entry of nouts.

    Hidden layers use `activation`; the last layer is linear (its outputs are scores/logits
    for a loss to read). With `dropout` > 0 a Dropout follows every hidden layer.
    `model(x)` returns one Value when the last layer has one neuron, else a list.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        seed: int | random.Random | None = None,
    ) -> None:
        nin = _check_size(nin, "nin")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or len(nouts) == 0:
            raise ValueError(f"nouts must be a non-empty list of layer sizes, got {nouts!r}")
        nouts = [_check_size(n, f"nouts[{i}]") for i, n in enumerate(nouts)]  # Python ints, also from NumPy's
        self.activation = _check_activation(activation)
        dropout = _check_probability(dropout)
        rng = _rng(seed)
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < last else "linear", seed=rng) for i in range(len(nouts))
        ]
        for i, layer in enumerate(self.layers):
            layer.scope_name = f"Layer {i}"
        # drawn after the weights, so adding dropout leaves the initial weights of a seed unchanged
        self.dropouts = [Dropout(dropout, seed=rng.getrandbits(64)) for _ in range(last)] if dropout else []
        self.dropout = dropout
        self.nin = nin
        self.nouts = list(nouts)
        self.scope_name = "MLP"

    @one_path
    def forward(self, x: Input) -> Value | list[Value]:
        """The output of the last layer: a Value when it has one neuron, else a list of Values."""
        out = _as_values(x, self.nin, "MLP")
        for i, layer in enumerate(self.layers):
            out = layer(out)
            if i < len(self.dropouts):
                out = self.dropouts[i](out)
        return out[0] if len(out) == 1 else out

    def widths(self) -> tuple[int, int]:
        return self.nin, self.nouts[-1]

    def _config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nouts": self.nouts, "activation": self.activation, "dropout": self.dropout}

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        nouts = config["nouts"]
        if type(nouts) is not list or not 0 < len(nouts) <= MAX_WIDTH:
            raise ValueError(f"config.nouts must be a non-empty list of layer sizes, got {type(nouts).__name__}")
        sizes = [check_int(n, f"config.{k}", 1, MAX_WIDTH) for n, k in
                 zip([config["nin"], *nouts], ["nin", *(f"nouts[{i}]" for i in range(len(nouts)))])]
        return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> MLP:
        return cls(config["nin"], config["nouts"], config["activation"], dropout=config["dropout"], seed=0)

    def standard_layers(self) -> list[Step]:
        """Per layer its Linear and activation, Dropout(p) after each hidden one when p > 0."""
        steps: list[Step] = []
        for i, layer in enumerate(self.layers):
            steps += layer.standard_layers()
            if i < len(self.dropouts):
                steps += self.dropouts[i].standard_layers()
        return steps

    def __repr__(self) -> str:
        sizes = [str(n) for n in [self.nin, *self.nouts]]
        if len(sizes) > _SHOWN_SIZES:  # a deep MLP's repr stays one readable line
            sizes = [*sizes[:3], f"... ({len(self.nouts)} layers)", *sizes[-2:]]
        sizes = " -> ".join(sizes)
        drop = f", dropout={self.dropout!r}" if self.dropout else ""
        return f"MLP({sizes}, activation={self.activation!r}{drop}, parameters={self.num_parameters()})"
