"""The batched engine: many runs trained in lock-step in one numpy pass.

Runs that share a `RunConfig.batch_key` are stacked along a trailing runs axis, each with its own
seed, data, learning rate, momentum, initialization, margin and activation (each activation is
applied to its own slice of the batch); the math per run is the reference trainer's.

Two exact reductions make it fast:

* Inputs are bits, so the samples hold at most 4 distinct patterns. The loss and gradients of a
  (mini-)batch are sums over its samples, so they equal sums over the 4 patterns weighted by how
  often each occurs in it. Noisy inputs (``noise > 0``) keep one row per sample (the general
  path); there a mini-batch weighs its samples 1 and the others 0.
* The learning rate and the 1/batch of the mean are folded into those weights, so the gradients
  come out already scaled (Adam, whose step is not proportional to the gradient, gets them
  without the learning rate).

Every epoch the network is evaluated at its current parameters on the whole training set, so
`epochs_to_solve` is exact: the first epoch from which every output stayed within `solve_margin`
of its target to the end.

A run's numbers never depend on the batch it is trained in: every operation is elementwise along
the runs axis, and every sum runs over a leading axis, which numpy adds in plain order. (A batch
of one run would make the runs axis vanish and numpy would switch to pairwise sums, so a lone run
is padded with a copy of itself.) No BLAS call is used, since BLAS blocks by matrix size. Each
run shuffles its mini-batches with its own generator (`nn.shuffle_generator`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from functools import cache

import numpy as np

from xorlab.training.config import RunConfig
from xorlab.training.curvature import lowest_eigenvalue
from xorlab.training.diagnosis import (
    CHANCE,
    FRACTIONS,
    TAIL,
    Evidence,
    diagnose,
    fraction_epochs,
    needs_curvature,
)
from xorlab.training.nn import (
    ACTIVATIONS,
    ADAM_EPS,
    DTYPES,
    LOSSES,
    classified_right,
    sigmoid,
)
from xorlab.training.optimizers import OPTIMIZER_STEPS
from xorlab.training.result import RunResult, logged_epochs, summarize_curve
from xorlab.training.stacked import StackedData, StackedNet, activation_slices

# Bytes of one (patterns, hidden, runs) work array: a batch's handful of them then stays in the
# L2 cache. Measured on the 2-core development machine: throughput falls on either side.
CACHE_BYTES = 256 * 1024


def runs_per_batch(config: RunConfig) -> int:
    """How many runs of this kind to train at once: as many as keep the work arrays in cache."""
    elements = CACHE_BYTES // np.dtype(DTYPES[config.dtype]).itemsize
    return max(2, elements // (config.patterns * config.hidden))


def train_batch(
    configs: Sequence[RunConfig],
    keep_weights: bool = False,
    solve_check: bool = True,
    trace: bool = False,
    diagnose_runs: bool = True,
) -> list[RunResult]:
    """Train runs that share one batch_key; results come back in the order given.

    With `keep_weights`, each result also holds its final parameters (W1, b1, W2, b2); with
    `trace`, its parameters after every epoch (`RunResult.trace`, epochs+1 x theta, in the
    layout [W2, b2, W1[:, 0], W1[:, 1], b1]): for replaying one run, not for sweeps.
    `solve_check=False` skips the per-epoch solve criterion and `diagnose_runs=False` the
    diagnosis, for the benchmark to measure their cost only (no run is then solved, or
    diagnosed).
    """
    if len({c.batch_key for c in configs}) > 1:
        raise ValueError("train_batch needs runs that share one batch_key")
    size = runs_per_batch(configs[0]) if configs else 1
    results: list[RunResult] = []
    for start in range(0, len(configs), size):
        batch = configs[start : start + size]
        results.extend(_train_lockstep(batch, keep_weights, solve_check, trace, diagnose_runs))
    return results


def _on_patterns(net: StackedNet, activations) -> tuple[np.ndarray, np.ndarray]:
    """The activation's slope on each hidden unit (4, H, M) and the output (4, M), on the 4
    clean XOR patterns 00 01 10 11, at the net's parameters (in float64)."""
    u, v, b = (x.astype(np.float64) for x in (net.u, net.v, net.b))
    Z1 = np.stack([b, b + v, b + u, b + u + v])
    A1, slopes = np.empty_like(Z1), np.empty_like(Z1)
    for activation, part in activations:
        A1[..., part] = activation.value(Z1[..., part])
        slopes[..., part] = activation.derivative(Z1[..., part], A1[..., part])
    Z2 = np.einsum("phm,hm->pm", A1, net.w.astype(np.float64)) + net.c.astype(np.float64)
    return slopes, sigmoid(Z2)


