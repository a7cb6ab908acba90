"""Read a results folder back, checked: the one loader of `plot`, `compare` and the Python API.

Every problem is a `ResultsError` that names the file, and the column and row where one is
wrong, so a damaged or foreign folder is one line, never a traceback. Tables of an older
release load too: a setting they lack is filled in at its default.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xorlab.analysis.tables import blank_inapplicable, summary_table
from xorlab.errors import ResultsError
from xorlab.storage.folder import CURVES, SHARDS
from xorlab.storage.store import CURVE_SCHEMA, shard_sequence
from xorlab.training.config import SETTINGS
from xorlab.training.result import DIAGNOSIS, STATUSES

RUNS = "runs.csv"
OLD_CURVES = "curves.csv"  # written by 0.1 and 0.2
SPEC = "spec.toml"
META = "meta.json"
IDENTITY = ("run_id", "seed", "status", "solved", "final_loss")  # an xorlab runs table has these
FLOAT_METRICS = ("final_loss", "final_accuracy", "train_seconds", "grad_norm", "loss_change")


def _reason(error: BaseException, default: str) -> str:
    """The first line of an error's message, for a one-line report."""
    text = str(error).strip()
    return text.splitlines()[0] if text else default


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            keep_default_na=False,
            na_values=[""],
            low_memory=False,
            dtype={"wrong_patterns": str, "run_id": str},
        )
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        reason = _reason(error, "empty")
        raise ResultsError(
            f"{path}: not an xorlab {what} (not readable as CSV: {reason})"
        ) from None


def _numeric(
    frame: pd.DataFrame, column: str, path: Path, integer: bool = False, required: bool = False
) -> pd.Series:
    """The column as numbers ('nan' and 'inf' allowed unless `integer`; empty cells only unless
    `required`), or an error naming the first bad cell."""
    values = pd.to_numeric(frame[column], errors="coerce")
    text = frame[column].astype(str).str.strip().str.lower()
    empty = frame[column].isna() | text.isin(["", "nan"])
    bad = values.isna() & ~empty
    if integer:  # an integer a table can hold: finite, whole, within int64
        finite = values.abs() < 2**63
        bad |= values.notna() & ~(finite & (values == values.round()))
    if required:
        bad |= empty
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        kind = "an integer" if integer else "a number"
        cell = frame[column].iloc[row]
        shown = "an empty cell" if empty.iloc[row] else repr(getattr(cell, "item", lambda: cell)())
        raise ResultsError(f"{path}: column {column!r}, row {row + 2}: {shown} is not {kind}")
    return values


def read_runs(path: Path) -> pd.DataFrame:
    """A runs.csv, checked and typed (settings it lacks are filled in at their defaults)."""
    runs = _read_csv(path, "runs table")
    missing = [c for c in IDENTITY if c not in runs.columns]
    if missing:
        raise ResultsError(
            f"{path}: not an xorlab runs table (missing columns: {', '.join(missing)})"
        )
    if runs.empty:
        raise ResultsError(f"{path}: holds no runs")
    for name, setting in SETTINGS.items():
        if name not in runs.columns:
            runs[name] = setting.default
        elif setting.kind in (int, float):
            runs[name] = _numeric(runs, name, path, integer=setting.kind is int)
    runs["seed"] = _numeric(runs, "seed", path, integer=True, required=True).astype("int64")
    for name in ("offset_x", "offset_y"):  # a map's points (a table of 0.3 has none)
        if name in runs.columns:
            runs[name] = _numeric(runs, name, path)
    for name in DIAGNOSIS:  # a table of 0.1 has no diagnosis
        if name not in runs.columns:
            runs[name] = None
    for name in FLOAT_METRICS:
        if name in runs.columns:
            runs[name] = _numeric(runs, name, path)
    runs["live_units"] = _numeric(runs, "live_units", path, integer=True).astype("Int64")
    if "epochs_to_solve" in runs.columns:
        runs["epochs_to_solve"] = _numeric(runs, "epochs_to_solve", path, True).astype("Int64")
    solved = runs["solved"].map({True: True, False: False, "True": True, "False": False})
    if solved.isna().any():
        row = int(np.flatnonzero(solved.isna().to_numpy())[0])
        raise ResultsError(
            f"{path}: column 'solved', row {row + 2}: {runs['solved'].iloc[row]!r} is not True or False"
        )
    runs["solved"] = solved.astype(bool)
    _check_settings(runs, path)
    blank_inapplicable(runs)  # and types every setting
    unknown = ~runs["status"].isin(STATUSES)
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise ResultsError(
            f"{path}: column 'status', row {row + 2}: {runs['status'].iloc[row]!r} is not one of "
            + ", ".join(STATUSES)
        )
    return runs


