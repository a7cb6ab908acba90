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

from xorlab.config import RunConfig, coerce
from xorlab.errors import SpecError


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


class GridSearch(Sequence[RunConfig]):
    """The cartesian product of every swept list (keys sorted, last key fastest) x seeds."""

    def __init__(
        self,
        params: Mapping[str, Sequence[Any]],
        seeds: Sequence[int],
        fixed: Mapping[str, Any],
    ) -> None:
        self.keys = sorted(params)
        self.values = [list(params[k]) for k in self.keys]
        self.seeds = seeds
        self.fixed = dict(fixed)

    def __len__(self) -> int:
        return math.prod(len(v) for v in self.values) * len(self.seeds)

    def __getitem__(self, index: int) -> RunConfig:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        index, seed_index = divmod(index, len(self.seeds))
        swept = {}
        for key, values in zip(reversed(self.keys), reversed(self.values)):
            index, i = divmod(index, len(values))
            swept[key] = values[i]
        return _make_config(self.seeds[seed_index], self.fixed, swept)

    def __iter__(self) -> Iterator[RunConfig]:
        for combo in itertools.product(*self.values):
            swept = dict(zip(self.keys, combo))
            for seed in self.seeds:
                yield _make_config(seed, self.fixed, swept)


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
            configurations.setdefault(tuple(swept.items()), swept)
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
            for seed in self.seeds:
                yield _make_config(seed, self.fixed, swept)
