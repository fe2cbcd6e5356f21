"""`state_dict` and `load_state_dict`: a module's parameters by name, as PyTorch names and shapes them.

    >>> from nn import MLP
    >>> state = MLP(2, [3, 1], seed=0).state_dict()
    >>> list(state)
    ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']
    >>> len(state["layers.0.weight"]), len(state["layers.0.weight"][0])   # nout rows of nin, as torch.nn.Linear
    (3, 2)

A state dict holds plain Python floats (a 0-d tensor is a float, a 1-d tensor a list, a 2-d
tensor a list of rows), so it needs no PyTorch, prints readably, and goes into JSON as it is.
`torch.tensor(value)` turns any entry into the tensor PyTorch keeps under the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from autograd import Value
from nn._numbers import check_bool, check_datum
from nn.modules.layout import Linear, standard_layers

if TYPE_CHECKING:
    from nn.modules.module import Module

StateValue = float | list[float] | list[list[float]]
_SHOWN = 8  # keys listed in one error message before "and N more"


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict` could not match, as PyTorch reports it (both empty when all matched)."""

    missing_keys: list[str]  # the model has these parameters, the state has no value for them
    unexpected_keys: list[str]  # the state has these keys, the model has no such parameter

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"  # PyTorch's words, familiar to its users
        return f"IncompatibleKeys(missing_keys={self.missing_keys!r}, unexpected_keys={self.unexpected_keys!r})"


@dataclass(frozen=True)
class _Entry:
    """One tensor of the state: its name, its Values in row-major order, and its shape."""

    name: str
    values: list[Value]
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Tensor:
    """A state member of more than two dimensions (a convolution's kernel), as `_state_members`
    gives it: its Values flat in row-major order, and its shape."""

    values: list[Value]
    shape: tuple[int, ...]


def _linear_entries(lin: Linear, prefix: str) -> list[_Entry]:
    flat = [v for row in lin.weight for v in row]
    return [_Entry(f"{prefix}weight", flat, (lin.nout, lin.nin)), _Entry(f"{prefix}bias", list(lin.bias), (lin.nout,))]


def _entries(module: Module, prefix: str = "", holders: tuple[Module, ...] = ()) -> list[_Entry]:
    """The module's tensors under PyTorch's names (see Module.state_dict), in parameter order:
    what each module's `_state_members` says it is made of.

    `holders` are the modules on the way down to this one: meeting one of them again is a cycle,
    whose names would never end (PyTorch recurses until Python's stack runs out), so it is a
    ValueError naming the attribute that closes it."""
    entries: list[_Entry] = []
    holders = (*holders, module)
    for name, member in module._state_members():
        if isinstance(member, Tensor):
            entries.append(_Entry(prefix + name, list(member.values), tuple(member.shape)))
        elif hasattr(member, "_state_members"):  # a module (this file is below nn.modules.module: no import of it)
            if any(member is h for h in holders):
                raise ValueError(f"state_dict: {prefix}{name} of the {type(holders[0]).__name__} holds the "
                                 f"{type(member).__name__} it is part of (a cycle): its parameters would have "
                                 "endless names; keep the reference outside the module's attributes")
            entries += _entries(member, f"{prefix}{name}.", holders)
        elif isinstance(member, Value):
            entries.append(_Entry(prefix + name, [member], ()))
        elif member and isinstance(member[0], list):  # a matrix, stored row by row
            entries.append(_Entry(prefix + name, [v for row in member for v in row], (len(member), len(member[0]))))
        else:
            entries.append(_Entry(prefix + name, member, (len(member),)))
    return entries


def _sequential_entries(model: Module) -> list[_Entry]:
    """The tensors under the names of `nn.to_torch(model)` (`0.weight`, `0.bias`, `2.weight`, ...), for a
    model made of Linear, activation and Dropout steps; none for any other."""
    try:
        steps = standard_layers(model)
    except TypeError:
        return []
    if any(kind not in ("linear", "activation", "dropout") for kind, _ in steps):
        return []
    entries: list[_Entry] = []
    for j, (kind, step) in enumerate(steps):
        if kind == "linear":
            entries += _linear_entries(step, f"{j}.")
    return entries


def state_dict(module: Module) -> dict[str, StateValue]:
    """Module.state_dict: every tensor by name, as floats (a copy)."""
    state: dict[str, StateValue] = {}
    for entry in _entries(module):
        data = [v.data for v in entry.values]
        if entry.shape == ():
            state[entry.name] = data[0]
        else:
            state[entry.name] = _nest(data, entry.shape)
    return state


def _nest(data: list[float], shape: tuple[int, ...]) -> list:
    """Flat row-major numbers as nested lists of the shape."""
    if len(shape) == 1:
        return data
    step = len(data) // shape[0]
    return [_nest(data[r * step:(r + 1) * step], shape[1:]) for r in range(shape[0])]


