"""Why runs fail (issue 11): outcomes on runs whose failure is known by construction, the
decision rules on hand-made evidence, the example grid, the report, compare, and replay."""

from __future__ import annotations

import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, exit_status
from xorlab.cli import compare, replay, sweep
from xorlab.training.config import RunConfig
from xorlab.training.diagnosis import CHANCE, OUTCOMES, Evidence, diagnose
from xorlab.training.engine import train_batch
from xorlab.training.reference import draw_problem

FIXTURE = REPO / "tests" / "fixtures" / "release01"
PDP = RunConfig(
    seed=0,
    hidden=2,
    activation="sigmoid",
    loss="mse",
    lr=1.0,
    optimizer="momentum",
    momentum=0.9,
    init="uniform",
    init_scale=0.5,
    init_bias="same",
    data="truth_table",
    solve_margin=0.4,
    epochs=5000,
    log_every=25,
)


def outcome_of(config: RunConfig) -> str:
    return train_batch([config])[0].diagnosis.outcome


# -- runs whose failure is known by construction --------------------------------------------------


def test_relu_units_dead_from_the_start_are_dead_units() -> None:
    base = RunConfig(
        seed=0, hidden=2, activation="relu", init="uniform", init_scale=1.0, init_bias="same"
    )
    patterns = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    for seed in range(2000):  # find initial weights with every unit off on every pattern
        problem = draw_problem(replace(base, seed=seed))
        if (patterns @ problem.W1.T + problem.b1.T <= 0).all():
            break
    else:
        pytest.fail("no seed with all relu units dead from the start")
    result = train_batch([replace(base, seed=seed, lr=1.0, epochs=500)])[0]
    assert result.diagnosis.outcome == "dead_units" and result.diagnosis.live_units == 0
    assert result.final_loss == pytest.approx(math.log(2), abs=0.01)  # also at chance


def test_sigmoid_at_init_001_and_lr_01_is_on_the_plateau() -> None:
    configs = [
        RunConfig(seed=s, hidden=h, activation="sigmoid", lr=0.1, epochs=3000)
        for h in (2, 8)
        for s in range(3)
    ]
    for result in train_batch(configs[:3]) + train_batch(configs[3:]):
        assert result.diagnosis.outcome == "plateau"
        assert result.diagnosis.loss_change < 0  # still improving, slowly


def test_a_learning_rate_too_large_oscillates() -> None:
    config = RunConfig(seed=0, hidden=4, activation="tanh", lr=10.0, epochs=3000)
    assert outcome_of(config) == "oscillating"


def test_a_run_stopped_before_it_converges_is_slow_or_on_the_plateau() -> None:
    """tanh at lr 0.1 leaves the chance plateau after ~3500 epochs and solves XOR at 4319:
    stopped on the plateau it is `plateau`, stopped on the way down `slow`."""
    config = RunConfig(seed=1, hidden=4, activation="tanh", lr=0.1, epochs=6000)
    solved = train_batch([config])[0]
    assert solved.solved and solved.epochs_to_solve == 4319
    assert solved.diagnosis.outcome == "solved"
    assert outcome_of(replace(config, epochs=1000)) == "plateau"
    for epochs in (3800, 4000, 4300):
        assert outcome_of(replace(config, epochs=epochs)) == "slow"
    early = train_batch([replace(PDP, epochs=150)])[0]  # momentum: an overshoot, then the saddle
    assert early.diagnosis.outcome == "plateau"


def test_the_pdp_local_minimum() -> None:
    """PDP's XOR (sweeps/literature/pdp_xor.toml): the runs that do not converge sit at two
    patterns answered 0.5 (mean squared error 0.125), at a stationary point."""
    results = train_batch([replace(PDP, seed=s) for s in (11, 47, 89)])
    for result in results:
        assert result.diagnosis.outcome == "local_minimum"
        assert result.final_loss == pytest.approx(0.125, abs=1e-3)
        assert len(result.diagnosis.wrong_patterns.split()) == 2
        assert result.diagnosis.grad_norm < 1e-3


