"""The Dask backend on a real scheduler and real workers, all on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, TINY_SPEC, read_curves, run_cli, stored_runs
from tests.test_basins import small
from tests.test_protocols import PROTOCOL_SPEC
from tests.test_resilience import (
    SLOW_RUNS,
    SLOW_SPEC,
    interrupt_and_resume,
    run_crash_spec,
    start_sweep,
    wait_for,
)
from xorlab import __version__
from xorlab.search.spec import parse_spec

pytest.importorskip("distributed")

ENV = {**os.environ, "PYTHONPATH": str(REPO / "tests") + os.pathsep + str(REPO)}
LOOPBACK = ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]


def start_scheduler(folder: Path, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    scheduler_file = folder / "scheduler.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dask",
            "scheduler",
            "--port",
            "0",
            *LOOPBACK,
            "--scheduler-file",
            str(scheduler_file),
        ],
        env=env or ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=folder,  # not the checkout, which would shadow the xorlab on PYTHONPATH
    )
    wait_for(lambda: scheduler_file.exists() and scheduler_file.read_text().strip(), timeout=60)
    return process, json.loads(scheduler_file.read_text())["address"]


def start_worker(
    address: str, name: str, env: dict | None = None, cwd: Path | None = None
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dask",
            "worker",
            address,
            "--nthreads",
            "1",
            "--no-nanny",
            "--name",
            name,
            *LOOPBACK,
        ],
        env=env or ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
    )


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture
def cluster(tmp_path: Path):
    """A real `dask scheduler` and two `dask worker` processes."""
    scheduler, address = start_scheduler(tmp_path)
    workers = [start_worker(address, f"worker-{i}") for i in range(2)]
    yield address, workers
    stop(*workers, scheduler)


BASINS_SPEC = small(points=5, epochs=200).replace('y = "W2[0]"', 'y = "random"')


def sweep_on(address: str, spec: Path, out: Path, *extra: str, timeout: float = 120):
    """The real sweep command pointed at the Dask scheduler at `address`."""
    command = [str(spec), "--out", str(out), "--address", address, *extra]
    return run_cli("xorlab.sweep", *command, timeout=timeout)


def numbers(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(folder / "runs.csv").drop(columns="train_seconds"), read_curves(folder)


@pytest.mark.parametrize(
    "text", [TINY_SPEC, PROTOCOL_SPEC, BASINS_SPEC], ids=["tiny", "protocols", "basins"]
)
def test_a_real_cluster_gives_the_local_backends_numbers(cluster, tmp_path: Path, text) -> None:
    address, _ = cluster
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    name = parse_spec(tomllib.loads(text), spec).name
    remote = sweep_on(address, spec, tmp_path / "dask", "--no-figures")
    assert remote.returncode == 0, remote.stderr
    local = run_cli("xorlab.sweep", str(spec), "--out", str(tmp_path / "local"), "--no-figures")
    assert local.returncode == 0, local.stderr
    for a, b in zip(numbers(tmp_path / "dask" / name), numbers(tmp_path / "local" / name)):
        pd.testing.assert_frame_equal(a, b)
    assert json.loads((tmp_path / "dask" / name / "meta.json").read_text())["backend"] == "dask"


def test_killing_a_worker_mid_sweep_loses_nothing(cluster, tmp_path: Path) -> None:
    address, workers = cluster
    spec = tmp_path / "slow.toml"
    spec.write_text(SLOW_SPEC)
    folder = tmp_path / "slow"
    sweep = start_sweep(spec, tmp_path, "--address", address, "--no-figures")
    try:
        wait_for(lambda: stored_runs(folder) >= 8 or sweep.poll() is not None, timeout=120)
        workers[0].send_signal(signal.SIGKILL)
        killed_at = stored_runs(folder)
        _, stderr = sweep.communicate(timeout=180)
    finally:
        stop(sweep)
    assert sweep.returncode == 0, stderr
    assert killed_at < SLOW_RUNS  # the worker died mid-sweep
    runs = pd.read_csv(folder / "runs.csv")
    assert len(runs) == SLOW_RUNS and (runs["status"] != "failed").all()


def test_ctrl_c_on_a_local_dask_cluster(tmp_path: Path) -> None:
    spec = tmp_path / "slow.toml"
    spec.write_text(SLOW_SPEC)
    clean = run_cli("xorlab.sweep", str(spec), "--out", str(tmp_path / "clean"), "--no-figures")
    assert clean.returncode == 0, clean.stderr
    expected = pd.read_csv(tmp_path / "clean" / "slow" / "runs.csv").drop(columns="train_seconds")
    # closing a local cluster whose workers are mid-chunk takes Dask ~3-4.5 s on 2 cores
    interrupt_and_resume(spec, tmp_path / "dask", expected, "--backend", "dask", within=10)


def test_a_task_that_kills_its_worker_every_time_is_failed_without_a_hang(tmp_path: Path) -> None:
    start = time.monotonic()
    result, runs = run_crash_spec("kill", tmp_path, "--backend", "dask")  # a local Dask cluster
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 150
    bad = (runs["activation"] == "kill") & ((runs["init_scale"] == 10.0) | (runs["lr"] == 1e200))
    assert (runs.loc[bad, "status"] == "failed").all()
    assert runs.loc[bad, "error"].str.contains("worker process died").all()
    assert (runs.loc[~bad, "status"] != "failed").all() and len(runs) == 16


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    result = sweep_on("tcp://127.0.0.1:9", spec, tmp_path, "--timeout", "3")
    assert result.returncode == 2
    assert "cannot connect to the Dask scheduler at tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "tiny").exists()  # nothing written: the backend is set up first


def test_no_workers_and_a_wrong_xorlab_are_clear_errors(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    scheduler, address = start_scheduler(tmp_path)
    fake = tmp_path / "fake" / "xorlab"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('__version__ = "0.0.0-other"\n')
    worker = None
    try:
        result = sweep_on(address, spec, tmp_path, "--timeout", "3")
        assert result.returncode == 2
        assert f"no Dask workers connected to {address} within 3 s" in result.stderr
        assert "Traceback" not in result.stderr
        fake_env = {**os.environ, "PYTHONPATH": str(fake.parent)}
        worker = start_worker(address, "stale", env=fake_env, cwd=tmp_path)  # not the checkout
        result = sweep_on(address, spec, tmp_path, "--timeout", "30")
        assert result.returncode == 2
        assert f"xorlab {__version__} is needed" in result.stderr and "0.0.0-other" in result.stderr
    finally:
        stop(*([worker] if worker else []), scheduler)


def test_a_scheduler_without_the_same_xorlab_is_named(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    fake = tmp_path / "fake" / "xorlab"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('__version__ = "0.0.0-other"\n')
    scheduler, address = start_scheduler(
        tmp_path, env={**os.environ, "PYTHONPATH": str(fake.parent)}
    )
    worker = start_worker(address, "good")
    try:
        result = sweep_on(address, spec, tmp_path)
        assert result.returncode == 2
        assert "scheduler: 0.0.0-other" in result.stderr and "Traceback" not in result.stderr
    finally:
        stop(worker, scheduler)


def test_a_scheduler_killed_mid_sweep_is_one_line_and_keeps_the_finished_runs(
    cluster, tmp_path: Path
) -> None:
    address, workers = cluster
    scheduler = next(p for p in psutil_children() if "scheduler" in " ".join(p.cmdline()))
    spec = tmp_path / "slow.toml"
    spec.write_text(SLOW_SPEC)
    folder = tmp_path / "slow"
    sweep = start_sweep(spec, tmp_path, "--address", address, "--no-figures", "--timeout", "5")
    try:
        wait_for(lambda: stored_runs(folder) >= 8 or sweep.poll() is not None, timeout=120)
        scheduler.kill()
        _, stderr = sweep.communicate(timeout=120)
    finally:
        stop(sweep)
    assert sweep.returncode == 2, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert f"lost the Dask scheduler at {address}" in stderr and "finished runs are kept" in stderr
    runs = pd.read_csv(folder / "runs.csv")  # the tables of the runs finished until then
    assert 8 <= len(runs) == stored_runs(folder) < SLOW_RUNS
    assert json.loads((folder / "meta.json").read_text())["interrupted"] is True


def psutil_children():
    import psutil

    return psutil.Process().children(recursive=True)
