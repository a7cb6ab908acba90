"""Read and validate a TOML sweep spec into a frozen `Spec`, before anything is trained.

Every problem is a `SpecError` whose message names the file, the key (and its line) and what
is allowed, so the command line can print it as one line.
"""

from __future__ import annotations

import difflib
import importlib
import math
import os
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xorlab.errors import SpecError
from xorlab.execution import BACKENDS, RunOptions
from xorlab.search.maps import parse_basins
from xorlab.search.resolved import to_toml  # noqa: F401 (the spec.toml writer, with the spec)
from xorlab.search.rules import (
    Address,
    FolderName,
    Interval,
    ModuleNames,
    NonZero,
    Options,
    Seeds,
    check_value,
    is_int,
    shown,
)
from xorlab.search.spaces import (
    INTEGER_KINDS,
    SAMPLERS,
    BasinsSearch,
    Distribution,
    GridSearch,
    Map,
    RandomSearch,
)
from xorlab.training.config import SETTINGS, coerce

METHODS = ("grid", "random", "basins")
SECTIONS: dict[str, tuple[str, ...]] = {
    "sweep": ("name", "method", "seeds", "trials", "sampler_seed"),
    "params": tuple(SETTINGS),
    "train": tuple(SETTINGS),
    "basins": ("x", "y", "span", "points"),
    "run": ("n_jobs", "backend", "address", "imports", "timeout"),
}


