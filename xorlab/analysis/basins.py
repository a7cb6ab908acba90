"""Maps of the initial-weight space (method = "basins"): each map's points as arrays, the share
of each outcome, and the box-counting dimension of the boundary between the starting points
that learn XOR and those that do not (Kolen & Pollack, 1990: a "cliffy", complex boundary).

A map is one configuration and seed; its runs start from the seed's initial weights moved
along the map's two axes (`xorlab.training.start`). Everything here works on whole columns:
a 1001 x 1001 map is a few arrays, never a million Python objects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xorlab.analysis.tables import configuration_label
from xorlab.training import start
from xorlab.training.config import SETTING_NAMES, RunConfig, format_value
from xorlab.training.diagnosis import OUTCOMES

BASINS = "basins.csv"
MIN_BOX_SIZES = 4  # box sizes 1, 2, 4, 8 at least: a map of 32 points or more per axis
COMPLEX = 1.05  # a boundary whose dimension's interval lies above this is complex, below smooth
# t distribution's 97.5% quantiles for 1-12 degrees of freedom (box sizes - 2)
_T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179)


@dataclass
class BasinMap:
    """One map: its label and settings, its axes, and each point's outcome, epochs to solve
    and final loss as (rows = y, columns = x) arrays."""

    label: str  # "lr 0.25, seed 0": the map's swept settings and seed
    settings: dict  # the swept settings' values and the seed
    axis_x: str
    axis_y: str
    x: np.ndarray  # the coordinates shown: a named weight's own values, a random axis's offsets
    y: np.ndarray
    base: tuple[float, float]  # the base point in those coordinates
    outcome: np.ndarray  # int16 index into OUTCOMES, -1 where no run finished
    epochs: np.ndarray  # epochs to solve; NaN where the run did not solve
    loss: np.ndarray  # final loss; NaN where the run failed or diverged

    @property
    def solved(self) -> np.ndarray:
        return self.outcome == OUTCOMES.index("solved")


def has_maps(runs: pd.DataFrame) -> bool:
    """Whether the runs hold points of maps (a basins sweep)."""
    return "axis_x" in runs and bool(runs["axis_x"].notna().any())


def basin_maps(
    runs: pd.DataFrame, settings: Sequence[str], grid: tuple | None = None
) -> list[BasinMap]:
    """Every map of the runs, in the order of their first run: one per distinct value of
    `settings` (the swept ones) and seed. `grid`: the offsets along x and y the spec gives
    (a map whose sweep was interrupted then shows its missing points; without it, the offsets
    of the runs). Works on the columns it needs, as numpy arrays (a million points take a few
    hundred MB at most, never a copy of the whole table)."""
    keys = [*settings, "seed"]
    columns = [*keys, "axis_x", "offset_x", "offset_y", "epochs_to_solve", "final_loss"]
    frame = runs[columns]
    outcome = pd.Categorical(runs["outcome"], categories=OUTCOMES).codes.astype(np.int16)
    epochs = pd.to_numeric(frame["epochs_to_solve"]).to_numpy(float, na_value=np.nan)
    loss = frame["final_loss"].to_numpy(float)
    offset_x, offset_y = frame["offset_x"].to_numpy(float), frame["offset_y"].to_numpy(float)
    on_map = frame["axis_x"].notna().to_numpy()
    groups = frame[on_map].groupby(keys, dropna=False, sort=False).indices
    maps = []
    for rows in groups.values():
        rows = np.flatnonzero(on_map)[rows]
        first = runs.iloc[int(rows[0])]
        maps.append(
            _basin_map(
                first,
                settings,
                offset_x[rows],
                offset_y[rows],
                outcome[rows],
                epochs[rows],
                loss[rows],
                grid,
            )
        )
    return maps


def _basin_map(
    first: pd.Series,
    settings: Sequence[str],
    offset_x: np.ndarray,
    offset_y: np.ndarray,
    codes: np.ndarray,
    epochs: np.ndarray,
    losses: np.ndarray,
    grid: tuple | None = None,
) -> BasinMap:
    """One map from its runs' columns: each run placed at its row and column (on `grid`, the
    spec's offsets, if given and every run lies on it)."""
    offsets_x, column = np.unique(offset_x, return_inverse=True)
    offsets_y, row = np.unique(offset_y, return_inverse=True)
    if grid is not None:
        full_x, full_y = (np.asarray(g, float) for g in grid)
        if np.isin(offsets_x, full_x).all() and np.isin(offsets_y, full_y).all():
            column, row = np.searchsorted(full_x, offset_x), np.searchsorted(full_y, offset_y)
            offsets_x, offsets_y = full_x, full_y
    shape = (len(offsets_y), len(offsets_x))
    outcome = np.full(shape, -1, np.int16)
    outcome[row, column] = codes
    epoch_map = np.full(shape, np.nan)
    epoch_map[row, column] = epochs
    loss = np.full(shape, np.nan)
    loss[row, column] = np.where(np.isfinite(losses), losses, np.nan)
    base = base_values(first)
    values = {name: first[name] for name in settings} | {"seed": int(first["seed"])}
    label = ", ".join(filter(None, [configuration_label(first, settings), f"seed {first['seed']}"]))
    return BasinMap(
        label,
        values,
        first["axis_x"],
        first["axis_y"],
        offsets_x + base[0],
        offsets_y + base[1],
        base,
        outcome,
        epoch_map,
        loss,
    )


