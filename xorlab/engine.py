"""The batched engine: many runs trained in lock-step in one numpy pass.

Runs that share a `RunConfig.batch_key` are stacked along a trailing runs axis, each with its own
seed, data, learning rate, initial scale and activation (each activation is applied to its own
slice of the batch); the math per run is the reference trainer's.

Two exact reductions make it fast:

* Inputs are bits, so the samples hold at most 4 distinct patterns. The full-batch loss and
  gradients are sums over samples, so they equal sums over the 4 patterns weighted by how often
  each occurs. Noisy inputs (``noise > 0``) keep one pattern per sample (the general path).
* The learning rate and the 1/samples of the mean are folded into those weights once, so the
  gradients come out already scaled and the update is one subtraction.

A run's numbers never depend on the batch it is trained in: every operation is elementwise along
the runs axis, and every sum runs over a leading axis, which numpy adds in plain order. (A batch
of one run would make the runs axis vanish and numpy would switch to pairwise sums, so a lone run
is padded with a copy of itself.) No BLAS call is used, since BLAS blocks by matrix size.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from itertools import groupby

import numpy as np

from xorlab.config import RunConfig
from xorlab.nn import (
    ACTIVATIONS,
    DTYPES,
    LOSSES,
    Activation,
    classified_right,
    make_problem,
    sigmoid,
)
from xorlab.result import RunResult, logged_epochs, summarize_curve

# XOR targets of the 4 input patterns (x0, x1) in the order 00, 01, 10, 11.
PATTERN_Y = np.array([0.0, 1.0, 1.0, 0.0])

# Bytes of one (patterns, hidden, runs) work array: a batch's handful of them then stays in the
# L2 cache. Measured on the 2-core development machine: throughput falls on either side.
CACHE_BYTES = 256 * 1024


def batch_size(config: RunConfig) -> int:
    """How many runs of this kind to train at once: as many as keep the work arrays in cache."""
    patterns = config.samples if config.noise > 0 else 4
    elements = CACHE_BYTES // np.dtype(DTYPES[config.dtype]).itemsize
    return max(2, elements // (patterns * config.hidden))


def train_batch(configs: Sequence[RunConfig], keep_weights: bool = False) -> list[RunResult]:
    """Train runs that share one batch_key; results come back in the order given.

    With `keep_weights`, each result also holds its final parameters (W1, b1, W2, b2).
    """
    if len({c.batch_key for c in configs}) > 1:
        raise ValueError("train_batch needs runs that share one batch_key")
    size = batch_size(configs[0]) if configs else 1
    results: list[RunResult] = []
    for start in range(0, len(configs), size):
        results.extend(_train_lockstep(configs[start : start + size], keep_weights))
    return results


class _Data:
    """The training set of a batch, as patterns (P) with per-run weights and inputs."""

    def __init__(self, configs: Sequence[RunConfig], dtype: type) -> None:
        first = configs[0]
        self.reduced = first.noise == 0
        problems = [
            make_problem(c.seed, c.samples, c.hidden, c.init_scale, c.noise) for c in configs
        ]
        samples = np.array([c.samples for c in configs], dtype=np.float64)
        if self.reduced:
            codes = [p.bits[0] * 2 + p.bits[1] for p in problems]
            self.counts = np.stack([np.bincount(code, minlength=4) for code in codes], axis=1)
            self.y = PATTERN_Y[:, None].astype(dtype)  # (4, 1)
        else:
            self.counts = np.ones((first.samples, len(configs)))
            self.y = np.stack([p.y[0] for p in problems], axis=1).astype(dtype)  # (P, M)
            inputs = np.stack([p.X for p in problems], axis=-1).astype(dtype)  # (2, P, M)
            self.x0, self.x1 = inputs[0][:, None, :], inputs[1][:, None, :]
        lr = np.array([c.lr for c in configs])
        self.step_weights = (self.counts * (lr / samples)).astype(dtype)  # (P, M)
        self.mean_weights = (self.counts / samples).astype(dtype)
        self.samples = samples
        self.every_pattern = [p.holds_every_pattern for p in problems]
        self.W1 = np.stack([p.W1 for p in problems], axis=-1)  # (H, 2, M)
        self.W2 = np.stack([p.W2[0] for p in problems], axis=-1)  # (H, M)


def _activation_slices(configs: Sequence[RunConfig]) -> list[tuple[Activation, slice]]:
    """Each activation with the slice of the (activation-sorted) batch that uses it."""
    slices, start = [], 0
    for name, group in groupby(configs, key=lambda c: c.activation):
        stop = start + len(list(group))
        slices.append((ACTIVATIONS[name], slice(start, stop)))
        start = stop
    return slices


def _train_lockstep(configs: Sequence[RunConfig], keep_weights: bool) -> list[RunResult]:
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
    activations = _activation_slices(configs)
    loss = LOSSES[first.loss]
    data = _Data(configs, dtype)
    patterns = data.counts.shape[0]

    # One buffer holds the parameters theta = [W2, b2, W1[:, 0], W1[:, 1], b1] and, for the
    # reduced path, Z1 right after them, so that Z1[0] *is* b1 and the update is one subtraction.
    extra = 3 * H if data.reduced else 0
    buffer = np.zeros((4 * H + 1 + extra, runs), dtype)
    theta = buffer[: 4 * H + 1]
    w, c = theta[:H], theta[H]
    u, v, b = theta[H + 1 : 2 * H + 1], theta[2 * H + 1 : 3 * H + 1], theta[3 * H + 1 :]
    w[:], u[:], v[:] = data.W2, data.W1[:, 0], data.W1[:, 1]
    grad = np.zeros_like(theta)
    gw, gc = grad[:H], grad[H]
    gu, gv, gb = grad[H + 1 : 2 * H + 1], grad[2 * H + 1 : 3 * H + 1], grad[3 * H + 1 :]
    g_hidden = grad[H + 1 :].reshape(3, H, runs)  # gu, gv, gb

    if data.reduced:
        Z1 = buffer[3 * H + 1 :].reshape(4, H, runs)
    else:
        Z1 = np.empty((patterns, H, runs), dtype)
    A1 = np.empty_like(Z1)
    D = np.empty_like(Z1)
    Z2 = np.empty((patterns, runs), dtype)
    A2, E = np.empty_like(Z2), np.empty_like(Z2)
    E3 = E[:, None, :]

    log_at = logged_epochs(first.epochs, first.log_every)
    curve_loss = np.empty((log_at.size, runs))
    curve_accuracy = np.empty((log_at.size, runs))
    is_logged = np.zeros(first.epochs + 1, bool)
    is_logged[log_at] = True
    row = 0
    with np.errstate(all="ignore"):
        for epoch in range(first.epochs + 1):
            # forward: Z1 = W1 x + b1, A1 = g(Z1), Z2 = W2 A1 + b2, A2 = sigmoid(Z2)
            if data.reduced:  # patterns 00, 01, 10, 11; Z1[0] is b1 itself
                np.add(b, v, out=Z1[1])
                np.add(b, u, out=Z1[2])
                np.add(Z1[2], v, out=Z1[3])
            else:
                np.multiply(data.x0, u, out=Z1)
                np.multiply(data.x1, v, out=D)
                np.add(Z1, D, out=Z1)
                np.add(Z1, b, out=Z1)
            for activation, part in activations:
                activation.value(Z1[..., part], out=A1[..., part])
            np.einsum("phm,hm->pm", A1, w, out=Z2)
            np.add(Z2, c, out=Z2)
            sigmoid(Z2, out=A2)
            if is_logged[epoch]:
                per_pattern = loss.value(Z2, A2, data.y)
                curve_loss[row] = (per_pattern * data.mean_weights).sum(axis=0)
                correct = classified_right(A2, data.y)
                curve_accuracy[row] = (correct * data.counts).sum(axis=0) / data.samples
                row += 1
            if epoch == first.epochs:
                break
            # backward, with lr * count / samples folded into E = dLoss/dZ2
            loss.delta(Z2, A2, data.y, out=E)
            np.multiply(E, data.step_weights, out=E)
            np.einsum("phm,pm->hm", A1, E, out=gw)
            for activation, part in activations:
                activation.derivative(Z1[..., part], A1[..., part], out=D[..., part])
            np.multiply(D, E3, out=D)  # D = dLoss/dZ1 without its factor W2 (applied below)
            if data.reduced:  # sums over the 4 patterns, written out
                np.add(E[0], E[1], out=gc)
                np.add(gc, E[2], out=gc)
                np.add(gc, E[3], out=gc)
                np.add(D[2], D[3], out=gu)
                np.add(D[1], D[3], out=gv)
                np.add(gu, D[0], out=gb)
                np.add(gb, D[1], out=gb)
            else:
                np.sum(E, axis=0, out=gc)
                np.einsum("phm,pzm->hm", D, data.x0, out=gu)
                np.einsum("phm,pzm->hm", D, data.x1, out=gv)
                np.sum(D, axis=0, out=gb)
            np.multiply(g_hidden, w, out=g_hidden)
            np.subtract(theta, grad, out=theta)
        finite = np.isfinite(theta).all(axis=0)
    seconds = (time.perf_counter() - start_time) / n_real
    results: list[RunResult] = [None] * n_real  # type: ignore[list-item]
    for i, config in enumerate(configs[:n_real]):
        result = summarize_curve(
            config,
            log_at,
            curve_loss[:, i],
            curve_accuracy[:, i],
            bool(finite[i]),
            seconds,
            data.every_pattern[i],
        )
        if keep_weights:
            result.weights = {
                "W1": np.stack([u[:, i], v[:, i]], axis=1).astype(np.float64),
                "b1": b[:, i, None].astype(np.float64),
                "W2": w[None, :, i].astype(np.float64),
                "b2": np.array([[theta[H, i]]], dtype=np.float64),
            }
        results[order[i]] = result  # back in the order given
    return results
