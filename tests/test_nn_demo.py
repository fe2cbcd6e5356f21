"""`chainrule demo`: trains on two moons end to end and writes real, valid pictures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from autograd import cli
from nn import demo

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


@pytest.mark.parametrize("args", [["--epochs", "0"], ["--points", "2"], ["--lr", "-1"], ["--epochs", "x"], ["--bogus"]])
def test_bad_options_exit_with_status_2(tmp_path, capsys, args):
    assert demo.main([*args, "--out", str(tmp_path / "never")]) == 2
    assert capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_help_exits_with_status_0(capsys):
    assert demo.main(["--help"]) == 0
    assert "--epochs" in capsys.readouterr().out
