"""Why a run did not converge: its outcome and the evidence behind it, with every threshold.

The engine measures, for every run, what this module needs (`Evidence`): the hidden slopes and
outputs on the 4 clean XOR patterns at the end, the full-batch
gradient and the Hessian's lowest eigenvalue at the end, the loss at fixed fractions of training
(`FRACTIONS`) and at each of the last `TAIL` epochs, the largest weight and the training samples
still wrong. None of it depends on how often the curve is logged: `log_every` says what is
recorded, never what a run is. "Would more epochs help" is judged against a run HORIZON = 10x
as long (the tests check the labels against such runs). `diagnose` gives each run the first
outcome whose rule holds, in this order (the cause before the symptom: a relu net whose units
all died also sits at chance, and is `dead_units`):

solved         the solve criterion held at the end (see `result.summarize_curve`)
diverged       the loss or the weights became NaN/inf, the loss went above DIVERGED_LOSS x
               chance in the last TAIL epochs, or a weight grew past HUGE_WEIGHT
incomplete_data  the training samples lack one of the 4 XOR patterns (few random samples):
               such a run is never counted solved
noise_limited  noisy inputs: every clean pattern is right, but not every noisy sample can be
               (`wrong_patterns` then counts the wrong samples): the net has learned XOR
capacity       fewer than 2 hidden units: the output is monotone in one linear function of the
               inputs, and XOR is not, so no amount of training solves it
dead_units     relu: fewer than MIN_LIVE_UNITS hidden units have a positive pre-activation on
               some training pattern (the others pass no gradient on any input, for good)
linear         relu: no unit bends on the data (each is off on every pattern or on on every
               one), and the run is stationary: the net is an affine function of the inputs at
               its best fit, where the gradient is 0; no affine function fits XOR (one unit
               that bends is enough: XOR = relu(x0 + x1) - 2 relu(x0 + x1 - 1))
oscillating    over the last TAIL epochs the loss moved by more than OSCILLATING_AMPLITUDE x
               its level, rising on at least OSCILLATING_RISES of the steps or ending on a
               rise: the step is too large for the valley
saturated      sigmoid/tanh: fewer than MIN_LIVE_UNITS hidden units have a slope above
               LIVE_SLOPE x the activation's steepest slope on some pattern
plateau        over the second half of training the loss stayed within PLATEAU_TOLERANCE x
               chance of chance (ln 2 for bce, 0.25 for mse), and the outputs on the training
               patterns lie within SAME_OUTPUT of each other: the symmetric saddle that a small
               initialization starts next to
local_minimum  patterns are wrong, no direction of the loss descends fast enough to leave
               within the horizon (-lowest eigenvalue x step x 9 x epochs < ESCAPE), and
               either two patterns with different targets have merged outputs (closer than
               MERGED, or in the wrong order) or the run is stationary (step x |g|^2 x 9 x
               epochs, what gradient descent could remove by then, < STATIONARY x the loss).
               A run whose outputs merged is caught before it reaches the minimum: with
               cross-entropy the minimum lies at infinite weights and the loss creeps on
slow           still improving: the loss fell by more than STILL x loss over the last tenth,
               and no two patterns with different targets are merged (or they are, and the loss
               fell by more than FALLING x loss: the run is on its way down)
saddle         patterns are wrong, two of them merged, and a direction of negative curvature
               will take the run off the saddle within the horizon: to a solution or to another
               minimum (about half of such runs solve by 10x the epochs: 54% of 1,810 measured)
other          none of these

"step" is the step per unit gradient: lr, lr / (1 - beta) with momentum, lr / rms(g) for Adam.
XOR needs two hidden units that pass a gradient, hence MIN_LIVE_UNITS = 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

OUTCOMES = (
    "solved",
    "diverged",
    "incomplete_data",
    "noise_limited",
    "capacity",
    "dead_units",
    "linear",
    "oscillating",
    "saturated",
    "plateau",
    "local_minimum",
    "slow",
    "saddle",
    "other",
)
FAILURES = OUTCOMES[1:]
CHANCE = {"bce": math.log(2), "mse": 0.25}  # the loss of answering 0.5 to every pattern
PATTERN_NAMES = ("00", "01", "10", "11")

# Fractions of training at which the loss is measured, whatever `log_every` is: the second
# half in twentieths (the plateau), and 0.9 and 1 for the last tenth (the trend).
FRACTIONS = tuple(i / 20 for i in range(10, 21))
LAST_TENTH = FRACTIONS.index(0.9)
TAIL = 32  # epochs at the end whose loss is measured every epoch
HORIZON = 10  # "would more epochs help": judged against a run 10x as long

MIN_LIVE_UNITS = 2
LIVE_SLOPE = 0.01
PLATEAU_TOLERANCE = 0.02
SAME_OUTPUT = 0.1
STILL = 1e-3
FALLING = 0.1
MERGED = 0.1
STATIONARY = 0.05
OSCILLATING_RISES = 0.25
OSCILLATING_AMPLITUDE = 0.01
DIVERGED_LOSS = 8.0
ESCAPE = 1.0
HUGE_WEIGHT = 1e3


def fraction_epochs(epochs: int) -> np.ndarray:
    """The epochs at which the loss is measured for the diagnosis: round(f x epochs) for each
    of FRACTIONS (repeats when epochs is small)."""
    return np.array([round(f * epochs) for f in FRACTIONS], dtype=np.int64)


@dataclass(frozen=True)
class Evidence:
    """What the engine measured for a batch of runs (patterns in the order 00 01 10 11; the
    last axis of every array is the run)."""

    slopes: np.ndarray  # (4, hidden, M): the activation's slope g'(Z1) on each clean pattern
    peak_slope: np.ndarray  # (M,) the activation's steepest slope (sigmoid 0.25, tanh/relu 1)
    relu: np.ndarray  # (M,) bool: a unit with slope 0 on every pattern is dead for good
    outputs: np.ndarray  # (4, M) the network's output on each clean pattern at the end
    present: np.ndarray  # (4, M) bool: the pattern occurs in the training data
    grad_norm: np.ndarray  # (M,) L2 norm of the full-batch gradient of the mean loss
    step: np.ndarray  # (M,) the step of an epoch per unit gradient (lr; lr / (1 - beta) with
    #                    momentum; lr / rms(g) for Adam)
    lowest_curvature: np.ndarray  # (M,) the loss's Hessian's lowest eigenvalue at the end
    #                                (NaN where no label depends on it: `needs_curvature`)
    epochs: np.ndarray  # (M,) epochs trained
    fraction_loss: np.ndarray  # (len(FRACTIONS), M) the loss at fraction_epochs(epochs)
    tail_loss: np.ndarray  # (T, M) the loss at each of the last TAIL epochs (fewer if shorter)
    chance: np.ndarray  # (M,) the loss at chance for each run's loss function
    margin: np.ndarray  # (M,) solve_margin
    largest_weight: np.ndarray  # (M,) max |parameter| at the end
    noisy: np.ndarray  # (M,) bool: noisy inputs (samples are not the clean patterns)
    wrong_samples: np.ndarray  # (M,) training samples not within the margin of their target
    samples: np.ndarray  # (M,) training samples


@dataclass(frozen=True)
class Diagnosis:
    """A run's outcome and its evidence, as runs.csv records them."""

    outcome: str
    live_units: int
    grad_norm: float
    wrong_patterns: str  # e.g. "01 11"; "7/40 samples" for noise_limited; empty when none
    loss_change: float  # loss at the end minus the loss a tenth of training earlier


