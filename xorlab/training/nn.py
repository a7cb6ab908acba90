"""The math of the tutorial's XOR net: activations, losses, data and initial weights.

Every function writes into ``out`` when given one, so the batched engine can run without
allocating; the reference trainer calls the same functions without ``out``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


def _sigmoid(z: Array, out: Array | None = None) -> Array:
    """sigma(z) = 1 / (1 + exp(-z)), computed as 0.5 + 0.5 tanh(z / 2): no overflow for any z."""
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    np.multiply(out, 0.5, out=out)
    return np.add(out, 0.5, out=out)


def _sigmoid_derivative(z: Array, a: Array, out: Array | None = None) -> Array:
    """sigma'(z) = a (1 - a) with a = sigma(z)."""
    out = np.subtract(1.0, a, out=out)
    return np.multiply(out, a, out=out)


def _tanh(z: Array, out: Array | None = None) -> Array:
    """tanh(z)."""
    return np.tanh(z, out=out)


def _tanh_derivative(z: Array, a: Array, out: Array | None = None) -> Array:
    """tanh'(z) = 1 - a^2 with a = tanh(z)."""
    out = np.multiply(a, a, out=out)
    return np.subtract(1.0, out, out=out)


def _relu(z: Array, out: Array | None = None) -> Array:
    """relu(z) = max(z, 0)."""
    return np.maximum(z, 0.0, out=out)


def _relu_derivative(z: Array, a: Array, out: Array | None = None) -> Array:
    """relu'(z) = 1 where z > 0, else 0 (0 at z = 0, as in the tutorial's backprop)."""
    if out is None:
        return (z > 0).astype(z.dtype)
    return np.greater(z, 0.0, out=out, casting="unsafe")


@dataclass(frozen=True)
class Activation:
    """A hidden-layer activation: its value and its derivative (given z and the value a)."""

    value: Callable[..., Array]
    derivative: Callable[..., Array]


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(_sigmoid, _sigmoid_derivative),
    "tanh": Activation(_tanh, _tanh_derivative),
    "relu": Activation(_relu, _relu_derivative),
}

sigmoid = _sigmoid


def _bce(z: Array, a: Array, y: Array) -> Array:
    """Binary cross-entropy per sample, from the logit z: max(z,0) - z y + log(1 + exp(-|z|)).

    Equal to -(y log a + (1-y) log(1-a)) but never takes log(0), whatever z is.
    """
    return np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))


def _bce_delta(z: Array, a: Array, y: Array, out: Array | None = None) -> Array:
    """d bce / d z = a - y (the sigmoid output and cross-entropy cancel)."""
    return np.subtract(a, y, out=out)


def _mse(z: Array, a: Array, y: Array) -> Array:
    """Squared error per sample, (a - y)^2: the tutorial's 'regression approach'."""
    return (a - y) ** 2


def _mse_delta(z: Array, a: Array, y: Array, out: Array | None = None) -> Array:
    """d mse / d z = 2 (a - y) a (1 - a)."""
    out = np.subtract(a, y, out=out)
    np.multiply(out, a, out=out)
    np.multiply(out, 2.0, out=out)
    return np.multiply(out, 1.0 - a, out=out)


@dataclass(frozen=True)
class Loss:
    """A per-sample loss of the output logit z (a = sigmoid(z)) and its derivative in z."""

    value: Callable[[Array, Array, Array], Array]
    delta: Callable[..., Array]


LOSSES: dict[str, Loss] = {
    "bce": Loss(_bce, _bce_delta),
    "mse": Loss(_mse, _mse_delta),
}


def classified_right(a: Array, y: Array) -> Array:
    """Whether each output is on its target's side of 0.5 (an output of exactly 0.5 is on
    neither side: it is wrong for both targets)."""
    return np.where(y > 0.5, a > 0.5, a < 0.5)


DTYPES: dict[str, type] = {"float64": np.float64, "float32": np.float32}


OPTIMIZERS: dict[str, str] = {  # name -> update rule (engine.py and reference.py implement it)
    "gd": "theta <- theta - lr g",
    "momentum": "v <- beta v - lr g; theta <- theta + v (heavy ball, as in PDP)",
    "nesterov": "v <- beta v - lr g(theta + beta v); theta <- theta + v (look-ahead form)",
    "adam": "Adam with bias correction: beta1 = momentum, beta2 = 0.999, eps = 1e-8",
}
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8


def _normal(rng: np.random.Generator, shape: tuple, fan_in: int, fan_out: int, scale: float):
    return rng.standard_normal(shape) * scale


def _uniform(rng: np.random.Generator, shape: tuple, fan_in: int, fan_out: int, scale: float):
    return rng.uniform(-scale, scale, shape)


