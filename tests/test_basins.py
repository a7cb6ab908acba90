"""Maps of the initial-weight space (method = "basins"): the spec of issue 22 as written, its
checks, every point an ordinary run (stored, resumed, replayed bit for bit), the origin equal
to the ordinary run, the axes, basins.csv and its box-counting dimension, the figure."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.conftest import fails_cleanly, stored_runs
from xorlab.analysis.basins import basins_sentence, boundary_dimension
from xorlab.cli import replay, sweep
from xorlab.search.spec import load_spec
from xorlab.storage.store import RunStore
from xorlab.training import start
from xorlab.training.config import RunConfig, run_ids_of
from xorlab.training.engine import train_batch
from xorlab.training.nn import make_problem
from xorlab.training.reference import train_reference

ISSUE_SPEC = """
[sweep]
name = "basins"
method = "basins"
seeds = [0]              # each seed's initial weights are the origin of one map

[basins]
x = "W1[0,0]"            # a weight by name: W1[i,j] (hidden unit i, input j), b1[i], W2[i], b2;
y = "W2[0]"              # or "random" (a random direction drawn from the seed, unit length)
span = [-4.0, 4.0]       # offsets from the base point along each axis
points = 201             # per axis: 201 x 201 = 40,401 runs per map

[params]                 # optional: one map per combination of the swept settings
lr = [0.25, 1.0]

[train]
hidden = 2
activation = "sigmoid"
loss = "mse"
optimizer = "momentum"
momentum = 0.9
data = "truth_table"
init = "uniform"
init_scale = 0.5
init_bias = "same"
epochs = 2000
"""


def small(points: int = 9, epochs: int = 300, extra: str = "") -> str:
    """The issue's spec with fewer points and epochs (and `extra` TOML appended)."""
    text = ISSUE_SPEC.replace("points = 201", f"points = {points}")
    return text.replace("epochs = 2000", f"epochs = {epochs}") + extra


