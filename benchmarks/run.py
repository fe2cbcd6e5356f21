"""chainrule against micrograd 0.1.0, PyTorch scalar tensors and hand-written floats, in one process.

    python benchmarks/run.py           # the full run (a few minutes): tables, then PASS/FAIL per target
    python benchmarks/run.py --quick   # small sizes, every engine, correctness checks only (CI)

Times are CPU time of this process (time.process_time): the median over the MLP steps, the
best of several runs for the graphs. The exit status is 1 when the engines disagree
(different losses or gradients), never because of a time.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helper modules next to this file

import graphs  # noqa: E402
import mlp  # noqa: E402
from timing import collector, native_bytes, timed, traced_bytes  # noqa: E402

ENGINES = ("chainrule", "micrograd", "torch")
FLOOR = "floor (hand-written floats)"
PER_POINT_FLOOR = "floor, per point (issue 6)"  # the floor issue 6's targets were set against
COMPILED = "chainrule, compiled"  # the same step through autograd.compile (issue 21)
LOSS_RTOL = 1e-9  # the engines add in different orders, so their losses differ in the last bits


@dataclass(frozen=True)
class Sizes:
    points: int  # two-moons points per MLP step
    steps: int  # MLP steps timed for the fast rows (chainrule, floor)
    slow_steps: int  # ... and for micrograd and PyTorch
    chain_rounds: tuple[int, ...]  # chain lengths, in rounds of three ops
    slow_chain_rounds: int  # micrograd and PyTorch stop here (memory: ~1 kB per node)
    chain_budget: int  # repeat small chains until about this many rounds were built
    wide: int  # products in the wide sum
    memory_rounds: int  # 3 op nodes per round: 33,334 rounds make a 100,000-node graph
    evaluations: int  # repeats of the no_grad comparison
    compile_rounds: tuple[int, ...] = (3334, 33334)  # chains compiled to measure the cost per node


FULL = Sizes(100, 15, 4, (330, 3334, 33334, 333334), 33334, 400_000, 100_000, 33334, 9)
QUICK = Sizes(20, 3, 2, (330, 1000), 1000, 3000, 1000, 2000, 3, (334,))


# ---- measurements ----------------------------------------------------------------------------


def progress(what: str, result: object) -> None:
    """One line per measurement on stderr, so a long run shows where it is."""
    if isinstance(result, GraphCell):
        forward, backward = (shown(us, result.note) + (" µs" if us is not None else "")
                             for us in (result.forward_us, result.backward_us))
        result = f"forward {forward}, backward {backward} per node"
    print(f"  {what}: {result}", file=sys.stderr, flush=True)


@dataclass
class MlpRow:
    name: str
    step_ms: float
    losses: list[float]


def measure_mlp(sizes: Sizes) -> list[MlpRow]:
    """Per engine: the median CPU time of one training step, and the loss at every step."""
    X, y = mlp.moons(sizes.points)
    weights = mlp.initial_weights()
    runs = [
        ("chainrule", mlp.chainrule_trainer, sizes.steps, True),
        ("chainrule, gc off", mlp.chainrule_trainer, sizes.steps, False),
        (COMPILED, mlp.chainrule_compiled_trainer, sizes.steps, True),
        ("micrograd", mlp.micrograd_trainer, sizes.slow_steps, True),
        ("micrograd, gc off", mlp.micrograd_trainer, sizes.slow_steps, False),
        ("torch", mlp.torch_trainer, sizes.slow_steps, True),
        (FLOOR, mlp.floor_trainer, sizes.steps, True),
        (PER_POINT_FLOOR, mlp.floor_per_point_trainer, sizes.steps, True),
    ]
    rows = []
    for name, trainer, steps, gc_enabled in runs:
        step = trainer(X, y, weights)
        times, losses = [], []
        with collector(gc_enabled):
            for k in range(steps):
                seconds, loss = timed(partial(step, k))
                times.append(seconds)
                losses.append(loss)
        rows.append(MlpRow(name, 1e3 * statistics.median(times), losses))
        progress(f"MLP step {name}", f"{rows[-1].step_ms:.1f} ms")
    return rows


@dataclass
class CompileCost:
    trace_ms: float  # autograd.compile of the MLP step and its first value_and_grad (Python's compile, the check)
    eager_step_ms: float  # one eager step, measured beside it
    lines: int  # lines of the step's program
    per_node_us: dict[int, tuple[float, float]]  # chain of N op nodes: (compile(), first value_and_grad) per node


def measure_compile(sizes: Sizes) -> CompileCost:
    """What tracing and generating costs: the MLP step's, against eager steps; and per node of a chain."""
    import autograd

    X, y = mlp.moons(sizes.points)
    weights = mlp.initial_weights()
    _, trace = mlp.chainrule_compiled_trainer_and_tracer(X, y, weights)
    eager = mlp.chainrule_trainer(X, y, weights)
    traces, steps = [], []
    for k in range(3):
        seconds, program = timed(trace)
        traces.append(seconds)
        steps += [timed(partial(eager, k))[0] for _ in range(3)]
    per_node = {}
    for rounds in sizes.compile_rounds:

        def chain(x: object, rounds: int = rounds) -> object:
            for _ in range(rounds):
                x = (x * graphs.SCALE + graphs.SHIFT).tanh()
            return x

        built, fast = timed(lambda: autograd.compile(chain, 0.5))
        first, _ = timed(lambda fast=fast: fast.value_and_grad(0.5))
        nodes = 3 * rounds
        per_node[nodes] = (1e6 * built / nodes, 1e6 * first / nodes)
        progress(f"compile chain of {nodes:,} nodes", f"{per_node[nodes][0]:.1f} + {per_node[nodes][1]:.1f} us/node")
    cost = CompileCost(1e3 * min(traces), 1e3 * statistics.median(steps), program.source.count("\n"), per_node)
    progress("trace + generate the MLP step", f"{cost.trace_ms:.0f} ms")
    return cost