@dataclass(frozen=True)
class Spec:
    """A validated sweep: what to train (`space()`) and how (`run`)."""

    path: Path
    name: str
    method: str
    seeds: Sequence[int]  # a range when given as a count
    params: Mapping[str, Any]  # setting -> list of values or Distribution
    fixed: Mapping[str, Any]  # every setting not swept -> its value (defaults filled in)
    trials: int | None = None
    sampler_seed: int = 0
    run: RunOptions = field(default_factory=RunOptions)
    map: Map | None = None  # method = "basins": the map every configuration and seed is drawn on

    @property
    def max_runs(self) -> int:
        """How many runs the spec expands to (random search: at most), counted without building
        them: a product of lengths."""
        if self.method != "random":
            grid = math.prod(len(v) for v in self.params.values()) * len(self.seeds)
            return grid * (self.map.points**2 if self.map else 1)
        return (self.trials or 0) * len(self.seeds)

    def space(self) -> GridSearch | RandomSearch | BasinsSearch:
        """Every run of the sweep, in a deterministic order."""
        if self.method == "grid":
            return GridSearch(self.params, self.seeds, self.fixed)
        if self.method == "basins":
            return BasinsSearch(GridSearch(self.params, self.seeds, self.fixed), self.map)
        return RandomSearch(
            self.params, self.trials or 0, self.sampler_seed, self.seeds, self.fixed
        )

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec (defaults filled in), as TOML-ready tables."""
        sweep: dict[str, Any] = {
            "name": self.name,
            "method": self.method,
            "seeds": len(self.seeds) if self.seeds == range(len(self.seeds)) else list(self.seeds),
        }
        if self.method == "random":
            sweep |= {"trials": self.trials, "sampler_seed": self.sampler_seed}
        params = {
            k: (
                {"distribution": v.kind, "low": v.low, "high": v.high}
                if isinstance(v, Distribution)
                else list(v)
            )
            for k, v in self.params.items()
        }
        run = {"n_jobs": self.run.n_jobs, "backend": self.run.backend, "timeout": self.run.timeout}
        if self.run.address:
            run["address"] = self.run.address
        if self.run.imports:
            run["imports"] = list(self.run.imports)
        train = {
            k: v for k, v in self.fixed.items() if _applies_to_some_run(k, self.params, self.fixed)
        }
        tables = {"sweep": sweep, "params": params, "train": train, "run": run}
        if self.map:
            tables["basins"] = self.map.to_dict()
        return tables


class _Reader:
    """Carries the file name and text so each error can point at the key's line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, section: str, key: str | None = None) -> int | None:
        in_section = False
        for number, line in enumerate(self.lines, 1):
            header = re.match(r"\s*\[([^\]]+)\]", line)
            if header:
                in_section = header.group(1).strip() == section
                if in_section and key is None:
                    return number
            elif in_section and key and re.match(rf"\s*{re.escape(key)}\s*=", line):
                return number
        return None

    def error(self, section: str, key: str | None, message: str) -> SpecError:
        line = self.line_of(section, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        name = f"{section}.{key}" if key else f"[{section}]"
        return SpecError(f"{where}: {name}: {message}")


def _did_you_mean(word: str, options: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}allowed: {', '.join(options)}"


MAX_SPEC_BYTES = 1 << 20


def read_small_text(path: Path, what: str, limit: int = MAX_SPEC_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes (a byte-order mark is
    allowed); a FIFO, a device or a huge file is a SpecError, never a hang."""
    try:
        with open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NONBLOCK)) as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise SpecError(f"{path}: cannot read the {what}: not a regular file")
            data = file.read(limit + 1)
    except OSError as error:
        raise SpecError(f"{path}: cannot read the {what}: {error.strerror or error}") from None
    if len(data) > limit:
        raise SpecError(f"{path}: cannot read the {what}: larger than {limit:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SpecError(
            f"{path}: cannot read the {what}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None


def load_spec(path: str | Path) -> Spec:
    """Read, check and resolve a sweep spec; raise SpecError on any problem."""
    path = Path(path)
    text = read_small_text(path, "sweep spec")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: invalid TOML: {error}") from None
    return parse_spec(data, path, text)


def parse_spec(data: Mapping[str, Any], path: Path, text: str = "") -> Spec:
    """Validate a spec already parsed from TOML (see `load_spec`)."""
    reader = _Reader(path, text)
    for section, table in data.items():
        if section not in SECTIONS:
            raise reader.error(
                section,
                None,
                "unknown section; " + _did_you_mean(section, tuple(SECTIONS)),
            )
        if not isinstance(table, Mapping):
            raise reader.error(section, None, "must be a table, e.g. [" + section + "]")
        for key in table:
            if key not in SECTIONS[section]:
                raise reader.error(
                    section,
                    key,
                    "unknown key; " + _did_you_mean(key, SECTIONS[section]),
                )
    run = _parse_run(reader, data.get("run", {}))  # first: its imports may add activations
    name, method, seeds, trials, sampler_seed = _parse_sweep(reader, data.get("sweep", {}))
    params = data.get("params", {})
    train = data.get("train", {})
    swept: dict[str, Any] = {}
    for key, value in params.items():
        if key in train:
            raise reader.error(
                "params",
                key,
                "is both swept in [params] and fixed in [train]; keep one",
            )
        swept[key] = _parse_param(reader, key, value, method)
    fixed: dict[str, Any] = {}
    for key, setting in SETTINGS.items():
        if key in swept:
            continue
        if key in train:
            try:
                fixed[key] = coerce(key, train[key])
            except (TypeError, ValueError) as error:
                raise reader.error("train", key, str(error)) from None
        else:
            fixed[key] = setting.default
    for section, given in (("train", train), ("params", swept)):
        for key in given:
            if not _applies_to_some_run(key, swept, fixed):
                raise reader.error(
                    section,
                    key,
                    f"applies only when {SETTINGS[key].condition}, and no run of this spec has "
                    "that; remove it or set what it depends on",
                )
    basins = parse_basins(reader, data.get("basins"), method, swept, fixed)
    return Spec(path, name, method, seeds, swept, fixed, trials, sampler_seed, run, basins)


def _applies_to_some_run(key: str, swept: Mapping[str, Any], fixed: Mapping[str, Any]) -> bool:
    """Whether some run of the spec has a value for the setting (its conditions are on
    categorical settings, each swept over a list or fixed)."""
    for parent, allowed in SETTINGS[key].when.items():
        possible = swept[parent] if parent in swept else [fixed[parent]]
        if not any(value in allowed for value in possible):
            return False
    return True


SWEEP_RULES: dict[str, Any] = {
    "name": FolderName(),
    "method": Options(METHODS),
    "seeds": Seeds(),
    "trials": Interval(int, 1),
    "sampler_seed": Interval(int, 0),
}
RUN_RULES: dict[str, Any] = {
    "n_jobs": NonZero(),
    "backend": Options(BACKENDS),
    "address": Address(),
    "imports": ModuleNames(),
    "timeout": Interval(float, 0, 86400, low_open=True),
}
RUN_DEFAULTS = RunOptions()


def _parse_sweep(reader: _Reader, sweep: Mapping[str, Any]) -> tuple:
    """[sweep]: name, method, seeds, trials and sampler_seed, each checked."""
    for key, value in sweep.items():
        try:
            check_value(SWEEP_RULES[key], value)
        except ValueError as error:
            raise reader.error("sweep", key, str(error)) from None
    method = sweep.get("method", "grid")
    if method != "random":
        for key in ("trials", "sampler_seed"):
            if key in sweep:
                raise reader.error("sweep", key, "only applies to method = 'random'")
    elif "trials" not in sweep:
        raise reader.error(
            "sweep", None, "method = 'random' needs `trials` (how many configurations to sample)"
        )
    seeds = sweep.get("seeds", 5)
    seeds = range(seeds) if is_int(seeds) else tuple(seeds)  # a range: counted, never built
    name = sweep.get("name", reader.path.stem)
    if "name" not in sweep and not SWEEP_RULES["name"].accepts(name):
        raise reader.error(
            "sweep",
            None,
            f"no name given, and the file's stem {shown(name)} is not {SWEEP_RULES['name'].allowed}; "
            "set [sweep] name",
        )
    return name, method, seeds, sweep.get("trials"), sweep.get("sampler_seed", 0)


def _parse_param(reader: _Reader, key: str, value: Any, method: str) -> list[Any] | Distribution:
    setting = SETTINGS[key]
    if isinstance(value, Mapping):
        if method != "random":
            raise reader.error(
                "params",
                key,
                "distributions need method = 'random'; use a list of values for a grid or maps",
            )
        unknown = set(value) - {"distribution", "low", "high"}
        if unknown or not {"distribution", "low", "high"} <= set(value):
            raise reader.error(
                "params",
                key,
                "a distribution is { distribution = ..., low = ..., high = ... }",
            )
        kinds = tuple(k for k in SAMPLERS if (k in INTEGER_KINDS) == (setting.kind is int))
        if setting.kind not in (int, float) or value["distribution"] not in kinds:
            allowed = (
                "one of " + ", ".join(map(repr, kinds))
                if setting.kind in (int, float)
                else "a list of values"
            )
            raise reader.error(
                "params",
                key,
                f"distribution must be {allowed}, got {shown(value['distribution'])}",
            )
        bounds = (value["low"], value["high"])
        try:
            for bound in bounds:
                check_value(Interval(float), bound)
        except ValueError:
            message = f"low and high must be finite numbers, got {shown(bounds)}"
            raise reader.error("params", key, message) from None
        try:
            distribution = Distribution(value["distribution"], *bounds)
            for bound in bounds:
                coerce(key, setting.kind(bound))
        except (SpecError, TypeError, ValueError) as error:
            raise reader.error("params", key, str(error)) from None
        return distribution
    if not isinstance(value, list):
        raise reader.error(
            "params",
            key,
            f"must be a list of values to try (to fix it, move it to [train]), got {shown(value)}",
        )
    if not value:
        raise reader.error("params", key, "is an empty list; give at least one value")
    try:
        values = [coerce(key, v) for v in value]
    except (TypeError, ValueError) as error:
        raise reader.error("params", key, "every value " + str(error)) from None
    if len(set(values)) != len(values):
        raise reader.error("params", key, f"has repeated values {shown(value)}")
    return values


def _parse_run(reader: _Reader, run: Mapping[str, Any]) -> RunOptions:
    """[run]: how to execute, each key checked; then the imports are imported."""
    values = {}
    for key, value in run.items():
        try:
            values[key] = check_value(RUN_RULES[key], value)
        except ValueError as error:
            raise reader.error("run", key, str(error)) from None
    options = replace(RUN_DEFAULTS, **{**values, "imports": tuple(values.get("imports", ()))})
    if options.address and options.backend != "dask":
        raise reader.error("run", "address", "needs backend = 'dask' (a Dask scheduler address)")
    for module in options.imports:
        try:
            import_plugin(module)
        except ValueError as error:
            raise reader.error("run", "imports", str(error)) from None
    return options


def import_plugin(module: str) -> None:
    """Import a module of [run] imports (it may register activations); ValueError saying why
    it cannot be imported, also when it calls sys.exit."""
    try:
        importlib.import_module(module)
    except (Exception, SystemExit) as error:
        raise ValueError(
            f"cannot import {module!r}: {str(error) or type(error).__name__}"
        ) from None