def write(tmp_path: Path, text: str, name: str = "basins.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_issues_spec_is_read_as_written(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, ISSUE_SPEC))
    space = spec.space()
    assert spec.max_runs == len(space) == 2 * 201 * 201
    first, last = space[0], space[len(space) - 1]
    assert (first.lr, first.point) == (0.25, ("W1[0,0]", -4.0, "W2[0]", -4.0))
    assert (last.lr, last.point) == (1.0, ("W1[0,0]", 4.0, "W2[0]", 4.0))
    assert space[100 * 201 + 100].point == ("W1[0,0]", 0.0, "W2[0]", 0.0)  # exactly 0
    assert [space[i].run_id for i in range(500)] == [c.run_id for c in list(space)[:500]]
    assert len({c.run_id for c in space}) == len(space)
    assert load_spec(write(tmp_path, spec_text(spec), "again.toml")).to_dict() == spec.to_dict()


def spec_text(spec) -> str:
    from xorlab.search.spec import to_toml

    return to_toml(spec.to_dict())


def test_the_origin_has_the_bits_of_the_ordinary_run(tmp_path: Path) -> None:
    """The point at offsets (0, 0) trains exactly as the run with that seed and settings,
    whatever batch it is trained in; a point away from it is the run from moved weights, as
    the plain per-run loop trains it."""
    space = load_spec(write(tmp_path, small(points=5))).space()
    points = [space[i] for i in range(25)]
    origin = points[12]
    assert origin.point[1] == origin.point[3] == 0.0
    ordinary = RunConfig.from_mapping(_settings(origin))
    assert ordinary.point is None and ordinary.run_id != origin.run_id
    alone, in_map = train_batch([ordinary])[0], train_batch(points)[12]
    for name in ("final_loss", "epochs_to_solve", "outcome"):
        assert getattr(in_map, name, None) == getattr(alone, name, None)
    assert in_map.final_loss.hex() == alone.final_loss.hex()
    assert np.array_equal(in_map.curve_loss, alone.curve_loss)
    moved = points[3]
    reference = train_reference(moved)
    assert math.isclose(train_batch([moved])[0].final_loss, reference.final_loss, rel_tol=1e-9)
    assert not math.isclose(reference.final_loss, alone.final_loss, rel_tol=1e-6)


def _settings(config: RunConfig) -> dict:
    from xorlab.training.config import SETTING_NAMES

    return {name: getattr(config, name) for name in ("seed", *SETTING_NAMES)}


@pytest.mark.parametrize(
    ("axis", "hidden"), [("W1[1,0]", 2), ("W1[0, 1]", 3), ("b1[2]", 3), ("W2[1]", 2), ("b2", 4)]
)
def test_a_named_axis_moves_that_weight_alone_by_the_offset(axis: str, hidden: int) -> None:
    base = make_problem(7, None, hidden, 0.5, init="uniform", init_bias="same", data="truth_table")
    point = (axis, 0.75, "random", -0.3)
    moved = make_problem(
        7, None, hidden, 0.5, init="uniform", init_bias="same", data="truth_table", point=point
    )
    before = start.flatten(base.W1, base.b1, base.W2, base.b2)
    after = start.flatten(moved.W1, moved.b1, moved.W2, moved.b2)
    direction = start.axes(7, hidden, axis, "random")[1]
    index = start.weight_index(axis, hidden)
    np.testing.assert_allclose(after - before, np.eye(len(before))[index] * 0.75 - 0.3 * direction)
    assert direction[index] == 0.0 and math.isclose(np.linalg.norm(direction), 1.0)
    # by hand, in the tutorial's layout: W1[i,j] is row i, column j
    matrix, unit, column = re.fullmatch(r"(\w\d)\[?(\d*)[, ]*(\d*)\]?", axis).groups()
    array = {"W1": base.W1, "b1": base.b1[:, 0], "W2": base.W2[0], "b2": base.b2[0]}[matrix]
    value = array[int(unit or 0), int(column)] if matrix == "W1" else array[int(unit or 0)]
    assert before[index] == value


def test_two_random_axes_are_orthonormal_and_drawn_from_the_seed() -> None:
    ex, ey = start.axes(3, 4, "random", "random")
    assert math.isclose(ex @ ex, 1) and math.isclose(ey @ ey, 1) and abs(ex @ ey) < 1e-12
    again = start.axes.__wrapped__(3, 4, "random", "random")
    assert all(np.array_equal(a, b) for a, b in zip((ex, ey), again))
    other = start.axes(4, 4, "random", "random")[0]
    assert not np.allclose(ex, other)


BAD = [
    ('x = "W1[5,0]"', "basins.x", "does not exist at hidden = 2"),
    ('x = "W1[0,2]"', "basins.x", "2 inputs"),
    ('x = "W3[0]"', "basins.x", "is not a weight"),
    ("x = 3", "basins.x", "is not a weight"),
    ('x = "W2[0]"', "basins.y", "is the weight x moves"),
    ("span = [1.0, 1.0]", "basins.span", "low < high"),
    ("span = [4.0, -4.0]", "basins.span", "low < high"),
    ("span = []", "basins.span", "low < high"),
    ('span = [0.0, "inf"]', "basins.span", "from -1e6 to 1e6"),
    ("span = [0.0, inf]", "basins.span", "from -1e6 to 1e6"),
    ("span = [0.0, nan]", "basins.span", "from -1e6 to 1e6"),
    ("span = [-1e308, 1e308]", "basins.span", "from -1e6 to 1e6"),
    ("span = [0.0, 5e-322]", "basins.span", "too narrow for 201 distinct points"),
    ("span = [[0.0, 1.0]]", "basins.span", None),
    ("span = [[0.0, 1.0], [2.0, 1.0]]", "basins.span", "low < high"),
    ("span = [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]", "basins.span", "[[x_low, x_high]"),
    ("points = 1", "basins.points", ">= 2"),
    ("points = 2.5", "basins.points", "an integer"),
    ("points = 5000", "basins.points", "<= 2001"),
    ("colour = 1", "basins.colour", "unknown key"),
]


@pytest.mark.parametrize(("line", "where", "words"), [b for b in BAD if b[2]])
def test_a_bad_map_is_refused_in_one_line_before_anything_is_trained(
    tmp_path: Path, capsys, line: str, where: str, words: str
) -> None:
    key = line.split(" =")[0]
    lines = [
        line if text.startswith(key + " ") or text.startswith(key + "=") else text
        for text in ISSUE_SPEC.splitlines()
    ]
    if key not in ("x", "y", "span", "points"):
        lines.insert(lines.index("[basins]") + 1, line)
    spec = write(tmp_path, "\n".join(lines))
    err = fails_cleanly(capsys, sweep.main, [str(spec), "--out", str(tmp_path)], where, words)
    assert str(spec) in err
    assert not (tmp_path / "basins").exists()


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        (("[basins]", "[basinz]"), "[basinz]", "unknown section"),
        (('method = "basins"', 'method = "grid"'), "[basins]", "method = 'basins'"),
        (('init_bias = "same"', 'init_bias = "zero"'), "basins.x", None),
        (
            ("lr = [0.25, 1.0]", 'lr = { distribution = "uniform", low = 0.1, high = 1 }'),
            "params.lr",
            "grid or maps",
        ),
        (("seeds = [0]", "seeds = [0]\ntrials = 3"), "sweep.trials", "only applies"),
        (("hidden = 2", "hidden = 1"), "basins.x", None),
    ],
)
def test_a_map_that_cannot_be_drawn_is_refused(
    tmp_path: Path, capsys, change: tuple, where: str, words: str | None
) -> None:
    text = ISSUE_SPEC.replace(*change)
    if change[1] == 'init_bias = "zero"':
        text = text.replace('x = "W1[0,0]"', 'x = "b1[0]"')
        where, words = "basins.x", "b1[0] is not drawn with init_bias = 'zero'"
    if change == ("hidden = 2", "hidden = 1"):
        text = text.replace('x = "W1[0,0]"', 'x = "W1[1,0]"')
        words = "does not exist at hidden = 1"
    spec = write(tmp_path, text)
    fails_cleanly(capsys, sweep.main, [str(spec), "--out", str(tmp_path)], where, words or "")
    assert not (tmp_path / "basins").exists()


