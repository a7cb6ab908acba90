"""Training settings: their defaults and rules, one run's configuration, and its stable run_id."""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from xorlab.search.rules import Interval, Options, Rule, check_value
from xorlab.training.nn import (
    ACTIVATIONS,
    DATA,
    DTYPES,
    INIT_BIASES,
    INITS,
    LOSSES,
    OPTIMIZERS,
    TRUTH_TABLE,
)


@dataclass(frozen=True)
class Setting:
    """A training setting: its type, default, doc line, the rule a value must meet, and when it
    applies (ConfigSpace's conditions as data: `when` maps other settings to the values under
    which this one means something; elsewhere a run has no value for it)."""

    kind: type
    default: Any
    doc: str
    rule: Rule
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    since: str = "0.1"  # settings added later enter the run_id only away from their default

    @property
    def allowed(self) -> str:
        return self.rule.allowed

    def accepts(self, value: Any) -> bool:
        return self.rule.accepts(value)

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether the setting means something for a run with these other settings."""
        return all(
            values.get(name, SETTINGS[name].default) in allowed
            for name, allowed in self.when.items()
        )

    @property
    def condition(self) -> str:
        """ "optimizer is 'momentum', 'nesterov' or 'adam'" style wording of `when`."""

        def one_of(values: tuple) -> str:
            words = [repr(v) for v in values]
            return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]

        return " and ".join(f"{name} is {one_of(allowed)}" for name, allowed in self.when.items())


SETTINGS: dict[str, Setting] = {
    "hidden": Setting(int, 2, "hidden units", Interval(int, 1)),
    "activation": Setting(str, "sigmoid", "hidden-layer activation", Options(ACTIVATIONS)),
    "lr": Setting(float, 0.1, "learning rate", Interval(float, 0, low_open=True)),
    "epochs": Setting(int, 2000, "passes over the training data", Interval(int, 1)),
    "samples": Setting(int, 1000, "training samples", Interval(int, 1), when={"data": ("random",)}),
    "init_scale": Setting(
        float,
        0.01,
        "scale of the initial weights (see init)",
        Interval(float, 0),
        when={"init": ("normal", "uniform")},
    ),
    "loss": Setting(str, "bce", "training loss", Options(LOSSES)),
    "log_every": Setting(int, 50, "curve logging interval in epochs", Interval(int, 1)),
    "dtype": Setting(str, "float64", "floating-point precision", Options(DTYPES)),
    "noise": Setting(float, 0.0, "std of Gaussian noise added to the inputs", Interval(float, 0)),
    "optimizer": Setting(str, "gd", "update rule", Options(OPTIMIZERS), since="0.2"),
    "momentum": Setting(
        float,
        0.9,
        "beta of momentum and nesterov, beta1 of adam",
        Interval(float, 0, 1, high_open=True),
        when={"optimizer": ("momentum", "nesterov", "adam")},
        since="0.2",
    ),
    "batch_size": Setting(
        int, 0, "samples per update (0 = full batch, 1 = online)", Interval(int, 0), since="0.2"
    ),
    "init": Setting(str, "normal", "how the weights are drawn", Options(INITS), since="0.2"),
    "init_bias": Setting(
        str,
        "zero",
        "biases start at zero or are drawn like the weights",
        Options(INIT_BIASES),
        since="0.2",
    ),
    "data": Setting(str, "random", "training inputs", Options(DATA), since="0.2"),
    "solve_margin": Setting(
        float,
        0.5,
        "solved: every output within this of its target",
        Interval(float, 0, 0.5, low_open=True),
        since="0.2",
    ),
}


def applicable(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values with every setting that does not apply to such a run set to None."""
    return {
        name: (value if SETTINGS[name].applies(values) else None) for name, value in values.items()
    }


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Everything one training run depends on: its settings and its seed.

    A setting that does not apply to the run (momentum with optimizer = "gd", init_scale with
    init = "xavier", samples with data = "truth_table") is None, whatever was given. Slotted:
    a sweep of a million runs holds a million of them."""

    seed: int
    hidden: int = SETTINGS["hidden"].default
    activation: str = SETTINGS["activation"].default
    lr: float = SETTINGS["lr"].default
    epochs: int = SETTINGS["epochs"].default
    samples: int | None = SETTINGS["samples"].default
    init_scale: float | None = SETTINGS["init_scale"].default
    loss: str = SETTINGS["loss"].default
    log_every: int = SETTINGS["log_every"].default
    dtype: str = SETTINGS["dtype"].default
    noise: float = SETTINGS["noise"].default
    optimizer: str = SETTINGS["optimizer"].default
    momentum: float | None = SETTINGS["momentum"].default
    batch_size: int = SETTINGS["batch_size"].default
    init: str = SETTINGS["init"].default
    init_bias: str = SETTINGS["init_bias"].default
    data: str = SETTINGS["data"].default
    solve_margin: float = SETTINGS["solve_margin"].default
    # a point of a map of the initial-weight space (method = "basins"; None for other runs):
    # the start is the seed's initial weights moved by offset_x along axis_x and offset_y along
    # axis_y (see `xorlab.training.start`)
    axis_x: str | None = None
    offset_x: float | None = None
    axis_y: str | None = None
    offset_y: float | None = None
    _run_id: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        given = {name: getattr(self, name) for name in SETTINGS}
        for name, setting in SETTINGS.items():
            if not setting.applies(given):
                object.__setattr__(self, name, None)
            elif given[name] is None:  # e.g. from a table row where it did not apply
                object.__setattr__(self, name, setting.default)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RunConfig:
        """The configuration in a record or a table row (numpy scalars become plain values, an
        empty cell None); a setting it lacks (a table of an older release) is at its default."""
        plain = {name: values[name] for name in _FIELDS if name in values}
        return cls(**{k: _plain(v) for k, v in plain.items()})

    @property
    def run_id(self) -> str:
        """A 12-hex-digit hash of the configuration, seed and map coordinates: equal runs match
        across sweeps. Settings that do not apply are left out, and so are settings added after
        0.1 while at their default: a run of 0.1's kind keeps the run_id that 0.1 gave it."""
        if self._run_id is None:
            values = tuple(getattr(self, name) for name in SETTINGS)
            before, after = _identity_text(values, tuple(map(type, values)))
            text = f"{before}{self.seed}{after}{_point_text(self.point)}"
            object.__setattr__(self, "_run_id", hashlib.sha1(text.encode()).hexdigest()[:12])
        return self._run_id

    @property
    def point(self) -> tuple | None:
        """(axis_x, offset_x, axis_y, offset_y) of a run of a map, None for any other run."""
        if self.axis_x is None:
            return None
        return (self.axis_x, self.offset_x, self.axis_y, self.offset_y)

    def at(self, axis_x: str, offset_x: float, axis_y: str, offset_y: float) -> RunConfig:
        """The same configuration and seed started from a point of a map (fast: the axes and
        offsets were checked with the spec)."""
        clone = self.with_seed(self.seed)
        for name, value in zip(COORDINATES, (axis_x, offset_x, axis_y, offset_y)):
            object.__setattr__(clone, name, value)
        return clone

    def with_seed(self, seed: int) -> RunConfig:
        """The same configuration with another seed (fast: no checks to redo)."""
        clone = object.__new__(RunConfig)
        for name in _FIELDS:
            object.__setattr__(clone, name, getattr(self, name))
        object.__setattr__(clone, "seed", seed)
        object.__setattr__(clone, "_run_id", None)
        return clone

    @property
    def patterns(self) -> int:
        """Rows of the training set the engine works on: the 4 XOR patterns (weighted by their
        counts), or every sample when noise makes each one different."""
        if self.noise > 0:
            return self.samples if self.data == "random" else len(TRUTH_TABLE[0])
        return 4

    @property
    def batch_key(self) -> tuple:
        """Runs with equal keys share array shapes and code paths, so they train together
        (activations, learning rates, initializations and margins may differ)."""
        minibatches = self.batch_size > 0
        return (
            self.hidden,
            self.loss,
            self.dtype,
            self.epochs,
            self.log_every,
            self.patterns,
            self.noise > 0,  # noisy rows or the 4 weighted patterns: two code paths
            self.optimizer,
            self.batch_size,
            (self.data, self.samples) if minibatches else None,  # same steps per epoch
        )


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RunConfig) if f.init)
COORDINATES = ("axis_x", "offset_x", "axis_y", "offset_y")  # a map point's columns


