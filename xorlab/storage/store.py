"""The store of finished runs: Parquet shards of their metrics, and their curves.

Finished runs are stored per chunk as two immutable Parquet files of the same name: their
metrics (one row per run) in ``shards/`` and their curves (long format) in ``curves.parquet/``,
the dataset users read. Each file is written to a temporary name, synced and renamed, the curves
first: a shard is whole or absent, and a shard present means its curves are too. An interrupted
sweep keeps every stored chunk and a rerun resumes. Nothing read back is trusted: see
`RunStore.open`. The folder's lock and atomic writes are in `xorlab.storage.folder`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xorlab.errors import ResultsError
from xorlab.storage.folder import (
    CURVES,
    REJECTED_SHARDS,
    SHARDS,
    check_no_links,
    check_writable,
    write_with,
)
from xorlab.training.config import COORDINATES, SETTINGS, run_ids_of
from xorlab.training.result import DIAGNOSIS, METRICS, STATUSES, RunResult

CONVERTING = ".converting-journal"  # present while a journal is converted into shards

# -- the store of finished runs ---------------------------------------------------------------

_ARROW = {int: pa.int64(), float: pa.float64(), str: pa.string()}
RUN_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("seed", pa.int64()),
        *((name, _ARROW[setting.kind]) for name, setting in SETTINGS.items()),
        ("axis_x", pa.string()),
        ("offset_x", pa.float64()),
        ("axis_y", pa.string()),
        ("offset_y", pa.float64()),
        ("status", pa.string()),
        ("final_loss", pa.float64()),
        ("final_accuracy", pa.float64()),
        ("solved", pa.bool_()),
        ("epochs_to_solve", pa.int64()),
        ("train_seconds", pa.float64()),
        ("error", pa.string()),
        ("outcome", pa.string()),
        ("live_units", pa.int64()),
        ("grad_norm", pa.float64()),
        ("wrong_patterns", pa.string()),
        ("loss_change", pa.float64()),
    ]
)
assert all(name in RUN_SCHEMA.names for name in COORDINATES)
# the shards of 0.3 have no map coordinates: read as runs of other methods (empty coordinates)
RUN_SCHEMA_0_3 = pa.schema([f for f in RUN_SCHEMA if f.name not in COORDINATES])
CURVE_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("epoch", pa.int64()),
        ("loss", pa.float64()),
        ("accuracy", pa.float64()),
    ]
)
_SHARD_NAME = re.compile(r"(\d{6,})-(\d+)\.parquet")
_PARQUET = {"compression": "zstd", "write_page_checksum": True}


def _shard_name(path: Path) -> tuple[int, int] | None:
    """(sequence, runs) from a shard's name, `<sequence>-<runs>.parquet`; None if not one."""
    match = _SHARD_NAME.fullmatch(path.name)
    return (int(match[1]), int(match[2])) if match else None


def shard_runs(path: Path) -> int | None:
    """The number of runs a shard holds, from its name."""
    parsed = _shard_name(path)
    return parsed[1] if parsed else None


def shard_sequence(path: Path) -> int:
    """The sequence number in a shard's name (-1 if not a shard's name)."""
    parsed = _shard_name(path)
    return parsed[0] if parsed else -1


def _curves_table(run_ids: Sequence[str], curves: Sequence[tuple[Any, Any, Any]]) -> pa.Table:
    """The long-format curves table of runs given as (epochs, losses, accuracies)."""
    lengths = [len(epoch) for epoch, _, _ in curves]
    parts = list(zip(*curves)) if curves else [(), (), ()]

    def column(i: int, dtype: type) -> np.ndarray:
        if not sum(lengths):
            return np.zeros(0, dtype)
        return np.concatenate([np.asarray(values, dtype) for values in parts[i]])

    return pa.table(
        {
            "run_id": np.repeat(np.array(run_ids, dtype=object), lengths),
            "epoch": column(0, np.int64),
            "loss": column(1, np.float64),
            "accuracy": column(2, np.float64),
        },
        schema=CURVE_SCHEMA,
    )


