"""Every command fails cleanly and loses nothing: one line on stderr, exit status 2, nothing
written or damaged, no hang (issue 9's defect classes, each through the real command)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, fails_cleanly, read_curves
from xorlab.cli import bench, compare, plot, sweep

OLD_FOLDER = REPO / "tests" / "fixtures" / "release02"  # written by xorlab 0.2
OLD_SPEC = REPO / "tests" / "fixtures" / "release02.toml"

GOOD = """
[sweep]
name = "good"
seeds = 2
[params]
hidden = [2, 3]
lr = [0.5, 1e6]
[train]
epochs = 40
log_every = 10
"""


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under folder with its bytes: to show that nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@contextlib.contextmanager
def read_only(path: Path):
    """Make path read-only even for root (chattr +i), or skip where that is impossible."""
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        if os.geteuid() == 0:
            pytest.skip("cannot make a file read-only for root here (no chattr)")
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A small finished sweep (with figures); tests copy it before damaging it."""
    root = tmp_path_factory.mktemp("finished")
    spec = root / "good.toml"
    spec.write_text(GOOD)
    assert sweep.main([str(spec), "--out", str(root / "results"), "--no-progress"]) == 0
    return root / "results" / "good"


@pytest.fixture
def copy_of(finished: Path, tmp_path: Path) -> Path:
    target = tmp_path / "good"
    subprocess.run(["cp", "-r", str(finished), str(target)], check=True)
    return target


# -- 1. a sweep name can neither escape nor swallow its folder ------------------------------------


@pytest.mark.parametrize(
    "file_name, name_line",
    [
        ("a.toml", 'name = "."'),
        ("a.toml", 'name = ".."'),
        ("a.toml", 'name = "../escape"'),
        ("a.toml", 'name = "-rf"'),
        ("a.toml", f'name = "{"n" * 300}"'),
        ("..toml", ""),
        ("my spec.toml", ""),
        (".hidden.toml", ""),
    ],
)
def test_a_sweep_name_cannot_escape_its_folder(
    file_name: str, name_line: str, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "other").mkdir()  # a sweep's folder that must survive --fresh
    spec = tmp_path / file_name
    spec.write_text(f"[sweep]\n{name_line}\nseeds = 1\n[train]\nepochs = 5\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    fails_cleanly(capsys, sweep.main, [str(spec), "--out", str(out), "--fresh"], "folder name")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert [p.name for p in out.iterdir()] == ["other"]


# -- 2. one line, exit 2, for every bad value ------------------------------------------------------

RANDOM = "[sweep]\nmethod = 'random'\ntrials = 3\n[params]\n"


@pytest.mark.parametrize(
    "text, fragments",
    [
        (RANDOM + "lr = {distribution = 'loguniform', low = 0.1, high = inf}", ["params.lr"]),
        (RANDOM + "hidden = {distribution = 'int', low = 1, high = 1e300}", ["params.hidden"]),
        (RANDOM + "hidden = {distribution = 'int', low = 1, high = 3e9}", ["params.hidden"]),
        ("[train]\nlr = inf", ["train.lr", "finite number > 0"]),
        ("[train]\ninit_scale = inf", ["train.init_scale", "finite"]),
        ("[train]\nnoise = nan", ["train.noise", "finite"]),
        ("[params]\nlr = [0.1, -inf]", ["params.lr"]),
        ("[train]\nepochs = 100000000000000000000", ["train.epochs", "at most"]),
        ("[run]\ntimeout = nan", ["run.timeout", "finite"]),
        ("[run]\ntimeout = -1", ["run.timeout"]),
        ("[run]\naddress = 'garbage://x'\nbackend = 'dask'", ["run.address"]),
        ("[run]\nn_jobs = 100000000000000000000", ["run.n_jobs"]),
        ("[sweep]\nseeds = [1, 100000000000000000000]", ["sweep.seeds"]),
        ("[sweep]\nseeds = 1000000000", ["1,000,000,000 runs", "--yes"]),
    ],
)
def test_bad_values_are_one_line_even_with_dry_run(
    text: str, fragments: list[str], tmp_path: Path, capsys
) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text(text + "\n")
    fails_cleanly(capsys, sweep.main, [str(spec), "--dry-run"], str(spec), *fragments)


def test_a_billion_runs_are_counted_not_built(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "huge.toml"
    spec.write_text("[sweep]\nseeds = 1000000000\n[params]\nhidden = [2, 3]\n")
    assert sweep.main([str(spec), "--dry-run", "--yes"]) == 0  # MemoryError if built
    assert "2000000000 runs" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--timeout", "-1"], "--timeout"),
        (["--timeout", "nan"], "--timeout"),
        (["--timeout", "inf"], "--timeout"),
        (["--address", "garbage://x"], "--address"),
        (["--n-jobs", "100000000000000000000"], "--n-jobs"),
        (["--n-jobs", "1.5"], "--n-jobs"),
        (["--backend", "ray"], "invalid choice"),
    ],
)
def test_bad_sweep_options(args: list[str], fragment: str, tmp_path: Path, capsys) -> None:
    spec = tmp_path / "good.toml"
    spec.write_text(GOOD)
    fails_cleanly(capsys, sweep.main, [str(spec), "--out", str(tmp_path / "o"), *args], fragment)
    assert not (tmp_path / "o").exists()