def test_one_span_for_both_axes_may_be_given_as_a_list_of_one(tmp_path: Path) -> None:
    one = load_spec(
        write(tmp_path, ISSUE_SPEC.replace("span = [-4.0, 4.0]", "span = [[0.0, 1.0]]"))
    )
    assert one.map.span_x == one.map.span_y == (0.0, 1.0)


def test_a_dry_run_lists_the_points(tmp_path: Path, capsys) -> None:
    spec = write(tmp_path, small(points=3))
    assert sweep.main([str(spec), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "18 runs (basins: 2 maps of 3 x 3 points, one per configuration and seed)" in out
    assert "offsets W1[0,0]=-4 W2[0]=-4  lr=0.25" in out
    assert "offsets W1[0,0]=+0 W2[0]=-4  lr=0.25" in out
    assert not (tmp_path / "basins").exists()


def test_a_basins_method_without_its_table_is_refused(tmp_path: Path, capsys) -> None:
    text = ISSUE_SPEC.split("[basins]")[0] + "[train]\nhidden = 2\n"
    spec = write(tmp_path, text)
    fails_cleanly(capsys, sweep.main, [str(spec)], "sweep.method", "needs a [basins] table")


def test_a_sweep_over_hidden_checks_the_weight_in_every_net(tmp_path: Path, capsys) -> None:
    text = (
        small(extra="")
        .replace('x = "W1[0,0]"', 'x = "W2[2]"')
        .replace("lr = [0.25, 1.0]", "hidden = [2, 3]")
    )
    text = text.replace("hidden = 2\n", "")
    spec = write(tmp_path, text)
    fails_cleanly(
        capsys, sweep.main, [str(spec)], "basins.x", "'W2[2]' does not exist at hidden = 2"
    )


def test_a_map_sweep_end_to_end(tmp_path: Path, capsys) -> None:
    """Every point is an ordinary run: runs.csv holds its coordinates, the store its run_id,
    a rerun reuses them all, replay retrains one bit for bit; basins.csv, the figure and the
    report say what the map shows."""
    spec = write(tmp_path, small(points=9, epochs=300))
    assert sweep.main([str(spec), "--out", str(tmp_path), "--no-progress"]) == 0
    folder = tmp_path / "basins"
    runs = pd.read_csv(folder / "runs.csv")
    assert len(runs) == stored_runs(folder) == 2 * 81
    assert set(runs["axis_x"]) == {"W1[0,0]"} and set(runs["axis_y"]) == {"W2[0]"}
    assert sorted(set(runs["offset_x"])) == pytest.approx(np.linspace(-4, 4, 9))
    assert runs["run_id"].is_unique
    assert run_ids_of({c: _cells(runs[c]) for c in runs}) == list(runs["run_id"])
    basins = pd.read_csv(folder / "basins.csv")
    assert list(basins["lr"]) == [0.25, 1.0]
    for _, row in basins.iterrows():
        mine = runs[runs["lr"] == row["lr"]]
        assert row["runs"] == 81 and row["solved"] == pytest.approx(mine["solved"].mean())
        shares = mine["outcome"].value_counts(normalize=True)
        for outcome, share in shares.items():
            if outcome != "solved":
                assert row[f"share_{outcome}"] == pytest.approx(share)
        assert row["solved"] + sum(
            row[c] for c in basins if c.startswith("share_")
        ) == pytest.approx(1)
        assert math.isnan(row["dimension"])  # 9 points per axis: too few box sizes
    base = make_problem(0, None, 2, 0.5, init="uniform", init_bias="same", data="truth_table")
    assert basins["base_x"].iloc[0] == base.W1[0, 0] and basins["base_y"].iloc[0] == base.W2[0, 0]
    assert basins["x_low"].iloc[0] == pytest.approx(base.W1[0, 0] - 4)
    assert (folder / "figures" / "basins.png").stat().st_size > 10_000
    report = (folder / "report.html").read_text()
    assert "of this slice learns XOR" in report and 'srcset="figures/basins.png 2x"' in report
    capsys.readouterr()
    assert sweep.main([str(spec), "--out", str(tmp_path), "--no-progress"]) == 0
    assert "162 reused, 0 trained" in capsys.readouterr().out
    assert RunStore(folder).open() and not (folder / "shards.rejected").exists()
    point = runs[(runs["offset_x"] == 1.0) & (runs["offset_y"] == -3.0)]["run_id"].iloc[0]
    assert replay.main([str(folder), point, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "equal to runs.csv, bit for bit" in out and "offset_x = 1.0" in out


def test_a_map_with_missing_points_shows_them_and_measures_no_boundary(tmp_path: Path) -> None:
    """An interrupted map: its missing points are 'not finished' on the spec's grid (a missing
    edge row does not shrink the map), and no dimension is measured across them."""
    import xorlab
    from xorlab.analysis.basins import basins_table
    from xorlab.visualization.render import maps_of

    spec = write(tmp_path, small(points=9, epochs=200, extra=""))
    results = xorlab.run(spec, tmp_path, figures=False)
    runs = results.runs
    top = runs["offset_y"] == runs["offset_y"].max()
    partial = runs[~top & (runs.index % 7 != 3)]
    maps = maps_of(partial, results.spec, results.summary)
    assert maps[0].outcome.shape == (9, 9) and (maps[0].outcome[-1] == -1).all()
    one = maps[0]
    assert (one.outcome.dtype, one.epochs.dtype, one.loss.dtype) == (np.int16, float, float)
    mine = partial[partial["lr"] == 0.25]
    grid = np.linspace(-4, 4, 9)
    rows, columns = (np.searchsorted(grid, mine[c].to_numpy()) for c in ("offset_y", "offset_x"))
    np.testing.assert_array_equal(one.loss[rows, columns], mine["final_loss"])
    np.testing.assert_array_equal(
        one.epochs[rows, columns], mine["epochs_to_solve"].to_numpy(float, na_value=np.nan)
    )
    from xorlab.training.diagnosis import OUTCOMES

    assert [OUTCOMES[c] for c in one.outcome[rows, columns]] == list(mine["outcome"])
    assert np.isnan(one.loss[-1]).all() and np.isnan(one.epochs[-1]).all()
    assert one.x == pytest.approx(grid + one.base[0]) and one.y == pytest.approx(grid + one.base[1])
    table = basins_table(maps)
    missing = 81 - table["runs"].iloc[0]
    assert missing == 81 - ((~top & (runs.index % 7 != 3)) & (runs["lr"] == 0.25)).sum() > 9
    assert table["dimension"].isna().all()
    sentence = basins_sentence(table.iloc[0])
    assert f"of the {81 - missing} of its 81 points that have finished" in sentence
    from xorlab.visualization.basins_plot import basins_figure

    figure = basins_figure(maps)
    legend = next(ax.get_legend() for ax in figure.axes if ax.get_legend())
    assert "not finished" in [text.get_text() for text in legend.get_texts()]


def test_a_map_gives_the_same_numbers_whatever_n_jobs(tmp_path: Path) -> None:
    text = small(points=6, epochs=200).replace('x = "W1[0,0]"', 'x = "random"')
    numbers = []
    for jobs in (1, 2):
        spec = write(tmp_path, text + f"\n[run]\nn_jobs = {jobs}\n", f"j{jobs}.toml")
        out = tmp_path / f"out{jobs}"
        assert sweep.main([str(spec), "--out", str(out), "--no-progress", "--no-figures"]) == 0
        runs = pd.read_csv(out / "basins" / "runs.csv").sort_values("run_id", ignore_index=True)
        numbers.append(runs.drop(columns=["train_seconds"]))
    pd.testing.assert_frame_equal(numbers[0], numbers[1], check_exact=True)


def _weierstrass_map(a: float, side: int = 512) -> np.ndarray:
    """The region under the graph of sum a^k cos(2^k pi x): smooth for a <= 1/2, rougher as a
    grows (its graph's dimension is 2 + log2 a)."""
    x = np.linspace(0, 1, side)
    graph = sum(a**k * np.cos(2**k * np.pi * x) for k in range(25))
    graph = graph / np.abs(graph).max() * 2
    return np.linspace(-2.5, 2.5, side)[:, None] < graph[None, :]


def test_the_boundary_dimension_tells_smooth_from_complex() -> None:
    side = 256
    rows, columns = np.mgrid[0:side, 0:side]
    disc = (rows - 120) ** 2 + (columns - 130) ** 2 < 70**2
    half = columns + 0.4 * rows > 150
    noise = np.random.default_rng(0).random((side, side)) < 0.5
    for smooth in (disc, half, _weierstrass_map(0.4, side)):
        dimension, low, high, sizes = boundary_dimension(smooth)
        assert low <= 1.0 <= high or abs(dimension - 1) < 0.1, (dimension, low, high)
        assert sizes == [1, 2, 4, 8, 16, 32, 64]
    rough, rougher = (boundary_dimension(_weierstrass_map(a))[0] for a in (0.7, 0.85))
    assert 1.15 < rough < rougher
    assert boundary_dimension(noise)[0] > 1.8
    for empty in (np.ones((side, side), bool), np.zeros((side, side), bool), disc[:20, :20]):
        assert all(math.isnan(v) for v in boundary_dimension(empty)[:3])


@pytest.mark.parametrize("shape", [(300, 300), (140, 300), (300, 140)])
def test_the_dimensions_interval_is_the_least_squares_fits(shape: tuple) -> None:
    """Checked against scipy: the slope of log count on log size and its t interval, on square
    and oblong maps (boxes cut from the corner; the last ones partial)."""
    solved = _weierstrass_map(0.7, 300)[: shape[0], : shape[1]]
    dimension, low, high, sizes = boundary_dimension(solved)
    boundary = np.zeros_like(solved)
    boundary[:, :-1] |= solved[:, 1:] != solved[:, :-1]
    boundary[:-1, :] |= solved[1:, :] != solved[:-1, :]
    counts = []
    for size in sizes:  # by hand: every box, one at a time
        counts.append(
            sum(
                boundary[i : i + size, j : j + size].any()
                for i in range(0, shape[0], size)
                for j in range(0, shape[1], size)
            )
        )
    assert sizes == [2**k for k in range(8) if 2**k <= min(shape) // 4]
    fit = stats.linregress(np.log(sizes), np.log(counts))
    half = stats.t.ppf(0.975, len(sizes) - 2) * fit.stderr
    assert dimension == pytest.approx(-fit.slope)
    assert (low, high) == pytest.approx((-fit.slope - half, -fit.slope + half), rel=1e-3)


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (
            {"solved": 0.61, "dimension": 1.4, "dimension_low": 1.3, "dimension_high": 1.5},
            "61% of this slice learns XOR; the boundary is complex (dimension 1.40, 95% 1.30-1.50): nearby starting points end differently.",
        ),
        (
            {"solved": 0.97, "dimension": 1.0, "dimension_low": 0.97, "dimension_high": 1.03},
            "97% of this slice learns XOR; the boundary is smooth (dimension 1.00, 95% 0.97-1.03): nearby starting points end alike.",
        ),
        (
            {
                "solved": 1.0,
                "dimension": math.nan,
                "dimension_low": math.nan,
                "dimension_high": math.nan,
            },
            "100% of this slice learns XOR; no boundary crosses it.",
        ),
        (
            {
                "solved": 0.0,
                "dimension": math.nan,
                "dimension_low": math.nan,
                "dimension_high": math.nan,
            },
            "0% of this slice learns XOR; no boundary crosses it.",
        ),
        (
            {
                "solved": 0.5,
                "dimension": math.nan,
                "dimension_low": math.nan,
                "dimension_high": math.nan,
            },
            "50% of this slice learns XOR (too few points per axis to measure its boundary: 32 or more needed).",
        ),
        (
            {"solved": 0.004, "dimension": 1.2, "dimension_low": 1.0, "dimension_high": 1.4},
            "<1% of this slice learns XOR; the boundary's dimension is 1.20 (95% 1.00-1.40): a finer map would tell smooth from complex.",
        ),
    ],
)
def test_the_reports_sentence_says_what_the_map_shows(row: dict, words: str) -> None:
    assert basins_sentence(row).startswith(words)


def _cells(column: pd.Series) -> list:
    """A column's cells as the store holds them: None where empty, plain Python values."""
    return [None if pd.isna(v) else v for v in column.astype(object).tolist()]


@pytest.mark.parametrize(("span", "points"), [((-0.7, 1.4), 4), ((-0.1, 0.2), 4), ((-4, 4), 201)])
def test_a_span_through_the_base_point_holds_it_exactly(span: tuple, points: int) -> None:
    """np.linspace(-0.7, 1.4, 4) holds -1.1e-16, not 0: the map's point there would not be the
    seed's own start, bit for bit."""
    from xorlab.search.spaces import Map

    offsets = Map("W1[0,0]", "W2[0]", span, span, points).offsets_x
    assert 0.0 in offsets and sum(abs(o) < 1e-9 for o in offsets) == 1
    assert offsets[0] == span[0] and offsets[-1] == span[1] and len(offsets) == points


def test_the_basins_benchmark_runs_and_prints_its_figures(tmp_path: Path, capsys) -> None:
    """`python -m xorlab.bench --basins` on two tiny maps: every figure it prints is there."""
    from xorlab.cli.basins_bench import basins_benchmark

    small_spec = write(tmp_path, small(points=4, epochs=50), "small.toml")
    large_spec = write(
        tmp_path, small(points=5, epochs=50).replace('"basins"', '"large"', 1), "l.toml"
    )
    basins_benchmark(1, tmp_path / "out", small=small_spec, large=large_spec)
    out = capsys.readouterr().out
    assert "32-run maps (small.toml, 4 x 4 points each):" in out
    assert re.search(r"as an ordinary grid of as many runs: [\d.]+ s, ratio [\d.]+", out)
    assert re.search(r"the maps' outputs +[\d.]+ s +target <= 2 s", out)
    assert "50-run map (l.toml)" in out and "its figure drawn from 5 x 5 points" in out
    grid = pd.read_csv(tmp_path / "out" / "as-grid" / "runs.csv")
    assert len(grid) == 32 and grid["axis_x"].isna().all() and grid["seed"].max() == 15


def _hand_map(outcome: list[list[str]], label: str = "lr 1, seed 0", **settings) -> object:
    """A BasinMap built by hand: outcome names on a grid of offsets 0, 1, 2, ... from base
    (0.5, -1); the solved points take 100 epochs, every point loss 0.1."""
    from xorlab.analysis.basins import BasinMap
    from xorlab.training.diagnosis import OUTCOMES

    codes = np.array([[OUTCOMES.index(o) if o else -1 for o in row] for row in outcome], np.int16)
    rows, columns = codes.shape
    epochs = np.where(codes == 0, 100.0, np.nan)
    return BasinMap(
        label,
        {**settings, "seed": 0},
        "W1[0,0]",
        "random",
        np.arange(columns) + 0.5,
        np.arange(rows) - 1.0,
        (0.5, -1.0),
        codes,
        epochs,
        np.full(codes.shape, 0.1),
    )


def test_basins_table_column_by_column() -> None:
    from xorlab.analysis.basins import basins_table

    one = _hand_map([["solved", "solved", "plateau"], ["local_minimum", "solved", None]], lr=1.0)
    row = basins_table([one]).iloc[0].to_dict()
    assert row == {
        **row,
        "lr": 1.0,
        "seed": 0,
        "axis_x": "W1[0,0]",
        "axis_y": "random",
        "x_low": 0.5,
        "x_high": 2.5,
        "y_low": -1.0,
        "y_high": 0.0,
        "base_x": 0.5,
        "base_y": -1.0,
        "points_x": 3,
        "points_y": 2,
        "runs": 5,
        "solved": 0.6,
        "share_plateau": 0.2,
        "share_local_minimum": 0.2,
        "share_diverged": 0.0,
        "box_sizes": "",
    }
    assert math.isnan(row["dimension"]) and "share_solved" not in row
    assert basins_table([]).empty


def test_the_maps_headline_names_the_most_and_the_least() -> None:
    from xorlab.analysis.basins import basins_table, maps_headline

    maps = [
        _hand_map([["solved", "plateau"], ["solved", "solved"]], lr=0.5),
        _hand_map([["solved", "plateau"], ["plateau", "plateau"]], lr=2.0),
        _hand_map([["solved", "solved"], ["solved", "plateau"]], lr=8.0),
    ]
    table = basins_table(maps)
    assert maps_headline(table, ["lr"]) == (
        "Of 3 maps of 2 x 2 starting points (W1[0,0] 0.5 to 1.5, random -1 to 0), the most "
        "learns XOR from 75% of its starting points (lr 0.5), the least from 25% (lr 2)."
    )
    assert maps_headline(table.head(1), ["lr"]) == (
        "75% of this slice learns XOR (too few points per axis to measure its boundary: 32 or "
        "more needed). Map of 2 x 2 starting points (W1[0,0] 0.5 to 1.5, random -1 to 0)."
    )
    three_seeds = table.assign(seed=[0, 1, 2])
    assert "(lr 0.5, seed 0)" in maps_headline(three_seeds, ["lr"])
    two_seeds = table.assign(seed=[0, 1, 1])
    assert "(lr 2, seed 1)." in maps_headline(two_seeds, ["lr"])


@pytest.mark.parametrize(
    ("share", "text"),
    [(0.0, "0%"), (0.004, "<1%"), (0.01, "1%"), (0.99, "99%"), (0.995, ">99%"), (1.0, "100%")],
)
def test_shares_are_never_rounded_to_all_or_none(share: float, text: str) -> None:
    row = {"solved": share, "dimension": math.nan, "dimension_low": math.nan}
    assert basins_sentence({**row, "dimension_high": math.nan}).startswith(f"{text} of this slice")


@pytest.mark.parametrize("span", ["[-1.0, 2.0]", "[[-1.0, 2.0], [0.5, 0.75]]"])
def test_a_maps_spec_round_trips_through_spec_toml(tmp_path: Path, span: str) -> None:
    """spec.toml holds the resolved spec: read again, it gives the same map (one span for both
    axes stays one; two stay two), so the folder's figures find the map's grid."""
    spec = load_spec(write(tmp_path, ISSUE_SPEC.replace("span = [-4.0, 4.0]", f"span = {span}")))
    assert spec_text(spec).count("span = ") == 1
    assert f"span = {span}" in spec_text(spec)
    again = load_spec(write(tmp_path, spec_text(spec), "again.toml"))
    assert again.map == spec.map and again.to_dict() == spec.to_dict()


def test_a_maps_runs_are_indexed_like_any_sequence(tmp_path: Path) -> None:
    space = load_spec(write(tmp_path, small(points=3))).space()
    assert len(space) == 18 and space[-18].run_id == space[0].run_id
    assert space[-1].run_id == list(space)[-1].run_id
    for index in (18, -19):
        with pytest.raises(IndexError):
            space[index]


@pytest.mark.parametrize(("side", "measured"), [(31, False), (32, True), (63, True)])
def test_a_dimension_needs_four_box_sizes(side: int, measured: bool) -> None:
    """32 points per axis give boxes of 1, 2, 4 and 8 (up to a quarter of the side): the fewest
    the report measures a boundary with."""
    rows, columns = np.mgrid[0:side, 0:side]
    dimension, low, high, sizes = boundary_dimension(rows + columns > side)
    assert (sizes == [1, 2, 4, 8][: len(sizes)] and len(sizes) == 4) == measured
    assert math.isnan(dimension) != measured


@pytest.mark.parametrize(
    ("name", "written"),
    [("W1[ 1 , 0 ]", "W1[1,0]"), ("b1[01]", "b1[1]"), ("W2[0]", "W2[0]"), ("b2", "b2"),
     ("b2[0]", "b2"), ("random", "random")],
)  # fmt: skip
def test_an_axis_is_written_one_way(name: str, written: str) -> None:
    assert start.canonical(name) == written
