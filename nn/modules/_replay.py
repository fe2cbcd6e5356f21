"""A module's forward under `no_grad`, replayed as a compiled program on floats.

A module defines `forward` once, on Values. Under `no_grad` nothing is recorded, so what costs is
making a Value per operation; `autograd.compile` traces that same forward once per shape of input
and replays it as straight-line Python over floats, bit for bit the numbers forward computes.
Evaluation, the live view and decision-boundary grids get this speed without a second forward
written by hand.

A module is replayed only when every module inside it says its forward builds the same graph for
every input of one shape (`@one_path` on forward: no Python `if` on a number) and none of them
has forward hooks (they must see each call); a module whose mode decides (Dropout, drawing
its masks in training mode) says at each call with `replays_now()`. A subclass that overrides forward is called as it
is, unless it marks its own forward. The first calls with a shape run eagerly (`WARM_UP`): one
call alone does not pay for tracing. The program takes the parameters as inputs, so a changed
weight needs no new trace; setting any attribute of a module (a new layer, another eps) or adding
a hook discards every program (`Module.__setattr__` counts such changes in `structure_changed`).
A list of modules or Values changed in place is not noticed: set the attribute again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import autograd
from autograd import Value

if TYPE_CHECKING:
    from nn.modules.module import Module

WARM_UP = 3  # eager calls with one shape of input before it is compiled
MAX_PROGRAMS = 16  # shapes of input a module keeps programs for (each holds its traced graph); others run eagerly
EAGER = object()  # what `replay` returns when the call must run eagerly

_version = [0]  # how many times a module's attributes have changed in this process


def structure_changed() -> None:
    """Every compiled forward is stale: a module's attribute or hooks have changed."""
    _version[0] += 1


def _flatten(item: object, into: list[float]) -> object:
    """The shape of an input (None for a number, else a tuple per element), its numbers appended to into."""
    if isinstance(item, (list, tuple)):
        if set(map(type, item)) <= {float}:  # the common case, a sample's numbers: at C speed
            into += item
            return (None,) * len(item)
        return tuple(_flatten(element, into) for element in item)
    if type(item) is float:
        into.append(item)
    elif isinstance(item, float):  # a NumPy float64, say
        into.append(float(item))
    elif isinstance(item, Value):
        into.append(item.data)
    elif isinstance(item, int) and not isinstance(item, bool) and abs(item) < 2**53:
        into.append(float(item))
    else:  # anything else (a bool, a huge int, a str): forward says what is wrong with it
        raise _NotReplayable
    return None


def _rebuild(shape: object, leaves: Iterator) -> object:
    return next(leaves) if shape is None else [_rebuild(s, leaves) for s in shape]


class _NotReplayable(Exception):  # noqa: N818 - a signal, caught here
    pass


class _Program:
    """One module's forward for one shape of input, compiled; or None when it runs eagerly."""

    __slots__ = ("version", "calls", "eager", "fast", "params", "outputs", "watch")

    def __init__(self) -> None:
        self.version, self.calls, self.eager = _version[0], 0, False
        self.fast: autograd.Compiled | None = None
        self.params: list[Value] = []
        self.outputs: object = None  # the output's shape
        self.watch: list[Module] = []  # modules whose mode decides whether a replay is right (Dropout)


def replay(module: Module, inputs: tuple, weights: dict | None = None) -> Any:
    """module(*inputs) under no_grad from its compiled program, or EAGER when it must run as it is.

    `weights`, given for the calls of one batch, keeps each program with its parameter numbers
    fixed after the first call (a digits MLP has 2,410: reading and checking them per sample cost
    as much as the forward)."""
    numbers: list[float] = []
    try:
        shape = _flatten(inputs, numbers)
    except _NotReplayable:
        return EAGER
    programs = module.__dict__.get("_programs")
    if programs is None:
        programs = module.__dict__["_programs"] = {}
    program = programs.get(shape)
    if program is None or program.version != _version[0]:
        if program is None and len(programs) >= MAX_PROGRAMS:
            return EAGER
        program = programs[shape] = _Program()
    if program.fast is None:
        program.calls += 1
        if program.eager or program.calls < WARM_UP or not _compile(module, program, shape, numbers):
            return EAGER
    if not all(m.replays_now() for m in program.watch):
        return EAGER
    if weights is None:
        values = program.fast(*[p.data for p in program.params], *numbers)
    else:
        fast = weights.get(id(program))
        if fast is None:
            fast = weights[id(program)] = program.fast.partial(*[p.data for p in program.params])
        values = fast(*numbers)
    return _rebuild(program.outputs, iter([Value(v) for v in values]))


def _compile(module: Module, program: _Program, shape: object, numbers: list[float]) -> bool:
    modules = list(module.modules())
    if not all(getattr(type(m).forward, "one_path", False) and not m.__dict__.get("_forward_hooks")
               for m in modules):
        program.eager = True  # for this structure
        return False
    params = module.parameters()
    n = len(params)

    def forward(*leaves: Value) -> tuple[Value, ...]:
        rest = iter(leaves[n:])
        output = module.forward(*_rebuild(shape, rest))
        values: list[Value] = []
        program.outputs = _shape_of(output, values)
        return tuple(values)

    try:
        fast = autograd.compile(forward, *params, *numbers)
        fast(*[p.data for p in params], *numbers)  # the first replay, which compile checks against eager
    except Exception:  # noqa: BLE001 - a forward it cannot replay (or bad input) runs eagerly, and says so itself
        program.eager = True
        return False
    program.fast, program.params = fast, params
    program.watch = [m for m in modules if hasattr(m, "replays_now")]
    return True


def _shape_of(output: object, values: list[Value]) -> object:
    if isinstance(output, (list, tuple)):
        return tuple(_shape_of(element, values) for element in output)
    if not isinstance(output, Value):
        raise _NotReplayable
    values.append(output)
    return None
