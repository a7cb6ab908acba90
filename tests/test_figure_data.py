"""The numbers behind the figures, at their edges: every figure is drawn from a DataFrame that a
pure function computes (`outcome_shares`, `heatmap_axes`, `heatmap_layout`, `heatmap_data`,
`loss_bands`, `seed_points`); here each is checked against counts made by hand, at the limits
where it changes what it shows (how many bars, panels and hidden sizes fit), with settings that
do not apply to every run, and with values whose runs all failed."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from xorlab.visualization import outcomes
from xorlab.visualization.curves import MAX_SEED_GROUPS, loss_bands, seed_points
from xorlab.visualization.heatmap import (
    HEATMAP_COLUMNS,
    MAX_PANEL_COLUMNS,
    heatmap_axes,
    heatmap_data,
    heatmap_layout,
)
from xorlab.visualization.outcomes import outcome_figure, outcome_shares


def grid(values: dict, **columns) -> pd.DataFrame:
    """One finished run per combination of `values`, plus constant `columns`."""
    rows = [dict(zip(values, combo)) for combo in itertools.product(*values.values())]
    return pd.DataFrame(rows).assign(**({"status": "ok"} | columns))


# -- outcome shares ------------------------------------------------------------------------------


def adam_and_momentum_runs() -> pd.DataFrame:
    """momentum applies to gd only: adam's runs have no momentum (NaN), as runs.csv has them."""
    runs = pd.concat(
        [
            grid({"optimizer": ["gd"], "momentum": [0.0, 0.9], "seed": range(4)}),
            grid({"optimizer": ["adam"], "momentum": [np.nan], "seed": range(4)}),
        ],
        ignore_index=True,
    )
    outcome = {0: "solved", 1: "solved", 2: "plateau", 3: "local_minimum"}
    runs["outcome"] = runs["seed"].map(outcome)
    runs.loc[(runs["optimizer"] == "adam") & (runs["seed"] == 3), "outcome"] = "solved"
    return runs


def test_outcome_shares_are_the_counts_by_hand_in_the_figures_order() -> None:
    runs = adam_and_momentum_runs()
    runs.loc[len(runs)] = {"optimizer": "gd", "momentum": 0.0, "seed": 9, "status": "failed"}
    shares, keys = outcome_shares(runs, ["optimizer", "momentum"])
    assert keys == ["optimizer", "momentum"]
    # adam's runs, whose momentum does not apply, are a group of their own, not dropped
    index = shares.index.to_frame(index=False)
    assert index["optimizer"].tolist() == ["adam", "gd", "gd"]
    assert index["momentum"].tolist()[1:] == [0.0, 0.9] and np.isnan(index["momentum"][0])
    assert shares["runs"].tolist() == [4, 4, 4]  # the failed run has no outcome: left out
    # the outcomes in OUTCOME_COLORS's order (solved first), a group without one at 0
    assert shares.columns.tolist() == ["solved", "plateau", "local_minimum", "runs"]
    adam = shares.iloc[0]
    assert (adam["solved"], adam["plateau"], adam["local_minimum"]) == (0.75, 0.25, 0.0)
    assert shares.iloc[1][["solved", "plateau", "local_minimum"]].tolist() == [0.5, 0.25, 0.25]
    assert shares.drop(columns="runs").sum(axis=1).tolist() == pytest.approx([1, 1, 1])


def test_outcome_groups_stop_at_max_bars_counting_runs_where_a_setting_does_not_apply(
    monkeypatch,
) -> None:
    runs = adam_and_momentum_runs()  # optimizer x momentum: 3 groups, counting adam's blank
    monkeypatch.setattr(outcomes, "MAX_BARS", 3)
    assert outcome_shares(runs, ["optimizer", "momentum", "seed"])[1] == ["optimizer", "momentum"]
    monkeypatch.setattr(outcomes, "MAX_BARS", 2)
    assert outcome_shares(runs, ["optimizer", "momentum"])[1] == ["optimizer"]


def test_no_setting_to_group_by_is_one_bar_of_all_runs() -> None:
    runs = adam_and_momentum_runs()
    shares, keys = outcome_shares(runs, [])
    assert keys == [] and shares.index.tolist() == ["all"] and shares["runs"].tolist() == [12]
    assert shares["solved"].iloc[0] == pytest.approx(7 / 12)
    labels = [t.get_text() for t in outcome_figure(shares, keys).axes[0].get_yticklabels()]
    assert labels == ["all  (n=12)"]