def load_state_dict(module: Module, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
    """Module.load_state_dict: check every key, shape and number, then set them all (or none)."""
    check_bool(strict, "load_state_dict: strict")
    if not isinstance(state, Mapping):
        raise TypeError(f"load_state_dict: state must be a dict of name -> numbers (as state_dict() gives), "
                        f"got {type(state).__name__}")
    entries = _entries(module)
    keys = set(state)
    if not {e.name for e in entries} & keys:
        # none of the model's own names: maybe the names of its to_torch Sequential
        sequential = _sequential_entries(module)
        if {e.name for e in sequential} & keys:
            entries = sequential
    return _load(module, entries, state, strict, "load_state_dict")


def _load(module: Module, entries: list[_Entry], state: Mapping, strict: bool, who: str) -> IncompatibleKeys:
    """Match `state` to `entries` by name, check every value, then set them all; errors start with `who`."""
    names = {e.name for e in entries}
    missing = [e.name for e in entries if e.name not in state]
    unexpected = [k for k in state if k not in names]
    if strict and (missing or unexpected):
        problems = [f"missing {_keys(missing)}"] if missing else []
        problems += [f"unexpected {_keys(unexpected)}"] if unexpected else []
        raise ValueError(f"{who}: the state does not fit this {type(module).__name__}: {'; '.join(problems)}")

    new: dict[int, tuple[Value, float, str]] = {}  # id(parameter) -> (parameter, number, key)
    for entry in entries:
        if entry.name not in state:
            continue
        for v, x in zip(entry.values, _read(state[entry.name], entry.shape, entry.name, who)):
            earlier = new.get(id(v))
            if earlier is not None and earlier[1] != x:
                raise ValueError(f"{who}: {earlier[2]!r} and {entry.name!r} are the same parameter "
                                 f"(a shared Value) but give it different numbers, {earlier[1]!r} and {x!r}")
            new[id(v)] = (v, x, entry.name)
    for v, x, _ in new.values():  # only now, when everything has been checked
        v.data = x
    return IncompatibleKeys(missing, unexpected)


def _keys(keys: list) -> str:
    shown = ", ".join(repr(k) for k in keys[:_SHOWN])
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return f"key{'s' if len(keys) > 1 else ''} {shown}{more}"


def _read(value: object, shape: tuple[int, ...], key: str, who: str) -> list[float]:
    """value as a flat row-major list of floats, after checking its shape and every number."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, (list, tuple)):  # a torch tensor or a NumPy array
        # its shape first: a wrong one is refused before a huge array becomes a list of floats
        array_shape = _as_shape(getattr(value, "shape", None))
        if array_shape is not None and array_shape != shape:
            raise ValueError(f"{who}: {key!r} must have shape {_shape_text(shape)}, "
                             f"got shape {_shape_text(array_shape)}")
        value = tolist()
    if not _fits(value, shape):
        got = _outline(value)
        what = "a ragged nested list" if got is None or got == shape else f"shape {_shape_text(got)}"
        raise ValueError(f"{who}: {key!r} must have shape {_shape_text(shape)}, got {what}")
    if len(shape) == 0:
        return [check_datum(value, f"{who}: {key!r}")]
    if len(shape) == 1:
        return [check_datum(x, f"{who}: {key!r}[{i}]") for i, x in enumerate(value)]
    if len(shape) == 2:
        return [check_datum(x, f"{who}: {key!r}[{r}][{c}]") for r, row in enumerate(value) for c, x in enumerate(row)]
    return [x for r, part in enumerate(value) for x in _read(part, shape[1:], f"{key}[{r}]", who)]


def _as_shape(shape: object) -> tuple[int, ...] | None:
    """An array's `.shape` (a tuple, a torch.Size) as a tuple of ints; None if it is not one."""
    try:
        return tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        return None


def _fits(value: object, shape: tuple[int, ...]) -> bool:
    """Whether nested lists have exactly `shape` (a non-list is shape ()). It stops at the first
    list of the wrong length, so a huge wrong value costs no more than the expected size."""
    if not shape:
        return not isinstance(value, (list, tuple))
    return isinstance(value, (list, tuple)) and len(value) == shape[0] and all(_fits(x, shape[1:]) for x in value)


def _outline(value: object) -> tuple[int, ...] | None:
    """The shape of nested lists read along their first items (what an error shows): a few
    steps, whatever the size; None when deeper than 4."""
    dims: list[int] = []
    while isinstance(value, (list, tuple)):
        if len(dims) == 4:
            return None
        dims.append(len(value))
        value = value[0] if value else None
    return tuple(dims)


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 0:
        return "() (one number)"
    if len(shape) == 1:
        return f"({shape[0]},) (a list of {_count(shape[0], 'number')})"
    if len(shape) == 2:
        return f"{shape} ({_count(shape[0], 'row')} of {_count(shape[1], 'number')})"
    return str(shape)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"
