"""Read and validate a TOML sweep spec into a frozen `Spec`, before anything is trained.

Every problem is a `SpecError` whose message names the file, the key (and its line) and what
is allowed, so the command line can print it as one line.
"""

from __future__ import annotations

import difflib
import importlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xorlab.config import SETTINGS, coerce
from xorlab.search import (
    INTEGER_KINDS,
    SAMPLERS,
    Distribution,
    GridSearch,
    RandomSearch,
    SpecError,
)

METHODS = ("grid", "random")
BACKENDS = ("loky", "dask")
SECTIONS: dict[str, tuple[str, ...]] = {
    "sweep": ("name", "method", "seeds", "trials", "sampler_seed"),
    "params": tuple(SETTINGS),
    "train": tuple(SETTINGS),
    "run": ("n_jobs", "backend", "address", "imports", "timeout"),
}


@dataclass(frozen=True)
class RunOptions:
    """How to execute a sweep; never changes its numbers."""

    n_jobs: int = -1  # joblib convention: -1 = all cores
    backend: str = "loky"  # "loky" (joblib's processes) or "dask"
    address: str = ""  # Dask scheduler; empty = a local Dask cluster on 127.0.0.1
    imports: tuple[str, ...] = ()  # modules imported first, e.g. to register activations
    timeout: float = 30.0  # seconds to wait for a Dask scheduler and its first worker


@dataclass(frozen=True)
class Spec:
    """A validated sweep: what to train (`space()`) and how (`run`)."""

    path: Path
    name: str
    method: str
    seeds: tuple[int, ...]
    params: Mapping[str, Any]  # setting -> list of values or Distribution
    fixed: Mapping[str, Any]  # every setting not swept -> its value (defaults filled in)
    trials: int | None = None
    sampler_seed: int = 0
    run: RunOptions = field(default_factory=RunOptions)

    def space(self) -> GridSearch | RandomSearch:
        """Every run of the sweep, in a deterministic order."""
        if self.method == "grid":
            return GridSearch(self.params, self.seeds, self.fixed)
        return RandomSearch(
            self.params, self.trials or 0, self.sampler_seed, self.seeds, self.fixed
        )

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec (defaults filled in), as TOML-ready tables."""
        sweep: dict[str, Any] = {
            "name": self.name,
            "method": self.method,
            "seeds": list(self.seeds),
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
        return {"sweep": sweep, "params": params, "train": dict(self.fixed), "run": run}


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


def load_spec(path: str | Path) -> Spec:
    """Read, check and resolve a sweep spec; raise SpecError on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot read the sweep spec: {error}") from None
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
    return Spec(path, name, method, seeds, swept, fixed, trials, sampler_seed, run)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _distinct_seeds(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(_is_int(s) and s >= 0 for s in value)
        and len(set(value)) == len(value)
    )


SWEEP_RULES: dict[str, tuple[Any, str]] = {  # key -> (check, what is allowed)
    "name": (
        lambda v: isinstance(v, str) and re.fullmatch(r"[\w.-]+", v) is not None,
        "a folder name (letters, digits, '_', '-', '.')",
    ),
    "method": (lambda v: v in METHODS, "one of " + ", ".join(map(repr, METHODS))),
    "seeds": (
        lambda v: (_is_int(v) and v >= 1) or _distinct_seeds(v),
        "a count >= 1 or a non-empty list of distinct integers >= 0",
    ),
    "trials": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "sampler_seed": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
}


def _parse_sweep(reader: _Reader, sweep: Mapping[str, Any]) -> tuple:
    """[sweep]: name, method, seeds, trials and sampler_seed, each checked."""
    for key, value in sweep.items():
        ok, allowed = SWEEP_RULES[key]
        if not ok(value):
            raise reader.error("sweep", key, f"must be {allowed}, got {value!r}")
    method = sweep.get("method", "grid")
    if method == "grid":
        for key in ("trials", "sampler_seed"):
            if key in sweep:
                raise reader.error("sweep", key, "only applies to method = 'random'")
    elif "trials" not in sweep:
        raise reader.error(
            "sweep", None, "method = 'random' needs `trials` (how many configurations to sample)"
        )
    seeds = sweep.get("seeds", 5)
    seeds = tuple(range(seeds)) if _is_int(seeds) else tuple(seeds)
    name = sweep.get("name", reader.path.stem)
    return name, method, seeds, sweep.get("trials"), sweep.get("sampler_seed", 0)


def _parse_param(reader: _Reader, key: str, value: Any, method: str) -> list[Any] | Distribution:
    setting = SETTINGS[key]
    if isinstance(value, Mapping):
        if method != "random":
            raise reader.error(
                "params",
                key,
                "distributions need method = 'random'; use a list of values for a grid",
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
                f"distribution must be {allowed}, got {value['distribution']!r}",
            )
        bounds = (value["low"], value["high"])
        if not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds):
            raise reader.error("params", key, f"low and high must be numbers, got {bounds}")
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
            f"must be a list of values to try (to fix it, move it to [train]), got {value!r}",
        )
    if not value:
        raise reader.error("params", key, "is an empty list; give at least one value")
    try:
        values = [coerce(key, v) for v in value]
    except (TypeError, ValueError) as error:
        raise reader.error("params", key, "every value " + str(error)) from None
    if len(set(values)) != len(values):
        raise reader.error("params", key, f"has repeated values {value!r}")
    return values


def _parse_run(reader: _Reader, run: Mapping[str, Any]) -> RunOptions:
    n_jobs = run.get("n_jobs", -1)
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise reader.error(
            "run",
            "n_jobs",
            f"must be a non-zero integer (-1 = all cores), got {n_jobs!r}",
        )
    backend = run.get("backend", "loky")
    if backend not in BACKENDS:
        raise reader.error(
            "run",
            "backend",
            f"must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}",
        )
    address = run.get("address", "")
    if not isinstance(address, str):
        raise reader.error(
            "run",
            "address",
            f"must be a string such as 'tcp://127.0.0.1:8786', got {address!r}",
        )
    if address and backend != "dask":
        raise reader.error("run", "address", "needs backend = 'dask' (a Dask scheduler address)")
    imports = run.get("imports", [])
    if not isinstance(imports, list) or not all(isinstance(m, str) for m in imports):
        raise reader.error("run", "imports", f"must be a list of module names, got {imports!r}")
    timeout = run.get("timeout", 30.0)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise reader.error("run", "timeout", f"must be a number of seconds > 0, got {timeout!r}")
    for module in imports:
        try:
            importlib.import_module(module)
        except Exception as error:
            raise reader.error("run", "imports", f"cannot import {module!r}: {error}") from None
    return RunOptions(n_jobs, backend, address, tuple(imports), float(timeout))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """Write tables of plain values (as `Spec.to_dict` gives) as TOML text."""
    parts = []
    for name, table in tables.items():
        parts.append(f"[{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items()))
    return "\n".join(parts)