def test_more_jobs_than_cores_use_the_cores(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "good.toml"
    spec.write_text(GOOD)
    argv = [str(spec), "--out", str(tmp_path), "--n-jobs", "100000", "--no-figures"]
    assert sweep.main([*argv, "--no-progress"]) == 0
    assert "note: n_jobs = 100000" in capsys.readouterr().out


def test_fresh_over_a_file_or_a_read_only_folder(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "good.toml"
    spec.write_text(GOOD)
    (tmp_path / "good").write_text("a file where the results folder would go")
    fails_cleanly(capsys, sweep.main, [str(spec), "--out", str(tmp_path), "--fresh"], "is a file")
    assert (tmp_path / "good").read_text().startswith("a file")

    out = tmp_path / "ro"
    assert sweep.main([str(spec), "--out", str(out), "--no-figures", "--no-progress"]) == 0
    capsys.readouterr()
    before = tree(out)
    with read_only(out):
        fails_cleanly(capsys, sweep.main, [str(spec), "--out", str(out), "--fresh"], "cannot")
    assert tree(out) == before


@pytest.mark.parametrize("part", ["shards", "curves.parquet"])
def test_a_read_only_store_stops_before_training(part: str, copy_of: Path, capsys) -> None:
    spec = copy_of / "spec.toml"
    wider = copy_of.parent / "good.toml"
    wider.write_text(spec.read_text().replace("seeds = 2", "seeds = 4"))
    before = tree(copy_of)
    with read_only(copy_of / part):
        fails_cleanly(capsys, sweep.main, [str(wider), "--out", str(copy_of.parent)], part)
    assert tree(copy_of) == before


@pytest.mark.parametrize("part", ["shards", "curves.parquet"])
def test_a_file_in_the_stores_place_stops_before_training(part: str, copy_of: Path, capsys) -> None:
    subprocess.run(["rm", "-r", str(copy_of / part)], check=True)
    (copy_of / part).write_text("not a folder")
    before = tree(copy_of)
    spec = copy_of / "spec.toml"
    fails_cleanly(capsys, sweep.main, [str(spec), "--out", str(copy_of.parent)], part, "is a file")
    assert tree(copy_of) == before


def test_a_read_only_journal_of_an_older_release_stops_before_training(
    old_copy: Path, capsys
) -> None:
    wider = old_copy.parent / "release02.toml"
    wider.write_text(OLD_SPEC.read_text().replace("seeds = 2", "seeds = 4"))
    before = tree(old_copy)
    with read_only(old_copy / "journal.jsonl"):
        fails_cleanly(
            capsys, sweep.main, [str(wider), "--out", str(old_copy.parent)], "journal.jsonl"
        )
    assert tree(old_copy) == before


def _text_in(column: str):
    def damage(folder: Path) -> None:
        runs = pd.read_csv(folder / "runs.csv", dtype=str, keep_default_na=False)
        runs.loc[1, column] = "some text"
        runs.to_csv(folder / "runs.csv", index=False)

    return damage


PLOT_DAMAGE = {
    "empty runs.csv": (lambda f: (f / "runs.csv").write_bytes(b""), "runs.csv"),
    "header only": (
        lambda f: (f / "runs.csv").write_text((f / "runs.csv").read_text().splitlines()[0]),
        "holds no runs",
    ),
    "binary": (lambda f: (f / "runs.csv").write_bytes(bytes(range(256)) * 4), "runs.csv"),
    "another tool's CSV": (lambda f: (f / "runs.csv").write_text("a,b\n1,2\n"), "missing"),
    "text in hidden": (_text_in("hidden"), "column 'hidden', row 3"),
    "text in lr": (_text_in("lr"), "column 'lr', row 3"),
    "text in final_loss": (_text_in("final_loss"), "column 'final_loss', row 3"),
    "text in solved": (_text_in("solved"), "column 'solved', row 3"),
    "spec.toml not TOML": (lambda f: (f / "spec.toml").write_text("= ="), "spec.toml"),
    "figures is a file": (
        lambda f: (
            subprocess.run(["rm", "-r", str(f / "figures")], check=True),
            (f / "figures").write_text("x"),
        ),
        "figures",
    ),
    "curves.parquet damaged": (
        lambda f: next((f / "curves.parquet").glob("*.parquet")).write_text("run_id\nx\n"),
        "curves.parquet",
    ),
    "curves.parquet missing": (
        lambda f: subprocess.run(["rm", "-r", str(f / "curves.parquet")], check=True),
        "curves.parquet",
    ),
}


@pytest.mark.parametrize("damage", PLOT_DAMAGE, ids=list(PLOT_DAMAGE))
def test_plot_on_a_damaged_folder(damage: str, copy_of: Path, capsys) -> None:
    make, fragment = PLOT_DAMAGE[damage]
    make(copy_of)
    before = tree(copy_of)
    fails_cleanly(capsys, plot.main, [str(copy_of)], fragment)
    assert tree(copy_of) == before


@pytest.mark.parametrize("column", ["hidden", "lr", "solved", "final_loss", "status"])
def test_compare_with_text_in_a_column(column: str, copy_of: Path, finished: Path, capsys) -> None:
    _text_in(column)(copy_of)
    out = copy_of.parent / "cmp"
    fails_cleanly(
        capsys, compare.main, [str(finished), str(copy_of), "--out", str(out)], f"{column!r}"
    )
    assert not out.exists()


def test_compare_into_a_read_only_folder_prints_nothing_but_the_error(
    finished: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "cmp"
    out.mkdir()
    with read_only(out):
        fails_cleanly(
            capsys, compare.main, [str(finished), str(finished), "--out", str(out)], "compare"
        )
    assert not list(out.iterdir())


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--spec", "missing.toml"], "missing.toml"),
        (["--repeat", "0"], "--repeat"),
        (["--n-jobs", "0"], "--n-jobs"),
        (["--sample", "-3"], "--sample"),
    ],
)
def test_bad_bench_options(args: list[str], fragment: str, capsys) -> None:
    fails_cleanly(capsys, bench.main, args, fragment)


# -- 5. report.html never shows figures of other data ------------------------------------------------


def test_no_stale_figures_after_a_wider_rerun_without_figures(copy_of: Path, capsys) -> None:
    assert (copy_of / "figures" / "seeds.png").exists()
    wider = copy_of.parent / "good.toml"
    wider.write_text(GOOD.replace("seeds = 2", "seeds = 3"))
    argv = [str(wider), "--out", str(copy_of.parent), "--no-figures", "--no-progress"]
    assert sweep.main(argv) == 0
    page = (copy_of / "report.html").read_text()
    assert "<img" not in page and "python -m xorlab.plot" in page
    assert not list((copy_of / "figures").glob("*.png"))


def test_a_grid_reusing_a_random_search_name_drops_its_scatter(tmp_path: Path) -> None:
    random = tmp_path / "same.toml"
    random.write_text(
        RANDOM.replace("trials = 3", "trials = 3\nname = 'same'\nseeds = 2")
        + "lr = {distribution = 'loguniform', low = 0.1, high = 10.0}\n[train]\nepochs = 30\n"
    )
    assert sweep.main([str(random), "--out", str(tmp_path), "--no-progress"]) == 0
    assert (tmp_path / "same" / "figures" / "settings_scatter.png").exists()
    grid = tmp_path / "grid.toml"
    grid.write_text("[sweep]\nname = 'same'\nseeds = 2\n[params]\nlr = [0.5, 2.0]\n")
    grid.write_text(grid.read_text() + "[train]\nepochs = 30\n")
    assert sweep.main([str(grid), "--out", str(tmp_path), "--no-progress"]) == 0
    assert not (tmp_path / "same" / "figures" / "settings_scatter.png").exists()
    assert "settings_scatter" not in (tmp_path / "same" / "report.html").read_text()


# -- 6. journal damage is dropped, retrained and reported once ---------------------------------------


def _without(key: str):
    def damage(record: dict) -> dict:
        del record[key]
        return record

    return damage


def _short_curve(record: dict) -> dict:
    record["curve"]["loss"] = record["curve"]["loss"][:-1]
    return record


def _other_settings(record: dict) -> dict:
    record["hidden"] = 7
    return record


JOURNAL_DAMAGE = {
    "no final_loss": _without("final_loss"),
    "no curve": _without("curve"),
    "no seed": _without("seed"),
    "unequal curve lists": _short_curve,
    "settings that do not match the run_id": _other_settings,
    "not JSON": None,
}


@pytest.fixture(scope="module")
def fresh02(tmp_path_factory) -> Path:
    """The sweep of the 0.2 fixture, trained afresh by this release."""
    root = tmp_path_factory.mktemp("fresh02")
    assert sweep.main([str(OLD_SPEC), "--out", str(root), "--no-progress", "--no-figures"]) == 0
    return root / "release02"


@pytest.fixture
def old_copy(tmp_path: Path) -> Path:
    """A copy of a folder written by 0.2 (journal.jsonl, curves.csv)."""
    target = tmp_path / "release02"
    subprocess.run(["cp", "-r", str(OLD_FOLDER), str(target)], check=True)
    return target


def assert_same_runs(folder: Path, fresh: Path) -> None:
    """runs.csv of a converted 0.2 folder against a fresh sweep: equal settings and metrics;
    the diagnosis columns are the ones recorded by 0.2 (data: kept as they were), which the
    rules of 0.4 may label differently."""
    from xorlab.training.result import DIAGNOSIS

    got = pd.read_csv(folder / "runs.csv").drop(columns=["train_seconds", *DIAGNOSIS])
    expected = pd.read_csv(fresh / "runs.csv").drop(columns=["train_seconds", *DIAGNOSIS])
    pd.testing.assert_frame_equal(got, expected)


def test_a_folder_of_0_2_converts_with_every_run_reused(
    old_copy: Path, fresh02: Path, capsys
) -> None:
    argv = [str(OLD_SPEC), "--out", str(old_copy.parent), "--no-progress", "--no-figures"]
    assert sweep.main(argv) == 0
    assert "16 reused, 0 trained" in capsys.readouterr().out
    recorded = {
        record["run_id"]: record["outcome"]
        for record in map(json.loads, (OLD_FOLDER / "journal.jsonl").read_text().splitlines())
    }
    assert not (old_copy / "journal.jsonl").exists() and not (old_copy / "curves.csv").exists()
    assert_same_runs(old_copy, fresh02)
    runs = pd.read_csv(old_copy / "runs.csv")
    assert dict(zip(runs["run_id"], runs["outcome"])) == recorded  # kept, not recomputed
    old_curves = pd.read_csv(OLD_FOLDER / "curves.csv")
    pd.testing.assert_frame_equal(
        read_curves(old_copy),
        old_curves.sort_values(["run_id", "epoch"], ignore_index=True),
        check_dtype=False,
    )
    pd.testing.assert_frame_equal(read_curves(old_copy), read_curves(fresh02), rtol=1e-9)


def test_a_run_recorded_twice_in_a_journal_keeps_its_later_record(
    old_copy: Path, fresh02: Path, capsys
) -> None:
    """A 0.2 journal where a run failed, then was trained again (--rerun-failed)."""
    journal = old_copy / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    failed = json.loads(lines[5])
    failed |= {"status": "failed", "final_loss": None, "final_accuracy": None, "solved": False}
    failed |= {"epochs_to_solve": None, "error": "RuntimeError: once", "outcome": None}
    failed["curve"] = {"epoch": [], "loss": [], "accuracy": []}
    journal.write_text(json.dumps(failed) + "\n" + "".join(lines))
    argv = [str(OLD_SPEC), "--out", str(old_copy.parent), "--no-progress", "--no-figures"]
    assert sweep.main(argv) == 0
    assert "16 reused, 0 trained" in capsys.readouterr().out
    assert_same_runs(old_copy, fresh02)
    pd.testing.assert_frame_equal(read_curves(old_copy), read_curves(fresh02), rtol=1e-9)


def test_a_conversion_cut_short_is_done_again_without_duplicates(
    old_copy: Path, fresh02: Path, capsys
) -> None:
    """A kill after the journal's shards were written but before it was deleted: the journal
    and the conversion's marker are still there (a journal without the marker beside shards is
    a foreign one, refused: tests/test_folder_damage.py)."""
    from xorlab.storage.store import CONVERTING, RunStore

    RunStore(old_copy).open()  # converts, deletes the journal...
    shutil.copy(OLD_FOLDER / "journal.jsonl", old_copy / "journal.jsonl")  # ...undone
    (old_copy / CONVERTING).touch()
    argv = [str(OLD_SPEC), "--out", str(old_copy.parent), "--no-progress", "--no-figures"]
    assert sweep.main(argv) == 0
    assert "16 reused, 0 trained" in capsys.readouterr().out
    pd.testing.assert_frame_equal(read_curves(old_copy), read_curves(fresh02), rtol=1e-9)


@pytest.mark.parametrize("damage", JOURNAL_DAMAGE, ids=list(JOURNAL_DAMAGE))
def test_a_damaged_journal_record_is_dropped_retrained_and_reported_once(
    damage: str, old_copy: Path, fresh02: Path, capsys
) -> None:
    copy_of, finished = old_copy, fresh02
    journal = copy_of / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    middle = len(lines) // 2
    if JOURNAL_DAMAGE[damage] is None:
        lines[middle] = lines[middle][:40] + "}{ garbage\n"
    else:
        lines[middle] = json.dumps(JOURNAL_DAMAGE[damage](json.loads(lines[middle]))) + "\n"
    journal.write_text("".join(lines))
    argv = [str(OLD_SPEC), "--out", str(copy_of.parent), "--no-progress", "--no-figures"]
    assert sweep.main(argv) == 0
    captured = capsys.readouterr()
    assert f"journal.jsonl:{middle + 1}: dropped" in captured.err, captured.err
    assert "1 trained" in captured.out
    assert "torn" not in captured.err
    assert (copy_of / "journal.rejected.jsonl").read_text().count("\n") == 1
    assert_same_runs(copy_of, finished)
    pd.testing.assert_frame_equal(read_curves(copy_of), read_curves(finished), rtol=1e-9)
    assert sweep.main(argv) == 0  # reported once: the second rerun is quiet
    captured = capsys.readouterr()
    assert "dropped" not in captured.err and "0 trained" in captured.out


def test_a_torn_last_journal_line_is_dropped_not_fatal(
    old_copy: Path, fresh02: Path, capsys
) -> None:
    journal = old_copy / "journal.jsonl"
    data = journal.read_bytes()
    journal.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 40])  # half a last line
    argv = [str(OLD_SPEC), "--out", str(old_copy.parent), "--no-progress", "--no-figures"]
    assert sweep.main(argv) == 0
    captured = capsys.readouterr()
    assert "dropped its torn last line" in captured.err and "1 trained" in captured.out
    assert_same_runs(old_copy, fresh02)


