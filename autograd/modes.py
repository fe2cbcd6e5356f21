"""Recording state: `no_grad` (record no graph), `scope` (name where a Value was made) and
`detect_anomaly` (check every number, and remember where each node was made).

Every new Value reads this state, so it lives in one `contextvars.ContextVar` (read in ~20 ns,
five times faster than a `threading.local`): each thread, and each asyncio task, has its own,
so two threads can evaluate under `no_grad` or inside different scopes without seeing each
other's settings.

The state is a small immutable named tuple (recording, scope, outer: the state before); `recording` is False,
True, or CHECKING (recording under detect_anomaly, which is truthy). Entering a block
sets a new tuple that links to the one before; leaving it restores that one. Nothing is kept
on the context-manager objects, so one `no_grad()` can be entered recursively or from
several threads at once.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

F = TypeVar("F", bound=Callable[..., Any])



class _Mode(NamedTuple):
    """The recording state of a thread (see the module docstring)."""

    recording: object  # False, True, or CHECKING (recording under detect_anomaly, truthy)
    scope: Scope | None  # the innermost open Scope
    outer: _Mode | None  # the state to restore on leaving the block


_mode: contextvars.ContextVar[_Mode] = contextvars.ContextVar(
    "chainrule_mode", default=_Mode(True, None, None))  # noqa: B039 - a tuple, immutable
# Looked up once: `_mode.get()` finds the method anew on each call, ~10x the cost of the call
# itself in CPython 3.11, and every new Value reads the state.
_get_mode = _mode.get




class _Checking:
    """The recording state under detect_anomaly: truthy, so everything that records still does."""

    def __repr__(self) -> str:
        return "CHECKING"


CHECKING = _Checking()


def is_grad_enabled() -> bool:
    """True when new Values record their inputs (outside every `no_grad` block)."""
    return bool(_get_mode().recording)


class detect_anomaly:
    """Check every number: the first op whose output, or whose share of a gradient in backward,
    is NaN or infinite raises `autograd.AnomalyError` naming the op, its inputs and the line of
    your code that made the node (as PyTorch's anomaly mode). Nodes made inside remember that
    line; outside the block nothing is recorded and nothing is checked.

    Use as `with detect_anomaly(): ...` (blocks nest; each thread has its own state).
    """

    def __enter__(self) -> detect_anomaly:
        state = _get_mode()
        _mode.set(_Mode(state.recording and CHECKING, state.scope, state))
        return self

    def __exit__(self, *exc_info: object) -> None:
        _mode.set(_get_mode().outer)


class no_grad:
    """Record no graph: Values made inside are leaves (`.inputs == ()`), cheap to make.

    Use as `with no_grad(): ...` or as a decorator, `@no_grad()` or `@no_grad`. Blocks nest,
    the previous state comes back even when the block raises, and each thread has its own state.
    A decorated generator (or async generator) runs under no_grad each time it is resumed, and
    the caller's state is its own between two resumptions, as with PyTorch's torch.no_grad; a
    decorated `async def` runs under no_grad in the task that awaits it.
    """

    def __new__(cls, fn: Callable[..., Any] | None = None) -> Any:
        # `@no_grad` without parentheses hands the function straight to the class
        made = super().__new__(cls)
        return made if fn is None else made(fn)

    def __enter__(self) -> no_grad:
        state = _get_mode()
        _mode.set(_Mode(False, state.scope, state))
        return self

    def __exit__(self, *exc_info: object) -> None:
        _mode.set(_get_mode().outer)

    def __call__(self, fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"no_grad() decorates a function, got {type(fn).__name__}")
        if inspect.isasyncgenfunction(fn):
            return functools.wraps(fn)(_async_generator_without_graph(fn))  # type: ignore[return-value]
        if inspect.isgeneratorfunction(fn):
            return functools.wraps(fn)(_generator_without_graph(fn))  # type: ignore[return-value]
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def awaited_without_graph(*args: Any, **kwargs: Any) -> Any:
                # the whole await happens in this task: its context is no other task's
                with self:
                    return await fn(*args, **kwargs)

            return awaited_without_graph  # type: ignore[return-value]

        @functools.wraps(fn)
        def without_graph(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return without_graph  # type: ignore[return-value]


class _OwnState:
    """The recording state of one suspended generator, put in place each time it is resumed.

    A generator's body runs in the context of whoever resumes it, so a `with no_grad()` around
    its body would leak into the caller at every `yield`. Instead, each resumption switches the
    body's own state in and switches the caller's back when the body yields: the body sees
    no_grad (and any scope it opened across a yield), the caller sees only its own state.
    """

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: tuple | None = None  # until the first resumption: no_grad on the caller's scope

    def enter(self) -> tuple:
        outer = _get_mode()
        _mode.set(self.state if self.state is not None else _Mode(False, outer.scope, outer))
        return outer

    def leave(self, outer: tuple) -> None:
        self.state = _get_mode()
        _mode.set(outer)


def _generator_without_graph(fn: Callable[..., Any]) -> Callable[..., Any]:
    def without_graph(*args: Any, **kwargs: Any) -> Any:
        gen, own = fn(*args, **kwargs), _OwnState()

        def resume(method: Callable[..., Any], *arg: Any) -> Any:
            outer = own.enter()
            try:
                return method(*arg)
            finally:
                own.leave(outer)

        try:
            value = resume(gen.send, None)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    resume(gen.close)
                    raise
                except BaseException as error:  # thrown in by the caller: the body decides
                    value = resume(gen.throw, error)
                else:
                    value = resume(gen.send, sent)
        except StopIteration as stop:
            return stop.value

    return without_graph


def _async_generator_without_graph(fn: Callable[..., Any]) -> Callable[..., Any]:
    async def without_graph(*args: Any, **kwargs: Any) -> Any:
        agen, own = fn(*args, **kwargs), _OwnState()

        async def resume(step: Any) -> Any:
            outer = own.enter()
            try:
                return await step
            finally:
                own.leave(outer)

        try:
            value = await resume(agen.asend(None))
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    await resume(agen.aclose())
                    raise
                except BaseException as error:
                    value = await resume(agen.athrow(error))
                else:
                    value = await resume(agen.asend(sent))
        except StopAsyncIteration:
            return

    return without_graph


class Scope:
    """A named region of a program; every Value made inside remembers it in `.scope`.

    `with scope("layer1"): ...` opens one. Scopes nest: `.parent` is the scope that was
    open when this one was entered, and `.path` names them all from the outside in. The
    graph pictures use scopes to draw a neuron or a layer as one cluster or one box.
    """

    __slots__ = ("name", "parent", "_active")

    def __init__(self, name: str, parent: Scope | None = None) -> None:
        if not isinstance(name, str):
            raise TypeError(f"scope name must be a str, got {type(name).__name__}")
        if parent is not None and not isinstance(parent, Scope):
            raise TypeError(f"scope parent must be a Scope or None, got {type(parent).__name__}")
        self.name = name
        self.parent = parent  # the scope this one is inside (entering the block sets it to the open one)
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
        state = _get_mode()
        self.parent = state.scope
        _mode.set(_Mode(state.recording, self, state))
        return self

    def __exit__(self, *exc_info: object) -> None:
        _mode.set(_get_mode().outer)
        self._active = False

    def __repr__(self) -> str:
        return f"Scope({'/'.join(self.path)!r})"


def scope(name: str) -> Scope:
    """A context manager: Values made inside the block get `.scope` set to the new Scope."""
    return Scope(name)


def current_scope() -> Scope | None:
    """The innermost open scope of this thread, or None."""
    return _get_mode().scope
