"""Modes that change how new Values are made: `no_grad` (record nothing) and `scope` (say where).

Both are per thread, nest, and come back to their previous state even when the block raises.
"""

from __future__ import annotations

import asyncio
import inspect
import threading

import pytest

from autograd import Scope, Value, current_scope, is_grad_enabled, no_grad, scope

pytestmark = pytest.mark.modes


def _in_thread(fn):
    """Run fn in a new thread and return its result (re-raising what it raised)."""
    result = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as error:  # handed back to the test thread
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def _records(x: Value) -> bool:
    y = x * 2
    return y.op == "*" and len(y.inputs) == 1 and y.inputs[0] is x


# ---- no_grad -----------------------------------------------------------------------------------


def test_values_made_inside_no_grad_are_leaves_with_the_right_data():
    x = Value(3.0)
    with no_grad():
        ys = [x * 2, x + x, x.tanh(), -x, x**2, 2**x, abs(x), x.exp().log()]
    for y in ys:
        assert y.inputs == () and y.op == ""
    assert ys[0].data == 6.0 and ys[4].data == 9.0


def test_backward_inside_no_grad_values_stops_at_them():
    x = Value(3.0)
    with no_grad():
        y = x * 2
    (y * y).backward()
    assert y.grad == 2 * 6.0
    assert x.grad == 0.0  # y is a leaf: nothing flows past it


def test_recording_is_on_by_default_and_back_after_the_block():
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert _records(Value(1.0))


def test_no_grad_blocks_nest():
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()  # the outer block is still open
        assert not _records(Value(1.0))
    assert is_grad_enabled()


def test_one_no_grad_object_can_be_entered_twice_nested():
    off = no_grad()
    with off:
        with off:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(RuntimeError, match="boom"):
        with no_grad():
            raise RuntimeError("boom")
    assert is_grad_enabled()
    assert _records(Value(1.0))


def test_no_grad_as_a_decorator():
    @no_grad()
    def evaluate(x):
        """Docstring kept."""
        return x * x + 1

    y = evaluate(Value(2.0))
    assert y.data == 5.0 and y.inputs == ()
    assert is_grad_enabled()
    assert evaluate.__name__ == "evaluate" and evaluate.__doc__ == "Docstring kept."


def test_no_grad_decorator_restores_recording_after_an_exception():
    @no_grad()
    def fail():
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        fail()
    assert is_grad_enabled()


def test_no_grad_decorator_works_recursively():
    @no_grad()
    def depth(n):
        assert not is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(5) == 5
    assert is_grad_enabled()


def test_no_grad_in_one_thread_does_not_stop_another_thread_recording():
    entered, checked = threading.Event(), threading.Event()

    def worker():
        with no_grad():
            entered.set()
            checked.wait(timeout=10)
            return is_grad_enabled(), _records(Value(1.0))

    thread_result = {}
    thread = threading.Thread(target=lambda: thread_result.update(value=worker()))
    thread.start()
    assert entered.wait(timeout=10)
    try:
        assert is_grad_enabled()  # this thread is still recording while the other is inside no_grad
        assert _records(Value(1.0))
    finally:
        checked.set()
        thread.join()
    assert thread_result["value"] == (False, False)


def test_a_thread_started_inside_no_grad_records_by_default():
    with no_grad():
        assert _in_thread(lambda: (is_grad_enabled(), _records(Value(1.0)))) == (True, True)
        assert not is_grad_enabled()


def test_a_shared_decorated_function_is_safe_across_threads():
    @no_grad()
    def evaluate():
        return is_grad_enabled()

    assert _in_thread(evaluate) is False
    assert is_grad_enabled()
    assert _in_thread(is_grad_enabled) is True


def test_no_grad_without_parentheses_is_a_decorator_too():
    @no_grad
    def evaluate(x):
        """Docstring kept."""
        return x * 2

    y = evaluate(Value(2.0))
    assert y.data == 4.0 and y.inputs == ()
    assert evaluate.__doc__ == "Docstring kept." and is_grad_enabled()


def test_no_grad_decorates_only_what_can_be_called():
    with pytest.raises(TypeError, match="decorates a function, got int"):
        no_grad()(3)


# ---- no_grad on generators and async functions ----------------------------------------------------


def _made_here():
    """(recording?, records a node?, the current scope) as code at this point sees them."""
    return is_grad_enabled(), _records(Value(1.0)), current_scope()


