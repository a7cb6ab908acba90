"""One run's whole story, retrained with its parameters traced: the tables of a replay and
its figure (`python -m xorlab.replay`).

Compute, then draw: `run_story` turns a traced run into tidy DataFrames (loss and accuracy at
every epoch, each hidden unit's pre-activation and the output on the 4 XOR patterns over
time, the learned function at a few epochs); `story_figure` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from xorlab.training.config import RunConfig
from xorlab.training.diagnosis import PATTERN_NAMES
from xorlab.training.nn import ACTIVATIONS, LOSSES, sigmoid
from xorlab.training.reference import draw_problem
from xorlab.training.result import RunResult
from xorlab.training.stacked import PATTERN_Y
from xorlab.visualization.style import chance_lines, log_scale
from xorlab.visualization.style import title as wrapped_title

PATTERNS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
SNAPSHOTS = 4  # epochs at which the learned function is drawn


@dataclass
class Story:
    """A run's trajectory as tables (patterns in the order 00 01 10 11)."""

    config: RunConfig
    epochs: pd.DataFrame  # epoch, loss, accuracy (on the training data, at every epoch)
    units: pd.DataFrame  # epoch, unit, pattern, preactivation
    outputs: pd.DataFrame  # epoch, pattern, output, target
    surfaces: pd.DataFrame  # epoch, x0, x1, output


def _unpack(theta: np.ndarray, hidden: int) -> tuple[np.ndarray, ...]:
    """W2 (.., H), b2, W1[:, 0], W1[:, 1], b1 from the engine's parameter layout."""
    H = hidden
    return (
        theta[..., :H],
        theta[..., H],
        theta[..., H + 1 : 2 * H + 1],
        theta[..., 2 * H + 1 : 3 * H + 1],
        theta[..., 3 * H + 1 :],
    )


def _forward(theta: np.ndarray, hidden: int, activation: str, inputs: np.ndarray):
    """Z1 (epochs, points, H) and the output logit Z2 (epochs, points) for inputs (points, 2)."""
    w, c, u, v, b = _unpack(theta, hidden)
    Z1 = inputs[None, :, 0, None] * u[:, None] + inputs[None, :, 1, None] * v[:, None]
    Z1 = Z1 + b[:, None]
    A1 = ACTIVATIONS[activation].value(Z1)
    return Z1, np.einsum("eph,eh->ep", A1, w) + c[:, None]


def snapshot_epochs(outputs: np.ndarray, count: int = SNAPSHOTS) -> np.ndarray:
    """The epochs at which to draw the learned function: the first, the last, and between them
    where the outputs (epochs x patterns) have travelled equal shares of their whole path, so
    the snapshots sit where the run changes, not at evenly spaced epochs."""
    last = len(outputs) - 1
    steps = np.abs(np.diff(np.nan_to_num(outputs), axis=0)).sum(axis=1)
    travelled = np.concatenate([[0.0], np.cumsum(steps)])
    if last < count or travelled[-1] <= 0:
        return np.unique(np.linspace(0, last, count).round().astype(int))
    marks = travelled[-1] * np.arange(1, count - 1) / (count - 1)
    inner = np.searchsorted(travelled, marks)
    return np.unique(np.concatenate([[0], inner, [last]]))


MAX_UNITS = 16  # hidden units whose pre-activations a story shows
MAX_STEPS = 2001  # epochs at which it shows them


def run_story(result: RunResult, resolution: int = 41) -> Story:
    """The tables of a run trained with `train_batch(..., trace=True)`."""
    config, trace = result.config, result.trace
    with np.errstate(all="ignore"):
        Z1, Z2 = _forward(trace, config.hidden, config.activation, PATTERNS)
        outputs = sigmoid(Z2)
        counts = np.bincount(draw_problem(config).codes, minlength=4).astype(float)
        weights = counts / counts.sum()
        per_pattern = LOSSES[config.loss].value(Z2, outputs, PATTERN_Y[None, :])
        right = np.where(PATTERN_Y > 0.5, outputs > 0.5, outputs < 0.5)
    epoch = np.arange(len(trace))
    epochs = pd.DataFrame(
        {"epoch": epoch, "loss": per_pattern @ weights, "accuracy": right.astype(float) @ weights}
    )
    # at most MAX_UNITS units, spread over them, and MAX_STEPS epochs: a table of every unit
    # at every epoch grows with hidden x epochs (hidden 4096 at 2000 epochs took 5.6 GB)
    kept = np.unique(np.linspace(0, Z1.shape[2] - 1, MAX_UNITS).round().astype(int))
    steps = np.unique(np.linspace(0, len(trace) - 1, MAX_STEPS).round().astype(int))
    shown_z = Z1[steps][:, :, kept]
    S, P, H = shown_z.shape
    units = pd.DataFrame(
        {
            "epoch": np.repeat(steps, P * H),
            "pattern": pd.Categorical(np.tile(np.repeat(PATTERN_NAMES, H), S)),
            "unit": np.tile(kept, S * P),
            "preactivation": shown_z.ravel(),
        }
    )
    E = len(epoch)
    output_table = pd.DataFrame(
        {
            "epoch": np.repeat(epoch, P),
            "pattern": np.tile(PATTERN_NAMES, E),
            "output": outputs.ravel(),
            "target": np.tile(PATTERN_Y, E),
        }
    )
    shown = snapshot_epochs(outputs)
    grid = np.linspace(-0.5, 1.5, resolution)
    x0, x1 = np.meshgrid(grid, grid)
    points = np.stack([x0.ravel(), x1.ravel()], axis=1)
    with np.errstate(all="ignore"):
        surface = sigmoid(_forward(trace[shown], config.hidden, config.activation, points)[1])
    surfaces = pd.DataFrame(
        {
            "epoch": np.repeat(shown, len(points)),
            "x0": np.tile(points[:, 0], len(shown)),
            "x1": np.tile(points[:, 1], len(shown)),
            "output": surface.ravel(),
        }
    )
    return Story(config, epochs, units, output_table, surfaces)


