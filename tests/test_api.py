"""xorlab from Python: run, load, compare and figures, with the command line's behaviour."""

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
from matplotlib.figure import Figure

import xorlab
from tests.conftest import REPO, TINY_SPEC, run_cli, stored_runs
from tests.test_resilience import SLOW_RUNS, SLOW_SPEC

FIXTURE = REPO / "tests" / "fixtures" / "release01"


def test_run_from_a_toml_string_a_dict_and_a_path_gives_the_same_runs(tmp_path: Path) -> None:
    from_text = xorlab.run(TINY_SPEC, out=tmp_path / "a", figures=False)
    data = {
        "sweep": {"name": "tiny", "seeds": 3},
        "params": {"hidden": [2, 4], "activation": ["tanh", "relu"], "lr": [0.1, 1.0]},
        "train": {"epochs": 300, "log_every": 50},
    }
    from_dict = xorlab.run(data, out=tmp_path / "b", figures=False, n_jobs=1)
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SPEC)
    from_path = xorlab.run(path, out=tmp_path / "c", figures=False)
    for results in (from_text, from_dict, from_path):
        assert isinstance(results, xorlab.Results) and len(results.runs) == 24
        assert results.meta["runs_trained"] == 24 and results.spec["sweep"]["name"] == "tiny"
    numbers = [r.runs.drop(columns="train_seconds") for r in (from_text, from_dict, from_path)]
    pd.testing.assert_frame_equal(numbers[0], numbers[1])
    pd.testing.assert_frame_equal(numbers[0], numbers[2])
    again = xorlab.run(path, out=tmp_path / "c", figures=False)  # resumes, like the command
    assert again.meta["runs_reused"] == 24 and again.meta["runs_trained"] == 0
    assert len(from_text.curves) == 24 * 7 and list(from_text.summary.columns)[:3] == [
        "hidden",
        "activation",
        "lr",
    ]


def test_figures_and_compare_from_python(tmp_path: Path) -> None:
    results = xorlab.run(TINY_SPEC, out=tmp_path, figures=False)
    for name in ("solve_rate_heatmap", "loss_curves", "outcomes", "seeds.png"):
        assert isinstance(results.figure(name), Figure)
    with pytest.raises(xorlab.XorlabError, match="no figure 'pie'; one of|no figure 'pie'"):
        results.figure("pie")
    old = xorlab.load(FIXTURE)
    assert old.runs["optimizer"].eq("gd").all() and old.runs["outcome"].isna().all()
    table = xorlab.compare(results, results.folder / "runs.csv")
    out = tmp_path / "cmp"
    command = ("xorlab.compare", str(results.folder), str(results.folder / "runs.csv"))
    assert run_cli(*command, "--out", str(out)).returncode == 0
    pd.testing.assert_frame_equal(table, pd.read_csv(out / "compare.csv"), check_dtype=False)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: xorlab.run("[sweep]\nname = '.'\n"), "sweep.name: must be a folder name"),
        (lambda: xorlab.run({"sweep": {"name": "x"}, "train": {"lr": -1}}), "train.lr"),
        (lambda: xorlab.run("[sweep\n"), "<string>: invalid TOML"),
        (lambda: xorlab.run(TINY_SPEC, n_jobs=0), "n_jobs: must be a non-zero integer"),
        (lambda: xorlab.load("no/such/folder"), "no such results folder"),
        (lambda: xorlab.compare(FIXTURE), "at least two"),
    ],
)
def test_bad_input_raises_the_one_documented_error(call, message: str) -> None:
    with pytest.raises(xorlab.XorlabError, match=message.replace("(", ".").replace("[", ".")):
        call()


def test_importing_xorlab_loads_no_numerics() -> None:
    """`python -m xorlab.sweep` imports the package first: it must stay light."""
    code = "import sys, xorlab; print('numpy' in sys.modules or 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "False"


