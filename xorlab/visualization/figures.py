"""Comparison figures from the tidy tables (matplotlib, headless, no pyplot state).

Each plotting function takes DataFrames and an optional Axes, returns the Axes, and never shows
anything (`xorlab.visualization.render` picks and saves the set for a results folder). Colors per activation
are the same in every figure.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatter, NullLocator

from xorlab.training.config import SETTING_NAMES, format_value

ACTIVATION_COLORS = {"sigmoid": "#1f77b4", "tanh": "#ff7f0e", "relu": "#2ca02c"}
OTHER_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
CurvesOf = Callable[[Collection[str]], pd.DataFrame]  # run_ids -> their curves (long format)
DPI = 100
PNG = {"compress_level": 3}  # nearly as small as the default 6, and much faster to write
XOR_POINTS = ((0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0))


def activation_color(name: str) -> str:
    """The color of an activation, the same in every figure (plugins get stable others)."""
    if name in ACTIVATION_COLORS:
        return ACTIVATION_COLORS[name]
    return OTHER_COLORS[sum(map(ord, name)) % len(OTHER_COLORS)]


# Titles at a fixed height: matplotlib's automatic title placement measures every axis's
# tick labels at each draw, a third of the drawing time of a figure of many panels.
STYLE = {"axes.titley": 1.0}


_SUPERSCRIPT = str.maketrans(
    "-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)


def decade_label(value: float, _position: object = None) -> str:
    """A log axis's tick label in plain text: 10⁻⁴ at powers of ten, else the number.
    (matplotlib writes 10⁻⁴ as mathtext, whose parser takes 30 ms a label: a sixth of the
    drawing of a figure with a log axis.)"""
    exponent = np.log10(value) if value > 0 else np.nan
    if np.isfinite(exponent) and abs(exponent - round(exponent)) < 1e-9:
        return "10" + str(round(exponent)).translate(_SUPERSCRIPT)
    return f"{value:g}"


class _PlainLogFormatter(LogFormatter):
    """matplotlib's choice of the log ticks to label (minor ones too, when the axis spans
    less than a decade or two), each labelled by `decade_label`."""

    def __call__(self, x: float, pos: object = None) -> str:
        return decade_label(x) if super().__call__(x, pos) else ""


def log_scale(ax: Axes, which: str = "y") -> None:
    """Put the x or y axis of `ax` on a log scale, labelled in plain text (`decade_label`)."""
    getattr(ax, f"set_{which}scale")("log")
    axis = getattr(ax, f"{which}axis")
    axis.set_major_formatter(_PlainLogFormatter(labelOnlyBase=False))
    axis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False))


def drawn(make: Callable[[], Figure | None]) -> Figure | None:
    """The figure `make()` draws, in xorlab's style."""
    from matplotlib import rc_context

    with rc_context(STYLE):
        return make()


def _new_axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else Figure(figsize=(5, 4)).add_subplot()


def _panels(
    count: int,
    width: float = 4.2,
    height: float = 3.8,
    rows: int = 1,
    colorbar: bool = False,
    **kwargs,
):
    """A figure of rows x count panels with fixed margins (fast: no layout engine); with
    `colorbar`, room on the right for one shared colorbar and its label."""
    extra = 1.0 if colorbar else 0.0
    figure = Figure(figsize=(width * count + 0.6 + extra, height * rows + 0.5))
    axes = figure.subplots(rows, count, squeeze=False, **kwargs)
    top = 1 - 0.95 / (height * rows + 0.5)
    figure.subplots_adjust(
        left=0.9 / (width * count + 0.6 + extra),
        right=0.97 - extra / (width * count + 0.6 + extra),
        bottom=0.55 / (height * rows + 0.5) + 0.04,
        top=top,
        wspace=0.3,
        hspace=0.45,
    )
    return figure, axes


def _shared_colorbar(figure: Figure, mappable, label: str) -> None:
    """One colorbar for all panels, in the room `_panels(colorbar=True)` left on the right."""
    box = figure.subplotpars
    axis = figure.add_axes((box.right + 0.015, box.bottom, 0.012, box.top - box.bottom))
    figure.colorbar(mappable, cax=axis, label=label)