# -- 7, 8. processes and signals ------------------------------------------------------------------------

LONG_SPEC = """
[sweep]
name = "long"
seeds = 40
[params]
hidden = [2, 4, 8]
activation = ["tanh", "relu"]
[train]
epochs = 100000
"""


LOST_CTRL_C_SECONDS = 20  # a Ctrl-C that was taken ends the sweep in a second or two

STARTING = ("/xorlab/__init__.py", "/xorlab/sweep.py")  # before its Ctrl-C handler is set


def _start(spec: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "xorlab.sweep", str(spec), "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(c) for c in handle.read().split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_exit_soon_after_the_sweep_is_killed(tmp_path: Path) -> None:
    spec = tmp_path / "long.toml"
    spec.write_text(LONG_SPEC)
    process = _start(spec, tmp_path, "--n-jobs", "2", "--no-progress")
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the workers are training their first chunks now
    workers = _children(process.pid)
    process.kill()
    process.communicate()
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_alive, workers)), "loky workers outlived the sweep process"


def test_a_sweep_leaves_no_worker_process_behind(tmp_path: Path) -> None:
    """The workers are stopped when the training is done: they do not hold their memory while
    the outputs are written, nor after the sweep in a notebook's process; the next sweep in
    the same process starts new ones."""
    import xorlab

    def workers() -> list[int]:
        found = []
        for child in _children(os.getpid()):
            with contextlib.suppress(FileNotFoundError):
                command = Path(f"/proc/{child}/cmdline").read_bytes()
                if b"popen_loky_posix" in command and _alive(child):
                    found.append(child)
        return found

    spec = {"sweep": {"name": "w", "seeds": 8}, "params": {"hidden": [2, 4]}}
    for name in ("first", "second"):
        spec["sweep"]["name"] = name
        results = xorlab.run(spec, out=tmp_path, n_jobs=2, figures=False)
        assert results.meta["runs_trained"] == 16
        assert workers() == []