def _step(config: RunConfig, grad_norm: float, parameters: int) -> float:
    """The step per unit gradient of an epoch at a steady gradient (for the diagnosis): lr, or
    lr / (1 - beta) with momentum; Adam moves each parameter by about lr x g / rms(g)."""
    if config.optimizer == "adam":
        return config.lr / (grad_norm / math.sqrt(parameters) + ADAM_EPS)
    if config.optimizer in ("momentum", "nesterov"):
        return config.lr / (1 - config.momentum)
    return config.lr


def _curvature(
    configs: Sequence[RunConfig], data: StackedData, theta: np.ndarray, loss, needed: np.ndarray
) -> np.ndarray:
    """The lowest eigenvalue of the mean loss's Hessian at `theta` for the runs `needed` (NaN
    for the others): see `curvature`."""
    lowest = np.full(len(configs), np.nan)
    runs = np.flatnonzero(needed)
    if not len(runs):
        return lowest
    if len(runs) == 1:  # a runs axis of 2, as a lone run is trained (see the module's docstring)
        runs = np.repeat(runs, 2)
    part = data.columns(runs)
    net = StackedNet(
        part, configs[0].hidden, len(runs), activation_slices([configs[i] for i in runs])
    )

    def gradient(at: np.ndarray) -> np.ndarray:
        net.theta[:] = at
        net.forward()
        net.backward(loss, part.mean_weights)
        return net.grad.copy()

    lowest[runs] = lowest_eigenvalue(gradient, theta[:, runs].astype(np.float64))
    return lowest


@cache
def _peak_slope(activation: str) -> float:
    """The steepest slope of an activation (sigmoid 0.25, tanh and relu 1)."""
    z = np.linspace(-3, 3, 601)
    function = ACTIVATIONS[activation]
    return float(function.derivative(z, function.value(z)).max())


