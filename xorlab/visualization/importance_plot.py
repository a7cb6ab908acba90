"""Which settings matter: importance shares and each setting's marginal solve rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from xorlab.visualization.style import EFFECT_COLORS, SLICES_PER_ROW


def importance_figure(effects: pd.DataFrame, marginals: pd.DataFrame) -> Figure | None:
    """Which settings matter (the tables of `xorlab.analysis.importance`): the share of the variation in
    solve rate each setting and the strongest pairs explain (hatched: within seed noise), and
    below, the solve rate at each value of every setting with its 95% interval."""
    if effects.empty:
        return None
    settings = list(dict.fromkeys(marginals["setting"]))
    columns = min(len(settings), SLICES_PER_ROW)
    slice_rows = -(-len(settings) // SLICES_PER_ROW)
    bars = len(effects)
    top_height = 0.35 * bars + 1.0
    figure = Figure(
        figsize=(max(8.0, 3.0 * columns), top_height + 2.9 * slice_rows + 0.6), layout="constrained"
    )
    grid = figure.add_gridspec(
        1 + slice_rows, columns, height_ratios=[top_height] + [2.9] * slice_rows
    )
    ax = figure.add_subplot(grid[0, :])
    order = effects.iloc[::-1]
    for y, (_, row) in enumerate(order.iterrows()):
        real = bool(row["real"]) or row["kind"] == "rest"
        ax.barh(
            y,
            row["share"],
            color=EFFECT_COLORS[row["kind"]],
            hatch=None if real else "//",
            alpha=1.0 if real else 0.45,
            edgecolor="white",
        )
        note = "" if real else f"  within seed noise (p = {row['p_value']:.2g})"
        ax.text(row["share"], y, f" {row['share']:.0%}{note}", va="center", fontsize=8)
    labels = [
        "rest (higher order + noise)" if k == "rest" else e
        for e, k in zip(order["effect"], order["kind"])
    ]
    ax.set_yticks(range(bars), labels, fontsize=9)
    ax.set_xlim(0, min(1.0, effects["share"].max() * 1.5 + 0.05))
    ax.set_xlabel("share of the variance of the configurations' solve rates")
    ax.set_title("Which settings matter (functional ANOVA of solved)", fontsize=10)
    for i, setting in enumerate(settings):
        ax = figure.add_subplot(grid[1 + i // SLICES_PER_ROW, i % SLICES_PER_ROW])
        values = marginals[marginals["setting"] == setting].sort_values("position")
        rate = values["solve_rate"].to_numpy(float)
        error = [rate - values["solve_rate_low"], values["solve_rate_high"] - rate]
        x = np.arange(len(values))
        ax.errorbar(x, rate, yerr=error, fmt="o-", color="#4c72b0", ms=4, capsize=2, lw=1)
        long = len(values) > 4 or values["value"].str.len().max() > 6
        rotation = 90 if len(values) > 8 else 45 if long else 0
        ax.set_xticks(x, values["value"], rotation=rotation, fontsize=8)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(setting, fontsize=10)
        ax.grid(alpha=0.3)
        if i % SLICES_PER_ROW == 0:
            ax.set_ylabel("solve rate (95% CI)")
    return figure
