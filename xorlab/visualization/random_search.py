"""The figures of a random search: final loss against each sampled setting, and parallel
coordinates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from xorlab.training.config import format_value
from xorlab.visualization.style import (
    activation_color,
    blanks_as_dash,
    levels,
    log_scale,
    new_axes,
    panels,
    shared_colorbar,
    title,
)


def setting_scatter(runs: pd.DataFrame, setting: str, log: bool, ax: Axes | None = None) -> Axes:
    """Final loss of every run against one swept setting, colored by activation."""
    ax = new_axes(ax)
    for activation, rows in runs[runs["status"] == "ok"].groupby("activation"):
        ax.scatter(
            rows[setting],
            rows["final_loss"],
            s=10,
            alpha=0.6,
            color=activation_color(activation),
            label=activation,
        )
    if log:
        log_scale(ax, "x")
    log_scale(ax, "y")
    ax.axhline(np.log(2), color="gray", ls=":", lw=1)
    ax.set_xlabel(setting + (" (log scale)" if log else ""))
    ax.set_ylabel("final training loss (log scale)")
    ax.legend(title="activation", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def scatter_figure(
    runs: pd.DataFrame, settings: Sequence[str], log_scaled: Sequence[str]
) -> Figure:
    """One panel per sampled setting: final loss of every run against it."""
    figure, axes = panels(len(settings), width=4.2)
    for ax, setting in zip(axes[0], settings):
        setting_scatter(runs, setting, setting in log_scaled, ax).set_title(
            f"final loss vs {setting}"
        )
    title(figure, "Random search: final loss of every run against each sampled setting")
    return figure


def parallel_coordinates_data(
    runs: pd.DataFrame, settings: Sequence[str], log_scaled: Sequence[str] = ()
) -> tuple[pd.DataFrame, dict[str, list[tuple[float, str]]]]:
    """The data of the parallel-coordinates figure: one row per configuration with its value
    of every setting, its solve rate and finished runs, and each setting's position on its axis
    in [0, 1] (`<setting>_position`: linear, or logarithmic for the `log_scaled` ones; a text
    setting's values evenly spaced). Also the ticks of each axis: (position, label) pairs."""
    finished = runs[runs["status"] != "failed"]
    table = (
        finished.assign(**{s: blanks_as_dash(finished[s]) for s in settings})
        .groupby(list(settings), dropna=False)["solved"]
        .agg(solve_rate="mean", runs="size")
        .reset_index()
    )
    ticks: dict[str, list[tuple[float, str]]] = {}
    for setting in settings:
        values = table[setting]
        if pd.api.types.is_numeric_dtype(values):
            numbers = values.astype(float)
            log = setting in log_scaled and (numbers > 0).all()
            scaled = np.log10(numbers) if log else numbers
            low, high = float(scaled.min()), float(scaled.max())
            span = high - low or 1.0
            table[f"{setting}_position"] = (scaled - low) / span
            ticks[setting] = [
                ((m - low) / span, format_value(float(10**m if log else m)))
                for m in _round_ticks(low, high, log)
            ]
        else:  # each value a band, its configurations spread in it by solve rate: the mix shows
            order = levels(values)
            centres = {v: (i + 0.5) / len(order) for i, v in enumerate(order)}
            half = 0.35 / len(order)
            rank = table.groupby(setting)["solve_rate"].rank(method="first") - 0.5
            count = table.groupby(setting)["solve_rate"].transform("size")
            centre = values.map(centres).astype(float)
            table[f"{setting}_position"] = centre - half + 2 * half * rank / count
            solved = (table["solve_rate"] * table["runs"]).groupby(values).sum()
            rates = solved / table["runs"].groupby(values).sum()  # over the runs
            ticks[setting] = [(centres[v], f"{v}\n({rates[v]:.0%} solve)") for v in order]
    return table, ticks


def _round_ticks(low: float, high: float, log: bool) -> list[float]:
    """Tick positions at round values within [low, high] (of log10 values when `log`): the
    decades, or matplotlib's nice steps; the ends when fewer than two fall inside."""
    from matplotlib.ticker import MaxNLocator

    if high <= low:
        return [low]
    if log:
        inside = [float(k) for k in range(int(np.ceil(low)), int(np.floor(high)) + 1)]
    else:
        inside = [t for t in MaxNLocator(4).tick_values(low, high) if low <= t <= high]
    return inside if len(inside) >= 2 else [low, high]


def parallel_coordinates_figure(
    table: pd.DataFrame, ticks: dict[str, list[tuple[float, str]]]
) -> Figure:
    """Every sampled configuration as a line through one vertical axis per setting, coloured
    by its solve rate (the data of `parallel_coordinates_data`); the best drawn on top."""
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    settings = list(ticks)
    figure, axes = panels(1, width=max(6.0, 1.9 * (len(settings) + 1)), height=4.6, colorbar=True)
    ax = axes[0, 0]
    ordered = table.sort_values("solve_rate", kind="stable")
    x = np.arange(len(settings) + 1)
    points = np.stack(
        [ordered[f"{s}_position"].to_numpy(float) for s in settings]
        + [ordered["solve_rate"].to_numpy(float)],
        axis=1,
    )
    segments = [np.column_stack([x, row]) for row in points]
    lines = LineCollection(
        segments, cmap=colormaps["viridis"], norm=Normalize(0, 1), linewidths=1.2, alpha=0.8
    )
    lines.set_array(ordered["solve_rate"].to_numpy(float))
    ax.add_collection(lines)
    for i, setting in enumerate(settings):
        ax.axvline(i, color="#444", lw=0.8)
        for position, label in ticks[setting]:
            ax.text(
                i - 0.04,
                position,
                label,
                ha="right",
                va="center",
                fontsize=7,
                bbox={"facecolor": "white", "alpha": 0.75, "linewidth": 0, "pad": 1},
            )
    ax.axvline(len(settings), color="#444", lw=0.8)
    for value in (0, 0.5, 1):
        ax.text(len(settings) + 0.04, value, f"{value:g}", ha="left", va="center", fontsize=7)
    ax.set_xticks(x, [*settings, "solve rate"])
    ax.set_yticks([])
    ax.set_xlim(-0.5, len(settings) + 0.4)
    ax.set_ylim(-0.05, 1.05)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    shared_colorbar(figure, lines, "solve rate")
    title(
        figure,
        f"Random search: {len(table)} configurations, coloured by solve rate "
        "(axes log-scaled where sampled so)",
    )
    return figure