def _check_settings(runs: pd.DataFrame, path: Path) -> None:
    """Every setting's values obey the setting's rule (the spec's), or an error naming the
    first bad cell; an empty cell is a setting that does not apply to that run."""
    if (runs["seed"] < 0).any():
        row = int(np.flatnonzero((runs["seed"] < 0).to_numpy())[0])
        raise ResultsError(
            f"{path}: column 'seed', row {row + 2}: {runs['seed'].iloc[row]} is not >= 0"
        )
    for name, setting in SETTINGS.items():
        column = runs[name]
        for value in column.dropna().unique():
            plain = value.item() if hasattr(value, "item") else value
            if setting.kind is int and isinstance(plain, float) and plain.is_integer():
                plain = int(plain)
            if not setting.rule.accepts(plain):
                row = int(np.flatnonzero((column == value).to_numpy())[0])
                raise ResultsError(
                    f"{path}: column {name!r}, row {row + 2}: {plain!r} is not {setting.rule.allowed}"
                )


def read_curves(folder: Path, run_ids: Collection[str] | None = None) -> pd.DataFrame:
    """The curves of a results folder (run_id, epoch, loss, accuracy), all or only the runs
    `run_ids`: from curves.parquet, reading only the rows asked for, or from the curves.csv of
    an older release."""
    parquet = folder / CURVES
    if not parquet.exists() and (folder / OLD_CURVES).exists():
        curves = _read_curves_csv(folder / OLD_CURVES)
        return curves if run_ids is None else curves[curves["run_id"].isin(set(run_ids))]
    if run_ids is not None and not run_ids:
        return CURVE_SCHEMA.empty_table().to_pandas()
    try:
        if parquet.is_dir():
            table = _read_curve_files(folder, run_ids)
        else:
            filters = None if run_ids is None else [("run_id", "in", list(run_ids))]
            table = pq.read_table(parquet, schema=CURVE_SCHEMA, filters=filters)
    except FileNotFoundError:
        raise ResultsError(f"{parquet}: no such file") from None
    except (OSError, pa.ArrowException) as error:
        reason = _reason(error, type(error).__name__)
        raise ResultsError(f"{parquet}: not an xorlab curves table ({reason})") from None
    return table.to_pandas()


def _read_curve_files(folder: Path, run_ids: Collection[str] | None) -> pa.Table:
    """The curves of `run_ids` (None: all) from the files of curves.parquet/, one run's curve
    once, whatever the files: a run stored in several chunks (a failed run trained again, a
    file copied under a second name) has the curve of the last chunk that holds it, as its
    record in the tables is the last. Which runs a file holds is read from the shard of the
    same name, a small column (the curves are not sorted by run: a filter decodes a whole
    file); a file without a readable shard is asked itself. Memory: one file at a time."""
    import pyarrow.compute as pc

    files = sorted((folder / CURVES).glob("*.parquet"), key=lambda p: (shard_sequence(p), p.name))
    holds = []
    for part in files:
        try:
            ids = pq.read_table(folder / SHARDS / part.name, columns=["run_id"])["run_id"]
        except (OSError, pa.ArrowException, KeyError):
            ids = pq.read_table(part, columns=["run_id"])["run_id"]
        holds.append(ids.to_pylist())
    owner = {run_id: i for i, ids in enumerate(holds) for run_id in ids}
    wanted = None if run_ids is None else set(run_ids)
    parts = []
    for i, part in enumerate(files):
        mine = {r for r in holds[i] if owner[r] == i and (wanted is None or r in wanted)}
        if not mine:
            continue
        table = pq.read_table(part, schema=CURVE_SCHEMA)
        if wanted is not None or len(mine) < len(set(holds[i])):
            table = table.filter(pc.is_in(table["run_id"], value_set=pa.array(sorted(mine))))
        parts.append(table)
    return pa.concat_tables(parts) if parts else CURVE_SCHEMA.empty_table()


def check_curves(folder: Path, required: bool = False) -> None:
    """Check that every file of the folder's curves.parquet is a curves table (their footers
    only: cheap), so that a damaged one is an error now, not a figure missing later; with
    `required`, that the folder has curves at all."""
    parquet = folder / CURVES
    if not parquet.exists():
        if required and not (folder / OLD_CURVES).exists():
            raise ResultsError(f"{parquet}: no such file (the loss curves are drawn from it)")
        return
    for part in sorted(parquet.glob("*.parquet")) if parquet.is_dir() else [parquet]:
        try:
            names = pq.read_schema(part).names
        except (OSError, pa.ArrowException) as error:
            reason = _reason(error, "unreadable")
            raise ResultsError(f"{part}: not an xorlab curves table ({reason})") from None
        missing = [c for c in CURVE_SCHEMA.names if c not in names]
        if missing:
            raise ResultsError(f"{part}: not an xorlab curves table (missing {', '.join(missing)})")


def curves_reader(folder: Path) -> Callable[[Collection[str]], pd.DataFrame]:
    """A function that reads the curves of the given runs from the folder (for the figures:
    they never need every curve)."""
    return partial(read_curves, folder)


