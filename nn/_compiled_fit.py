"""`fit(compile=True)`: the training step recorded once per batch shape and replayed as a program.

A step's graph has the same shape at every step of the same batch size: `autograd.compile`
records it once and replays it as straight-line Python on floats. Everything that changes from
step to step is an input of the program, in this order:

    the parameters | the batch's inputs | its targets | dropout's factors

so the program carries no number of the batch it was recorded on. Dropout's factors are drawn by
each Dropout layer from its own generator in the order the eager step draws them (the layers and
counts recorded once per shape), so the same seed gives the same masks with or without compile.
The parameters get `.grad` as `loss.backward()` would give it (after `zero_grad`, the gradient
added to 0.0), and the optimizer steps as usual: same numbers, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import autograd
from autograd import Value, no_grad
from nn.layers import _GIVEN_FACTORS, Dropout
from nn.module import Module
from nn.optim import Optimizer

Shape = tuple | None  # None for a number, else one Shape per element of a list


def _shape(item: object) -> Shape:
    """The nesting of a sample's input, target or output: None for a number (or Value)."""
    if isinstance(item, (list, tuple)):
        return tuple(_shape(element) for element in item)
    return None


def _numbers(item: object, into: list[float]) -> list[float]:
    """Every number of item, depth first (a Value gives its .data)."""
    if isinstance(item, (list, tuple)):
        for element in item:
            _numbers(element, into)
    else:
        into.append(item.data if isinstance(item, Value) else float(item))
    return into


def _rebuild(shape: Shape, leaves: Iterator) -> object:
    """An item of the given shape, its numbers taken from leaves in order."""
    return next(leaves) if shape is None else [_rebuild(s, leaves) for s in shape]


class _Program:
    """One compiled step for one batch shape, with the dropout draws it takes as inputs."""

    def __init__(self, fast: autograd.Compiled, plan: list[tuple[Dropout, int]], outputs: list[Shape]) -> None:
        self.fast, self.plan, self.outputs = fast, plan, outputs

    def factors(self) -> list[float]:
        """This step's dropout factors, drawn as the eager step draws them: layer by layer, in call order."""
        return [f for dropout, n in self.plan for f in dropout._draw(n)]

    def outputs_of(self, numbers: Sequence[float]) -> list:
        leaves = iter(numbers)
        return [_rebuild(shape, leaves) for shape in self.outputs]


class CompiledFit:
    """The compiled programs of one `fit` run: training steps and evaluations, one per shape."""

    def __init__(self, model: Module, loss_fn: Callable, optimizer: Optimizer, params: list[Value]) -> None:
        self.model, self.loss_fn, self.optimizer, self.params = model, loss_fn, optimizer, params
        self._programs: dict[tuple, _Program] = {}

    def train_step(self, xs: Sequence, targets: Sequence) -> tuple[float, list]:
        """One step's forward and backward: sets every parameter's .grad as zero_grad() and
        loss.backward() would; returns the loss and the outputs (as numbers)."""
        program, inputs = self._program(xs, targets, training=True)
        factors = program.factors()
        values, grads = program.fast.value_and_grad(*self._parameters(), *inputs, *factors)
        self.optimizer.zero_grad()
        for p, g in zip(self.params, grads):
            p.grad += g  # as backward adds its sum to the 0.0 zero_grad left
        return values[0], program.outputs_of(values[1:])

    def evaluate(self, X: Sequence, y: Sequence) -> tuple[float, float]:
        """(loss, accuracy) on (X, y), in eval mode, as nn.evaluate computes them."""
        from nn.train import accuracy  # nn.train imports this module

        was_training = self.model.training
        self.model.eval()
        try:
            program, inputs = self._program(X, (), training=False)
            outputs = program.outputs_of(program.fast(*self._parameters(), *inputs))
            with no_grad():
                return self.loss_fn(outputs, list(y)).data, accuracy(outputs, y)
        finally:
            self.model.train(was_training)

    def _parameters(self) -> list[float]:
        return [p.data for p in self.params]

    def _program(self, xs: Sequence, targets: Sequence, training: bool) -> tuple[_Program, list[float]]:
        """The program for this shape of batch (recorded the first time), and the batch's numbers."""
        x_shapes, t_shapes = tuple(map(_shape, xs)), tuple(map(_shape, targets))
        inputs = _numbers(targets, _numbers(xs, []))
        key = (training, x_shapes, t_shapes)
        program = self._programs.get(key)
        if program is None:
            program = self._programs[key] = self._record(x_shapes, t_shapes, inputs, training)
        return program, inputs

    def _record(self, x_shapes: tuple, t_shapes: tuple, inputs: list[float], training: bool) -> _Program:
        model, loss_fn, n_params = self.model, self.loss_fn, len(self.params)

        def step(*leaves: Value) -> tuple[Value, ...]:
            rest = iter(leaves[n_params:])
            xs = [_rebuild(shape, rest) for shape in x_shapes]
            ts = [_rebuild(shape, rest) for shape in t_shapes]
            token = _GIVEN_FACTORS.set(lambda dropout, n: [next(rest) for _ in range(n)])  # the rest
            try:
                outputs = [model(x) for x in xs]
                if not training:
                    return tuple(_values(outputs, []))
                loss = loss_fn(outputs, ts)
            finally:
                _GIVEN_FACTORS.reset(token)
            if not isinstance(loss, Value):
                raise TypeError(f"fit: loss_fn must return a Value, got {type(loss).__name__}")
            return (loss, *_values(outputs, []))

        plan, outputs = self._dropout_plan(x_shapes, inputs)
        factors = [1.0] * sum(n for _, n in plan)  # any numbers: the program only needs to see them as inputs
        fast = autograd.compile(step, *self.params, *inputs, *factors, wrt=list(range(n_params)))
        return _Program(fast, plan, [_shape(o) for o in outputs])

    def _dropout_plan(self, x_shapes: tuple, inputs: list[float]) -> tuple[list[tuple[Dropout, int]], list]:
        """Which Dropout layers draw how many factors, in call order, and the outputs: one forward pass
        that draws nothing (each layer's generator is left as it was)."""
        plan: list[tuple[Dropout, int]] = []

        def count(dropout: Dropout, n: int) -> list[float]:
            plan.append((dropout, n))
            return [1.0] * n

        leaves = iter(inputs)
        token = _GIVEN_FACTORS.set(count)
        try:
            outputs = [self.model(_rebuild(shape, leaves)) for shape in x_shapes]
        finally:
            _GIVEN_FACTORS.reset(token)
        return plan, outputs


def _values(item: object, into: list[Value]) -> list[Value]:
    """Every Value of a model's output (a Value or nested lists of them), depth first."""
    if isinstance(item, (list, tuple)):
        for element in item:
            _values(element, into)
    else:
        into.append(item)
    return into
