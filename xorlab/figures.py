"""Comparison figures from the tidy tables (matplotlib, headless, no pyplot state).

Each plotting function takes DataFrames and an optional Axes and returns the Axes; it never
shows anything. `write_figures` draws the standard set into a results folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from xorlab.store import write_with

ACTIVATION_COLORS = {"sigmoid": "#1f77b4", "tanh": "#ff7f0e", "relu": "#2ca02c"}
MAX_HEATMAP_VALUES = 16


def _new_axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else Figure(figsize=(5, 4)).add_subplot()


def _panels(count: int, width: float = 4.2, height: float = 3.8, sharey: bool = False):
    """A figure with `count` side-by-side panels and fixed margins (fast: no layout engine)."""
    figure = Figure(figsize=(width * count + 0.6, height))
    axes = figure.subplots(1, count, sharey=sharey, squeeze=False)[0]
    figure.subplots_adjust(
        left=0.9 / (width * count + 0.6), right=0.97, bottom=0.13, top=0.84, wspace=0.3
    )
    return figure, axes


def _label(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def solve_rate_heatmap(
    runs: pd.DataFrame, rows: str = "hidden", columns: str = "lr", ax: Axes | None = None
) -> Axes:
    """Share of seeds that solved XOR for each (rows, columns) cell, with k/n in the cell."""
    ax = _new_axes(ax)
    finished = runs[runs["status"] != "failed"]
    table = finished.groupby([rows, columns])["solved"].agg(["sum", "size"]).reset_index()
    row_values = sorted(runs[rows].unique())
    col_values = sorted(runs[columns].unique())
    solved = table.pivot(index=rows, columns=columns, values="sum").reindex(
        row_values, columns=col_values
    )
    total = table.pivot(index=rows, columns=columns, values="size").reindex(
        row_values, columns=col_values
    )
    rate = (solved / total).to_numpy(dtype=float)
    ax.imshow(rate, vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
    for i in range(len(row_values)):
        for j in range(len(col_values)):
            if np.isfinite(rate[i, j]):
                text = f"{int(solved.iat[i, j])}/{int(total.iat[i, j])}"
                color = "black" if rate[i, j] > 0.6 else "white"
                ax.text(j, i, text, ha="center", va="center", color=color, fontsize=8)
    ax.set_xticks(
        range(len(col_values)),
        [_label(v) for v in col_values],
        rotation=45 if len(col_values) > 5 else 0,
    )
    ax.set_yticks(range(len(row_values)), [_label(v) for v in row_values])
    ax.set_xlabel(f"{columns}")
    ax.set_ylabel(f"{rows}")
    return ax


def loss_band(
    curves: pd.DataFrame, run_ids: Sequence[str], label: str, color: object, ax: Axes | None = None
) -> Axes:
    """Median loss over the given runs against epoch, with the interquartile range shaded."""
    ax = _new_axes(ax)
    subset = curves[curves["run_id"].isin(set(run_ids))]
    stats = subset.groupby("epoch")["loss"].quantile([0.25, 0.5, 0.75]).unstack()
    ax.plot(stats.index, stats[0.5], color=color, label=label, lw=1.5)
    ax.fill_between(stats.index, stats[0.25], stats[0.75], color=color, alpha=0.2, lw=0)
    return ax


def best_configurations(runs: pd.DataFrame, group: str, line: str) -> dict[tuple, list[str]]:
    """For each (group, line) value pair, the run_ids of the settings that solve it best
    (highest solve rate, then lowest median final loss)."""
    chosen: dict[tuple, list[str]] = {}
    keys = [group, line]
    others = [
        c
        for c in ("lr", "init_scale", "epochs", "loss", "samples", "noise")
        if c in runs and c not in keys
    ]
    for key, frame in runs.groupby(keys, sort=True):
        ranked = (
            frame.groupby(others, dropna=False)
            .agg(_rate=("solved", "mean"), _loss=("final_loss", "median"))
            .sort_values(["_rate", "_loss"], ascending=[False, True])
        )
        best = ranked.index[0]
        best = best if isinstance(best, tuple) else (best,)
        mask = np.ones(len(frame), bool)
        for name, value in zip(others, best):
            mask &= (frame[name] == value).to_numpy()
        chosen[key] = frame.loc[mask, "run_id"].tolist()
    return chosen


def loss_curves_figure(runs: pd.DataFrame, curves: pd.DataFrame) -> Figure:
    """One panel per activation, one line per hidden size, each at its best learning rate."""
    activations = sorted(runs["activation"].unique())
    hidden_values = sorted(runs["hidden"].unique())
    figure, axes = _panels(len(activations), sharey=True)
    colors = dict(zip(hidden_values, _sequential(len(hidden_values))))
    best = best_configurations(runs, "activation", "hidden")
    for ax, activation in zip(axes, activations):
        for hidden in hidden_values:
            run_ids = best.get((activation, hidden))
            if not run_ids:
                continue
            lr = runs.loc[runs["run_id"] == run_ids[0], "lr"].iloc[0]
            loss_band(curves, run_ids, f"hidden {hidden} (lr {_label(lr)})", colors[hidden], ax)
        ax.set_yscale("log")
        ax.set_title(activation, color=ACTIVATION_COLORS.get(activation, "black"))
        ax.set_xlabel("epoch")
        ax.axhline(np.log(2), color="gray", ls=":", lw=1)
        ax.legend(fontsize=7, title="median, IQR band", title_fontsize=7)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("training loss (log scale; dotted: ln 2 = chance)")
    figure.suptitle("Loss curves over seeds at each hidden size's best settings")
    return figure


def _sequential(n: int) -> list:
    from matplotlib import colormaps

    return [colormaps["viridis"](x) for x in np.linspace(0.0, 0.85, max(n, 1))]


def heatmap_figure(runs: pd.DataFrame, rows: str, columns: str, panels: str | None) -> Figure:
    panel_values = sorted(runs[panels].unique()) if panels else [None]
    figure, axes = _panels(len(panel_values), width=4.0)
    for ax, value in zip(axes, panel_values):
        subset = runs if value is None else runs[runs[panels] == value]
        solve_rate_heatmap(subset, rows, columns, ax)
        if value is not None:
            ax.set_title(f"{panels} = {value}", color=ACTIVATION_COLORS.get(value, "black"))
    figure.colorbar(axes[0].images[0], ax=list(axes), label="solve rate", fraction=0.03, pad=0.02)
    figure.suptitle(f"Solve rate over {rows} x {columns} (cells: seeds solved / seeds)")
    return figure


def write_figures(
    folder: Path,
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    curves: dict[str, np.ndarray] | pd.DataFrame,
    swept: Sequence[str],
) -> list[Path]:
    """Draw the standard figures into `folder` (atomically); returns the files written."""
    folder.mkdir(exist_ok=True)
    curves = pd.DataFrame(curves) if not isinstance(curves, pd.DataFrame) else curves
    written = []

    def save(figure: Figure, name: str) -> None:
        path = folder / name
        write_with(path, lambda handle: figure.savefig(handle, format="png", dpi=110))
        written.append(path)

    grid_keys = [k for k in swept if runs[k].nunique() <= MAX_HEATMAP_VALUES and k != "activation"]
    rows = "hidden" if "hidden" in grid_keys else (grid_keys[0] if grid_keys else None)
    columns = (
        "lr"
        if "lr" in grid_keys and rows != "lr"
        else next((k for k in grid_keys if k != rows), None)
    )
    if rows and columns:
        panels = "activation" if "activation" in swept else None
        save(heatmap_figure(runs, rows, columns, panels), "solve_rate_heatmap.png")
    save(loss_curves_figure(runs, curves), "loss_curves.png")
    return written
