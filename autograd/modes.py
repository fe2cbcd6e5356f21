"""Per-thread recording state: `no_grad` (record no graph) and `scope` (name where a Value was made).

Every new Value reads this state once, so it lives in a `threading.local`: two threads can
evaluate under `no_grad` or inside different scopes without seeing each other's settings.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.recording = True  # False inside no_grad
        self.scope: Scope | None = None  # innermost active scope
        self.saved: list[bool] = []  # recording flags to restore, one per open no_grad


_state = _ThreadState()


def is_grad_enabled() -> bool:
    """True when new Values record their inputs (outside every `no_grad` block)."""
    return _state.recording


class no_grad:
    """Record no graph: Values made inside are leaves (`.inputs == ()`), cheap to make.

    Use as `with no_grad(): ...` or as a decorator `@no_grad()`. Blocks nest, the previous
    state comes back even when the block raises, and each thread has its own state.
    """

    def __enter__(self) -> no_grad:
        # The flag to restore is kept per thread, not on self, so one instance can be
        # entered from several threads or recursively (as a decorator it is shared).
        _state.saved.append(_state.recording)
        _state.recording = False
        return self

    def __exit__(self, *exc_info: object) -> None:
        _state.recording = _state.saved.pop()

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def without_graph(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return without_graph  # type: ignore[return-value]


class Scope:
    """A named region of a program; every Value made inside remembers it in `.scope`.

    `with scope("layer1"): ...` opens one. Scopes nest: `.parent` is the scope that was
    open when this one was entered, and `.path` names them all from the outside in. The
    graph pictures use scopes to draw a neuron or a layer as one cluster or one box.
    """

    __slots__ = ("name", "parent", "_active")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"scope name must be a str, got {type(name).__name__}")
        self.name = name
        self.parent: Scope | None = None
        self._active = False

    @property
    def path(self) -> tuple[str, ...]:
        """Names from the outermost scope to this one, e.g. ('MLP', 'Layer 0', 'Neuron 3')."""
        names = []
        node: Scope | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return tuple(reversed(names))

    def __enter__(self) -> Scope:
        if self._active:
            raise RuntimeError(f"scope {self.name!r} is already open; make a new scope per block")
        self._active = True
        self.parent = _state.scope
        _state.scope = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        _state.scope = self.parent
        self._active = False

    def __repr__(self) -> str:
        return f"Scope({'/'.join(self.path)!r})"


def scope(name: str) -> Scope:
    """A context manager: Values made inside the block get `.scope` set to the new Scope."""
    return Scope(name)


def current_scope() -> Scope | None:
    """The innermost open scope of this thread, or None."""
    return _state.scope
