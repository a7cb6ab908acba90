"""Sweeps that survive: resume, kill -9, Ctrl-C, failing and crashing runs, locks, changed specs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, TINY_SPEC, read_curves, run_cli, stored_runs
from xorlab.search.spaces import SpecError
from xorlab.search.spec import SECTIONS, parse_spec

# 16 batch keys (hidden x log_every) x 24 runs: 16 chunks of a few tenths of a second each, so
# the store grows while the sweep runs (about 3 s on 2 cores).
SLOW_SPEC = """
[sweep]
name = "slow"
seeds = 4
[params]
hidden = [2, 3, 4, 5, 6, 7, 8, 9]
activation = ["sigmoid", "tanh", "relu"]
lr = [0.5, 2.0]
log_every = [100, 150]
[train]
epochs = 6000
"""
SLOW_RUNS = 8 * 3 * 2 * 2 * 4


def numbers(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "runs.csv").drop(columns="train_seconds")


def curves_match(folder: Path, clean: Path) -> None:
    """The folder's curves are those of the uninterrupted sweep: each run's once, whole."""
    pd.testing.assert_frame_equal(read_curves(folder), read_curves(clean))


def meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text())


def start_sweep(spec: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests") + os.pathsep + str(REPO)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xorlab.sweep",
            str(spec),
            "--out",
            str(out),
            "--no-progress",
            "--n-jobs",
            "2",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as in a terminal
    )


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.01)


@pytest.fixture(scope="module")
def slow(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The slow spec and the runs table of an uninterrupted sweep of it."""
    root = tmp_path_factory.mktemp("slow")
    spec = root / "slow.toml"
    spec.write_text(SLOW_SPEC)
    result = run_cli("xorlab.sweep", str(spec), "--out", str(root / "clean"), "--no-figures")
    assert result.returncode == 0, result.stderr
    return spec, numbers(root / "clean" / "slow"), root / "clean" / "slow"


@pytest.mark.parametrize("moment", ["early", "middle", "late"])
def test_kill_9_then_resume_gives_the_uninterrupted_tables(
    moment: str, slow, tmp_path: Path
) -> None:
    spec, expected, clean = slow
    folder = tmp_path / "slow"
    process = start_sweep(spec, tmp_path)
    if moment == "early":
        time.sleep(0.3)
    elif moment == "middle":
        wait_for(lambda: stored_runs(folder) >= 40)
    else:  # all runs stored: tables and figures are being written
        wait_for(lambda: stored_runs(folder) >= len(expected) or process.poll() is not None)
    process.kill()
    process.wait()
    killed_with = stored_runs(folder)
    assert killed_with < len(expected) or moment == "late"
    result = run_cli("xorlab.sweep", str(spec), "--out", str(tmp_path), "--no-figures")
    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(numbers(folder), expected)
    counts = meta(folder)
    assert counts["runs_reused"] >= killed_with - 8 and counts["runs_reused"] + counts[
        "runs_trained"
    ] == len(expected)
    curves_match(folder, clean)
    assert not list(folder.rglob(".*.tmp")) and not (folder / ".lock").exists()


def _last_shard(folder: Path) -> Path:
    return max((folder / "shards").glob("*.parquet"))


@pytest.mark.parametrize("damage", ["torn", "garbage", "flipped byte"])
def test_a_damaged_shard_is_dropped_retrained_and_reported_once(
    damage: str, slow, tmp_path: Path
) -> None:
    """A shard is written whole or not at all; one damaged later (a disk, a person) is moved
    to shards.rejected/ with its curves, reported once, and its runs trained again."""
    spec, expected, clean = slow
    folder = tmp_path / "slow"
    command = ("xorlab.sweep", str(spec), "--out", str(tmp_path), "--no-figures")
    assert run_cli(*command).returncode == 0
    shard = _last_shard(folder)
    data = bytearray(shard.read_bytes())
    if damage == "torn":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytearray(b"not parquet at all" * 10)
    else:  # inside the first column's data page: its checksum no longer matches
        data[200] ^= 0xFF
    shard.write_bytes(bytes(data))
    runs = int(shard.stem.split("-")[1])
    result = run_cli(*command)
    assert result.returncode == 0, result.stderr
    assert f"{shard.name}: dropped" in result.stderr and "shards.rejected" in result.stderr
    assert f"{runs} trained" in result.stdout
    assert (folder / "shards.rejected" / shard.name).exists()
    pd.testing.assert_frame_equal(numbers(folder), expected)
    curves_match(folder, clean)
    again = run_cli(*command)
    assert "dropped" not in again.stderr and "0 trained" in again.stdout


