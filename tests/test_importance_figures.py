"""Which settings matter, figures that scale, and the notebook (issue 13): every figure's data
is a DataFrame computed by a pure function, checked here against independent computations
(numpy by hand, scipy), then drawn; the sweep and the notebook are run for real."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from tests.conftest import REPO
from xorlab.analysis.importance import effects, importance_sentence, marginals, swept_settings
from xorlab.analysis.stats import chi2_sf
from xorlab.cli import sweep
from xorlab.errors import SpecError
from xorlab.search.spec import parse_spec
from xorlab.visualization.curves import loss_bands
from xorlab.visualization.heatmap import (
    MAX_PANELS,
    heatmap_axes,
    heatmap_data,
    heatmap_figure,
    heatmap_layout,
)
from xorlab.visualization.random_search import parallel_coordinates_data


@pytest.mark.parametrize("df", [1, 2, 3, 5, 11, 40])
def test_chi2_survival_function_agrees_with_scipy(df: int) -> None:
    for x in [0.0, 1e-6, 0.3, 1.0, df, 2.5 * df, 10 * df + 30, 800.0]:
        assert chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-10, abs=1e-300)


EFFECT_ROW = ["effect", "kind", "levels", "share", "chi2", "df", "p_value", "real"]


def grid_runs(rates: dict, seeds: int, seed: int = 0) -> pd.DataFrame:
    """Runs of a hidden x lr grid whose solved outcomes are drawn with the given rates."""
    rng = np.random.default_rng(seed)
    rows = []
    for (hidden, lr), rate in rates.items():
        for s in range(seeds):
            rows.append({"hidden": hidden, "lr": lr, "seed": s, "status": "ok"})
            rows[-1]["solved"] = bool(rng.random() < rate)
    return pd.DataFrame(rows)


def test_effects_are_the_functional_anova_of_a_balanced_grid() -> None:
    rates = {(h, lr): min(1.0, 0.1 * h + lr) for h in (2, 4, 8) for lr in (0.05, 0.3)}
    runs = grid_runs(rates, seeds=40)
    table = effects(runs, ["hidden", "lr"]).set_index("effect")
    # by hand: cell means of the 3 x 2 grid, equal weights
    cells = runs.groupby(["hidden", "lr"])["solved"].mean().unstack().to_numpy()
    grand = cells.mean()
    hidden_effect = cells.mean(axis=1) - grand
    lr_effect = cells.mean(axis=0) - grand
    interaction = cells - grand - hidden_effect[:, None] - lr_effect[None, :]
    total = ((cells - grand) ** 2).mean()
    assert table.loc["hidden", "share"] == pytest.approx((hidden_effect**2).mean() / total)
    assert table.loc["lr", "share"] == pytest.approx((lr_effect**2).mean() / total)
    assert table.loc["hidden x lr", "share"] == pytest.approx((interaction**2).mean() / total)
    assert table.loc["rest", "share"] == pytest.approx(0, abs=1e-12)  # two factors: all of it
    for setting in ("hidden", "lr"):  # a main effect's test is Pearson's on its k x 2 table
        counts = pd.crosstab(runs[setting], runs["solved"]).to_numpy()
        chi2, p_value, df, _ = stats.chi2_contingency(counts, correction=False)
        assert table.loc[setting, "chi2"] == pytest.approx(chi2)
        assert table.loc[setting, "p_value"] == pytest.approx(p_value, rel=1e-9)
        assert table.loc[setting, "df"] == df
    # every row: df counts the cells that exist, p is scipy's for that chi-square and df
    assert table.loc["hidden x lr", "df"] == (3 - 1) * (2 - 1)
    for _, row in table.drop(index="rest").iterrows():
        assert row["p_value"] == pytest.approx(stats.chi2.sf(row["chi2"], row["df"]), rel=1e-9)


def test_effects_weigh_configurations_by_their_finished_runs() -> None:
    """Failed runs are left out, so configurations can have unequal runs and the effects are
    no longer orthogonal: each is what it explains beyond those entered before it (the
    strongest alone first), by hand here per run with numpy's least squares."""
    rates = {(h, lr): min(1.0, 0.15 * h + lr) for h in (2, 4, 8) for lr in (0.05, 0.3)}
    runs = grid_runs(rates, seeds=30, seed=7)
    failed = (runs["hidden"] == 8) & (runs["seed"] < 20) | (runs["lr"] == 0.05) & (runs["seed"] < 9)
    runs.loc[failed, "status"] = "failed"
    table = effects(runs, ["hidden", "lr"]).set_index("effect")
    done = runs[runs["status"] != "failed"]
    y = done["solved"].to_numpy(float)
    total = ((y - y.mean()) ** 2).sum()

    def fitted_variance(*blocks: np.ndarray) -> float:
        design = np.column_stack([np.ones(len(y)), *blocks])
        fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
        return ((fitted - y.mean()) ** 2).sum()

    cells = pd.get_dummies(done["hidden"].astype(str) + "/" + done["lr"].astype(str))
    between = fitted_variance(cells.to_numpy(float))  # the variance between configurations
    assert 0 < between < total

    def explained(*settings: str) -> float:  # share of it explained by the settings
        blocks = [pd.get_dummies(done[s]).to_numpy(float) for s in settings]
        return fitted_variance(*blocks) / between

    first, second = sorted(["hidden", "lr"], key=lambda s: -explained(s))
    assert table.loc[first, "share"] == pytest.approx(explained(first))
    assert table.loc[second, "share"] == pytest.approx(explained(first, second) - explained(first))
    interaction = 1 - explained(first, second)  # two settings: the pair explains the rest
    assert table.loc["hidden x lr", "share"] == pytest.approx(interaction)
    assert table["share"].sum() == pytest.approx(1)
    assert table.loc["hidden x lr", "df"] == 2
    grand = y.mean()
    assert table.loc[first, "chi2"] == pytest.approx(
        explained(first) * between / (grand * (1 - grand))
    )


def test_marginal_solve_rates_and_their_intervals() -> None:
    runs = grid_runs({(h, lr): 0.5 for h in (2, 4) for lr in (0.1, 1.0, 3.0)}, seeds=7)
    runs.loc[3, "status"] = "failed"  # failed runs are left out
    table = marginals(runs, ["hidden", "lr"])
    finished = runs[runs["status"] != "failed"]
    assert list(table["setting"]) == ["hidden"] * 2 + ["lr"] * 3
    for _, row in table.iterrows():
        mine = finished[finished[row["setting"]].astype(float) == float(row["value"])]
        assert (row["runs"], row["solved"]) == (len(mine), int(mine["solved"].sum()))
        interval = stats.binomtest(row["solved"], row["runs"]).proportion_ci(method="wilson")
        assert row["solve_rate_low"] == pytest.approx(interval.low)
        assert row["solve_rate_high"] == pytest.approx(interval.high)