TARGETS = np.array([0.0, 1.0, 1.0, 0.0])
ONES, ZEROS = (1, 2), (0, 3)  # the patterns with target 1 and with target 0


def _closest_pair_gap(outputs: np.ndarray, present: np.ndarray) -> np.ndarray:
    """For each run, the smallest gap output(target 1) - output(target 0) over the pairs of
    present patterns (negative: in the wrong order)."""
    gaps = [
        np.where(present[i] & present[j], outputs[i] - outputs[j], np.inf)
        for i in ONES
        for j in ZEROS
    ]
    return np.min(gaps, axis=0)


def diagnose(evidence: Evidence, diverged: np.ndarray, solved: np.ndarray) -> list[Diagnosis]:
    """The outcome of every run of a batch (see the module's docstring for the definitions),
    computed for all runs at once."""
    outcome, live, wrong, change, _ = _decide(evidence, diverged, solved)
    e = evidence
    return [
        Diagnosis(
            str(outcome[i]),
            int(live[i]),
            float(e.grad_norm[i]),
            f"{int(e.wrong_samples[i])}/{int(e.samples[i])} samples"
            if outcome[i] == "noise_limited"
            else " ".join(name for name, bad in zip(PATTERN_NAMES, wrong[:, i]) if bad),
            float(change[i]),
        )
        for i in range(len(outcome))
    ]