# -- heatmap cells, panels and numbers ------------------------------------------------------------


def test_heatmap_cells_need_two_values_each() -> None:
    counts = {"hidden": 1, "lr": 3, "momentum": 2}
    assert heatmap_axes(list(counts), counts) == ("lr", "momentum")  # hidden has one value
    assert heatmap_axes(["hidden", "lr", "init_scale"], {"lr": 3, "init_scale": 2}) == (
        "lr",
        "init_scale",
    )  # a setting without a count is not swept
    assert heatmap_axes(["hidden"], {"hidden": 1}) is None
    assert heatmap_axes([], {}) is None


def test_heatmap_panels_count_a_blank_as_a_value_and_skip_settings_of_one_value() -> None:
    runs = pd.concat(
        [
            grid({"hidden": [2, 4], "lr": [0.1, 1.0], "optimizer": ["gd"], "momentum": [0.0, 0.9]}),
            grid({"hidden": [2, 4], "lr": [0.1, 1.0], "optimizer": ["adam"], "momentum": [np.nan]}),
        ],
        ignore_index=True,
    ).assign(init_scale=0.01, solved=True)
    layout = heatmap_layout(runs, ["hidden", "lr", "optimizer", "momentum", "init_scale"])
    assert (layout.panel_columns, layout.panel_rows, layout.pooled) == (
        "optimizer",
        ("momentum",),
        (),
    )
    data = heatmap_data(runs, layout)
    assert set(data["panel_row"]) == {"momentum = 0", "momentum = 0.9", "momentum = -"}
    assert data["runs"].sum() == len(runs)
    one = runs[runs["momentum"].isna() | (runs["momentum"] == 0.9)]  # 0.9 and blank: two values
    layout = heatmap_layout(one, ["hidden", "lr", "optimizer", "momentum", "init_scale"])
    assert (layout.panel_columns, layout.panel_rows) == ("optimizer", ("momentum",))


def test_the_importance_order_ranks_the_settings_it_names_first() -> None:
    runs = grid({"hidden": [2, 4], "lr": [0.1, 1.0], "a": [1, 2], "b": [1, 2], "c": [1, 2]})
    layout = heatmap_layout(runs.assign(solved=True), ["hidden", "lr", "a", "b", "c"], ["c"])
    assert (layout.panel_columns, layout.panel_rows) == ("c", ("a", "b"))
    layout = heatmap_layout(runs.assign(solved=True), ["hidden", "lr", "a", "b", "c"])
    assert (layout.panel_columns, layout.panel_rows) == ("a", ("b", "c"))
    alone = heatmap_layout(runs.assign(solved=True), ["hidden", "lr"])
    assert alone.panel_columns is None and alone.panel_rows == () and alone.pooled == ()


def test_panel_columns_up_to_their_limit_then_rows() -> None:
    base = {"hidden": [2, 4], "lr": [0.1, 1.0]}
    most = grid(base | {"a": list(range(MAX_PANEL_COLUMNS))}, solved=True)
    assert heatmap_layout(most, ["hidden", "lr", "a"]).panel_columns == "a"
    # 7 values are too many columns: rows instead; the next setting then fits 7 x 3 = 21 panels
    over = grid(base | {"a": list(range(MAX_PANEL_COLUMNS + 1)), "b": [1, 2, 3]}, solved=True)
    layout = heatmap_layout(over, ["hidden", "lr", "a", "b"])
    assert (layout.panel_columns, layout.panel_rows, layout.pooled) == (None, ("a", "b"), ())