def test_few_seeds_are_reported_as_noise_not_as_an_effect() -> None:
    runs = grid_runs({(h, lr): 0.5 for h in (2, 4, 8) for lr in (0.1, 1.0)}, seeds=3, seed=4)
    table = effects(runs, ["hidden", "lr"])
    assert not table["real"].any()
    sentence = importance_sentence(table, seeds=3)
    assert sentence.startswith("No setting's effect on the solve rate stands out from seed noise")
    assert "3 seeds per configuration" in sentence


def test_the_sentence_says_what_the_table_says() -> None:
    rates = {(h, lr): 0.9 if h > 2 else 0.1 for h in (2, 4, 8) for lr in (0.1, 1.0)}
    runs = grid_runs(rates, seeds=30)
    table = effects(runs, ["hidden", "lr"]).set_index("effect")
    sentence = importance_sentence(table.reset_index(), seeds=30)
    share = re.match(r"hidden explains (\d+)% of the variation", sentence)
    assert share and int(share[1]) == round(100 * table.loc["hidden", "share"])
    if not table.loc["lr", "real"]:
        assert "Within seed noise with 30 seeds per configuration: lr" in sentence


def test_every_run_alike_has_no_effects() -> None:
    for rate in (1.0, 0.0):
        runs = grid_runs({(2, 0.1): rate, (4, 0.1): rate}, seeds=5)
        table = effects(runs, ["hidden", "lr"])
        assert table.empty and list(table.columns) == EFFECT_ROW  # still a table with columns
        assert importance_sentence(effects(runs, ["hidden"]), 5) is None
    assert list(effects(runs, []).columns) == EFFECT_ROW


def test_effects_and_marginals_at_once_are_each_computed_alone() -> None:
    """The render computes both from one collapse of the runs: the same tables."""
    from xorlab.analysis.importance import effects_and_marginals

    rates = {(h, lr): min(1.0, 0.1 * h + lr) for h in (2, 4, 8) for lr in (0.05, 0.3)}
    runs = grid_runs(rates, seeds=12, seed=3)
    runs["lr"] = runs["lr"] * (1 + runs["seed"] % 7 / 100)  # many values: binned when sampled
    together = effects_and_marginals(runs, ["hidden", "lr"], ["lr"], pairs=1)
    pd.testing.assert_frame_equal(together[0], effects(runs, ["hidden", "lr"], ["lr"], pairs=1))
    pd.testing.assert_frame_equal(together[1], marginals(runs, ["hidden", "lr"], ["lr"]))
    assert len(together[0]) == 4 and together[1]["setting"].tolist().count("lr") == 5


# -- heatmaps that scale ---------------------------------------------------------------------


def test_one_function_chooses_the_heatmap_cells() -> None:
    assert heatmap_axes(
        ["activation", "hidden", "lr"], {"activation": 3, "hidden": 4, "lr": 5}
    ) == (
        "hidden",
        "lr",
    )
    counts = {"activation": 3, "init_scale": 5, "momentum": 2}
    assert heatmap_axes(list(counts), counts) == ("init_scale", "momentum")
    assert heatmap_axes(["activation"], {"activation": 3}) is None


def settings_grid(extra: dict) -> pd.DataFrame:
    """One run per combination of hidden x activation x lr and the `extra` settings."""
    values = {"hidden": [2, 4], "activation": ["relu", "tanh"], "lr": [0.1, 1.0, 3.0], **extra}
    rows = [dict(zip(values, combo)) for combo in itertools.product(*values.values())]
    runs = pd.DataFrame(rows)
    runs["status"] = "ok"
    runs["solved"] = (np.arange(len(runs)) % 3) == 0
    return runs


@pytest.mark.parametrize("extra_settings", [0, 1, 2, 3, 4])
def test_a_facet_for_every_further_setting_while_readable(extra_settings: int) -> None:
    extra = {f"s{i}": [0.1, 0.2, 0.3] for i in range(extra_settings)}
    runs = settings_grid(extra)
    names = ["hidden", "activation", "lr", *extra]
    importance = [*reversed(extra)]  # the later ones matter more
    layout = heatmap_layout(runs, names, importance)
    assert (layout.rows, layout.columns, layout.panel_columns) == ("hidden", "lr", "activation")
    assert set(layout.panel_rows) | set(layout.pooled) == set(extra)
    panels = 2 * int(np.prod([3 for _ in layout.panel_rows]))
    assert panels <= MAX_PANELS
    assert list(layout.panel_rows) == importance[: len(layout.panel_rows)]  # important first
    assert len(layout.pooled) == max(0, extra_settings - 2)  # 2 x 3 x 3 = 18 <= 24 < 54
    data = heatmap_data(runs, layout)
    assert data["runs"].sum() == len(runs) and data["solved"].sum() == runs["solved"].sum()
    figure = heatmap_figure(data, layout)
    assert len([ax for ax in figure.axes if ax.images]) == panels
    pooled = ", ".join(layout.pooled)
    assert (f"pooled over {pooled}" in figure._suptitle.get_text()) == bool(layout.pooled)


def test_heatmap_numbers_are_the_runs_counts() -> None:
    runs = settings_grid({"init_scale": [0.1, 1.0]})
    runs.loc[0, "status"] = "failed"
    layout = heatmap_layout(runs, ["hidden", "activation", "lr", "init_scale"])
    data = heatmap_data(runs, layout)
    finished = runs[runs["status"] != "failed"]
    for _, cell in data.iterrows():
        mine = finished[
            (finished["hidden"] == cell["row"])
            & (finished["lr"] == cell["column"])
            & (cell["panel_column"] == "activation = " + finished["activation"])
            & (cell["panel_row"] == "init_scale = " + finished["init_scale"].map("{:g}".format))
        ]
        assert (cell["runs"], cell["solved"]) == (len(mine), mine["solved"].sum())


def test_cell_text_only_where_it_fits() -> None:
    few = settings_grid({})
    layout = heatmap_layout(few, ["hidden", "activation", "lr"])
    figure = heatmap_figure(heatmap_data(few, layout), layout)
    assert any(ax.texts for ax in figure.axes)
    many = pd.concat([few.assign(lr=lr, seed=s) for lr in np.arange(1, 41) for s in range(300)])
    layout = heatmap_layout(many, ["hidden", "activation", "lr"])
    figure = heatmap_figure(heatmap_data(many, layout), layout)
    assert not any(ax.texts for ax in figure.axes)
    assert "colour: share of seeds solved" in figure._suptitle.get_text()