def measure_no_grad(sizes: Sizes) -> tuple[float, float]:
    """(recorded forward ms, no_grad forward ms) of the chainrule MLP over all points, best of several."""
    X, _ = mlp.moons(sizes.points)
    recorded, evaluated = mlp.chainrule_forward(X, mlp.initial_weights())
    with_graph, without = [], []
    for _ in range(sizes.evaluations):
        with_graph.append(timed(recorded)[0])
        without.append(timed(evaluated)[0])
    return 1e3 * min(with_graph), 1e3 * min(without)


@dataclass
class GraphCell:
    forward_us: float | None = None  # per op node
    backward_us: float | None = None
    gradient: float | None = None
    note: str = ""  # why a number is missing


def measure_graph(build: Callable[[int], tuple[object, object]], size: int, nodes: int, repeats: int) -> GraphCell:
    """Best-of-repeats forward and backward time per op node, and the leaf's gradient."""
    cell = GraphCell()
    for _ in range(repeats):
        add_sample(cell, build, size, nodes)
    return cell


def add_sample(cell: GraphCell, build: Callable[[int], tuple[object, object]], size: int, nodes: int) -> None:
    """Build the graph once and backpropagate once; keep the best times per op node in cell."""
    gc.collect()
    seconds, (root, leaf) = timed(partial(build, size))
    cell.forward_us = min(cell.forward_us or math.inf, 1e6 * seconds / nodes)
    if cell.note:  # backward failed before: it would fail again
        return
    try:
        seconds, _ = timed(root.backward)
    except RecursionError:
        cell.note = "RecursionError"
        return
    cell.backward_us = min(cell.backward_us or math.inf, 1e6 * seconds / nodes)
    cell.gradient = graphs.gradient(leaf)


def warm_up(build: Callable[[int], tuple[object, object]]) -> None:
    """An untimed build and backward of a small chain (300 op nodes, which every engine can do)."""
    root, _ = build(100)
    root.backward()


def measure_floor_chain(rounds: int, repeats: int) -> GraphCell:
    nodes = rounds * graphs.OPS_PER_ROUND
    forward, backward = [], []
    gradient = math.nan
    for _ in range(repeats):
        seconds, (_, derivatives) = timed(lambda: graphs.floor_chain(rounds))
        forward.append(seconds)
        seconds, gradient = timed(lambda derivatives=derivatives: graphs.floor_chain_backward(derivatives))
        backward.append(seconds)
    return GraphCell(1e6 * min(forward) / nodes, 1e6 * min(backward) / nodes, gradient)


