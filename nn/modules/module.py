"""`Module`: the base of every network piece: parameters, gradients reset, train/eval mode, a scope.

A Module finds its parameters by itself, the way PyTorch's does: every attribute that is a
`Value`, a Module, a list/tuple of those, or a matrix (a list of equally long lists of Values,
such as an RNN's `weight_hh`) is walked in the order the attributes were set.
So a Neuron that sets `self.w` then `self.b` lists its weights, then its bias, and a user's own
Module needs no registration code.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from autograd import Value, is_grad_enabled, scope
from nn._numbers import check_bool
from nn.modules._replay import EAGER, replay, structure_changed
from nn.modules.state import IncompatibleKeys, StateValue, load_state_dict, state_dict

_HOOK_KEYS = itertools.count()  # a key per registered hook, unique in the process


class RemovableHandle:
    """What `register_forward_hook` returns: `handle.remove()` unregisters the hook (twice is harmless)."""

    def __init__(self, hooks: dict[int, Callable], key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)
        structure_changed()


def one_path(forward: Callable) -> Callable:
    """Marks a forward that builds the same graph for every input of one shape (no Python `if` on a
    number), so that under no_grad it may be replayed compiled (see nn.modules._replay)."""
    forward.one_path = True
    return forward


class Module:
    """A piece of a network: `module(x)` runs `forward(x)` inside an engine scope named after it.

    Subclasses implement `forward`. The scope makes every Value created during the call remember
    which module made it, so graph pictures can group an MLP's nodes by layer and neuron.
    """

    training: bool = True  # read by Dropout; set for the whole tree by train() / eval()
    keeps_width: bool = False  # True: gives as many numbers as it takes, however many (Dropout)
    scope_name: str = ""  # the name pictures show; '' means the class name

    def widths(self) -> tuple[int | None, int | None]:
        """(inputs, outputs): how many numbers the module takes and gives, where its construction
        says (a Layer(3, 4): (3, 4)); None where it does not. Containers check their parts with it."""
        return None, None

    # ---- how nn.save writes the module and nn.load makes it again (nn/io.py) ----
    # _config(): its constructor's arguments, as JSON; _parts(): the modules it is made of;
    # _parameter_count(config, counts): how many parameters that config makes (counts: its parts'),
    # checked before anything is built; _from_config(config, parts): the module, weights to be loaded.

    def _config(self) -> dict[str, Any]:
        raise TypeError(f"save: a {type(self).__name__} cannot be saved (only the modules nn defines)")

    def _parts(self) -> list[Module]:
        return []

    def standard_layers(self) -> list[tuple[str, object]]:
        """What the module is made of, in the standard layers of nn.modules.layout (Linear, activation, ...),
        for to_torch and export_onnx. A module of your own is not: this raises TypeError."""
        raise TypeError(f"{type(self).__name__} is not made of standard layers (it defines its own forward)")

    def forward(self, x: Any) -> Any:
        """The computation itself; subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def __call__(self, *inputs: Any, **options: Any) -> Any:
        if not options and not is_grad_enabled():  # nothing to record: replay forward compiled, when it can be
            output = replay(self, inputs)
            if output is not EAGER:
                return output
        return self._call_eagerly(inputs, options)

    def _call_eagerly(self, inputs: tuple, options: dict) -> Any:
        """forward in this module's scope, then the forward hooks."""
        with scope(self.scope_name or type(self).__name__):
            output = self.forward(*inputs, **options)
        hooks = self.__dict__.get("_forward_hooks")
        if hooks:
            for hook in list(hooks.values()):  # a hook may remove itself (or another) while they run
                changed = hook(self, inputs, output)
                if changed is not None:  # as in PyTorch, a hook that returns something replaces the output
                    output = changed
        return output

    def forward_batch(self, xs: Sequence[Any]) -> list[Any]:
        """The outputs of a whole batch of samples: `[module(x) for x in xs]`.

        A module that needs the batch at once (BatchNorm1d, whose outputs depend on every sample)
        overrides it; Sequential passes the batch on module by module, and fit and evaluate call
        it, so such a module works anywhere in a model. An override calls `_after_batch` at its end.
        """
        if is_grad_enabled():
            return [self(x) for x in xs]
        weights: dict = {}  # the parameters' numbers, read once for the batch: no step changes them inside it
        outputs = []
        for x in xs:
            output = replay(self, (x,), weights)
            outputs.append(self._call_eagerly((x,), {}) if output is EAGER else output)
        return outputs

    def _after_batch(self, xs: Sequence[Any], outputs: list[Any]) -> None:
        """The forward hooks of an overriding forward_batch, called sample by sample as `module(x)` calls them."""
        hooks = self.__dict__.get("_forward_hooks")
        for i, x in enumerate(xs if hooks else ()):
            for hook in list(hooks.values()):
                changed = hook(self, (x,), outputs[i])
                if changed is not None:
                    outputs[i] = changed

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call `hook(module, inputs, output)` after every call of this module; returns a handle to `.remove()` it.

        PyTorch's meaning: `inputs` is the tuple of the call's positional arguments, `output` what forward
        returned; a hook returning something other than None replaces the output. Hooks run in
        the order they were registered. Nothing of the module is replaced, so a hooked module
        copies and pickles as any other (each hook with it, when it can be pickled; a hook whose
        `copied_with_module` attribute is False, such as the one of fit's layer statistics,
        stays behind).
        """
        if not callable(hook):
            raise TypeError(f"register_forward_hook: hook must be a function hook(module, inputs, output), "
                            f"got {type(hook).__name__}")
        hooks = self.__dict__.setdefault("_forward_hooks", {})
        key = next(_HOOK_KEYS)
        hooks[key] = hook
        structure_changed()  # a hooked module is no longer replayed compiled: its hooks see every call
        return RemovableHandle(hooks, key)

    def __setattr__(self, name: str, value: Any) -> None:
        if name != "training":  # a new layer, weight list or constant: a compiled forward may be stale
            structure_changed()
        object.__setattr__(self, name, value)

    def __getstate__(self) -> dict[str, Any]:
        """What copy.deepcopy and pickle take of the module: its attributes, and the hooks that go with it."""
        state = dict(vars(self))
        state.pop("_programs", None)  # compiled forwards are made again where needed
        hooks = state.get("_forward_hooks")
        if hooks:
            state["_forward_hooks"] = {k: h for k, h in hooks.items() if getattr(h, "copied_with_module", True)}
        return state

    def modules(self) -> Iterator[Module]:
        """This module, then every module inside it, depth first, in attribute order, each once.

        As in PyTorch, a module held twice (or one holding itself or its parent) is listed once.
        """
        return self._modules({id(self)})

    def _modules(self, seen: set[int]) -> Iterator[Module]:
        yield self
        for item in self._items():
            if isinstance(item, Module) and id(item) not in seen:
                seen.add(id(item))
                yield from item._modules(seen)

    def parameters(self) -> list[Value]:
        """Every trainable Value, in attribute order, each once (a shared Value is listed once)."""
        params: list[Value] = []
        seen: set[int] = {id(self)}  # the ids of the Values and Modules met so far
        self._collect(params, seen)
        return params

    def _collect(self, params: list[Value], seen: set[int]) -> None:
        for item in self._items():
            if id(item) in seen:  # a shared Value, or a module met before (a cycle ends here)
                continue
            seen.add(id(item))
            if isinstance(item, Module):
                item._collect(params, seen)
            else:  # _items yields only Modules and Values
                params.append(item)

    def _items(self) -> Iterator[Module | Value]:
        for _, member in self._named_members():
            if isinstance(member, list):
                for v in member:
                    if isinstance(v, list):  # a row of a matrix
                        yield from v
                    else:
                        yield v
            else:
                yield member

    def _state_members(self) -> Iterator[tuple[str, Module | Value | list[Value] | list[list[Value]]]]:
        """The members state_dict names: the attributes (`_named_members`), unless a module says
        otherwise (a Layer is one weight matrix and one bias vector, as torch.nn.Linear)."""
        return self._named_members()

    def _named_members(self) -> Iterator[tuple[str, Module | Value | list[Value] | list[list[Value]]]]:
        """(name, member) for every attribute holding Modules or Values, in attribute order.

        The one walk that both parameters() and state_dict() read: a Module or a Value is a
        member under its attribute name; a list or tuple made only of Values is one member (a
        vector, as a 1-d tensor is in PyTorch), and so is a list of equally long, non-empty lists
        of Values (a matrix, row by row, as a 2-d tensor); the Modules and Values of any other
        list or tuple are members under `name.0`, `name.1`, ... (as in a PyTorch ModuleList).
        """
        # a copy, made in one step: another thread may add an attribute meanwhile (train() sets `training`)
        for name, attr in list(vars(self).items()):
            if isinstance(attr, (Module, Value)):
                yield name, attr
            elif isinstance(attr, (list, tuple)):
                if attr and all(isinstance(a, Value) for a in attr):
                    yield name, list(attr)
                elif _is_matrix(attr):
                    yield name, [list(row) for row in attr]
                else:
                    for i, a in enumerate(attr):
                        if isinstance(a, (Module, Value)):
                            yield f"{name}.{i}", a

    def state_dict(self) -> dict[str, StateValue]:
        """Every parameter's number by name, in PyTorch's names and shapes: a snapshot in plain floats.

        The names follow the attributes, as PyTorch's do: a Value attribute `scale` is the key
        `scale` (a float), a list of Values `w` the key `w` (a list of floats), a matrix of Values
        `weight_hh` the key `weight_hh` (a list of rows of floats), a Module attribute
        `head` gives `head.weight`, ..., a list of Modules `layers` gives `layers.0.weight`, ...
        A Layer is stored as PyTorch stores a `torch.nn.Linear(nin, nout)`: `weight`, nout rows of
        nin floats (row j holds neuron j's weights), and `bias`, nout floats. A Neuron is stored as
        a `Linear(nin, 1)`: `weight` is one row, `bias` a list of one float. So an MLP's keys are
        `layers.0.weight`, `layers.0.bias`, `layers.1.weight`, ... (Dropout has no parameters).

        A Value shared by two attributes appears under both names, as in PyTorch. The numbers are
        copied: changing the model afterwards does not change the dict (nor the other way round).
        """
        return state_dict(self)

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Set the parameters from `state` (as `state_dict()` gives it); all or nothing.

        Every key is checked against the model's names, every value against its shape, and every
        number must be a finite real (a bool, NaN or infinity is refused) before any parameter
        changes: a problem raises ValueError naming the key, and the model is left as it was.
        Values may also be torch tensors or NumPy arrays (read with `.tolist()`). A Neuron, Layer
        or MLP also accepts the keys of its `nn.to_torch` Sequential (`0.weight`, `2.weight`, ...),
        so `model.load_state_dict(nn.to_torch(other).state_dict())` works.

        strict=True: a missing or unexpected key is a ValueError naming it. strict=False: the
        matching keys are loaded and the others are reported in the result, as in PyTorch. Returns
        `IncompatibleKeys(missing_keys, unexpected_keys)`.
        """
        return load_state_dict(self, state, strict=strict)

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to 0 (gradients accumulate across backward calls)."""
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> Module:
        """Switch this module and all inside it to training mode (Dropout active); returns self."""
        check_bool(mode, "train(mode)")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (Dropout does nothing); the same as train(False)."""
        return self.train(False)

    def num_parameters(self) -> int:
        """How many trainable numbers the module has."""
        return len(self.parameters())

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _is_matrix(rows: list | tuple) -> bool:
    """True for a non-empty list of equally long, non-empty lists (or tuples) made only of Values."""
    if not rows or not all(isinstance(row, (list, tuple)) and row for row in rows):
        return False
    return len({len(row) for row in rows}) == 1 and all(isinstance(v, Value) for row in rows for v in row)