def evidence(**changes) -> Evidence:
    """A healthy unsolved run's evidence, changed as given (one run: a runs axis of 1)."""
    values = dict(
        slopes=np.full((4, 3), 0.2),
        peak_slope=0.25,
        relu=False,
        outputs=np.array([0.1, 0.9, 0.9, 0.6]),
        present=np.ones(4, bool),
        grad_norm=0.05,
        curve_epoch=np.arange(0, 1001, 50),
        curve_loss=np.linspace(0.69, 0.3, 21),
        tail_loss=np.linspace(0.302, 0.3, 32),
        chance=CHANCE["bce"],
        margin=0.5,
    )
    values |= changes
    batched = {
        name: value if name == "curve_epoch" else np.asarray(value)[..., None]
        for name, value in values.items()
    }
    return Evidence(**batched)


def diagnose_one(evidence: Evidence, status: str = "ok"):
    return diagnose(evidence, np.array([status == "diverged"]), np.array([False]))[0]


def test_a_network_put_at_a_stationary_point_by_hand_is_a_local_minimum() -> None:
    flat = np.full(21, 0.125)
    at_rest = evidence(
        outputs=np.array([0.0, 1.0, 0.5, 0.5]),
        grad_norm=1e-6,
        curve_loss=flat,
        tail_loss=np.full(32, 0.125),
        chance=CHANCE["mse"],
    )
    diagnosis = diagnose_one(at_rest)
    assert diagnosis.outcome == "local_minimum" and diagnosis.wrong_patterns == "10 11"
    assert diagnosis.loss_change == 0.0


@pytest.mark.parametrize(
    "changes, status, expected",
    [
        ({}, "ok", "slow"),
        ({"slopes": np.zeros((4, 3)), "relu": True}, "ok", "dead_units"),
        (
            {  # dead relu units at chance: the cause (dead units), not the symptom (plateau)
                "slopes": np.zeros((4, 3)),
                "relu": True,
                "curve_loss": np.full(21, CHANCE["bce"]),
                "outputs": np.full(4, 0.5),
            },
            "ok",
            "dead_units",
        ),
        ({"slopes": np.full((4, 3), 1e-4)}, "ok", "saturated"),
        (
            {"curve_loss": np.full(21, CHANCE["bce"] - 0.001), "outputs": np.full(4, 0.49)},
            "ok",
            "plateau",
        ),
        ({"tail_loss": 0.3 + 0.01 * (np.arange(32) % 2)}, "ok", "oscillating"),
        ({"curve_loss": np.full(21, 0.3), "grad_norm": 0.5}, "ok", "other"),
        ({"curve_loss": np.append(np.full(20, 0.3), np.inf)}, "diverged", "diverged"),
    ],
)
def test_the_decision_rules(changes: dict, status: str, expected: str) -> None:
    assert diagnose_one(evidence(**changes), status).outcome == expected


def test_one_live_unit_is_too_few_for_xor() -> None:
    slopes = np.zeros((4, 3))
    slopes[:, 0] = 0.2
    assert diagnose_one(evidence(slopes=slopes)).outcome == "saturated"
    slopes[:2, 1] = 0.2  # a second unit live on two patterns
    assert diagnose_one(evidence(slopes=slopes)).live_units == 2


# -- the example grid, tables, report, compare --------------------------------------------------------


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("grid")
    assert sweep.main([str(REPO / "sweeps" / "grid.toml"), "--out", str(out), "--no-progress"]) == 0
    return out / "grid"


def test_the_example_grid_explains_nine_tenths_of_its_failures(grid: Path) -> None:
    runs = pd.read_csv(grid / "runs.csv", dtype={"wrong_patterns": str})
    unsolved = runs[~runs["solved"]]
    assert len(unsolved) > 100
    assert (unsolved["outcome"] == "other").mean() <= 0.10
    assert set(runs["outcome"]) <= set(OUTCOMES)
    assert (runs.loc[runs["solved"], "outcome"] == "solved").all()
    assert runs.loc[runs["outcome"] == "dead_units", "activation"].eq("relu").all()
    sigmoid = runs[(runs["activation"] == "sigmoid") & (runs["lr"] == 0.1)]
    assert sigmoid["outcome"].eq("plateau").all()  # the measured case
    assert runs["wrong_patterns"].dropna().str.fullmatch(r"(00|01|10|11)( (01|10|11))*").all()


