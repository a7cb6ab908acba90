"""Training settings: their defaults and rules, one run's configuration, and its stable run_id."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

from xorlab.nn import ACTIVATIONS, DTYPES, LOSSES


@dataclass(frozen=True)
class Setting:
    """A training setting: its type, default, doc line, and the rule a value must meet
    (a check with its wording, or a registry whose names are the allowed values)."""

    kind: type
    default: Any
    doc: str
    check: Callable[[Any], bool] = lambda value: True
    rule: str = ""
    options: Mapping[str, Any] | None = None

    @property
    def allowed(self) -> str:
        if self.options is not None:  # read at call time: plugins may register more names
            return "one of " + ", ".join(repr(k) for k in self.options)
        return self.rule

    def accepts(self, value: Any) -> bool:
        return value in self.options if self.options is not None else self.check(value)


def _at_least(bound: float, kind: type) -> tuple[Callable[[Any], bool], str]:
    name = "an integer" if kind is int else "a number"
    return (lambda value: value >= bound), f"{name} >= {bound:g}"


SETTINGS: dict[str, Setting] = {
    "hidden": Setting(int, 2, "hidden units", *_at_least(1, int)),
    "activation": Setting(str, "sigmoid", "hidden-layer activation", options=ACTIVATIONS),
    "lr": Setting(float, 0.1, "learning rate", lambda value: value > 0, "a number > 0"),
    "epochs": Setting(int, 2000, "gradient-descent steps", *_at_least(1, int)),
    "samples": Setting(int, 1000, "training samples", *_at_least(1, int)),
    "init_scale": Setting(
        float, 0.01, "initial weights ~ randn * init_scale", *_at_least(0, float)
    ),
    "loss": Setting(str, "bce", "training loss", options=LOSSES),
    "log_every": Setting(int, 50, "curve logging interval in epochs", *_at_least(1, int)),
    "dtype": Setting(str, "float64", "floating-point precision", options=DTYPES),
    "noise": Setting(float, 0.0, "std of Gaussian noise added to the inputs", *_at_least(0, float)),
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
        """The configuration in a record or a table row (numpy scalars become plain values)."""
        plain = {name: values[name] for name in _FIELDS}
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
    """Return value as the setting's type, or raise TypeError naming what is allowed."""
    kind = SETTINGS[name].kind
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"must be {SETTINGS[name].allowed}, got {value!r}")
    if not SETTINGS[name].accepts(value):
        raise ValueError(f"must be {SETTINGS[name].allowed}, got {value!r}")
    return value
