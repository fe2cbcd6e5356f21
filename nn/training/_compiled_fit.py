"""`fit(compile=True)`: the training step recorded once per batch shape and replayed as a program.

A step's graph has the same shape at every step of the same batch size: `autograd.compile`
records it once and replays it as Python on floats (the batch's samples as one loop).
Everything that changes from step to step is an input of the program, in this order:

    the parameters | the batch's inputs | its targets | dropout's factors

so the program carries no number of the batch it was recorded on. Its outputs are the loss, the
model's outputs, then each BatchNorm1d's batch means and variances, from which fit updates the
running statistics as the eager step does. Dropout's factors are drawn by
each Dropout layer from its own generator in the order the eager step draws them (the layers and
counts recorded once per shape), so the same seed gives the same masks with or without compile.
The parameters get `.grad` as `loss.backward()` would give it (after `zero_grad`, the gradient
added to 0.0), and the optimizer steps as usual: same numbers, bit for bit.

The first step of each shape is recorded, and taken on the recording's own graph (an eager
graph: its loss.backward() is the eager step's); with a Dropout in the model an eager step comes
first, to learn which layers draw how many factors. The program takes over from the second step,
whose numbers differ: autograd.compile checks that first replay against an eager run, so
a model or loss that branches on a number raises TraceMismatchError instead of training wrongly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from itertools import chain

import autograd
from autograd import Value
from nn._numbers import to_float
from nn.modules.batchnorm import BATCH_STATISTICS_NOTE, BatchNorm1d
from nn.modules.layers import _GIVEN_FACTORS, Dropout
from nn.modules.module import Module
from nn.training._eager_fit import EagerFit, checked_loss
from nn.training.optim import Optimizer

Shape = tuple | None  # None for a number, else one Shape per element of a list


def _shape(item: object) -> Shape:
    """The nesting of a sample's input, target or output: None for a number (or Value)."""
    if isinstance(item, (list, tuple)):
        if set(map(type, item)) <= {float}:  # the common case, a sample's inputs: checked at C speed
            return (None,) * len(item)
        return tuple(_shape(element) for element in item)
    return None


def _numbers(item: object, into: list[float], what: str) -> list[float]:
    """Every number of item, depth first (a Value gives its .data); `what` names item in an error."""
    if isinstance(item, (list, tuple)):
        if set(map(type, item)) <= {float}:  # the common case, a sample's inputs: checked at C speed
            into += item
        else:
            for element in item:
                _numbers(element, into, what)
    else:
        into.append(item.data if isinstance(item, Value) else to_float(item, what))
    return into


def _batch(items: Sequence, what: str) -> tuple[tuple[Shape, ...], list[float]]:
    """The shape of each of a batch's inputs (or targets) and all their numbers, depth first.

    The common cases (rows of floats; numbers) are read at C speed: a step's Python loop over its
    2,048 inputs cost as much as a tenth of the compiled digits step."""
    kinds = set(map(type, items))
    if kinds <= {list, tuple}:
        numbers = list(chain.from_iterable(items))
        if set(map(type, numbers)) <= {float}:
            return tuple((None,) * len(item) for item in items), numbers
    elif kinds <= {float, int}:
        try:
            return (None,) * len(items), list(map(float, items))
        except OverflowError:  # an int too large for a float: _numbers says so
            pass
    return tuple(map(_shape, items)), _numbers(items, [], what)


def _rebuild(shape: Shape, leaves: Iterator) -> object:
    """An item of the given shape, its numbers taken from leaves in order."""
    return next(leaves) if shape is None else [_rebuild(s, leaves) for s in shape]


class _Program:
    """One compiled step for one batch shape, and the dropout draws it takes as inputs."""

    def __init__(self, fast: autograd.Compiled, plan: list[tuple[Dropout, int]], outputs: list[Shape],
                 norms: list[BatchNorm1d]) -> None:
        self.fast, self.plan, self.outputs, self.norms = fast, plan, outputs, norms

    def track(self, statistics: Sequence[float]) -> None:
        """Each BatchNorm1d's running statistics from the batch's, which the program gives after the outputs."""
        at = len(statistics) - sum(2 * bn.num_features for bn in self.norms)
        for bn in self.norms:
            n = bn.num_features
            bn.track(list(statistics[at:at + n]), list(statistics[at + n:at + 2 * n]))
            at += 2 * n

    def factors(self) -> list[float]:
        """This step's dropout factors, drawn as the eager step draws them: layer by layer, in call order."""
        return [f for dropout, n in self.plan for f in dropout._draw(n)]

    def outputs_of(self, numbers: Sequence[float]) -> list:
        leaves = iter(numbers)
        return [_rebuild(shape, leaves) for shape in self.outputs]


