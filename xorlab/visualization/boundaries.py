"""Decision boundaries: the learned function over the input square, with the XOR points."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from xorlab.visualization.style import XOR_POINTS, new_axes, panels, shared_colorbar, title


def decision_boundary(surface: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """The learned function over [-0.5, 1.5]^2 with the 0.5 contour and the four XOR points."""
    ax = new_axes(ax)
    grid = surface.pivot(index="x1", columns="x0", values="output")
    ax.pcolormesh(
        grid.columns, grid.index, grid.to_numpy(), vmin=0, vmax=1, cmap="RdBu_r", shading="auto"
    )
    finite = grid.to_numpy()[np.isfinite(grid.to_numpy())]  # a diverged net's are all NaN
    if finite.size and finite.min() < 0.5 < finite.max():
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


ALIKE = 0.02  # surfaces within this of each other everywhere are drawn once


def decision_boundaries_figure(surfaces: pd.DataFrame) -> Figure:
    """One column per configuration: its best seed above, its worst below; a single panel
    when every one learned the same function (e.g. every run stuck at 0.5)."""
    configurations = list(dict.fromkeys(surfaces["configuration"]))
    outputs = surfaces.groupby(["configuration", "which"], sort=False)["output"].apply(
        lambda v: v.to_numpy()
    )
    stacked = np.stack(outputs.to_list())
    if len(stacked) > 1 and np.ptp(stacked, axis=0).max() < ALIKE:
        figure, axes = panels(1, width=4.4, height=3.8, colorbar=True)
        first = surfaces[
            (surfaces["configuration"] == configurations[0]) & (surfaces["which"] == "best seed")
        ]
        ax = decision_boundary(first, axes[0, 0])
        ax.set_title(f"{configurations[0]}, best seed (seed {first['seed'].iloc[0]})", fontsize=8)
        shared_colorbar(figure, ax.collections[0], "network output (line: 0.5)")
        title(
            figure,
            f"All {len(stacked)} panels of the top configurations (best and worst seeds) "
            f"learned the same function (within {ALIKE}): one is shown",
        )
        return figure
    figure, axes = panels(len(configurations), width=3.6, height=3.4, rows=2, colorbar=True)
    for c, configuration in enumerate(configurations):
        for r, which in enumerate(("best seed", "worst seed")):
            subset = surfaces[
                (surfaces["configuration"] == configuration) & (surfaces["which"] == which)
            ]
            ax = decision_boundary(subset, axes[r, c])
            ax.set_title(f"{configuration}\n{which} (seed {subset['seed'].iloc[0]})", fontsize=8)
    shared_colorbar(figure, axes[0, 0].collections[0], "network output (line: 0.5)")
    title(
        figure,
        "Learned function of the top configurations (points: XOR targets, red = 1, blue = 0)",
    )
    return figure