def test_summary_counts_every_outcome(grid: Path) -> None:
    runs = pd.read_csv(grid / "runs.csv")
    summary = pd.read_csv(grid / "summary.csv")
    counts = summary[[f"outcome_{o}" for o in OUTCOMES]]
    assert (counts.sum(axis=1) == summary["n_seeds"] - summary["failed"]).all()
    assert counts.sum().to_dict() == {
        f"outcome_{o}": int((runs["outcome"] == o).sum()) for o in OUTCOMES
    }


def test_the_report_says_why_runs_failed(grid: Path) -> None:
    page = (grid / "report.html").read_text()
    assert "<h2>Why runs failed</h2>" in page
    assert "sigmoid, hidden 2, lr 0.1: 10/10 runs are still on the chance plateau" in page
    assert "figures/outcomes.png" in page and (grid / "figures" / "outcomes.png").exists()
    assert f"python -m xorlab.replay {grid} RUN_ID" in page


def test_compare_reports_how_outcomes_changed(grid: Path, tmp_path: Path, capsys) -> None:
    short = tmp_path / "short.toml"
    short.write_text((REPO / "sweeps" / "grid600.toml").read_text())
    assert sweep.main([str(short), "--out", str(tmp_path), "--no-progress", "--no-figures"]) == 0
    capsys.readouterr()
    argv = [str(grid), str(tmp_path / "grid600"), "--out", str(tmp_path / "cmp")]
    assert compare.main(argv) == 0
    out = capsys.readouterr().out
    assert "how the runs ended" in out
    line = next(row for row in out.splitlines() if row.startswith("plateau"))
    grid_plateau, short_plateau, change = map(int, line.split()[1:])
    assert change == short_plateau - grid_plateau > 0  # fewer epochs: more runs on the plateau


# -- replay ---------------------------------------------------------------------------------------------


