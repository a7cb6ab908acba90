"""Tidy tables from finished runs: one row per run, and one row per configuration."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xorlab.analysis.stats import wilson_interval
from xorlab.training.config import COORDINATES, SETTING_NAMES, SETTINGS, format_value
from xorlab.training.diagnosis import OUTCOMES
from xorlab.training.result import DIAGNOSIS, METRICS

MAX_CATEGORIES = 16  # a swept setting with more values is treated as continuous
RUN_COLUMNS = ("run_id", "seed", *SETTING_NAMES, *COORDINATES, *METRICS, *DIAGNOSIS)
OUTCOME_COLUMNS = tuple(f"outcome_{name}" for name in OUTCOMES)
SUMMARY_METRICS = (
    "n_seeds",
    "solve_rate",
    "solve_rate_low",
    "solve_rate_high",
    "final_loss_mean",
    "final_loss_std",
    "final_loss_median",
    "final_accuracy_mean",
    "epochs_to_solve_median",
    "diverged",
    "failed",
    *OUTCOME_COLUMNS,
)


def runs_table(records: Iterable[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """One row per run, in the order given: run_id, seed, every setting, then the metrics
    (from records, or the columns of the run store)."""
    if isinstance(records, pd.DataFrame):
        frame = records[list(RUN_COLUMNS)]  # copy-on-write: columns are shared until changed
    else:
        frame = pd.DataFrame.from_records(
            [{k: r.get(k) for k in RUN_COLUMNS} for r in records], columns=list(RUN_COLUMNS)
        )
    type_settings(frame)
    frame["epochs_to_solve"] = frame["epochs_to_solve"].astype("Int64")
    frame["solved"] = frame["solved"].astype(bool)
    frame["final_loss"] = frame["final_loss"].astype(float)
    frame["final_accuracy"] = frame["final_accuracy"].astype(float)
    return frame


def type_settings(runs: pd.DataFrame) -> pd.DataFrame:
    """Each setting's column as its type: integers stay integers where a column has empty
    cells (a setting that does not apply to some runs), text stays text."""
    for name, setting in SETTINGS.items():
        column = runs[name]
        if setting.kind is int:
            numbers = pd.to_numeric(column)
            runs[name] = numbers.astype("Int64" if numbers.isna().any() else "int64")
        elif setting.kind is float:
            runs[name] = pd.to_numeric(column).astype(float)
        else:  # through categories: a million rows share a few string objects
            runs[name] = column.astype("category").astype(object).where(column.notna(), None)
    for name in ("axis_x", "axis_y"):  # a map's points; empty for runs of other methods
        column = runs[name] if name in runs else pd.Series(None, index=runs.index, dtype=object)
        runs[name] = column.astype("category").astype(object).where(column.notna(), None)
    for name in ("offset_x", "offset_y"):
        runs[name] = pd.to_numeric(runs[name]).astype(float) if name in runs else np.nan
    return runs


def same_configuration(runs: pd.DataFrame, row: pd.Series | dict) -> np.ndarray:
    """Which runs have every setting of `row` (an empty setting matches an empty one)."""
    mask = np.ones(len(runs), bool)
    for name in SETTING_NAMES:
        value = row[name]
        column = runs[name]
        matches = column.isna() if pd.isna(value) else column == value
        mask &= matches.fillna(False).to_numpy(dtype=bool)  # Int64 beside empty cells: <NA>
    return mask


def blank_inapplicable(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs with every setting that does not apply to a run set empty (a table of an
    older release has the default in a column it lacked)."""
    for name, setting in SETTINGS.items():
        applies = np.ones(len(runs), bool)
        for parent, allowed in setting.when.items():
            applies &= runs[parent].isin(allowed).to_numpy()
        if not applies.all():
            runs[name] = runs[name].astype(object).where(applies, None)
    return type_settings(runs)