def test_a_decorated_generator_runs_under_no_grad_at_every_resumption():
    @no_grad()
    def batches(n):
        """Yields what the body sees."""
        for _ in range(n):
            yield _made_here()[:2]

    assert inspect.isgeneratorfunction(batches) and batches.__doc__ == "Yields what the body sees."
    seen = []
    for inside in batches(3):
        seen.append((inside, _made_here()[:2]))  # the loop body runs between two resumptions
    assert seen == [((False, False), (True, True))] * 3
    assert is_grad_enabled()


def test_interleaved_generators_each_see_their_own_state():
    @no_grad()
    def quiet():
        while True:
            yield is_grad_enabled()

    def plain():
        while True:
            yield is_grad_enabled()

    a, b, c = quiet(), plain(), quiet()
    order = [a, b, c, b, a, a, c, b]
    assert [next(g) for g in order] == [g is b for g in order]
    with no_grad():  # a caller inside its own block: the undecorated generator follows the caller
        assert [next(a), next(b), is_grad_enabled()] == [False, False, False]
    assert [next(b), next(c), is_grad_enabled()] == [True, False, True]


def test_a_scope_opened_inside_a_generator_stays_inside_it():
    @no_grad()
    def steps():
        with scope("inside") as inner:
            yield current_scope() is inner, is_grad_enabled()
            yield current_scope() is inner, is_grad_enabled()
        yield current_scope(), is_grad_enabled()

    gen = steps()
    with scope("caller") as caller:
        assert next(gen) == (True, False)
        assert current_scope() is caller and is_grad_enabled()
    assert current_scope() is None
    assert next(gen) == (True, False)  # resumed outside the caller's scope: still in its own
    assert current_scope() is None and is_grad_enabled()
    assert next(gen) == (caller, False)  # back to the scope of its first resumption
    with pytest.raises(StopIteration):
        next(gen)
    assert current_scope() is None and is_grad_enabled()


def test_send_throw_and_close_reach_the_body_under_no_grad():
    log = []

    @no_grad()
    def echo():
        try:
            while True:
                try:
                    received = yield
                    log.append(("sent", received, is_grad_enabled()))
                except KeyError as error:
                    log.append(("thrown", error.args[0], is_grad_enabled()))
        finally:
            log.append(("closed", None, is_grad_enabled()))

    gen = echo()
    next(gen)
    gen.send("a")
    gen.throw(KeyError("b"))
    gen.close()
    assert log == [("sent", "a", False), ("thrown", "b", False), ("closed", None, False)]
    assert is_grad_enabled()



def test_yield_from_a_decorated_generator_gives_its_return_value():
    @no_grad()
    def inner():
        yield 1
        return is_grad_enabled()

    def outer():
        result = yield from inner()
        yield result, is_grad_enabled()

    assert list(outer()) == [1, (False, True)]


def test_an_exception_the_body_does_not_catch_comes_out_and_the_state_is_restored():
    @no_grad()
    def fragile():
        yield 1
        raise ValueError("inside the generator")

    gen = fragile()
    next(gen)
    with pytest.raises(ValueError, match="inside the generator"):
        next(gen)
    assert is_grad_enabled() and current_scope() is None


def test_a_decorated_generator_moved_between_threads_keeps_each_threads_state_apart():
    @no_grad()
    def count():
        n = 0
        while True:
            yield n, is_grad_enabled()
            n += 1

    gen = count()
    assert next(gen) == (0, False)
    assert _in_thread(lambda: (next(gen), _made_here()[:2])) == ((1, False), (True, True))
    with scope("main"):
        assert next(gen) == (2, False)
        assert _in_thread(current_scope) is None


def test_decorated_generators_in_many_threads_at_once():
    barrier = threading.Barrier(4, timeout=10)

    @no_grad()
    def body():
        for _ in range(5):
            barrier.wait()  # all four threads are inside their generators together
            yield is_grad_enabled(), _records(Value(1.0))

    def worker():
        seen = []
        for inside in body():
            seen.append((inside, _made_here()[:2]))
        return seen

    results = {}
    threads = [threading.Thread(target=lambda k=k: results.update({k: worker()})) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[k] for k in range(4)] == [[((False, False), (True, True))] * 5] * 4


def test_generator_semantics_match_torch_no_grad(torch):
    def run(no_grad_, enabled):
        @no_grad_()
        def gen():
            for _ in range(3):
                yield enabled()

        return [(inside, enabled()) for inside in gen()]

    ours = run(no_grad, is_grad_enabled)
    theirs = run(torch.no_grad, torch.is_grad_enabled)
    assert ours == theirs == [(False, True)] * 3


