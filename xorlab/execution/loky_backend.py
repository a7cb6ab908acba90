"""Run chunks over joblib's loky worker processes on this machine.

Failures are data: a run that raises is `failed` with its message; a worker process that dies
gets the unfinished chunks retried once; if a worker dies again, the remaining chunks run one at
a time, and a run that kills its worker even alone is recorded as `failed`.

A worker never outlives the sweep process: each watches its parent and exits when it is gone
(kill -9 of the sweep would otherwise leave workers finishing their chunks for minutes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator, Sequence

from xorlab.execution import Execute, RunOptions
from xorlab.execution.chunks import effective_workers, make_chunks, train_chunk
from xorlab.training.config import RunConfig
from xorlab.training.result import RunResult, failed_result

log = logging.getLogger(__name__)

PARENT_CHECK_SECONDS = 0.5
_watching = threading.Event()


def _exit_with_parent(sweep_pid: int) -> None:
    """In a worker: exit as soon as the sweep process (our parent) is gone."""
    if _watching.is_set():
        return
    _watching.set()

    def watch() -> None:
        while os.getppid() == sweep_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)  # the sweep is gone: nobody will read what this worker computes

    threading.Thread(target=watch, name="xorlab-parent-watch", daemon=True).start()


def _worker_task(
    index: int, chunk: list[RunConfig], imports: Sequence[str], sweep_pid: int
) -> tuple[int, list[RunResult]]:
    """One chunk in a worker process, which leaves Ctrl-C to the sweep process (a terminal sends
    it to every process of the group; the sweep stops the workers itself)."""
    if os.getpid() != sweep_pid:  # joblib runs n_jobs=1 in the sweep process itself
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _exit_with_parent(sweep_pid)
    return index, train_chunk(chunk, imports)


@contextlib.contextmanager
def _closed_quietly(outputs: Iterator) -> Iterator[None]:
    """Close joblib's output generator when the block ends, also when the sweep stops early
    (Ctrl-C), without joblib's warning then that tasks were "cancelled" or "not used" and that
    one "could benefit from adjusting the input task iterator": the runs not stored are simply
    trained again on resume, and the advice is not the user's to follow."""
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*adjusting the input task iterator", UserWarning)
            outputs.close()


@contextlib.contextmanager
def _spawned_workers_ignore_ctrl_c() -> Iterator[None]:
    """Workers started in this block ignore Ctrl-C from their first instruction (an ignored
    signal stays ignored across exec): a terminal sends it to the whole process group, and a
    worker still importing would print a traceback. The sweep process stops them itself.
    The block only spawns and dispatches (tens of milliseconds); a Ctrl-C pressed in it is lost,
    and must be pressed again. Blocking SIGINT here as well does not keep it: the kernel hands
    it to a thread that does not block it (OpenBLAS's and jemalloc's native threads), where it
    is ignored; and a blocked one would not stay blocked in the workers across their spawn."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_loky(
    chunks: list[list[RunConfig]], n_jobs: int, imports: Sequence[str] = ()
) -> Iterator[list[RunResult]]:
    """Yield each chunk's results as it finishes, over `n_jobs` loky worker processes."""
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
            with _spawned_workers_ignore_ctrl_c():  # returns once tasks are dispatched
                outputs = parallel(tasks)
            with _closed_quietly(outputs):
                for index, results in outputs:
                    del pending[index]
                    yield results
            return
        except TerminatedWorkerError as error:
            log.warning("a worker died (%s attempt): %s", attempt, str(error).splitlines()[0])
    # A worker died twice: run what is left one chunk at a time to find the culprit runs.
    executor = get_reusable_executor(max_workers=1)

    def alone(configs: list[RunConfig]) -> list[RunResult]:
        with _spawned_workers_ignore_ctrl_c():
            future = executor.submit(_worker_task, 0, configs, imports, me)
        return future.result()[1]

    for chunk in pending.values():
        try:
            yield alone(chunk)
            continue
        except TerminatedWorkerError:
            executor = get_reusable_executor(max_workers=1)
        for config in chunk:
            try:
                yield alone([config])
            except TerminatedWorkerError as error:
                message = "worker process died while training this run (twice): "
                yield [failed_result(config, message + str(error).splitlines()[0])]
                executor = get_reusable_executor(max_workers=1)


@contextlib.contextmanager
def session(options: RunOptions) -> Iterator[Execute]:
    """Local execution: nothing to set up; n_jobs = 1 trains in this process."""
    workers = effective_workers(options.n_jobs)

    def execute(configs: list[RunConfig]) -> Iterator[list[RunResult]]:
        yield from run_loky(make_chunks(configs, workers), workers, options.imports)

    try:
        yield execute
    finally:
        if workers > 1:
            _stop_workers()


def _stop_workers() -> None:
    """Stop the worker processes once the training is done, without waiting for them: joblib
    keeps them for its next call, so they would otherwise live (and hold their memory) while
    the outputs are written, and the command's exit would wait for their interpreters to tear
    down (a tenth of a second). The next sweep in this process starts new ones."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor(reuse=True).shutdown(wait=True, kill_workers=True)