def test_replay_reproduces_a_run_and_draws_its_story(grid: Path, tmp_path: Path, capsys) -> None:
    runs = pd.read_csv(grid / "runs.csv", dtype={"wrong_patterns": str})
    row = runs[runs["outcome"] == "plateau"].iloc[0]
    assert replay.main([str(grid), row["run_id"][:6], "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "equal to runs.csv, bit for bit" in out
    assert "outcome: plateau" in out and f"wrong_patterns = {row['wrong_patterns']}" in out
    assert (tmp_path / f"replay-{row['run_id']}.png").stat().st_size > 20_000


def test_replay_of_a_folder_written_by_0_1(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "release01"
    shutil.copytree(FIXTURE, folder)
    run_id = pd.read_csv(folder / "runs.csv")["run_id"].iloc[5]
    assert replay.main([str(folder), run_id]) == 0  # the 0.2 engine gives 0.1's bits
    assert "bit for bit" in capsys.readouterr().out


@pytest.mark.parametrize("wanted, fragment", [("", "ambiguous"), ("zzzz", "the closest:")])
def test_replay_of_an_unknown_or_ambiguous_id(wanted: str, fragment: str, capsys) -> None:
    assert exit_status(replay.main, [str(FIXTURE), wanted]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1


BATCH_CASES = [
    ({}, "ok", "slow"),
    ({"slopes": np.zeros((4, 3)), "relu": True}, "ok", "dead_units"),
    ({"slopes": np.full((4, 3), 1e-4)}, "ok", "saturated"),
    (  # at chance, outputs alike: the saddle
        {"curve_loss": np.full(21, CHANCE["bce"] - 0.001), "outputs": np.full(4, 0.49)},
        "ok",
        "plateau",
    ),
    (  # at chance but the outputs differ: not the saddle
        {
            "curve_loss": np.full(21, CHANCE["bce"] - 0.001),
            "outputs": np.array([0.2, 0.8, 0.5, 0.5]),
            "grad_norm": 0.5,
        },
        "ok",
        "other",
    ),
    (  # 0.02 from chance (more than 2% of ln 2 = 0.0139): away from chance, at rest
        {
            "curve_loss": np.full(21, CHANCE["bce"] - 0.02),
            "tail_loss": np.full(32, CHANCE["bce"] - 0.02),
            "outputs": np.array([0.4, 0.6, 0.45, 0.55]),
            "grad_norm": 1e-4,
        },
        "ok",
        "local_minimum",
    ),
    ({"tail_loss": 0.3 + 0.01 * (np.arange(32) % 2)}, "ok", "oscillating"),
    ({"tail_loss": 0.3 + 0.01 * (np.arange(32) % 4 == 0)}, "ok", "slow"),  # rare rises
    ({"curve_loss": np.full(21, 0.3), "grad_norm": 0.5}, "ok", "other"),
    ({"curve_loss": np.append(np.full(20, 0.3), 0.2)}, "ok", "slow"),  # the last point counts
    ({"curve_loss": np.append(np.full(20, 0.3), np.inf)}, "diverged", "diverged"),
    ({"curve_loss": np.full(21, 2e3)}, "diverged", "diverged"),  # blew up, finite
    (
        {"present": np.array([True, True, True, False]), "outputs": np.array([0.1, 0.9, 0.9, 0.9])},
        "ok",
        "slow",
    ),
    ({"curve_loss": np.append(np.full(20, 0.3), np.inf)}, "ok", "diverged"),  # status aside
    ({"tail_loss": np.full(32, np.nan), "curve_loss": np.full(21, np.nan)}, "diverged", "diverged"),
    (  # live only on a pattern the data lack: no live unit
        {
            "slopes": np.array([[0.0] * 3, [0.0] * 3, [0.0] * 3, [0.2] * 3]),
            "present": np.array([True, True, True, False]),
        },
        "ok",
        "saturated",
    ),
    ({"slopes": np.full((4, 3), 0.0025)}, "ok", "saturated"),  # at 1% of the peak: not live
    ({"slopes": np.full((4, 3), 0.01)}, "ok", "slow"),  # at 4% of the peak: live
    (  # far from chance in the first half, at chance (outputs alike) in the second: plateau
        {
            "curve_loss": np.append(np.full(9, 0.5), np.full(12, CHANCE["bce"])),
            "outputs": np.full(4, 0.5),
        },
        "ok",
        "plateau",
    ),
    (  # outputs alike on the patterns in the data; the absent one does not count
        {
            "curve_loss": np.full(21, CHANCE["bce"]),
            "outputs": np.array([0.5, 0.5, 0.5, 0.9]),
            "present": np.array([True, True, True, False]),
        },
        "ok",
        "plateau",
    ),
    (  # 0.02 from chance, outputs alike, moving: not a plateau (tolerance 2% of ln 2)
        {
            "curve_loss": np.full(21, CHANCE["bce"] - 0.02),
            "outputs": np.full(4, 0.49),
            "grad_norm": 0.5,
        },
        "ok",
        "other",
    ),
    (  # near chance, outputs apart, at rest: not a local minimum (not away from chance)
        {
            "curve_loss": np.full(21, CHANCE["bce"] - 0.005),
            "outputs": np.array([0.2, 0.8, 0.5, 0.5]),
            "grad_norm": 1e-4,
        },
        "ok",
        "other",
    ),
    (  # a drop of 1e-3 over the last tenth at loss 0.3: still improving (STILL x loss = 3e-4)
        {
            "curve_loss": np.append(np.full(20, 0.3), 0.299),
            "grad_norm": 1e-4,
            "outputs": np.array([0.2, 0.8, 0.5, 0.5]),
        },
        "ok",
        "slow",
    ),
    ({"curve_loss": np.append(np.full(20, 0.3), 0.2995)}, "ok", "slow"),  # 5e-4 > 3e-4
    (  # at rest away from chance with every pattern right (but not solved): not a minimum
        {
            "curve_loss": np.full(21, 0.1),
            "tail_loss": np.full(32, 0.1),
            "grad_norm": 1e-4,
            "outputs": np.array([0.1, 0.9, 0.9, 0.1]),
        },
        "ok",
        "other",
    ),
]


def test_the_decision_rules_on_a_batch_of_runs_at_once() -> None:
    """The rules run along the runs axis: a batch gives each run its own outcome."""
    singles = [evidence(**changes) for changes, _, _ in BATCH_CASES]
    batch = Evidence(
        **{
            name: getattr(singles[0], name)
            if name == "curve_epoch"
            else np.concatenate([getattr(e, name) for e in singles], axis=-1)
            for name in Evidence.__dataclass_fields__
        }
    )
    diverged = np.array([status == "diverged" for _, status, _ in BATCH_CASES])
    results = diagnose(batch, diverged, np.zeros(len(BATCH_CASES), bool))
    assert [r.outcome for r in results] == [expected for _, _, expected in BATCH_CASES]
    assert results[-1].wrong_patterns == ""  # a pattern not in the data is never wrong
    assert results[0].wrong_patterns == "11" and results[0].live_units == 3
    assert results[0].loss_change == pytest.approx(-0.039)  # the last tenth: two of 20 steps
    assert results[9].loss_change == pytest.approx(-0.1)


@pytest.mark.parametrize("points", [1, 2, 3])
def test_short_curves_and_tails(points: int) -> None:
    """A run of one or two epochs: a curve of 2 or 3 points and a tail of as many."""
    e = evidence(
        curve_epoch=np.arange(points),
        curve_loss=np.linspace(0.69, 0.6, points),
        tail_loss=np.linspace(0.69, 0.6, points),
    )
    (result,) = diagnose(e, np.array([False]), np.array([False]))
    expected_change = 0.0 if points == 1 else 0.6 - np.linspace(0.69, 0.6, points)[-2]
    assert result.loss_change == pytest.approx(expected_change)
    assert result.outcome == ("other" if points == 1 else "slow")


def test_a_tail_of_five_epochs_can_oscillate_and_one_of_four_cannot() -> None:
    up_down = 0.3 + 0.01 * (np.arange(5) % 2)
    for tail, expected in ((up_down, "oscillating"), (up_down[:4], "slow")):
        (result,) = diagnose(evidence(tail_loss=tail), np.array([False]), np.array([False]))
        assert result.outcome == expected


def test_the_reports_numbers_are_the_summarys(grid: Path) -> None:
    """Every number in the report's sentences, parsed back and compared with summary.csv."""
    import re

    page = (grid / "report.html").read_text()
    summary = pd.read_csv(grid / "summary.csv")
    best = re.findall(
        r"<li>(\w+) with hidden = (\d+), lr = ([\d.]+) solved XOR on (\d+)/(\d+) seeds"
        r"(?: \(median (\d+) epochs\))?",
        page,
    )
    assert len(best) == 3
    for activation, hidden, lr, solved, finished, median in best:
        row = summary[
            (summary["activation"] == activation)
            & (summary["hidden"] == int(hidden))
            & (summary["lr"] == float(lr))
        ].iloc[0]
        assert row.name == summary[summary["activation"] == activation].index[0]  # its best
        assert int(solved) == round(row["solve_rate"] * int(finished))
        assert int(finished) == row["n_seeds"] - row["failed"]
        assert int(median) == round(row["epochs_to_solve_median"])
    why = re.findall(
        r"<li>(\w+), hidden (\d+), lr ([\d.]+): (\d+)/(\d+) runs (are still|stopped|ended|were|blew)",
        page,
    )
    assert why
    words = {"are still": "plateau", "stopped": "local_minimum", "were": "slow", "blew": "diverged"}
    for activation, hidden, lr, count, seeds, verb in why:
        row = summary[
            (summary["activation"] == activation)
            & (summary["hidden"] == int(hidden))
            & (summary["lr"] == float(lr))
        ].iloc[0]
        assert int(seeds) == row["n_seeds"]
        if verb in words:
            assert int(count) == row[f"outcome_{words[verb]}"]


@pytest.mark.parametrize(
    ("grad_norm", "expected"),
    [(1e-6, "local_minimum"), (0.9e-3, "local_minimum"), (1.1e-3, "other"), (5e-3, "other")],
)
def test_the_flat_gradient_threshold_from_both_sides(grad_norm: float, expected: str) -> None:
    """A still, wrong run away from chance is a local minimum only when its gradient is flat
    (below FLAT_GRADIENT = 1e-3): cases on both sides, close to it (a 10x slip fails)."""
    stuck = evidence(
        outputs=np.array([0.0, 1.0, 0.5, 0.5]),
        grad_norm=grad_norm,
        curve_loss=np.full(21, 0.125),
        tail_loss=np.full(32, 0.125),
        chance=CHANCE["mse"],
    )
    assert diagnose_one(stuck).outcome == expected
