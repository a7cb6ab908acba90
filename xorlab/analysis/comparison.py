"""Compare the runs of several sweeps: a table of solve rates per configuration, and a figure.

Configurations are matched on the settings the sweeps vary (not on row order); the fixed settings
that differ between the sweeps are the conditions compared, stated first. Each later sweep is
compared with the first: solve rates, their difference, and Fisher's exact test on the
solved/unsolved seed counts.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from xorlab.analysis.stats import fisher_exact
from xorlab.training.config import SETTING_NAMES, format_value
from xorlab.training.diagnosis import OUTCOMES

SIGNIFICANT = 0.05  # a difference whose p-value is below this is starred


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        name = re.sub(r"[^\w.-]", "_", name)
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return result


def _per_configuration(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    finished = runs[runs["status"] != "failed"]
    grouped = finished.groupby(keys, dropna=False) if keys else finished.groupby(lambda _: 0)
    table = grouped.agg(
        solved=("solved", "sum"),
        n=("solved", "size"),
        final_loss_median=("final_loss", "median"),
    )
    table["solve_rate"] = table["solved"] / table["n"]
    return table.reset_index(drop=not keys)


def outcome_counts(sweeps: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """How many runs of each sweep ended in each outcome (rows: outcomes; a sweep of 0.1 has
    none), with each later sweep's change from the first."""
    counts = pd.DataFrame(
        {
            name: runs["outcome"].value_counts().reindex(OUTCOMES, fill_value=0)
            for name, runs in sweeps.items()
        }
    )
    names = list(sweeps)
    for name in names[1:]:
        counts[f"change_{name}"] = counts[name] - counts[names[0]]
    return counts


def compare(sweeps: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, list[str], dict[str, dict]]:
    """The comparison table, the settings matched on, and the conditions (fixed settings that
    differ between sweeps: setting -> {sweep: value})."""
    keys = [s for s in SETTING_NAMES if any(r[s].nunique() > 1 for r in sweeps.values())]
    conditions = {}
    for setting in SETTING_NAMES:
        if setting in keys:
            continue
        values = {name: runs[setting].iloc[0] for name, runs in sweeps.items() if len(runs)}
        if len({str(v) for v in values.values()}) > 1:
            conditions[setting] = values
    table = None
    for name, runs in sweeps.items():
        part = _per_configuration(runs, keys).rename(
            columns={c: f"{c}_{name}" for c in ("solved", "n", "final_loss_median", "solve_rate")}
        )
        table = (
            part
            if table is None
            else table.merge(part, on=keys or None, how="outer")
            if keys
            else pd.concat([table, part], axis=1)
        )
    names = list(sweeps)
    base = names[0]
    for name in names[1:]:
        table[f"solve_rate_diff_{name}"] = table[f"solve_rate_{name}"] - table[f"solve_rate_{base}"]
        p_values = []
        for _, row in table.iterrows():
            counts = [row.get(f"{k}_{n}") for n in (base, name) for k in ("solved", "n")]
            if any(pd.isna(v) for v in counts):
                p_values.append(np.nan)
                continue
            k1, n1, k2, n2 = (int(v) for v in counts)
            p_values.append(fisher_exact(k1, n1 - k1, k2, n2 - k2))
        table[f"p_value_{name}"] = p_values
    present = [table[f"n_{n}"].notna() for n in names]
    table["present_in"] = [
        "all" if all(flags) else "+".join(n for n, f in zip(names, flags) if f)
        for flags in zip(*present)
    ]
    return table, keys, conditions