def test_heatmap_data_rates_categories_and_labels() -> None:
    runs = grid(
        {"hidden": [2, 4, 8], "lr": [0.1, 1.0, 3.0], "activation": ["relu", "tanh", "sigmoid"]}
        | {"init_scale": [2.0, 10.0], "momentum": [0.0, 0.5], "seed": [0, 1, 2]}
    )
    runs["solved"] = pd.Series((runs["seed"] < runs["hidden"] / 3).to_numpy(), dtype=object)
    # every run of hidden 8, of lr 3, of lr 1 at hidden 4 and of sigmoid failed: no cells, but still rows,
    # columns and panels in their place
    gone = (runs["hidden"] == 8) | (runs["activation"] == "sigmoid") | (runs["lr"] == 3.0)
    runs.loc[gone | ((runs["hidden"] == 4) & (runs["lr"] == 1.0)), ["status", "solved"]] = [
        "failed",
        None,
    ]
    layout = heatmap_layout(
        runs, ["hidden", "lr", "activation", "init_scale", "momentum"], ["init_scale"]
    )
    assert layout.panel_rows == ("init_scale", "momentum")
    data = heatmap_data(runs, layout)
    assert data.columns.tolist() == HEATMAP_COLUMNS
    assert list(data["row"].cat.categories) == [2, 4, 8]
    assert list(data["column"].cat.categories) == [0.1, 1.0, 3.0]
    assert list(data["panel_column"].cat.categories) == [
        "activation = relu",
        "activation = sigmoid",
        "activation = tanh",
    ]
    # numeric order, not the labels' text order ("init_scale = 10" < "init_scale = 2")
    assert list(data["panel_row"].cat.categories) == [
        "init_scale = 2, momentum = 0",
        "init_scale = 2, momentum = 0.5",
        "init_scale = 10, momentum = 0",
        "init_scale = 10, momentum = 0.5",
    ]
    assert data["solved"].dtype == np.int64
    assert (data["solve_rate"] == data["solved"] / data["runs"]).all()
    cell = data[(data["row"] == 4) & (data["column"] == 0.1)]
    assert cell["solve_rate"].tolist() == [2 / 3] * 8  # seeds 0 and 1 of 3 solve at hidden 4
    assert data["runs"].sum() == (~runs["status"].eq("failed")).sum()


def test_a_heatmap_without_panels_has_one_blank_panel() -> None:
    runs = grid({"hidden": [2, 4], "lr": [0.1, 1.0]}, solved=True)
    data = heatmap_data(runs, heatmap_layout(runs, ["hidden", "lr"]))
    assert list(data["panel_column"].cat.categories) == [""]
    assert list(data["panel_row"].cat.categories) == [""]
    assert data["solve_rate"].tolist() == [1.0] * 4


# -- loss bands -----------------------------------------------------------------------------------


def runs_and_curves(hidden: list[int], lrs=(1.0,), seeds: int = 2) -> tuple:
    runs = grid({"activation": ["tanh"], "hidden": hidden, "lr": list(lrs), "seed": range(seeds)})
    runs["run_id"] = [f"r{i}" for i in range(len(runs))]
    # the best lr is 0.1 for hidden 2 and 1 elsewhere
    runs["solved"] = (runs["lr"] == 0.1) == (runs["hidden"] == 2)
    runs["final_loss"] = np.where(runs["solved"], 0.01, 0.6)
    runs["epochs_to_solve"] = np.where(runs["solved"], 50.0, np.nan)
    curves = pd.DataFrame(
        {
            "run_id": np.repeat(runs["run_id"], 2),
            "epoch": [0, 100] * len(runs),
            "loss": np.tile([0.7, 0.1], len(runs)),
            "accuracy": np.nan,  # a column a curve may lack: the loss is what counts
        }
    )
    return runs, curves


@pytest.mark.parametrize(
    ("hidden", "shown"),
    [
        (list(range(1, 9)), list(range(1, 9))),  # 8 sizes: all
        (list(range(1, 10)), [1, 2, 3, 4, 6, 7, 8, 9]),  # 9: 8 spread over the range
        (list(range(2, 62, 2)), [2, 10, 18, 26, 36, 44, 52, 60]),
    ],
)
def test_loss_bands_show_at_most_eight_hidden_sizes_spread_over_the_range(hidden, shown) -> None:
    runs, curves = runs_and_curves(hidden)
    bands = loss_bands(runs, lambda ids: curves[curves["run_id"].isin(ids)])
    assert sorted(bands["hidden"].unique()) == shown
    assert len(bands) == 2 * len(shown)  # one row per size and epoch
    assert bands["label"].tolist() == [f"hidden {h}" for h in shown for _ in (0, 100)]