PATTERN_STYLES = dict(zip(PATTERN_NAMES, ("-", "--", "-.", ":")))


def story_figure(story: Story, title: str) -> Figure:
    """Loss and accuracy, hidden pre-activations, outputs per pattern, and the learned function
    at a few epochs, for one run."""
    snapshots = sorted(story.surfaces["epoch"].unique())
    figure = Figure(figsize=(15, 7.5))
    grid = figure.add_gridspec(2, max(3, len(snapshots)), height_ratios=[1.3, 1])
    loss_ax = figure.add_subplot(grid[0, 0])
    loss_ax.plot(story.epochs["epoch"], story.epochs["loss"], color="black", label="loss")
    log_scale(loss_ax, "y")
    chance = chance_lines(loss_ax, [story.config.loss])
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel(f"training loss (log; dotted: {chance})")
    accuracy_ax = loss_ax.twinx()
    accuracy_ax.plot(
        story.epochs["epoch"], story.epochs["accuracy"], color="tab:green", label="accuracy"
    )
    accuracy_ax.set_ylim(-0.05, 1.05)
    accuracy_ax.set_ylabel("accuracy", color="tab:green")
    loss_ax.set_title("loss and accuracy at every epoch", fontsize=10)

    units_ax = figure.add_subplot(grid[0, 1])
    for (unit, pattern), rows in story.units.groupby(["unit", "pattern"]):
        units_ax.plot(
            rows["epoch"],
            rows["preactivation"],
            color=f"C{unit % 10}",
            linestyle=PATTERN_STYLES[pattern],
            linewidth=1,
        )
    units_ax.axhline(0, color="gray", linewidth=0.5)
    units_ax.set_xlabel("epoch")
    units_ax.set_ylabel("pre-activation Z1")
    shown = story.units["unit"].nunique()
    which = "" if shown == story.config.hidden else f"{shown} of {story.config.hidden} "
    units_ax.set_title(f"{which}hidden units (colour) on each pattern (line style)", fontsize=10)

    outputs_ax = figure.add_subplot(grid[0, 2])
    for pattern, rows in story.outputs.groupby("pattern"):
        outputs_ax.plot(
            rows["epoch"],
            rows["output"],
            linestyle=PATTERN_STYLES[pattern],
            color="tab:red" if rows["target"].iloc[0] > 0.5 else "tab:blue",
            label=f"{pattern} (target {int(rows['target'].iloc[0])})",
        )
    margin = story.config.solve_margin
    outputs_ax.axhspan(1 - margin, 1, color="tab:red", alpha=0.08)
    outputs_ax.axhspan(0, margin, color="tab:blue", alpha=0.08)
    outputs_ax.set_ylim(-0.05, 1.05)
    outputs_ax.set_xlabel("epoch")
    outputs_ax.set_ylabel("output")
    outputs_ax.legend(fontsize=8)
    outputs_ax.set_title("output on each pattern (bands: solved)", fontsize=10)

    for k, epoch in enumerate(snapshots):
        ax = figure.add_subplot(grid[1, k])
        surface = story.surfaces[story.surfaces["epoch"] == epoch]
        side = int(np.sqrt(len(surface)))
        values = surface["output"].to_numpy().reshape(side, side)
        ax.imshow(
            values, extent=(-0.5, 1.5, -0.5, 1.5), origin="lower", vmin=0, vmax=1, cmap="RdBu_r"
        )
        if np.isfinite(values).all() and values.min() < 0.5 < values.max():
            axis = np.linspace(-0.5, 1.5, side)
            ax.contour(axis, axis, values, levels=[0.5], colors="black", linewidths=1)
        for (a, b), target in zip(PATTERNS, PATTERN_Y):
            ax.scatter(a, b, c="tab:red" if target else "tab:blue", edgecolors="white", s=60)
        ax.set_title(f"epoch {epoch}", fontsize=10)
        ax.set_xticks([0, 1])
        ax.set_yticks([0, 1])
    figure.subplots_adjust(left=0.05, right=0.95, wspace=0.5, hspace=0.35, top=0.9)
    wrapped_title(figure, title)
    return figure
