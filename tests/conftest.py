"""Shared test helpers: PyTorch as the reference, and no silent skips in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def torch():
    """PyTorch in float64; required in CI, skipped with a reason elsewhere."""
    try:
        import torch
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("PyTorch is required in CI: `bash .ci/test` installs torch==2.13.0")
        pytest.skip("PyTorch is not installed; `bash .ci/test` installs torch==2.13.0")
    torch.set_default_dtype(torch.float64)
    return torch


@pytest.fixture
def dot_program() -> str:
    """The Graphviz `dot` program: rendering tests fail (never skip) when it is missing."""
    path = shutil.which("dot")
    if path is None:
        pytest.fail("Graphviz `dot` is missing: sudo apt-get install graphviz | brew install graphviz | "
                    "conda install graphviz (bash .ci/test installs it when run as root)")
    return path


@pytest.fixture(scope="session")
def project_wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A wheel built from a copy of the project: what a non-editable install holds (once per session)."""
    root, folder = Path(__file__).resolve().parent.parent, tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, folder / name)
    for package in ("autograd", "nn"):
        shutil.copytree(root / package, folder / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(folder / "dist"), str(folder)], check=True, capture_output=True)
    (wheel,) = (folder / "dist").glob("chainrule-*.whl")
    return zipfile.ZipFile(wheel)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: every cross-check must really run there."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) were skipped; nothing may be skipped in CI", red=True)
        session.exitstatus = 1
