"""The solve-rate heatmap: small multiples of cells over two settings, panels over the rest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from xorlab.training.config import format_value
from xorlab.visualization.style import (
    activation_color,
    blanks_as_dash,
    levels,
    panels,
    shared_colorbar,
    title,
)

MAX_PANELS = 24  # heatmap panels in one figure; further settings are pooled
MAX_PANEL_COLUMNS = 6


def heatmap_axes(settings: Sequence[str], counts: Mapping[str, int]) -> tuple[str, str] | None:
    """The two settings a solve-rate heatmap's cells span, of `settings` with `counts` values
    each: hidden x lr where swept (the tutorial's question), else the settings with the most
    values (activation last: it is the panels' setting). Used by the sweep's and compare's
    heatmaps."""
    candidates = [s for s in settings if counts.get(s, 0) > 1]
    ranked = sorted(candidates, key=lambda s: (s == "activation", -counts[s]))
    rows = "hidden" if "hidden" in candidates else (ranked[0] if ranked else None)
    rest = [s for s in ranked if s != rows]
    columns = "lr" if "lr" in rest else (rest[0] if rest else None)
    return (rows, columns) if rows and columns else None


@dataclass(frozen=True)
class HeatmapLayout:
    """What a solve-rate heatmap figure shows: cells over `rows` x `columns`, one column of
    panels per value of `panel_columns`, one row of panels per combination of `panel_rows`,
    and the settings `pooled` (the least important, when more panels would not be readable)."""

    rows: str
    columns: str
    panel_columns: str | None
    panel_rows: tuple[str, ...]
    pooled: tuple[str, ...]


def heatmap_layout(
    runs: pd.DataFrame, settings: Sequence[str], importance: Sequence[str] = ()
) -> HeatmapLayout | None:
    """Choose a heatmap's axes and facets for `settings` (the categorical swept settings):
    the cells by `heatmap_axes`, activation (or the most important other setting) as panel
    columns, and the other settings, most important first (`importance` orders them), as
    panel rows while the panels stay at most MAX_PANELS; the rest are pooled."""
    counts = {s: runs[s].nunique(dropna=False) for s in settings}
    cells = heatmap_axes(settings, counts)
    if cells is None:
        return None
    rank = {s: i for i, s in enumerate(importance)}
    others = sorted(
        (s for s in settings if s not in cells and counts[s] > 1),
        key=lambda s: (s != "activation", rank.get(s, len(rank)), settings.index(s)),
    )
    panel_columns = None
    if others and counts[others[0]] <= MAX_PANEL_COLUMNS:
        panel_columns = others.pop(0)
    width = counts[panel_columns] if panel_columns else 1
    panel_rows, pooled, height = [], [], 1
    for setting in others:
        if width * height * counts[setting] <= MAX_PANELS:
            panel_rows.append(setting)
            height *= counts[setting]
        else:
            pooled.append(setting)
    return HeatmapLayout(*cells, panel_columns, tuple(panel_rows), tuple(pooled))


HEATMAP_COLUMNS = ["panel_row", "panel_column", "row", "column", "solved", "runs", "solve_rate"]


def heatmap_data(runs: pd.DataFrame, layout: HeatmapLayout) -> pd.DataFrame:
    """The numbers of a heatmap figure: for each panel (its row and column labels) and cell,
    the finished runs, how many solved and the solve rate (failed runs are left out; settings
    that do not apply show as '-'). Columns: HEATMAP_COLUMNS."""
    keys = [layout.rows, layout.columns, layout.panel_columns, *layout.panel_rows]
    keys = [k for k in keys if k]
    frame = runs.assign(**{k: blanks_as_dash(runs[k]) for k in keys})
    finished = frame[frame["status"] != "failed"]
    table = finished.groupby(keys, dropna=False)["solved"].agg(["sum", "size"]).reset_index()
    table["panel_row"] = (
        table[list(layout.panel_rows)]
        .apply(lambda r: ", ".join(f"{k} = {format_value(v)}" for k, v in r.items()), axis=1)
        .astype(object)
        if layout.panel_rows
        else ""
    )
    table["panel_column"] = (
        table[layout.panel_columns].map(lambda v: f"{layout.panel_columns} = {format_value(v)}")
        if layout.panel_columns
        else ""
    )
    table = table.rename(
        columns={layout.rows: "row", layout.columns: "column", "sum": "solved", "size": "runs"}
    )
    table["solved"] = table["solved"].astype(int)
    table["solve_rate"] = table["solved"] / table["runs"]
    # the order of rows, columns and panels travels with the data, as categories: every value
    # of the runs (also one whose runs all failed), '-' (does not apply) last
    table["row"] = pd.Categorical(table["row"], levels(frame[layout.rows]))
    table["column"] = pd.Categorical(table["column"], levels(frame[layout.columns]))
    panel_columns = [""]
    if layout.panel_columns:
        values = levels(frame[layout.panel_columns])
        panel_columns = [f"{layout.panel_columns} = {format_value(v)}" for v in values]
    table["panel_column"] = pd.Categorical(table["panel_column"], panel_columns)
    table["panel_row"] = pd.Categorical(table["panel_row"], list(dict.fromkeys(table["panel_row"])))
    return table[HEATMAP_COLUMNS]


CELL_TEXT_POINTS = 7  # cell labels' font size; a label is drawn only where it fits


def heatmap_figure(
    data: pd.DataFrame, layout: HeatmapLayout, shares: Mapping[str, float] | None = None
) -> Figure:
    """Solve-rate heatmaps as small multiples, drawn from `heatmap_data` (see `heatmap_layout`),
    k/n in the cells where the cells are large enough to read it."""
    row_values = list(data["row"].cat.categories)
    col_values = list(data["column"].cat.categories)
    panel_rows = list(data["panel_row"].cat.categories)
    present = set(data["panel_column"])
    panel_cols = [c for c in data["panel_column"].cat.categories if c in present]
    width = max(3.4, 0.42 * len(col_values) + 1.0)
    height = max(2.8, 0.3 * len(row_values) + 1.0)
    figure, axes = panels(
        len(panel_cols), width=width, height=height, rows=len(panel_rows), colorbar=True
    )
    cell_width = (width - 1.0) / len(col_values) * 72  # points
    cell_height = (height - 1.0) / len(row_values) * 72
    longest = len(f"{data['runs'].max()}/{data['runs'].max()}")
    text = cell_width >= 0.62 * CELL_TEXT_POINTS * longest and cell_height >= 1.4 * CELL_TEXT_POINTS
    image = None
    for r, panel_row in enumerate(panel_rows):
        for c, panel_col in enumerate(panel_cols):
            ax = axes[r, c]
            cells = data[(data["panel_row"] == panel_row) & (data["panel_column"] == panel_col)]
            cells = cells.astype({"row": object, "column": object})
            solved = cells.pivot(index="row", columns="column", values="solved").reindex(
                row_values, columns=col_values
            )
            total = cells.pivot(index="row", columns="column", values="runs").reindex(
                row_values, columns=col_values
            )
            rate = (solved / total).to_numpy(dtype=float)
            image = ax.imshow(rate, vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
            if text:
                for i, j in zip(*np.nonzero(np.isfinite(rate))):
                    ax.text(
                        j,
                        i,
                        f"{int(solved.iat[i, j])}/{int(total.iat[i, j])}",
                        ha="center",
                        va="center",
                        fontsize=CELL_TEXT_POINTS,
                        color="black" if rate[i, j] > 0.6 else "white",
                    )
            rotation = 45 if len(col_values) > 5 else 0
            if r == len(panel_rows) - 1:  # tick labels on the outer panels only
                ax.set_xticks(
                    range(len(col_values)),
                    [format_value(v) for v in col_values],
                    rotation=rotation,
                    fontsize=8,
                )
                ax.set_xlabel(layout.columns)
            else:  # no ticks on inner panels: a tick costs a millisecond to draw
                ax.set_xticks([])
            if c == 0:
                ax.set_yticks(
                    range(len(row_values)), [format_value(v) for v in row_values], fontsize=8
                )
                ax.set_ylabel(layout.rows)
            else:
                ax.set_yticks([])
            value = panel_col.partition(" = ")[2]
            if r == 0 and panel_col:  # facet labels in the margins, not on every panel
                ax.set_title(
                    panel_col,
                    fontsize=9,
                    color=activation_color(value)
                    if layout.panel_columns == "activation"
                    else "black",
                )
            if c == len(panel_cols) - 1 and panel_row:
                ax.annotate(
                    panel_row,
                    xy=(1.02, 0.5),
                    xycoords="axes fraction",
                    rotation=270,
                    va="center",
                    ha="left",
                    fontsize=9,
                )
    gap = 0.015
    if any(panel_rows):  # room for the row labels in the right margin, then the colorbar
        width = figure.get_size_inches()[0]
        figure.subplots_adjust(right=figure.subplotpars.right - 0.35 / width)
        gap = 0.4 / width
    shared_colorbar(figure, image, "solve rate (seeds solved / seeds)", gap=gap)
    cells_note = "cells: seeds solved / seeds" if text else "colour: share of seeds solved"
    hidden = [
        f"{s}, {shares[s]:.0%} of the variation with its interactions"
        if shares and s in shares
        else s
        for s in layout.pooled
    ]
    joined = ("; " if shares else ", ").join(hidden)
    pooled = f"; pooled over {joined} (the least important)" if hidden else ""
    title(figure, f"Solve rate over {layout.rows} x {layout.columns} ({cells_note}{pooled})")
    return figure
