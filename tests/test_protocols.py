"""Training protocols (issue 10): every option in the engine against the readable reference,
bit-identical whatever the batch or backend, settings that do not apply, and old folders."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, fails_cleanly, run_cli
from xorlab.cli import compare, plot, sweep
from xorlab.search.spaces import GridSearch
from xorlab.search.spec import parse_spec
from xorlab.training.config import RunConfig
from xorlab.training.engine import train_batch
from xorlab.training.reference import train_reference

FIXTURE = REPO / "tests" / "fixtures" / "release01"
BASE = RunConfig(seed=1, hidden=3, activation="tanh", lr=0.5, epochs=240, log_every=20)
PROTOCOLS = {
    "momentum": dict(optimizer="momentum", momentum=0.8),
    "nesterov": dict(optimizer="nesterov"),
    "adam": dict(optimizer="adam", lr=0.05),
    "adam beta1 0.5, mse": dict(optimizer="adam", lr=0.05, momentum=0.5, loss="mse"),
    "mini-batches": dict(batch_size=50, samples=200),
    "online": dict(batch_size=1, samples=16, epochs=40),
    "last batch smaller": dict(batch_size=7, samples=30, activation="relu"),
    "nesterov mini-batches": dict(optimizer="nesterov", batch_size=16, samples=64),
    "adam mini-batches": dict(optimizer="adam", lr=0.05, batch_size=10, samples=50),
    "noisy mini-batches": dict(noise=0.1, samples=40, batch_size=8),
    "uniform init, biases drawn": dict(init="uniform", init_scale=1.0, init_bias="same"),
    "xavier": dict(init="xavier", activation="sigmoid"),
    "he": dict(init="he", activation="relu", init_bias="same"),
    "truth table": dict(data="truth_table", activation="sigmoid", lr=2.0),
    "textbook protocol": dict(
        data="truth_table",
        activation="sigmoid",
        optimizer="momentum",
        momentum=0.7,
        lr=1.0,
        init="uniform",
        init_scale=1.0,
        init_bias="same",
        solve_margin=0.4,
        epochs=600,
    ),
    "tight margin": dict(solve_margin=0.1, epochs=600),
    "float32 momentum": dict(optimizer="momentum", dtype="float32"),
}


@pytest.mark.parametrize("name", PROTOCOLS, ids=list(PROTOCOLS))
def test_every_protocol_matches_the_reference_loop(name: str) -> None:
    config = replace(BASE, **PROTOCOLS[name])
    (batched,) = [r for r in train_batch([config, replace(config, seed=9)]) if r.config == config]
    reference = train_reference(config)
    assert batched.status == reference.status == "ok"
    assert (batched.solved, batched.epochs_to_solve) == (
        reference.solved,
        reference.epochs_to_solve,
    )
    tolerance = 1e-5 if config.dtype == "float32" else 1e-9
    np.testing.assert_allclose(batched.curve_loss, reference.curve_loss, rtol=0, atol=tolerance)
    np.testing.assert_array_equal(batched.curve_accuracy, reference.curve_accuracy)


def test_the_protocols_solve_xor_somewhere() -> None:
    """Not a vacuous comparison: most protocols above solve XOR, at epochs off the log grid."""
    results = [train_reference(replace(BASE, **settings)) for settings in PROTOCOLS.values()]
    solved = [r.epochs_to_solve for r in results if r.solved]
    assert len(solved) >= len(PROTOCOLS) // 2
    assert any(epoch % BASE.log_every for epoch in solved)


@pytest.mark.parametrize("name", ["momentum", "adam", "nesterov mini-batches", "truth table"])
def test_a_protocol_gives_equal_bits_alone_and_in_a_large_mixed_batch(name: str) -> None:
    config = replace(BASE, **PROTOCOLS[name])
    others = [
        replace(config, seed=s, activation=a, lr=config.lr * (1 + s / 10))
        for s in range(12)
        for a in ("sigmoid", "relu", "tanh")
    ]
    alone = train_batch([config])[0]
    mixed = train_batch([*others[:17], config, *others[17:]])[17]
    assert alone.curve_loss.tobytes() == mixed.curve_loss.tobytes()
    assert (alone.solved, alone.epochs_to_solve) == (mixed.solved, mixed.epochs_to_solve)


def test_epochs_to_solve_is_exact_whatever_the_logging() -> None:
    config = replace(BASE, **PROTOCOLS["momentum"])
    fine = train_batch([replace(config, log_every=1)])[0]
    coarse = train_batch([replace(config, log_every=1000)])[0]
    assert fine.solved and fine.epochs_to_solve == coarse.epochs_to_solve
    first_all_right = np.flatnonzero(fine.curve_accuracy == 1.0)[0]
    assert fine.epochs_to_solve == fine.curve_epoch[first_all_right]  # margin 0.5: accuracy 1


def test_a_solve_margin_is_every_output_within_it() -> None:
    """Worked by hand: the textbook protocol, evaluated epoch by epoch with the reference."""
    from xorlab.training.reference import forward, make_model

    config = replace(BASE, **PROTOCOLS["textbook protocol"])
    result = train_reference(config)
    assert result.solved
    for epochs, expect in ((result.epochs_to_solve, True), (result.epochs_to_solve - 1, False)):
        (params_run,) = train_batch([replace(config, epochs=epochs)], keep_weights=True)
        _, X, y = make_model(config)
        outputs, _ = forward(X, params_run.weights, config.activation)
        assert bool(np.all(np.abs(outputs - y) < 0.4)) is expect


# -- settings that do not apply ---------------------------------------------------------------------


def test_a_setting_that_does_not_apply_is_empty_and_out_of_the_run_id() -> None:
    gd = RunConfig(seed=0, momentum=0.5)
    assert gd.momentum is None and gd.run_id == RunConfig(seed=0).run_id
    xavier = RunConfig(seed=0, init="xavier", init_scale=3.0)
    assert xavier.init_scale is None and xavier.run_id == RunConfig(seed=0, init="xavier").run_id
    table = RunConfig(seed=0, data="truth_table", samples=7)
    assert table.samples is None
    assert RunConfig(seed=0, optimizer="momentum").run_id != RunConfig(seed=0).run_id
    assert (
        RunConfig(seed=0, optimizer="momentum", momentum=0.5).run_id
        != RunConfig(seed=0, optimizer="momentum").run_id
    )


def test_old_runs_keep_their_run_ids() -> None:
    runs = pd.read_csv(FIXTURE / "runs.csv")
    for _, row in runs.iterrows():
        assert RunConfig.from_mapping(row).run_id == row["run_id"]


def test_a_grid_crossing_an_inapplicable_setting_collapses() -> None:
    spec = parse_spec(
        {
            "params": {"optimizer": ["gd", "momentum"], "momentum": [0.5, 0.9], "hidden": [2, 3]},
            "sweep": {"seeds": 2},
        },
        Path("x.toml"),
    )
    space = spec.space()
    assert isinstance(space, GridSearch)
    assert len(space) == 3 * 2 * 2 and len({c.run_id for c in space}) == 12
    assert list(space) == [space[i] for i in range(len(space))]
    assert space.collapsed == [(["momentum", "optimizer"], 4, 3)]


def test_the_dry_run_says_what_collapsed(tmp_path: Path, capsys) -> None:
    path = tmp_path / "opt.toml"
    path.write_text("[params]\noptimizer = ['gd', 'adam']\nmomentum = [0.5, 0.9]\n")
    assert sweep.main([str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "15 runs" in out and "4 combinations, 3 distinct" in out
    assert "momentum applies only when optimizer is 'momentum', 'nesterov' or 'adam'" in out


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("[train]\nmomentum = 0.5", ["train.momentum", "applies only when optimizer"]),
        ("[train]\ninit = 'he'\ninit_scale = 2.0", ["train.init_scale", "applies only when init"]),
        ("[train]\ndata = 'truth_table'\nsamples = 10", ["train.samples", "data is 'random'"]),
        ("[params]\nmomentum = [0.5, 0.9]", ["params.momentum", "no run of this spec"]),
        ("[train]\noptimizer = 'adam'\nmomentum = 1.0", ["train.momentum", "< 1"]),
        ("[train]\nsolve_margin = 0.0", ["train.solve_margin", "> 0 and <= 0.5"]),
        ("[train]\nsolve_margin = 0.6", ["train.solve_margin", "> 0 and <= 0.5"]),
        ("[train]\nbatch_size = -1", ["train.batch_size", ">= 0"]),
        ("[train]\ninit = 'glorot'", ["train.init", "'normal', 'uniform', 'xavier', 'he'"]),
        ("[train]\noptimizer = 'sgd'", ["train.optimizer", "'gd', 'momentum', 'nesterov', 'adam'"]),
        ("[train]\ndata = 'mnist'", ["train.data", "'random', 'truth_table'"]),
        ("[train]\ninit_bias = 'one'", ["train.init_bias", "'zero', 'same'"]),
    ],
)
def test_bad_protocol_settings_are_one_line(
    text: str, fragments: list[str], tmp_path: Path, capsys
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    fails_cleanly(capsys, sweep.main, [str(path), "--dry-run"], str(path), *fragments)


PROTOCOL_SPEC = """
[sweep]
name = "protocols"
seeds = 3
[params]
optimizer = ["gd", "momentum", "adam"]
momentum = [0.5, 0.9]
init = ["normal", "xavier"]
batch_size = [0, 25]
[train]
hidden = 3
activation = "tanh"
lr = 0.3
epochs = 120
samples = 50
log_every = 30
"""


def test_a_protocol_sweep_gives_the_same_numbers_whatever_n_jobs(tmp_path: Path) -> None:
    spec = tmp_path / "protocols.toml"
    spec.write_text(PROTOCOL_SPEC)
    tables = []
    for n_jobs in ("1", "2"):
        out = tmp_path / n_jobs
        result = run_cli("xorlab.sweep", str(spec), "--out", str(out), "--n-jobs", n_jobs)
        assert result.returncode == 0, result.stderr
        tables.append(pd.read_csv(out / "protocols" / "runs.csv").drop(columns="train_seconds"))
    pd.testing.assert_frame_equal(*tables)
    runs = tables[0]
    assert len(runs) == (1 + 2 + 2) * 2 * 2 * 3
    gd = runs["optimizer"] == "gd"
    assert runs.loc[gd, "momentum"].isna().all() and runs.loc[~gd, "momentum"].notna().all()
    xavier = runs["init"] == "xavier"
    assert runs.loc[xavier, "init_scale"].isna().all()
    assert runs.loc[~xavier, "init_scale"].eq(0.01).all()
    text = (tmp_path / "1" / "protocols" / "runs.csv").read_text()
    assert ",50," in text and ",50.0," not in text  # integers stay integers beside empty cells
    summary = pd.read_csv(tmp_path / "1" / "protocols" / "summary.csv")
    assert len(summary) == (1 + 2 + 2) * 2 * 2 and summary["n_seeds"].eq(3).all()


# -- folders written by xorlab 0.1 ----------------------------------------------------------------------


@pytest.fixture
def old_folder(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "release01")
    return tmp_path / "release01"


def test_an_old_folder_resumes_with_every_run_reused(old_folder: Path, capsys) -> None:
    before = pd.read_csv(old_folder / "runs.csv")
    spec = REPO / "tests" / "fixtures" / "release01.toml"
    assert sweep.main([str(spec), "--out", str(old_folder.parent), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "24 reused, 0 trained" in out
    after = pd.read_csv(old_folder / "runs.csv")
    pd.testing.assert_frame_equal(after[before.columns], before)
    assert after["optimizer"].eq("gd").all() and after["momentum"].isna().all()


def test_an_old_folder_plots_and_compares(old_folder: Path, tmp_path: Path, capsys) -> None:
    assert plot.main([str(old_folder)]) == 0
    assert (old_folder / "figures" / "solve_rate_heatmap.png").stat().st_size > 10_000
    spec = tmp_path / "momentum.toml"
    spec.write_text(
        (REPO / "tests" / "fixtures" / "release01.toml")
        .read_text()
        .replace("init_scale = 0.5", "init_scale = 0.5\noptimizer = 'momentum'\nmomentum = 0.5")
        .replace('name = "release01"', 'name = "momentum"')
    )
    assert sweep.main([str(spec), "--out", str(tmp_path), "--no-progress", "--no-figures"]) == 0
    capsys.readouterr()
    argv = [str(old_folder), str(tmp_path / "momentum"), "--out", str(tmp_path / "cmp")]
    assert compare.main(argv) == 0
    out = capsys.readouterr().out
    assert "optimizer: release01 = gd, momentum = momentum" in out
    assert "matched on: hidden, activation, lr; 8 configurations in common" in out


@pytest.mark.parametrize(
    "init, layer, distribution",
    [
        ("normal", "W1", lambda fan_in, fan_out: ("norm", (0, 0.3))),
        ("uniform", "W2", lambda fan_in, fan_out: ("uniform", (-0.3, 0.6))),
        (
            "xavier",
            "W1",
            lambda i, o: ("uniform", (-np.sqrt(6 / (i + o)), 2 * np.sqrt(6 / (i + o)))),
        ),
        (
            "xavier",
            "W2",
            lambda i, o: ("uniform", (-np.sqrt(6 / (i + o)), 2 * np.sqrt(6 / (i + o)))),
        ),
        ("he", "W1", lambda fan_in, fan_out: ("norm", (0, np.sqrt(2 / fan_in)))),
        ("he", "W2", lambda fan_in, fan_out: ("norm", (0, np.sqrt(2 / fan_in)))),
        ("he", "b1", lambda fan_in, fan_out: ("norm", (0, np.sqrt(2 / fan_in)))),
    ],
)
def test_initial_weights_follow_their_published_distributions(init, layer, distribution) -> None:
    """Glorot & Bengio (2010): U(+-sqrt(6 / (fan_in + fan_out))); He et al. (2015):
    N(0, 2 / fan_in); fan_in of W1 is 2, of W2 the hidden size. Kolmogorov-Smirnov, fixed seeds."""
    from scipy import stats

    from xorlab.training.reference import draw_problem

    hidden = 3000
    values = np.concatenate(
        [
            getattr(
                draw_problem(
                    RunConfig(seed=s, hidden=hidden, init=init, init_scale=0.3, init_bias="same")
                ),
                layer,
            ).ravel()
            for s in range(2)
        ]
    )
    fan_in, fan_out = (2, hidden) if layer in ("W1", "b1") else (hidden, 1)
    name, args = distribution(fan_in, fan_out)
    assert stats.kstest(values, name, args=args).pvalue > 0.01


def test_a_folder_written_by_0_3_resumes_plots_compares_and_replays(tmp_path: Path, capsys) -> None:
    """tests/fixtures/release03 was written by xorlab 0.3 (the Parquet store, four shards)."""
    from xorlab.cli import replay

    fixtures = REPO / "tests" / "fixtures"
    folder = tmp_path / "release03"
    shutil.copytree(fixtures / "release03", folder)
    before = pd.read_csv(folder / "runs.csv")
    spec = fixtures / "release03.toml"
    assert sweep.main([str(spec), "--out", str(tmp_path), "--no-progress"]) == 0
    assert "16 reused, 0 trained" in capsys.readouterr().out
    after = pd.read_csv(folder / "runs.csv")
    pd.testing.assert_frame_equal(after[before.columns], before)  # every number kept
    coordinates = ["axis_x", "offset_x", "axis_y", "offset_y"]  # columns of 0.4: no map here
    assert sorted(set(after.columns) - set(before.columns)) == sorted(coordinates)
    assert after[coordinates].isna().all().all()
    assert not (folder / "shards.rejected").exists()  # every shard and curve file accepted
    assert plot.main([str(folder)]) == 0
    assert (
        compare.main([str(folder), str(fixtures / "release03"), "--out", str(tmp_path / "c")]) == 0
    )
    capsys.readouterr()
    assert replay.main([str(folder), before["run_id"].iloc[-1], "--out", str(tmp_path)]) == 0
    assert "equal to runs.csv, bit for bit" in capsys.readouterr().out