@pytest.mark.parametrize("delays", [(0.05,), (0.15,), (0.6,), (2.0,), (2.0, 0.3), (2.0, 0.02)])
def test_ctrl_c_at_any_moment_is_exit_130_without_a_traceback(
    delays: tuple[float, ...], tmp_path: Path
) -> None:
    spec = tmp_path / "long.toml"
    spec.write_text(LONG_SPEC)
    out = tmp_path / "some out"
    process = _start(spec, out, "--no-progress")
    for delay in delays:
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGINT)
    try:
        _, err = process.communicate(timeout=LOST_CTRL_C_SECONDS)
    except subprocess.TimeoutExpired:
        # Still training: the Ctrl-C was lost, which happens in two windows we cannot close
        # (see the README): while CPython starts (it drops a KeyboardInterrupt raised in an
        # import lock's callback) and while the workers are spawned (the sweep process ignores
        # SIGINT for a few tens of milliseconds so that they inherit it). A user presses again;
        # so does this test, once.
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
    ours = [f for f in re.findall(r'File "([^"]+)"', err) if "/xorlab/" in f]
    if process.returncode != 130 and all(f.endswith(STARTING) for f in ours):
        return  # Python was still starting: before the first line of `python -m xorlab.sweep`
    assert process.returncode == 130, err
    assert "Traceback" not in err, err
    if (out / "long" / "meta.json").exists():
        assert json.loads((out / "long" / "meta.json").read_text())["interrupted"] is True
        assert f"resume with: python -m xorlab.sweep {spec} --out {out}" in err