def _point_text(point: tuple | None) -> str:
    """A map point's part of the identity text (nothing for a run of another method)."""
    return "" if point is None else json.dumps(point)


def _valid_point(point: tuple) -> bool:
    """Whether stored coordinates are a run's: all empty, or two axis names and two finite
    offsets."""
    if all(value is None for value in point):
        return True
    axis_x, offset_x, axis_y, offset_y = point
    return (
        isinstance(axis_x, str)
        and isinstance(axis_y, str)
        and all(isinstance(o, float) and math.isfinite(o) for o in (offset_x, offset_y))
    )


_SEED_MARK = -987654321987  # stands for the seed in a configuration's identity text


@functools.lru_cache(maxsize=65536)
def _identity_text(values: tuple, types: tuple) -> tuple[str, str]:
    """The JSON identity of a configuration (its settings' `values`, in SETTINGS order) around
    its seed: the text before and after the seed's digits (one JSON dump per configuration,
    not per run; `types` in the key keep 1 and 1.0 apart, as JSON does)."""
    identity: dict[str, Any] = {"seed": _SEED_MARK}
    for (name, setting), value in zip(SETTINGS.items(), values):
        if value is None or (setting.since != "0.1" and value == setting.default):
            continue
        identity[name] = value
    before, _, after = json.dumps(identity, sort_keys=True).partition(str(_SEED_MARK))
    return before, after


