"""`chainrule learn`: the workshop in which a learner builds an engine, checked against chainrule.

A workspace filled with the worked solutions one task at a time passes exactly one task more at
each step; the typical mistakes get their hint and a picture with the right node in red; a
workspace that is not one (a missing file, a syntax error, an endless loop) gets one line and an
exit status, never a traceback.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograd.learn import TASKS, apply_solution, find_task, init, picture, solution_text
from autograd.learn.check import run, run_task
from nn.cli import main as chainrule

pytestmark = pytest.mark.learn

ROOT = Path(__file__).resolve().parent.parent
ENGINE = "mygrad/engine.py"


def solved_up_to(folder: Path, last: int) -> Path:
    init(folder)
    for task in TASKS[:last]:
        apply_solution(folder, task)
    return folder


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    return solved_up_to(tmp_path_factory.mktemp("solved"), len(TASKS))


def changed(solved: Path, folder: Path, old: str, new: str, file: str = ENGINE) -> Path:
    """A copy of the solved workspace with one mistake in it."""
    shutil.copytree(solved, folder, ignore=shutil.ignore_patterns("pictures", "__pycache__"))
    text = (folder / file).read_text()
    assert old in text
    (folder / file).write_text(text.replace(old, new))
    return folder


# ---- init, solution ------------------------------------------------------------------------


def test_init_writes_a_workspace_of_stubs_tests_and_a_readme(tmp_path):
    written = init(tmp_path / "ws")
    assert {"README.md", "conftest.py", "pytest.ini", ENGINE, "mygrad/nn.py", "mygrad/own_op.py"} <= set(written)
    assert {t.module for t in TASKS} <= set(written)
    engine = (tmp_path / "ws" / ENGINE).read_text()
    for n in (1, 3, 4, 5):
        assert f'NotImplementedError("task {n}: ' in engine
    readme = (tmp_path / "ws" / "README.md").read_text()
    assert all(t.title.split()[0].lower() in readme.lower() for t in TASKS)
    assert not (tmp_path / "ws" / "solutions").exists()  # the solutions stay in chainrule


def test_the_workspace_and_the_workshop_never_import_nn(tmp_path):
    init(tmp_path / "ws")
    sources = [*(tmp_path / "ws").rglob("*.py"), *(ROOT / "autograd" / "learn").glob("*.py")]
    for path in sources:
        assert not re.search(r"^\s*(import nn\b|from nn\b)", path.read_text(), re.MULTILINE), path


def test_init_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "mine.py").write_text("x = 1\n")
    assert chainrule(["learn", "init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "mine.py").read_text() == "x = 1\n"


def test_solution_prints_a_worked_solution_of_a_task_by_number_or_name(capsys):
    assert chainrule(["learn", "solution", "4"]) == 0
    out = capsys.readouterr().out
    assert "def backward(self):" in out and "grads.get(child, 0.0) + local * g" in out
    assert solution_text(find_task("backward")) == out
    assert chainrule(["learn", "solution", "12"]) == 2
    assert "no task '12'" in capsys.readouterr().err


# ---- check: from none to all, one task at a time ------------------------------------------------


def test_check_passes_exactly_one_task_more_after_each_solution(tmp_path, capsys):
    folder = solved_up_to(tmp_path / "ws", 0)
    # A fresh workspace, as a teacher's script reads it: nothing passes, task 1 is not started
    assert chainrule(["learn", "check", str(folder), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] == 0 and report["total"] == len(TASKS)
    assert report["tasks"][0]["message"] == "not started: task 1: write Value.__add__ in mygrad/engine.py"
    assert {t["status"] for t in report["tasks"]} == {"not started"}
    for done in range(1, len(TASKS)):
        apply_solution(folder, TASKS[done - 1])
        statuses = [r.status for r in run(folder, time_limit=120)]
        assert statuses[:done] == ["passed"] * done, (done, statuses)
        assert "passed" not in statuses[done:], (done, statuses)
    apply_solution(folder, TASKS[-1])
    # All done, as a learner reads it: the table, every task passed, exit status 0
    assert chainrule(["learn", "check", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"{len(TASKS)} of {len(TASKS)} tasks pass" in out
    assert all(re.search(rf"{t.number}  {re.escape(t.title)} +passed", out) for t in TASKS)


def test_plain_pytest_in_the_workspace_runs_the_same_tests(solved):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=solved, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:]
    assert re.search(r"\b3\d passed", done.stdout)


# ---- typical mistakes: the hint, and the picture with the right node in red -----------------------

MISTAKES = {
    "overwrite instead of add": (
        "grads[child] = grads.get(child, 0.0) + local * g", "grads[child] = local * g",
        4, "does backward add each share to the gradient, or overwrite it?", "x | data 3.0000"),
    "no topological sort": (None, None, 3, "comes before its input x in your order", "x | data 3.0000"),
    "tanh's derivative on the input": (
        "(1 - t**2,)", "(1 - self.data**2,)", 5, "with the output t = tanh(x), not the input x", "data -0.7000"),
    "* passes each input its own number": (
        "(other.data, self.data)", "(self.data, other.data)", 2, "each input gets the OTHER input's number",
        "b | data -3.0000"),
}
BREADTH_FIRST = '''        order, seen, queue = [], set(), [self]
        while queue:
            node = queue.pop(0)
            if node not in seen:
                seen.add(node)
                order.append(node)
                queue.extend(node._prev)
        return order[::-1]  # the root last, but a node may still come before one of its inputs
'''


def _with_mistake(solved: Path, folder: Path, mistake: str) -> Path:
    old, new, *_ = MISTAKES[mistake]
    if mistake == "no topological sort":  # the whole walk replaced by a breadth-first one
        text = (solved / ENGINE).read_text()
        start = text.index("        order, visited = [], set()")
        end = text.index("        return order\n", start) + len("        return order\n")
        old, new = text[start:end], BREADTH_FIRST
    return changed(solved, folder, old, new)


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_typical_mistake_gets_its_hint_and_a_picture(mistake, solved, tmp_path, monkeypatch):
    folder = _with_mistake(solved, tmp_path / "ws", mistake)
    _, _, task, hint, red_label = MISTAKES[mistake]
    if task > 1:
        assert run_task(folder, TASKS[task - 2], 120).status == "passed"  # the mistake shows where it is made
    result = run_task(folder, TASKS[task - 1], 120)
    assert result.status == "failed", result
    assert hint in result.message and "expected" in result.message and "got" in result.message
    png = folder / result.picture
    assert result.picture.startswith("pictures/") and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The same failure in this process, the picture's source kept: the red nodes, yours and chainrule's
    drawn = []
    real_draw = picture.draw
    monkeypatch.setattr(picture, "draw", lambda *a: drawn.append(real_draw(*a)) or drawn[-1])
    monkeypatch.setenv("CHAINRULE_LEARN_PICTURES", str(tmp_path / "pictures"))
    test_module = _load(folder / TASKS[task - 1].module, folder)
    with pytest.raises(pytest.fail.Exception) as failure:
        for name, test in vars(test_module).items():  # in the order of the file, as pytest runs them
            if name.startswith("test_"):
                test()
    assert hint in str(failure.value)
    red = [line for line in drawn[-1].source.splitlines() if picture.RED_FILL in line]
    assert len(red) == 2 and all(red_label in line for line in red), red


def _load(path: Path, folder: Path):
    """A test module of the workspace, imported with the workspace's own mygrad."""
    for name in [m for m in sys.modules if m == "mygrad" or m.startswith("mygrad.")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"workspace_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


def test_a_wrong_gradient_of_a_neuron_is_drawn_beside_chainrules(solved, tmp_path):
    folder = _with_mistake(solved, tmp_path / "ws", "tanh's derivative on the input")
    result = run_task(folder, find_task("neuron"), 120)
    assert result.status == "failed" and "not the input x" in result.message
    assert (folder / result.picture).is_file()


# ---- workspaces that are not one ------------------------------------------------------------------


def test_a_syntax_error_gets_one_line_and_exit_status_2(solved, tmp_path, capsys):
    folder = changed(solved, tmp_path / "ws", "    def tanh(self):", "    def tanh(self:")
    assert chainrule(["learn", "check", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule learn: error: mygrad/engine.py, line ") and "syntax error" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("missing", ["mygrad/nn.py", "tests/test_04_backward.py"])
def test_a_missing_file_gets_one_line_and_exit_status_2(missing, solved, tmp_path, capsys):
    folder = tmp_path / "ws"
    shutil.copytree(solved, folder)
    (folder / missing).unlink()
    assert chainrule(["learn", "check", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert missing in err and len(err.splitlines()) == 1


def test_a_folder_that_is_no_workspace_gets_exit_status_2(tmp_path, capsys):
    assert chainrule(["learn", "check", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert chainrule(["learn", "check", "--time-limit", "soon"]) == 2
    assert chainrule(["learn", "frobnicate"]) == 2


def test_an_endless_loop_in_a_stub_costs_its_task_the_time_limit_and_nothing_else(tmp_path, capsys):
    folder = solved_up_to(tmp_path / "ws", 2)
    text = (folder / ENGINE).read_text()
    stub = 'raise NotImplementedError("task 3: write Value.topological_order in mygrad/engine.py")'
    (folder / ENGINE).write_text(text.replace(stub, "while True:\n            pass"))
    assert chainrule(["learn", "check", str(folder), "--json", "--time-limit", "8"]) == 1
    tasks = json.loads(capsys.readouterr().out)["tasks"]
    assert [t["status"] for t in tasks[:3]] == ["passed", "passed", "timed out"]
    assert "took longer than 8 s" in tasks[2]["message"]
    assert tasks[3]["status"] == "not started"


def test_an_error_in_the_learners_code_is_one_line_naming_the_place(solved, tmp_path, capsys):
    folder = changed(solved, tmp_path / "ws", "        e = math.exp(self.data)\n", "        e = math.exp(self.dta)\n")
    result = run_task(folder, find_task("5"), 120)
    assert result.status == "error"
    assert re.fullmatch(r"AttributeError: .*'dta'.* \(mygrad/engine\.py, line \d+\)", result.message)


# ---- the package ships the workshop -----------------------------------------------------------


def test_a_wheel_of_the_project_ships_the_workspace_template_and_the_solutions(project_wheel):
    names = set(project_wheel.namelist())  # project_wheel: tests/conftest.py
    template = ROOT / "autograd" / "learn" / "template"
    expected = {f"autograd/learn/template/{p.relative_to(template).as_posix()}" for p in template.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    assert expected <= names
    assert {f"autograd/learn/solutions/{t.number}.md" for t in TASKS} <= names


def test_an_error_while_importing_the_engine_is_one_line_naming_the_place(solved, tmp_path):
    folder = changed(solved, tmp_path / "ws", "\nclass Value:\n", "\nundefined_name()\n\n\nclass Value:\n")
    result = run_task(folder, find_task("1"), 120)
    assert result.status == "error" and result.test == "importing the tests"
    assert re.fullmatch(r"NameError: name 'undefined_name' is not defined \(mygrad/engine\.py, line \d+\)",
                        result.message)