# -- 8. the smaller ones ------------------------------------------------------------------------------


def test_a_diverged_runs_nan_loss_reads_nan_in_runs_csv(tmp_path: Path) -> None:
    from xorlab.analysis.tables import runs_csv, runs_table
    from xorlab.storage.journal import result_to_record
    from xorlab.storage.loader import read_runs
    from xorlab.training.config import RunConfig
    from xorlab.training.result import RunResult, failed_result

    results = [
        RunResult(RunConfig(seed=0), "diverged", final_loss=float("nan"), final_accuracy=0.5),
        RunResult(RunConfig(seed=1), "diverged", final_loss=float("inf"), final_accuracy=0.5),
        RunResult(RunConfig(seed=2), "ok", final_loss=0.25, final_accuracy=1.0, solved=True),
        failed_result(RunConfig(seed=3), ValueError("boom")),
    ]
    runs_csv(runs_table(map(result_to_record, results))).to_csv(tmp_path / "runs.csv", index=False)
    lines = (tmp_path / "runs.csv").read_text().splitlines()
    column = lines[0].split(",").index("final_loss")
    assert [line.split(",")[column] for line in lines[1:]] == ["nan", "inf", "0.25", ""]
    back = read_runs(tmp_path / "runs.csv")["final_loss"]
    assert np.isnan(back[0]) and back[1] == np.inf and back[2] == 0.25 and np.isnan(back[3])