def needs_curvature(evidence: Evidence, diverged: np.ndarray, solved: np.ndarray) -> np.ndarray:
    """The runs whose outcome depends on `lowest_curvature` (local_minimum, saddle or slow):
    the engine measures it for these only (`lowest_curvature` is not read here)."""
    return _decide(evidence, diverged, solved)[4]


def _decide(e: Evidence, diverged: np.ndarray, solved: np.ndarray) -> tuple:
    """(outcome, live units, wrong patterns, loss change, curvature matters) of each run."""
    with np.errstate(all="ignore"):
        slopes = np.where(e.present[:, None, :], e.slopes, 0.0)
        live = (slopes > LIVE_SLOPE * e.peak_slope).any(axis=0).sum(axis=0)  # (M,)
        hidden = e.slopes.shape[1]
        wrong = ~(np.abs(e.outputs - TARGETS[:, None]) < e.margin) & e.present  # (4, M)
        final = e.fraction_loss[-1]
        change = final - e.fraction_loss[LAST_TENTH]
        scale = np.maximum(np.abs(final), 1e-12)
        tail = e.tail_loss
        highest = np.where(e.present, e.outputs, -np.inf).max(axis=0)
        lowest = np.where(e.present, e.outputs, np.inf).min(axis=0)
        same_output = (highest - lowest) < SAME_OUTPUT
        second_half = e.fraction_loss
        near_chance = np.abs(second_half - e.chance).max(axis=0) <= PLATEAU_TOLERANCE * e.chance

        blew_up = (
            (
                np.nanmax(np.where(np.isfinite(tail), tail, np.inf), axis=0)
                > DIVERGED_LOSS * e.chance
            )
            | ~(e.largest_weight <= HUGE_WEIGHT)
            | ~np.isfinite(final)
        )

        # relu: a unit bends on the data when it is on for some patterns and off for others
        on = slopes > 0
        bends = (on.any(axis=0) & ~(on | ~e.present[:, None, :]).all(axis=0)).sum(axis=0)

        steps = np.diff(tail, axis=0)  # a run of E >= 1 epochs has a tail of >= 2 points
        rises = (steps > 0).mean(axis=0)
        travel = np.abs(steps).sum(axis=0)
        net = np.abs(tail[-1] - tail[0])
        amplitude = tail.max(axis=0) - tail.min(axis=0)
        ends_rising = tail[-1] - tail.min(axis=0) > amplitude / 2
        swings = (rises >= OSCILLATING_RISES) & (travel > 2 * net)
        oscillating = (
            (len(steps) >= 4)
            & np.isfinite(steps).all(axis=0)
            & (amplitude > OSCILLATING_AMPLITUDE * tail.mean(axis=0))
            & (swings | ends_rising)
        )

        merged = _closest_pair_gap(e.outputs, e.present) < MERGED
        rest = (HORIZON - 1) * e.epochs  # the epochs a 10x longer run has left
        stationary = e.step * e.grad_norm**2 * rest < STATIONARY * scale
        leaves = -e.lowest_curvature * e.step * rest >= ESCAPE  # a saddle it will leave
        learned_clean = e.noisy & ~wrong.any(axis=0)

        rules = [  # in the order of OUTCOMES: the first that holds wins
            solved,
            diverged | blew_up,
            ~e.present.all(axis=0),
            learned_clean,
            np.full(final.shape, hidden < MIN_LIVE_UNITS),
            (live < MIN_LIVE_UNITS) & e.relu,
            (bends == 0) & e.relu & stationary,
            oscillating,
            live < MIN_LIVE_UNITS,
            near_chance & same_output,
            wrong.any(axis=0) & ~leaves & (merged | stationary),
            (change < -STILL * scale) & (~merged | (change < -FALLING * scale)),
            wrong.any(axis=0) & leaves & merged,
            np.ones_like(solved),
        ]
        rules = np.stack(rules)
        first_of_curvature = OUTCOMES.index("local_minimum")
        matters = (
            ~rules[:first_of_curvature].any(axis=0) & wrong.any(axis=0) & (merged | stationary)
        )
    outcome = np.array(OUTCOMES)[np.argmax(rules, axis=0)]
    return outcome, live, wrong, change, matters
