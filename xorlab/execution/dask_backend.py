"""Run chunks on a Dask distributed cluster: an existing scheduler, or a local one.

Install with ``pip install 'xorlab[dask]'``; xorlab (the same version) must be importable on the
scheduler and on every worker. Chunks are submitted with ``client.submit`` and gathered with
``as_completed``: a worker that dies gets its tasks rescheduled by Dask, and a chunk that keeps
killing workers (``KilledWorker``) is split into single runs, so that only the culprit runs end
up `failed` (a run that killed workers is retried once more alone at the end, since it may
only have shared a worker with a culprit). Never a hang: connecting, waiting for workers and
waiting for results are bounded by a timeout. A cluster left without workers for that long, or
a scheduler that goes away, is a BackendError; the runs finished until then are kept.

A local cluster restarts a worker that dies (its nanny does), and is told never to give up on
one: by default distributed's ``SpecCluster`` closes a nanny for good when its worker is not
registered 15 s (``lost-worker-timeout``) after it was lost, which a worker that keeps being
killed can hit at any moment; the cluster then had no workers and the sweep waited forever.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import CancelledError

from xorlab import __version__
from xorlab.errors import BackendError
from xorlab.execution import Execute, RunOptions
from xorlab.execution.chunks import effective_workers, make_chunks, train_chunk
from xorlab.training.config import RunConfig
from xorlab.training.result import RunResult, failed_result

LOCAL_ALLOWED_FAILURES = 1  # a task that killed its worker twice is bad (the default is 3)
POLL_SECONDS = 1.0  # how often a wait for results checks that the cluster still has workers


def _installed_version() -> str:
    """Run on the scheduler and the workers (pickled by value, so it runs without xorlab)."""
    try:
        import xorlab

        return xorlab.__version__
    except ImportError:
        return "missing"


def _by_value(function):
    """A copy of `function` that cloudpickle sends as code, not as a reference to this module
    (the copy is not the module's attribute), so it runs where xorlab is missing."""
    import cloudpickle

    module = sys.modules[function.__module__]
    cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.loads(cloudpickle.dumps(function))
    finally:
        cloudpickle.unregister_pickle_by_value(module)


def check_cluster(client, address: str, timeout: float) -> None:
    """Fail clearly when no worker comes, or xorlab is missing or of another version there."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise BackendError(
            f"no Dask workers connected to {address} within {timeout:g} s; start some with: "
            f"dask worker {address} --nthreads 1 --dashboard-address 127.0.0.1:0"
        ) from None
    probe = _by_value(_installed_version)
    where = {"scheduler": client.run_on_scheduler(probe), **client.run(probe)}
    wrong = {name: version for name, version in where.items() if version != __version__}
    if wrong:
        listed = ", ".join(f"{name}: {version}" for name, version in sorted(wrong.items()))
        raise BackendError(
            f"xorlab {__version__} is needed on the Dask scheduler and every worker, but found "
            f"({listed}); install the same xorlab there (pip install 'xorlab[dask]=={__version__}')"
        )


@contextlib.contextmanager
def connect(address: str, n_jobs: int, timeout: float):
    """A client of the scheduler at `address`, or of a new local cluster on 127.0.0.1."""
    try:
        import dask
        from distributed import Client
    except ImportError:
        raise BackendError(
            "the dask backend needs Dask distributed: pip install 'xorlab[dask]'"
        ) from None
    if address:
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as error:  # ValueError: bad scheme
            raise BackendError(
                f"cannot connect to the Dask scheduler at {address}: {error}"
            ) from None
        with _quiet("distributed", "tornado"), client:
            check_cluster(client, address, timeout)
            yield client
        return
    with (
        dask.config.set(
            {
                "distributed.scheduler.allowed-failures": LOCAL_ALLOWED_FAILURES,
                "distributed.scheduler.worker-saturation": 1.0,  # one task per worker at once
                "distributed.deploy.lost-worker-timeout": "365 days",  # see the module docstring
            }
        ),
        _local_cluster(effective_workers(n_jobs)) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        check_cluster(client, cluster.scheduler_address, timeout)
        yield client


@contextlib.contextmanager
def _quiet(*prefixes: str) -> Iterator[None]:
    """Silence the loggers of these packages (each of them: distributed's logging config gives
    many their own level): a lost scheduler is one line from xorlab, not distributed's
    tracebacks of every reconnection attempt."""
    names = [
        name
        for name in [*prefixes, *logging.root.manager.loggerDict]
        if any(name == p or name.startswith(p + ".") for p in prefixes)
    ]
    previous = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


def _local_cluster(workers: int):
    """A LocalCluster on 127.0.0.1 whose processes ignore Ctrl-C: the sweep process handles it
    (keeps finished runs, shuts the cluster down) without a traceback from every worker."""
    from distributed import LocalCluster

    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the processes
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=50,
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def session(options: RunOptions) -> Iterator[Execute]:
    """A connected, checked cluster; chunks are sized for its worker threads."""
    with connect(options.address, options.n_jobs, options.timeout) as client:

        def execute(configs: list[RunConfig]) -> Iterator[list[RunResult]]:
            yield from run_dask(client, configs, options.imports, options.timeout)

        yield execute


def run_dask(
    client, configs: list[RunConfig], imports=(), timeout: float = 30.0
) -> Iterator[list[RunResult]]:
    """Yield the results of each chunk of runs as it finishes on the client's cluster."""
    if not configs:
        return
    from distributed import KilledWorker

    tag = uuid.uuid4().hex[:8]
    workers = client.scheduler_info()["workers"].values()
    chunks = make_chunks(configs, sum(w.get("nthreads", 1) for w in workers))
    pending = {}
    finished: queue.Queue = queue.Queue()  # futures, as they finish

    def submit(configs: list[RunConfig], name: str):
        key = f"xorlab-{tag}-{name}"
        future = client.submit(train_chunk, configs, tuple(imports), key=key, pure=False)
        pending[future] = configs
        future.add_done_callback(finished.put)
        return future

    for i, chunk in enumerate(chunks):
        submit(chunk, str(i))
    suspects: list[RunConfig] = []
    try:
        while pending:
            future = _next_finished(client, finished, timeout)
            configs = pending.pop(future)
            try:
                yield _result(client, future)
            except KilledWorker:
                if len(configs) > 1:  # find the culprits: each run as its own task
                    for config in configs:
                        submit([config], config.run_id)
                else:  # may have shared a dying worker with a culprit: retry it alone
                    suspects.append(configs[0])
        for config in suspects:  # one at a time, nothing else running
            submit([config], f"{config.run_id}-alone")
            future = _next_finished(client, finished, timeout)
            pending.pop(future)
            try:
                yield _result(client, future)
            except KilledWorker as error:
                message = f"worker process died while training this run (Dask: {error})"
                yield [failed_result(config, message)]
    finally:
        with contextlib.suppress(Exception):  # the scheduler may be gone
            client.cancel(list(pending))


def _result(client, future) -> list[RunResult]:
    """A finished chunk's results; a BackendError if the scheduler is gone (the chunk cancelled,
    or the connection lost while its results were gathered)."""
    try:
        return future.result()
    except (CancelledError, OSError):  # distributed's CommClosedError is an OSError
        raise BackendError(f"lost the Dask scheduler at {client.scheduler.address}") from None


def _next_finished(client, finished: queue.Queue, timeout: float):
    """The next future to finish; a BackendError when the cluster has had no worker for
    `timeout` seconds or its scheduler is gone (never a hang)."""
    without_workers_since = None
    while True:
        try:
            return finished.get(timeout=POLL_SECONDS)
        except queue.Empty:
            pass
        try:
            workers = len(client.nthreads()) if client.status == "running" else None
        except OSError:
            workers = None
        if workers is None:
            raise BackendError(f"lost the Dask scheduler at {client.scheduler.address}")
        if workers:
            without_workers_since = None
            continue
        now = time.monotonic()
        without_workers_since = without_workers_since or now
        if now - without_workers_since > timeout:
            raise BackendError(
                f"the Dask cluster at {client.scheduler.address} has had no workers for "
                f"{timeout:g} s; start some, or raise --timeout"
            )
