"""The results folder: its lock, atomic writes, and what may be written there.

The lock is an exclusive `flock` the kernel releases when its holder dies. Every table,
figure and shard is written to a temporary name, synced and renamed, so a reader never sees a
half-written file. xorlab never follows a symbolic link out of a results folder.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

from xorlab.errors import FolderLocked, ResultsError

LOCK = ".lock"
SHARDS = "shards"
CURVES = "curves.parquet"
REJECTED_SHARDS = "shards.rejected"
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_write(path: Path, mode: str = "w") -> Iterator[Any]:
    """Open a temporary file next to `path`; on success, rename it over `path`."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise ResultsError(f"cannot write {path}: {error.strerror or error}") from None
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:  # a full disk, say: name the file meant, not the temporary one
        Path(tmp).unlink(missing_ok=True)
        raise ResultsError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by a process killed mid-write (call under the lock)."""
    for pattern in (".*.tmp", "figures/.*.tmp", f"{SHARDS}/.*.tmp", f"{CURVES}/.*.tmp"):
        for stale in folder.glob(pattern):
            stale.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Atomically replace `path` with `text`."""
    with atomic_write(path) as handle:
        handle.write(text)


def write_with(path: Path, writer: Callable[[BinaryIO], None]) -> None:
    """Atomically write `path` with a function that writes to a binary file object."""
    with atomic_write(path, "wb") as handle:
        writer(handle)


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's lock: an exclusive `flock` on its lock file, which the kernel releases
    when the holder exits, however it dies (no stale lock to detect, no race in taking one over).
    The file is removed on release, while still locked; a process that locked the file just
    before it was removed sees that it is no longer the folder's lock file, and tries again."""
    lock = folder / LOCK
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666 & ~_UMASK)
        except OSError as error:
            raise ResultsError(f"cannot lock {folder}: {error.strerror or error}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 100).decode(errors="replace").split()
            os.close(fd)
            pid = f"pid {holder[0]}" if holder and holder[0].isdigit() else "starting"
            raise FolderLocked(
                f"{folder} is in use by another xorlab process ({pid}); wait for it to finish"
            ) from None
        try:
            if os.fstat(fd).st_ino == os.stat(lock, follow_symlinks=False).st_ino:
                break  # ours, and still the folder's lock file
        except FileNotFoundError:
            pass
        os.close(fd)  # removed by the holder that released it: try the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield
    finally:
        with suppress(FileNotFoundError):
            lock.unlink()
        os.close(fd)


def check_writable(folder: Path) -> None:
    """Raise a ResultsError unless a file can be created in `folder` (a probe of a name no
    other process uses, gone at once)."""
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise ResultsError(f"cannot write to {folder}: {error.strerror or error}") from None


def check_no_links(folder: Path) -> None:
    """Refuse a results folder whose store or outputs are symbolic links: xorlab writes and
    deletes there, and never follows a link out of the folder."""
    for name in (SHARDS, CURVES, REJECTED_SHARDS, "figures", "replays"):
        path = folder / name
        inside = list(path.iterdir()) if path.is_dir() and not path.is_symlink() else []
        for candidate in [path, *inside]:
            if candidate.is_symlink():
                raise ResultsError(
                    f"{candidate} is a symbolic link; xorlab never follows a link out of a "
                    "results folder: replace it with the real file or folder, or remove it"
                )