def test_a_loss_band_names_the_settings_where_the_best_differ() -> None:
    runs, curves = runs_and_curves([2, 4], lrs=(0.1, 1.0), seeds=3)
    runs["init_scale"] = 0.5  # the same for every best: not named
    bands = loss_bands(runs, lambda ids: curves[curves["run_id"].isin(ids)])
    labels = bands.drop_duplicates("hidden").set_index("hidden")["label"]
    assert labels.to_dict() == {2: "hidden 2 (lr 0.1)", 4: "hidden 4 (lr 1)"}
    assert len(bands) == 4 and (bands["q50"] == np.tile([0.7, 0.1], 2)).all()
    # two settings differ; activation and hidden, which the panels and lines show, are not named
    runs = pd.concat([runs, runs.assign(activation="relu", run_id=runs["run_id"] + "r")])
    curves = pd.concat([curves, curves.assign(run_id=curves["run_id"] + "r")])
    runs["init_scale"] = np.where(runs["hidden"] == 2, 0.5, 1.0)
    bands = loss_bands(runs, lambda ids: curves[curves["run_id"].isin(ids)])
    labels = bands.drop_duplicates(["activation", "hidden"])["label"].tolist()
    assert labels == ["hidden 2 (lr 0.1, init_scale 0.5)", "hidden 4 (lr 1, init_scale 1)"] * 2


def test_loss_bands_of_runs_without_curves_are_empty_with_their_columns() -> None:
    runs, curves = runs_and_curves([2, 4])
    bands = loss_bands(runs, lambda ids: curves.iloc[:0])
    assert bands.empty
    assert bands.columns.tolist() == ["activation", "hidden", "label", "epoch", "q25", "q50", "q75"]


# -- the seeds figure's points ---------------------------------------------------------------------


def seed_runs(hidden: list[int], activations=("tanh",), seeds: int = 3) -> pd.DataFrame:
    runs = grid({"activation": list(activations), "hidden": hidden, "seed": range(seeds)})
    runs["run_id"] = [f"r{i}" for i in range(len(runs))]
    runs["solved"] = runs["seed"] % 2 == 0
    runs["final_loss"] = np.where(runs["solved"], 0.01, 0.6)
    runs["epochs_to_solve"] = np.where(runs["solved"], 40.0, np.nan)
    return runs


def test_seed_points_columns_and_jitter_within_the_slot() -> None:
    runs = seed_runs([2, 4], seeds=300)
    points = seed_points(runs)
    assert points.columns.tolist() == [
        *["run_id", "activation", "hidden", "slot", "status", "solved"],
        *["epochs_to_solve", "final_loss", "x_epochs", "x_loss"],
    ]
    assert points.index.tolist() == list(range(600))
    assert points["slot"].dtype == float and sorted(points["slot"].unique()) == [0.0, 1.0]
    width = 0.8  # one activation: the whole slot
    for column, spread in (("x_epochs", width / 4), ("x_loss", width / 3)):
        offsets = points[column] - points["slot"]
        assert offsets.abs().max() <= spread  # within its strip
        assert offsets.min() < -0.9 * spread and offsets.max() > 0.9 * spread  # all of it
        assert offsets.nunique() == len(points)
    assert not np.allclose(points["x_epochs"] - points["slot"], points["x_loss"] - points["slot"])


@pytest.mark.parametrize("sizes", [MAX_SEED_GROUPS, MAX_SEED_GROUPS + 1])
def test_seed_points_bin_the_hidden_sizes_of_a_random_search_past_eight(sizes: int) -> None:
    hidden = [2 + 3 * i for i in range(sizes)]
    points = seed_points(seed_runs(hidden, activations=("relu", "tanh")))
    groups = points["hidden"]
    if sizes <= MAX_SEED_GROUPS:
        assert sorted(groups.unique()) == hidden
        return
    assert isinstance(groups.dtype, pd.CategoricalDtype) and groups.dtype.ordered
    labels = list(groups.cat.categories)
    assert all(isinstance(label, str) for label in labels) and len(labels) < sizes
    slots = points.groupby("hidden", observed=True)["slot"].mean()
    assert slots.is_monotonic_increasing  # the bins side by side in their order
    lows = [float(label.split("-")[0]) for label in labels]
    assert lows == sorted(lows) and lows[-1] >= 10  # in numeric order ("11-17" after "2-8")
    assert len(points) == len(hidden) * 2 * 3  # every seed of every run


def test_a_bin_without_runs_gets_no_slot() -> None:
    from xorlab.visualization.curves import _in_order

    values = pd.Series(pd.Categorical(["b", "d"], categories=["a", "b", "c", "d"], ordered=True))
    assert _in_order(values) == ["b", "d"]
    assert _in_order(pd.Series([4, 2, 4])) == [2, 4]
