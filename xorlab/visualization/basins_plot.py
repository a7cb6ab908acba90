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


OUTCOME_ROWS = ("outcome",)
SPEED_ROWS = ("epochs", "loss")


def basins_figure_names(count: int) -> dict[str, tuple[tuple[str, ...], int]]:
    """File name -> (rows, part): basins.png the outcome of every point, basins_speed.png its
    epochs to solve and final loss; -2, -3, ... for the maps past MAPS_PER_FIGURE."""
    names = {}
    for part in range(-(-count // MAPS_PER_FIGURE)):
        suffix = f"-{part + 1}" if part else ""
        names[f"basins{suffix}.png"] = (OUTCOME_ROWS, part)
        names[f"basins_speed{suffix}.png"] = (SPEED_ROWS, part)
    return names


def basins_figure(
    maps: Sequence[BasinMap], rows: Sequence[str] = OUTCOME_ROWS, part: int = 0
) -> Figure:
    """One row per kind in `rows` ("outcome", "epochs": epochs to solve on a log scale with the
    unsolved points grey, "loss": the final loss on a log scale), one column per map of figure
    `part` (MAPS_PER_FIGURE each); every map on the scales of all maps."""
    shown = list(maps[part * MAPS_PER_FIGURE : (part + 1) * MAPS_PER_FIGURE])
    count = len(shown)
    panel = min(3.4, (MAX_WIDTH - 2.2) / count)
    figure = Figure(figsize=(panel * count + 2.2, panel * len(rows) + 0.9), layout="constrained")
    grid = figure.add_gridspec(len(rows), count + 1, width_ratios=[1] * count + [0.05])
    axes = np.array(
        [[figure.add_subplot(grid[r, c]) for c in range(count)] for r in range(len(rows))]
    )
    for row, kind in enumerate(rows):
        image = None
        for column, one in enumerate(shown):
            extent = _extent(one.x) + _extent(one.y)
            image = axes[row, column].imshow(
                *_image(kind, one, maps),
                origin="lower",
                extent=extent,
                interpolation="nearest",
                aspect="auto",
            )
            ax = axes[row, column]
            _mark_base(ax, one, extent)
            ax.set_xlabel(_axis_label(one.axis_x, 1), fontsize=8)
            ax.set_ylabel(_axis_label(one.axis_y, 2) if column == 0 else "", fontsize=8)
            ax.tick_params(labelsize=7)
            if row == 0:
                ax.set_title(one.label, fontsize=9)
        key = figure.add_subplot(grid[row, count])
        if kind == "outcome":
            _outcome_legend(key, shown)
        else:
            figure.colorbar(image, cax=key).set_label(KEY_LABELS[kind], fontsize=8)
    first = shown[0]
    axes_text = " x ".join(_axis_label(a, n) for n, a in ((1, first.axis_x), (2, first.axis_y)))
    question = (
        "Which starting points learn XOR?" if "outcome" in rows else "How fast, and how well?"
    )
    text = f"{question} {axes_text} (+: the seed's own start)"
    width = int(figure.get_figwidth() * 11)
    figure.suptitle("\n".join(textwrap.wrap(text, width)), fontsize=11)
    return figure


KEY_LABELS = {
    "epochs": "epochs to solve (grey: not solved)",
    "loss": "final loss (magenta: diverged)",
}


def _image(kind: str, one: BasinMap, maps: Sequence[BasinMap]) -> tuple:
    """imshow's data and options for one panel."""
    if kind == "outcome":
        return (_RGB[one.outcome],)
    if kind == "epochs":
        epochs = np.concatenate([m.epochs[np.isfinite(m.epochs)] for m in maps])
        values = np.ma.masked_invalid(one.epochs)
        return values, _cmap("viridis", UNSOLVED), _log_norm(epochs, 1.0)
    losses = np.concatenate([m.loss[np.isfinite(m.loss)] for m in maps])
    values = np.ma.masked_invalid(np.maximum(one.loss, 1e-12))
    return values, _cmap("cividis", LOST), _log_norm(losses, 1e-12)


def _outcome_legend(key, shown: Sequence[BasinMap]) -> None:
    """The outcomes that occur on the maps shown, beside the first row."""
    occurring = sorted({int(c) for m in shown for c in np.unique(m.outcome)})
    handles = [
        Patch(color=_RGB[c], label=OUTCOMES[c] if c >= 0 else "not finished") for c in occurring
    ]
    key.axis("off")
    key.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(-0.5, 1.0),
        fontsize=8,
        title="outcome",
        title_fontsize=8,
        frameon=False,
    )


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
