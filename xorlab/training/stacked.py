"""A batch's runs stacked along a trailing runs axis: their training set (`StackedData`) and
their network with the work arrays of its forward and backward passes (`StackedNet`); the
engine (`engine`) trains them in lock-step."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby

import numpy as np

from xorlab.training.config import RunConfig
from xorlab.training.nn import (
    ACTIVATIONS,
    Activation,
    make_problem,
    shuffle_generator,
    sigmoid,
)

# XOR targets of the 4 input patterns (x0, x1) in the order 00, 01, 10, 11.
PATTERN_Y = np.array([0.0, 1.0, 1.0, 0.0])


class StackedData:
    """The training set of a batch: rows (the 4 patterns, or every noisy sample) with per-run
    counts, targets and inputs, and the weights of each update."""

    def __init__(self, configs: Sequence[RunConfig], dtype: type) -> None:
        first = configs[0]
        self.dtype = dtype
        self.reduced = first.noise == 0
        problems = [
            make_problem(
                c.seed,
                c.samples,
                c.hidden,
                c.init_scale,
                c.noise,
                c.init,
                c.init_bias,
                c.data,
                c.point,
            )
            for c in configs
        ]
        self.samples = np.array([p.bits.shape[1] for p in problems], dtype=np.float64)
        codes = [p.codes for p in problems]
        pattern_counts = np.stack([np.bincount(c, minlength=4) for c in codes], axis=1)
        self.pattern_present = pattern_counts > 0  # (4, M): 00 01 10 11 in the data
        self.every_pattern = self.pattern_present.all(axis=0).tolist()
        if self.reduced:
            if first.batch_size:  # mini-batches: their runs share a sample count
                self.codes = np.stack(codes, axis=1)  # (samples, M)
            self.counts = pattern_counts
            self.y = PATTERN_Y[:, None].astype(dtype)  # (4, 1)
        else:
            self.counts = np.ones((problems[0].bits.shape[1], len(configs)))
            self.y = np.stack([p.y[0] for p in problems], axis=1).astype(dtype)  # (P, M)
            inputs = np.stack([p.X for p in problems], axis=-1).astype(dtype)  # (2, P, M)
            self.x0, self.x1 = inputs[0][:, None, :], inputs[1][:, None, :]
        self.absent = self.counts == 0  # patterns the solve criterion does not look at
        self.mean_weights = (self.counts / self.samples).astype(dtype)
        self.margin = np.array([c.solve_margin for c in configs], dtype=dtype)
        self.lr = np.array([c.lr for c in configs])
        self.folds_lr = first.optimizer != "adam"
        full_batch = self.mean_weights * self.lr if self.folds_lr else self.mean_weights
        self.full_batch = full_batch.astype(dtype)
        self.batch_size = first.batch_size
        self.shufflers = [shuffle_generator(c.seed) for c in configs] if self.batch_size else []
        self.W1 = np.stack([p.W1 for p in problems], axis=-1)  # (H, 2, M)
        self.W2 = np.stack([p.W2[0] for p in problems], axis=-1)  # (H, M)
        self.b1 = np.stack([p.b1[:, 0] for p in problems], axis=-1)  # (H, M)
        self.b2 = np.array([p.b2[0, 0] for p in problems])  # (M,)

    def columns(self, runs: np.ndarray) -> StackedData:
        """The training set of some of the runs (indices), in float64, for evaluating their
        loss's gradient at given parameters."""
        part = object.__new__(StackedData)
        part.dtype, part.reduced = np.float64, self.reduced
        part.counts = self.counts[:, runs]
        part.mean_weights = self.mean_weights[:, runs].astype(np.float64)
        part.y = (self.y if self.reduced else self.y[:, runs]).astype(np.float64)
        if not self.reduced:
            part.x0, part.x1 = (x[..., runs].astype(np.float64) for x in (self.x0, self.x1))
        return part

    def step_weights(self) -> Iterator[np.ndarray]:
        """The weights of each mini-batch update of one epoch, (rows, M), in a fresh order:
        count in the batch / its size (times lr)."""
        samples = int(self.samples[0])
        order = np.stack([rng.permutation(samples) for rng in self.shufflers], axis=1)
        for start in range(0, samples, self.batch_size):
            rows = order[start : start + self.batch_size]
            if self.reduced:
                codes = np.take_along_axis(self.codes, rows, axis=0)
                counts = np.stack([(codes == c).sum(axis=0) for c in range(4)])
            else:
                counts = np.zeros(self.counts.shape)
                np.put_along_axis(counts, rows, 1.0, axis=0)
            weights = counts / len(rows)
            yield (weights * self.lr if self.folds_lr else weights).astype(self.dtype)