def _best_per_group(runs: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Runs of the configuration that solves best (then lowest median loss) for each key."""
    others = [
        c
        for c in SETTING_NAMES
        if c in runs and c not in keys and runs[c].nunique(dropna=False) > 1
    ]
    keys = list(keys)
    if not others:
        return runs
    config = (
        runs.groupby(keys + others, dropna=False)
        .agg(_rate=("solved", "mean"), _loss=("final_loss", "median"))
        .reset_index()
        .sort_values(["_rate", "_loss"], ascending=[False, True])
        .drop_duplicates(keys)
    )
    return runs.merge(config[keys + others], on=keys + others)


def blanks_as_dash(values: pd.Series) -> pd.Series:
    """A setting's values with '-' where it does not apply (empty), so that such runs get
    their own row, column or panel instead of vanishing from a groupby."""
    return values.astype(object).where(values.notna(), "-") if values.isna().any() else values


def levels(values: pd.Series) -> list:
    """The distinct values in order, '-' (does not apply) last."""
    present = values[values != "-"].unique().tolist()
    return sorted(present) + (["-"] if len(present) < values.nunique() else [])


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


def heatmap_figure(data: pd.DataFrame, layout: HeatmapLayout) -> Figure:
    """Solve-rate heatmaps as small multiples, drawn from `heatmap_data` (see `heatmap_layout`),
    k/n in the cells where the cells are large enough to read it."""
    row_values = list(data["row"].cat.categories)
    col_values = list(data["column"].cat.categories)
    panel_rows = list(data["panel_row"].cat.categories)
    present = set(data["panel_column"])
    panel_cols = [c for c in data["panel_column"].cat.categories if c in present]
    width = max(3.4, 0.42 * len(col_values) + 1.0)
    height = max(2.8, 0.3 * len(row_values) + 1.0)
    figure, axes = _panels(
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
            title = ", ".join(t for t in (panel_col, panel_row) if t)
            ax.set_title(
                title,
                fontsize=9,
                color=activation_color(value) if layout.panel_columns == "activation" else "black",
            )
    _shared_colorbar(figure, image, "solve rate (seeds solved / seeds)")
    cells_note = "cells: seeds solved / seeds" if text else "colour: share of seeds solved"
    pooled = f"; pooled over {', '.join(layout.pooled)} (least important)" if layout.pooled else ""
    figure.suptitle(f"Solve rate over {layout.rows} x {layout.columns} ({cells_note}{pooled})")
    return figure


def loss_bands(runs: pd.DataFrame, curves_of: CurvesOf) -> pd.DataFrame:
    """The data of the loss-curves figure: for each activation and hidden size (8 at most,
    spread over the range) at its best other settings, the median and interquartile range of
    the loss over seeds at each logged epoch. Columns: activation, hidden, label, epoch,
    q25, q50, q75. Reads only the curves of those runs."""
    hidden_values = sorted(runs["hidden"].unique())
    if len(hidden_values) > 8:  # keep panels readable: 8 hidden sizes spread over the range
        picks = np.linspace(0, len(hidden_values) - 1, 8).round().astype(int)
        hidden_values = [hidden_values[i] for i in picks]
    best = _best_per_group(runs, ["activation", "hidden"])
    best = best[best["hidden"].isin(hidden_values)]
    varying = [
        k
        for k in SETTING_NAMES
        if k not in ("activation", "hidden") and k in best and best[k].nunique() > 1
    ]
    columns = ["activation", "hidden", "label", "epoch", "q25", "q50", "q75"]
    curves = curves_of(best["run_id"].tolist()).dropna(subset=["loss"])
    if curves.empty:  # e.g. every run failed: nothing to draw
        return pd.DataFrame(columns=columns)
    labels = best.drop_duplicates(["activation", "hidden"]).assign(
        label=lambda f: [
            f"hidden {row['hidden']}"
            + (f" ({', '.join(f'{k} {format_value(row[k])}' for k in varying)})" if varying else "")
            for _, row in f.iterrows()
        ]
    )[["activation", "hidden", "label"]]
    keyed = curves.merge(best[["run_id", "activation", "hidden"]], on="run_id")
    quantiles = (
        keyed.groupby(["activation", "hidden", "epoch"])["loss"]
        .quantile([0.25, 0.5, 0.75])
        .unstack()
        .set_axis(["q25", "q50", "q75"], axis=1)
        .reset_index()
    )
    return quantiles.merge(labels, on=["activation", "hidden"])[columns]


def _sequential(n: int) -> list:
    from matplotlib import colormaps

    return [colormaps["viridis"](x) for x in np.linspace(0.0, 0.85, max(n, 1))]


def loss_curves_figure(runs: pd.DataFrame, bands: pd.DataFrame) -> Figure:
    """One panel per activation, one line per hidden size (the `loss_bands` of the runs)."""
    activations = sorted(runs["activation"].unique())
    hidden_values = sorted(bands["hidden"].unique())
    figure, axes = _panels(len(activations), sharey=True)
    colors = dict(zip(hidden_values, _sequential(len(hidden_values))))
    # When runs solve in the first tenth of training, a log epoch axis shows how they got there.
    best = _best_per_group(runs, ["activation", "hidden"])
    solved_at = best["epochs_to_solve"].dropna()
    early = len(solved_at) and solved_at.median() < 0.1 * runs["epochs"].max()
    for ax, activation in zip(axes[0], activations):
        for (hidden, label), band in bands[bands["activation"] == activation].groupby(
            ["hidden", "label"]
        ):
            ax.plot(band["epoch"], band["q50"], color=colors[hidden], label=label, lw=1.5)
            ax.fill_between(
                band["epoch"], band["q25"], band["q75"], color=colors[hidden], alpha=0.2, lw=0
            )
        log_scale(ax, "y")
        ax.set_title(activation, color=activation_color(activation))
        ax.set_xlabel("epoch")
        if early:
            last = int(runs["epochs"].max())
            ax.set_xscale("symlog", linthresh=max(10, int(runs["log_every"].min())))
            ax.set_xlim(0, last)
            ticks = [0] + [10**k for k in range(2, len(str(last))) if 10**k <= last]
            if last >= 3 * ticks[-1] or last < 100:  # closer, its label would touch 10^k's
                ticks.append(last)
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xlabel("epoch (log scale past the first log interval)")
        ax.axhline(np.log(2), color="gray", ls=":", lw=1)
        low, high = ax.get_ylim()
        if high >= 100 * low:  # decades enough to read: no minor ticks (a third of the drawing)
            ax.yaxis.set_minor_locator(NullLocator())
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, title="median, IQR band over seeds", title_fontsize=7)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("training loss (log scale; dotted: ln 2 = chance)")
    figure.suptitle("Loss curves over seeds, each hidden size at its best settings")
    return figure


def seed_points(runs: pd.DataFrame, group: str = "hidden") -> pd.DataFrame:
    """The data of the seeds figure: every run of each (activation, `group` value) at its best
    other settings, with the x of its slot (groups side by side, activations dodged within a
    group: `slot`) and, jittered around it (fixed seeds), where the epochs-to-solve strip
    (`x_epochs`) and the final-loss strip (`x_loss`) draw it."""
    best = _best_per_group(runs, ["activation", group])
    activations = sorted(runs["activation"].unique())
    groups = sorted(best[group].unique())
    width = 0.8 / max(len(activations), 1)
    dodge = {a: (k - (len(activations) - 1) / 2) * width for k, a in enumerate(activations)}
    place = {v: i for i, v in enumerate(groups)}
    points = best.assign(
        slot=best[group].map(place).astype(float) + best["activation"].map(dodge).astype(float)
    )
    columns = ["run_id", "activation", group, "slot", "status", "solved"]
    points = points[[*columns, "epochs_to_solve", "final_loss"]].reset_index(drop=True)
    points["x_epochs"] = points["slot"] + np.random.default_rng(0).uniform(
        -width / 4, width / 4, len(points)
    )
    points["x_loss"] = points["slot"] + np.random.default_rng(1).uniform(
        -width / 3, width / 3, len(points)
    )
    return points


def _group_axis(ax: Axes, points: pd.DataFrame, group: str, extra=()) -> None:
    groups = sorted(points[group].unique())
    activations = sorted(points["activation"].unique())
    ax.set_xticks(range(len(groups)), [format_value(v) for v in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_xlabel(f"{group} (each at its best other settings)")
    handles = [
        Line2D([], [], color=activation_color(a), marker="o", ls="", label=a) for a in activations
    ]
    ax.legend(handles=handles + list(extra), fontsize=7, ncols=2 if extra else 1)
    ax.grid(alpha=0.3, axis="y")


def epochs_to_solve_strip(
    points: pd.DataFrame, ax: Axes | None = None, group: str = "hidden"
) -> Axes:
    """Epochs to solve of every solved seed (`seed_points`), a box per slot."""
    ax = _new_axes(ax)
    width = 0.8 / max(points["activation"].nunique(), 1)
    solved = points[points["solved"]]
    for (activation, slot), rows in solved.groupby(["activation", "slot"]):
        values = rows["epochs_to_solve"].astype(float)
        color = activation_color(activation)
        lines = {"color": color}
        ax.boxplot(
            values,
            positions=[slot],
            widths=width * 0.8,
            showfliers=False,
            medianprops={"color": "black"},
            boxprops=lines,
            whiskerprops=lines,
            capprops=lines,
        )
        ax.scatter(rows["x_epochs"], values, s=10, color=color, alpha=0.7, zorder=3)
    ax.set_ylabel("epochs to solve (solved seeds only)")
    _group_axis(ax, points, group)
    return ax


def final_loss_strip(points: pd.DataFrame, ax: Axes | None = None, group: str = "hidden") -> Axes:
    """Final loss of every seed (`seed_points`, log scale): stuck seeds sit apart."""
    ax = _new_axes(ax)
    finished = points[points["status"] == "ok"]
    for activation, rows in finished.groupby("activation"):
        solved = rows["solved"].to_numpy()
        color = activation_color(activation)
        ax.scatter(rows["x_loss"][solved], rows["final_loss"][solved], s=14, color=color, alpha=0.8)
        ax.scatter(
            rows["x_loss"][~solved],
            rows["final_loss"][~solved],
            s=18,
            facecolor="white",
            edgecolor=color,
        )
    log_scale(ax, "y")
    ax.axhline(np.log(2), color="gray", ls=":", lw=1)
    ax.set_ylabel("final training loss per seed (log scale)")
    extra = [
        Line2D([], [], color="gray", marker="o", ls="", label="solved"),
        Line2D(
            [],
            [],
            markerfacecolor="white",
            markeredgecolor="gray",
            marker="o",
            ls="",
            label="not solved",
        ),
        Line2D([], [], color="gray", ls=":", label="ln 2 (chance)"),
    ]
    _group_axis(ax, points, group, extra)
    return ax


def seeds_figure(points: pd.DataFrame) -> Figure:
    """How fast and how reliably each hidden size solves, seed by seed (`seed_points`)."""
    figure, axes = _panels(2, width=5.5, height=4.2)
    epochs_to_solve_strip(points, axes[0, 0]).set_title("How fast: epochs to solve per seed")
    final_loss_strip(points, axes[0, 1]).set_title("How reliably: final loss per seed")
    figure.suptitle("Seeds of each hidden size at its best settings (box: quartiles, line: median)")
    return figure


def decision_boundary(surface: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """The learned function over [-0.5, 1.5]^2 with the 0.5 contour and the four XOR points."""
    ax = _new_axes(ax)
    grid = surface.pivot(index="x1", columns="x0", values="output")
    ax.pcolormesh(
        grid.columns, grid.index, grid.to_numpy(), vmin=0, vmax=1, cmap="RdBu_r", shading="auto"
    )
    if np.nanmin(grid.to_numpy()) < 0.5 < np.nanmax(grid.to_numpy()):
        ax.contour(
            grid.columns, grid.index, grid.to_numpy(), levels=[0.5], colors="black", linewidths=1.2
        )
    for x0, x1, target in XOR_POINTS:
        ax.scatter(
            [x0],
            [x1],
            s=80,
            c="#b2182b" if target else "#2166ac",
            edgecolor="white",
            linewidth=1.5,
            marker="o" if target else "s",
            zorder=3,
        )
    ax.set_xticks([0, 1])  # the XOR inputs (fewer ticks: each costs a millisecond to draw)
    ax.set_yticks([0, 1])
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.set_aspect("equal")
    return ax


def decision_boundaries_figure(surfaces: pd.DataFrame) -> Figure:
    """One column per configuration: its best seed above, its worst below."""
    configurations = list(dict.fromkeys(surfaces["configuration"]))
    figure, axes = _panels(len(configurations), width=3.6, height=3.4, rows=2, colorbar=True)
    for c, configuration in enumerate(configurations):
        for r, which in enumerate(("best seed", "worst seed")):
            subset = surfaces[
                (surfaces["configuration"] == configuration) & (surfaces["which"] == which)
            ]
            ax = decision_boundary(subset, axes[r, c])
            ax.set_title(f"{configuration}\n{which} (seed {subset['seed'].iloc[0]})", fontsize=8)
    _shared_colorbar(figure, axes[0, 0].collections[0], "network output (line: 0.5)")
    figure.suptitle(
        "Learned function of the top configurations (points: XOR targets, red = 1, blue = 0)"
    )
    return figure


def setting_scatter(runs: pd.DataFrame, setting: str, log: bool, ax: Axes | None = None) -> Axes:
    """Final loss of every run against one swept setting, colored by activation."""
    ax = _new_axes(ax)
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
    figure, axes = _panels(len(settings), width=4.2)
    for ax, setting in zip(axes[0], settings):
        setting_scatter(runs, setting, setting in log_scaled, ax).set_title(
            f"final loss vs {setting}"
        )
    figure.suptitle("Random search: final loss of every run against each sampled setting")
    return figure


OUTCOME_COLORS = {
    "solved": "#2ca02c",
    "diverged": "#000000",
    "dead_units": "#8c564b",
    "saturated": "#9467bd",
    "plateau": "#c7c7c7",
    "local_minimum": "#d62728",
    "oscillating": "#ff7f0e",
    "slow": "#1f77b4",
    "other": "#e377c2",
}
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


def outcome_figure(shares: pd.DataFrame, keys: Sequence[str]) -> Figure:
    """Stacked horizontal bars: how the runs of each configuration group ended."""
    figure = Figure(figsize=(9, 1.2 + 0.28 * len(shares)))
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
    ax.set_xlabel("share of runs")
    ax.set_ylabel(", ".join(keys) or "all runs")
    ax.legend(
        ncols=min(len(outcomes), 5), loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8
    )
    figure.subplots_adjust(left=0.3, right=0.97, top=1 - 0.9 / figure.get_figheight())
    return figure


EFFECT_COLORS = {"main": "#4c72b0", "interaction": "#dd8452", "rest": "#bbbbbb"}
SLICES_PER_ROW = 4


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
    figure = Figure(figsize=(max(8.0, 3.0 * columns), top_height + 2.9 * slice_rows + 0.6))
    grid = figure.add_gridspec(
        1 + slice_rows, columns, height_ratios=[top_height] + [2.9] * slice_rows
    )
    figure.subplots_adjust(left=0.2, right=0.97, top=0.93, bottom=0.1, hspace=0.45, wspace=0.3)
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
            marks = np.linspace(low, high, 4) if high > low else np.array([low])
            ticks[setting] = [
                ((m - low) / span, format_value(float(10**m if log else m))) for m in marks
            ]
        else:
            order = levels(values)
            where = {v: i / max(len(order) - 1, 1) for i, v in enumerate(order)}
            table[f"{setting}_position"] = values.map(where).astype(float)
            ticks[setting] = [(where[v], str(v)) for v in order]
    return table, ticks


def parallel_coordinates_figure(
    table: pd.DataFrame, ticks: dict[str, list[tuple[float, str]]]
) -> Figure:
    """Every sampled configuration as a line through one vertical axis per setting, coloured
    by its solve rate (the data of `parallel_coordinates_data`); the best drawn on top."""
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    settings = list(ticks)
    figure, axes = _panels(1, width=max(6.0, 1.9 * (len(settings) + 1)), height=4.6, colorbar=True)
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
            ax.text(i - 0.04, position, label, ha="right", va="center", fontsize=7)
    ax.axvline(len(settings), color="#444", lw=0.8)
    for value in (0, 0.5, 1):
        ax.text(len(settings) + 0.04, value, f"{value:g}", ha="left", va="center", fontsize=7)
    ax.set_xticks(x, [*settings, "solve rate"])
    ax.set_yticks([])
    ax.set_xlim(-0.5, len(settings) + 0.4)
    ax.set_ylim(-0.05, 1.05)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    _shared_colorbar(figure, lines, "solve rate")
    figure.suptitle(
        f"Random search: {len(table)} configurations, coloured by solve rate "
        "(axes log-scaled where sampled so)"
    )
    return figure