def test_data_without_every_xor_pattern_never_count_as_solved(tmp_path: Path) -> None:
    spec = tmp_path / "flat.toml"
    spec.write_text("[sweep]\nseeds = 4\n[train]\nsamples = 1\ninit_scale = 0.0\nepochs = 30\n")
    assert sweep.main([str(spec), "--out", str(tmp_path), "--no-progress"]) == 0
    runs = pd.read_csv(tmp_path / "flat" / "runs.csv")
    assert (runs["final_accuracy"] == 1.0).all()  # one sample is fit by a constant...
    assert not runs["solved"].any()  # ...which is not XOR


def test_an_output_of_exactly_one_half_is_wrong_for_both_targets() -> None:
    from xorlab.training.nn import classified_right

    outputs = np.array([0.5, 0.5, 0.4, 0.6])
    targets = np.array([0.0, 1.0, 0.0, 1.0])
    assert classified_right(outputs, targets).tolist() == [False, False, True, True]


def test_an_all_failed_configuration_is_said_so() -> None:
    from xorlab.analysis.tables import runs_table, summary_table
    from xorlab.storage.journal import result_to_record
    from xorlab.training.config import RunConfig
    from xorlab.training.result import failed_result
    from xorlab.visualization.report import best_sentences

    failed = [failed_result(RunConfig(seed=s), ValueError("x")) for s in range(2)]
    (sentence,) = best_sentences(summary_table(runs_table(map(result_to_record, failed))))
    assert "every run failed" in sentence and "0/0" not in sentence