def test_curves_of_a_chunk_without_its_shard_are_not_kept_twice(slow, tmp_path: Path) -> None:
    """A kill between a chunk's curves and its shard: the curves go, the runs train again."""
    spec, expected, clean = slow
    folder = tmp_path / "slow"
    command = ("xorlab.sweep", str(spec), "--out", str(tmp_path), "--no-figures")
    assert run_cli(*command).returncode == 0
    shard = _last_shard(folder)
    shard.unlink()
    result = run_cli(*command)
    assert result.returncode == 0, result.stderr
    assert f"{shard.stem.split('-')[1]} trained" in result.stdout
    pd.testing.assert_frame_equal(numbers(folder), expected)
    curves_match(folder, clean)


def interrupt_and_resume(
    spec: Path,
    out: Path,
    expected: pd.DataFrame,
    *extra: str,
    within: float = 5,
    stop: signal.Signals = signal.SIGINT,
) -> None:
    """Ctrl-C as a terminal sends it (to the whole process group) once some runs are done, or
    SIGTERM / SIGHUP to the sweep process as a service manager or a closed terminal does:
    exit 130 within seconds, no traceback, finished runs kept; a rerun completes the sweep."""
    folder = out / spec.stem
    process = start_sweep(spec, out, *extra)
    wait_for(lambda: stored_runs(folder) >= 16)
    sent = time.monotonic()
    if stop == signal.SIGINT:
        os.killpg(process.pid, stop)
    else:
        os.kill(process.pid, stop)
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - sent < within
    assert process.returncode == 130, stderr
    said = [line for line in stderr.splitlines() if line.strip()]
    assert len(said) == 1, stderr  # one line: no traceback, no warning
    assert said[0].startswith("interrupted") and "resume with: python -m xorlab.sweep" in said[0]
    kept = stored_runs(folder)
    assert 16 <= kept < len(expected) and not (folder / ".lock").exists()
    assert (folder / "runs.csv").exists()  # the tables of the finished runs
    result = run_cli("xorlab.sweep", str(spec), "--out", str(out), "--no-figures")
    assert result.returncode == 0
    assert meta(folder)["runs_reused"] == kept
    pd.testing.assert_frame_equal(numbers(folder), expected)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=str)
def test_ctrl_c_exits_130_keeps_finished_runs_and_resumes(slow, tmp_path: Path, stop) -> None:
    spec, expected, clean = slow
    interrupt_and_resume(spec, tmp_path, expected, stop=stop)


