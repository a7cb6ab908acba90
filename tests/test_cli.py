"""End to end: the real command on a tiny spec writes every file, the same numbers whatever n_jobs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import read_curves, run_cli, stored_runs
from xorlab.analysis.tables import RUN_COLUMNS, SUMMARY_METRICS
from xorlab.execution import chunks
from xorlab.execution.pipeline import run_sweep
from xorlab.search.spec import RunOptions, load_spec
from xorlab.training.config import SETTING_NAMES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def read_numbers(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = pd.read_csv(folder / "runs.csv").drop(columns="train_seconds")
    return runs, read_curves(folder)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, request) -> Path:
    from tests.conftest import TINY_SPEC

    root = tmp_path_factory.mktemp("cli")
    spec = root / "tiny.toml"
    spec.write_text(TINY_SPEC)
    result = run_cli("xorlab.sweep", str(spec), "--out", str(root / "results"), "--n-jobs", "2")
    assert result.returncode == 0, result.stderr
    return root


def test_sweep_writes_every_file(two_workers: Path) -> None:
    folder = two_workers / "results" / "tiny"
    for name in ("runs.csv", "summary.csv", "spec.toml", "meta.json"):
        assert (folder / name).is_file(), name
    assert not (folder / "curves.csv").exists() and not (folder / "journal.jsonl").exists()
    assert stored_runs(folder) == 24
    runs = pd.read_csv(folder / "runs.csv")
    assert list(runs.columns) == list(RUN_COLUMNS)
    assert len(runs) == 2 * 2 * 2 * 3 and runs["run_id"].is_unique
    assert set(runs["status"]) <= {"ok", "diverged", "failed"}
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary.columns) == [*SETTING_NAMES, *SUMMARY_METRICS]
    assert len(summary) == 8 and (summary["n_seeds"] == 3).all()
    assert summary["solve_rate"].is_monotonic_decreasing
    from scipy.stats import binomtest

    for _, row in summary.iterrows():  # the summary's numbers, from runs.csv independently
        mine = runs[
            (runs[["hidden", "activation", "lr"]] == row[["hidden", "activation", "lr"]]).all(
                axis=1
            )
        ]
        solved, n = int(mine["solved"].sum()), len(mine)
        assert row["solve_rate"] == solved / n
        interval = binomtest(solved, n).proportion_ci(method="wilson")
        assert row["solve_rate_low"] == pytest.approx(interval.low, abs=1e-12)
        assert row["solve_rate_high"] == pytest.approx(interval.high, abs=1e-12)
        assert row["final_loss_median"] == pytest.approx(mine["final_loss"].median())
        assert row["final_loss_mean"] == pytest.approx(mine["final_loss"].mean())
        assert row["epochs_to_solve_median"] == pytest.approx(
            mine["epochs_to_solve"].median(), nan_ok=True
        )
    curves = pd.read_parquet(folder / "curves.parquet")
    assert list(curves.columns) == ["run_id", "epoch", "loss", "accuracy"]
    assert set(curves["run_id"]) == set(runs["run_id"])
    assert sorted(curves["epoch"].unique()) == list(range(0, 301, 50))
    last = curves[curves["epoch"] == 300].set_index("run_id")["loss"]
    np.testing.assert_allclose(
        last[runs["run_id"]].to_numpy(), runs["final_loss"].to_numpy(), rtol=1e-9
    )
    meta = json.loads((folder / "meta.json").read_text())
    assert (meta["runs_total"], meta["runs_reused"], meta["runs_trained"]) == (24, 0, 24)
    for figure in ("solve_rate_heatmap.png", "loss_curves.png"):
        data = (folder / "figures" / figure).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 20_000, figure


def test_sweep_prints_best_configurations_and_counts(two_workers: Path) -> None:
    result = run_cli(
        "xorlab.sweep", str(two_workers / "tiny.toml"), "--out", str(two_workers / "results")
    )
    assert result.returncode == 0
    assert "best 5 of 8 configurations" in result.stdout
    assert "runs: 24 total, 24 reused, 0 trained" in result.stdout
    assert "status: " in result.stdout


def test_numbers_do_not_depend_on_n_jobs_or_chunking(
    two_workers: Path, tmp_path: Path, monkeypatch
) -> None:
    one = run_cli(
        "xorlab.sweep",
        str(two_workers / "tiny.toml"),
        "--out",
        str(tmp_path / "one"),
        "--n-jobs",
        "1",
        "--no-figures",
    )
    assert one.returncode == 0, one.stderr
    monkeypatch.setattr(chunks, "MIN_CHUNK_RUNS", 1)
    monkeypatch.setattr(chunks, "CHUNKS_PER_WORKER", 50)  # many tiny chunks, odd batches
    options = RunOptions(n_jobs=2)
    run_sweep(
        load_spec(two_workers / "tiny.toml"), tmp_path / "small", options=options, figures=False
    )
    expected = read_numbers(two_workers / "results" / "tiny")
    for folder in (tmp_path / "one" / "tiny", tmp_path / "small" / "tiny"):
        runs, curves = read_numbers(folder)
        pd.testing.assert_frame_equal(runs, expected[0])
        pd.testing.assert_frame_equal(curves, expected[1])


def test_dry_run_prints_the_count_and_writes_nothing(tmp_path: Path, tiny_spec: Path) -> None:
    result = run_cli("xorlab.sweep", str(tiny_spec), "--out", str(tmp_path / "out"), "--dry-run")
    assert result.returncode == 0
    assert "24 runs" in result.stdout and "and 19 more" in result.stdout
    assert not (tmp_path / "out").exists()


def test_help() -> None:
    result = run_cli("xorlab.sweep", "--help")
    assert result.returncode == 0 and "--n-jobs" in result.stdout and "--dry-run" in result.stdout
    listing = run_cli("xorlab")
    for command in ("xorlab.sweep", "xorlab.compare", "xorlab.plot", "xorlab.bench"):
        assert command in listing.stdout
        assert run_cli(command, "--help").returncode == 0


def test_benchmark_command_runs_end_to_end(tmp_path: Path, tiny_spec: Path) -> None:
    """A smoke test of `python -m xorlab.bench` on a tiny spec (its figures are not checked)."""
    result = run_cli(
        "xorlab.bench",
        "--spec",
        str(tiny_spec),
        "--sample",
        "2",
        "--sklearn-sample",
        "0",
        "--throughput-epochs",
        "20",
        "--repeat",
        "1",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    runs_per_second = float(re.search(r"= ([\d.]+) runs/s", out).group(1))
    ratio = float(re.search(r"engine / reference = ([\d.]+)x", out).group(1))
    megabytes = float(re.search(r"peak memory +(\d+) MB RSS", out).group(1))
    assert runs_per_second > 1 and ratio > 0 and 50 < megabytes < 4000  # tiny spec: start-up
    rates = [float(x) for x in re.findall(r"([\d.]+)M", out)]
    assert len(rates) >= 6 + 7 and all(0.001 < r < 1000 for r in rates)
    gd, no_check, no_diagnosis = (
        float(re.search(rf"{label} +([\d.]+)M", out).group(1))
        for label in ("gd \\(full batch\\)", "gd, no per-epoch solve check", "gd, no diagnosis")
    )
    assert gd > 0 and no_check > 0 and no_diagnosis > 0
    assert (tmp_path / "tiny" / "runs.csv").is_file()


def _bench(out: Path, *options) -> str:
    """`python -m xorlab.bench` with `options` (the last two: the --scale-specs sweeps) into
    `out`: its output, once it succeeded."""
    *flags, small, large = options
    result = run_cli(
        "xorlab.bench", *flags, "--scale-specs", str(small), str(large), "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_report_benchmark_measures_against_release_0_3(tmp_path: Path, tiny_spec: Path) -> None:
    """`python -m xorlab.bench --report` on a tiny sweep: this code's tail against 0.3's (its
    package unpacked from git), the report's size and its opening time in Chromium."""
    import subprocess

    out = _bench(tmp_path, "--report", "--repeat", "1", tiny_spec, tiny_spec)
    assert re.search(r"tail, this code +[\d.]+ s", out)
    assert re.search(r"report to share +[\d.]+ MB +target < 5 MB", out)
    assert re.search(r"explorer's plots drawn +[\d.]+ s +target < 3 s", out)
    assert (tmp_path / "now" / "tiny" / "plotly.gz.js").is_file()
    from xorlab.cli.report_bench import RELEASE_0_3, REPO

    history = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", RELEASE_0_3]).returncode
    if history != 0:  # a shallow clone, say: said, and no baseline
        assert "no baseline" in out
        return
    for line in ("tail, 0.3", "grown by", "0.3's report.html load"):
        assert re.search(rf"{line} +[-+\d.]+ s", out), (line, out)
    assert (tmp_path / "0.3" / "tiny" / "report.html").is_file()
    assert not (tmp_path / "0.3" / "tiny" / "explorer.html").exists()  # 0.3's code ran


def test_scale_benchmark_measures_a_kill_and_a_rerun(tmp_path: Path, tiny_spec: Path) -> None:
    """`python -m xorlab.bench --scale` on small sweeps: the second is killed (SIGKILL) half
    way through and rerun, which trains only the runs it had not stored."""
    from tests.test_resilience import SLOW_RUNS, SLOW_SPEC

    slow = tmp_path / "slow.toml"
    slow.write_text(SLOW_SPEC)
    out = _bench(tmp_path, "--scale", tiny_spec, slow)
    assert re.search(r"last run stored -> exit +[\d.]+ s", out)
    assert re.search(r"folder +[\d.]+ MB +target <= 40 MB", out)
    killed = int(re.search(r"killed \(SIGKILL\) at ([\d,]+) runs", out).group(1).replace(",", ""))
    assert 0 < killed < SLOW_RUNS
    assert "(only the missing ones)" in out
    trained = int(re.search(r"rerun trained +([\d,]+) runs", out).group(1).replace(",", ""))
    assert trained == SLOW_RUNS - killed
    assert float(re.search(r"reading the finished runs +([\d.]+) s", out).group(1)) < 5
