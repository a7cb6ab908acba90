"""Tidy tables from finished runs: one row per run, and one row per configuration."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xorlab.config import SETTING_NAMES

METRICS = (
    "status",
    "final_loss",
    "final_accuracy",
    "solved",
    "epochs_to_solve",
    "train_seconds",
    "error",
)
RUN_COLUMNS = ("run_id", "seed", *SETTING_NAMES, *METRICS)
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
)


def runs_table(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per run, in the order given: run_id, seed, every setting, then the metrics."""
    frame = pd.DataFrame.from_records(
        [{k: r[k] for k in RUN_COLUMNS} for r in records], columns=list(RUN_COLUMNS)
    )
    frame["epochs_to_solve"] = frame["epochs_to_solve"].astype("Int64")
    frame["solved"] = frame["solved"].astype(bool)
    frame["final_loss"] = frame["final_loss"].astype(float)
    frame["final_accuracy"] = frame["final_accuracy"].astype(float)
    return frame


def wilson_interval(
    successes: np.ndarray, n: np.ndarray, z: float = 1.96
) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval for a proportion (well-behaved at 0/n and n/n)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        denominator = 1 + z**2 / n
        center = (p + z**2 / (2 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return np.clip(center - half, 0, 1), np.clip(center + half, 0, 1)


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
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        summary["solve_rate"] = summary["_solved"] / summary["_finished"]
    low, high = wilson_interval(summary["_solved"].to_numpy(), summary["_finished"].to_numpy())
    summary["solve_rate_low"], summary["solve_rate_high"] = low, high
    summary = summary.sort_values(
        ["solve_rate", "epochs_to_solve_median", "final_loss_median"],
        ascending=[False, True, True],
        na_position="last",
        kind="stable",
    )
    return summary[[*settings, *SUMMARY_METRICS]].reset_index(drop=True)