def test_parallel_coordinates_positions() -> None:
    runs = pd.DataFrame(
        {
            "lr": [0.01, 0.1, 1.0, 1.0],
            "hidden": [2, 4, 6, 6],
            "activation": ["relu", "tanh", "relu", "relu"],
            "solved": [True, False, True, False],
            "status": "ok",
        }
    )
    table, ticks = parallel_coordinates_data(runs, ["lr", "hidden", "activation"], ["lr"])
    by_lr = table.set_index("lr")
    assert by_lr["lr_position"].tolist() == pytest.approx([0.0, 0.5, 1.0])  # log: 0.1 midway
    assert by_lr["hidden_position"].tolist() == pytest.approx([0.0, 0.5, 1.0])  # linear
    assert by_lr.loc[1.0, "solve_rate"] == 0.5 and by_lr.loc[1.0, "runs"] == 2
    assert [label for _, label in ticks["activation"]] == ["relu\n(67% solve)", "tanh\n(0% solve)"]
    relu = table[table["activation"] == "relu"].sort_values("solve_rate")
    # relu's configurations spread in its band (the lower half), the better one higher: the
    # mix of a categorical value shows instead of one line painted by the last drawn
    assert relu["activation_position"].is_monotonic_increasing
    assert relu["activation_position"].between(0.25 - 0.175, 0.25 + 0.175).all()
    assert relu["activation_position"].nunique() == len(relu)
    assert ticks["lr"][0][1] == "0.01" and ticks["lr"][-1][1] == "1"


def test_loss_bands_are_the_quantiles_of_the_best_runs_curves() -> None:
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d"],
            "activation": "tanh",
            "hidden": [2, 2, 2, 2],
            "lr": [0.1, 0.1, 1.0, 1.0],
            "seed": [0, 1, 0, 1],
            "status": "ok",
            "solved": [True, True, False, False],
            "final_loss": [0.1, 0.2, 0.6, 0.7],
            "epochs_to_solve": [10, 20, None, None],
        }
    )
    curves = pd.DataFrame(
        {
            "run_id": np.repeat(list("abcd"), 2),
            "epoch": [0, 10] * 4,
            "loss": [0.7, 0.1, 0.7, 0.3, 0.7, 0.6, 0.7, 0.6],
            "accuracy": 1.0,
        }
    )
    asked = []
    bands = loss_bands(
        runs, lambda ids: asked.append(sorted(ids)) or curves[curves.run_id.isin(ids)]
    )
    assert asked == [["a", "b"]]  # only the best configuration's curves are read
    last = bands[bands["epoch"] == 10].iloc[0]
    assert (last["q25"], last["q50"], last["q75"]) == pytest.approx((0.15, 0.2, 0.25))


def test_the_loss_band_is_the_median_of_skewed_seeds_not_their_mean() -> None:
    """Three seeds at 0.1, 0.1, 0.6: median 0.1, mean 0.27 (two seeds cannot tell them apart)."""
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "activation": "tanh",
            "hidden": 2,
            "lr": 1.0,
            "seed": [0, 1, 2],
            "status": "ok",
            "solved": False,
            "final_loss": [0.1, 0.1, 0.6],
            "epochs_to_solve": None,
        }
    )
    curves = pd.DataFrame(
        {"run_id": list("abc"), "epoch": 10, "loss": [0.1, 0.1, 0.6], "accuracy": 1.0}
    )
    bands = loss_bands(runs, lambda ids: curves[curves.run_id.isin(ids)])
    assert bands["q50"].iloc[0] == pytest.approx(0.1)


# -- through the real command and the notebook -------------------------------------------------


RANDOM = """
[sweep]
name = "rand"
method = "random"
trials = 12
seeds = 3
[params]
activation = ["sigmoid", "tanh"]
lr = { distribution = "loguniform", low = 0.05, high = 5.0 }
hidden = { distribution = "int", low = 2, high = 9 }
[train]
epochs = 150
log_every = 50
"""


def test_a_random_search_gets_parallel_coordinates_and_main_effects_only(tmp_path: Path) -> None:
    spec = tmp_path / "rand.toml"
    spec.write_text(RANDOM)
    assert sweep.main([str(spec), "--out", str(tmp_path), "--no-progress"]) == 0
    folder = tmp_path / "rand"
    assert (folder / "figures" / "parallel_coordinates.png").stat().st_size > 10_000
    table = pd.read_csv(folder / "importance.csv")
    assert set(table["kind"]) <= {"main", "rest"}
    values = pd.read_csv(folder / "marginals.csv")
    assert values.groupby("setting")["runs"].sum().eq(36).all()
    assert values[values["setting"] == "lr"]["value"].nunique() <= 5  # binned


def test_the_report_opens_with_what_matters_and_prints_integers(tmp_path: Path) -> None:
    spec = tmp_path / "grid.toml"
    spec.write_text(
        "[sweep]\nname = 'g'\nseeds = 4\n[params]\nhidden = [2, 4]\nlr = [0.5, 2.0]\n"
        "activation = ['tanh', 'relu']\n[train]\nepochs = 1200\ninit_scale = 0.5\nlog_every = 100\n"
    )
    assert sweep.main([str(spec), "--out", str(tmp_path), "--no-progress"]) == 0
    page = (tmp_path / "g" / "report.html").read_text()
    # the first screen: the headline, what matters, why runs failed, the key figure; then
    # the contents and the figures, each under the question it answers
    order = [
        '<p class="headline">',
        "<b>Which settings matter:</b>",
        '<figure class="key"><a href="figures/solve_rate_heatmap.png"><img srcset=',
        "<nav><b>Contents</b>",
        '<h3 id="fig-importance">Which settings matter?</h3>',
        '<h2 id="summary">All configurations',
    ]
    assert [page.index(part) for part in order] == sorted(page.index(part) for part in order)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    for anchor in re.findall(r'<a href="#([\w-]+)">', page):  # every contents entry lands
        assert f'id="{anchor}"' in page
    summary = pd.read_csv(tmp_path / "g" / "summary.csv")
    assert summary["n_seeds"].eq(4).all()
    table = page.split('<h2 id="summary">')[1].split('<h2 id="spec">')[0]
    assert "e+0" not in table
    assert '<div class="scroll"><table class="sortable">' in page
    header = re.findall(r"<th>(.*?)</th>", table)
    assert header[:3] == ["hidden", "activation", "lr"] and "solved" in header
    assert table.count("<tr>") == len(summary) + 1  # every configuration, and the header
    first = re.search(r"<tbody><tr>(.*?)</tr>", table)[1]
    k = round(summary["solve_rate"].iloc[0] * 4)
    assert f">{k}/4</td>" in first and "python -m xorlab.replay" in first
    for name in ("importance.png", "solve_rate_heatmap.png"):
        assert (tmp_path / "g" / "figures" / name).stat().st_size > 10_000
    assert json.loads((tmp_path / "g" / "meta.json").read_text())["runs_total"] == 32


