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

from xorlab.config import SETTING_NAMES, RunConfig
from xorlab.diagnosis import OUTCOMES
from xorlab.errors import FolderLocked, ResultsError
from xorlab.result import DIAGNOSIS, METRICS, RunResult

JOURNAL = "journal.jsonl"
LOCK = ".lock"
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


RECORD_KEYS = ("run_id", "seed", *METRICS, "curve")


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
        **_diagnosis_record(result),
        "curve": {
            "epoch": result.curve_epoch.tolist(),
            "loss": [_json_float(x) for x in result.curve_loss.tolist()],
            "accuracy": [_json_float(x) for x in result.curve_accuracy.tolist()],
        },
    }


def _diagnosis_record(result: RunResult) -> dict[str, Any]:
    if result.diagnosis is None:
        return dict.fromkeys(DIAGNOSIS)
    record = asdict(result.diagnosis)
    for key in ("grad_norm", "loss_change"):
        record[key] = _json_float(record[key])
    return record


STATUSES = ("ok", "diverged", "failed")
REJECTED = "journal.rejected.jsonl"


def _number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def record_problem(record: Any) -> str | None:
    """What is wrong with a journal record, or None when it is whole: every field of the right
    type, curves of equal lengths, and a configuration that hashes to its run_id. A whole
    record of an older release gets the settings added since filled in (at their defaults)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        return "missing " + ", ".join(map(repr, missing))
    curve = record["curve"]
    if not isinstance(curve, dict) or not all(
        isinstance(curve.get(k), list) for k in ("epoch", "loss", "accuracy")
    ):
        return "curve is not {epoch, loss, accuracy} lists"
    if not len(curve["epoch"]) == len(curve["loss"]) == len(curve["accuracy"]):
        return "curve lists of unequal lengths"
    if not all(_number_or_none(v) for k in ("epoch", "loss", "accuracy") for v in curve[k]):
        return "curve values are not numbers"
    if record["status"] not in STATUSES:
        return f"status {record['status']!r} is not one of {', '.join(STATUSES)}"
    if not all(
        _number_or_none(record[k]) for k in ("final_loss", "final_accuracy", "train_seconds")
    ):
        return "final_loss, final_accuracy or train_seconds is not a number"
    if not isinstance(record["solved"], bool):
        return "solved is not true or false"
    if not (record["epochs_to_solve"] is None or isinstance(record["epochs_to_solve"], int)):
        return "epochs_to_solve is not an integer"
    try:
        config = RunConfig.from_mapping(record)
    except (TypeError, ValueError) as error:
        return f"not a run configuration ({error})"
    if config.run_id != record["run_id"]:
        return "its settings do not match its run_id"
    for name in SETTING_NAMES:  # a record of an older release lacks the later settings
        record.setdefault(name, getattr(config, name))
    for name in DIAGNOSIS:  # and the diagnosis
        record.setdefault(name, None)
    if record["outcome"] is not None and record["outcome"] not in OUTCOMES:
        return f"outcome {record['outcome']!r} is not one of {', '.join(OUTCOMES)}"
    return None


class Journal:
    """Append-only store of finished runs, keyed by run_id (a later record wins)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL
        self.problems: list[str] = []  # what load() dropped, for people
        self.intact = 0  # intact lines at the last read

    def load(self) -> dict[str, dict[str, Any]]:
        """Check the journal and return its records (call under the folder's lock).

        A torn last line (a kill mid-write) is cut. A line that is not a whole record is moved
        to journal.rejected.jsonl, so it is reported once and its run trained again; each
        problem is described in `problems`. Fails early if the journal cannot be appended to."""
        if self.path.exists():
            try:
                with self.path.open("rb+") as handle:
                    data = handle.read()
                    if data and not data.endswith(b"\n"):
                        handle.truncate(data.rfind(b"\n") + 1)
                        self.problems.append(
                            f"{self.path}: dropped its torn last line (a write cut short by a kill)"
                        )
            except OSError as error:
                raise ResultsError(f"cannot update {self.path}: {error.strerror}") from None
        records, rejected = self._parse()
        if rejected:
            kept = "".join(json.dumps(r) + "\n" for r in records.values())
            with (self.path.parent / REJECTED).open("a", encoding="utf-8") as handle:
                handle.writelines(
                    line if line.endswith("\n") else line + "\n" for _, line, _ in rejected
                )
            write_text(self.path, kept)
            for number, _, problem in rejected:
                self.problems.append(
                    f"{self.path}:{number}: dropped ({problem}); its run will be trained again "
                    f"(the line is kept in {REJECTED})"
                )
        return records

    def _parse(self) -> tuple[dict[str, dict[str, Any]], list[tuple[int, str, str]]]:
        records: dict[str, dict[str, Any]] = {}
        rejected: list[tuple[int, str, str]] = []
        intact = 0
        if not self.path.exists():
            return records, rejected
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                line = raw.decode("utf-8", errors="replace")
                try:
                    record = json.loads(line)
                except ValueError:
                    rejected.append((number, line, "not valid JSON"))
                    continue
                problem = record_problem(record)
                if problem:
                    rejected.append((number, line, problem))
                else:
                    records[record["run_id"]] = record
                    intact += 1
        self.intact = intact
        return records, rejected

    def read(self) -> dict[str, dict[str, Any]]:
        """All whole records (after `load`, every line is one)."""
        return self._parse()[0]

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
