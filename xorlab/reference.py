"""The readable reference trainer: the tutorial's loop, one run at a time.

forward (keeping the cache Z1, A1, Z2, A2) -> loss -> backpropagation -> update, on the full
batch of samples. The batched engine is tested against this.
"""

from __future__ import annotations

import numpy as np

from xorlab.config import RunConfig
from xorlab.nn import ACTIVATIONS, DTYPES, LOSSES, classified_right, make_problem, sigmoid
from xorlab.result import RunResult, logged_epochs, summarize_curve


def make_model(
    config: RunConfig,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Draw the run's data and its initial parameters W1, b1, W2, b2 (biases zero)."""
    problem = make_problem(
        config.seed, config.samples, config.hidden, config.init_scale, config.noise
    )
    dtype = DTYPES[config.dtype]
    params = {
        "W1": problem.W1.astype(dtype),
        "b1": np.zeros((config.hidden, 1), dtype),
        "W2": problem.W2.astype(dtype),
        "b2": np.zeros((1, 1), dtype),
    }
    return params, problem.X.astype(dtype), problem.y.astype(dtype)


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


def train_reference(config: RunConfig) -> RunResult:
    """Train one run with the tutorial's loop and return its metrics and curve."""
    params, X, y = make_model(config)
    lr = DTYPES[config.dtype](config.lr)
    log_at = set(logged_epochs(config.epochs, config.log_every).tolist())
    epochs, losses, accuracies = [], [], []
    with np.errstate(all="ignore"):
        for epoch in range(config.epochs + 1):
            A2, cache = forward(X, params, config.activation)
            if epoch in log_at:
                epochs.append(epoch)
                losses.append(compute_loss(cache, y, config.loss))
                accuracies.append(float(np.mean(classified_right(A2, y))))
            if epoch == config.epochs:
                break
            grads = backward(X, y, params, cache, config)
            for name in params:
                params[name] -= lr * grads[name]
    finite = all(np.isfinite(p).all() for p in params.values())
    every_pattern = make_problem(config.seed, config.samples, 1, 0.0).holds_every_pattern
    curve = np.array(epochs), np.array(losses), np.array(accuracies)
    return summarize_curve(config, *curve, finite, every_pattern=every_pattern)