def run_ids_of(columns: Mapping[str, Sequence[Any]]) -> list[str | None]:
    """The run_id of each row of a table given as columns (seed, every setting and, if it has
    them, the map coordinates, as stored: None where a setting does not apply); None for a row
    whose settings no configuration has (a value where none applies, or none where one does).
    One configuration is built per distinct row of settings, not per run: a million stored
    runs take about a second."""
    rows = list(zip(*(columns[name] for name in SETTINGS)))
    if all(name in columns for name in COORDINATES):
        points = list(zip(*(columns[name] for name in COORDINATES)))
    else:  # a table of 0.3 or earlier
        points = [(None,) * 4] * len(rows)
    identities: dict[tuple, tuple[str, str] | None] = {}
    ids: list[str | None] = []
    for seed, values, point in zip(columns["seed"], rows, points):
        identity = identities.get(values, False)
        if identity is False:
            config = RunConfig(0, **dict(zip(SETTINGS, values)))
            held = tuple(getattr(config, name) for name in SETTINGS)
            same = held == values and tuple(map(type, held)) == tuple(map(type, values))
            identity = _identity_text(held, tuple(map(type, held))) if same else None
            identities[values] = identity
        if identity is None or not isinstance(seed, int) or not _valid_point(point):
            ids.append(None)
            continue
        where = _point_text(None if point[0] is None else point)
        text = f"{identity[0]}{seed}{identity[1]}{where}"
        ids.append(hashlib.sha1(text.encode()).hexdigest()[:12])
    return ids


SETTING_NAMES: tuple[str, ...] = tuple(n for n in _FIELDS if n != "seed" and n not in COORDINATES)
assert SETTING_NAMES == tuple(SETTINGS)


def coerce(name: str, value: Any) -> Any:
    """Return value as the setting's type (an int for a float setting becomes a float), or
    raise ValueError naming what is allowed."""
    return check_value(SETTINGS[name].rule, value)


def _missing(value: Any) -> bool:
    """None, NaN, or pandas' NA (a nullable integer column's blank)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: its truth is ambiguous
        return True


def format_value(value: Any) -> str:
    """A setting's value as people read it: 4 significant digits (sampled values have ~16),
    integers as integers, an inapplicable (missing) value as '-'."""
    if _missing(value):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
