"""The journal of folders written by xorlab 0.1 and 0.2: one JSON line per finished run.

Later releases store runs as Parquet shards (`xorlab.storage.store.RunStore`); a folder that still has a
journal is converted on first use. The journal is checked as it always was: a torn last line
(from a kill mid-write) is cut, a line that is not a whole record is moved to
journal.rejected.jsonl (reported once; its run is trained again).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from xorlab.errors import ResultsError
from xorlab.training.config import SETTING_NAMES, RunConfig
from xorlab.training.diagnosis import OUTCOMES
from xorlab.training.result import DIAGNOSIS, METRICS, STATUSES, RunResult

JOURNAL = "journal.jsonl"


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else value


RECORD_KEYS = ("run_id", "seed", *METRICS, "curve")


def result_to_record(result: RunResult) -> dict[str, Any]:
    """A JSON-ready record of one run: its id, configuration, metrics and curve (the form of
    the journal of 0.1 and 0.2)."""
    return {
        "run_id": result.run_id,
        **{name: getattr(result.config, name) for name in ("seed", *SETTING_NAMES)},
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
    """The journal of a 0.1/0.2 folder: one JSON record per finished run (a later record of a
    run wins). Read once, line by line, to be converted into the Parquet store."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL
        self.problems: list[str] = []  # what `records` dropped, for people

    def records(self) -> Iterator[dict[str, Any]]:
        """Every whole record, in order, one line in memory at a time (call under the folder's
        lock). A torn last line (a kill mid-write) is dropped. A line that is not a whole record
        is appended to journal.rejected.jsonl and described in `problems` (its run is trained
        again). Fails first, with a ResultsError, if the journal could not be changed."""
        try:
            with self.path.open("rb+"):
                pass
        except OSError as error:
            raise ResultsError(f"cannot update {self.path}: {error.strerror}") from None
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.endswith(b"\n"):  # only the last line can lack its newline
                    self.problems.append(
                        f"{self.path}: dropped its torn last line (a write cut short by a kill)"
                    )
                    break
                line = raw.decode("utf-8", errors="replace")
                try:
                    record = json.loads(line)
                except ValueError:
                    problem = "not valid JSON"
                else:
                    problem = record_problem(record)
                if problem:
                    self._reject(number, line, problem)
                else:
                    yield record

    def _reject(self, number: int, line: str, problem: str) -> None:
        with (self.path.parent / REJECTED).open("a", encoding="utf-8") as handle:
            handle.write(line)
        self.problems.append(
            f"{self.path}:{number}: dropped ({problem}); its run will be trained again "
            f"(the line is kept in {REJECTED})"
        )
