"""`chainrule graph`: expression in, gradients and a picture out; every mistake is one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _reference import finite_differences, matches_finite_differences, matches_torch, torch_value_and_grad

from autograd import Value
from autograd.cli import main as chainrule

pytestmark = pytest.mark.cli

PROJECT = Path(__file__).resolve().parent.parent


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = chainrule(["graph", *args])
    out, err = capsys.readouterr()
    return status, out, err


def printed_gradients(out: str) -> dict[str, float]:
    """'df/dx = -1.5' lines -> {'x': -1.5}."""
    grads = {}
    for line in out.splitlines():
        if line.startswith("df/d"):
            name, _, value = line[4:].partition(" = ")
            grads[name] = float(value)
    return grads




# ---- good commands ---------------------------------------------------------------------------

GOOD = [
    ("tanh(x*w + b)", {"x": 2.0, "w": -3.0, "b": 6.88}, lambda x, w, b: (x * w + b).tanh()),
    ("x**3 - 2*x*y + exp(y)/x", {"x": 1.5, "y": -0.5}, lambda x, y: x**3 - 2 * x * y + y.exp() / x),
    ("sigmoid(a) * log(b) + sqrt(b)", {"a": 0.3, "b": 2.0}, lambda a, b: a.sigmoid() * b.log() + b.sqrt()),
]


@pytest.mark.parametrize("text, values, f", GOOD, ids=[g[0] for g in GOOD])
def test_printed_gradients_are_exactly_the_engines(capsys, text, values, f):
    status, out, err = run(capsys, text, *(f"{k}={v}" for k, v in values.items()))
    assert (status, err) == (0, "")
    leaves = {k: Value(v) for k, v in values.items()}
    y = f(**leaves)
    y.backward()
    assert printed_gradients(out) == {k: leaf.grad for k, leaf in leaves.items()}
    assert f"= {y.data!r}" in out.splitlines()[0]


@pytest.mark.parametrize("text, values, f", GOOD, ids=[g[0] for g in GOOD])
def test_printed_gradients_match_pytorch_and_finite_differences(capsys, torch, text, values, f):
    _, out, _ = run(capsys, text, *(f"{k}={v}" for k, v in values.items()))
    grads = [printed_gradients(out)[k] for k in values]
    point = list(values.values())
    assert grads == matches_torch(torch_value_and_grad(torch, f, point)[1])
    assert grads == matches_finite_differences(finite_differences(lambda *xs: f(*map(Value, xs)).data, point))


def test_the_svg_picture_parses_and_shows_names_data_and_gradients(capsys, tmp_path, dot_program):
    path = tmp_path / "graph.svg"
    status, out, _ = run(capsys, "tanh(x*w + b)", "x=2", "w=-3", "b=6.88", "-o", str(path), "--colors")
    assert status == 0 and f"wrote {path}" in out
    words = " ".join(t.strip() for t in ET.parse(path).getroot().itertext() if t.strip())
    x = Value(2.0)
    (x * -3.0 + 6.88).tanh().backward()
    for expected in ("x", "w", "b", "tanh", "data 2", f"grad {x.grad:.4g}", "|grad|"):
        assert expected in words


@pytest.mark.parametrize("suffix, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF")])
def test_binary_formats_follow_the_suffix(capsys, tmp_path, dot_program, suffix, magic):
    path = tmp_path / f"graph.{suffix}"
    status, _, _ = run(capsys, "x*x", "x=3", f"--output={path}", "--local-grads", "--rankdir", "TB")
    assert status == 0 and path.read_bytes().startswith(magic)


@pytest.mark.parametrize("suffix", ["dot", "gv"])
def test_dot_and_gv_write_the_source_without_needing_graphviz(capsys, tmp_path, monkeypatch, suffix):
    monkeypatch.setenv("PATH", str(tmp_path))
    path = tmp_path / f"graph.{suffix}"
    status, _, _ = run(capsys, "x*x", "x=3", "-o", str(path))
    assert status == 0 and path.read_text().startswith("digraph")


def test_an_expression_may_start_with_a_minus(capsys):
    status, out, _ = run(capsys, "-x*2", "x=1")
    assert status == 0 and printed_gradients(out) == {"x": -2.0}


def test_help_lists_the_options_and_exits_zero(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "NAME=VALUE" in out and "--max-nodes" in out
    assert chainrule(["--help"]) == 0 and "graph" in capsys.readouterr().out


# ---- every class of mistake: one line on stderr, exit status 2 ---------------------------------

BAD = [
    ([], "no expression given"),
    (["x +", "x=1"], "not a valid expression"),
    (["x.real", "x=1"], "attribute access"),
    (["foo(x)", "x=1"], "unknown function 'foo'"),
    (["__import__('os').system('true')"], "only the functions"),
    (["x*y", "x=1"], "no value for y"),
    (["x", "x=1", "y=2"], "no name 'y'"),
    (["x", "x=1", "x=2"], "'x' is given twice"),
    (["x", "x=abc"], "'abc' is not a number"),
    (["x", "x="], "'' is not a number"),
    (["x", "2x=1"], "'2x' is not a name"),
    (["x", "y", "x=1"], "unexpected argument 'y'"),
    (["log(x)", "x=-1"], "logarithm needs a positive input"),
    (["1/x", "x=0"], "division by zero"),
    (["sqrt(x)", "x=-4"], "square root needs a non-negative input"),
    (["exp(x)", "x=1000"], "too large"),
    (["x", "x=1", "-o", "graph.jpgx"], "cannot tell the format"),
    (["x", "x=1", "-o"], "-o needs a value"),
    (["x", "x=1", "--rankdir", "up"], "--rankdir must be"),
    (["x", "x=1", "--max-nodes", "many"], "--max-nodes must be a whole number"),
    (["x", "x=1", "--max-nodes", "0"], "at least 1"),
    (["x", "x=1", "--colour"], "unknown option '--colour'"),
    ([" + ".join(["x"] * 300), "x=1", "-o", "big.svg"], "max_nodes=500"),
]


@pytest.mark.parametrize("args, words", BAD, ids=[" ".join(a)[:40] or "nothing" for a, _ in BAD])
def test_a_mistake_is_one_line_on_stderr_and_exit_status_2(capsys, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, *args)
    assert status == 2
    assert out == ""  # no gradients printed for a command that failed
    assert err.count("\n") == 1 and err.startswith("chainrule graph: error: ")
    assert words in err
    assert "Traceback" not in err
    assert os.listdir(tmp_path) == []  # nothing written


def test_a_missing_dot_program_is_one_line_with_install_advice_and_exit_1(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    status, out, err = run(capsys, "x*x", "x=3", "-o", str(tmp_path / "g.svg"))
    assert status == 1
    assert "df/dx = 6.0" in out  # the numbers are still worth having
    assert err.count("\n") == 1 and "apt-get install graphviz" in err and "brew install graphviz" in err
    assert not (tmp_path / "g.svg").exists()


def test_an_unwritable_output_is_one_line_and_exit_1(capsys, tmp_path, dot_program):
    status, _, err = run(capsys, "x", "x=1", "-o", str(tmp_path / "no" / "such" / "dir" / "g.svg"))
    assert status == 1 and err.count("\n") == 1 and "cannot write" in err


# ---- as a real command --------------------------------------------------------------------------


def command(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "chainrule"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "autograd.cli"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, cwd=PROJECT, env=env, timeout=120)


def test_the_installed_command_prints_gradients_and_writes_the_picture(tmp_path, dot_program):
    path = tmp_path / "graph.svg"
    done = command("graph", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88", "-o", str(path))
    assert done.returncode == 0, done.stderr
    x, w, b = Value(2.0), Value(-3.0), Value(6.88)
    (x * w + b).tanh().backward()
    assert printed_gradients(done.stdout) == {"x": x.grad, "w": w.grad, "b": b.grad}
    assert ET.parse(path).getroot().tag.endswith("svg")


@pytest.mark.parametrize("args", [["graph", "tanh(x", "x=1"], ["graph", "log(x)", "x=0"], ["graph", "x", "x=1", "y=2"]])
def test_the_module_run_as_a_command_fails_in_one_line(args):
    done = subprocess.run([sys.executable, "-m", "autograd.cli", *args], capture_output=True, text=True, cwd=PROJECT,
                          timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_the_command_without_dot_on_path_says_how_to_install_it(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}
    done = command("graph", "x*x", "x=3", "-o", str(tmp_path / "g.png"), env=env)
    assert done.returncode == 1
    assert "conda install" in done.stderr and "Traceback" not in done.stderr
