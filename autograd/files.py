"""Writing files: the one writer every picture, model, export and frame of chainrule goes through.

`write_file(path, data, who)` writes all of `data` or nothing, and never writes onto anything
that is not a regular file:

- the bytes go to a temporary file in the same folder, flushed to disk, then renamed over the
  target in one step (os.replace): a crash leaves either the old file or the whole new one, and a
  failure this process sees (an error, Ctrl-C) removes the temporary file;
- a directory, a FIFO, a character or block device or a socket at `path` (or where a symlink at
  `path` points) is refused at once with ValueError, before anything is written or opened;
- a symlink to a regular file is written through: its target gets the bytes, the link stays;
- an existing file keeps its permission bits (and its owner, where the system allows that); one
  this process may not write is refused with PermissionError, as open(path, "w") would;
- any valid file name works, 255 bytes long included (the temporary name is kept short enough).

The one thing an atomic replacement cannot keep is a hard link: the name gets a new file, and
the file's other names keep the old content.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

_NOT_FILES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def require_regular_file(path: str | os.PathLike, who: str) -> None:
    """Raise ValueError naming `who` if `path` exists and is not a regular file (through symlinks).

    For callers that want to refuse a bad target before doing expensive work; write_file checks again.
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    _require_regular(mode, path, who)


def kind_of(mode: int) -> str:
    """What a file mode (st_mode) names, in words: 'a regular file', 'a FIFO (named pipe)', ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _NOT_FILES if test(mode)), "something other than a file")


def _require_regular(mode: int, path: object, who: str) -> None:
    if not stat.S_ISREG(mode):
        raise ValueError(f"{who}: {os.fspath(path)} is {kind_of(mode)}, not a regular file; it was left as it is")


def write_file(path: str | os.PathLike, data: bytes, who: str) -> None:
    """Write `data` to `path` atomically, as the module docstring says; `who` names the caller in errors."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{who}: write_file takes bytes, got {type(data).__name__}")
    target = Path(os.path.realpath(path))  # through every symlink: the link itself stays as it is
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    if old is not None:
        _require_regular(old.st_mode, path, who)
        if not os.access(target, os.W_OK):
            raise PermissionError(f"{who}: {os.fspath(path)} is read-only; it was left as it is")
    token = f"{os.getpid()}.{secrets.token_hex(4)}.tmp"
    name = f".{target.name}.{token}"
    if len(os.fsencode(name)) > 255:  # a long valid name must not make the temporary name too long
        name = f".chainrule.{token}"
    tmp = str(target.with_name(name))
    try:
        # An existing file may be private: its temporary copy starts private too (0o600), and
        # gets the old file's bits below. A new one gets 0o666 less the umask, like open(path, "w").
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666 if old is None else 0o600)  # fmt: skip
        try:
            if old is not None:
                _keep_owner_and_mode(fd, old)
            view = memoryview(data)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view) :]
            os.fsync(fd)  # the bytes are on disk before the name points at them
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as error:
        if not isinstance(error, FileExistsError):  # else the name was someone else's: not ours to remove
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(error, OSError) and error.filename in (tmp, str(target)):  # name the user's path
            raise type(error)(error.errno, error.strerror, os.fspath(path)) from None
        raise
    _sync_folder(target.parent)


def _keep_owner_and_mode(fd: int, old: os.stat_result) -> None:
    if hasattr(os, "fchown") and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(OSError):  # only root may give a file away; then it becomes ours
            os.fchown(fd, old.st_uid, old.st_gid)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(old.st_mode))  # after chown, which may clear set-id bits


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry for the new file, so the rename itself survives a power cut."""
    with contextlib.suppress(OSError, AttributeError):  # not every system can open a folder
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
