"""The numbers xorlab derives from runs, on cases worked out by hand: a run's metrics from a
hand-made curve, and the summary table of a tiny set of runs whose aggregates and order are
known (fast: these are also the mutation-testing selection, see the README)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xorlab.analysis.tables import runs_table, summary_table
from xorlab.storage.journal import result_to_record
from xorlab.training.config import RunConfig
from xorlab.training.result import (
    BLOWN_UP_LOSS,
    RunResult,
    failed_result,
    logged_epochs,
    summarize_curve,
)

EPOCHS = np.array([0, 50, 100, 150, 200])


def test_logged_epochs() -> None:
    assert logged_epochs(200, 50).tolist() == [0, 50, 100, 150, 200]
    assert logged_epochs(210, 50).tolist() == [0, 50, 100, 150, 200, 210]
    assert logged_epochs(1, 50).tolist() == [0, 1]
    assert logged_epochs(3, 1).tolist() == [0, 1, 2, 3]


def test_a_solved_run_from_a_hand_made_curve() -> None:
    loss = np.array([0.69, 0.6, 0.3, 0.1, 0.05])
    accuracy = np.array([0.5, 0.75, 1.0, 1.0, 1.0])
    result = summarize_curve(RunConfig(seed=0), EPOCHS, loss, accuracy, True, 0.5, True, 87)
    assert (result.status, result.solved, result.epochs_to_solve) == ("ok", True, 87)
    assert (result.final_loss, result.final_accuracy, result.train_seconds) == (0.05, 1.0, 0.5)


@pytest.mark.parametrize(
    "loss, finite, every_pattern, since, status, solved",
    [
        ([0.69, 0.5, 0.4, 0.3, 0.2], True, True, None, "ok", False),  # criterion never held
        ([0.69, 0.5, 0.4, 0.3, 0.2], True, False, 120, "ok", False),  # a pattern missing
        ([0.69, 0.5, 0.4, 0.3, 0.2], False, True, 120, "diverged", False),  # weights NaN
        ([0.69, 0.5, math.nan, 0.3, 0.2], True, True, 120, "diverged", False),  # loss NaN once
        ([0.69, 0.5, 0.4, 0.3, BLOWN_UP_LOSS + 1], True, True, None, "diverged", False),
        ([0.69, 0.5, 0.4, 0.3, BLOWN_UP_LOSS], True, True, 0, "ok", True),  # at the line: ok
    ],
)
def test_status_and_solved(loss, finite, every_pattern, since, status, solved) -> None:
    accuracy = np.ones(5)
    result = summarize_curve(
        RunConfig(seed=0), EPOCHS, np.array(loss), accuracy, finite, 0.0, every_pattern, since
    )
    assert (result.status, result.solved) == (status, solved)
    assert result.epochs_to_solve == (since if solved else None)


def _run(seed: int, lr: float, loss: float, solved_at: int | None, status: str = "ok"):
    config = RunConfig(seed=seed, lr=lr)
    if status == "failed":
        return failed_result(config, ValueError("boom"))
    return RunResult(
        config,
        status,
        final_loss=loss,
        final_accuracy=1.0 if solved_at is not None else 0.75,
        solved=solved_at is not None,
        epochs_to_solve=solved_at,
    )


def test_the_summary_of_a_tiny_set_of_runs_worked_out_by_hand() -> None:
    results = [
        # lr 0.5: 2 of 3 solved at epochs 100 and 300, one stuck at 0.4
        _run(0, 0.5, 0.01, 100),
        _run(1, 0.5, 0.02, 300),
        _run(2, 0.5, 0.4, None),
        # lr 1.0: both finished runs solved (at 50 and 70), one failed
        _run(0, 1.0, 0.03, 50),
        _run(1, 1.0, 0.05, 70),
        _run(2, 1.0, math.nan, None, "failed"),
        # lr 2.0: one diverged, one unsolved
        _run(0, 2.0, math.inf, None, "diverged"),
        _run(1, 2.0, 0.6, None),
    ]
    summary = summary_table(runs_table(map(result_to_record, results))).set_index("lr")
    assert summary.index.tolist() == [1.0, 0.5, 2.0]  # solve rate 1, 2/3, 0
    assert summary["n_seeds"].tolist() == [3, 3, 2]
    assert summary["failed"].tolist() == [1, 0, 0]
    assert summary["diverged"].tolist() == [0, 0, 1]
    assert summary["solve_rate"].tolist() == [1.0, 2 / 3, 0.0]  # failed runs left out
    assert summary["epochs_to_solve_median"].iloc[:2].tolist() == [60.0, 200.0]
    assert math.isnan(summary["epochs_to_solve_median"].iloc[2])
    assert summary.loc[0.5, "final_loss_median"] == 0.02
    assert summary.loc[0.5, "final_loss_mean"] == pytest.approx((0.01 + 0.02 + 0.4) / 3)
    assert summary.loc[0.5, "final_loss_std"] == pytest.approx(np.std([0.01, 0.02, 0.4], ddof=1))
    assert summary.loc[2.0, "final_loss_median"] == 0.6  # the diverged run's inf left out
    assert summary.loc[1.0, "final_accuracy_mean"] == 1.0
    assert summary.loc[0.5, "final_accuracy_mean"] == pytest.approx((1 + 1 + 0.75) / 3)
    assert summary.loc[1.0, "solve_rate_low"] == pytest.approx(0.3424, abs=1e-4)  # Wilson 2/2
    assert summary.loc[1.0, "solve_rate_high"] == 1.0


def test_ties_in_solve_rate_go_to_the_faster_then_the_lower_loss() -> None:
    results = [
        _run(0, 0.1, 0.02, 500),
        _run(0, 0.2, 0.01, 200),
        _run(0, 0.3, 0.005, 200),
        _run(0, 0.4, 0.3, None),
    ]
    summary = summary_table(runs_table(map(result_to_record, results)))
    assert summary["lr"].tolist() == [0.3, 0.2, 0.1, 0.4]


def test_the_runs_table_keeps_the_given_order_and_types() -> None:
    results = [_run(3, 0.5, 0.01, 100), _run(1, 0.5, 0.4, None)]
    runs = runs_table(map(result_to_record, results))
    assert runs["seed"].tolist() == [3, 1]
    assert runs["epochs_to_solve"].dtype == "Int64" and runs["solved"].dtype == bool
    assert pd.isna(runs["momentum"]).all()  # gd: momentum does not apply


def test_decision_surfaces_show_the_best_and_worst_seed_of_the_top_configurations() -> None:
    from xorlab.analysis.tables import decision_surfaces
    from xorlab.training.engine import train_batch
    from xorlab.training.reference import forward

    configs = [
        RunConfig(seed=s, hidden=3, activation="tanh", lr=lr, epochs=300)
        for lr in (1.0, 0.01)
        for s in range(3)
    ]
    results = train_batch(configs[:3]) + train_batch(configs[3:])
    runs = runs_table(map(result_to_record, results))
    summary = summary_table(runs)
    surfaces = decision_surfaces(runs, summary, ["lr"], top=1, resolution=5)
    assert set(surfaces["which"]) == {"best seed", "worst seed"} and len(surfaces) == 2 * 25
    assert set(surfaces["configuration"]) == {"lr 1"}
    top = runs[runs["lr"] == 1.0]
    best, worst = top["seed"][top["final_loss"].idxmin()], top["seed"][top["final_loss"].idxmax()]
    assert surfaces.groupby("which")["seed"].first().to_dict() == {
        "best seed": best,
        "worst seed": worst,
    }
    (trained,) = train_batch([configs[best]], keep_weights=True)
    corners = surfaces[(surfaces["which"] == "best seed") & surfaces["x0"].isin([0.0, 1.0])]
    corners = corners[corners["x1"].isin([0.0, 1.0])]
    expected, _ = forward(corners[["x0", "x1"]].to_numpy().T, trained.weights, "tanh")
    np.testing.assert_allclose(corners["output"], expected[0], rtol=1e-12)


def test_outcomes_are_counted_per_configuration() -> None:
    from xorlab.training.diagnosis import Diagnosis

    results = [_run(s, 0.5, 0.3, None) for s in range(4)] + [_run(0, 1.0, 0.01, 10)]
    for result, outcome in zip(results, ["plateau", "plateau", "slow", "other", "solved"]):
        result.diagnosis = Diagnosis(outcome, 2, 0.0, "", 0.0)
    summary = summary_table(runs_table(map(result_to_record, results))).set_index("lr")
    assert summary.loc[0.5, ["outcome_plateau", "outcome_slow", "outcome_other"]].tolist() == [
        2,
        1,
        1,
    ]
    assert summary.loc[0.5, "outcome_solved"] == 0 and summary.loc[1.0, "outcome_solved"] == 1
    assert summary.loc[1.0, "outcome_plateau"] == 0


def test_ties_keep_the_order_of_the_spec() -> None:
    results = [_run(0, lr, 0.3, None) for lr in (0.3, 0.1, 0.2)]  # all unsolved, equal losses
    summary = summary_table(runs_table(map(result_to_record, results)))
    assert summary["lr"].tolist() == [0.3, 0.1, 0.2]


def test_a_failed_run_records_its_error() -> None:
    assert failed_result(RunConfig(seed=0), ValueError("boom")).error == "ValueError: boom"
    assert failed_result(RunConfig(seed=0), "worker died").error == "worker died"
    assert failed_result(RunConfig(seed=0), "x").status == "failed"


def test_a_curve_summary_by_its_defaults() -> None:
    accuracy = np.array([0.5, 0.75, 1.0, 1.0, 0.75])
    result = summarize_curve(RunConfig(seed=0), EPOCHS, np.full(5, 0.2), accuracy, True)
    assert result.final_accuracy == 0.75 and result.train_seconds == 0.0
    assert not result.solved  # no solve epoch given
    by_default = summarize_curve(
        RunConfig(seed=0), EPOCHS, np.full(5, 0.2), accuracy, True, solved_since=3
    )
    assert by_default.solved  # every pattern is taken to be in the data
    solved = summarize_curve(
        RunConfig(seed=0), EPOCHS, np.full(5, 0.2), accuracy, True, 0.0, True, 3
    )
    assert solved.solved and solved.epochs_to_solve == 3
    assert solved.curve_epoch is EPOCHS and solved.config == RunConfig(seed=0)
    assert np.array_equal(solved.curve_accuracy, accuracy) and solved.curve_loss[0] == 0.2


def test_configuration_labels_put_the_activation_first() -> None:
    from xorlab.analysis.tables import configuration_label

    row = {"hidden": 4, "activation": "tanh", "lr": 1.0, "momentum": None}
    assert configuration_label(row, ["hidden", "activation", "lr"]) == "tanh, hidden 4, lr 1"
    assert configuration_label(row, ["lr", "momentum"]) == "lr 1, momentum -"


def test_settings_that_do_not_apply_are_blanked_row_by_row() -> None:
    from xorlab.analysis.tables import blank_inapplicable

    results = [_run(0, 0.5, 0.3, None), _run(1, 0.5, 0.3, None)]
    runs = runs_table(map(result_to_record, results))
    runs["optimizer"] = ["gd", "adam"]
    runs["momentum"] = [0.9, 0.9]  # as a table of 0.1 filled with the default would say
    runs["init"] = ["he", "normal"]
    runs["init_scale"] = [0.01, 0.01]
    blank_inapplicable(runs)
    assert pd.isna(runs.loc[0, "momentum"]) and runs.loc[1, "momentum"] == 0.9
    assert pd.isna(runs.loc[0, "init_scale"]) and runs.loc[1, "init_scale"] == 0.01
    assert runs["samples"].tolist() == [1000, 1000] and runs["samples"].dtype == "int64"