def test_the_curves_of_some_runs_are_those_of_the_whole_table(tmp_path: Path) -> None:
    """curves_of reads only the files whose shard names one of the runs; a file whose shard
    is gone is read anyway."""
    spec = {"sweep": {"name": "c", "seeds": 4}, "params": {"hidden": [2, 3, 4, 8]}}
    results = xorlab.run(spec | {"train": {"epochs": 120}}, out=tmp_path, n_jobs=2)
    folder = results.folder
    every = pd.read_parquet(folder / "curves.parquet")
    files = sorted((folder / "curves.parquet").glob("*.parquet"))
    assert len(files) >= 4  # the runs are spread over several files
    some = results.runs["run_id"].iloc[[0, 7, len(results.runs) - 1]].tolist()

    def same(run_ids: list[str]) -> None:
        got = results.curves_of(run_ids).sort_values(["run_id", "epoch"], ignore_index=True)
        want = every[every["run_id"].isin(run_ids)]
        assert got.equals(want.sort_values(["run_id", "epoch"], ignore_index=True))
        assert set(got["run_id"]) == set(run_ids)

    same(some)
    for shard in (folder / "shards").glob("*.parquet"):
        shard.unlink()
    same(some)


def test_an_interrupt_keeps_the_finished_runs_raises_and_the_same_call_resumes(
    tmp_path: Path,
) -> None:
    """A notebook's interrupt: SIGINT to the kernel's process alone, during the training."""
    code = f"""
import xorlab
try:
    xorlab.run({SLOW_SPEC!r}, out={str(tmp_path)!r}, n_jobs=2, figures=False)
except KeyboardInterrupt as error:
    print("raised:", error)
"""
    folder = tmp_path / "slow"
    kernel = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while stored_runs(folder) < 16 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(kernel.pid, signal.SIGINT)
    said, _ = kernel.communicate(timeout=60)
    kept = stored_runs(folder)
    assert f"raised: interrupted: {kept} of {SLOW_RUNS} runs are kept in {folder};" in said
    assert 16 <= kept < SLOW_RUNS
    assert json.loads((folder / "meta.json").read_text())["interrupted"] is True
    results = xorlab.run(SLOW_SPEC, out=tmp_path, n_jobs=2, figures=False)
    assert results.meta["runs_reused"] == kept and len(results.runs) == SLOW_RUNS


def test_curves_of_takes_any_iterable_of_run_ids_but_not_one_string(tmp_path) -> None:
    import pytest

    import xorlab
    from tests.conftest import TINY_SPEC

    results = xorlab.run(TINY_SPEC, tmp_path, n_jobs=1, figures=False)
    two = results.runs["run_id"].head(2)
    expected = results.curves_of(two.tolist())
    assert set(expected["run_id"]) == set(two) and len(expected) == 2 * 7
    assert results.curves_of(two).equals(expected)  # a column of the runs table
    assert results.curves_of(iter(two)).equals(expected)
    with pytest.raises(xorlab.XorlabError, match="not one string"):
        results.curves_of(two.iloc[0])
    _ = results.curves  # cached: the same rows, not every run's
    assert len(results.curves_of(two)) == len(expected)


def test_every_wrong_argument_type_is_an_xorlab_error(tmp_path) -> None:
    import pytest

    import xorlab
    from tests.conftest import TINY_SPEC

    for spec in (5, None, b"[sweep]", {1: {}}, 2.5, ["a"]):
        with pytest.raises(xorlab.XorlabError):
            xorlab.run(spec, tmp_path)
    with pytest.raises(xorlab.XorlabError, match="out must be"):
        xorlab.run(TINY_SPEC, 5)
    for path in (None, 5, b"results"):
        with pytest.raises(xorlab.XorlabError):
            xorlab.load(path)
    results = xorlab.run(TINY_SPEC, tmp_path, n_jobs=1, figures=False)
    with pytest.raises(xorlab.XorlabError, match="not int"):
        xorlab.compare(results, 5)
    with pytest.raises(xorlab.XorlabError, match="not NoneType"):
        results.figure(None)
