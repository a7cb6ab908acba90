"""Why a run did not converge: its outcome and the evidence behind it, with every threshold.

The engine records, for every run, what this module needs at the end of training: the hidden
pre-activations Z1 and outputs on the 4 XOR patterns, the norm of the full-batch gradient, the
logged curve and the loss at each of the last `TAIL` epochs. `diagnose` turns them into one
outcome, checked in this order (the cause wins over the symptom: a relu net whose units all
died also sits at chance, and is `dead_units`):

solved        the solve criterion held at the end (see `result.summarize_curve`)
diverged      the loss or the weights became NaN/inf, or the loss blew up
dead_units    relu: fewer than MIN_LIVE_UNITS hidden units have a positive pre-activation on
              some training pattern (the others pass no gradient on any input, for good)
saturated     sigmoid/tanh (or any other activation): fewer than MIN_LIVE_UNITS hidden units
              have a slope above LIVE_SLOPE x the activation's steepest slope on some pattern
plateau       over the second half of training the loss stayed within PLATEAU_TOLERANCE x
              chance of chance (ln 2 for bce, 0.25 for mse), and the outputs on the training
              patterns lie within SAME_OUTPUT of each other: the symmetric saddle that a small
              initialization starts next to
local_minimum the loss stopped changing (|change over the last tenth| < STILL x loss) and the
              gradient norm is below FLAT_GRADIENT, with the loss more than PLATEAU_TOLERANCE x
              chance away from chance, and patterns wrong
oscillating   over the last TAIL epochs the loss rose on at least OSCILLATING_RISES of the
              steps, and went up and down by more than twice its net change
slow          still improving: the loss fell by more than STILL x loss over the last tenth
other         none of these

XOR needs two hidden units that pass a gradient (one unit's output is monotone in its input,
and XOR is not), hence MIN_LIVE_UNITS = 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

OUTCOMES = (
    "solved",
    "diverged",
    "dead_units",
    "saturated",
    "plateau",
    "local_minimum",
    "oscillating",
    "slow",
    "other",
)
FAILURES = OUTCOMES[1:]
CHANCE = {"bce": math.log(2), "mse": 0.25}  # the loss of answering 0.5 to every pattern
PATTERN_NAMES = ("00", "01", "10", "11")

TAIL = 32  # epochs at the end whose loss is recorded every epoch
MIN_LIVE_UNITS = 2
LIVE_SLOPE = 0.01
PLATEAU_TOLERANCE = 0.02
SAME_OUTPUT = 0.1
STILL = 1e-3
FLAT_GRADIENT = 1e-3
OSCILLATING_RISES = 0.25


@dataclass(frozen=True)
class Evidence:
    """What the engine measured at the end of one run (patterns in the order 00 01 10 11)."""

    slopes: np.ndarray  # (4, hidden): the activation's slope g'(Z1) on each pattern
    peak_slope: float  # the activation's steepest slope (sigmoid 0.25, tanh and relu 1)
    relu: bool  # a unit with slope 0 on every pattern is dead for good
    outputs: np.ndarray  # (4,) the network's output on each pattern
    present: np.ndarray  # (4,) bool: the pattern occurs in the training data
    grad_norm: float  # L2 norm of the full-batch gradient of the mean loss
    curve_epoch: np.ndarray
    curve_loss: np.ndarray
    tail_loss: np.ndarray  # the loss at each of the last TAIL epochs (fewer if shorter)
    loss: str
    margin: float


@dataclass(frozen=True)
class Diagnosis:
    """A run's outcome and its evidence, as runs.csv records them."""

    outcome: str
    live_units: int
    grad_norm: float
    wrong_patterns: str  # e.g. "01 11"; empty when none
    loss_change: float  # loss at the end minus the loss a tenth of training earlier


def live_units(evidence: Evidence) -> int:
    """Hidden units that still pass a gradient on some training pattern."""
    slopes = evidence.slopes[evidence.present]
    return int((slopes > LIVE_SLOPE * evidence.peak_slope).any(axis=0).sum())


def wrong_patterns(evidence: Evidence) -> str:
    """The training patterns whose output is not within the margin of its target."""
    targets = np.array([0.0, 1.0, 1.0, 0.0])
    wrong = ~(np.abs(evidence.outputs - targets) < evidence.margin) & evidence.present
    return " ".join(name for name, bad in zip(PATTERN_NAMES, wrong) if bad)


def loss_change(epoch: np.ndarray, loss: np.ndarray) -> float:
    """The loss at the end minus the loss logged closest to a tenth of training earlier."""
    if len(loss) < 2:
        return 0.0
    start = int(np.searchsorted(epoch, 0.9 * epoch[-1]))
    start = min(start, len(loss) - 2)
    return float(loss[-1] - loss[start])


def _oscillates(tail: np.ndarray) -> bool:
    steps = np.diff(tail)
    if len(steps) < 4 or not np.isfinite(steps).all():
        return False
    rises = (steps > 0).mean()
    travel = np.abs(steps).sum()
    return bool(rises >= OSCILLATING_RISES and travel > 2 * abs(tail[-1] - tail[0]) + 1e-12)


def diagnose(evidence: Evidence, status: str, solved: bool) -> Diagnosis:
    """The outcome of a finished run (see the module's docstring for the definitions)."""
    live = live_units(evidence)
    wrong = wrong_patterns(evidence)
    loss = evidence.curve_loss
    change = loss_change(evidence.curve_epoch, loss)
    final = float(loss[-1]) if len(loss) else math.nan
    chance = CHANCE.get(evidence.loss, math.log(2))
    present_outputs = evidence.outputs[evidence.present]
    still = abs(change) < STILL * max(abs(final), 1e-12)
    second_half = loss[np.searchsorted(evidence.curve_epoch, evidence.curve_epoch[-1] / 2) :]
    if solved:
        outcome = "solved"
    elif status == "diverged" or not np.isfinite(final):
        outcome = "diverged"
    elif live < MIN_LIVE_UNITS and evidence.relu:
        outcome = "dead_units"
    elif live < MIN_LIVE_UNITS:
        outcome = "saturated"
    elif (
        np.nanmax(np.abs(second_half - chance)) <= PLATEAU_TOLERANCE * chance
        and np.ptp(present_outputs) < SAME_OUTPUT
    ):
        outcome = "plateau"
    elif (
        still
        and evidence.grad_norm < FLAT_GRADIENT
        and abs(final - chance) > PLATEAU_TOLERANCE * chance
        and wrong
    ):
        outcome = "local_minimum"
    elif _oscillates(evidence.tail_loss):
        outcome = "oscillating"
    elif change < -STILL * max(abs(final), 1e-12):
        outcome = "slow"
    else:
        outcome = "other"
    return Diagnosis(outcome, live, float(evidence.grad_norm), wrong, change)
