"""`RNN`: an Elman recurrent layer, unrolled over a sequence into one graph (backpropagation through time).

One hidden state h carries what the layer has seen so far. At each time step t it reads the
input x_t and its own previous state:

    h_t = act(W_ih x_t + W_hh h_(t-1) + b),     h_(-1) = h0 (zeros unless given)

The same weights are used at every step, so the graph of a sequence of T steps is T copies of
one step chained through h, and every weight is an input of every copy. backward() on a loss
at the end then walks back through all T steps: its gradient reaching h_t is a product of one
step's local derivatives per step in between, which is why it vanishes (or explodes) over long
sequences. Each step's nodes are made inside a scope named `t=0`, `t=1`, ..., so `draw_dot`
frames them step by step, and `draw_dot(loss, collapse="t")` draws each step as one box.

This is `torch.nn.RNN(nin, nhidden, nonlinearity=...)` with one layer, for one sequence
(PyTorch's weight_ih_l0, weight_hh_l0, and bias_ih_l0 + bias_hh_l0 as one bias).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from typing import Any

from autograd import Value, dot, scope
from nn._numbers import check_int, is_real, to_float
from nn.layers import ACTIVATIONS, MAX_WIDTH, _as_values, _check_activation, _elements, _rng
from nn.layout import Recurrent
from nn.module import Module, one_path

Step = Sequence[Value | float] | Value | float


class RNN(Module):
    """An Elman RNN: `rnn(xs)` gives the hidden state after each time step of the sequence xs.

    Parameters, named and shaped like PyTorch's: `weight_ih` (nhidden lists of nin Values),
    `weight_hh` (nhidden lists of nhidden Values) and `bias` (nhidden Values; PyTorch's two
    biases b_ih + b_hh add up to this one). All start uniform in +-1/sqrt(nhidden), as in
    PyTorch; `seed` makes the draw reproducible. `activation` is "tanh" (PyTorch's default),
    "relu" (PyTorch's other choice), or any other name of `nn.ACTIVATIONS`.
    """

    def __init__(
        self, nin: int, nhidden: int, activation: str = "tanh", seed: int | random.Random | None = None
    ) -> None:
        self.nin = check_int(nin, "nin", 1)
        self.nhidden = check_int(nhidden, "nhidden", 1)
        self.activation = _check_activation(activation)
        rng = _rng(seed)
        bound = 1.0 / math.sqrt(nhidden)

        def draw(label: str) -> Value:
            return Value(rng.uniform(-bound, bound), label=label)

        self.weight_ih = [[draw(f"w_ih[{j}][{i}]") for i in range(nin)] for j in range(nhidden)]
        self.weight_hh = [[draw(f"w_hh[{j}][{k}]") for k in range(nhidden)] for j in range(nhidden)]
        self.bias = [draw(f"b[{j}]") for j in range(nhidden)]
        self._act = ACTIVATIONS[activation]
        self.scope_name = "RNN"

    @one_path
    def forward(self, xs: Iterable[Step], h0: Step | None = None) -> list[list[Value]]:
        """[h_0, h_1, ..., h_(T-1)]: the hidden state after each step, each a list of nhidden Values.

        xs is a list of T >= 1 time steps, each a list of nin numbers or Values (a bare number
        when nin == 1); h0 is the state before the first step, nhidden numbers or Values
        (zeros when left out: then the first step has no W_hh term at all, as 0 adds nothing).
        """
        if isinstance(xs, (str, bytes, Value)) or is_real(xs) or not isinstance(xs, Iterable):
            raise TypeError(f"RNN input must be a list of time steps, got {type(xs).__name__}")
        steps = [_elements(x, self.nin, f"RNN: time step {t}") for t, x in enumerate(xs)]  # all checked first
        if not steps:
            raise ValueError("RNN input is an empty sequence; it needs at least one time step")
        h = None if h0 is None else _as_values(h0, self.nhidden, "RNN: h0")
        states = []
        for t, x in enumerate(steps):
            with scope(f"t={t}"):  # a number in x becomes a leaf Value here, so pictures draw it in its step
                h = self._step([v if isinstance(v, Value) else Value(to_float(v, f"RNN: time step {t} input {i}"))
                                for i, v in enumerate(x)], h)
            states.append(h)
        return states

    def _step(self, x: list[Value], h: list[Value] | None) -> list[Value]:
        """One time step: for each hidden unit j, one dot node (W_ih[j] . x + W_hh[j] . h + b[j]) and its activation."""
        act, out = self._act, []
        for j in range(self.nhidden):
            if h is None:
                s = dot(self.weight_ih[j], x, self.bias[j])
            else:
                s = dot([*self.weight_ih[j], *self.weight_hh[j]], [*x, *h], self.bias[j])
            out.append(s if act is None else act(s))
        return out

    def _config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nhidden": self.nhidden, "activation": self.activation}

    @classmethod
    def _parameter_count(cls, config: dict, counts: list[int]) -> int:
        nin, nhidden = (check_int(config[k], f"config.{k}", 1, MAX_WIDTH) for k in ("nin", "nhidden"))
        return nhidden * (nin + nhidden + 1)

    @classmethod
    def _from_config(cls, config: dict, parts: list[Module]) -> RNN:
        return cls(config["nin"], config["nhidden"], config["activation"], seed=0)

    def standard_layers(self) -> list[tuple[str, object]]:
        return [("rnn", Recurrent([list(r) for r in self.weight_ih], [list(r) for r in self.weight_hh],
                                  list(self.bias), self.activation))]

    def __repr__(self) -> str:
        return f"RNN({self.nin} -> {self.nhidden}, activation={self.activation!r})"
