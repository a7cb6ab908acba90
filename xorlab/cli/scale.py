"""python -m xorlab.bench --scale: what a sweep costs besides its training, at 60k and 1M runs.

1. A 60,000-run sweep through the real command: the time from the last run stored to the
   command's exit (writing the tables, curves and figures), the peak RSS of the sweep process
   and of its process tree, and the size of the results folder.
2. A 1,000,000-run sweep, killed with SIGKILL (the whole process group) once half of its runs
   are stored, then run again: how many runs the rerun trains (only the missing ones), how long
   it takes to read the finished ones, the peak RSS summed over the sweep and its workers, and
   the folder's size.
Each figure is printed beside its target (issue 12) as a share of it.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from xorlab.cli.measure import failed_sweep, measured_sweep, run_sweep_process
from xorlab.errors import XorlabError
from xorlab.search.spec import load_spec

SCALE_SPECS = Path(__file__).resolve().parents[2] / "sweeps" / "scale"
MB = 2**20


def folder_size(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def stored_runs(folder: Path) -> int:
    """Runs stored so far, from the shard names (each names its run count), without opening
    them; a folder of an older release counts its journal's lines."""
    from xorlab.storage.folder import SHARDS
    from xorlab.storage.store import shard_runs

    count = sum(shard_runs(shard) or 0 for shard in (folder / SHARDS).glob("*.parquet"))
    journal = folder / "journal.jsonl"
    if journal.exists():
        with journal.open("rb") as handle:
            count += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return count


def last_stored(folder: Path) -> float:
    """When the last finished runs were stored (time.time() of the newest shard or journal)."""
    files = [*(folder / "shards").glob("*.parquet"), folder / "journal.jsonl"]
    return max((p.stat().st_mtime for p in files if p.exists()), default=float("nan"))


def share(value: float, target: float) -> str:
    return f"{value / target:.2f} of the target"


def _meta(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return {}


def sweep_and_tail(
    path: Path, parent: Path, *extra: str, code: Path | None = None
) -> tuple[Any, Path, dict, float]:
    """Run a sweep that must succeed into `parent` (with the xorlab of `code`, if given): its
    spec, folder, measures (see `run_sweep_process`) and the time from its last run stored to
    its exit."""
    spec = load_spec(path)
    folder = parent / spec.name
    run = measured_sweep(path, parent, *extra, code=code)
    return spec, folder, run, run["exited"] - last_stored(folder)


def scale_benchmark(small: Path, large: Path, n_jobs: int, out: Path | None) -> None:
    """Run both parts and print their figures (see the module's docstring)."""

    flags = ("--no-progress", "--n-jobs", str(n_jobs))
    with tempfile.TemporaryDirectory() as scratch:
        parent = out or Path(scratch)
        spec, folder, run, tail = sweep_and_tail(small, parent, "--fresh", *flags)
        size = folder_size(folder)
        print(f"{len(spec.space()):,}-run sweep ({small.name}): {run['seconds']:.1f} s wall")
        print(f"  last run stored -> exit   {tail:6.2f} s    target <= 2 s:      {share(tail, 2)}")
        own, tree = run["peak"][2] / MB, run["peak"][0] / MB
        print(f"  peak RSS, sweep process   {own:6.0f} MB   target <= 400 MB:   {share(own, 400)}")
        print(f"  peak RSS, with workers    {tree:6.0f} MB")
        print(
            f"  folder                    {size / MB:6.1f} MB   target <= 40 MB:    {share(size / MB, 40)}"
        )

        spec = load_spec(large)
        folder = parent / spec.name
        total = len(spec.space())
        half = total // 2
        start = time.perf_counter()
        first = run_sweep_process(
            large, parent, "--fresh", "--yes", *flags, kill_when=lambda: stored_runs(folder) >= half
        )
        killed_at = stored_runs(folder)
        if first["returncode"] == 0:
            raise XorlabError(f"{large} finished before it could be killed half way")
        second = run_sweep_process(large, parent, "--yes", *flags)
        if second["returncode"] != 0:
            raise failed_sweep(large, second)
        wall = time.perf_counter() - start
        meta = _meta(folder)
        trained, reused = meta.get("runs_trained", -1), meta.get("runs_reused", -1)
        reading = meta.get("store_read_seconds", float("nan"))
        size = folder_size(folder)
        peak = max(first["peak"][0], second["peak"][0]) / MB
        print(
            f"{total:,}-run sweep ({large.name}): killed (SIGKILL) at {killed_at:,} runs stored "
            f"after {first['seconds']:.0f} s, then rerun: {wall:.0f} s wall in all"
        )
        print(
            f"  rerun trained             {trained:,} runs, reused {reused:,} "
            f"({'only the missing ones' if reused == killed_at and trained == total - killed_at else 'NOT only the missing ones'})"
        )
        print(
            f"  reading the finished runs {reading:6.2f} s    target <= 5 s:      {share(reading, 5)}"
        )
        print(
            f"  peak RSS, with workers    {peak:6.0f} MB   target <= 1536 MB:  {share(peak, 1536)}"
        )
        print(
            f"  folder                    {size / MB:6.1f} MB   target <= 400 MB:   {share(size / MB, 400)}"
        )
