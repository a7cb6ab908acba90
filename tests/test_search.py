"""Search spaces: sizes, order, indexing, sampling bounds, reproducibility, run_id stability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xorlab.search.spaces import Distribution, GridSearch, RandomSearch, SpecError
from xorlab.search.spec import load_spec, parse_spec
from xorlab.training.config import RunConfig

REPO = Path(__file__).resolve().parents[1]


def test_grid_is_the_product_in_sorted_key_order_with_seeds_fastest() -> None:
    grid = GridSearch({"lr": [0.1, 1.0], "hidden": [2, 4, 8]}, seeds=[0, 7], fixed={})
    assert len(grid) == 2 * 3 * 2
    items = list(grid)
    assert items == [grid[i] for i in range(len(grid))]
    assert [(c.hidden, c.lr, c.seed) for c in items[:5]] == [
        (2, 0.1, 0),
        (2, 0.1, 7),
        (2, 1.0, 0),
        (2, 1.0, 7),
        (4, 0.1, 0),
    ]
    assert grid[-1] == items[-1]
    assert grid.collapsed == []  # nothing conditions anything here
    with pytest.raises(IndexError):
        grid[len(grid)]


def test_random_search_is_reproducible_within_bounds_and_deduplicated() -> None:
    params = {
        "lr": Distribution("loguniform", 0.001, 10.0),
        "hidden": Distribution("int", 2, 5),
        "init_scale": Distribution("uniform", 0.01, 1.0),
        "epochs": Distribution("logint", 10, 1000),
        "activation": ["tanh", "relu"],
    }
    a = RandomSearch(params, trials=200, sampler_seed=3, seeds=[0, 1], fixed={})
    b = RandomSearch(params, trials=200, sampler_seed=3, seeds=[0, 1], fixed={})
    assert list(a) == list(b) == [a[i] for i in range(len(a))]
    assert list(a) != list(RandomSearch(params, trials=200, sampler_seed=4, seeds=[0, 1], fixed={}))
    for config in a:
        assert (
            0.001 <= config.lr <= 10.0 and 2 <= config.hidden <= 5 and 10 <= config.epochs <= 1000
        )
        assert 0.01 <= config.init_scale <= 1.0 and config.activation in ("tanh", "relu")
        assert isinstance(config.hidden, int) and isinstance(config.epochs, int)
    assert {c.hidden for c in a} == {2, 3, 4, 5}
    small = RandomSearch(
        {"activation": ["tanh", "relu"]}, trials=50, sampler_seed=0, seeds=[0], fixed={}
    )
    assert len(small) == 2  # a configuration drawn twice is one configuration


def test_run_id_depends_on_the_full_configuration_only() -> None:
    config = RunConfig(seed=3, hidden=8, activation="tanh", lr=1.0)
    assert config.run_id == RunConfig(seed=3, hidden=8, activation="tanh", lr=1.0).run_id
    assert config.run_id == "97b6ed0e9980"  # stable across versions: results match across sweeps
    assert config.run_id != RunConfig(seed=4, hidden=8, activation="tanh", lr=1.0).run_id
    assert config.run_id != RunConfig(seed=3, hidden=8, activation="tanh", lr=1.0, epochs=10).run_id


def test_example_specs_load() -> None:
    for name in ("grid", "grid600", "random", "bench"):
        spec = load_spec(REPO / "sweeps" / f"{name}.toml")
        assert len(spec.space()) > 0
    assert len(load_spec(REPO / "sweeps" / "bench.toml").space()) == 1200


@pytest.mark.parametrize(
    "kind, low, high, message",
    [
        ("uniform", 5, 1, "low < high"),
        ("loguniform", 0, 1, "low > 0"),
        ("int", 1.5, 4, "integer bounds"),
        ("normal", 0, 1, "one of"),
    ],
)
def test_distributions_check_themselves(kind, low, high, message) -> None:
    with pytest.raises(SpecError, match=message):
        Distribution(kind, low, high)


def test_random_spec_resolves_to_the_same_runs(tmp_path: Path) -> None:
    spec = load_spec(REPO / "sweeps" / "random.toml")
    assert list(spec.space()) == list(load_spec(REPO / "sweeps" / "random.toml").space())
    again = parse_spec(spec.to_dict(), tmp_path / "random.toml")
    assert list(again.space()) == list(spec.space())


def _draws(kind: str, low: float, high: float, n: int = 4000) -> np.ndarray:
    from xorlab.search.spaces import Distribution

    rng = np.random.default_rng(123)
    distribution = Distribution(kind, low, high)
    return np.array([distribution.sample(rng) for _ in range(n)])


def test_uniform_and_loguniform_draw_their_distributions() -> None:
    """Kolmogorov-Smirnov with a fixed seed: uniform in value, loguniform uniform in log."""
    from scipy import stats

    draws = _draws("uniform", 0.5, 2.0)
    assert stats.kstest(draws, "uniform", args=(0.5, 1.5)).pvalue > 0.01
    logs = np.log(_draws("loguniform", 1e-3, 10.0))
    low, high = np.log(1e-3), np.log(10.0)
    assert stats.kstest(logs, "uniform", args=(low, high - low)).pvalue > 0.01
    assert (
        stats.kstest(_draws("uniform", 1e-3, 10.0), "loguniform", args=(1e-3, 10.0)).pvalue < 1e-6
    )


def test_integer_distributions_reach_both_bounds_evenly() -> None:
    from scipy import stats

    ints = _draws("int", 2, 6).astype(int)
    counts = np.bincount(ints, minlength=7)[2:]
    assert (counts > 0).all() and stats.chisquare(counts).pvalue > 0.01
    logints = _draws("logint", 1, 100).astype(int)
    assert logints.min() == 1 and logints.max() == 100
    # log-uniform over [1, 101): 1 is drawn with probability log(2)/log(101)
    assert abs((logints == 1).mean() - np.log(2) / np.log(101)) < 0.03


def test_settings_that_condition_each_other_vary_together() -> None:
    from xorlab.search.spaces import _linked_groups

    keys = ["batch_size", "hidden", "init", "init_scale", "momentum", "optimizer"]
    assert _linked_groups(keys) == [
        ["batch_size"],
        ["hidden"],
        ["init", "init_scale"],
        ["momentum", "optimizer"],
    ]
    assert _linked_groups(["momentum", "init_scale"]) == [["init_scale"], ["momentum"]]


@pytest.mark.parametrize(
    "kind, low, high, message",
    [
        ("logint", 0, 5, "logint needs low > 0"),
        ("logint", 1.5, 5, "logint needs integer bounds"),
        ("int", 1, 2.5, "int needs integer bounds"),
        ("uniform", 2.0, 2.0, "`low < high` must hold"),
        ("normal", 0, 1, "distribution must be one of 'uniform', 'loguniform', 'int', 'logint'"),
    ],
)
def test_distributions_name_what_is_wrong(kind, low, high, message) -> None:
    with pytest.raises(SpecError, match=message.replace("`", ".").replace("(", ".")):
        Distribution(kind, low, high)


def test_random_search_indexing_bounds() -> None:
    space = RandomSearch({"lr": [0.1, 1.0]}, trials=2, sampler_seed=0, seeds=[0, 1], fixed={})
    assert space[-len(space)] == space[0] and space[len(space) - 1] == list(space)[-1]
    for index in (len(space), -len(space) - 1):
        with pytest.raises(IndexError):
            space[index]


def test_random_search_deduplicates_on_the_settings_that_apply() -> None:
    """momentum applies only to the momentum optimizer: two gd draws with different momentum
    draws are one configuration (keyed on the raw draw, they were two with one run_id)."""
    params = {
        "optimizer": ["gd", "momentum"],
        "momentum": Distribution("uniform", 0.5, 0.99),
        "activation": ["tanh"],
    }
    search = RandomSearch(params, trials=40, sampler_seed=1, seeds=[0, 1], fixed={})
    ids = [config.run_id for config in search]
    assert len(ids) == len(set(ids)) == len(search)
    gd = [c for c in search if c.optimizer == "gd"]
    assert len(gd) == 2 and all(c.momentum is None for c in gd)  # one configuration x 2 seeds


def test_run_ids_of_a_table_are_the_runs_own_and_none_for_impossible_rows() -> None:
    """The store checks every shard row against `run_ids_of` (the run_id of its own columns):
    it must equal `RunConfig.run_id` for every kind of run (settings that do not apply, settings
    of 0.2 at and away from their defaults, points of a map), and be None for a row no run has."""
    from xorlab.search.spec import parse_spec
    from xorlab.training.config import COORDINATES, SETTING_NAMES, RunConfig, run_ids_of

    grid = parse_spec(
        {
            "sweep": {"name": "g", "seeds": 2},
            "params": {"optimizer": ["gd", "momentum", "adam"], "init": ["normal", "xavier"]},
            "train": {"data": "truth_table", "epochs": 5},
        },
        Path("<dict>"),
    ).space()
    basins = parse_spec(
        {
            "sweep": {"name": "b", "method": "basins", "seeds": [3]},
            "basins": {"x": "W1[0,1]", "y": "random", "span": [-1, 2], "points": 3},
            "train": {"init_bias": "same"},
        },
        Path("<dict>"),
    ).space()
    configs = [*grid, *basins, RunConfig(seed=7, hidden=3, samples=12)]
    names = ("seed", *SETTING_NAMES, *COORDINATES)
    columns = {name: [getattr(c, name) for c in configs] for name in names}
    assert run_ids_of(columns) == [c.run_id for c in configs]
    without_points = {k: v for k, v in columns.items() if k not in COORDINATES}
    assert run_ids_of(without_points)[: len(grid)] == [c.run_id for c in grid]  # 0.3's shards
    bad = {name: [values[0]] * 7 for name, values in columns.items()}
    bad["momentum"][0] = 0.5  # optimizer gd: momentum does not apply
    bad["init_scale"][1] = None  # init normal: init_scale applies
    bad["seed"][2] = 1.0  # not an integer
    bad["axis_x"][3], bad["offset_x"][3] = "W1[0,0]", 0.5  # half a point
    bad["axis_x"][4], bad["offset_x"][4], bad["axis_y"][4], bad["offset_y"][4] = (
        "W1[0,0]", float("nan"), "b2", 0.0
    )  # fmt: skip
    bad["axis_x"][5], bad["offset_x"][5], bad["axis_y"][5], bad["offset_y"][5] = (
        "W1[0,0]", 1, "b2", 0.0
    )  # fmt: skip
    assert run_ids_of(bad) == [None] * 6 + [configs[0].run_id]
