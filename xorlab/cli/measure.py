"""Run a sweep as a user does, in its own process, and measure it: wall time and the peak
memory of the process tree (read from /proc). Shared by both benchmarks (`bench`, `bench
--scale`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xorlab.errors import XorlabError


def _tree_memory(pid: int) -> tuple[int, int, int]:
    """(RSS, PSS) of a process and all its descendants, summed, and the RSS of the process
    alone, in bytes (Linux /proc).

    Summed RSS counts pages shared between the processes (numpy, Python itself) once per
    process; PSS splits them, so its sum is the memory the sweep really holds."""
    rss = pss = 0
    own = 0
    stack, seen = [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith(("Rss:", "Pss:")):
                        kilobytes = int(line.split()[1]) * 1024
                        rss += kilobytes if line.startswith("Rss:") else 0
                        pss += kilobytes if line.startswith("Pss:") else 0
                        own += kilobytes if current == pid and line.startswith("Rss:") else 0
            with open(f"/proc/{current}/task/{current}/children") as handle:
                stack.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return rss, pss, own


def run_sweep_process(
    spec: Path,
    out: Path,
    *extra: str,
    kill_when: Callable[[], bool] | None = None,
    code: Path | None = None,
) -> dict[str, Any]:
    """Run the real sweep command in its own process group, sampling the memory of its process
    tree; with `kill_when`, SIGKILL the whole group as soon as it returns true; with `code`, the
    xorlab package in that folder (another release) instead of this one. Returns wall seconds,
    the exit time (time.time()), the peak (RSS, PSS, RSS of the sweep process alone), stdout,
    stderr and exit code."""
    command = [sys.executable, "-m", "xorlab.sweep", str(spec), "--out", str(out), *extra]
    peak = (0, 0, 0)
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=code,  # `python -m` puts the working folder first on the path
    )

    def watch() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = tuple(map(max, peak, _tree_memory(process.pid)))
            if kill_when and kill_when():
                os.killpg(process.pid, signal.SIGKILL)
                return
            time.sleep(0.1)  # reading smaps costs the kernel time: poll gently

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, stderr = process.communicate()
    exited = time.time()
    seconds = time.perf_counter() - start
    watcher.join()
    return {
        "seconds": seconds,
        "exited": exited,
        "peak": peak,
        "stdout": stdout,
        "stderr": stderr,
        "returncode": process.returncode,
    }


def failed_sweep(spec: Path, run: dict[str, Any]) -> XorlabError:
    stderr = run["stderr"].strip()
    last = stderr.splitlines()[-1] if stderr else f"exit {run['returncode']}"
    return XorlabError(f"the benchmark sweep {spec} failed: {last}")


def measured_sweep(spec: Path, out: Path, *extra: str, code: Path | None = None) -> dict[str, Any]:
    """`run_sweep_process` of a sweep that must succeed: its measures, or the error of a
    failed sweep."""
    run = run_sweep_process(spec, out, *extra, code=code)
    if run["returncode"] != 0:
        raise failed_sweep(spec, run)
    return run
