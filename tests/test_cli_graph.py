"""`chainrule graph`: expression in, gradients and a picture out; every mistake is one line and exit 2."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _reference import finite_differences, matches_finite_differences, matches_torch, torch_value_and_grad

from autograd import Value
from nn.cli import main as chainrule

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




def test_every_function_of_the_op_table_works_on_the_command_line(capsys, torch):
    # the functions are read from autograd.ops.FUNCTIONS: softplus and log1p came with the op table
    status, out, err = run(capsys, "softplus(x) + log1p(x) * leaky_relu(x, 0.2)", "x=0.3")
    assert (status, err) == (0, "")
    t = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    f = torch.nn.functional
    y = f.softplus(t) + torch.log1p(t) * f.leaky_relu(t, 0.2)
    (expected,) = torch.autograd.grad(y, t)
    assert printed_gradients(out) == {"x": matches_torch(expected.item())}


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


@pytest.mark.parametrize("expression", ["-offset*2", "-height+1"])
def test_an_expression_starting_with_an_options_letter_is_still_the_expression(capsys, tmp_path, expression):
    """-o and -h are options, yet '-offset*2' is the expression, not '-o ffset*2'."""
    name = expression[1:].split("*")[0].split("+")[0]
    status, out, _ = run(capsys, expression, f"{name}=1", "-o", str(tmp_path / "g.dot"))
    assert status == 0 and set(printed_gradients(out)) == {name} and (tmp_path / "g.dot").is_file()


def test_help_lists_the_options_and_exits_zero(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "NAME=VALUE" in out and "--max-nodes" in out
    assert chainrule(["--help"]) == 0 and "graph" in capsys.readouterr().out


def test_help_shows_every_options_default(capsys):
    _, out, _ = run(capsys, "--help")
    options = re.findall(r"^  (-[\w-]+(?:, --[\w-]+)?)(?: [A-Z]+)?\s+(.*(?:\n {5,}.*)*)", out, flags=re.MULTILINE)
    described = {names: " ".join(text.split()) for names, text in options}
    assert set(described) == {"-o, --output", "--html", "--rankdir", "--colors", "--local-grads", "--max-nodes",
                              "--timeout", "-h, --help"}
    for names, text in described.items():
        assert names == "-h, --help" or "(default" in text, f"{names} does not show its default: {text}"
    assert "(default: LR" in described["--rankdir"] and "(default: 500)" in described["--max-nodes"]
    assert "(default: 10)" in described["--timeout"]


@pytest.mark.parametrize("help_args", [["--help"], ["graph", "--help"]])
def test_help_documents_every_exit_status(capsys, help_args):
    assert chainrule(help_args) == 0
    out = capsys.readouterr().out
    for status in ("0", "1", "2", "130", "141"):
        assert re.search(rf"(^|\W){status}\W", out.split("xit status")[1]), f"exit status {status} is not documented"


# ---- what is NAME=VALUE and what is the expression ---------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["x==1", "x=1"], "comparisons (==, !=, <, <=, >, >=, is, in) are not allowed in 'x==1'"),
    (["x=1", "x==1"], "comparisons"),
    (["x >= 1", "x=1"], "comparisons"),
    (["x != y", "x=1", "y=2"], "comparisons"),
    (["leaky_relu(x, slope=0.1)", "x=-1"], "got slope=0.1"),
    (["tanh(x=1)", "x=1"], "tanh() takes no keyword arguments, got x=1"),
    (["x=abc"], "no expression given (x=abc read as NAME=VALUE)"),
    (["x", "x=abc"], "the value 'abc' is not a number"),
])
def test_an_argument_is_name_value_only_when_it_reads_name_equals_number(capsys, args, words):
    status, out, err = run(capsys, *args)
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["1e309", "-1e309", "9" * 400])
def test_a_value_too_large_for_a_float_is_refused_as_the_same_number_in_the_expression_is(capsys, value):
    status, out, err = run(capsys, "x*2", f"x={value}")
    assert (status, out) == (2, "") and err.count("\n") == 1 and "is too large for a float" in err
    status, out, err = run(capsys, f"x*{value.lstrip('-')}", "x=1")
    assert (status, out) == (2, "") and "too large for a float" in err


def test_an_infinity_written_as_inf_is_a_value(capsys):
    status, out, _ = run(capsys, "x*2", "x=-inf")
    assert status == 0 and printed_gradients(out) == {"x": 2.0}


def test_a_keyword_slope_is_named_and_the_positional_form_shown(capsys):
    status, _, err = run(capsys, "leaky_relu(x, slope=0.1)", "x=-1")
    assert status == 2
    assert "slope=0.1" in err and "leaky_relu(x, 0.1)" in err and "no expression given" not in err
    status, out, _ = run(capsys, "leaky_relu(x, 0.1)", "x=-1")  # the form the error suggests works
    assert status == 0 and printed_gradients(out) == {"x": 0.1}


def test_name_value_may_have_spaces_around_the_equals_sign(capsys):
    status, out, _ = run(capsys, "x*y", "x = 2", "y= -3")
    assert status == 0 and printed_gradients(out) == {"x": -3.0, "y": 2.0}


@pytest.mark.parametrize("text, assignment", [("ﬁ*2", "ﬁ=3"), ("fi*2", "ﬁ=3"), ("ﬁ*2", "fi=3"), ("𝐟𝐢*2", "ｆｉ=3")])
def test_names_are_normalised_as_python_normalises_them(capsys, text, assignment):
    status, out, err = run(capsys, text, assignment)
    assert (status, err) == (0, "")
    assert printed_gradients(out) == {"fi": 2.0} and " = 6.0" in out.splitlines()[0]


def test_two_spellings_of_one_name_are_one_name_given_twice(capsys):
    status, _, err = run(capsys, "fi*2", "ﬁ=3", "fi=2")
    assert status == 2
    assert "'fi' is given twice" in err and "'ﬁ' and 'fi' are one name" in err


def test_a_name_python_refuses_is_refused_as_a_name(capsys):
    status, _, err = run(capsys, "x", "x=1", "x²=2")
    assert status == 2 and "'x²' is not a name" in err


# ---- the picture is bounded in time ------------------------------------------------------------

def test_a_graph_dot_used_to_take_a_minute_on_renders_within_the_default_timeout(capsys, tmp_path, dot_program):
    # 100 factors sharing two leaves: 22-70 s in dot before far uses were drawn as copies; now well under 1 s
    path = tmp_path / "chain.svg"
    status, out, err = run(capsys, "*".join(["x", "y"] * 50), "x=1.01", "y=0.99", "-o", str(path))
    assert (status, err) == (0, "")
    assert ET.parse(path).getroot().tag.endswith("svg") and f"wrote {path}" in out


def test_a_picture_over_the_timeout_is_one_line_exit_1_and_no_file(capsys, tmp_path, dot_program):
    path = tmp_path / "g.png"
    status, out, err = run(capsys, "tanh(x*w + b)", "x=2", "w=-3", "b=6.88", "-o", str(path), "--timeout", "0.001")
    assert status == 1
    assert "df/dx" in out  # the numbers are still worth having
    assert err.count("\n") == 1 and "within 0.001 s" in err and "--timeout SECONDS" in err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("value, words", [("0", "positive"), ("-1", "positive"), ("soon", "number of seconds"),
                                          ("inf", "positive")])
def test_a_bad_timeout_is_a_mistake_in_the_command(capsys, value, words):
    status, out, err = run(capsys, "x", "x=1", "--timeout", value)
    assert (status, out) == (2, "") and "argument --timeout: must be" in err and words in err


# ---- output files --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["graph.svg", "graph.png", "graph.dot"])
def test_the_picture_is_the_only_file_written(capsys, tmp_path, dot_program, name):
    status, _, _ = run(capsys, "x*x", "x=3", "-o", str(tmp_path / name))
    assert status == 0 and os.listdir(tmp_path) == [name]


@pytest.mark.parametrize("where", ["missing/dir/g.svg", "a_file/g.svg", "a_dir.svg", "a_dir.dot"])
def test_an_output_that_cannot_be_written_is_one_line_exit_1_and_nothing_left(capsys, tmp_path, dot_program, where):
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "a_dir.svg").mkdir()
    (tmp_path / "a_dir.dot").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    status, out, err = run(capsys, "x*x", "x=3", "-o", str(tmp_path / where))
    assert status == 1 and "df/dx = 6.0" in out
    assert err.count("\n") == 1 and "cannot write" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no half-written or temporary file


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
    (["x ** 0.5", "x=-2"], "non-integer power"),
    (["x", "x=1", "-o", "graph.jpgx"], "cannot tell the format"),
    (["x", "x=1", "-o"], "argument -o/--output: expected one argument"),
    (["x", "x=1", "--rankdir", "up"], "argument --rankdir: invalid choice: 'up'"),
    (["x", "x=1", "--max-nodes", "many"], "argument --max-nodes: not a whole number"),
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




# ---- as a real command --------------------------------------------------------------------------


def command(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "chainrule"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "nn.cli"]
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
    done = subprocess.run([sys.executable, "-m", "nn.cli", *args], capture_output=True, text=True, cwd=PROJECT,
                          timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_the_command_without_dot_on_path_says_how_to_install_it(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}
    done = command("graph", "x*x", "x=3", "-o", str(tmp_path / "g.png"), env=env)
    assert done.returncode == 1
    assert "conda install" in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_is_one_line_and_exit_status_130(capsys, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("autograd.graph_cli.main", interrupted)
    assert chainrule(["graph", "x", "x=1"]) == 130
    out, err = capsys.readouterr()
    assert (out, err) == ("", "chainrule: interrupted\n")


def test_an_unexpected_error_is_one_line_and_exit_status_1(capsys, monkeypatch):
    def broken(*args):
        raise RuntimeError("something\nnobody expected")

    monkeypatch.setattr("autograd.graph_cli.main", broken)
    monkeypatch.delenv("CHAINRULE_TRACEBACK", raising=False)
    assert chainrule(["graph", "x", "x=1"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "chainrule: error: RuntimeError: something nobody expected" in err and "CHAINRULE_TRACEBACK=1" in err
    monkeypatch.setenv("CHAINRULE_TRACEBACK", "1")  # for a bug report, the traceback on request
    with pytest.raises(RuntimeError, match="nobody expected"):
        chainrule(["graph", "x", "x=1"])


def test_an_unknown_command_is_exit_status_2(capsys):
    assert chainrule(["draw"]) == 2
    assert "unknown command 'draw'" in capsys.readouterr().err


def started(*args: str, env: dict | None = None) -> subprocess.Popen:
    """The command running, its stdout a pipe we can close; Ctrl-C acts as in a terminal (SIG_DFL)."""
    script = Path(sys.executable).parent / "chainrule"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "nn.cli"]
    return subprocess.Popen([*argv, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=PROJECT, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_a_closed_pipe_ends_quietly_with_status_141(tmp_path, dot_program, buffered):
    # as in `chainrule graph ... | head -1`: the reader takes one line and goes away while dot draws
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    process = started("graph", "*".join(["x", "y"] * 50), "x=1.01", "y=0.99", "-o", str(tmp_path / "g.svg"),
                      "--timeout", "60", env=env)
    assert process.stdout.readline().startswith(b"f = x*y*x*y")
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert err == ""  # no traceback, no "Exception ignored ... BrokenPipeError" at shutdown


def test_ctrl_c_while_dot_draws_stops_dot_and_writes_nothing(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    # a dot that reads its input (so chainrule is waiting for it when the pid shows) and hangs
    (folder / "dot").write_text(f"#!/bin/sh\ncat > /dev/null\necho $$ > {tmp_path / 'dot.pid'}\nexec sleep 60\n")
    (folder / "dot").chmod(0o755)
    env = {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}
    process = started("graph", "x*x", "x=3", "-o", str(tmp_path / "g.svg"), "--timeout", "60", env=env)
    assert process.stdout.readline() == b"f = x*x = 9.0\n"
    for _ in range(100):  # wait until dot runs
        if (tmp_path / "dot.pid").exists() and (tmp_path / "dot.pid").read_text().strip():
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert process.stderr.read() == b"chainrule: interrupted\n"
    with pytest.raises(ProcessLookupError):  # dot was stopped with it
        os.kill(int((tmp_path / "dot.pid").read_text()), 0)
    assert sorted(os.listdir(tmp_path)) == ["bin", "dot.pid"]  # no picture, no temporary file
