"""Clocks for the benchmarks: CPU time of one call, GC state for a block, memory of a build."""

from __future__ import annotations

import ctypes
import gc
import time
import tracemalloc
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call of fn, in CPU time of this process.

    CPU time rather than wall time: on a shared machine other programs then change the figures
    much less (the engines all compute on one thread; the collector's work is counted).
    """
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


@contextmanager
def collector(enabled: bool) -> Iterator[None]:
    """Run the block with Python's cyclic garbage collector on or off, starting from a clean heap.

    Only the benchmark itself does this, to show the collector's share; the engine never does.
    """
    was_enabled = gc.isenabled()
    gc.collect()
    if enabled:
        gc.enable()
    else:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        else:
            gc.disable()
        gc.collect()


def traced_bytes(build: Callable[[], tuple[Any, Any]]) -> tuple[int, bool]:
    """(bytes held by the graph build() returns as (root, leaf), whether dropping it frees it at once).

    tracemalloc sees every allocation of Python objects, so this is exact for pure-Python
    engines. One build is made and dropped first, so imports and Python's free lists of small
    objects are warm and not counted. The graph is then dropped with the cyclic collector off,
    and a weak reference tells whether its first leaf died: it is held by the first op, that
    op by the next, and so on, so the leaf dies only if every node of the chain was freed.
    (Comparing traced bytes instead would count the objects Python keeps in its free lists.)
    """
    result = build()
    del result
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = build()
        held = tracemalloc.get_traced_memory()[0] - before
        leaf = weakref.ref(result[1])
        del result
        freed = leaf() is None
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()
        gc.collect()
    return held, freed


def native_bytes(build: Callable[[], Any]) -> int | None:
    """Bytes that build()'s result holds in the C heap (glibc's malloc counters), None elsewhere.

    For PyTorch, whose tensors and graph nodes are C++ objects that tracemalloc cannot see.
    """
    heap = _c_heap_in_use()
    if heap is None:
        return None
    result = build()
    del result
    gc.collect()
    before = heap()
    result = build()
    held = heap() - before
    del result
    return held


_MALLINFO2_FIELDS = (
    "arena",
    "ordblks",
    "smblks",
    "hblks",
    "hblkhd",
    "usmblks",
    "fsmblks",
    "uordblks",
    "fordblks",
    "keepcost",
)


def _c_heap_in_use() -> Callable[[], int] | None:
    try:
        libc = ctypes.CDLL(None)
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2_FIELDS]

    mallinfo2.restype = MallInfo2

    def in_use() -> int:
        info = mallinfo2()
        return info.uordblks + info.hblkhd  # bytes in malloc'd chunks + in mmap'd chunks

    return in_use
