"""Training settings: their defaults and rules, one run's configuration, and its stable run_id."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

from xorlab.nn import ACTIVATIONS, DTYPES, LOSSES
from xorlab.rules import Interval, Options, Rule, check_value


@dataclass(frozen=True)
class Setting:
    """A training setting: its type, default, doc line, and the rule a value must meet."""

    kind: type
    default: Any
    doc: str
    rule: Rule

    @property
    def allowed(self) -> str:
        return self.rule.allowed

    def accepts(self, value: Any) -> bool:
        return self.rule.accepts(value)


SETTINGS: dict[str, Setting] = {
    "hidden": Setting(int, 2, "hidden units", Interval(int, 1)),
    "activation": Setting(str, "sigmoid", "hidden-layer activation", Options(ACTIVATIONS)),
    "lr": Setting(float, 0.1, "learning rate", Interval(float, 0, low_open=True)),
    "epochs": Setting(int, 2000, "gradient-descent steps", Interval(int, 1)),
    "samples": Setting(int, 1000, "training samples", Interval(int, 1)),
    "init_scale": Setting(float, 0.01, "initial weights ~ randn * init_scale", Interval(float, 0)),
    "loss": Setting(str, "bce", "training loss", Options(LOSSES)),
    "log_every": Setting(int, 50, "curve logging interval in epochs", Interval(int, 1)),
    "dtype": Setting(str, "float64", "floating-point precision", Options(DTYPES)),
    "noise": Setting(float, 0.0, "std of Gaussian noise added to the inputs", Interval(float, 0)),
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

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RunConfig:
        """The configuration in a record or a table row (numpy scalars become plain values);
        a setting it lacks (a table of an older release) is at its default."""
        plain = {name: values[name] for name in _FIELDS if name in values}
        return cls(**{k: v.item() if hasattr(v, "item") else v for k, v in plain.items()})

    @cached_property
    def run_id(self) -> str:
        """A 12-hex-digit hash of the full configuration: equal runs match across sweeps."""
        text = json.dumps({name: getattr(self, name) for name in _FIELDS}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    @property
    def batch_key(self) -> tuple:
        """Runs with equal keys share array shapes and code paths, so they train together
        (activations may differ: the engine applies each to its own slice of the batch)."""
        return (
            self.hidden,
            self.loss,
            self.dtype,
            self.epochs,
            self.log_every,
            self.samples if self.noise > 0 else 0,  # noisy data cannot be reduced to 4 patterns
        )


_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RunConfig))
SETTING_NAMES: tuple[str, ...] = tuple(name for name in _FIELDS if name != "seed")
assert set(SETTING_NAMES) == set(SETTINGS)


def coerce(name: str, value: Any) -> Any:
    """Return value as the setting's type (an int for a float setting becomes a float), or
    raise ValueError naming what is allowed."""
    return check_value(SETTINGS[name].rule, value)


def format_value(value: Any) -> str:
    """A setting's value as people read it: 4 significant digits (sampled values have ~16),
    integers as integers, an inapplicable (missing) value as '-'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
