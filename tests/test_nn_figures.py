"""Every picture nn saves goes through the one atomic writer: never onto a FIFO, a device or a folder.

The savers: plot_decision_boundary, plot_history, plot_diagnostics and LRFinderResult.plot (the
demo's pictures are tested in test_nn_demo.py). Each is given a real FIFO, a symlink to a
character device (/dev/null, and a device node made with mknod where the tests run as root), a
folder, a symlink to a regular file and an existing file with its own permissions.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from nn import MLP, SGD, fit, hinge_loss, lr_find, make_moons, plot_decision_boundary, plot_diagnostics, plot_history

pytestmark = pytest.mark.nn

PNG_HEADER = b"\x89PNG\r\n\x1a\n"
X, Y = make_moons(n=16, noise=0.1, seed=0)


def _history():
    model = MLP(2, [3, 1], seed=0)
    return model, fit(model, X, Y, hinge_loss, SGD(model.parameters(), lr=0.05), epochs=2, progress=False,
                      diagnostics=True)


def _lr_plot(path):
    model = MLP(2, [3, 1], seed=0)
    lr_find(model, X, Y, hinge_loss, SGD(model.parameters(), lr=0.1), steps=5).plot(path)


SAVERS = {
    "plot_decision_boundary": lambda path: plot_decision_boundary(_history()[0], X, Y, path),
    "plot_history": lambda path: plot_history(_history()[1], path),
    "plot_diagnostics": lambda path: plot_diagnostics(_history()[1], path),
    "LRFinderResult.plot": _lr_plot,
}


def _not_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (a path that is not a regular file, the words that name what it is)."""
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    to_null = tmp_path / "null.png"
    to_null.symlink_to("/dev/null")
    folder = tmp_path / "folder.png"
    folder.mkdir()
    cases = {"a FIFO": (fifo, "a FIFO (named pipe)"), "a symlink to /dev/null": (to_null, "a character device"),
             "a folder": (folder, "a directory")}
    if os.geteuid() == 0:  # only root may make a device node: one of our own, so nothing of the machine's is at risk
        device = tmp_path / "device.png"
        os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # the numbers of /dev/null
        cases["a character device made with mknod"] = (device, "a character device")
    return cases


def _unchanged(path: Path) -> tuple:
    info = os.lstat(path)
    return info.st_mode, info.st_ino, (os.readlink(path) if path.is_symlink() else None)


@pytest.mark.parametrize("saver", SAVERS)
def test_a_figure_is_never_written_onto_a_fifo_a_device_or_a_folder(tmp_path, saver):
    cases = _not_files(tmp_path)
    before = {name: _unchanged(path) for name, (path, _) in cases.items()}
    for name, (path, words) in cases.items():
        # a FIFO must be refused at once: were it opened for writing, this would block without a reader
        done = threading.Event()
        errors: list[BaseException] = []

        def save(path=path, done=done, errors=errors):
            try:
                SAVERS[saver](path)
            except BaseException as error:  # examined below
                errors.append(error)
            done.set()

        threading.Thread(target=save, daemon=True).start()
        assert done.wait(60), f"{saver} blocked on {name}"
        assert len(errors) == 1 and isinstance(errors[0], ValueError), f"{saver} on {name}: {errors}"
        assert str(errors[0]) == f"{saver}: {path} is {words}, not a regular file; it was left as it is"
    assert {name: _unchanged(path) for name, (path, _) in cases.items()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p, _ in cases.values())  # no temporary


@pytest.mark.parametrize("saver", SAVERS)
def test_a_figure_goes_through_a_symlink_and_keeps_the_files_mode(tmp_path, saver):
    target = tmp_path / "real.png"
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / "link.png"
    link.symlink_to(target.name)
    SAVERS[saver](link)
    assert link.is_symlink() and os.readlink(link) == "real.png"  # the link stays a link
    assert target.read_bytes()[:8] == PNG_HEADER
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["link.png", "real.png"]  # no temporary file left


def test_a_figure_takes_its_format_from_the_suffix_and_refuses_an_unknown_one(tmp_path):
    model, history = _history()
    plot_history(history, tmp_path / "curves.svg")
    assert b"<svg" in (tmp_path / "curves.svg").read_bytes()[:500]
    plot_history(history, tmp_path / ("n" * 251 + ".png"))  # a 255-byte name: the longest a file may have
    assert (tmp_path / ("n" * 251 + ".png")).read_bytes()[:8] == PNG_HEADER
    with pytest.raises(ValueError, match=r"plot_history: cannot tell a picture format from .*curves\.xyz.*\.png"):
        plot_history(history, tmp_path / "curves.xyz")
    assert sorted(os.listdir(tmp_path)) == sorted(["curves.svg", "n" * 251 + ".png"])
