"""The update rules of the batched engine, applied to a batch's stacked parameters in place:
plain gradient descent, heavy-ball momentum, Nesterov and Adam (the math per run is the
reference trainer's; see `engine`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xorlab.training.config import RunConfig
from xorlab.training.nn import ADAM_BETA2, ADAM_EPS


class _Optimizer:
    """Plain gradient descent: theta <- theta - lr g (lr already folded into the gradient)."""

    looks_ahead = False

    def __init__(self, configs: Sequence[RunConfig], theta: np.ndarray) -> None:
        self.theta = theta

    def step(self, grad: np.ndarray) -> None:
        np.subtract(self.theta, grad, out=self.theta)


class _Momentum(_Optimizer):
    """Heavy ball (PDP): v <- beta v - lr g; theta <- theta + v."""

    def __init__(self, configs: Sequence[RunConfig], theta: np.ndarray) -> None:
        super().__init__(configs, theta)
        self.beta = np.array([c.momentum for c in configs], dtype=theta.dtype)
        self.velocity = np.zeros_like(theta)

    def step(self, grad: np.ndarray) -> None:
        np.multiply(self.velocity, self.beta, out=self.velocity)
        np.subtract(self.velocity, grad, out=self.velocity)
        np.add(self.theta, self.velocity, out=self.theta)


class _Nesterov(_Momentum):
    """Look-ahead momentum: the gradient is taken at theta + beta v, then as heavy ball."""

    looks_ahead = True

    def look_ahead(self, out: np.ndarray) -> None:
        np.multiply(self.velocity, self.beta, out=out)
        np.add(out, self.theta, out=out)


class _Adam(_Optimizer):
    """Adam with bias correction; the gradient comes without the learning rate.

    The moments are kept unnormalized, M = sum beta1^i g and S = sum beta2^i g^2 (m = (1 -
    beta1) M, s = (1 - beta2) S), and the constant factors are folded into one step size and
    epsilon per update: the same update as theta -= lr m_hat / (sqrt(s_hat) + eps) in 10
    array operations instead of 14 (equal up to rounding)."""

    def __init__(self, configs: Sequence[RunConfig], theta: np.ndarray) -> None:
        super().__init__(configs, theta)
        self.beta1 = np.array([c.momentum for c in configs])
        self.lr = np.array([c.lr for c in configs])
        self.M, self.S = np.zeros_like(theta), np.zeros_like(theta)
        self.work = np.empty_like(theta)
        self.t = 0

    def step(self, grad: np.ndarray) -> None:
        self.t += 1
        M, S, work, dtype = self.M, self.S, self.work, self.theta.dtype
        root = np.sqrt((1 - ADAM_BETA2) / (1 - ADAM_BETA2**self.t))  # sqrt(s_hat / S)
        size = (self.lr * (1 - self.beta1) / (1 - self.beta1**self.t) / root).astype(dtype)
        np.multiply(M, self.beta1.astype(dtype), out=M)
        np.add(M, grad, out=M)
        np.multiply(S, ADAM_BETA2, out=S)
        np.multiply(grad, grad, out=work)
        np.add(S, work, out=S)
        np.sqrt(S, out=work)
        np.add(work, dtype.type(ADAM_EPS / root), out=work)
        np.divide(M, work, out=work)
        np.multiply(work, size, out=work)
        np.subtract(self.theta, work, out=self.theta)


OPTIMIZER_STEPS: dict[str, type[_Optimizer]] = {
    "gd": _Optimizer,
    "momentum": _Momentum,
    "nesterov": _Nesterov,
    "adam": _Adam,
}