def base_values(row: pd.Series | dict) -> tuple[float, float]:
    """The base point of a run's map in the map's coordinates: a named weight's initial value
    (drawn from the seed), 0 along a random axis."""
    from xorlab.training.reference import draw_problem

    config = RunConfig.from_mapping({name: row[name] for name in ("seed", *SETTING_NAMES)})
    problem = draw_problem(config)
    theta = start.flatten(problem.W1, problem.b1, problem.W2, problem.b2)
    return tuple(
        0.0 if axis == start.RANDOM else float(theta[start.weight_index(axis, config.hidden)])
        for axis in (row["axis_x"], row["axis_y"])
    )


def boundary_dimension(solved: np.ndarray) -> tuple[float, float, float, list[int]]:
    """The box-counting dimension of the boundary between solved and unsolved points of a map,
    with its 95% interval: the points with a neighbour (right or below) of the other kind are
    the boundary; boxes of 1, 2, 4, ... points (up to a quarter of the map's side) are
    counted where they hold boundary, and the dimension is minus the slope of log count against
    log size (least squares; the interval from the slope's standard error and the t
    distribution). 1 for a smooth boundary, up to 2 for one that fills the map. NaN (and no
    sizes) without a boundary or with fewer than MIN_BOX_SIZES sizes."""
    boundary = np.zeros(solved.shape, bool)
    boundary[:, :-1] |= solved[:, 1:] != solved[:, :-1]
    boundary[:-1, :] |= solved[1:, :] != solved[:-1, :]
    side = min(solved.shape)
    sizes = [2**k for k in range(int(math.log2(max(side, 1))) + 1) if 2**k <= side // 4]
    if not boundary.any() or len(sizes) < MIN_BOX_SIZES:
        return math.nan, math.nan, math.nan, []
    counts = [_boxes(boundary, size) for size in sizes]
    x, y = np.log(sizes), np.log(counts)
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (slope * x + intercept)
    df = len(x) - 2
    stderr = math.sqrt(float(residuals @ residuals) / df / float(((x - x.mean()) ** 2).sum()))
    half = _T_975[min(df, len(_T_975)) - 1] * stderr
    return float(-slope), float(-slope - half), float(-slope + half), sizes


def _boxes(marked: np.ndarray, size: int) -> int:
    """How many boxes of size x size points hold a marked point (the map cut into boxes from
    its corner; the last row and column of boxes may be partial)."""
    rows, columns = -(-marked.shape[0] // size) * size, -(-marked.shape[1] // size) * size
    padded = np.zeros((rows, columns), bool)
    padded[: marked.shape[0], : marked.shape[1]] = marked
    return int(padded.reshape(rows // size, size, columns // size, size).any(axis=(1, 3)).sum())


def basins_table(maps: Sequence[BasinMap]) -> pd.DataFrame:
    """basins.csv: one row per map: its settings and seed, axes and extent, points, the share
    of points that solve and of each outcome, and the boundary's dimension with its interval
    and the box sizes it was counted at."""
    rows = []
    for one in maps:
        finished = one.outcome >= 0
        counts = np.bincount(one.outcome[finished], minlength=len(OUTCOMES))
        if finished.all():
            dimension, low, high, sizes = boundary_dimension(one.solved)
        else:  # the missing points would make a boundary of their own
            dimension, low, high, sizes = math.nan, math.nan, math.nan, []
        rows.append(
            {
                **one.settings,
                "axis_x": one.axis_x,
                "axis_y": one.axis_y,
                "x_low": one.x[0],
                "x_high": one.x[-1],
                "y_low": one.y[0],
                "y_high": one.y[-1],
                "base_x": one.base[0],
                "base_y": one.base[1],
                "points_x": len(one.x),
                "points_y": len(one.y),
                "runs": int(finished.sum()),
                "solved": counts[0] / max(finished.sum(), 1),
                **{
                    f"share_{o}": n / max(finished.sum(), 1)
                    for o, n in zip(OUTCOMES, counts)
                    if o != "solved"
                },
                "dimension": dimension,
                "dimension_low": low,
                "dimension_high": high,
                "box_sizes": " ".join(map(str, sizes)),
            }
        )
    return pd.DataFrame(rows)


def basins_sentence(row: pd.Series | dict, label: str = "") -> str:
    """What one map shows, in a sentence: the share of the slice that learns XOR and whether
    the boundary is smooth or complex."""
    share = row["solved"]
    text = f"{label + ': ' if label else ''}{_percent(share)} of this slice learns XOR"
    points = row.get("points_x", 0) * row.get("points_y", 0)
    if points and row.get("runs", points) < points:
        return (
            f"{text} (of the {row['runs']:,} of its {points:,} points that have finished: rerun "
            "the sweep to finish the map and measure its boundary)."
        )
    if math.isnan(row["dimension"]):
        if 0 < share < 1:
            return text + " (too few points per axis to measure its boundary: 32 or more needed)."
        return text + "; no boundary crosses it."
    figures = (
        f"dimension {row['dimension']:.2f}, 95% {row['dimension_low']:.2f}-"
        f"{row['dimension_high']:.2f}"
    )
    if row["dimension_low"] > COMPLEX:
        return (
            text + f"; the boundary is complex ({figures}): nearby starting points end differently."
        )
    if row["dimension_high"] < COMPLEX:
        return text + f"; the boundary is smooth ({figures}): nearby starting points end alike."
    return (
        f"{text}; the boundary's dimension is {row['dimension']:.2f} "
        f"(95% {row['dimension_low']:.2f}-{row['dimension_high']:.2f}): a finer map would tell "
        "smooth from complex."
    )


def maps_headline(basins: pd.DataFrame, settings: Sequence[str]) -> str:
    """The report's first sentence for a basins sweep: how much of the map learns XOR (of
    several maps, the most and the least)."""
    extent = map_settings_text(basins.iloc[0])
    if len(basins) == 1:
        return f"{basins_sentence(basins.iloc[0])} Map of {extent}."
    keys = [s for s in settings if s in basins] + (["seed"] if basins["seed"].nunique() > 1 else [])
    order = basins.sort_values("solved", ascending=False, kind="stable")
    most, least = order.iloc[0], order.iloc[-1]
    return (
        f"Of {len(basins)} maps of {extent}, the most learns XOR from "
        f"{_percent(most['solved'])} of its starting points ({configuration_label(most, keys)}), "
        f"the least from {_percent(least['solved'])} ({configuration_label(least, keys)})."
    )


def _percent(share: float) -> str:
    if 0 < share < 0.01:
        return "<1%"
    if 0.99 < share < 1:
        return ">99%"
    return f"{share:.0%}"


def map_settings_text(row: pd.Series | dict) -> str:
    """'201 x 201 starting points (W1[0,0] -4 to 4, W2[0] -4 to 4)' style extent of a map."""
    return (
        f"{row['points_x']} x {row['points_y']} starting points ({row['axis_x']} "
        f"{format_value(row['x_low'])} to {format_value(row['x_high'])}, {row['axis_y']} "
        f"{format_value(row['y_low'])} to {format_value(row['y_high'])})"
    )
