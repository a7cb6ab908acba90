"""Shared helpers: run the real CLI as a subprocess, and write small sweep specs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 300,
    env_extra: dict | None = None,
    **kwargs,
) -> subprocess.CompletedProcess:
    """Run `python -m <module> args...` and capture its output (test plugins importable)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "tests") + os.pathsep + str(REPO),
        **(env_extra or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kwargs,
    )


def stored_runs(folder: Path) -> int:
    """Runs a sweep has stored so far in `folder`: the counts its shard names carry."""
    return sum(
        int(shard.stem.split("-")[1]) for shard in (folder / "shards").glob("[0-9]*-*.parquet")
    )


def read_curves(folder: Path) -> pd.DataFrame:
    """A folder's curves.parquet, sorted (rows are stored in the order chunks finished)."""
    curves = pd.read_parquet(folder / "curves.parquet")
    return curves.sort_values(["run_id", "epoch"], ignore_index=True)


def exit_status(main, argv: list[str]) -> int:
    """A command's exit status, whether its `main` returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


def fails_cleanly(capsys, main, argv: list[str], *fragments: str) -> str:
    """The command exits 2 with one line on stderr holding every fragment; returns the line."""
    status = exit_status(main, argv)
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert status == 2, (status, captured.out, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


TINY_SPEC = """
[sweep]
name = "tiny"
seeds = 3

[params]
hidden = [2, 4]
activation = ["tanh", "relu"]
lr = [0.1, 1.0]

[train]
epochs = 300
log_every = 50
"""


@pytest.fixture
def tiny_spec(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SPEC)
    return path