def test_the_quickstart_notebook_runs(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(REPO / "examples" / "quickstart.ipynb", as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError on any failing cell
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2
    assert not [o for o in outputs if o.output_type == "error"]


def test_panels_up_to_the_limit_are_kept() -> None:
    exactly = settings_grid({"s0": [0.1 * i for i in range(1, MAX_PANELS // 2 + 1)]})
    layout = heatmap_layout(exactly, ["hidden", "activation", "lr", "s0"])
    assert layout.panel_rows == ("s0",) and not layout.pooled  # 2 x 12 = 24 panels
    over = settings_grid({"s0": [0.1 * i for i in range(1, MAX_PANELS // 2 + 2)]})
    assert heatmap_layout(over, ["hidden", "activation", "lr", "s0"]).pooled == ("s0",)


def test_seed_points_are_every_seed_of_the_best_settings_in_its_slot() -> None:
    from xorlab.visualization.curves import seed_points

    runs = settings_grid({"seed": [0, 1, 2, 3]})
    runs["run_id"] = [f"r{i}" for i in range(len(runs))]
    runs["final_loss"] = np.where(runs["solved"], 0.01, 0.7) + runs["lr"] / 100
    runs["epochs_to_solve"] = np.where(runs["solved"], 100, np.nan)
    points = seed_points(runs)
    # per (activation, hidden): the lr with the most seeds solved, all of its 4 seeds
    assert points.groupby(["activation", "hidden"]).size().eq(4).all()
    assert points.groupby(["activation", "hidden"])["slot"].nunique().eq(1).all()
    slots = points.groupby(["activation", "hidden"])["slot"].first()
    assert slots[("relu", 2)] == pytest.approx(-0.2) and slots[("tanh", 4)] == pytest.approx(1.2)
    assert (points["x_loss"] - points["slot"]).abs().max() <= 0.4 / 3
    assert points.equals(seed_points(runs))  # the jitter is fixed


# -- the forked helper that draws half of the figures -------------------------------------------


def _square(color: str):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1], [0, 1], color=color)
    return figure


def _raises():
    raise ValueError("no data")


def _dies():
    import os

    os._exit(3)


def test_a_forked_helper_draws_the_same_figures(tmp_path: Path) -> None:
    from functools import partial

    from xorlab.visualization.render import FigureHelper, write_figures

    makers = {f"{c}.png": partial(_square, c) for c in ("red", "green", "blue", "black")}
    called = []
    serial = write_figures(tmp_path / "serial", makers)
    names = list(makers)
    helper = FigureHelper.start(tmp_path / "forked", {n: makers[n] for n in names[1::2]})
    assert helper is not None
    mine = {n: makers[n] for n in names[::2]}
    forked = write_figures(tmp_path / "forked", mine, lambda: called.append(1)) + helper.written()
    assert called == [1]
    assert sorted(p.name for p in forked) == sorted(p.name for p in serial) == sorted(makers)
    for path in serial:
        assert (tmp_path / "forked" / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("bad, message", [(_raises, "ValueError: no data"), (_dies, "died")])
def test_a_figure_that_fails_in_the_helper_is_reported_not_fatal(
    bad, message: str, tmp_path: Path, caplog
) -> None:
    from functools import partial

    from xorlab.visualization.render import FigureHelper, write_figures

    makers = {"a.png": partial(_square, "red"), "c.png": partial(_square, "blue")}
    helper = FigureHelper.start(tmp_path, {"b.png": bad})
    written = write_figures(tmp_path, makers) + helper.written()
    assert sorted(p.name for p in written) == ["a.png", "c.png"]
    assert "could not draw b.png" in caplog.text and message in caplog.text


def test_the_report_shows_the_figures_the_helper_drew_and_no_other(tmp_path: Path) -> None:
    """The report is written while the helper draws; if one of its figures fails, the page
    is written again without it."""
    import shutil

    import xorlab
    from xorlab.visualization.render import HELPER_FIGURES, REPORT, render

    spec = {"sweep": {"name": "h", "seeds": 3}, "params": {"hidden": [2, 4], "lr": [0.5, 2.0]}}
    results = xorlab.run(spec | {"train": {"epochs": 300}}, out=tmp_path)
    folder = results.folder
    page = (folder / REPORT).read_text()
    assert all(f"figures/{name}" in page for name in ("loss_curves.png", "seeds.png"))
    shutil.rmtree(folder / "curves.parquet")  # the loss curves cannot be drawn now
    runs, summary = results.runs, results.summary
    written = render(folder, runs, summary, results.curves_of, results.spec, fork=True)
    names = {p.name for p in written}
    assert "loss_curves.png" in HELPER_FIGURES and "loss_curves.png" not in names
    assert {"decision_boundaries.png", "seeds.png", "solve_rate_heatmap.png"} <= names
    page = (folder / REPORT).read_text()
    assert "figures/loss_curves.png" not in page and "figures/decision_boundaries.png" in page
    assert not (folder / "figures" / "loss_curves.png").exists()


def test_log_axes_are_labelled_in_plain_text() -> None:
    from xorlab.visualization.style import decade_label

    assert [decade_label(v) for v in (1e-4, 1.0, 10.0, 1e12)] == ["10⁻⁴", "10⁰", "10¹", "10¹²"]
    assert [decade_label(v) for v in (0.5, 2e-5, 0.0, -1.0)] == ["0.5", "2e-05", "0", "-1"]


def test_a_configuration_is_found_beside_empty_integer_cells() -> None:
    """samples does not apply to data = truth_table: an Int64 column with empty cells (plot of
    such a sweep failed to draw its decision boundaries in 0.2)."""
    from xorlab.analysis.tables import same_configuration
    from xorlab.training.config import SETTING_NAMES

    runs = pd.DataFrame({name: [None] * 3 for name in SETTING_NAMES})
    runs["samples"] = pd.array([1000, None, 1000], dtype="Int64")
    runs["hidden"] = [2, 2, 4]
    row = {name: None for name in SETTING_NAMES} | {"samples": np.int64(1000), "hidden": 2}
    assert same_configuration(runs, row).tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("losses", "levels", "label"),
    [
        (["bce"], [np.log(2)], "ln 2 = chance"),
        (["mse"], [0.25], "0.25 = chance"),
        (["bce", "mse"], [0.25, np.log(2)], "ln 2 = chance (bce), 0.25 = chance (mse)"),
    ],
)
def test_the_chance_line_follows_the_loss(losses, levels, label) -> None:
    from xorlab.visualization.curves import loss_curves_figure

    runs = pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(len(losses))],
            "activation": "tanh",
            "hidden": 2,
            "lr": 1.0,
            "loss": losses,
            "seed": 0,
            "status": "ok",
            "solved": False,
            "final_loss": 0.3,
            "epochs_to_solve": None,
            "epochs": 100,
            "log_every": 10,
        }
    )
    bands = pd.DataFrame(
        {"activation": "tanh", "hidden": 2, "label": "hidden 2", "epoch": [0, 100]}
        | {"q25": [0.6, 0.2], "q50": [0.7, 0.3], "q75": [0.7, 0.4]}
    )
    ax = loss_curves_figure(runs, bands).axes[0]
    dotted = sorted(line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":")
    assert dotted == pytest.approx(sorted(levels))
    assert ax.get_ylabel().endswith(f"dotted: {label})")


def test_bin_labels_lie_inside_the_sampled_range() -> None:
    """Each bin is named by the lowest and highest value it holds (qcut's first edge lies
    below the lowest value: a sampled low of 0.001 gave the bin '3e-05-0.0061')."""
    from xorlab.analysis.importance import level_labels

    for low in (0.001, 0.01, 2.0):
        values = pd.Series(np.geomspace(low, 10.0, 97))
        out, levels = level_labels(values, binned=True)
        assert levels[0].startswith(f"{low:.2g}-")
        for level in levels:  # rounded inwards: within the values the bin holds
            held = values[out == level]
            first, last = (float(v) for v in re.fullmatch(r"(.*?[^e])-(.+)", level).groups())
            assert held.min() <= first <= last <= held.max()


PARAM_CHOICES = {  # settings a generated grid may sweep, conditional ones among them
    "init": ["normal", "uniform", "xavier", "he"],
    "init_scale": [0.01, 0.1, 1.0],
    "optimizer": ["gd", "momentum", "adam"],
    "momentum": [0.5, 0.9],
    "activation": ["sigmoid", "tanh", "relu"],
    "hidden": [2, 4, 8],
    "lr": [0.1, 1.0, 10.0],
}


@st.composite
def graded_grids(draw) -> tuple[pd.DataFrame, list[str]]:
    """A grid spec xorlab accepts (conditional settings leave it uncrossed), expanded by the
    real grid search, its runs given random solved outcomes (rates per configuration)."""
    names = draw(
        st.lists(st.sampled_from(sorted(PARAM_CHOICES)), min_size=1, max_size=4, unique=True)
    )
    params = {
        name: draw(st.lists(st.sampled_from(PARAM_CHOICES[name]), min_size=2, unique=True))
        for name in names
    }
    seeds = draw(st.integers(1, 6))
    try:
        spec = parse_spec(
            {"sweep": {"name": "g", "seeds": seeds}, "params": params}, Path("g.toml")
        )
    except SpecError:
        assume(False)
    configs = list(spec.space())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rate = {}
    rows = []
    for config in configs:
        key = str([getattr(config, k) for k in names])
        rate.setdefault(key, rng.choice([0.0, 0.2, 0.5, 0.9, 1.0]))
        row = {name: getattr(config, name) for name in PARAM_CHOICES}
        solved = bool(rng.random() < rate[key])
        rows.append(
            row
            | {"seed": config.seed, "status": "ok", "solved": solved, "run_id": config.run_id}
            | {"epochs_to_solve": float(rng.integers(1, 5)) if solved else np.nan}
            | {"final_loss": float(rng.choice([0.01, 0.1, 0.5]))}
        )
    runs = pd.DataFrame(rows)
    return runs, swept_settings(runs, names)


@settings(max_examples=60, deadline=None)
@given(graded_grids())
def test_importance_shares_are_a_decomposition_on_every_grid(grid) -> None:
    """For any grid xorlab accepts: every share in [0, 1], all of them (rest included) adding
    up to 1, and degrees of freedom that count only the level combinations that exist."""
    runs, swept = grid
    table = effects(runs, swept)
    if table.empty:
        return
    assert ((table["share"] >= -1e-12) & (table["share"] <= 1 + 1e-12)).all()
    assert table["share"].sum() == pytest.approx(1, abs=1e-9)
    for _, row in table[table["kind"] != "rest"].iterrows():
        keys = row["effect"].split(" x ")
        cells = runs[keys].astype(str).drop_duplicates()
        assert 0 <= row["df"] <= len(cells) - 1
        if row["df"] > 0:
            assert row["p_value"] == pytest.approx(stats.chi2.sf(row["chi2"], row["df"]), rel=1e-9)


@pytest.mark.parametrize("rest, said", [(0.7, True), (0.11, True), (0.09, False)])
def test_the_sentence_says_how_much_is_left_unexplained(rest: float, said: bool) -> None:
    """A random search's main effects may explain little: the sentence says the rest."""
    table = pd.DataFrame(
        [
            ["lr", "main", 5, 1 - rest, 40.0, 4, 1e-6, True],
            ["rest", "rest", np.nan, rest, np.nan, np.nan, np.nan, False],
        ],
        columns=["effect", "kind", "levels", "share", "chi2", "df", "p_value", "real"],
    )
    sentence = importance_sentence(table, seeds=1)
    assert (f"; {rest:.0%} is explained by none of these" in sentence) == said


def test_the_best_of_every_figure_is_the_summarys_first_row() -> None:
    """Two configurations solve every seed; B solves sooner, A ends at a lower loss. The
    summary ranks B first (solve rate, then epochs to solve), and so does every figure."""
    from xorlab.analysis.tables import summary_table
    from xorlab.visualization.curves import seed_points
    from xorlab.visualization.style import best_per_group

    rows = []
    for lr, ets, loss in ((0.1, 100, 0.05), (1.0, 50, 0.1)):  # A, then B
        for seed in range(3):
            rows.append(
                {"activation": "tanh", "hidden": 2, "lr": lr, "seed": seed, "status": "ok"}
                | {"solved": True, "epochs_to_solve": ets + seed, "final_loss": loss + seed / 1e3}
                | {"final_accuracy": 1.0, "outcome": "solved", "run_id": f"{lr}-{seed}"}
            )
    runs = pd.DataFrame(rows)
    first = summary_table(runs, ["activation", "hidden", "lr"]).iloc[0]
    assert first["lr"] == 1.0
    assert set(best_per_group(runs, ["activation", "hidden"])["lr"]) == {1.0}
    assert seed_points(runs)["run_id"].str.startswith("1.0-").all()


def test_a_setting_in_a_strong_interaction_is_not_pooled_away(monkeypatch) -> None:
    """optimizer alone changes nothing, but lr x optimizer is the largest effect: ranked with
    its interactions it comes before init_bias, which does nothing, and the heatmap pools
    init_bias, saying what it hid."""
    from xorlab.analysis.importance import importance_order, total_importance
    from xorlab.visualization.heatmap import heatmap_data, heatmap_figure, heatmap_layout

    rows = []
    rng = np.random.default_rng(0)
    for lr, optimizer, bias, activation, hidden in itertools.product(
        (0.1, 1.0, 10.0), ("gd", "adam"), ("zero", "same"), ("tanh", "relu"), (2, 4, 8)
    ):
        rate = 0.9 if (lr == 10.0) == (optimizer == "gd") else 0.1  # the pair decides
        for seed in range(4):
            rows.append(
                {"lr": lr, "optimizer": optimizer, "init_bias": bias, "activation": activation}
                | {"hidden": hidden, "seed": seed, "status": "ok", "solved": rng.random() < rate}
            )
    runs = pd.DataFrame(rows)
    settings = ["hidden", "activation", "lr", "optimizer", "init_bias"]
    table = effects(runs, settings)
    main = table[table["kind"] == "main"].set_index("effect")["share"]
    assert main["optimizer"] < 0.1  # alone: little
    shares = total_importance(table)
    assert shares["optimizer"] > 0.3 > shares["init_bias"]
    order = importance_order(table)
    assert order.index("optimizer") < order.index("init_bias")
    monkeypatch.setattr("xorlab.visualization.heatmap.MAX_PANELS", 4)  # room for one more
    layout = heatmap_layout(runs, settings, order)
    assert "optimizer" not in layout.pooled
    assert layout.pooled == ("init_bias",)
    figure = heatmap_figure(heatmap_data(runs, layout), layout, shares)
    assert "init_bias, 2% of the variation with its interactions" in " ".join(
        figure._suptitle.get_text().split()
    )


def test_levels_are_named_by_hand_picked_values() -> None:
    """level_labels on values whose labels are known (two of them, "0.13-0.13" for a bin of
    0.1202-0.1391 and "1.00019" for 1.0002, were fixed on the way): a grid's values as they are ('-' where
    a setting does not apply, last), up to MAX_CATEGORIES values; beyond it (or beyond BINS
    for a sampled setting) quantile bins named by the values they hold, with as few
    significant digits as keep them apart, rounded inwards; a bin of one value by that value."""
    from xorlab.analysis.importance import BINS, level_labels
    from xorlab.analysis.tables import MAX_CATEGORIES

    out, levels = level_labels(pd.Series([0.5, np.nan, 0.1, 0.5]))
    assert out.tolist() == ["0.5", "-", "0.1", "0.5"] and levels == ["0.1", "0.5", "-"]
    assert out.dtype == object
    assert level_labels(pd.Series([2, 1]))[1] == ["1", "2"]  # no '-' where all apply
    grid = pd.Series(np.arange(float(MAX_CATEGORIES)))
    assert level_labels(grid)[1] == [str(i) for i in range(MAX_CATEGORIES)]
    wider = pd.Series(np.arange(float(MAX_CATEGORIES + 1)))
    assert level_labels(wider)[1] == ["0-3", "4-6", "7-9", "10-12", "13-16"]
    assert level_labels(pd.Series(np.arange(float(BINS))), binned=True)[1] == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]
    six = level_labels(pd.Series(np.arange(float(BINS + 1))), binned=True)[1]
    assert six == ["0-1", "2", "3", "4", "5"]
    sampled = pd.Series([0.0512, 0.0577, 0.0613, 0.0702, 0.0811, 0.0933, 0.1044, 0.1202])
    sampled = pd.concat([sampled, pd.Series([0.1391, 0.1555, 0.1781, 0.2003, np.nan])])
    out, levels = level_labels(sampled.reset_index(drop=True), binned=True)
    # 2 digits would name the fourth bin (0.1202-0.1391) "0.13-0.13": 3 digits for all
    assert levels == [
        "0.0512-0.0613",
        "0.0702-0.0811",
        "0.0933-0.104",
        "0.121-0.139",
        "0.156-0.2",
        "-",
    ]
    assert out.tolist() == [levels[i] for i in (0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5)]
    close = pd.Series([0.1234, 0.1238, 0.1241, 0.1247, 0.1252, 0.1259, 0.1263, 0.1268, 0.1271])
    assert level_labels(close, binned=True)[1] == [  # two digits cannot tell them apart
        "0.1234-0.1238",
        "0.1241-0.1247",
        "0.1252",
        "0.1259-0.1263",
        "0.1268-0.1271",
    ]
    typed = pd.Series([1.0001, 1.0002, 1.0003, 1.0004, 1.0005, 1.0006, 1.0007, 1.0008, 1.0009])
    assert level_labels(typed, binned=True)[1][0] == "1.0001-1.0002"  # not 1.00019
    wide = pd.Series([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert level_labels(wide, binned=True)[1] == [
        "0.1-0.2",
        "0.3-0.4",
        "0.5-0.6",
        "0.7-0.8",
        "0.9-1",
    ]
    cases = {  # as few digits as keep the bins apart: 2, 4, 17 (written as Python does)
        (0.123, 0.156, 0.189, 0.212, 0.245, 0.278, 0.301, 0.334, 0.367, 0.391): [
            "0.13-0.15",
            "0.19-0.21",
            "0.25-0.27",
            "0.31-0.33",
            "0.37-0.39",
        ],
        (
            0.12345,
            0.12381,
            0.12412,
            0.12456,
            0.12511,
            0.12547,
            0.12603,
            0.12688,
            0.12712,
            0.12799,
        ): ["0.1235-0.1238", "0.1242-0.1245", "0.1252-0.1254", "0.1261-0.1268", "0.1272-0.1279"],
        (1.000012, 1.000013, 1.000021, 1.000024, 1.000031, 1.000038, 1.000042, 1.000047): [
            "1.000012-1.000013",
            "1.000021",
            "1.000024-1.000031",
            "1.000038",
            "1.000042-1.000047",
        ],
        (1.0,) * 8 + (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0): ["1-3", "4-6", "7-10"],  # ties
    }
    for values, expected in cases.items():
        assert level_labels(pd.Series(values), binned=True)[1] == expected, values


@settings(max_examples=80, deadline=None)
@given(
    kind=st.sampled_from(["uniform", "loguniform", "int", "logint"]),
    low=st.floats(1e-4, 50, allow_nan=False),
    width=st.floats(1.5, 1e4, allow_nan=False),
    trials=st.integers(6, 200),
    seed=st.integers(0, 2**31 - 1),
)
def test_every_bin_label_lies_inside_the_sampled_range(kind, low, width, trials, seed) -> None:
    """For any distribution a spec accepts: the values a random search samples, binned, are
    labelled by numbers within the values each bin holds (so within the sampled range)."""
    from xorlab.analysis.importance import level_labels
    from xorlab.search.spaces import Distribution

    if kind in ("int", "logint"):
        low, high = float(max(1, round(low))), float(max(1, round(low)) + round(width))
    else:
        high = low * width if kind == "loguniform" else low + width
    distribution = Distribution(kind, low, high)
    rng = np.random.default_rng(seed)
    values = pd.Series([distribution.sample(rng) for _ in range(trials)])
    out, levels = level_labels(values, binned=True)
    for level in levels:
        held = values[out == level]
        assert low <= held.min() and held.max() <= high  # the values lie in the sampled range
        if values.nunique() <= 5 or held.nunique() == 1:  # one value: the level is named by it
            assert held.nunique() == 1
            assert float(level) == pytest.approx(held.iloc[0], rel=1e-3)
            continue
        first, last = (float(v) for v in re.fullmatch(r"(.*?[^e])-(.+)", level).groups())
        assert held.min() <= first <= last <= held.max()  # the label lies inside its values


def test_outcome_groups_pool_the_least_important_settings(monkeypatch) -> None:
    """The outcomes figure groups by activation, then by importance with interactions: with
    room for 12 bars it keeps lr and optimizer (their pair decides) and pools init_bias."""
    from xorlab.visualization import outcomes
    from xorlab.visualization.render import _outcome_figure

    rng = np.random.default_rng(1)
    rows = []
    for lr, optimizer, bias, activation in itertools.product(
        (0.1, 1.0, 10.0), ("gd", "adam"), ("zero", "same"), ("tanh", "relu")
    ):
        rate = 0.9 if (lr == 10.0) == (optimizer == "gd") else 0.1
        for seed in range(6):
            solved = bool(rng.random() < rate)
            rows.append(
                {"lr": lr, "optimizer": optimizer, "init_bias": bias, "activation": activation}
                | {"seed": seed, "status": "ok", "solved": solved}
                | {"outcome": "solved" if solved else "plateau"}
            )
    monkeypatch.setattr(outcomes, "MAX_BARS", 12)
    figure = _outcome_figure(pd.DataFrame(rows), ["init_bias", "lr", "optimizer", "activation"])
    ax = figure.axes[0]
    assert ax.get_ylabel() in ("activation, lr, optimizer", "activation, optimizer, lr")
    assert "each bar pools init_bias" in ax.get_xlabel()


@settings(max_examples=40, deadline=None)
@given(graded_grids())
def test_the_best_of_every_view_is_the_summarys_first_row_on_every_grid(grid) -> None:
    """For any grid: the configuration a figure draws as a group's best is that group's
    first row of summary.csv (its order: solve rate, epochs to solve, final loss)."""
    from xorlab.analysis.tables import summary_table
    from xorlab.visualization.style import best_per_group

    runs, swept = grid
    runs = runs.assign(final_accuracy=1.0, outcome="solved", failed=False)
    key = swept[:1]
    summary = summary_table(runs, swept)
    best = best_per_group(runs, key)
    others = [s for s in swept if s not in key]
    for value, group in summary.groupby(key, sort=False, dropna=False):
        drawn = best[(best[key[0]] == value[0]) if not pd.isna(value[0]) else best[key[0]].isna()]
        first = group.iloc[0]
        for setting in others:
            values = drawn[setting].unique()
            assert len(values) == 1
            assert (pd.isna(values[0]) and pd.isna(first[setting])) or values[0] == first[setting]


@pytest.mark.parametrize(
    "rows, seeds, expected",
    [
        (
            [
                ["lr", "main", 4, 0.6, 50.0, 3, 1e-9, True],
                ["hidden", "main", 3, 0.1, 9.0, 2, 0.011, True],
                ["activation", "main", 3, 0.02, 2.0, 2, 0.37, False],
                ["activation x lr", "interaction", 12, 0.15, 20.0, 6, 0.003, True],
                ["rest", "rest", np.nan, 0.13, np.nan, np.nan, np.nan, False],
            ],
            10,
            "lr explains 60% of the variation in solve rate between configurations, hidden 10%;"
            " together, beyond their own effects: activation x lr 15%; 13% is explained by none"
            " of these (seed noise and interactions of three or more settings). Within seed"
            " noise with 10 seeds per configuration: activation (2%, p = 0.37).",
        ),
        (
            [
                ["lr", "main", 4, 0.3, 5.0, 3, 0.17, False],
                ["rest", "rest", np.nan, 0.7, np.nan, np.nan, np.nan, False],
            ],
            1,
            "No setting's effect on the solve rate stands out from seed noise with 1 seed per"
            " configuration (the largest, lr, explains 30% of the variation between"
            " configurations, p = 0.17); more seeds would tell.",
        ),
        (
            [
                ["lr", "main", 4, 0.01, 1.0, 3, 0.8, False],
                ["activation x lr", "interaction", 12, 0.9, 30.0, 6, 1e-5, True],
                ["rest", "rest", np.nan, 0.09, np.nan, np.nan, np.nan, False],
            ],
            3,
            "No setting alone changes the solve rate beyond seed noise; together, beyond their"
            " own effects: activation x lr 90%. Within seed noise with 3 seeds per"
            " configuration: lr (1%, p = 0.8).",
        ),
    ],
)
def test_the_importance_sentence_word_for_word(rows, seeds: int, expected: str) -> None:
    table = pd.DataFrame(rows, columns=EFFECT_ROW)
    assert importance_sentence(table, seeds) == expected


def _runs_from_cells(cells: dict[tuple, tuple[int, int]], names: list[str]) -> pd.DataFrame:
    """Runs with, for each combination of settings, `solved` of `n` runs solved."""
    rows = []
    for values, (solved, n) in cells.items():
        for i in range(n):
            rows.append(
                dict(zip(names, values)) | {"seed": i, "status": "ok", "solved": i < solved}
            )
    return pd.DataFrame(rows)


def test_effects_rows_kinds_levels_and_order_on_an_unbalanced_grid() -> None:
    """On an unbalanced grid (the order main effects enter in matters): the strongest setting
    alone enters first and its share is what it explains alone (lstsq by hand); rows are the
    main effects by share, then the interactions by share, then rest; `levels` counts the
    level combinations; the columns are EFFECT_COLUMNS, nothing more."""
    from xorlab.analysis.importance import EFFECT_COLUMNS, effects

    cells = {  # optimizer matters most, and is last in every order but strength's
        (2, 0.1, "gd"): (1, 10),
        (2, 1.0, "gd"): (2, 12),
        (4, 0.1, "gd"): (3, 10),
        (4, 1.0, "gd"): (2, 10),
        (2, 0.1, "adam"): (8, 20),
        (2, 1.0, "adam"): (9, 11),
        (4, 1.0, "adam"): (10, 10),
    }
    runs = _runs_from_cells(cells, ["hidden", "lr", "optimizer"])
    table = effects(runs, ["hidden", "lr", "optimizer"])
    assert list(table.columns) == EFFECT_COLUMNS and list(table.index) == list(range(len(table)))
    kinds = table["kind"].tolist()
    assert kinds == sorted(kinds, key=["main", "interaction", "rest"].index)
    for kind in ("main", "interaction"):
        shares = table.loc[table["kind"] == kind, "share"].tolist()
        assert shares == sorted(shares, reverse=True)
    levels = dict(zip(table["effect"], table["levels"]))
    assert levels["hidden"] == 2 and levels["lr"] == 2 and levels["optimizer"] == 2
    assert all(levels[e] in (3, 4) for e in levels if " x " in e)  # the cells that exist
    # the first main effect is the strongest alone, with its share alone (weighted lstsq)
    rate = np.array([s / n for s, n in cells.values()])
    weight = np.array([n for _, n in cells.values()], float)
    root = np.sqrt(weight / weight.sum())
    mean = (weight * rate).sum() / weight.sum()
    total = ((root * (rate - mean)) ** 2).sum()

    def alone(position: int) -> float:
        values = [key[position] for key in cells]
        design = np.column_stack([np.ones(len(rate)), [v == values[0] for v in values]])
        coef = np.linalg.lstsq(design * root[:, None], rate * root, rcond=None)[0]
        return ((root * (design @ coef - mean)) ** 2).sum() / total

    strengths = {name: alone(i) for i, name in enumerate(["hidden", "lr", "optimizer"])}
    strongest = max(strengths, key=strengths.get)
    first = table.loc[table["kind"] == "main"].sort_values("share").iloc[-1]
    mains = table[table["kind"] == "main"]
    entered_first = mains.loc[mains["share"].idxmax(), "effect"]
    assert strongest == "optimizer"
    assert entered_first == strongest and first["share"] == pytest.approx(strengths[strongest])


def test_no_interaction_is_listed_where_the_rates_are_additive() -> None:
    """Solve rates exactly additive over hidden and lr: every pair explains nothing beyond
    the main effects, so none is listed; everything is explained."""
    from xorlab.analysis.importance import effects

    cells = {(2, 0.1): (1, 4), (2, 1.0): (2, 4), (4, 0.1): (2, 4), (4, 1.0): (3, 4)}
    table = effects(_runs_from_cells(cells, ["hidden", "lr"]), ["hidden", "lr"])
    assert table["kind"].tolist() == ["main", "main", "rest"]
    assert table["share"].iloc[-1] == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("solved", [0, 1])
def test_all_solved_or_none_has_no_effects(solved: int) -> None:
    from xorlab.analysis.importance import EFFECT_COLUMNS, effects

    cells = {(2, 0.1): (4 * solved, 4), (4, 1.0): (4 * solved, 4)}
    table = effects(_runs_from_cells(cells, ["hidden", "lr"]), ["hidden", "lr"])
    assert table.empty and list(table.columns) == EFFECT_COLUMNS


def test_only_the_strongest_pairs_are_kept() -> None:
    """Four settings with every pair interacting: TOP_PAIRS interaction rows, no more."""
    from xorlab.analysis.importance import TOP_PAIRS, effects_and_marginals

    rng = np.random.default_rng(3)
    cells = {key: (int(rng.integers(0, 9)), 8) for key in itertools.product((0, 1), repeat=4)}
    runs = _runs_from_cells(cells, ["hidden", "lr", "init_scale", "momentum"])
    table, marginal = effects_and_marginals(runs, ["hidden", "lr", "init_scale", "momentum"])
    assert (table["kind"] == "interaction").sum() == TOP_PAIRS
    for _, row in marginal.iterrows():  # each value's runs pooled over the others
        held = runs[runs[row["setting"]].astype(str) == row["value"]]
        assert row["solve_rate"] == pytest.approx(held["solved"].mean())


def test_totals_swept_settings_and_seeds_per_configuration() -> None:
    from xorlab.analysis.importance import (
        seeds_per_configuration,
        swept_settings,
        total_importance,
    )

    table = pd.DataFrame(
        {
            "effect": ["lr", "hidden", "hidden x lr", "rest"],
            "kind": ["main", "main", "interaction", "rest"],
            "share": [0.5, 0.2, 0.1, 0.2],
        }
    )
    assert total_importance(table) == pytest.approx({"lr": 0.6, "hidden": 0.3})
    runs = pd.DataFrame(
        {
            "hidden": [2, 2, 4, 4, 2],
            "lr": [0.1] * 5,
            "momentum": [0.9, np.nan, 0.9, np.nan, 0.9],  # conditional: NaN is a value
            "seed": range(5),
        }
    )
    assert swept_settings(runs) == ["hidden", "momentum"]  # lr is the same everywhere
    assert swept_settings(runs, ["momentum"]) == ["momentum"]
    assert swept_settings(runs, ["lr"]) == ["hidden", "momentum"]  # nothing swept varies
    assert seeds_per_configuration(runs, ["hidden", "momentum"]) == 1
    more = pd.concat([runs, runs.iloc[[1, 3]]])  # the runs without momentum twice
    assert seeds_per_configuration(more, ["hidden", "momentum"]) == 2


def test_the_importance_sentence_with_every_part_at_its_bounds() -> None:
    from xorlab.analysis.importance import importance_sentence

    rows = [
        ("lr", "main", 0.30, 1e-9, True),
        ("hidden", "main", 0.20, 1e-6, True),
        ("activation", "main", 0.10, 1e-4, True),
        ("hidden x lr", "interaction", 0.12, 1e-5, True),
        ("activation x lr", "interaction", 0.08, 1e-3, True),
        ("init_scale", "main", 0.03, 0.2, False),
        ("momentum", "main", 0.03, 0.3, False),
        ("optimizer", "main", 0.02, 0.4, False),
        ("noise", "main", 0.02, 0.5, False),
        ("rest", "rest", 0.10, np.nan, False),
    ]
    table = pd.DataFrame(rows, columns=["effect", "kind", "share", "p_value", "real"])
    assert importance_sentence(table, 10) == (
        "lr explains 30% of the variation in solve rate between configurations, hidden 20%, "
        "activation 10%; together, beyond their own effects: hidden x lr 12%, activation x lr 8%"
        "; 10% is explained by none of these (seed noise and interactions of three or more "
        "settings). Within seed noise with 10 seeds per configuration: init_scale (3%, p = 0.2),"
        " momentum (3%, p = 0.3), optimizer (2%, p = 0.4)."
    )
