"""Maps of the initial-weight space: for each map, the outcome of every starting point, its
epochs to solve and its final loss, maps side by side on the same scales."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import LogNorm, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from xorlab.analysis.basins import BasinMap
from xorlab.training import start
from xorlab.training.diagnosis import OUTCOMES
from xorlab.visualization.style import MAX_WIDTH, OUTCOME_COLORS

MAPS_PER_FIGURE = 4
MISSING = "#FFFFFF"  # a point whose run has not finished (an interrupted sweep)
UNSOLVED = "#BBBBBB"
LOST = "#EE3377"  # no final loss: the run diverged or failed
_RGB = np.array([to_rgb(OUTCOME_COLORS[o]) for o in OUTCOMES] + [to_rgb(MISSING)])


def basins_figure_names(count: int) -> list[str]:
    """basins.png, then basins-2.png, ... for maps past MAPS_PER_FIGURE."""
    figures = -(-count // MAPS_PER_FIGURE)
    return ["basins.png"] + [f"basins-{k}.png" for k in range(2, figures + 1)]


def basins_figure(maps: Sequence[BasinMap], part: int = 0) -> Figure:
    """Rows: outcome, epochs to solve (log scale; unsolved in grey), final loss (log scale);
    columns: the maps of figure `part` (MAPS_PER_FIGURE each), on the scales of all maps."""
    shown = list(maps[part * MAPS_PER_FIGURE : (part + 1) * MAPS_PER_FIGURE])
    count = len(shown)
    panel = min(3.4, (MAX_WIDTH - 2.2) / count)
    figure = Figure(figsize=(panel * count + 2.2, panel * 3 + 1.0), layout="constrained")
    grid = figure.add_gridspec(3, count + 1, width_ratios=[1] * count + [0.05])
    axes = np.array([[figure.add_subplot(grid[r, c]) for c in range(count)] for r in range(3)])
    keys = [figure.add_subplot(grid[r, count]) for r in range(3)]  # legend and colorbars
    epochs = np.concatenate([m.epochs[np.isfinite(m.epochs)] for m in maps])
    losses = np.concatenate([m.loss[np.isfinite(m.loss)] for m in maps])
    epoch_norm = _log_norm(epochs, 1.0)
    loss_norm = _log_norm(losses, 1e-12)
    occurring = sorted({int(c) for m in shown for c in np.unique(m.outcome)})
    for column, one in enumerate(shown):
        extent = _extent(one.x) + _extent(one.y)
        options = {
            "origin": "lower",
            "extent": extent,
            "interpolation": "nearest",
            "aspect": "auto",
        }
        axes[0, column].imshow(_RGB[one.outcome], **options)
        epoch_image = axes[1, column].imshow(
            np.ma.masked_invalid(one.epochs),
            cmap=_cmap("viridis", UNSOLVED),
            norm=epoch_norm,
            **options,
        )
        loss_image = axes[2, column].imshow(
            np.ma.masked_invalid(np.maximum(one.loss, 1e-12)),
            cmap=_cmap("cividis", LOST),
            norm=loss_norm,
            **options,
        )
        axes[0, column].set_title(one.label, fontsize=9)
        for ax in axes[:, column]:
            _mark_base(ax, one, extent)
            ax.set_xlabel(_axis_label(one.axis_x, 1), fontsize=8)
            ax.set_ylabel(_axis_label(one.axis_y, 2) if column == 0 else "", fontsize=8)
            ax.tick_params(labelsize=7)
    outcome_handles = [
        Patch(color=_RGB[c], label=OUTCOMES[c] if c >= 0 else "not finished") for c in occurring
    ]
    keys[0].axis("off")
    keys[0].legend(
        handles=outcome_handles,
        loc="upper left",
        bbox_to_anchor=(-0.5, 1.0),
        fontsize=8,
        title="outcome",
        title_fontsize=8,
        frameon=False,
    )
    bar = figure.colorbar(epoch_image, cax=keys[1])
    bar.set_label("epochs to solve (grey: not solved)", fontsize=8)
    bar = figure.colorbar(loss_image, cax=keys[2])
    bar.set_label("final loss (magenta: diverged)", fontsize=8)
    first = shown[0]
    axes_text = " x ".join(_axis_label(a, n) for n, a in ((1, first.axis_x), (2, first.axis_y)))
    text = f"Which starting points learn XOR? {axes_text} (+: the seed's own start)"
    figure.suptitle("\n".join(textwrap.wrap(text, int(figure.get_figwidth() * 11))), fontsize=11)
    return figure


def _log_norm(values: np.ndarray, floor: float) -> LogNorm:
    if not len(values):
        return LogNorm(1.0, 10.0)
    low = max(float(values.min()), floor)
    high = max(float(values.max()), low * 10)
    return LogNorm(low, high)


def _cmap(name: str, bad: str):
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad=bad)


def _extent(values: np.ndarray) -> list[float]:
    """The image's edges: half a step beyond the first and last points."""
    step = (values[-1] - values[0]) / max(len(values) - 1, 1) if len(values) > 1 else 1.0
    return [float(values[0] - step / 2), float(values[-1] + step / 2)]


def _mark_base(ax, one: BasinMap, extent: Sequence[float]) -> None:
    x, y = one.base
    if extent[0] <= x <= extent[1] and extent[2] <= y <= extent[3]:
        ax.plot([x], [y], marker="+", markersize=9, mew=3, color="black")
        ax.plot([x], [y], marker="+", markersize=8, mew=1.2, color="white")


def _axis_label(axis: str, number: int) -> str:
    return f"random direction {number}" if axis == start.RANDOM else f"initial {axis}"
