"""Rules a value must meet, each carrying its check and the words that say what is allowed
(scikit-learn's `Interval` / `StrOptions` style), shared by the settings, the spec's other
tables and the command-line options. Imports nothing heavy: the commands load it first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


def shown(value: Any, limit: int = 60) -> str:
    """repr(value) for an error message, cut to `limit` characters (values may be huge)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class FolderName:
    """A results folder name: it can neither escape --out (no '/', not '.' or '..') nor be
    mistaken for an option or a hidden file."""

    max_length: int = 100

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, str)
            and len(value) <= self.max_length
            and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", value) is not None
        )

    @property
    def allowed(self) -> str:
        return (
            f"a folder name of at most {self.max_length} characters: letters, digits, '_', '-'"
            " and '.', not starting with '.' or '-'"
        )


@dataclass(frozen=True)
class Seeds:
    """A count of seeds (0..count-1) or a list of distinct seeds."""

    def accepts(self, value: Any) -> bool:
        seed = Interval(int, 0)
        if isinstance(value, list):
            return bool(value) and all(map(seed.accepts, value)) and len(set(value)) == len(value)
        return Interval(int, 1).accepts(value)

    @property
    def allowed(self) -> str:
        return f"a count >= 1 or a non-empty list of distinct integers from 0 to {INT_MAX}"


@dataclass(frozen=True)
class NonZero:
    """joblib's n_jobs: a worker count, or -1 = all cores, -2 = all but one..."""

    def accepts(self, value: Any) -> bool:
        return is_int(value) and value != 0 and abs(value) <= INT_MAX

    @property
    def allowed(self) -> str:
        return "a non-zero integer (-1 = all cores, -2 = all but one, ...)"


@dataclass(frozen=True)
class Address:
    """A Dask scheduler address."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and (
            value == ""
            or re.fullmatch(r"((tcp|tls|ucx|ws|wss|inproc)://)?[^\s/]+:\d+", value) is not None
        )

    @property
    def allowed(self) -> str:
        return "a Dask scheduler address such as 'tcp://127.0.0.1:8786'"


@dataclass(frozen=True)
class ModuleNames:
    """A list of importable module names."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list) and all(
            isinstance(m, str) and re.fullmatch(r"[A-Za-z_][\w.]*", m) for m in value
        )

    @property
    def allowed(self) -> str:
        return "a list of module names, e.g. ['mypackage.activations']"


def check_value(rule: Any, value: Any) -> Any:
    """`value` if `rule` accepts it (ints allowed for floats), else a ValueError with the rule's
    wording."""
    if isinstance(rule, Interval) and rule.kind is float and is_int(value):
        try:
            value = float(value)
        except OverflowError:  # an integer past the largest float: infinite, refused below
            value = math.inf
    if not rule.accepts(value):
        raise ValueError(f"must be {rule.allowed}, got {shown(value)}")
    return value