def comparison_figure(table: pd.DataFrame, keys: list[str], names: list[str]):
    """Difference heatmaps (later sweep minus first) over hidden x lr, one panel per activation."""
    from matplotlib.figure import Figure

    from xorlab.visualization.heatmap import heatmap_axes
    from xorlab.visualization.style import title

    common = table[table["present_in"] == "all"]
    cells = heatmap_axes(keys, {k: common[k].nunique(dropna=False) for k in keys})
    rows, columns = cells if cells else (None, None)
    panels = sorted(common["activation"].unique()) if "activation" in keys else [None]
    others = names[1:]
    # constrained layout: tick labels and axis labels get their room whatever their length
    figure = Figure(
        figsize=(4.2 * len(panels) + 0.8, 3.6 * len(others) + 0.6), layout="constrained"
    )
    axes = figure.subplots(len(others), len(panels), squeeze=False)
    image = None
    for r, name in enumerate(others):
        for c, panel in enumerate(panels):
            ax = axes[r, c]
            subset = common if panel is None else common[common["activation"] == panel]
            diff = f"solve_rate_diff_{name}"
            if rows and columns:
                grid = subset.pivot_table(index=rows, columns=columns, values=diff, aggfunc="mean")
                counts = {
                    column: subset.pivot_table(
                        index=rows, columns=columns, values=column, aggfunc="sum"
                    ).reindex(index=grid.index, columns=grid.columns)
                    for column in (
                        f"solved_{names[0]}",
                        f"n_{names[0]}",
                        f"solved_{name}",
                        f"n_{name}",
                    )
                }
                lowest_p = subset.pivot_table(
                    index=rows, columns=columns, values=f"p_value_{name}", aggfunc="min"
                ).reindex(index=grid.index, columns=grid.columns)
                image = ax.imshow(
                    grid.to_numpy(float),
                    cmap="RdBu",
                    vmin=-1,
                    vmax=1,
                    origin="lower",
                    aspect="auto",
                )
                for i in range(grid.shape[0]):
                    for j in range(grid.shape[1]):
                        value = grid.iat[i, j]
                        if np.isfinite(value):
                            seeds = [int(c.iat[i, j]) for c in counts.values()]
                            text, bold = _seeds_text(*seeds, lowest_p.iat[i, j])
                            ax.text(
                                j,
                                i,
                                text,
                                ha="center",
                                va="center",
                                fontsize=7,
                                color="white" if abs(value) > 0.6 else "black",
                                fontweight="bold" if bold else "normal",
                            )
                ax.set_xticks(
                    range(grid.shape[1]),
                    [format_value(v) for v in grid.columns],
                    rotation=45 if grid.shape[1] > 5 else 0,
                )
                ax.set_yticks(range(grid.shape[0]), list(grid.index))
                ax.set_xlabel(columns)
                ax.set_ylabel(rows)
            else:  # fewer than two settings vary: one bar per configuration, coloured alike
                _difference_bars(ax, subset, keys, names[0], name)
            ax.set_title(f"{panel or 'all'}: {name} - {names[0]}", fontsize=10)
    if image is not None:
        figure.colorbar(image, ax=list(axes.ravel()), label="solve rate difference", fraction=0.03)
    title(
        figure,
        f"Solve rate of each sweep minus {names[0]} (blue: better, red: worse; "
        f"{'cells' if image is not None else 'bars'}: solved"
        f" seeds {names[0]} -> the other; * Fisher's exact p < {SIGNIFICANT})",
    )
    return figure


def _seeds_text(k1: int, n1: int, k2: int, n2: int, p_value: float) -> tuple[str, bool]:
    """A configuration's solved seeds in both sweeps ('2/5\n-> 4/5 *'), and whether the
    difference is significant (starred, drawn bold)."""
    significant = bool(p_value < SIGNIFICANT)
    return f"{k1}/{n1}\n-> {k2}/{n2}{' *' if significant else ''}", significant


def _difference_bars(ax, subset: pd.DataFrame, keys: list[str], first: str, name: str) -> None:
    """The difference of each configuration as a bar in the heatmaps' colours, labelled by the
    setting that varies and annotated with the solved seeds of both sweeps."""
    from matplotlib import colormaps

    varying = [k for k in keys if k != "activation" and subset[k].nunique(dropna=False) > 1]
    values = subset[f"solve_rate_diff_{name}"].to_numpy(float)
    ax.bar(range(len(subset)), values, color=colormaps["RdBu"]((values + 1) / 2), edgecolor="gray")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylim(-1.25, 1.25)
    labels = []
    for j, (_, row) in enumerate(subset.iterrows()):
        seeds = [int(row[f"{c}_{s}"]) for s in (first, name) for c in ("solved", "n")]
        text, bold = _seeds_text(*seeds, row[f"p_value_{name}"])
        up = not values[j] < 0
        ax.text(
            j,
            values[j] + (0.04 if up else -0.04),
            text,
            ha="center",
            va="bottom" if up else "top",
            fontsize=7,
            fontweight="bold" if bold else "normal",
        )
        labels.append(", ".join(format_value(row[k]) for k in varying) or "all")
    ax.set_xticks(range(len(subset)), labels, rotation=45 if len(subset) > 5 else 0)
    ax.set_xlabel(", ".join(varying) or "the one configuration")
    ax.set_ylabel("solve rate difference")
