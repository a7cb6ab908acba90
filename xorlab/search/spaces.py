"""Search spaces: grid and random search produce run configurations; one runner executes them.

Both are sized, deterministic sequences of `RunConfig`: ``len(space)``, iteration and
``space[i]`` agree, and the same spec always gives the same runs in the same order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xorlab.errors import SpecError
from xorlab.training.config import SETTINGS, RunConfig, applicable, coerce


@dataclass(frozen=True)
class Distribution:
    """A continuous or integer range to sample a setting from, checked when built."""

    kind: str
    low: float
    high: float

    def __post_init__(self) -> None:
        if self.kind not in SAMPLERS:
            raise SpecError(f"distribution must be one of {', '.join(map(repr, SAMPLERS))}")
        if not self.low < self.high:
            raise SpecError(f"`low < high` must hold, but got (low={self.low}, high={self.high})")
        if self.kind in ("loguniform", "logint") and self.low <= 0:
            raise SpecError(f"{self.kind} needs low > 0, but got low={self.low}")
        if self.kind in ("int", "logint") and not (
            float(self.low).is_integer() and float(self.high).is_integer()
        ):
            raise SpecError(f"{self.kind} needs integer bounds, got ({self.low}, {self.high})")

    def sample(self, rng: np.random.Generator) -> float | int:
        """One value drawn with `rng`, within [low, high] (exp(log(x)) may round past them)."""
        value = SAMPLERS[self.kind](rng, self.low, self.high)
        return min(max(value, type(value)(self.low)), type(value)(self.high))


def _logint(rng: np.random.Generator, low: float, high: float) -> int:
    value = math.exp(rng.uniform(math.log(low), math.log(high + 1)))
    return min(int(value), int(high))


SAMPLERS = {
    "uniform": lambda rng, low, high: float(rng.uniform(low, high)),
    "loguniform": lambda rng, low, high: float(
        math.exp(rng.uniform(math.log(low), math.log(high)))
    ),
    "int": lambda rng, low, high: int(rng.integers(int(low), int(high), endpoint=True)),
    "logint": _logint,
}
INTEGER_KINDS = ("int", "logint")


def _make_config(seed: int, fixed: Mapping[str, Any], swept: Mapping[str, Any]) -> RunConfig:
    return RunConfig(seed=seed, **fixed, **swept)


def _linked_groups(keys: Sequence[str]) -> list[list[str]]:
    """The swept keys in groups that condition each other (momentum with optimizer, say),
    each group sorted and the groups ordered by their first key; a lone key is its own group."""
    group = {key: {key} for key in keys}
    for key in keys:
        for parent in SETTINGS[key].when:
            if parent in group and group[parent] is not group[key]:
                merged = group[parent] | group[key]
                for member in merged:
                    group[member] = merged
    unique = {id(g): sorted(g) for g in group.values()}
    return sorted(unique.values())


class GridSearch(Sequence[RunConfig]):
    """The cartesian product of every swept list (keys sorted, last key fastest) x seeds.

    Settings that condition each other vary together as one factor, in the place of their first
    key, and their combinations in which a setting does not apply collapse: optimizer
    ["gd", "momentum"] x momentum [0.5, 0.9] is 3 configurations, not 4."""

    def __init__(
        self,
        params: Mapping[str, Sequence[Any]],
        seeds: Sequence[int],
        fixed: Mapping[str, Any],
    ) -> None:
        self.seeds = seeds
        self.fixed = dict(fixed)
        self.factors: list[list[dict[str, Any]]] = []  # each: the distinct partial settings
        self.collapsed: list[tuple[list[str], int, int]] = []  # keys, combinations, distinct
        for keys in _linked_groups(sorted(params)):
            combos = [dict(zip(keys, c)) for c in itertools.product(*(params[k] for k in keys))]
            distinct = {}
            for combo in combos:
                given = applicable({**self.fixed, **combo})
                distinct.setdefault(tuple(given[k] for k in keys), combo)
            if len(distinct) < len(combos):
                self.collapsed.append((keys, len(combos), len(distinct)))
            self.factors.append(list(distinct.values()))

    def __len__(self) -> int:
        return math.prod(len(f) for f in self.factors) * len(self.seeds)

    def __iter__(self) -> Iterator[RunConfig]:
        """Every run in order (as indexing gives them), one configuration checked per group
        of seeds."""
        for combination in itertools.product(*self.factors):
            swept = {}
            for part in combination:
                swept.update(part)
            base = _make_config(self.seeds[0], self.fixed, swept) if len(self.seeds) else None
            for seed in self.seeds:
                yield base.with_seed(seed)

    def __getitem__(self, index: int) -> RunConfig:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        index, seed_index = divmod(index, len(self.seeds))
        swept = {}
        for factor in reversed(self.factors):
            index, i = divmod(index, len(factor))
            swept.update(factor[i])
        return _make_config(self.seeds[seed_index], self.fixed, swept)


class RandomSearch(Sequence[RunConfig]):
    """`trials` configurations drawn with `sampler_seed` (lists: uniform choice), x seeds.

    Keys are drawn in sorted order, trial by trial; a configuration drawn twice is kept once.
    """

    def __init__(
        self,
        params: Mapping[str, Sequence[Any] | Distribution],
        trials: int,
        sampler_seed: int,
        seeds: Sequence[int],
        fixed: Mapping[str, Any],
    ) -> None:
        rng = np.random.default_rng(sampler_seed)
        configurations: dict[tuple, dict[str, Any]] = {}
        for _ in range(trials):
            swept = {}
            for key in sorted(params):
                space = params[key]
                if isinstance(space, Distribution):
                    swept[key] = coerce(key, space.sample(rng))
                else:
                    swept[key] = space[int(rng.integers(len(space)))]
            given = applicable({**fixed, **swept})  # a setting that does not apply is no value
            configurations.setdefault(tuple(given[k] for k in sorted(params)), swept)
        self.configurations = list(configurations.values())
        self.seeds = seeds
        self.fixed = dict(fixed)

    def __len__(self) -> int:
        return len(self.configurations) * len(self.seeds)

    def __getitem__(self, index: int) -> RunConfig:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        trial, seed_index = divmod(index % len(self), len(self.seeds))
        return _make_config(self.seeds[seed_index], self.fixed, self.configurations[trial])

    def __iter__(self) -> Iterator[RunConfig]:
        for swept in self.configurations:
            base = _make_config(self.seeds[0], self.fixed, swept) if len(self.seeds) else None
            for seed in self.seeds:
                yield base.with_seed(seed)


@dataclass(frozen=True)
class Map:
    """A map of the initial-weight space (method = "basins"): axes x and y (weights by name or
    'random', see `xorlab.training.start`), the offsets' span along each, `points` per axis."""

    x: str
    y: str
    span_x: tuple[float, float]
    span_y: tuple[float, float]
    points: int

    @property
    def offsets_x(self) -> list[float]:
        return _offsets(*self.span_x, self.points)

    @property
    def offsets_y(self) -> list[float]:
        return _offsets(*self.span_y, self.points)

    def to_dict(self) -> dict[str, Any]:
        span = [list(self.span_x)] if self.span_x == self.span_y else [self.span_x, self.span_y]
        return {
            "x": self.x,
            "y": self.y,
            "span": list(span[0]) if len(span) == 1 else [list(s) for s in span],
            "points": self.points,
        }


