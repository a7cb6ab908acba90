"""Plain-text (and HTML) views of a sweep's summary for people."""

from __future__ import annotations

import pandas as pd

from xorlab.config import SETTING_NAMES


def varying_settings(summary: pd.DataFrame) -> list[str]:
    """Settings that differ between configurations (the swept ones)."""
    return [s for s in SETTING_NAMES if s in summary and summary[s].nunique(dropna=False) > 1]


def _format_value(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def best_table(summary: pd.DataFrame, n: int = 5) -> str:
    """The top configurations as an aligned text table."""
    settings = varying_settings(summary)
    top = summary.head(n)
    table = pd.DataFrame({s: top[s].map(_format_value) for s in settings})
    finished = top["n_seeds"] - top["failed"]
    table["solved"] = [
        f"{round(r * f)}/{f}" if f else "-" for r, f in zip(top["solve_rate"].fillna(0), finished)
    ]
    table["solve_rate_95%"] = [
        f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(top["solve_rate_low"], top["solve_rate_high"])
    ]
    table["epochs_to_solve"] = top["epochs_to_solve_median"].map(
        lambda v: "-" if pd.isna(v) else f"{v:.0f}"
    )
    table["final_loss"] = top["final_loss_median"].map(lambda v: f"{v:.3g}")
    return f"best {len(top)} of {len(summary)} configurations:\n" + table.to_string(index=False)
