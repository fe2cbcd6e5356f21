"""`chainrule demo`: trains on two moons end to end and writes real, valid pictures."""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nn import cli, demo

pytestmark = pytest.mark.nn

PNG_HEADER = b"\x89PNG\r\n\x1a\n"
FILES = ["decision_boundary.png", "training_curves.png", "neuron_graph.svg", "neuron_graph.png"]


def assert_valid_pictures(folder) -> None:
    for name in FILES:
        path = folder / name
        assert path.is_file(), f"{name} was not written"
        if name.endswith(".png"):
            data = path.read_bytes()
            assert data.startswith(PNG_HEADER) and len(data) > 1000
        else:
            root = ET.parse(path).getroot()
            assert root.tag.endswith("svg")
            text = ET.tostring(root, encoding="unicode")
            assert "grad" in text and "dot" in text  # the neuron's dot node, with gradients on its Values


def test_the_demo_runs_end_to_end_and_writes_valid_pictures(tmp_path, capsys):
    out = tmp_path / "pictures"
    status = demo.main(["--epochs", "3", "--points", "16", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 0
    assert_valid_pictures(out)
    assert re.search(r"train accuracy\s+\d+\.\d% \(\d+/16\)", printed)
    assert re.search(r"validation accuracy\s+\d+\.\d% \(\d+/4\)", printed)
    assert str(out.resolve()) in printed and all(name in printed for name in FILES)


def test_chainrule_demo_on_the_command_line_runs_the_training_demo(tmp_path, capsys):
    status = cli.main(["demo", "--epochs", "2", "--points", "8", "--out", str(tmp_path), "--no-progress"])
    assert status == 0
    assert_valid_pictures(tmp_path)
    assert "two-moons" in capsys.readouterr().out


def test_the_demo_settings_reach_full_training_accuracy_on_100_points(tmp_path, capsys):
    status = demo.main(["--epochs", "40", "--out", str(tmp_path), "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 0
    assert "train accuracy      100.0% (100/100)" in printed


def test_the_progress_bar_is_shown_by_default(tmp_path, capsys):
    assert demo.main(["--epochs", "2", "--points", "8", "--out", str(tmp_path)]) == 0
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
    (["--points", "2"], "argument --points: must be at least 4, got 2"),
    (["--lr", "-1"], "argument --lr: must be above 0 and below 10, got -1"),
    (["--noise", "nan"], "argument --noise: must be at least 0 and below 10, got nan"),
    (["--epochs", "x"], "argument --epochs: not a whole number: 'x'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_options_are_one_line_naming_the_option_and_exit_status_2(tmp_path, capsys, args, words):
    assert demo.main([*args, "--out", str(tmp_path / "never")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"chainrule demo: error: {words} (see chainrule demo --help)\n"
    assert not (tmp_path / "never").exists()


def test_help_exits_with_status_0(capsys):
    assert demo.main(["--help"]) == 0
    assert "--epochs" in capsys.readouterr().out


def test_help_shows_every_options_default_and_the_exit_statuses(capsys):
    assert demo.main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    options = text.split("options:")[1].split("exit status:")[0]
    described = dict(re.findall(r"(--[\w-]+)(?: [A-Z]+)? (.*?)(?= --[a-z]|$)", options))
    assert set(described) == {"--help", "--epochs", "--points", "--noise", "--lr", "--seed", "--out", "--no-progress"}
    for option, default in [("--epochs", "100"), ("--points", "100"), ("--noise", "0.1"), ("--lr", "0.05"),
                            ("--seed", "0"), ("--out", "chainrule-output"), ("--no-progress", "False")]:
        assert described[option].strip().endswith(f"(default: {default})"), f"{option} does not show its default"
    for status in ("0", "1", "2", "130", "141"):
        assert re.search(rf"exit status:.* {status} ", text)


# ---- the output folder ------------------------------------------------------------------------

def _unusable_folders(tmp_path):
    """Output folders that cannot be made or written, also for root (tests may run as root)."""
    (tmp_path / "a_file").write_text("not a folder")
    return {
        "under a regular file": (tmp_path / "a_file" / "pictures", "Not a directory"),
        "deep under a regular file": (tmp_path / "a_file" / "x" / "y", "Not a directory"),
        "a regular file": (tmp_path / "a_file", "Not a directory"),
        "a name too long": (tmp_path / ("n" * 300), "File name too long"),
        "inside /sys": (Path("/sys/chainrule-test/pictures"), ""),  # sysfs refuses mkdir, root or not
    }


@pytest.mark.parametrize("case", ["under a regular file", "deep under a regular file", "a regular file",
                                  "a name too long", "inside /sys"])
def test_an_output_folder_that_cannot_be_written_is_one_line_exit_1_before_training(tmp_path, capsys, case):
    folder, reason = _unusable_folders(tmp_path)[case]
    before = sorted(tmp_path.rglob("*"))
    status = demo.main(["--epochs", "2", "--points", "8", "--out", str(folder), "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""  # nothing was trained: the folder is checked first
    assert err.count("\n") == 1 and err.startswith("chainrule demo: error: cannot write into the output folder")
    assert reason in err and "Traceback" not in err
    assert sorted(tmp_path.rglob("*")) == before  # no folder or file was left behind
    assert not Path("/sys/chainrule-test").exists()


def fail_the_nth_file_sync(monkeypatch, n: int, error: BaseException) -> None:
    """Make write_file's n-th flush of a file (not of a folder) raise `error`: a full disk, or Ctrl-C."""
    import stat

    import autograd.files

    real, calls = os.fsync, []

    def fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            calls.append(fd)
            if len(calls) == n:
                raise error
        return real(fd)

    monkeypatch.setattr(autograd.files.os, "fsync", fsync)


def test_a_picture_that_cannot_be_written_is_one_line_and_leaves_no_partial_file(tmp_path, capsys, monkeypatch):
    fail_the_nth_file_sync(monkeypatch, 1, OSError(errno.ENOSPC, "No space left on device"))  # the first picture
    status = demo.main(["--epochs", "2", "--points", "8", "--out", str(tmp_path), "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    assert err.count("\n") == 1 and "no plots" in err and "No space left on device" in err
    assert sorted(os.listdir(tmp_path)) == ["neuron_graph.png", "neuron_graph.svg"]  # the rest stands, whole


@pytest.mark.parametrize(("kind", "words"), [("a FIFO", "a FIFO (named pipe)"),
                                             ("a symlink to /dev/null", "a character device"),
                                             ("a folder", "a directory")])
def test_a_picture_name_taken_by_a_fifo_a_device_or_a_folder_is_one_line_exit_1_before_training(tmp_path, capsys,
                                                                                                  kind, words):
    taken = tmp_path / "training_curves.png"
    if kind == "a FIFO":
        os.mkfifo(taken)  # writing a picture there would block, or reach a reader
    elif kind == "a folder":
        taken.mkdir()
    else:
        taken.symlink_to("/dev/null")  # a character device: replacing it as root would destroy a device node
    status = demo.main(["--epochs", "2", "--points", "8", "--out", str(tmp_path), "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1 and out == ""  # nothing was trained
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"chainrule demo: error: cannot write a picture: {taken} is {words}, not a regular file")
    assert os.listdir(tmp_path) == ["training_curves.png"]  # nothing written, no temporary file
    assert (os.readlink(taken) == "/dev/null" if "dev" in kind
            else taken.is_fifo() if kind == "a FIFO" else taken.is_dir())
    assert Path("/dev/null").is_char_device()


def test_without_graphviz_only_the_plots_are_written_and_no_dot_source(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status = demo.main(["--epochs", "2", "--points", "8", "--out", str(tmp_path / "out"), "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    assert err.count("\n") == 1 and "no neuron graph picture" in err and "apt-get install graphviz" in err
    assert sorted(os.listdir(tmp_path / "out")) == ["decision_boundary.png", "training_curves.png"]


def test_an_interrupted_run_leaves_no_half_written_picture_and_no_empty_folder(tmp_path, capsys, monkeypatch):
    import nn.plots

    with monkeypatch.context() as patch:
        fail_the_nth_file_sync(patch, 2, KeyboardInterrupt())  # Ctrl-C while the second picture is written
        with pytest.raises(KeyboardInterrupt):
            demo.main(["--epochs", "2", "--points", "8", "--out", str(tmp_path / "out"), "--no-progress"])
    assert os.listdir(tmp_path / "out") == ["decision_boundary.png"]  # written whole before the interrupt
    monkeypatch.setattr(nn.plots, "plot_decision_boundary", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        demo.main(["--epochs", "2", "--points", "8", "--out", str(tmp_path / "new" / "out"), "--no-progress"])
    assert not (tmp_path / "new").exists()  # the folders it made for nothing are gone


# ---- as a real command: Ctrl-C and a closed pipe ------------------------------------------------

PROJECT = Path(__file__).resolve().parent.parent


def started(*args: str, env: dict | None = None) -> subprocess.Popen:
    """`chainrule demo` running, its stdout a pipe; Ctrl-C acts as in a terminal (SIG_DFL, not inherited SIG_IGN)."""
    script = Path(sys.executable).parent / "chainrule"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "nn.cli"]
    return subprocess.Popen([*argv, "demo", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=PROJECT,
                            env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize("progress", [[], ["--no-progress"]], ids=["progress bar", "no progress bar"])
def test_ctrl_c_while_training_is_one_line_exit_130_and_no_traceback(tmp_path, progress):
    process = started("--epochs", "100000", "--out", str(tmp_path / "out"), *progress)
    assert process.stdout.readline().startswith(b"training MLP")
    assert process.stdout.readline().startswith(b"hinge loss")  # printed just before training starts
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    status = process.wait(timeout=60)
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    assert status == 130
    assert out == ""  # it stopped while training
    assert err.endswith("\nchainrule: interrupted\n") or err == "chainrule: interrupted\n"
    if "--no-progress" in progress:
        assert err == "chainrule: interrupted\n"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert not (tmp_path / "out").exists()  # the output folder made for this run is gone again


def test_a_closed_pipe_ends_quietly_with_status_141(tmp_path):
    # as in `chainrule demo | head -1`: the reader takes the first line and goes away while it trains
    process = started("--epochs", "20", "--points", "16", "--out", str(tmp_path / "out"), "--no-progress")
    assert process.stdout.readline().startswith(b"training MLP")
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert err == ""  # no traceback, no "Exception ignored ... BrokenPipeError" at shutdown