def _records_tables(records: Sequence[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
    """The shard and curves tables of journal records."""
    runs = pa.Table.from_pylist(
        [{k: r.get(k) for k in RUN_SCHEMA.names} for r in records], schema=RUN_SCHEMA
    )
    curves = [(r["curve"]["epoch"], r["curve"]["loss"], r["curve"]["accuracy"]) for r in records]
    return runs, _curves_table([r["run_id"] for r in records], curves)


_CONFIG_COLUMNS = ("seed", *SETTINGS, *COORDINATES)


def _results_tables(results: Sequence[RunResult]) -> tuple[pa.Table, pa.Table]:
    """The shard and curves tables of finished runs, built column by column."""
    columns: dict[str, list] = {"run_id": [r.run_id for r in results]}
    for name in _CONFIG_COLUMNS:
        columns[name] = [getattr(r.config, name) for r in results]
    for name in METRICS:
        columns[name] = [getattr(r, name) for r in results]
    for name in DIAGNOSIS:
        columns[name] = [getattr(r.diagnosis, name, None) for r in results]
    runs = pa.table(columns, schema=RUN_SCHEMA)
    curves = [(r.curve_epoch, r.curve_loss, r.curve_accuracy) for r in results]
    return runs, _curves_table(columns["run_id"], curves)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _shard_problem(shard: Path, table: pa.Table) -> str | None:
    """Why a shard's table cannot be trusted, or None: its schema must be the store's, its
    row count the one its name says, and every run_id the hash of the row's own settings."""
    if not table.schema.equals(RUN_SCHEMA) and not table.schema.equals(RUN_SCHEMA_0_3):
        schema = RUN_SCHEMA if set(COORDINATES) & set(table.column_names) else RUN_SCHEMA_0_3
        expected = {f.name: f.type for f in schema}
        found = {f.name: f.type for f in table.schema}
        missing = [name for name in expected if name not in found]
        if missing:
            return f"no column {missing[0]!r}"
        extra = [name for name in found if name not in expected]
        if extra:
            return f"an unknown column {extra[0]!r}"
        wrong = next(name for name in expected if found[name] != expected[name])
        return f"column {wrong!r} holds {found[wrong]}, not {expected[wrong]}"
    runs = shard_runs(shard)
    if table.num_rows != runs:
        return f"holds {table.num_rows} runs, its name says {runs}"
    if table["run_id"].null_count:
        return "a run without a run_id"
    unknown = set(table["status"].unique().to_pylist()) - set(STATUSES)
    if unknown:
        return f"status {sorted(map(str, unknown))[0]!r} is not one of {', '.join(STATUSES)}"
    names = [n for n in _CONFIG_COLUMNS if n in table.column_names]
    columns = {name: table[name].to_pylist() for name in names}
    expected_ids = run_ids_of(columns)
    for row, (stored, expected) in enumerate(zip(table["run_id"].to_pylist(), expected_ids)):
        if stored != expected:
            return f"row {row}: run_id {stored!r} is not the id of the row's settings"
    return None


def _curves_problem(part: Path, runs: pa.Table) -> str | None:
    """Why the curves of a shard's runs cannot be trusted, or None: the file of the shard's
    name must hold exactly the logged points of each run that did not fail."""
    import pyarrow.compute as pc

    if not part.is_file():
        return f"its curves ({part.name} in {CURVES}/) are missing"
    try:
        curves = pq.read_table(part, page_checksum_verification=True)
    except (OSError, pa.ArrowException) as error:
        return f"its curves are not readable as Parquet: {_one_line(error)}"
    if not curves.schema.equals(CURVE_SCHEMA):
        return f"its curves do not have the columns {', '.join(CURVE_SCHEMA.names)}"
    expected: dict[str, int] = {}
    for run_id, status, epochs, log_every in zip(
        *(runs[name].to_pylist() for name in ("run_id", "status", "epochs", "log_every"))
    ):
        expected[run_id] = 0 if status == "failed" else _logged_points(epochs, log_every)
    counts = pc.value_counts(curves["run_id"])
    found = dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))
    for run_id, points in expected.items():
        held = found.pop(run_id, 0)
        if held != points:
            return f"its curves hold {held} points of run {run_id}, not {points}"
    if found:
        return f"its curves hold run {next(iter(found))!r}, which the shard does not"
    return None


