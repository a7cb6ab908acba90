"""The batched engine against the reference loop, and bit-identity whatever the batch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from xorlab.training import engine
from xorlab.training.config import RunConfig
from xorlab.training.engine import train_batch
from xorlab.training.reference import train_reference

WELL_CONDITIONED = [
    RunConfig(seed=s, hidden=h, activation=a, lr=lr, epochs=400, log_every=40, loss=loss)
    for s in (0, 1)
    for h in (2, 5)
    for a in ("sigmoid", "tanh", "relu")
    for lr, loss in ((0.5, "bce"), (1.0, "mse"))
]


def assert_same_numbers(a, b) -> None:
    """Equal bits in every metric and every logged point."""
    assert (a.status, a.solved, a.epochs_to_solve) == (b.status, b.solved, b.epochs_to_solve)
    np.testing.assert_array_equal(a.curve_epoch, b.curve_epoch)
    assert a.curve_loss.tobytes() == b.curve_loss.tobytes()
    assert a.curve_accuracy.tobytes() == b.curve_accuracy.tobytes()


@pytest.mark.parametrize(
    "config", WELL_CONDITIONED, ids=lambda c: f"{c.activation}-h{c.hidden}-{c.loss}-s{c.seed}"
)
def test_engine_matches_reference_loop(config: RunConfig) -> None:
    (batched,) = [r for r in train_batch([config, replace(config, seed=99)]) if r.config == config]
    reference = train_reference(config)
    assert batched.status == reference.status == "ok"
    assert batched.solved == reference.solved
    assert batched.epochs_to_solve == reference.epochs_to_solve
    np.testing.assert_allclose(batched.curve_loss, reference.curve_loss, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(batched.curve_accuracy, reference.curve_accuracy)


def test_noisy_inputs_take_the_general_path_and_match_reference() -> None:
    configs = [
        RunConfig(seed=s, hidden=3, activation="tanh", lr=0.5, samples=50, noise=0.1, epochs=200)
        for s in range(3)
    ]
    for batched, config in zip(train_batch(configs), configs):
        reference = train_reference(config)
        assert batched.solved == reference.solved
        np.testing.assert_allclose(batched.curve_loss, reference.curve_loss, rtol=0, atol=1e-9)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_chaotic_runs_agree_in_status_and_early_loss(activation: str) -> None:
    configs = [
        RunConfig(seed=s, hidden=4, activation=activation, lr=10.0, epochs=300, log_every=10)
        for s in range(4)
    ]
    for batched, config in zip(train_batch(configs), configs):
        reference = train_reference(config)
        assert batched.status == reference.status
        np.testing.assert_allclose(
            batched.curve_loss[:3], reference.curve_loss[:3], rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_a_run_gives_equal_bits_alone_in_a_pair_and_in_a_large_mixed_batch(
    dtype: str, noise: float, monkeypatch
) -> None:
    activations = ("tanh", "relu", "sigmoid")
    configs = [
        RunConfig(
            seed=s,
            hidden=9,
            activation=activations[s % 3],
            lr=0.7 if s < 12 else 3.0,
            epochs=120,
            log_every=7,
            dtype=dtype,
            noise=noise,
            samples=40 if noise else 1000,
        )
        for s in range(40)
    ]
    large = train_batch(configs)
    itemsize = 8 if dtype == "float64" else 4
    monkeypatch.setattr(engine, "CACHE_BYTES", itemsize * 4 * 9 * 3)  # sub-batches of 3 runs
    split = train_batch(configs)
    for index in (4, 5, 6, 31):  # each activation, and a chaotic large-lr run
        alone = train_batch([configs[index]])[0]
        pair = train_batch([configs[index + 1], configs[index]])[1]
        assert alone.config == configs[index] == large[index].config
        for other in (pair, large[index], split[index]):
            assert_same_numbers(alone, other)


def test_a_batch_that_mixes_noise_and_sample_counts_gives_each_run_its_own_numbers() -> None:
    """noise 0 and 0.5 on the truth table (4 rows either way) and full-batch random data of 40
    and 200 samples: a sweep over them batches such runs together; each must keep the numbers
    it has trained alone (0.3 trained a noisy run without its noise in such a batch)."""
    noisy = [
        RunConfig(seed=s, data="truth_table", noise=n, lr=1.0, init_scale=1.0, epochs=200)
        for s in (0, 1)
        for n in (0.0, 0.5)
    ]
    sizes = [
        RunConfig(seed=s, data="random", samples=k, epochs=200) for s in (0, 1) for k in (40, 200)
    ]
    for configs in (noisy, sizes):
        chunks = {}
        for config in configs:  # as a sweep groups them
            chunks.setdefault(config.batch_key, []).append(config)
        for chunk in chunks.values():
            for config, result in zip(chunk, train_batch(chunk)):
                assert_same_numbers(train_batch([config])[0], result)
                assert result.diagnosis == train_batch([config])[0].diagnosis


def test_divergence_is_recorded_not_raised() -> None:
    config = RunConfig(seed=0, hidden=4, activation="relu", lr=1e200, epochs=50)
    (result,) = train_batch([config])
    reference = train_reference(config)
    assert result.status == reference.status == "diverged"
    assert not result.solved


def test_float32_runs_and_mostly_agrees() -> None:
    configs = [
        RunConfig(seed=s, hidden=4, activation="tanh", lr=1.0, epochs=1500, dtype="float32")
        for s in range(8)
    ]
    results32 = train_batch(configs)
    results64 = train_batch([replace(c, dtype="float64") for c in configs])
    assert all(r.status == "ok" for r in results32)
    for r32, r64 in zip(results32, results64):  # the same run, to float32's precision
        np.testing.assert_allclose(r32.curve_loss, r64.curve_loss, rtol=1e-5, atol=1e-6)
        assert r32.solved == r64.solved


def test_mixed_batch_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="batch_key"):
        train_batch([RunConfig(seed=0, hidden=2), RunConfig(seed=0, hidden=3)])


def test_kept_weights_are_the_reference_loops_final_parameters() -> None:
    from xorlab.training.reference import backward, compute_loss, forward, make_model

    config = RunConfig(seed=2, hidden=3, activation="tanh", lr=1.0, epochs=200)
    (result,) = train_batch([config], keep_weights=True)
    params, X, y = make_model(config)
    for _ in range(config.epochs):  # the tutorial's loop, written out
        _, cache = forward(X, params, "tanh")
        grads = backward(X, y, params, cache, config)
        for name in params:
            params[name] -= config.lr * grads[name]
    for name in params:
        np.testing.assert_allclose(result.weights[name], params[name], rtol=1e-9, atol=1e-12)
    _, cache = forward(X, result.weights, "tanh")
    assert abs(compute_loss(cache, y, "bce") - result.final_loss) < 1e-9