def test_a_decorated_async_function_runs_under_no_grad_without_touching_other_tasks():
    release = asyncio.Event

    @no_grad()
    async def evaluate(started, go):
        started.set()
        await go.wait()  # suspended: the other task runs meanwhile
        return _made_here()[:2]

    async def other(started, go):
        await started.wait()
        seen = _made_here()[:2]
        go.set()
        return seen

    async def main():
        started, go = release(), release()
        return await asyncio.gather(evaluate(started, go), other(started, go)), _made_here()[:2]

    (inside, outside), after = asyncio.run(main())
    assert inside == (False, False) and outside == (True, True) and after == (True, True)
    assert inspect.iscoroutinefunction(evaluate)


def test_a_decorated_async_generator_runs_under_no_grad_at_every_resumption():
    @no_grad()
    async def stream(n):
        for _ in range(n):
            await asyncio.sleep(0)  # other tasks run here
            yield _made_here()[:2]

    async def bystander(stop):
        seen = set()
        while not stop.is_set():
            seen.add(_made_here()[:2])
            await asyncio.sleep(0)
        return seen

    async def main():
        stop = asyncio.Event()
        watcher = asyncio.create_task(bystander(stop))
        seen = [(inside, _made_here()[:2]) async for inside in stream(4)]
        stop.set()
        return seen, await watcher

    seen, bystander_saw = asyncio.run(main())
    assert seen == [((False, False), (True, True))] * 4
    assert bystander_saw == {(True, True)}
    assert inspect.isasyncgenfunction(stream)


# ---- scope ----------------------------------------------------------------------------------------


def test_values_made_inside_a_scope_remember_it():
    outside = Value(1.0)
    with scope("layer") as layer:
        leaf = Value(2.0)
        node = leaf * outside
    assert leaf.scope is layer and node.scope is layer
    assert outside.scope is None
    assert (node + 1).scope is None


def test_scopes_nest_and_name_their_path():
    with scope("MLP") as mlp:
        with scope("Layer 0") as layer:
            with scope("Neuron 3") as neuron:
                v = Value(1.0) * 2
                assert current_scope() is neuron
            assert current_scope() is layer
        assert current_scope() is mlp
    assert current_scope() is None
    assert v.scope.path == ("MLP", "Layer 0", "Neuron 3")
    assert neuron.parent is layer and layer.parent is mlp and mlp.parent is None
    assert repr(neuron) == "Scope('MLP/Layer 0/Neuron 3')"


def test_scope_is_restored_after_an_exception():
    with scope("outer") as outer:
        with pytest.raises(KeyError):
            with scope("inner"):
                raise KeyError("x")
        assert current_scope() is outer
    assert current_scope() is None


def test_values_made_under_no_grad_still_get_their_scope():
    with scope("eval") as s, no_grad():
        y = Value(1.0) * 3
    assert y.scope is s and y.inputs == ()


def test_a_scope_in_one_thread_is_not_seen_by_another():
    with scope("main thread"):
        assert _in_thread(lambda: (current_scope(), Value(1.0).scope)) == (None, None)

    def in_worker():
        with scope("worker") as s:
            return s, Value(1.0).scope

    opened, seen = _in_thread(in_worker)
    assert seen is opened
    assert current_scope() is None


def test_an_open_scope_cannot_be_entered_again():
    s = scope("once")
    with s:
        with pytest.raises(RuntimeError, match="once"):
            with s:
                pass
        assert current_scope() is s
    with s:  # closed again, so it can be reused
        assert current_scope() is s


def test_a_scope_name_must_be_a_str():
    with pytest.raises(TypeError, match="int"):
        scope(3)


def test_a_scope_made_inside_a_parent_without_a_block_names_its_path():
    layer = Scope("Layer 0")
    neuron = Scope("Neuron 3", layer)  # as nn's Layer makes one per neuron call, without opening it
    assert neuron.path == ("Layer 0", "Neuron 3")
    with neuron:  # opened, it lives where it is opened
        assert current_scope() is neuron
    assert neuron.path == ("Neuron 3",)


def test_a_scope_parent_must_be_a_scope():
    with pytest.raises(TypeError, match="parent must be a Scope"):
        Scope("x", "Layer 0")
