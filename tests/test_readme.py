"""The README's code runs as it stands: every Python block, and every `chainrule` command line.

Each ```python block runs in a fresh interpreter, in one scratch folder shared by all of them in
order (so the block that saves moons.json comes before the command that exports it); a block that
opens with `# test_*.py` is a test file, written there and run with pytest. Then every line of a
```bash block that starts with `chainrule` runs there too. The other shell lines (set-up, apt-get,
jupyter lab, the test suite itself) are not run here: CI runs the test command, and the demo has
tests of its own (tests/test_nn_demo.py).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.readme

README = Path(__file__).resolve().parent.parent / "README.md"
BIN = Path(sys.executable).parent


def _blocks(language: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", README.read_text(), re.S)]


def _commands() -> list[str]:
    return [line.split("#")[0].strip() for block in _blocks("bash") for line in block.splitlines()
            if line.startswith("chainrule ")]


def test_the_readme_has_python_blocks_and_chainrule_commands():
    assert len(_blocks("python")) >= 10 and len(_commands()) >= 3


def test_every_python_block_and_chainrule_command_runs(tmp_path):
    for number, block in enumerate(_blocks("python")):
        test_file = re.match(r"# (test_\w+\.py)", block)
        if test_file:
            (tmp_path / test_file[1]).write_text(block)
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file[1]]
        else:
            command = [sys.executable, "-c", block]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"README python block {number}:\n{block}\n{done.stdout}\n{done.stderr}"
    for line in _commands():
        args = shlex.split(line)
        done = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, f"README command {line!r}:\n{done.stdout}\n{done.stderr}"