def measure_chains(sizes: Sizes) -> dict[str, dict[int, GraphCell]]:
    """Per engine (and GC setting), per chain length: costs per op node.

    The engines take turns, one build each per repeat, so that a busy spell of the machine
    slows all of them alike rather than one row. Each timed build follows a small untimed one
    of the same engine: run straight after PyTorch, a 1,000-node chain took ~10% longer,
    its caches left cold by the engine before it.
    """
    runs = [
        ("chainrule", True),
        ("chainrule, gc off", False),
        ("micrograd", True),
        ("micrograd, gc off", False),
        ("torch", True),
    ]
    table: dict[str, dict[int, GraphCell]] = {name: {} for name, _ in runs}
    for rounds in sizes.chain_rounds:
        nodes = rounds * graphs.OPS_PER_ROUND
        for name, _ in runs:
            table[name][rounds] = GraphCell()
        for _ in range(max(2, min(15, sizes.chain_budget // rounds))):
            for name, gc_enabled in runs:
                engine = name.split(",")[0]
                if engine != "chainrule" and rounds > sizes.slow_chain_rounds:
                    table[name][rounds].note = "not run"
                    continue
                with collector(gc_enabled):
                    warm_up(graphs.CHAINS[engine])
                    add_sample(table[name][rounds], graphs.CHAINS[engine], rounds, nodes)
        for name, _ in runs:
            progress(f"chain {name}, {nodes:,} ops", table[name][rounds])
    table[FLOOR] = {
        rounds: measure_floor_chain(rounds, max(2, min(15, sizes.chain_budget // rounds)))
        for rounds in sizes.chain_rounds
    }
    return table


def measure_wide_sums(sizes: Sizes) -> dict[str, GraphCell]:
    cells = {}
    for engine in ENGINES:
        with collector(True):
            cells[engine] = measure_graph(graphs.WIDE_SUMS[engine], sizes.wide, sizes.wide, 3)
    return cells


@dataclass
class MemoryRow:
    name: str
    bytes_per_node: float | None  # per op node, micrograd's constant leaves included
    freed_without_gc: bool | None
    how: str


def measure_memory(sizes: Sizes) -> list[MemoryRow]:
    """Bytes per op node of a live chain graph, and whether dropping it frees it at once.

    Per op node, like the timings: micrograd also makes a leaf Value for each constant (5 Values
    per round of 3 ops), and that memory is counted in; in chainrule a number is part of its op.
    """
    rounds = sizes.memory_rounds
    nodes = rounds * graphs.OPS_PER_ROUND
    rows = []
    for engine in ("chainrule", "micrograd"):
        held, freed = traced_bytes(lambda engine=engine: graphs.CHAINS[engine](rounds))
        rows.append(MemoryRow(engine, held / nodes, freed, "tracemalloc"))
    held = native_bytes(lambda: graphs.torch_chain(rounds))
    rows.append(MemoryRow("torch", held / nodes if held is not None else None, None, "C heap (glibc mallinfo2)"))
    return rows


# ---- checks and targets ----------------------------------------------------------------------


def relative_difference(a: float, b: float) -> float:
    """|a - b| relative to the larger of the two; inf when either is nan or inf (never a pass)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def check_losses(rows: list[MlpRow]) -> tuple[bool, float]:
    """Do all engines give the same loss at every step they ran? (ok, largest relative difference)"""
    reference = rows[0].losses
    differences = [relative_difference(a, b) for row in rows[1:] for a, b in zip(reference, row.losses)]
    worst = max(differences)
    return worst <= LOSS_RTOL, worst


def check_gradients(chains: dict[str, dict[int, GraphCell]], wide: dict[str, GraphCell]) -> tuple[bool, float]:
    """Does every engine give the same dx at every size it ran? (ok, largest relative difference)"""
    floor = chains[FLOOR]
    differences = [
        relative_difference(cell.gradient, floor[rounds].gradient)
        for cells in chains.values()
        for rounds, cell in cells.items()
        if cell.gradient is not None
    ]
    reference = wide["chainrule"].gradient
    differences += [relative_difference(c.gradient, reference) for c in wide.values() if c.gradient is not None]
    if any(cell.gradient is None for cell in chains["chainrule"].values()) or reference is None:
        differences.append(math.inf)  # chainrule must have run everywhere
    worst = max(differences)
    return worst <= 1e-9, worst


@dataclass
class Target:
    text: str
    measured: str
    passed: bool | None  # None: reported only, no target


def chain_ratios(chains: dict[str, dict[int, GraphCell]], phase: str, sizes: Sizes) -> list[float]:
    """micrograd's cost per chain node over chainrule's (default GC), at every N where micrograd ran."""
    mine, theirs = chains["chainrule"], chains["micrograd"]
    return [
        getattr(theirs[r], f"{phase}_us") / getattr(mine[r], f"{phase}_us")
        for r in sizes.chain_rounds
        if getattr(theirs[r], f"{phase}_us") is not None
    ]


def deepest_backward(chains: dict[str, dict[int, GraphCell]], sizes: Sizes) -> Target:
    deepest = sizes.chain_rounds[-1]
    worked = chains["chainrule"][deepest].backward_us is not None
    return Target(f"{deepest * 3:,}-op chain backward works", "yes" if worked else "no", worked)


def freed_at_once(memory: list[MemoryRow]) -> Target:
    freed = bool(next(row for row in memory if row.name == "chainrule").freed_without_gc)
    text = "a dropped graph is freed at once by reference counting (no gc.collect)"
    return Target(text, "yes" if freed else "no", freed)


def issue6_targets(
    mlp_rows: list[MlpRow],
    chains: dict[str, dict[int, GraphCell]],
    memory: list[MemoryRow],
    no_grad: tuple[float, float],
    sizes: Sizes,
) -> list[Target]:
    """Issue 6's targets as it set them; its floor is the per-point one it was measured with."""
    step = {row.name: row.step_ms for row in mlp_rows}
    ours = step["chainrule"]
    out = []
    for other, factor in (("micrograd", 20), ("micrograd, gc off", 5), ("torch", 40)):
        ratio = step[other] / ours
        out.append(Target(f"MLP step >= {factor}x faster than {other}", f"{ratio:.1f}x", ratio >= factor))
    ratio = ours / step[PER_POINT_FLOOR]
    out.append(Target("MLP step within 3x of the hand-written floor, per point", f"{ratio:.2f}x", ratio <= 3))

    for phase in ("forward", "backward"):
        ratios = chain_ratios(chains, phase, sizes)
        listed = ", ".join(f"{x:.1f}x" for x in ratios)
        text = f"chain {phase} per node >= 2.5x below micrograd's (default GC, where it runs)"
        out.append(Target(text, listed, min(ratios) >= 2.5))
    for phase in ("forward", "backward"):
        spreads = []
        for name in ("chainrule", "chainrule, gc off"):
            costs = [getattr(chains[name][r], f"{phase}_us") for r in sizes.chain_rounds]
            spreads.append(max(costs) / min(costs))
        text = f"chain {phase} per node flat from smallest to largest N (max/min <= 2)"
        out.append(Target(text, f"{spreads[0]:.2f} (with gc off: {spreads[1]:.2f})", spreads[0] <= 2))
    out.append(deepest_backward(chains, sizes))

    per_node = next(row for row in memory if row.name == "chainrule").bytes_per_node
    out.append(Target("memory <= 300 bytes per live node", f"{per_node:.0f} B", per_node <= 300))
    out.append(freed_at_once(memory))
    recorded, evaluated = no_grad
    ratio = recorded / evaluated
    out.append(Target("no_grad MLP evaluation >= 3x cheaper than a recorded forward", f"{ratio:.1f}x", ratio >= 3))
    return out


def issue12_targets(
    mlp_rows: list[MlpRow],
    chains: dict[str, dict[int, GraphCell]],
    memory: list[MemoryRow],
    sizes: Sizes,
) -> list[Target]:
    """Issue 12's targets (speed and memory must not suffer from the Op redesign), and the floor ratio."""
    step = {row.name: row.step_ms for row in mlp_rows}
    ours = step["chainrule"]
    ratio = step["micrograd"] / ours
    out = [Target("MLP step >= 35x faster than micrograd (default GC)", f"{ratio:.1f}x", ratio >= 35)]
    ratios = chain_ratios(chains, "backward", sizes)
    listed = ", ".join(f"{x:.1f}x" for x in ratios)
    text = "chain backward >= 2.5x cheaper per node than micrograd's (default GC, where it runs)"
    out.append(Target(text, listed, min(ratios) >= 2.5))
    per_node = next(row for row in memory if row.name == "chainrule").bytes_per_node
    out.append(Target("memory <= 250 bytes per live node", f"{per_node:.0f} B", per_node <= 250))
    out.append(freed_at_once(memory))
    out.append(deepest_backward(chains, sizes))
    floor, per_point = step[FLOOR], step[PER_POINT_FLOOR]
    measured = f"{ours / floor:.1f}x ({ours:.1f} / {floor:.1f} ms; over the per-point floor {ours / per_point:.1f}x)"
    out.append(Target("MLP step over the hand-written floor (reported, no target)", measured, None))
    return out


def issue21_targets(mlp_rows: list[MlpRow], cost: CompileCost) -> list[Target]:
    """Issue 21's speed targets for autograd.compile."""
    step = {row.name: row.step_ms for row in mlp_rows}
    compiled, floor, eager = step[COMPILED], step[FLOOR], step["chainrule"]
    out = [Target("compiled MLP step <= 1.0x the hand-written floor", f"{compiled / floor:.2f}x "
                  f"({compiled:.2f} / {floor:.2f} ms; {eager / compiled:.1f}x faster than eager)", compiled <= floor)]
    ratio = cost.trace_ms / (10 * cost.eager_step_ms)
    out.append(Target("tracing + generating the step <= 10 eager steps", f"{ratio:.1f}x ({cost.trace_ms:.0f} ms "
                      f"against 10 x {cost.eager_step_ms:.1f} ms; {cost.lines:,} lines)", ratio <= 1.0))
    return out


# ---- printing --------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> str:
    """A Markdown table: the first `text_columns` columns left-aligned, numbers right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    right = [i >= text_columns for i in range(len(headers))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |"]
    lines.append("|" + "|".join("-" * (w + 1) + ":" if r else "-" * (w + 2) for w, r in zip(widths, right)) + "|")
    for row in rows:
        cells = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def shown(us: float | None, note: str) -> str:
    """A per-node cost, or why there is none (not run, RecursionError)."""
    return fmt(us, 3) if us is not None else (note or "—")


def fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def report(
    sizes: Sizes,
    quick: bool,
    mlp_rows: list[MlpRow],
    no_grad: tuple[float, float],
    chains: dict[str, dict[int, GraphCell]],
    wide: dict[str, GraphCell],
    memory: list[MemoryRow],
    cost: CompileCost,
) -> bool:
    import torch

    print(f"# chainrule benchmarks{' (quick mode: small sizes, no targets)' if quick else ''}\n")
    command = "python benchmarks/run.py" + (" --quick" if quick else "")
    print(f"`{command}`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs\n")
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.machine()}, "
        f"micrograd {version('micrograd')}, torch {torch.__version__} ({torch.get_num_threads()} threads). "
        "Times are CPU time of the process.\n"
    )
    ours = next(r.step_ms for r in mlp_rows if r.name == "chainrule")
    print(f"## MLP(2, [16, 16, 1]) training step on {sizes.points} two-moons points (median of steps)\n")
    print(
        table(
            ["engine", "ms / step", "x chainrule", "steps"],
            [[r.name, fmt(r.step_ms, 1), fmt(r.step_ms / ours, 1), str(len(r.losses))] for r in mlp_rows],
        )
    )
    floor, per_point = (next(r.step_ms for r in mlp_rows if r.name == name) for name in (FLOOR, PER_POINT_FLOOR))
    print(
        f"\nThe floor takes all points at once: {floor:.2f} ms, against {per_point:.2f} ms one point at a time "
        f"({per_point / floor:.2f}x); both do every multiply-add the graph does."
    )
    recorded, evaluated = no_grad
    print(
        f"chainrule forward over all points: recorded {recorded:.1f} ms, under no_grad {evaluated:.1f} ms "
        f"({recorded / evaluated:.1f}x cheaper)\n"
    )

    rounds = sizes.chain_rounds
    heads = [f"N={3 * r:,}" for r in rounds]
    for phase in ("forward", "backward"):
        print(f"## Chain x -> x*1.0001 -> +0.0001 -> tanh, {phase}, µs per op node (N op nodes)\n")
        rows = []
        for name, cells in chains.items():
            rows.append([name] + [shown(getattr(cells[r], f"{phase}_us"), cells[r].note) for r in rounds])
        mine = chains["chainrule"]
        for name in ("micrograd", "torch"):
            cells = chains[name]
            ratios = []
            for r in rounds:
                theirs, own = getattr(cells[r], f"{phase}_us"), getattr(mine[r], f"{phase}_us")
                ratios.append(f"{theirs / own:.1f}x" if theirs is not None and own else "—")
            rows.append([f"{name} / chainrule"] + ratios)
        print(table(["engine"] + heads, rows))
        print()

    print("## autograd.compile: what tracing and generating cost\n")
    print(f"The MLP step above: compile() and the first value_and_grad (which compiles the {cost.lines:,} lines "
          f"with Python's compiler and checks the first replay against an eager run) take {cost.trace_ms:.0f} ms, "
          f"{cost.trace_ms / cost.eager_step_ms:.1f} eager steps.\n")
    rows = [[f"{n:,}", fmt(a, 1), fmt(b, 1), fmt(a + b, 1)] for n, (a, b) in cost.per_node_us.items()]
    print(table(["chain op nodes", "compile() µs/node", "first value_and_grad µs/node", "total µs/node"], rows))
    print()

    print(f"## Wide sum of {sizes.wide:,} products, µs per product\n")
    how = {
        "chainrule": "autograd.sum: one n-ary node",
        "micrograd": "Python sum: a chain of + nodes",
        "torch": "Python sum of 0-d tensors",
    }
    rows = [[name, how[name], shown(c.forward_us, c.note), shown(c.backward_us, c.note)] for name, c in wide.items()]
    print(table(["engine", "sum written as", "forward", "backward"], rows, text_columns=2))
    print()
    nodes = sizes.memory_rounds * graphs.OPS_PER_ROUND
    print(f"## Memory of a live chain graph of {nodes:,} op nodes, bytes per op node "
          "(micrograd's constant leaves included)\n")
    rows = []
    for r in memory:
        freed = "—" if r.freed_without_gc is None else ("yes" if r.freed_without_gc else "no (reference cycles)")
        rows.append([r.name, r.how, freed, fmt(r.bytes_per_node, 0)])
    print(table(["engine", "measured by", "freed at once without gc", "bytes / node"], rows, text_columns=3))
    print()

    losses_ok, loss_diff = check_losses(mlp_rows)
    grads_ok, grad_diff = check_gradients(chains, wide)
    print("## Checks\n")
    verdict = {True: "PASS", False: "FAIL"}
    print(f"- per-step MLP losses agree across engines: {verdict[losses_ok]} (max rel. diff {loss_diff:.1e})")
    print(f"- chain and wide-sum gradients agree across engines: {verdict[grads_ok]} (max rel. diff {grad_diff:.1e})")
    if not quick:
        verdict[None] = "INFO"
        print("\n## Targets (issue 21)\n")
        for t in issue21_targets(mlp_rows, cost):
            print(f"- {verdict[t.passed]}  {t.text}: {t.measured}")
        print("\n## Targets (issue 12)\n")
        for t in issue12_targets(mlp_rows, chains, memory, sizes):
            print(f"- {verdict[t.passed]}  {t.text}: {t.measured}")
        print("\n## Targets (issue 6)\n")
        for t in issue6_targets(mlp_rows, chains, memory, no_grad, sizes):
            print(f"- {verdict[t.passed]}  {t.text}: {t.measured}")
    return losses_ok and grads_ok


def freeze_imports() -> None:
    """Import every engine, then move all objects alive so far out of the collector's sight.

    Importing torch leaves ~150,000 objects that Python's cyclic collector would traverse on
    every full collection, charging each engine for torch's import. After gc.freeze() the
    collector sees only the objects a workload makes, as in a program that imports one engine.
    """
    import micrograd.engine  # noqa: F401
    import micrograd.nn  # noqa: F401
    import torch  # noqa: F401

    import autograd  # noqa: F401
    import nn  # noqa: F401

    gc.collect()
    gc.freeze()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for CI: checks only, no targets")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    freeze_imports()
    memory = measure_memory(sizes)  # first, before the other runs leave freed memory around
    mlp_rows = measure_mlp(sizes)
    no_grad = measure_no_grad(sizes)
    cost = measure_compile(sizes)
    chains = measure_chains(sizes)
    wide = measure_wide_sums(sizes)
    ok = report(sizes, args.quick, mlp_rows, no_grad, chains, wide, memory, cost)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