def _xavier(rng: np.random.Generator, shape: tuple, fan_in: int, fan_out: int, scale: float):
    limit = np.sqrt(6.0 / (fan_in + fan_out))  # Glorot & Bengio (2010), uniform
    return rng.uniform(-limit, limit, shape)


def _he(rng: np.random.Generator, shape: tuple, fan_in: int, fan_out: int, scale: float):
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)  # He et al. (2015), normal


# name -> draw(rng, shape, fan_in, fan_out, init_scale): a layer's initial weights
INITS: dict[str, Callable[..., Array]] = {
    "normal": _normal,  # randn * init_scale (the tutorial)
    "uniform": _uniform,  # U[-init_scale, init_scale)
    "xavier": _xavier,  # U[-a, a), a = sqrt(6 / (fan_in + fan_out)); init_scale unused
    "he": _he,  # randn * sqrt(2 / fan_in); init_scale unused
}
INIT_BIASES = ("zero", "same")  # biases start at zero, or are drawn like their layer's weights
TRUTH_TABLE = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=np.uint8)  # the 4 patterns, once


def _random_bits(rng: np.random.Generator, samples: int) -> Array:
    words = rng.bit_generator.random_raw((2 * samples + 63) // 64)  # 64 fair bits each
    bits = np.unpackbits(words.view(np.uint8), bitorder="little")[: 2 * samples]
    return bits.reshape(2, samples)


# name -> bits(rng, samples): the training inputs, (2, samples) uint8
DATA: dict[str, Callable[[np.random.Generator, int], Array]] = {
    "random": _random_bits,  # `samples` random bit pairs (the tutorial)
    "truth_table": lambda rng, samples: TRUTH_TABLE.copy(),  # 00, 01, 10, 11 once each
}


@dataclass
class Problem:
    """One run's data and initial parameters, drawn from its seed alone.

    Draw order: the input bits (random data: raw 64-bit words of the generator, least
    significant bit first), then (only when noise > 0) the input noise, then W1, then W2, then
    (only when biases are drawn) b1, then b2.
    """

    bits: Array  # (2, samples) uint8 input bits, features row-wise as in the tutorial
    noise: Array | None  # (2, samples) Gaussian input noise, or None for clean bits
    W1: Array  # (hidden, 2)
    W2: Array  # (1, hidden)
    b1: Array  # (hidden, 1)
    b2: Array  # (1, 1)

    @property
    def X(self) -> Array:
        """The inputs, (2, samples)."""
        X = self.bits.astype(np.float64)
        return X if self.noise is None else X + self.noise

    @property
    def codes(self) -> Array:
        """Each sample's pattern: 0 = 00, 1 = 01, 2 = 10, 3 = 11."""
        return self.bits[0] * 2 + self.bits[1]

    @property
    def holds_every_pattern(self) -> bool:
        """Whether the inputs hold all four XOR patterns: only then does being right on every
        sample mean computing XOR (one sample is fit by a constant)."""
        return bool(np.all(np.bincount(self.codes, minlength=4) > 0))

    @property
    def y(self) -> Array:
        """The targets X0 xor X1, (1, samples)."""
        return np.bitwise_xor(self.bits[0:1], self.bits[1:2]).astype(np.float64)


def make_problem(
    seed: int,
    samples: int | None,
    hidden: int,
    init_scale: float | None,
    noise: float = 0.0,
    init: str = "normal",
    init_bias: str = "zero",
    data: str = "random",
    point: tuple | None = None,
) -> Problem:
    """Draw the data and initial parameters of one run; a run of a map (`point`: axis_x,
    offset_x, axis_y, offset_y) starts from them moved to its point (`xorlab.training.start`)."""
    rng = np.random.default_rng(seed)
    bits = DATA[data](rng, samples or 0)
    input_noise = noise * rng.standard_normal(bits.shape) if noise > 0 else None
    draw, scale = INITS[init], init_scale or 0.0
    W1 = draw(rng, (hidden, 2), 2, hidden, scale)
    W2 = draw(rng, (1, hidden), hidden, 1, scale)
    if init_bias == "same":
        b1, b2 = draw(rng, (hidden, 1), 2, hidden, scale), draw(rng, (1, 1), hidden, 1, scale)
    else:
        b1, b2 = np.zeros((hidden, 1)), np.zeros((1, 1))
    if point is not None:
        from xorlab.training.start import moved

        W1, b1, W2, b2 = moved((W1, b1, W2, b2), seed, hidden, point)
    return Problem(bits, input_noise, W1, W2, b1, b2)


def shuffle_generator(seed: int) -> np.random.Generator:
    """The generator of a run's mini-batch order: its own stream, apart from its data and
    weights (so that a full-batch run draws exactly what it always did)."""
    return np.random.default_rng([seed, 1])