def _read_curves_csv(path: Path) -> pd.DataFrame:
    """A curves.csv (run_id, epoch, loss, accuracy) of 0.1 or 0.2, checked."""
    curves = _read_csv(path, "curves table")
    missing = [c for c in ("run_id", "epoch", "loss", "accuracy") if c not in curves.columns]
    if missing:
        raise ResultsError(f"{path}: not an xorlab curves table (missing {', '.join(missing)})")
    curves["epoch"] = _numeric(curves, "epoch", path, integer=True).astype("int64")
    for name in ("loss", "accuracy"):
        curves[name] = _numeric(curves, name, path)
    return curves


@dataclass
class Results:
    """A sweep's results folder: its tables as DataFrames, its resolved spec and metadata."""

    folder: Path
    runs: pd.DataFrame
    spec: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    name: str = ""  # the sweep's name: its folder's, or a lone CSV file's stem

    @cached_property
    def summary(self) -> pd.DataFrame:
        """One row per configuration (recomputed from the runs: always consistent with them)."""
        return summary_table(self.runs)

    @cached_property
    def curves(self) -> pd.DataFrame:
        """Every run's logged loss and accuracy, long format (the runs of this table only)."""
        return read_curves(self.folder, self.runs["run_id"].tolist())

    def curves_of(self, run_ids: Iterable[str]) -> pd.DataFrame:
        """The curves of the given runs, any iterable of run ids (a list, a column of `runs`),
        read from disk unless `curves` was read already."""
        if isinstance(run_ids, str | bytes):
            raise ResultsError(
                f"curves_of takes a list of run ids, not one string: curves_of([{run_ids!r}])"
            )
        run_ids = list(run_ids)
        if not all(isinstance(run_id, str) for run_id in run_ids):
            raise ResultsError("curves_of takes run ids, strings such as '5126c4d71a9b'")
        if "curves" in self.__dict__:
            return self.curves[self.curves["run_id"].isin(set(run_ids))]
        return read_curves(self.folder, run_ids)

    def figure(self, name: str):
        """One of the folder's figures as a matplotlib Figure, drawn from the tables: `name`
        as in figures/ ("solve_rate_heatmap", "loss_curves", "outcomes", ...)."""
        if not isinstance(name, str):
            raise ResultsError(f"figure takes a figure's name, not {type(name).__name__}")
        from xorlab.visualization.render import figure_makers
        from xorlab.visualization.style import drawn

        makers = figure_makers(self.runs, self.summary, self.curves_of, self.spec)
        file_name = name if name.endswith(".png") else f"{name}.png"
        if file_name not in makers:
            allowed = ", ".join(m.removesuffix(".png") for m in makers)
            raise ResultsError(f"no figure {name!r} for this sweep; one of: {allowed}")
        figure = drawn(makers[file_name])
        if figure is None:
            raise ResultsError(f"figure {name!r} has nothing to show for this sweep")
        return figure


def _read_spec(path: Path) -> dict[str, Any]:
    """A folder's resolved spec: TOML whose sections are tables, or a ResultsError."""
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ResultsError(f"{path}: not a TOML spec ({_reason(error, 'unreadable')})") from None
    for section, table in spec.items():
        if not isinstance(table, dict):
            raise ResultsError(f"{path}: not an xorlab spec ([{section}] is not a table)")
    return spec


def _import_plugins(path: Path, spec: dict[str, Any]) -> None:
    """Import the modules of the spec's [run] imports (a plugin's activation, say), as the
    sweep did before training."""
    from xorlab.search.spec import import_plugin

    imports = spec.get("run", {}).get("imports", [])
    for module in imports if isinstance(imports, list) else [imports]:
        try:
            import_plugin(str(module))
        except ValueError as error:
            raise ResultsError(f"{path}: run.imports: {error}") from None


def load(path: str | Path) -> Results:
    """A results folder (or just its runs.csv), checked; raises ResultsError if unusable."""
    if not isinstance(path, str | Path):
        raise ResultsError(f"load takes a results folder's path, not {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        folder, runs_path = path, path / RUNS
        if not runs_path.is_file():
            raise ResultsError(f"{path}: not a results folder (no {RUNS})")
    elif path.is_file():
        folder, runs_path = path.parent, path
    else:
        raise ResultsError(f"{path}: no such results folder or runs.csv")
    spec: dict[str, Any] = {}
    if (folder / SPEC).is_file() and runs_path.name == RUNS:
        spec = _read_spec(folder / SPEC)
        _import_plugins(folder / SPEC, spec)  # before the runs: they may name its activations
    runs = read_runs(runs_path)
    meta: dict[str, Any] = {}
    if (folder / META).is_file():
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            meta = {}  # informational only: a damaged meta.json does not stop anything
    if runs_path.name == RUNS:
        check_curves(folder)
    # the folder's own name also when it is given as '.' or '..'
    name = Path(os.path.abspath(folder)).name if runs_path.name == RUNS else runs_path.stem
    return Results(folder, runs, spec, meta if isinstance(meta, dict) else {}, name or "sweep")
