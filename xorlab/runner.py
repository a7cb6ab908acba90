"""Execute run configurations in chunks over worker processes (joblib's loky, or Dask).

The unit of parallel work is a chunk: runs that share a batch key, sized so that per-task
overhead is negligible, both cores stay busy and the progress bar moves. Chunks are handed out
most expensive first. A chunk's results never depend on how the runs were chunked.

Failures are data: a run that raises is `failed` with its message; a worker process that dies
gets the unfinished chunks retried once; if a worker dies again, the remaining chunks run one at
a time, and a run that kills its worker even alone is recorded as `failed`.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from itertools import groupby

from xorlab.config import RunConfig
from xorlab.engine import batch_size, train_batch
from xorlab.result import RunResult, failed_result
from xorlab.spec import RunOptions

log = logging.getLogger(__name__)

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
    """Relative cost of one run: epochs x hidden units x patterns (plus fixed overhead)."""
    patterns = config.samples if config.noise > 0 else 4
    return config.epochs * (config.hidden + 2) * patterns + 5000


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
        size = max(MIN_CHUNK_RUNS, min(size, batch_size(runs[0])))
        pieces = max(1, len(runs) // size)
        step = math.ceil(len(runs) / pieces)
        chunks.extend(runs[i : i + step] for i in range(0, len(runs), step))
    chunks.sort(key=lambda chunk: -sum(map(run_cost, chunk)))
    return chunks


def effective_workers(n_jobs: int) -> int:
    """Worker count for joblib's n_jobs convention (-1 = all cores, -2 = all but one...)."""
    cores = os.cpu_count() or 1
    return max(1, n_jobs if n_jobs > 0 else cores + 1 + n_jobs)


def _worker_task(
    index: int, chunk: list[RunConfig], imports: Sequence[str], sweep_pid: int
) -> tuple[int, list[RunResult]]:
    """One chunk in a worker process, which leaves Ctrl-C to the sweep process (a terminal sends
    it to every process of the group; the sweep stops the workers itself)."""
    if os.getpid() != sweep_pid:  # joblib runs n_jobs=1 in the sweep process itself
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return index, train_chunk(chunk, imports)


def run_loky(
    chunks: list[list[RunConfig]], n_jobs: int, imports: Sequence[str] = ()
) -> Iterator[list[RunResult]]:
    """Yield each chunk's results as it finishes, over joblib's loky worker processes."""
    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    pending = dict(enumerate(chunks))
    me = os.getpid()
    for attempt in ("first", "retry"):
        if not pending:
            return
        try:
            parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            tasks = (delayed(_worker_task)(i, c, imports, me) for i, c in list(pending.items()))
            for index, results in parallel(tasks):
                del pending[index]
                yield results
            return
        except TerminatedWorkerError as error:
            log.warning("a worker died (%s attempt): %s", attempt, str(error).splitlines()[0])
    # A worker died twice: run what is left one chunk at a time to find the culprit runs.
    executor = get_reusable_executor(max_workers=1)
    for chunk in pending.values():
        try:
            yield executor.submit(_worker_task, 0, chunk, imports, me).result()[1]
            continue
        except TerminatedWorkerError:
            executor = get_reusable_executor(max_workers=1)
        for config in chunk:
            try:
                yield executor.submit(_worker_task, 0, [config], imports, me).result()[1]
            except TerminatedWorkerError as error:
                message = "worker process died while training this run (twice): "
                yield [failed_result(config, message + str(error).splitlines()[0])]
                executor = get_reusable_executor(max_workers=1)


def _run_dask(configs: list[RunConfig], options: RunOptions) -> Iterator[list[RunResult]]:
    from xorlab.dask_backend import run_dask  # optional: needs the dask extra

    yield from run_dask(configs, options)


def _run_local(configs: list[RunConfig], options: RunOptions) -> Iterator[list[RunResult]]:
    chunks = make_chunks(configs, effective_workers(options.n_jobs))
    yield from run_loky(chunks, options.n_jobs, options.imports)


# Each backend takes the runs to train and yields the results of each chunk as it finishes.
BACKENDS: dict[str, Callable[[list[RunConfig], RunOptions], Iterator[list[RunResult]]]] = {
    "loky": _run_local,
    "dask": _run_dask,
}