def _logged_points(epochs: int, log_every: int) -> int:
    """len(logged_epochs(epochs, log_every)), without building it."""
    return epochs // log_every + 1 + (epochs % log_every != 0)


class RunStore:
    """The finished runs of a results folder, as Parquet shards (see the module's docstring).

    Call `open` under the folder's lock before anything else: it converts a journal of an older
    release, deletes the curves of a chunk whose shard a kill prevented, and checks every shard
    (a damaged one is moved to shards.rejected/, reported in `problems`, its runs trained
    again). A run stored twice (a failed run trained again) counts as its later record."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.shards = folder / SHARDS
        self.curves = folder / CURVES
        self.problems: list[str] = []  # what `open` dropped, for people
        self.read_seconds = 0.0  # how long `open` took to read the finished runs
        self.next_sequence = 0  # of the next shard

    def shard_files(self) -> list[Path]:
        """The shards, oldest first."""
        return sorted(
            (p for p in self.shards.glob("*.parquet") if _shard_name(p)),
            key=shard_sequence,
        )

    def open(self) -> dict[str, str]:
        """Prepare the store (see the class docstring); returns run_id -> status of every stored
        run. Fails early, with a ResultsError, if the store cannot be written to."""
        from xorlab.storage.journal import JOURNAL

        started = time.perf_counter()
        check_no_links(self.folder)
        for folder in (self.shards, self.curves):  # made by the first chunk, if absent
            if folder.exists() and not folder.is_dir():
                raise ResultsError(f"{folder} is a file; the store needs that name for a folder")
            if folder.is_dir():
                check_writable(folder)
        converting = self.folder / CONVERTING
        if (self.folder / JOURNAL).exists():
            if self.shard_files() and not converting.exists():
                raise ResultsError(
                    f"{self.folder / JOURNAL}: a journal of xorlab 0.1 or 0.2 beside the shards "
                    f"of a later release; converting it would replace {self.shards}: move the "
                    "journal out of this folder (the shards hold its runs)"
                )
            self._convert_journal()
        converting.unlink(missing_ok=True)
        shards = self.shard_files() if self.shards.is_dir() else []
        names = {p.name for p in shards}
        for part in self.curves.glob("*.parquet"):  # a kill between the curves and the shard
            if part.name not in names:
                part.unlink()
        statuses: dict[str, str] = {}
        for shard in shards:
            try:
                # every column, to verify every page's checksum now rather than at the end
                table = pq.read_table(shard, page_checksum_verification=True)
                problem = _shard_problem(shard, table) or _curves_problem(
                    self.curves / shard.name, table
                )
            except (OSError, pa.ArrowException) as error:
                problem = f"not readable as Parquet: {_one_line(error)}"
            if problem:
                self._reject(shard, problem)
                continue
            statuses.update(zip(table["run_id"].to_pylist(), table["status"].to_pylist()))
        self.next_sequence = max((shard_sequence(p) for p in shards), default=-1) + 1
        self.read_seconds = time.perf_counter() - started
        return statuses

    def _reject(self, shard: Path, problem: str) -> None:
        aside = self.folder / REJECTED_SHARDS
        aside.mkdir(exist_ok=True)
        shard.replace(aside / shard.name)
        part = self.curves / shard.name
        if part.exists():
            part.replace(aside / f"curves-{shard.name}")
        self.problems.append(
            f"{shard}: dropped ({problem}); its runs will be trained again "
            f"(the file is kept in {REJECTED_SHARDS}/)"
        )

    def _convert_journal(self, batch: int = 20_000) -> None:
        """Store the records of a 0.1/0.2 journal as shards, `batch` records at a time (memory
        of one batch), then delete the journal: a kill half way leaves the journal, and the
        next run converts it again over the same names. A run recorded twice keeps its later
        record, as in the journal (later shards, and later rows, win)."""
        from xorlab.storage.journal import JOURNAL, Journal

        journal = Journal(self.folder)
        records = journal.records()
        pending = [next(records, None)]  # checks the journal before anything is changed
        (self.folder / CONVERTING).touch()  # the shards are the conversion's until it is done
        for stale in self.shard_files():  # left by a conversion a kill cut short
            (self.curves / stale.name).unlink(missing_ok=True)
            stale.unlink()
        sequence = 0
        for record in records:
            pending.append(record)
            if len(pending) == batch:
                self._write(sequence, *_records_tables(pending))
                sequence, pending = sequence + 1, []
        pending = [r for r in pending if r is not None]
        if pending:
            self._write(sequence, *_records_tables(pending))
        self.problems.extend(journal.problems)
        (self.folder / JOURNAL).unlink()
        (self.folder / "curves.csv").unlink(missing_ok=True)  # now in curves.parquet/

    def _write(self, sequence: int, runs: pa.Table, curves: pa.Table) -> Path:
        name = f"{sequence:06d}-{runs.num_rows}.parquet"
        self.shards.mkdir(exist_ok=True)
        self.curves.mkdir(exist_ok=True)
        write_with(self.curves / name, lambda f: pq.write_table(curves, f, **_PARQUET))
        write_with(self.shards / name, lambda f: pq.write_table(runs, f, **_PARQUET))
        return self.shards / name

    def append(self, results: Sequence[RunResult]) -> pa.Table:
        """Store one chunk of finished runs (curves first, then the shard that commits them);
        returns the shard's table (the runs' columns)."""
        runs, curves = _results_tables(results)
        if results:
            self._write(self.next_sequence, runs, curves)
            self.next_sequence += 1
        return runs

    def stored_since(self, sequence: int) -> int:
        """Runs in the shards numbered `sequence` and later (from their names)."""
        return sum(shard_runs(p) or 0 for p in self.shard_files() if shard_sequence(p) >= sequence)

    def runs(self, run_ids: Sequence[str], appended: Sequence[pa.Table] | None = None):
        """The stored runs among `run_ids`, in that order, as a DataFrame of the shards'
        columns (the curves are not read; a run stored twice counts as its later record).
        `appended`: the tables `append` returned, in order, when they hold every run of
        `run_ids`; then the shards are not read again."""
        import pyarrow.compute as pc

        try:
            tables = (
                list(appended)
                if appended is not None
                else [pq.read_table(p, schema=RUN_SCHEMA) for p in self.shard_files()]
            )
        except (OSError, pa.ArrowException) as error:  # changed since `open` checked it
            raise ResultsError(f"{self.shards}: a shard became unreadable: {error}") from None
        table = pa.concat_tables(tables) if tables else RUN_SCHEMA.empty_table()
        del tables
        if pc.count_distinct(table["run_id"]).as_py() < table.num_rows:  # keep the last
            last = {run_id: row for row, run_id in enumerate(table["run_id"].to_pylist())}
            table = table.take(sorted(last.values()))
        position = pc.index_in(table["run_id"], value_set=pa.array(run_ids, pa.string()))
        rows = pc.indices_nonzero(pc.is_valid(position))  # the runs of the spec...
        order = pc.take(rows, pc.sort_indices(pc.take(position, rows)))  # ...in its order
        table = table.take(order)  # one copy of the columns
        del position, rows, order
        # column by column, each freed once converted: no second copy of a million runs
        return table.to_pandas(split_blocks=True, self_destruct=True)