@pytest.mark.parametrize("how", ["python", "swallowed"])
def test_a_ctrl_c_whose_interrupt_is_lost_still_stops_the_sweep(
    how: str, slow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C whose KeyboardInterrupt is lost where it is raised: dropped by Python ("Exception
    ignored in ...", in a garbage-collection callback), or caught by a broad except that goes
    on. The sweep still stops (exit 130, quietly, finished runs kept); a rerun completes it."""
    _, expected, _ = slow
    dropping = tmp_path / "slow.toml"
    dropping.write_text(SLOW_SPEC + '[run]\nimports = ["xorlab_drops_ctrl_c"]\n')
    folder = tmp_path / "slow"
    monkeypatch.setenv("XORLAB_TEST_DROP_CTRL_C", str(folder))
    monkeypatch.setenv("XORLAB_TEST_DROP_HOW", how)
    process = start_sweep(dropping, tmp_path)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert "resume with: python -m xorlab.sweep" in stderr
    assert 0 < stored_runs(folder) < len(expected)
    dropping.write_text(SLOW_SPEC)  # the same sweep, without the plugin
    result = run_cli("xorlab.sweep", str(dropping), "--out", str(tmp_path), "--no-figures")
    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(numbers(folder), expected)


CRASH_SPEC = """
[sweep]
name = "crash"
seeds = 2
[params]
activation = ["relu", "{bad}"]
init_scale = [0.01, 10.0]
lr = [1.0, 1e200]
[train]
epochs = 200
hidden = 3
[run]
imports = ["xorlab_test_plugins"]
"""


def run_crash_spec(
    bad: str, tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess, pd.DataFrame]:
    tmp_path.mkdir(exist_ok=True)
    spec = tmp_path / "crash.toml"
    spec.write_text(CRASH_SPEC.format(bad=bad))
    markers = tmp_path / "markers"
    markers.mkdir()
    result = run_cli(
        "xorlab.sweep",
        str(spec),
        "--out",
        str(tmp_path),
        "--n-jobs",
        "2",
        "--no-figures",
        *extra,
        timeout=120,
        env_extra={"XORLAB_TEST_MARKERS": str(markers)},
    )
    runs = (
        pd.read_csv(tmp_path / "crash" / "runs.csv")
        if (tmp_path / "crash" / "runs.csv").exists()
        else None
    )
    return result, runs


def test_a_raising_run_is_failed_a_diverging_run_is_diverged_the_rest_ok(tmp_path: Path) -> None:
    result, runs = run_crash_spec("boom", tmp_path)
    assert result.returncode == 0, result.stderr
    bad = (runs["activation"] == "boom") & ((runs["init_scale"] == 10.0) | (runs["lr"] == 1e200))
    assert (runs.loc[bad, "status"] == "failed").all()
    assert runs.loc[bad, "error"].str.contains("ValueError: boom").all()
    assert (
        runs.loc[(runs["activation"] == "relu") & (runs["lr"] == 1e200), "status"] == "diverged"
    ).all()
    assert (runs.loc[~bad & (runs["lr"] == 1.0), "status"] == "ok").all()
    assert "status: 6 ok, 4 diverged, 6 failed" in result.stdout
    again, _ = run_crash_spec("boom", tmp_path / "again", "--fail-fast")
    assert again.returncode == 1


@pytest.mark.parametrize("bad", ["boom", "boomlines"])
def test_runs_csv_formatted_a_chunk_at_a_time_is_the_whole_tables_text(
    bad: str, tmp_path: Path
) -> None:
    """A new sweep formats runs.csv's lines as each chunk is stored; a resumed one formats the
    whole table at the end: the files are the same, byte for byte, with failed runs (an error
    of two lines cannot be written a line at a time), diverged runs (nan, inf), empty cells of
    settings that do not apply, and several chunks from two workers."""
    spec = tmp_path / "mixed.toml"
    spec.write_text(
        "[sweep]\nname = 'mixed'\nseeds = 3\n"
        f"[params]\nactivation = ['relu', '{bad}']\nlr = [1.0, 1e200]\n"
        "optimizer = ['gd', 'momentum']\ninit_scale = [0.01, 10.0]\n"
        "[train]\nepochs = 60\nhidden = 3\n[run]\nimports = ['xorlab_test_plugins']\n"
    )
    args = ("xorlab.sweep", str(spec), "--out", str(tmp_path), "--n-jobs", "2", "--no-figures")
    assert run_cli(*args).returncode == 0
    runs_csv = tmp_path / "mixed" / "runs.csv"
    chunked = runs_csv.read_bytes()
    runs_csv.unlink()
    again = run_cli(*args)
    assert again.returncode == 0 and "48 reused, 0 trained" in again.stdout
    assert runs_csv.read_bytes() == chunked
    runs = pd.read_csv(runs_csv)
    assert set(runs["status"]) == {"ok", "diverged", "failed"}
    assert runs["momentum"].isna().any() and runs["momentum"].notna().any()
    assert runs["error"].dropna().str.contains("boom").all()


def test_a_run_that_kills_its_worker_every_time_is_failed_and_the_sweep_completes(
    tmp_path: Path,
) -> None:
    result, runs = run_crash_spec("kill", tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(runs) == 16
    bad = (runs["activation"] == "kill") & ((runs["init_scale"] == 10.0) | (runs["lr"] == 1e200))
    assert (runs.loc[bad, "status"] == "failed").all()
    assert runs.loc[bad, "error"].str.contains("worker process died").all()
    assert (runs.loc[~bad, "status"] != "failed").all()


def test_a_worker_killed_once_gets_its_runs_retried(tmp_path: Path) -> None:
    result, runs = run_crash_spec("killonce", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "markers" / "killed-once").exists()
    assert (runs["status"] != "failed").all() and len(runs) == 16


def test_a_second_sweep_on_the_same_folder_refuses(tmp_path: Path) -> None:
    spec = tmp_path / "slow.toml"
    spec.write_text(SLOW_SPEC.replace("epochs = 6000", "epochs = 60000"))  # busy for a while
    first = start_sweep(spec, tmp_path)
    try:
        wait_for(lambda: (tmp_path / "slow" / ".lock").exists())
        second = run_cli("xorlab.sweep", str(spec), "--out", str(tmp_path))
        assert second.returncode == 2
        assert f"in use by another xorlab process (pid {first.pid})" in second.stderr
        fresh = run_cli("xorlab.sweep", str(spec), "--out", str(tmp_path), "--fresh")
        assert fresh.returncode == 2 and "in use by another xorlab process" in fresh.stderr
        assert not list(tmp_path.glob("slow.old-*"))  # the folder in use was not moved
    finally:
        first.kill()
        first.wait()


def test_a_stale_lock_from_a_dead_process_is_taken_over(tiny_spec: Path, tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "out" / "tiny"
    folder.mkdir(parents=True)
    (folder / ".lock").write_text(f"{dead.pid} {os.uname().nodename}\n")
    result = run_cli("xorlab.sweep", str(tiny_spec), "--out", str(tmp_path / "out"), "--no-figures")
    assert result.returncode == 0, result.stderr


def test_widening_trains_only_new_runs_and_a_changed_spec_is_refused(
    tiny_spec: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert (
        run_cli("xorlab.sweep", str(tiny_spec), "--out", str(out), "--no-figures").returncode == 0
    )
    tiny_spec.write_text(
        TINY_SPEC.replace("seeds = 3", "seeds = 5").replace(
            "lr = [0.1, 1.0]", "lr = [0.1, 1.0, 3.0]"
        )
    )
    result = run_cli("xorlab.sweep", str(tiny_spec), "--out", str(out), "--no-figures")
    assert result.returncode == 0
    counts = meta(out / "tiny")
    assert (counts["runs_total"], counts["runs_reused"], counts["runs_trained"]) == (60, 24, 36)
    assert "runs: 60 total, 24 reused, 36 trained" in result.stdout

    tiny_spec.write_text(TINY_SPEC.replace("epochs = 300", "epochs = 200"))
    refused = run_cli("xorlab.sweep", str(tiny_spec), "--out", str(out))
    assert refused.returncode == 2
    assert "epochs = 300 -> 200" in refused.stderr and "--fresh" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    fresh = run_cli("xorlab.sweep", str(tiny_spec), "--out", str(out), "--fresh", "--no-figures")
    assert fresh.returncode == 0
    assert "moved to" in fresh.stderr
    assert meta(out / "tiny")["runs_reused"] == 0
    assert [p.name for p in out.glob("tiny.old-*")]  # never deleted silently


def test_rerun_failed_retrains_only_failed_runs(tmp_path: Path) -> None:
    result, _ = run_crash_spec("boom", tmp_path)
    again = run_cli(
        "xorlab.sweep",
        str(tmp_path / "crash.toml"),
        "--out",
        str(tmp_path),
        "--rerun-failed",
        "--no-figures",
    )
    assert again.returncode == 0
    assert "runs: 16 total, 10 reused, 6 trained" in again.stdout


toml_scalars = st.one_of(
    st.integers(-5, 50),
    st.floats(-10, 100, allow_nan=False),
    st.booleans(),
    st.sampled_from(["tanh", "relu", "sigmoid", "grid", "random", "bce", "float32", "x", ""]),
)
toml_values = st.one_of(
    toml_scalars,
    st.lists(toml_scalars, max_size=4),
    st.fixed_dictionaries(
        {},
        optional={
            "distribution": st.sampled_from(["uniform", "loguniform", "int", "logint", "normal"]),
            "low": toml_scalars,
            "high": toml_scalars,
        },
    ),
)
keys = st.sampled_from([k for keys in SECTIONS.values() for k in keys] + ["hiden", "seed"])
tables = st.dictionaries(
    st.sampled_from([*SECTIONS, "extra"]),
    st.dictionaries(keys, toml_values, max_size=6),
    max_size=4,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables)
def test_loader_accepts_or_raises_its_own_clear_error(data: dict) -> None:
    for table in data.values():
        table.pop("imports", None)  # importing arbitrary module names is not the point here
    try:
        spec = parse_spec(data, Path("generated.toml"))
    except SpecError as error:
        assert str(error).startswith("generated.toml") and "\n" not in str(error)
        return
    assert spec.method in ("grid", "random")


def test_a_sweep_where_every_run_fails_still_completes(tmp_path: Path) -> None:
    spec = tmp_path / "allfail.toml"
    spec.write_text(
        "[sweep]\nseeds = 3\n[params]\nhidden = [2, 3]\n"
        "[train]\nactivation = 'boom'\ninit_scale = 10.0\nepochs = 50\n"
        "[run]\nimports = ['xorlab_test_plugins']\n"
    )
    result = run_cli("xorlab.sweep", str(spec), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "status: 0 ok, 0 diverged, 6 failed" in result.stdout
    assert "Traceback" not in result.stderr
    summary = pd.read_csv(tmp_path / "allfail" / "summary.csv")
    assert (summary["failed"] == 3).all() and summary["solve_rate"].isna().all()
    assert (tmp_path / "allfail" / "report.html").is_file()


def test_replay_imports_the_folders_plugins_and_refuses_a_failed_run(tmp_path: Path) -> None:
    result, runs = run_crash_spec("boom", tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "crash"
    plugin_run = runs[(runs["activation"] == "boom") & (runs["status"] != "failed")].iloc[0]
    replayed = run_cli("xorlab.replay", str(folder), plugin_run["run_id"])  # needs the plugin
    assert replayed.returncode == 0, replayed.stderr
    assert "equal to runs.csv, bit for bit" in replayed.stdout
    failed = runs[runs["status"] == "failed"].iloc[0]["run_id"]
    refused = run_cli("xorlab.replay", str(folder), failed)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert f"run {failed} failed when it was trained" in refused.stderr
    inside = run_cli(
        "xorlab.replay", str(folder), plugin_run["run_id"], "--out", str(folder / "curves.parquet")
    )
    assert inside.returncode == 2 and "inside the store" in inside.stderr
    assert not list((folder / "curves.parquet").glob("*.png"))


ALL_FAIL_SPEC = """
[sweep]
name = "allfail"
seeds = 2
[params]
activation = ["boom"]
hidden = [2, 3]
[train]
init_scale = 10.0
epochs = 50
[run]
imports = ["xorlab_test_plugins"]
"""


def test_a_sweep_where_every_run_failed_is_drawn_and_compared_plainly(tmp_path: Path) -> None:
    spec = tmp_path / "allfail.toml"
    spec.write_text(ALL_FAIL_SPEC)
    result = run_cli("xorlab.sweep", str(spec), "--out", str(tmp_path), "--n-jobs", "1")
    assert result.returncode == 0 and "status: 0 ok, 0 diverged, 4 failed" in result.stdout
    assert "could not draw" not in result.stderr, result.stderr
    folder = str(tmp_path / "allfail")
    compared = run_cli("xorlab.compare", folder, folder, "--out", str(tmp_path / "cmp"))
    assert compared.returncode == 2
    assert "every run of this sweep failed" in compared.stderr


def test_float32_runs_that_blow_up_print_no_numpy_warnings(tmp_path: Path) -> None:
    spec = tmp_path / "f32.toml"
    spec.write_text(
        '[sweep]\nname = "f32"\nseeds = 2\n[params]\nlr = [1e3, 1e30]\ninit_scale = [1e40, 1e10, 1.0]\n'
        '[train]\ndtype = "float32"\nepochs = 50\n'
    )
    result = run_cli("xorlab.sweep", str(spec), "--out", str(tmp_path), "--no-progress")
    assert result.returncode == 0 and "diverged" in result.stdout
    assert result.stderr == "", result.stderr