def runs_csv(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs table as written to runs.csv: a diverged run's NaN loss reads 'nan' (an empty
    cell is for a failed run, which has no loss)."""
    lost = runs["final_loss"].isna() & (runs["status"] != "failed")
    return runs.assign(final_loss=runs["final_loss"].astype(object).where(~lost, "nan"))


def csv_lines(runs: pd.DataFrame) -> dict[str, str] | None:
    """Each run's line of runs.csv (run_id -> line, with its line break), as
    `runs_csv(runs).to_csv(index=False)` writes it: pandas formats every cell on its own, so
    lines formatted a chunk at a time are those of the whole table. None where a cell holds a
    line break (an error message, say): then only the whole table can be written."""
    text = runs_csv(runs).to_csv(index=False, header=False, lineterminator="\n")
    lines = text.split("\n")[:-1]
    if len(lines) != len(runs):
        return None
    return dict(zip(runs["run_id"], (line + "\n" for line in lines)))


def summary_table(runs: pd.DataFrame, settings: Sequence[str] = SETTING_NAMES) -> pd.DataFrame:
    """One row per configuration (all settings but the seed), best first.

    Solve rates count runs that finished (`ok` or `diverged`); `failed` runs are counted apart.
    """
    settings = list(settings)
    frame = runs.assign(
        _finished=runs["status"] != "failed",
        _diverged=runs["status"] == "diverged",
        _failed=runs["status"] == "failed",
        _ok_loss=runs["final_loss"].where(runs["status"] == "ok"),
        _ets=runs["epochs_to_solve"].astype(float),
        **{f"outcome_{name}": runs["outcome"] == name for name in OUTCOMES},
    )
    grouped = frame.groupby(settings, sort=False, dropna=False)
    summary = grouped.agg(
        n_seeds=("seed", "size"),
        _finished=("_finished", "sum"),
        _solved=("solved", "sum"),
        final_loss_mean=("_ok_loss", "mean"),
        final_loss_std=("_ok_loss", "std"),
        final_loss_median=("_ok_loss", "median"),
        final_accuracy_mean=("final_accuracy", "mean"),
        epochs_to_solve_median=("_ets", "median"),
        diverged=("_diverged", "sum"),
        failed=("_failed", "sum"),
        **{column: (column, "sum") for column in OUTCOME_COLUMNS},
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        summary["solve_rate"] = summary["_solved"] / summary["_finished"]
    low, high = wilson_interval(summary["_solved"].to_numpy(), summary["_finished"].to_numpy())
    summary["solve_rate_low"], summary["solve_rate_high"] = low, high
    return best_first(summary)[[*settings, *SUMMARY_METRICS]].reset_index(drop=True)


def solved_and_finished(summary: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each configuration's solved and finished runs (`ok` or `diverged`), from summary.csv's
    columns (the solve rate is solved / finished)."""
    finished = (summary["n_seeds"] - summary["failed"]).astype(int)
    solved = (summary["solve_rate"].fillna(0) * finished).round().astype(int)
    return solved, finished


def best_first(summary: pd.DataFrame) -> pd.DataFrame:
    """Configurations in the one order of "best" every view uses: solve rate (high first),
    then median epochs to solve and median final loss (low first); ties keep their order."""
    return summary.sort_values(
        ["solve_rate", "epochs_to_solve_median", "final_loss_median"],
        ascending=[False, True, True],
        na_position="last",
        kind="stable",
    )


def ranked_configurations(runs: pd.DataFrame, settings: Sequence[str]) -> pd.DataFrame:
    """The configurations (the `settings` columns) in summary.csv's order, computed from the
    few columns the order needs (a figure's runs may lack the others)."""
    status = runs["status"] if "status" in runs else pd.Series("ok", index=runs.index)
    frame = runs.assign(
        _finished=status != "failed",
        _ok_loss=runs["final_loss"].where(status == "ok"),
        _ets=runs["epochs_to_solve"].astype(float),
    )
    summary = (
        frame.groupby(list(settings), sort=False, dropna=False)
        .agg(
            _solved=("solved", "sum"),
            _finished=("_finished", "sum"),
            epochs_to_solve_median=("_ets", "median"),
            final_loss_median=("_ok_loss", "median"),
        )
        .reset_index()
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        summary["solve_rate"] = summary["_solved"] / summary["_finished"]
    return best_first(summary)[list(settings)].reset_index(drop=True)


def configuration_label(row: pd.Series | dict, settings: Sequence[str]) -> str:
    """'tanh, hidden 4, lr 1' style label of a configuration's varying settings."""
    parts = []
    for name in sorted(settings, key=lambda s: s != "activation"):  # activation first
        value = row[name]
        text = format_value(value)
        parts.append(text if name == "activation" else f"{name} {text}")
    return ", ".join(parts)


def decision_surfaces(
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    settings: Sequence[str],
    top: int = 3,
    resolution: int = 41,
) -> pd.DataFrame:
    """The learned function over the input square [-0.5, 1.5]^2 for the best and the worst seed
    (lowest and highest final loss) of the `top` configurations.

    The runs are retrained with the batched engine to recover their weights (they are not
    stored); the numbers are the ones in runs.csv. Columns: configuration, seed, which, x0, x1,
    output.
    """
    from xorlab.training.config import RunConfig
    from xorlab.training.engine import train_batch
    from xorlab.training.reference import forward

    grid = np.linspace(-0.5, 1.5, resolution)
    x0, x1 = np.meshgrid(grid, grid)
    inputs = np.stack([x0.ravel(), x1.ravel()])
    frames = []
    for _, config_row in summary.head(top).iterrows():
        mask = same_configuration(runs, config_row)
        finished = runs[mask & (runs["status"] != "failed").to_numpy()]
        if finished.empty:
            continue
        ranked = finished.sort_values("final_loss", na_position="last")
        picks = {"best seed": ranked.iloc[0], "worst seed": ranked.iloc[-1]}
        configs = [RunConfig.from_mapping(row) for row in picks.values()]
        results = train_batch(configs, keep_weights=True)  # same configuration: one batch
        label = configuration_label(config_row, settings)
        for (which, row), result in zip(picks.items(), results):
            output, _ = forward(inputs, result.weights, row["activation"])
            frames.append(
                pd.DataFrame(
                    {
                        "configuration": label,
                        "seed": int(row["seed"]),
                        "which": which,
                        "x0": inputs[0],
                        "x1": inputs[1],
                        "output": output[0],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
