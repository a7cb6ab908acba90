"""The one figure style: colours (per activation, per outcome, per effect), sizes, log axes,
panels, and the helpers every figure family uses."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Collection, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

from xorlab.training.config import SETTING_NAMES, format_value

# Colour-blind-safe (Paul Tol's palettes), and outcome colours apart from activation colours:
# every pair of the 14 outcome and 3 activation colours stays at least 10 CIELAB units apart
# seen normally and under simulated protanopia and deuteranopia (tests/test_figures_compare_report).
ACTIVATION_COLORS = {"sigmoid": "#0077BB", "tanh": "#EE7733", "relu": "#009988"}
OTHER_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
CurvesOf = Callable[[Collection[str]], pd.DataFrame]  # run_ids -> their curves (long format)
DPI = 200  # pixels per inch of a figure's PNG
DENSITY = 2  # image pixels per CSS px where the report shows it (srcset "2x"): 100 px an inch
MAX_WIDTH = 13.5  # inches: 1350 CSS px, within the report's 1370
MIN_TEXT_PX = 9  # the smallest text a figure may show, in CSS px as the report shows it (7 pt)
PNG = {"compress_level": 1}  # 3% larger than 3 and faster to write (6 is the default)
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
        if not np.isfinite(x):  # a tick past 1e308 (a loss near the largest float)
            return ""
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


def new_axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else Figure(figsize=(5, 4)).add_subplot()


def panels(
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
    # never wider than MAX_WIDTH: the report scales an image to its page, and text in a wider
    # one would shrink below a readable size (MIN_TEXT_PX); the panels get narrower instead
    width = min(width, (MAX_WIDTH - 0.6 - extra) / count)
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


def title(figure: Figure, text: str, size: float = 12) -> None:
    """The figure's title, wrapped to its width (a one-panel figure never clips it), with the
    panels moved down for each extra line."""
    width, height = figure.get_size_inches()
    lines = textwrap.wrap(text, max(30, int(width * 72 / (size * 0.55))))
    figure.suptitle("\n".join(lines), fontsize=size)
    if len(lines) > 1 and figure.get_layout_engine() is None:  # constrained layout makes room
        box = figure.subplotpars
        figure.subplots_adjust(top=box.top - (len(lines) - 1) * size * 1.35 / 72 / height)


def legends_below(figure: Figure, axes, entries: int, title: str = "") -> None:
    """Each panel's legend below its x axis, outside the data: the figure grows by the room
    the longest legend needs (`entries` lines, and the title)."""
    width, height = figure.get_size_inches()
    box = figure.subplotpars
    extra = 0.45 + 0.15 * (entries + (1 if title else 0))
    figure.set_size_inches(width, height + extra)
    total = height + extra
    figure.subplots_adjust(
        bottom=(box.bottom * height + extra) / total, top=(box.top * height + extra) / total
    )
    axes_height = (figure.subplotpars.top - figure.subplotpars.bottom) * total
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        if ax.get_legend() is not None:  # a legend made already: moved, with its entries
            handles = ax.get_legend().legend_handles
            labels = [text.get_text() for text in ax.get_legend().get_texts()]
        if handles:
            ax.legend(
                handles,
                labels,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.5 / axes_height),
                ncols=2 if len(handles) > 3 else 1,
                fontsize=7,
                title=title or None,
                title_fontsize=7,
                frameon=False,
            )


def shared_colorbar(figure: Figure, mappable, label: str, gap: float = 0.015) -> None:
    """One colorbar for all panels, in the room `panels(colorbar=True)` left on the right
    (`gap`: the figure's width fraction between the panels and the bar)."""
    box = figure.subplotpars
    axis = figure.add_axes((box.right + gap, box.bottom, 0.012, box.top - box.bottom))
    figure.colorbar(mappable, cax=axis, label=label)


def best_per_group(runs: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Runs of the best configuration for each key, "best" as summary.csv orders them (solve
    rate, then median epochs to solve, then median final loss): one definition everywhere."""
    from xorlab.analysis.tables import ranked_configurations

    others = other_swept(runs, keys)
    keys = list(keys)
    if not others:
        return runs
    first = ranked_configurations(runs, keys + others).drop_duplicates(keys)
    return runs.merge(first, on=keys + others)


def other_swept(runs: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """The settings that vary between the runs, besides `keys`."""
    return [
        c
        for c in SETTING_NAMES
        if c in runs and c not in keys and runs[c].nunique(dropna=False) > 1
    ]


def fixed_text(best: pd.DataFrame, settings: Sequence[str]) -> str:
    """'lr = 1, optimizer = adam': the settings among `settings` that are the same in every
    run of `best` (what a figure of "the best" drew, to say in its title)."""
    same = [s for s in settings if best[s].nunique(dropna=False) == 1]
    return ", ".join(f"{s} = {format_value(best[s].iloc[0])}" for s in same)


def blanks_as_dash(values: pd.Series) -> pd.Series:
    """A setting's values with '-' where it does not apply (empty), so that such runs get
    their own row, column or panel instead of vanishing from a groupby."""
    return values.astype(object).where(values.notna(), "-") if values.isna().any() else values


def levels(values: pd.Series) -> list:
    """The distinct values in order, '-' (does not apply) last."""
    present = values[values != "-"].unique().tolist()
    return sorted(present) + (["-"] if len(present) < values.nunique() else [])


def sequential_colors(n: int) -> list:
    from matplotlib import colormaps

    return [colormaps["viridis"](x) for x in np.linspace(0.0, 0.85, max(n, 1))]


OUTCOME_COLORS = {
    "solved": "#225522",
    "diverged": "#000000",
    "incomplete_data": "#DDDDDD",
    "noise_limited": "#88CCEE",
    "capacity": "#BBCC33",
    "dead_units": "#EE8866",
    "linear": "#AA4499",
    "oscillating": "#CC3311",
    "saturated": "#332288",
    "plateau": "#BBBBBB",
    "local_minimum": "#33BBEE",
    "slow": "#882255",
    "saddle": "#DDCC77",
    "other": "#EE3377",
}
EFFECT_COLORS = {"main": "#4c72b0", "interaction": "#dd8452", "rest": "#bbbbbb"}
SLICES_PER_ROW = 4


def chance_lines(ax: Axes, losses: Collection[str]) -> str:
    """Dotted lines at the chance loss (answering 0.5 to every pattern) of each loss function
    in `losses`; returns their label: "ln 2 = chance", or one per loss when a sweep mixes them."""
    from xorlab.training.diagnosis import CHANCE

    known = sorted(set(losses) & set(CHANCE)) or ["bce"]
    for loss in known:
        ax.axhline(CHANCE[loss], color="gray", ls=":", lw=1)
    names = {"bce": "ln 2", "mse": "0.25"}
    if len(known) == 1:
        return f"{names.get(known[0], f'{CHANCE[known[0]]:.3g}')} = chance"
    return ", ".join(
        f"{names.get(loss, f'{CHANCE[loss]:.3g}')} = chance ({loss})" for loss in known
    )
