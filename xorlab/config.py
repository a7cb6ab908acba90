"""Training settings: their defaults and rules, one run's configuration, and its stable run_id."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from xorlab.nn import ACTIVATIONS, DTYPES, LOSSES


@dataclass(frozen=True)
class Setting:
    """A training setting: its type, default, the rule a value must meet, and its doc line."""

    kind: type
    default: Any
    check: Callable[[Any], bool]
    allowed: str
    doc: str


def _choice(options: dict) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v in options), "one of " + ", ".join(repr(k) for k in options)


SETTINGS: dict[str, Setting] = {
    "hidden": Setting(int, 2, lambda v: v >= 1, "an integer >= 1", "hidden units"),
    "activation": Setting(
        str, "sigmoid", *_choice(ACTIVATIONS), "hidden-layer activation"
    ),
    "lr": Setting(float, 0.1, lambda v: v > 0, "a number > 0", "learning rate"),
    "epochs": Setting(int, 2000, lambda v: v >= 1, "an integer >= 1", "gradient steps"),
    "samples": Setting(
        int, 1000, lambda v: v >= 1, "an integer >= 1", "training samples"
    ),
    "init_scale": Setting(
        float,
        0.01,
        lambda v: v >= 0,
        "a number >= 0",
        "initial weights ~ randn * init_scale",
    ),
    "loss": Setting(str, "bce", *_choice(LOSSES), "training loss"),
    "log_every": Setting(
        int, 50, lambda v: v >= 1, "an integer >= 1", "curve logging interval (epochs)"
    ),
    "dtype": Setting(str, "float64", *_choice(DTYPES), "floating-point precision"),
    "noise": Setting(
        float,
        0.0,
        lambda v: v >= 0,
        "a number >= 0",
        "std of Gaussian noise added to inputs",
    ),
}


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run depends on: its settings and its seed."""

    seed: int
    hidden: int = SETTINGS["hidden"].default
    activation: str = SETTINGS["activation"].default
    lr: float = SETTINGS["lr"].default
    epochs: int = SETTINGS["epochs"].default
    samples: int = SETTINGS["samples"].default
    init_scale: float = SETTINGS["init_scale"].default
    loss: str = SETTINGS["loss"].default
    log_every: int = SETTINGS["log_every"].default
    dtype: str = SETTINGS["dtype"].default
    noise: float = SETTINGS["noise"].default

    @property
    def run_id(self) -> str:
        """A 12-hex-digit hash of the full configuration: equal runs match across sweeps."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    @property
    def batch_key(self) -> tuple:
        """Runs with equal keys share array shapes and code paths, so they train together."""
        return (
            self.hidden,
            self.activation,
            self.loss,
            self.dtype,
            self.epochs,
            self.log_every,
            self.samples
            if self.noise > 0
            else 0,  # noisy data cannot be reduced to 4 patterns
        )


SETTING_NAMES: tuple[str, ...] = tuple(
    f.name for f in fields(RunConfig) if f.name != "seed"
)
assert set(SETTING_NAMES) == set(SETTINGS)


def coerce(name: str, value: Any) -> Any:
    """Return value as the setting's type, or raise TypeError naming what is allowed."""
    kind = SETTINGS[name].kind
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"must be {SETTINGS[name].allowed}, got {value!r}")
    if not SETTINGS[name].check(value):
        raise ValueError(f"must be {SETTINGS[name].allowed}, got {value!r}")
    return value
