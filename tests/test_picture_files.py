"""Every picture writer writes a file whole, through one atomic writer, and never onto what is not a file.

The writers: `draw_dot(...).render(outfile=...)`, `save_steps`, `save_gif`, `chainrule graph
... -o`, the explorer's `save_html` and `chainrule graph ... --html`. Each refuses a FIFO, a
character device (made with mknod as root, else /dev/null via a symlink), a symlink to a
device and a directory at once, before dot runs, and leaves them as they were; each writes
through a symlink to a regular file (the link stays), keeps an existing file's permission bits,
accepts a 255-byte file name and leaves no temporary file behind.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from autograd import GraphCycleError, Value, backward_steps, draw_dot, explore, scope
from autograd.cli import main as chainrule
from autograd.draw.steps import save_gif, save_steps

pytestmark = pytest.mark.graph


def _root() -> Value:
    x = Value(1.5, label="x")
    y = (x * 2).tanh()
    y.backward()
    return y


def _render(path: Path, capsys) -> None:
    draw_dot(_root()).render(outfile=path)


def _save_steps(path: Path, capsys) -> None:
    save_steps(backward_steps(_root())[:1], path.parent, prefix=path.name[: -len("_000.svg")])


def _save_gif(path: Path, capsys) -> None:
    save_gif(backward_steps(_root()), path)


def _save_html(path: Path, capsys) -> None:
    explore(_root()).save_html(path)


def _cli(path: Path, capsys, option: str = "-o") -> None:
    """The command line as a writer: a refusal is exit status 1 and one line, turned into ValueError here."""
    status = chainrule(["graph", "tanh(x*2)", "x=1.5", option, str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if status != 0:
        assert status == 1 and len(err.strip().splitlines()) == 1 and err.startswith("chainrule graph: error: ")
        raise ValueError(err)
    assert err == "" and out.endswith(f"wrote {path}\n")


WRITERS = {"render": (_render, ".svg"), "save_steps": (_save_steps, "_000.svg"), "save_gif": (_save_gif, ".gif"),
           "cli -o": (_cli, ".svg"), "save_html": (_save_html, ".html"),
           "cli --html": (lambda path, capsys: _cli(path, capsys, "--html"), ".html")}


@pytest.fixture(params=list(WRITERS))
def writer(request, dot_program):
    """(write(path), suffix): write a picture to path, whose name must end in suffix."""
    return WRITERS[request.param]


def _finishes(action, seconds: float = 30) -> BaseException | None:
    """Run action in a thread; fail if it blocks (a write opened on a FIFO with no reader would)."""
    result: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
            result.append(None)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            result.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"the writer blocked for {seconds} s"
    return result[0]


def _make_fifo(path: Path) -> None:
    os.mkfifo(path)


def _make_device(path: Path) -> None:
    if os.geteuid() == 0:  # a real character device node, the kind a root run once replaced
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(*divmod(os.stat("/dev/null").st_rdev, 256)))
    else:
        os.symlink("/dev/null", path)


def _make_link_to_device(path: Path) -> None:
    os.symlink("/dev/null", path)


def _make_directory(path: Path) -> None:
    path.mkdir()


NOT_FILES = {"fifo": (_make_fifo, stat.S_ISFIFO), "character device": (_make_device, stat.S_ISCHR),
             "symlink to a device": (_make_link_to_device, stat.S_ISCHR), "directory": (_make_directory, stat.S_ISDIR)}


@pytest.mark.parametrize("kind", list(NOT_FILES))
def test_a_writer_refuses_what_is_not_a_regular_file_at_once_and_leaves_it(writer, tmp_path, capsys, kind):
    write, suffix = writer
    make, is_kind = NOT_FILES[kind]
    target = tmp_path / f"pic{suffix}"
    make(target)
    was_link = target.is_symlink()
    error = _finishes(lambda: write(target, capsys))
    assert isinstance(error, ValueError), error
    assert "not a regular file" in str(error) or "is a directory" in str(error), error
    assert is_kind(os.stat(target).st_mode) and target.is_symlink() == was_link
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # nothing else written, no temporary file


def test_save_steps_into_a_folder_holding_a_fifo_refuses_before_rendering(dot_program, tmp_path, monkeypatch):
    frames = backward_steps(_root())
    os.mkfifo(tmp_path / "step_001.svg")
    rendered = []
    monkeypatch.setattr(type(frames[0]), "pipe", lambda self, *a, **k: rendered.append(1) or b"<svg/>")
    error = _finishes(lambda: save_steps(frames, tmp_path))
    assert isinstance(error, ValueError) and "FIFO" in str(error)
    assert rendered == [] and sorted(p.name for p in tmp_path.iterdir()) == ["step_001.svg"]


def test_a_writer_writes_through_a_symlink_to_a_regular_file_and_keeps_the_link(writer, tmp_path, capsys):
    write, suffix = writer
    real = tmp_path / "real"
    real.mkdir()
    target_file = real / f"old{suffix}"
    target_file.write_bytes(b"old")
    link = tmp_path / f"pic{suffix}"
    link.symlink_to(target_file)
    assert _finishes(lambda: write(link, capsys)) is None
    assert link.is_symlink() and os.readlink(link) == str(target_file)
    assert target_file.read_bytes() != b"old" and len(target_file.read_bytes()) > 100
    assert sorted(p.name for p in real.iterdir()) == [target_file.name]


def test_a_writer_keeps_an_existing_files_mode(writer, tmp_path, capsys):
    write, suffix = writer
    target = tmp_path / f"pic{suffix}"
    target.write_bytes(b"old")
    target.chmod(0o640)
    assert _finishes(lambda: write(target, capsys)) is None
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_bytes() != b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_writer_accepts_a_255_byte_file_name_and_leaves_no_temporary_file(writer, tmp_path, capsys):
    write, suffix = writer
    target = tmp_path / ("a" * (255 - len(suffix)) + suffix)
    assert len(os.fsencode(target.name)) == 255
    assert _finishes(lambda: write(target, capsys)) is None
    assert target.stat().st_size > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_writer_creates_a_new_file_with_nothing_beside_it(writer, tmp_path, capsys):
    write, suffix = writer
    target = tmp_path / f"pic{suffix}"
    assert _finishes(lambda: write(target, capsys)) is None
    assert target.read_bytes()[:4] in (b"<?xm", b"<svg", b"GIF8", b"<!do")
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_the_dot_source_is_saved_through_the_atomic_writer_too(dot_program, tmp_path):
    os.mkfifo(tmp_path / "graph.gv")
    with pytest.raises(ValueError, match="FIFO"):
        draw_dot(_root()).render(tmp_path / "graph.gv")
    assert stat.S_ISFIFO(os.stat(tmp_path / "graph.gv").st_mode)


# ---- what dot cannot draw ---------------------------------------------------------------------


def test_draw_dot_on_a_cycle_made_by_hand_raises_graph_cycle_error():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c.tanh()
    c.inputs = (a, d)  # by hand: c now depends on d, which depends on c
    with pytest.raises(GraphCycleError, match="cycle"):
        draw_dot(d)


def test_a_label_of_20000_characters_is_shortened_visibly_and_renders(dot_program, tmp_path):
    x = Value(2.0, label="x" * 20_000)
    with scope("s" * 20_000):
        y = x * 3
    y.label = "<&>" * 7000
    y.backward()
    picture = draw_dot(y)
    assert "x" * 20_000 not in picture.source and "… (20,000 characters)" in picture.source
    assert "… (21,000 characters)" in picture.source
    svg = picture.pipe(format="svg").decode()
    assert "20,000 characters" in svg and "&lt;&amp;&gt;" in svg
    frames = backward_steps(y)
    assert "21,000 characters" in frames[1].pipe(format="svg").decode()

