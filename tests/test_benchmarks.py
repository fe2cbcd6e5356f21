"""The benchmark script, run in quick mode so it never rots: every engine runs and agrees.

No timing is asserted (the machine is shared and noisy); the script's own correctness checks
are: the per-step MLP losses of chainrule, micrograd, PyTorch and hand-written floats agree,
and so do the chain and wide-sum gradients.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def quick_run(torch) -> subprocess.CompletedProcess:
    """`python benchmarks/run.py --quick`, once for the whole module (torch fixture: required in CI)."""
    pytest.importorskip("micrograd", reason="micrograd==0.1.0 is a test dependency (pyproject.toml)")
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=600, cwd=SCRIPT.parent.parent
    )


def test_quick_run_completes_with_exit_status_zero(quick_run):
    assert quick_run.returncode == 0, quick_run.stdout[-3000:] + quick_run.stderr[-3000:]


def test_quick_run_finds_the_same_losses_in_every_engine(quick_run):
    assert "per-step MLP losses agree across engines: PASS" in quick_run.stdout


def test_quick_run_finds_the_same_gradients_in_every_engine(quick_run):
    assert "chain and wide-sum gradients agree across engines: PASS" in quick_run.stdout


@pytest.mark.parametrize(
    "row",
    [
        "| chainrule ",
        "| micrograd ",
        "| micrograd, gc off ",
        "| torch ",
        "| floor (hand-written floats) ",
        "| floor, per point (issue 6) ",
    ],
)
def test_quick_run_measures_every_engine(quick_run, row):
    assert row in quick_run.stdout


def test_quick_run_leaves_targets_to_the_full_run(quick_run):
    assert "quick mode" in quick_run.stdout
    assert "## Targets" not in quick_run.stdout


def test_the_loss_check_fails_when_engines_disagree():
    # in a child process: the script's helper modules (graphs, mlp, timing) stay out of this one
    code = """if True:
        import run
        same = [run.MlpRow("a", 1.0, [0.5, 0.25]), run.MlpRow("b", 1.0, [0.5, 0.25 * (1 + 1e-15)])]
        different = [run.MlpRow("a", 1.0, [0.5, 0.25]), run.MlpRow("b", 1.0, [0.5, 0.26])]
        print(run.check_losses(same)[0], run.check_losses(different)[0])
    """
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=SCRIPT.parent
    )
    assert result.stdout.split() == ["True", "False"], result.stderr


def test_issue12_targets_pass_at_their_thresholds_and_fail_just_past_them():
    # in a child process, as above; synthetic measurements just inside and just outside each target
    code = """if True:
        import run
        sizes = run.QUICK
        deepest = sizes.chain_rounds[-1]

        def verdicts(micrograd_ms=720.0, micrograd_backward=0.76, bytes_per_node=249.0, freed=True, deep=True):
            ms = {"chainrule": 20.0, "micrograd": micrograd_ms, run.FLOOR: 4.0, run.PER_POINT_FLOOR: 8.0}
            rows = [run.MlpRow(name, ms.get(name, 100.0), []) for name in
                    ("chainrule", "micrograd", "micrograd, gc off", "torch", run.FLOOR, run.PER_POINT_FLOOR)]
            ours = {r: run.GraphCell(0.5, 0.3 if deep or r != deepest else None) for r in sizes.chain_rounds}
            theirs = {r: run.GraphCell(1.5, micrograd_backward if r == sizes.chain_rounds[0] else None)
                      for r in sizes.chain_rounds}
            memory = [run.MemoryRow("chainrule", bytes_per_node, freed, "tracemalloc")]
            targets = run.issue12_targets(rows, {"chainrule": ours, "micrograd": theirs}, memory, sizes)
            return "".join({True: "P", False: "F", None: "-"}[t.passed] for t in targets)

        print(verdicts(), verdicts(micrograd_ms=680.0), verdicts(micrograd_backward=0.74),
              verdicts(bytes_per_node=251.0), verdicts(freed=False), verdicts(deep=False))
    """
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=SCRIPT.parent
    )
    assert result.stdout.split() == ["PPPPP-", "FPPPP-", "PFPPP-", "PPFPP-", "PPPFP-", "PPPPF-"], result.stderr
