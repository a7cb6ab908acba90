"""The results folder: a lock, an append-only journal of finished runs, and atomic writes.

Finished runs are appended to ``journal.jsonl`` (one JSON line per run, flushed and synced
after each chunk), so an interrupted sweep keeps them and a rerun resumes. A torn last line
(from a kill mid-write) is dropped when the journal is read. Tables and figures are written to
a temporary file in the same folder, then renamed over the old one, so a reader never sees a
half-written file.
"""

from __future__ import annotations

import json
import math
import os
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from xorlab.result import RunResult

JOURNAL = "journal.jsonl"
LOCK = ".lock"
_UMASK = os.umask(0)
os.umask(_UMASK)


class FolderLocked(RuntimeError):
    """Another live sweep is writing to this results folder."""


@contextmanager
def atomic_write(path: Path, mode: str = "w") -> Iterator[Any]:
    """Open a temporary file next to `path`; on success, rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by a process killed mid-write (call under the lock)."""
    for pattern in (".*.tmp", "figures/.*.tmp"):
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's lock file; a lock left by a dead process is taken over."""
    lock = folder / LOCK
    me = f"{os.getpid()} {socket.gethostname()}\n"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            holder = lock.read_text(errors="replace").split()
            same_host = len(holder) > 1 and holder[1] == socket.gethostname()
            if holder and holder[0].isdigit() and (not same_host or _pid_alive(int(holder[0]))):
                raise FolderLocked(
                    f"{folder} is in use by another sweep (pid {holder[0]}"
                    f"{'' if same_host else ' on ' + holder[1]}); wait for it to finish, "
                    f"or remove {lock} if that process is gone"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process is dead
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(me)
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else value


def result_to_record(result: RunResult) -> dict[str, Any]:
    """A JSON-ready record of one run: its id, configuration, metrics and curve."""
    return {
        "run_id": result.run_id,
        **asdict(result.config),
        "status": result.status,
        "final_loss": _json_float(result.final_loss),
        "final_accuracy": _json_float(result.final_accuracy),
        "solved": result.solved,
        "epochs_to_solve": result.epochs_to_solve,
        "train_seconds": result.train_seconds,
        "error": result.error,
        "curve": {
            "epoch": result.curve_epoch.tolist(),
            "loss": [_json_float(x) for x in result.curve_loss.tolist()],
            "accuracy": [_json_float(x) for x in result.curve_accuracy.tolist()],
        },
    }


class Journal:
    """Append-only store of finished runs, keyed by run_id (a later record wins)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL
        self.dropped = 0  # torn or corrupt lines seen
        self.intact = 0  # intact lines at the last read

    def read(self) -> dict[str, dict[str, Any]]:
        """All intact records; a torn or corrupt line is dropped (and counted), not fatal."""
        records: dict[str, dict[str, Any]] = {}
        self.intact = 0
        if not self.path.exists():
            return records
        with self.path.open("rb") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                    records[record["run_id"]] = record
                    self.intact += 1
                except (ValueError, KeyError, TypeError):
                    self.dropped += 1
        return records

    def repair(self) -> None:
        """Cut a torn last line (no newline) so the next append starts on a fresh line."""
        if not self.path.exists():
            return
        with self.path.open("rb+") as handle:
            data = handle.read()
            if data and not data.endswith(b"\n"):
                handle.truncate(data.rfind(b"\n") + 1)
                self.dropped += 1

    def append(self, results: Iterable[RunResult]) -> dict[str, dict[str, Any]]:
        """Append finished runs (flushed and synced); returns their records by run_id."""
        records = {r.run_id: result_to_record(r) for r in results}
        lines = "".join(json.dumps(record) + "\n" for record in records.values())
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
        return records


def curves_table(records: Iterable[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Columns of the long-format curves table: run_id, epoch, loss, accuracy."""
    run_ids, epochs, losses, accuracies = [], [], [], []
    for record in records:
        curve = record["curve"]
        run_ids.extend([record["run_id"]] * len(curve["epoch"]))
        epochs.extend(curve["epoch"])
        losses.extend(curve["loss"])
        accuracies.extend(curve["accuracy"])
    return {
        "run_id": np.array(run_ids, dtype=object),
        "epoch": np.array(epochs, dtype=np.int64),
        "loss": np.array(losses, dtype=np.float64),
        "accuracy": np.array(accuracies, dtype=np.float64),
    }