def _offsets(low: float, high: float, points: int) -> list[float]:
    """`points` evenly spaced offsets from low to high; one within rounding of 0 is exactly 0,
    so that the map's point at the base has exactly the base's weights."""
    offsets = np.linspace(low, high, points)
    offsets[np.abs(offsets) <= 1e-12 * (high - low)] = 0.0
    return offsets.tolist()


class BasinsSearch(Sequence[RunConfig]):
    """Every run of a grid (configurations x seeds) started from each point of a map: for each
    configuration and seed, the map's rows (offset_y) in order, each row's points (offset_x) in
    order."""

    def __init__(self, grid: GridSearch, area: Map) -> None:
        self.grid = grid
        self.map = area
        self.xs, self.ys = area.offsets_x, area.offsets_y
        self.per_map = len(self.xs) * len(self.ys)

    def __len__(self) -> int:
        return len(self.grid) * self.per_map

    def __getitem__(self, index: int) -> RunConfig:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        base, point = divmod(index % len(self), self.per_map)
        row, column = divmod(point, len(self.xs))
        return self.grid[base].at(self.map.x, self.xs[column], self.map.y, self.ys[row])

    def __iter__(self) -> Iterator[RunConfig]:
        x, y = self.map.x, self.map.y
        for base in self.grid:
            for offset_y in self.ys:
                for offset_x in self.xs:
                    yield base.at(x, offset_x, y, offset_y)
