"""Read a results folder back, checked: the one loader of `plot`, `compare` and the Python API.

Every problem is a `ResultsError` that names the file, and the column and row where one is
wrong, so a damaged or foreign folder is one line, never a traceback. Tables of an older
release load too: a setting they lack is filled in at its default.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xorlab.analysis import blank_inapplicable, summary_table
from xorlab.config import SETTINGS
from xorlab.errors import ResultsError
from xorlab.result import DIAGNOSIS
from xorlab.store import STATUSES

RUNS = "runs.csv"
CURVES = "curves.csv"
SPEC = "spec.toml"
META = "meta.json"
IDENTITY = ("run_id", "seed", "status", "solved", "final_loss")  # an xorlab runs table has these
FLOAT_METRICS = ("final_loss", "final_accuracy", "train_seconds", "grad_norm", "loss_change")


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
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "empty"
        raise ResultsError(
            f"{path}: not an xorlab {what} (not readable as CSV: {reason})"
        ) from None


def _numeric(frame: pd.DataFrame, column: str, path: Path, integer: bool = False) -> pd.Series:
    """The column as numbers ('nan' and 'inf' allowed), or an error naming the first bad cell."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna() & (frame[column].astype(str).str.lower() != "nan")
    if integer:
        bad |= values.notna() & (values != values.round())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        kind = "an integer" if integer else "a number"
        raise ResultsError(
            f"{path}: column {column!r}, row {row + 2}: {frame[column].iloc[row]!r} is not {kind}"
        )
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
    runs["seed"] = _numeric(runs, "seed", path, integer=True).astype("int64")
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
    blank_inapplicable(runs)  # and types every setting
    unknown = ~runs["status"].isin(STATUSES)
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise ResultsError(
            f"{path}: column 'status', row {row + 2}: {runs['status'].iloc[row]!r} is not one of "
            + ", ".join(STATUSES)
        )
    return runs


def read_curves(path: Path) -> pd.DataFrame:
    """A curves.csv (run_id, epoch, loss, accuracy), checked."""
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
        """Every run's logged loss and accuracy, long format."""
        return read_curves(self.folder / CURVES)

    def figure(self, name: str):
        """One of the folder's figures as a matplotlib Figure, drawn from the tables: `name`
        as in figures/ ("solve_rate_heatmap", "loss_curves", "outcomes", ...)."""
        from xorlab.render import figure_makers

        makers = figure_makers(self.runs, self.summary, self.curves, self.spec)
        file_name = name if name.endswith(".png") else f"{name}.png"
        if file_name not in makers:
            allowed = ", ".join(m.removesuffix(".png") for m in makers)
            raise ResultsError(f"no figure {name!r} for this sweep; one of: {allowed}")
        figure = makers[file_name]()
        if figure is None:
            raise ResultsError(f"figure {name!r} has nothing to show for this sweep")
        return figure


def load(path: str | Path) -> Results:
    """A results folder (or just its runs.csv), checked; raises ResultsError if unusable."""
    path = Path(path)
    if path.is_dir():
        folder, runs_path = path, path / RUNS
        if not runs_path.is_file():
            raise ResultsError(f"{path}: not a results folder (no {RUNS})")
    elif path.is_file():
        folder, runs_path = path.parent, path
    else:
        raise ResultsError(f"{path}: no such results folder or runs.csv")
    runs = read_runs(runs_path)
    spec: dict[str, Any] = {}
    if (folder / SPEC).is_file() and runs_path.name == RUNS:
        try:
            spec = tomllib.loads((folder / SPEC).read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ResultsError(f"{folder / SPEC}: not a TOML spec ({error})") from None
    meta: dict[str, Any] = {}
    if (folder / META).is_file():
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            meta = {}  # informational only: a damaged meta.json does not stop anything
    name = folder.name if runs_path.name == RUNS else runs_path.stem
    return Results(folder, runs, spec, meta if isinstance(meta, dict) else {}, name or "sweep")
