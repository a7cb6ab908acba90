"""Decision boundaries: the learned function over the input square, with the XOR points."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from xorlab.visualization.style import XOR_POINTS, new_axes, panels, shared_colorbar


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


def decision_boundaries_figure(surfaces: pd.DataFrame) -> Figure:
    """One column per configuration: its best seed above, its worst below."""
    configurations = list(dict.fromkeys(surfaces["configuration"]))
    figure, axes = panels(len(configurations), width=3.6, height=3.4, rows=2, colorbar=True)
    for c, configuration in enumerate(configurations):
        for r, which in enumerate(("best seed", "worst seed")):
            subset = surfaces[
                (surfaces["configuration"] == configuration) & (surfaces["which"] == which)
            ]
            ax = decision_boundary(subset, axes[r, c])
            ax.set_title(f"{configuration}\n{which} (seed {subset['seed'].iloc[0]})", fontsize=8)
    shared_colorbar(figure, axes[0, 0].collections[0], "network output (line: 0.5)")
    figure.suptitle(
        "Learned function of the top configurations (points: XOR targets, red = 1, blue = 0)"
    )
    return figure