class CompiledFit:
    """The compiled training steps of one `fit` run, one per batch shape.

    Evaluation (validation in fit, `evaluate`) is not theirs: under no_grad a model's forward_batch
    replays its own compiled forward (nn.modules._replay).
    """

    def __init__(self, model: Module, loss_fn: Callable, optimizer: Optimizer, params: list[Value]) -> None:
        self.model, self.loss_fn, self.optimizer, self.params = model, loss_fn, optimizer, params
        self._eager = EagerFit(model, loss_fn, optimizer, params)
        self._programs: dict[tuple, _Program] = {}
        self._largest = 0  # the most samples in a batch so far

    def train_step(self, xs: Sequence, targets: Sequence) -> tuple[float, list]:
        """One step's forward and backward: sets every parameter's .grad as zero_grad() and
        loss.backward() do; returns the loss and the outputs (as numbers)."""
        x_shapes, inputs = _batch(xs, "fit: an input of the batch")
        t_shapes, targets_numbers = _batch(targets, "fit: a target of the batch")
        key = (x_shapes, t_shapes)
        inputs += targets_numbers
        program = self._programs.get(key)
        if program is None:
            # A batch smaller than one already met (an epoch's last, short batch) comes once an epoch:
            # recording and compiling its step costs more eager steps than it would ever save.
            if len(xs) < self._largest:
                return self._eager_step(xs, targets, None)
            self._largest = len(xs)
            return self._first_step(key, xs, targets, inputs)
        values, grads = program.fast.value_and_grad(*self._parameters(), *inputs, *program.factors())
        self.optimizer.zero_grad()
        for p, g in zip(self.params, grads):
            p.grad += g  # as backward adds its sum to the 0.0 that zero_grad left
        program.track(values)
        return values[0], program.outputs_of(values[1:])

    def _parameters(self) -> list[float]:
        return [p.data for p in self.params]

    def _first_step(self, key: tuple, xs: Sequence, targets: Sequence, inputs: list[float]) -> tuple[float, list]:
        """The step recorded, and taken on the recording's graph (its numbers are the eager step's); with
        a Dropout, the eager step fit takes without compile first, noting the draws the recording takes."""
        if not any(isinstance(m, Dropout) for m in self.model.modules()):
            traced: list[Value] = []
            program = self._programs[key] = self._record(key, inputs, [], [], traced)
            self.optimizer.zero_grad()
            traced[0].backward()
            values = [v.data for v in traced]
            program.track(values)
            return values[0], program.outputs_of(values[1:])
        plan: list[tuple[Dropout, int]] = []
        factors: list[float] = []

        def draw(dropout: Dropout, n: int) -> list[float]:
            plan.append((dropout, n))
            factors.extend(dropout._draw(n))
            return factors[len(factors) - n :]

        def record() -> None:
            self._programs[key] = self._record(key, inputs, factors, plan)

        return self._eager_step(xs, targets, draw, record)

    def _eager_step(self, xs: Sequence, targets: Sequence, draw: Callable | None,
                    record: Callable[[], None] | None = None) -> tuple[float, list]:
        """fit's eager step (`draw` given: dropout's factors taken from it), with `record()` between
        the forward and the backward pass."""
        with _given(draw) if draw is not None else nullcontext():
            return self._eager.train_step(xs, targets, record)

    def _record(self, key: tuple, inputs: list[float], factors: list[float],
                plan: list[tuple[Dropout, int]], traced: list[Value] | None = None) -> _Program:
        """The step for this shape of batch, compiled (`traced` given: the recording's outputs put in it)."""
        x_shapes, t_shapes = key
        model, loss_fn, n_params = self.model, self.loss_fn, len(self.params)
        output_shapes: list[Shape] = []
        norms: list[BatchNorm1d] = []

        def step(*leaves: Value) -> tuple[Value, ...]:
            rest = iter(leaves[n_params:])
            xs = [_rebuild(shape, rest) for shape in x_shapes]
            ts = [_rebuild(shape, rest) for shape in t_shapes]
            statistics: list[Value] = []
            norms.clear()

            def note(bn: BatchNorm1d, values: list[Value]) -> None:
                norms.append(bn)
                statistics.extend(values)

            token = BATCH_STATISTICS_NOTE.set(note)
            try:
                with _given(lambda dropout, n: [next(rest) for _ in range(n)]):  # the inputs after the targets
                    nested = model.forward_batch(xs)
            finally:
                BATCH_STATISTICS_NOTE.reset(token)
            output_shapes[:] = map(_shape, nested)
            loss = checked_loss(loss_fn(nested, ts))
            outputs = (loss, *_values(nested, []), *statistics)
            if traced is not None and not traced:  # the recording's (not a later check's)
                traced.extend(outputs)
            return outputs

        fast = autograd.compile(step, *self.params, *inputs, *factors, wrt=list(range(n_params)))
        return _Program(fast, list(plan), output_shapes, norms)


@contextmanager
def _given(factors: Callable[[Dropout, int], list]) -> Iterator[None]:
    """Every Dropout called inside takes its factors from `factors(dropout, n)`."""
    token = _GIVEN_FACTORS.set(factors)
    try:
        yield
    finally:
        _GIVEN_FACTORS.reset(token)


def _values(item: object, into: list[Value]) -> list[Value]:
    """Every Value of a model's output (a Value or nested lists of them), depth first."""
    if isinstance(item, (list, tuple)):
        for element in item:
            _values(element, into)
    else:
        into.append(item)
    return into
