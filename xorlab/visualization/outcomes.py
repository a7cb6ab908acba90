"""How the runs ended: the share of each outcome per configuration group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from xorlab.training.config import format_value
from xorlab.visualization.style import OUTCOME_COLORS

MAX_BARS = 60


def outcome_shares(runs: pd.DataFrame, settings: Sequence[str]) -> tuple[pd.DataFrame, list]:
    """Share of each outcome per configuration group: grouped by as many of `settings` (in
    order) as keep the groups at MAX_BARS or fewer, the rest pooled. Returns the shares (one
    row per group, one column per outcome, plus `runs`) and the settings grouped by."""
    finished = runs[runs["outcome"].notna()]
    keys: list = []
    for name in settings:
        if finished.groupby([*keys, name], dropna=False).ngroups > MAX_BARS:
            break
        keys.append(name)
    grouped = finished.groupby(keys, dropna=False) if keys else finished.groupby(lambda _: "all")
    counts = grouped["outcome"].value_counts().unstack(fill_value=0)
    counts = counts.reindex(columns=[o for o in OUTCOME_COLORS if o in counts.columns])
    shares = counts.div(counts.sum(axis=1), axis=0)
    shares["runs"] = counts.sum(axis=1)
    return shares, keys


def outcome_figure(shares: pd.DataFrame, keys: Sequence[str], pooled: Sequence[str] = ()) -> Figure:
    """Stacked horizontal bars: how the runs of each configuration group ended; `pooled`:
    the settings the groups pool over (named under the bars)."""
    # constrained layout: the legend above and the labels around get their room at any count
    figure = Figure(figsize=(9, 2.0 + 0.28 * len(shares)), layout="constrained")
    ax = figure.subplots()
    outcomes = [c for c in shares.columns if c in OUTCOME_COLORS]
    left = np.zeros(len(shares))
    positions = np.arange(len(shares))[::-1]
    for outcome in outcomes:
        ax.barh(positions, shares[outcome], left=left, color=OUTCOME_COLORS[outcome], label=outcome)
        left += shares[outcome].to_numpy()
    labels = [
        ", ".join(format_value(v) for v in (index if isinstance(index, tuple) else (index,)))
        + f"  (n={n})"
        for index, n in zip(shares.index, shares["runs"])
    ]
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel(
        "share of runs"
        + (f" (each bar pools {', '.join(pooled)}: the least important)" if pooled else "")
    )
    ax.set_ylabel(", ".join(keys) or "all runs")
    ax.legend(
        ncols=min(len(outcomes), 5), loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8
    )
    return figure