def _train_lockstep(
    configs: Sequence[RunConfig],
    keep_weights: bool,
    solve_check: bool = True,
    trace: bool = False,
    diagnose_runs: bool = True,
) -> list[RunResult]:
    """Train up to one cache-sized batch of runs in lock-step."""
    start_time = time.perf_counter()
    given = list(configs)
    order = sorted(range(len(given)), key=lambda i: given[i].activation)  # stable
    configs = [given[i] for i in order]
    n_real = len(configs)
    if n_real == 1:
        configs = [configs[0], configs[0]]
    first = configs[0]
    dtype = DTYPES[first.dtype]
    H, runs = first.hidden, len(configs)
    activations = activation_slices(configs)
    loss = LOSSES[first.loss]
    data = StackedData(configs, dtype)
    net = StackedNet(data, H, runs, activations)
    with np.errstate(over="ignore"):  # float32 from huge initial weights: inf, then diverged
        net.w[:], net.c[:] = data.W2, data.b2
        net.u[:], net.v[:], net.b[:] = data.W1[:, 0], data.W1[:, 1], data.b1
    optimizer = OPTIMIZER_STEPS[first.optimizer](configs, net.theta)
    ahead = StackedNet(data, H, runs, activations) if optimizer.looks_ahead else net
    full_batch = (data.full_batch,)  # the one update of each epoch without mini-batches

    log_at = logged_epochs(first.epochs, first.log_every)
    curve_loss = np.empty((log_at.size, runs))
    curve_accuracy = np.empty((log_at.size, runs))
    is_logged = np.zeros(first.epochs + 1, bool)
    is_logged[log_at] = True
    off_target = np.empty_like(net.Z2)
    within = np.empty(net.Z2.shape, bool)
    solved_now = np.empty(runs, bool)
    last_unsolved = np.full(runs, -1)
    path = np.empty((first.epochs + 1, *net.theta.shape)) if trace else None
    tail_from = max(0, first.epochs + 1 - TAIL) if diagnose_runs else first.epochs + 1
    tail_loss = np.empty((first.epochs + 1 - tail_from, runs))
    at_fraction = fraction_epochs(first.epochs)  # the diagnosis's loss, whatever is logged
    is_fraction = np.zeros(first.epochs + 1, bool)
    is_fraction[at_fraction] = diagnose_runs
    fraction_loss = np.empty((len(FRACTIONS), runs))
    row = 0
    with np.errstate(all="ignore"):
        for epoch in range(first.epochs + 1):
            net.forward()  # at the parameters after `epoch` epochs, on the whole training set
            if path is not None:
                path[epoch] = net.theta
            if solve_check:
                np.subtract(net.A2, data.y, out=off_target)
                np.abs(off_target, out=off_target)
                np.less(off_target, data.margin, out=within)
                np.logical_or(within, data.absent, out=within)
                np.logical_and.reduce(within, axis=0, out=solved_now)
                np.copyto(last_unsolved, epoch, where=~solved_now)
            if epoch >= tail_from or is_logged[epoch] or is_fraction[epoch]:  # computed once
                per_row = loss.value(net.Z2, net.A2, data.y)
                epoch_loss = (per_row * data.mean_weights).sum(axis=0)
                if epoch >= tail_from:
                    tail_loss[epoch - tail_from] = epoch_loss
                if is_fraction[epoch]:
                    fraction_loss[at_fraction == epoch] = epoch_loss
            if is_logged[epoch]:
                curve_loss[row] = epoch_loss
                correct = classified_right(net.A2, data.y)
                curve_accuracy[row] = (correct * data.counts).sum(axis=0) / data.samples
                row += 1
            if epoch == first.epochs:
                break
            for step, weights in enumerate(data.step_weights() if data.batch_size else full_batch):
                if step and not optimizer.looks_ahead:  # step 0: the evaluation's forward pass
                    net.forward()
                if optimizer.looks_ahead:
                    optimizer.look_ahead(out=ahead.theta)
                    ahead.forward()
                ahead.backward(loss, weights)
                optimizer.step(ahead.grad)
        finite = np.isfinite(net.theta).all(axis=0)
        if diagnose_runs:
            net.backward(loss, data.mean_weights)  # the full-batch gradient of the mean loss
            grad_norm = np.sqrt((net.grad.astype(np.float64) ** 2).sum(axis=0))
            slopes, outputs = _on_patterns(net, activations)
            largest_weight = np.abs(net.theta.astype(np.float64)).max(axis=0)
            outside = np.abs(net.A2 - data.y) >= data.margin  # the last forward pass
            wrong_samples = (outside * data.counts).sum(axis=0)
    seconds = (time.perf_counter() - start_time) / n_real
    results: list[RunResult] = [None] * n_real  # type: ignore[list-item]
    summaries = []
    for i, config in enumerate(configs[:n_real]):
        since = int(last_unsolved[i]) + 1 if solve_check else first.epochs + 1
        result = summarize_curve(
            config,
            log_at,
            curve_loss[:, i],
            curve_accuracy[:, i],
            bool(finite[i]),
            seconds,
            data.every_pattern[i],
            None if since > first.epochs else since,
        )
        if path is not None:
            result.trace = path[:, :, i]
        summaries.append(result)
        if keep_weights:
            result.weights = {
                "W1": np.stack([net.u[:, i], net.v[:, i]], axis=1).astype(np.float64),
                "b1": net.b[:, i, None].astype(np.float64),
                "W2": net.w[None, :, i].astype(np.float64),
                "b2": np.array([[net.c[i]]], dtype=np.float64),
            }
        results[order[i]] = result  # back in the order given
    if diagnose_runs:
        evidence = Evidence(
            slopes=slopes[..., :n_real],
            peak_slope=np.array([_peak_slope(c.activation) for c in configs[:n_real]]),
            relu=np.array([c.activation == "relu" for c in configs[:n_real]]),
            outputs=outputs[:, :n_real],
            present=data.pattern_present[:, :n_real],
            grad_norm=grad_norm[:n_real],
            step=np.array(
                [_step(c, g, len(net.theta)) for c, g in zip(configs[:n_real], grad_norm)]
            ),
            epochs=np.full(n_real, first.epochs),
            fraction_loss=fraction_loss[:, :n_real],
            tail_loss=tail_loss[:, :n_real],
            chance=np.array([CHANCE[c.loss] for c in configs[:n_real]]),
            margin=data.margin[:n_real],
            largest_weight=largest_weight[:n_real],
            lowest_curvature=np.full(n_real, np.nan),  # measured below, where it matters
            noisy=np.full(n_real, not data.reduced),
            wrong_samples=wrong_samples[:n_real],
            samples=data.samples[:n_real],
        )
        diverged = np.array([r.status == "diverged" for r in summaries])
        solved = np.array([r.solved for r in summaries])
        needed = needs_curvature(evidence, diverged, solved)
        if needed.any():
            lowest = _curvature(configs[:n_real], data, net.theta, loss, needed)
            evidence = dataclasses.replace(evidence, lowest_curvature=lowest)
        for result, diagnosis in zip(summaries, diagnose(evidence, diverged, solved)):
            result.diagnosis = diagnosis
    return results
