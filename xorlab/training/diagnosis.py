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
    """What the engine measured at the end of a batch of runs (patterns in the order 00 01
    10 11; the last axis of every array is the run)."""

    slopes: np.ndarray  # (4, hidden, M): the activation's slope g'(Z1) on each pattern
    peak_slope: np.ndarray  # (M,) the activation's steepest slope (sigmoid 0.25, tanh/relu 1)
    relu: np.ndarray  # (M,) bool: a unit with slope 0 on every pattern is dead for good
    outputs: np.ndarray  # (4, M) the network's output on each pattern
    present: np.ndarray  # (4, M) bool: the pattern occurs in the training data
    grad_norm: np.ndarray  # (M,) L2 norm of the full-batch gradient of the mean loss
    curve_epoch: np.ndarray  # (L,) the logged epochs
    curve_loss: np.ndarray  # (L, M) the logged loss
    tail_loss: np.ndarray  # (T, M) the loss at each of the last TAIL epochs (fewer if shorter)
    chance: np.ndarray  # (M,) the loss at chance for each run's loss function
    margin: np.ndarray  # (M,) solve_margin


@dataclass(frozen=True)
class Diagnosis:
    """A run's outcome and its evidence, as runs.csv records them."""

    outcome: str
    live_units: int
    grad_norm: float
    wrong_patterns: str  # e.g. "01 11"; empty when none
    loss_change: float  # loss at the end minus the loss a tenth of training earlier


TARGETS = np.array([0.0, 1.0, 1.0, 0.0])


def diagnose(evidence: Evidence, diverged: np.ndarray, solved: np.ndarray) -> list[Diagnosis]:
    """The outcome of every run of a batch (see the module's docstring for the definitions),
    computed for all runs at once."""
    e = evidence
    with np.errstate(all="ignore"):
        slopes = np.where(e.present[:, None, :], e.slopes, 0.0)
        live = (slopes > LIVE_SLOPE * e.peak_slope).any(axis=0).sum(axis=0)  # (M,)
        wrong = ~(np.abs(e.outputs - TARGETS[:, None]) < e.margin) & e.present  # (4, M)
        loss, epoch = e.curve_loss, e.curve_epoch
        if len(epoch) >= 2:
            start = min(int(np.searchsorted(epoch, 0.9 * epoch[-1])), len(epoch) - 2)
            change = loss[-1] - loss[start]
        else:
            change = np.zeros(loss.shape[1])
        final = loss[-1]
        scale = np.maximum(np.abs(final), 1e-12)
        second_half = loss[np.searchsorted(epoch, epoch[-1] / 2) :]
        highest = np.where(e.present, e.outputs, -np.inf).max(axis=0)
        lowest = np.where(e.present, e.outputs, np.inf).min(axis=0)
        same_output = (highest - lowest) < SAME_OUTPUT
        near_chance = np.abs(second_half - e.chance).max(axis=0) <= PLATEAU_TOLERANCE * e.chance
        away = np.abs(final - e.chance) > PLATEAU_TOLERANCE * e.chance
        still = np.abs(change) < STILL * scale
        steps = np.diff(e.tail_loss, axis=0)
        rises = (steps > 0).mean(axis=0) if len(steps) else np.zeros_like(final)
        travel = np.abs(steps).sum(axis=0)
        net = np.abs(e.tail_loss[-1] - e.tail_loss[0])
        oscillating = (
            (len(steps) >= 4)
            & np.isfinite(steps).all(axis=0)
            & (rises >= OSCILLATING_RISES)
            & (travel > 2 * net + 1e-12)
        )
        few_live = live < MIN_LIVE_UNITS
        rules = [  # in the order of OUTCOMES: the first that holds wins
            solved,
            diverged | ~np.isfinite(final),
            few_live & e.relu,
            few_live,
            near_chance & same_output,
            still & (e.grad_norm < FLAT_GRADIENT) & away & wrong.any(axis=0),
            oscillating,
            change < -STILL * scale,
            np.ones_like(solved),
        ]
    outcome = np.array(OUTCOMES)[np.argmax(np.stack(rules), axis=0)]
    return [
        Diagnosis(
            str(outcome[i]),
            int(live[i]),
            float(e.grad_norm[i]),
            " ".join(name for name, bad in zip(PATTERN_NAMES, wrong[:, i]) if bad),
            float(change[i]),
        )
        for i in range(len(outcome))
    ]
