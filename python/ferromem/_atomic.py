"""Files replaced atomically (temp file, fsync, rename, fsync the directory), the cleanup of temp
files that a killed writer left behind, a lock file shared by the processes that write one file,
and the check every path argument goes through."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

from .errors import InvalidArgumentError, InvalidTypeError, StorageError

__all__ = ["check_path", "file_lock", "remove_stale_temps", "replace_file"]

_counter = itertools.count()


def check_path(path: object, name: str = "path") -> Path:
    """``path`` as a Path: a str or os.PathLike without NUL characters."""
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidTypeError(f"{name} must be a str or os.PathLike, not {type(path).__name__}")
    text = os.fspath(path)
    if isinstance(text, bytes):
        raise InvalidTypeError(f"{name} must be a str path, not bytes")
    if "\0" in text:
        raise InvalidArgumentError(f"{name} must not contain a NUL character: {text!r}")
    if not text:
        raise InvalidArgumentError(f"{name} must not be empty")
    return Path(text)


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.tmp"


def replace_file(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that a crash leaves either the old or the new file.

    The temp file's name is unique to this write (pid, a counter and random bits), so that
    writers in threads or processes never share one."""
    unique = f"{os.getpid()}-{next(_counter)}-{os.urandom(4).hex()}"
    tmp = path.with_name(f"{_temp_prefix(path)}{unique}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temps(path: Path) -> int:
    """Removes the temp files of ``path`` that interrupted writes left behind.

    Call it only while holding the file's exclusive lock: every writer holds that lock from
    creating its temp file to renaming it, so any temp file seen then is abandoned."""
    prefix = _temp_prefix(path)
    removed = 0
    try:
        names = os.listdir(path.parent)
    except OSError:
        return 0
    for name in names:
        if name.startswith(prefix):
            with contextlib.suppress(OSError):
                (path.parent / name).unlink()
                removed += 1
    return removed


@contextlib.contextmanager
def file_lock(path: Path, *, exclusive: bool) -> Iterator[None]:
    """Holds ``<path>.lock`` (fcntl) for the duration: exclusive for writers, shared for readers.

    A lock file beside the data is needed because the data file itself is replaced by rename,
    which would leave a lock on the old inode."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise StorageError(f"{lock_path}: cannot open the lock file: {e}") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock
