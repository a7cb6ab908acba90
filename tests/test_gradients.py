"""Backpropagation of the reference trainer against central finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from xorlab.training.config import RunConfig
from xorlab.training.nn import ACTIVATIONS, LOSSES
from xorlab.training.reference import backward, compute_loss, forward, make_model


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_gradients_match_finite_differences(activation: str, loss: str) -> None:
    config = RunConfig(
        seed=3, hidden=5, activation=activation, loss=loss, samples=64, init_scale=1.0
    )
    params, X, y = make_model(config)
    params["b1"] += np.linspace(-0.3, 0.4, config.hidden)[:, None]  # away from relu's kink at 0
    params["b2"] += 0.2
    _, cache = forward(X, params, activation)
    grads = backward(X, y, params, cache, config)
    eps = 1e-6
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + eps
            up = compute_loss(forward(X, params, activation)[1], y, loss)
            value[index] = original - eps
            down = compute_loss(forward(X, params, activation)[1], y, loss)
            value[index] = original
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activation_derivatives_match_finite_differences(activation: str) -> None:
    z = np.linspace(-4, 4, 81) + 0.013  # avoid relu's kink at exactly 0
    act = ACTIVATIONS[activation]
    eps = 1e-6
    numeric = (act.value(z + eps) - act.value(z - eps)) / (2 * eps)
    np.testing.assert_allclose(act.derivative(z, act.value(z)), numeric, rtol=1e-6, atol=1e-9)


def test_sigmoid_is_stable_for_large_inputs() -> None:
    z = np.array([-1e6, -800.0, 0.0, 800.0, 1e6])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = ACTIVATIONS["sigmoid"].value(z)
        loss = LOSSES["bce"].value(z, a, np.array([1.0, 0, 1, 0, 1]))
    np.testing.assert_array_equal(a, [0.0, 0.0, 0.5, 1.0, 1.0])
    assert np.isfinite(loss).all()
