"""Loss curves (median and band over seeds) and the per-seed figure (epochs to solve, final loss)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from xorlab.training.config import SETTING_NAMES, format_value
from xorlab.visualization.style import (
    CurvesOf,
    activation_color,
    best_per_group,
    chance_lines,
    fixed_text,
    legends_below,
    log_scale,
    new_axes,
    other_swept,
    panels,
    sequential_colors,
    title,
)


def loss_bands(runs: pd.DataFrame, curves_of: CurvesOf) -> pd.DataFrame:
    """The data of the loss-curves figure: for each activation and hidden size (8 at most,
    spread over the range) at its best other settings, the median and interquartile range of
    the loss over seeds at each logged epoch. Columns: activation, hidden, label, epoch,
    q25, q50, q75. Reads only the curves of those runs."""
    hidden_values = sorted(runs["hidden"].unique())
    if len(hidden_values) > 8:  # keep panels readable: 8 hidden sizes spread over the range
        picks = np.linspace(0, len(hidden_values) - 1, 8).round().astype(int)
        hidden_values = [hidden_values[i] for i in picks]
    best = best_per_group(runs, ["activation", "hidden"])
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


def loss_curves_figure(runs: pd.DataFrame, bands: pd.DataFrame) -> Figure:
    """One panel per activation, one line per hidden size (the `loss_bands` of the runs)."""
    activations = sorted(runs["activation"].unique())
    hidden_values = sorted(bands["hidden"].unique())
    figure, axes = panels(len(activations), sharey=True)
    colors = dict(zip(hidden_values, sequential_colors(len(hidden_values))))
    # When runs solve in the first tenth of training, a log epoch axis shows how they got there.
    best = best_per_group(runs, ["activation", "hidden"])
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
        chance = chance_lines(ax, runs["loss"].dropna().unique() if "loss" in runs else ())
        low, high = ax.get_ylim()
        if high >= 100 * low:  # decades enough to read: no minor ticks (a third of the drawing)
            ax.yaxis.set_minor_locator(NullLocator())
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(f"training loss (log scale; dotted: {chance})")
    entries = max((len(ax.get_legend_handles_labels()[0]) for ax in axes[0]), default=0)
    legends_below(figure, axes[0], entries, "median, IQR band over seeds")
    drawn = fixed_text(best, other_swept(runs, ["activation", "hidden"]))
    title(
        figure,
        "Loss curves over seeds, each hidden size at its best settings"
        + (f" (all {drawn})" if drawn else ""),
    )
    return figure


MAX_SEED_CURVES = 400  # a single configuration's seeds drawn one by one, at most


def seed_curves_figure(runs: pd.DataFrame, curves_of: CurvesOf) -> Figure:
    """A sweep of one configuration: the loss curve of every seed (solved and not solved in
    two colours), and their median."""
    from xorlab.analysis.tables import configuration_label
    from xorlab.visualization.style import OUTCOME_COLORS

    finished = runs[runs["status"] != "failed"].head(MAX_SEED_CURVES)
    curves = curves_of(finished["run_id"].tolist()).dropna(subset=["loss"])
    solved = dict(zip(finished["run_id"], finished["solved"]))
    figure, axes = panels(1, width=7.0, height=4.4)
    ax = axes[0, 0]
    for run_id, curve in curves.groupby("run_id", sort=False):
        color = OUTCOME_COLORS["solved"] if solved.get(run_id) else OUTCOME_COLORS["local_minimum"]
        ax.plot(curve["epoch"], curve["loss"], color=color, lw=0.6, alpha=0.35)
    median = curves.groupby("epoch")["loss"].median()
    ax.plot(median.index, median.to_numpy(), color="black", lw=1.8, label="median over seeds")
    log_scale(ax, "y")
    chance = chance_lines(ax, runs["loss"].dropna().unique() if "loss" in runs else ())
    handles = [
        Line2D([], [], color=OUTCOME_COLORS["solved"], label="a seed that solved"),
        Line2D([], [], color=OUTCOME_COLORS["local_minimum"], label="a seed that did not"),
        Line2D([], [], color="black", lw=1.8, label="median over seeds"),
    ]
    ax.legend(handles=handles, fontsize=7, loc="upper right")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"training loss (log scale; dotted: {chance})")
    ax.grid(alpha=0.3)
    k, n = int(finished["solved"].sum()), len(finished)
    label = configuration_label(runs.iloc[0], ["activation", "hidden"])
    title(figure, f"Loss curve of every seed of the one configuration ({label}): {k}/{n} solved")
    return figure


MAX_SEED_GROUPS = 8  # more values of the grouping setting (a random search's) are binned


def seed_points(runs: pd.DataFrame, group: str = "hidden") -> pd.DataFrame:
    """The data of the seeds figure: every run of each (activation, `group` value) at its best
    other settings, with the x of its slot (groups side by side, activations dodged within a
    group: `slot`) and, jittered around it (fixed seeds), where the epochs-to-solve strip
    (`x_epochs`) and the final-loss strip (`x_loss`) draw it."""
    values = runs[group]
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > MAX_SEED_GROUPS:
        from xorlab.analysis.importance import level_labels  # e.g. 31 sampled hidden sizes

        labels, order = level_labels(values, binned=True)
        runs = runs.assign(**{group: pd.Categorical(labels, categories=order, ordered=True)})
    best = best_per_group(runs, ["activation", group])
    activations = sorted(runs["activation"].unique())
    groups = _in_order(best[group])
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


def _in_order(values: pd.Series) -> list:
    """The distinct values in order: a binned setting's bins in their order, else sorted."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna())
        return [c for c in values.cat.categories if c in present]
    return sorted(values.unique())


def _group_axis(ax: Axes, points: pd.DataFrame, group: str, extra=()) -> None:
    groups = _in_order(points[group])
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
    ax = new_axes(ax)
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
    ax = new_axes(ax)
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
    chance = chance_lines(ax, points["loss"].dropna().unique() if "loss" in points else ())
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
        Line2D([], [], color="gray", ls=":", label=chance),
    ]
    _group_axis(ax, points, group, extra)
    return ax


def seeds_figure(points: pd.DataFrame, swept: Sequence[str] = ()) -> Figure:
    """How fast and how reliably each hidden size solves, seed by seed (`seed_points`);
    `swept`: the other swept settings, named in the title where the best agree on them."""
    any_solved = bool(points["solved"].any())  # none: no empty "how fast" panel
    figure, axes = panels(2 if any_solved else 1, width=5.5, height=4.2)
    if any_solved:
        epochs_to_solve_strip(points, axes[0, 0]).set_title("How fast: epochs to solve per seed")
    caption = "How reliably: final loss per seed" + ("" if any_solved else " (no seed solved XOR)")
    final_loss_strip(points, axes[0, -1]).set_title(caption)
    legends_below(figure, axes[0], 3)
    drawn = fixed_text(points, [s for s in swept if s in points])
    title(
        figure,
        "Seeds of each hidden size at its best settings"
        + (f" (all {drawn})" if drawn else "")
        + " (box: quartiles, line: median)",
    )
    return figure
