"""The readable reference trainer: the tutorial's loop, one run at a time.

forward (keeping the cache Z1, A1, Z2, A2) -> loss -> backpropagation -> update, on the full
batch of samples or on each mini-batch, with plain gradient descent, momentum, Nesterov or Adam.
Every epoch the outputs on the whole training set are checked against the solve criterion. The
batched engine is tested against this.
"""

from __future__ import annotations

import numpy as np

from xorlab.training.config import RunConfig
from xorlab.training.nn import (
    ACTIVATIONS,
    ADAM_BETA2,
    ADAM_EPS,
    DTYPES,
    LOSSES,
    classified_right,
    make_problem,
    shuffle_generator,
    sigmoid,
)
from xorlab.training.result import RunResult, logged_epochs, summarize_curve


def make_model(
    config: RunConfig,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Draw the run's data and its initial parameters W1, b1, W2, b2."""
    problem = draw_problem(config)
    dtype = DTYPES[config.dtype]
    params = {name: getattr(problem, name).astype(dtype) for name in ("W1", "b1", "W2", "b2")}
    return params, problem.X.astype(dtype), problem.y.astype(dtype)


def draw_problem(config: RunConfig):
    """The run's data and initial parameters, as nn.make_problem draws them."""
    c = config
    return make_problem(
        c.seed, c.samples, c.hidden, c.init_scale, c.noise, c.init, c.init_bias, c.data, c.point
    )


def forward(X: np.ndarray, params: dict, activation: str) -> tuple[np.ndarray, dict]:
    """Forward pass; returns the output and the cache needed by backpropagation."""
    Z1 = np.dot(params["W1"], X) + params["b1"]
    A1 = ACTIVATIONS[activation].value(Z1)
    Z2 = np.dot(params["W2"], A1) + params["b2"]
    A2 = sigmoid(Z2)
    return A2, {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def compute_loss(cache: dict, y: np.ndarray, loss: str) -> float:
    """Mean loss over the samples."""
    return float(np.mean(LOSSES[loss].value(cache["Z2"], cache["A2"], y)))


def backward(X: np.ndarray, y: np.ndarray, params: dict, cache: dict, config: RunConfig) -> dict:
    """Gradients of the mean loss with respect to every parameter."""
    n = X.shape[1]
    dZ2 = LOSSES[config.loss].delta(cache["Z2"], cache["A2"], y) / n
    dW2 = np.dot(dZ2, cache["A1"].T)
    db2 = np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(params["W2"].T, dZ2)
    dZ1 = dA1 * ACTIVATIONS[config.activation].derivative(cache["Z1"], cache["A1"])
    dW1 = np.dot(dZ1, X.T)
    db1 = np.sum(dZ1, axis=1, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def minibatches(config: RunConfig, samples: int, shuffle) -> list[np.ndarray]:
    """The sample indices of each update of one epoch: all of them, or mini-batches of
    `batch_size` in a fresh random order (the last one may be smaller)."""
    if not config.batch_size:
        return [np.arange(samples)]
    order = shuffle.permutation(samples)
    return [order[i : i + config.batch_size] for i in range(0, samples, config.batch_size)]


class Optimizer:
    """The update rules, one run at a time, as the textbooks write them."""

    def __init__(self, config: RunConfig, params: dict) -> None:
        self.config = config
        self.velocity = {name: np.zeros_like(p) for name, p in params.items()}  # also Adam's m
        self.squares = {name: np.zeros_like(p) for name, p in params.items()}  # Adam's s
        self.t = 0

    def gradient_point(self, params: dict) -> dict:
        """Where the gradient is taken: the parameters, or Nesterov's look-ahead point."""
        if self.config.optimizer != "nesterov":
            return params
        beta = self.config.momentum
        return {name: params[name] + beta * self.velocity[name] for name in params}

    def update(self, params: dict, grads: dict) -> None:
        lr, beta, name_ = self.config.lr, self.config.momentum, self.config.optimizer
        self.t += 1
        for name in params:
            g = grads[name]
            if name_ == "gd":
                params[name] -= lr * g
            elif name_ in ("momentum", "nesterov"):
                self.velocity[name] = beta * self.velocity[name] - lr * g
                params[name] += self.velocity[name]
            else:  # adam
                m = self.velocity[name] = beta * self.velocity[name] + (1 - beta) * g
                s = self.squares[name] = ADAM_BETA2 * self.squares[name] + (1 - ADAM_BETA2) * g * g
                m_hat, s_hat = m / (1 - beta**self.t), s / (1 - ADAM_BETA2**self.t)
                params[name] -= lr * m_hat / (np.sqrt(s_hat) + ADAM_EPS)


def train_reference(config: RunConfig) -> RunResult:
    """Train one run with the tutorial's loop and return its metrics and curve."""
    params, X, y = make_model(config)
    optimizer = Optimizer(config, params)
    shuffle = shuffle_generator(config.seed)
    log_at = set(logged_epochs(config.epochs, config.log_every).tolist())
    epochs, losses, accuracies = [], [], []
    solved_since = None
    with np.errstate(all="ignore"):
        for epoch in range(config.epochs + 1):
            A2, cache = forward(X, params, config.activation)
            within = bool(np.all(np.abs(A2 - y) < config.solve_margin))
            if not within:
                solved_since = None
            elif solved_since is None:
                solved_since = epoch
            if epoch in log_at:
                epochs.append(epoch)
                losses.append(compute_loss(cache, y, config.loss))
                accuracies.append(float(np.mean(classified_right(A2, y))))
            if epoch == config.epochs:
                break
            for batch in minibatches(config, X.shape[1], shuffle):
                point = optimizer.gradient_point(params)
                _, cache = forward(X[:, batch], point, config.activation)
                grads = backward(X[:, batch], y[:, batch], point, cache, config)
                optimizer.update(params, grads)
    finite = all(np.isfinite(p).all() for p in params.values())
    curve = np.array(epochs), np.array(losses), np.array(accuracies)
    every_pattern = draw_problem(config).holds_every_pattern
    return summarize_curve(
        config, *curve, finite, every_pattern=every_pattern, solved_since=solved_since
    )
