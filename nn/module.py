"""`Module`: the base of every network piece: parameters, gradients reset, train/eval mode, a scope.

A Module finds its parameters by itself, the way PyTorch's does: every attribute that is a
`Value`, a Module, or a list/tuple of those is walked in the order the attributes were set.
So a Neuron that sets `self.w` then `self.b` lists its weights, then its bias, and a user's own
Module needs no registration code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from autograd import Value, scope


class Module:
    """A piece of a network: `module(x)` runs `forward(x)` inside an engine scope named after it.

    Subclasses implement `forward`. The scope makes every Value created during the call remember
    which module made it, so graph pictures can group an MLP's nodes by layer and neuron.
    """

    training: bool = True  # read by Dropout; set for the whole tree by train() / eval()
    scope_name: str = ""  # the name pictures show; '' means the class name

    def forward(self, x: Any) -> Any:
        """The computation itself; subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def __call__(self, x: Any) -> Any:
        with scope(self.scope_name or type(self).__name__):
            return self.forward(x)

    def modules(self) -> Iterator[Module]:
        """This module, then every module inside it, depth first, in attribute order."""
        yield self
        for item in self._items():
            if isinstance(item, Module):
                yield from item.modules()

    def parameters(self) -> list[Value]:
        """Every trainable Value, in attribute order, each once (a shared Value is listed once)."""
        params: list[Value] = []
        seen: set[int] = set()
        self._collect(params, seen)
        return params

    def _collect(self, params: list[Value], seen: set[int]) -> None:
        for item in self._items():
            if isinstance(item, Module):
                item._collect(params, seen)
            elif id(item) not in seen:  # _items yields only Modules and Values
                seen.add(id(item))
                params.append(item)

    def _items(self) -> Iterator[Module | Value]:
        for attr in vars(self).values():
            if isinstance(attr, (list, tuple)):
                yield from (a for a in attr if isinstance(a, (Module, Value)))
            elif isinstance(attr, (Module, Value)):
                yield attr

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to 0 (gradients accumulate across backward calls)."""
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> Module:
        """Switch this module and all inside it to training mode (Dropout active); returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) needs a bool, got {type(mode).__name__}")
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
