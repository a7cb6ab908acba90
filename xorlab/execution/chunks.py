"""Chunks, the unit of parallel work of every backend, and the task that trains one.

A chunk holds runs that share a batch key, sized so that per-task overhead is negligible, every
worker stays busy and the progress bar moves; chunks are handed out most expensive first. A
run's results never depend on how the runs were chunked.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from itertools import groupby

from joblib import cpu_count

from xorlab.training.config import RunConfig
from xorlab.training.engine import runs_per_batch, train_batch
from xorlab.training.result import RunResult, failed_result

CHUNKS_PER_WORKER = 4  # enough for load balance and a moving progress bar
MIN_CHUNK_RUNS = 64  # smaller batches lose throughput to per-epoch numpy call overhead


def train_chunk(configs: Sequence[RunConfig], imports: Sequence[str] = ()) -> list[RunResult]:
    """Train one chunk (in a worker); a run that raises becomes a `failed` result."""
    for module in imports:
        importlib.import_module(module)
    try:
        return train_batch(configs)
    except Exception:  # find the run(s) that raise: each alone gives the same numbers
        results = []
        for config in configs:
            try:
                results.extend(train_batch([config]))
            except Exception as error:
                results.append(failed_result(config, error))
        return results


def run_cost(config: RunConfig) -> float:
    """Relative cost of one run: updates x hidden units x rows (plus fixed overhead)."""
    samples = config.samples if config.data == "random" else 4
    steps = math.ceil(samples / config.batch_size) if config.batch_size else 1
    passes = steps + 1 if config.optimizer == "nesterov" else steps  # + the look-ahead
    return config.epochs * passes * (config.hidden + 2) * config.patterns + 5000


def make_chunks(configs: Sequence[RunConfig], workers: int) -> list[list[RunConfig]]:
    """Split runs into batch-key-pure chunks of similar cost, most expensive first."""
    if not configs:
        return []
    target = sum(map(run_cost, configs)) / (max(workers, 1) * CHUNKS_PER_WORKER)
    ordered = sorted(configs, key=lambda c: c.batch_key)
    chunks: list[list[RunConfig]] = []
    for _, group in groupby(ordered, key=lambda c: c.batch_key):
        runs = list(group)
        size = round(target / run_cost(runs[0]))
        size = max(MIN_CHUNK_RUNS, min(size, runs_per_batch(runs[0])))
        pieces = max(1, len(runs) // size)
        step = math.ceil(len(runs) / pieces)
        chunks.extend(runs[i : i + step] for i in range(0, len(runs), step))
    chunks.sort(key=lambda chunk: -sum(map(run_cost, chunk)))
    return chunks


def effective_workers(n_jobs: int) -> int:
    """Worker processes for joblib's n_jobs convention (-1 = all cores, -2 = all but one...),
    never more than the cores this process may use (CPU affinity and cgroup limits counted):
    more would only cost memory and start-up time."""
    cores = cpu_count()
    return max(1, min(n_jobs, cores) if n_jobs > 0 else cores + 1 + n_jobs)