class StackedNet:
    """One set of stacked parameters and the work arrays of its forward and backward passes.

    One buffer holds the parameters theta = [W2, b2, W1[:, 0], W1[:, 1], b1] and, for the
    reduced path, Z1 right after them, so that Z1[0] *is* b1 and an update is one subtraction.
    """

    def __init__(self, data: StackedData, hidden: int, runs: int, activations) -> None:
        H, dtype = hidden, data.dtype
        self.data, self.H, self.activations = data, H, activations
        extra = 3 * H if data.reduced else 0
        self.buffer = np.zeros((4 * H + 1 + extra, runs), dtype)
        self.theta = theta = self.buffer[: 4 * H + 1]
        self.w, self.c = theta[:H], theta[H]
        self.u, self.v = theta[H + 1 : 2 * H + 1], theta[2 * H + 1 : 3 * H + 1]
        self.b = theta[3 * H + 1 :]
        rows = data.counts.shape[0]
        if data.reduced:
            self.Z1 = self.buffer[3 * H + 1 :].reshape(4, H, runs)
        else:
            self.Z1 = np.empty((rows, H, runs), dtype)
        self.A1 = np.empty_like(self.Z1)
        self.D = np.empty_like(self.Z1)
        self.Z2 = np.empty((rows, runs), dtype)
        self.A2, self.E = np.empty_like(self.Z2), np.empty_like(self.Z2)
        self.E3 = self.E[:, None, :]
        self.grad = grad = np.zeros_like(theta)  # the gradient, in theta's layout
        self.gw, self.gc = grad[:H], grad[H]
        self.gu, self.gv = grad[H + 1 : 2 * H + 1], grad[2 * H + 1 : 3 * H + 1]
        self.gb = grad[3 * H + 1 :]
        self.g_hidden = grad[H + 1 :].reshape(3, H, runs)  # gu, gv, gb

    def forward(self) -> None:
        """Z1 = W1 x + b1, A1 = g(Z1), Z2 = W2 A1 + b2, A2 = sigmoid(Z2), on every row."""
        data, Z1, D = self.data, self.Z1, self.D
        if data.reduced:  # patterns 00, 01, 10, 11; Z1[0] is b1 itself
            np.add(self.b, self.v, out=Z1[1])
            np.add(self.b, self.u, out=Z1[2])
            np.add(Z1[2], self.v, out=Z1[3])
        else:
            np.multiply(data.x0, self.u, out=Z1)
            np.multiply(data.x1, self.v, out=D)
            np.add(Z1, D, out=Z1)
            np.add(Z1, self.b, out=Z1)
        for activation, part in self.activations:
            activation.value(Z1[..., part], out=self.A1[..., part])
        np.einsum("phm,hm->pm", self.A1, self.w, out=self.Z2)
        np.add(self.Z2, self.c, out=self.Z2)
        sigmoid(self.Z2, out=self.A2)

    def backward(self, loss, weights: np.ndarray) -> None:
        """The weighted gradient of the last forward pass, into self.grad."""
        data, D, E = self.data, self.D, self.E
        gc, gu, gv, gb = self.gc, self.gu, self.gv, self.gb
        loss.delta(self.Z2, self.A2, data.y, out=E)
        np.multiply(E, weights, out=E)
        np.einsum("phm,pm->hm", self.A1, E, out=self.gw)
        for activation, part in self.activations:
            activation.derivative(self.Z1[..., part], self.A1[..., part], out=D[..., part])
        np.multiply(D, self.E3, out=D)  # D = dLoss/dZ1 without its factor W2 (below)
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
        np.multiply(self.g_hidden, self.w, out=self.g_hidden)


def activation_slices(configs: Sequence[RunConfig]) -> list[tuple[Activation, slice]]:
    """Each activation with the slice of the (activation-sorted) batch that uses it."""
    slices, start = [], 0
    for name, group in groupby(configs, key=lambda c: c.activation):
        stop = start + len(list(group))
        slices.append((ACTIVATIONS[name], slice(start, stop)))
        start = stop
    return slices
