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

INT_MAX = 2**31 - 1  # every integer setting fits numpy's int32 (and no run is that large)


@dataclass(frozen=True)
class Interval:
    """A finite int or float in [low, high] (either end may be open or absent), with its wording:
    the check and the words that tell what is allowed are one object."""

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        high = INT_MAX if self.kind is int and self.high is None else self.high
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return high is None or (value < high if self.high_open else value <= high)

    @property
    def allowed(self) -> str:
        name = "an integer" if self.kind is int else "a finite number"
        low = None if self.low is None else (">" if self.low_open else ">=") + f" {self.low:g}"
        high = None if self.high is None else ("<" if self.high_open else "<=") + f" {self.high:g}"
        if low and high:
            return f"{name} {low} and {high}"
        if self.kind is int:
            return f"{name} {low or ''} (at most {INT_MAX})".replace("  ", " ")
        return f"{name} {low or high}" if (low or high) else name


@dataclass(frozen=True)
class Options:
    """One of the names of a registry (read at call time: plugins may register more)."""

    names: Mapping[str, Any] | tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.names

    @property
    def allowed(self) -> str:
        return "one of " + ", ".join(repr(k) for k in self.names)


Rule = Interval | Options


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
    """Return value as the setting's type, or raise ValueError naming what is allowed."""
    kind = SETTINGS[name].kind
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value) if abs(value) < 2**1023 else math.inf
    if not isinstance(value, kind) or isinstance(value, bool) or not SETTINGS[name].accepts(value):
        raise ValueError(f"must be {SETTINGS[name].allowed}, got {value!r}")
    return value


def format_value(value: Any) -> str:
    """A setting's value as people read it: 4 significant digits (sampled values have ~16),
    integers as integers, an inapplicable (missing) value as '-'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
