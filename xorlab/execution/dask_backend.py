"""Run chunks on a Dask distributed cluster: an existing scheduler, or a local one.

Install with ``pip install 'xorlab[dask]'``; xorlab (the same version) must be importable on the
scheduler and on every worker. Chunks are submitted with ``client.submit`` and gathered with
``as_completed``: a worker that dies gets its tasks rescheduled by Dask, and a chunk that keeps
killing workers (``KilledWorker``) is split into single runs, so that only the culprit runs end
up `failed` (a run that killed workers is retried once more alone at the end, since it may
only have shared a worker with a culprit). Never a hang: connecting and waiting for workers are
bounded by a timeout.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import uuid
from collections.abc import Iterator

from xorlab import __version__
from xorlab.config import RunConfig
from xorlab.errors import BackendError
from xorlab.execution import Execute, RunOptions
from xorlab.execution.chunks import effective_workers, make_chunks, train_chunk
from xorlab.result import RunResult, failed_result

LOCAL_ALLOWED_FAILURES = 1  # a task that killed its worker twice is bad (the default is 3)


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
        with client:
            check_cluster(client, address, timeout)
            yield client
        return
    with (
        dask.config.set(
            {
                "distributed.scheduler.allowed-failures": LOCAL_ALLOWED_FAILURES,
                "distributed.scheduler.worker-saturation": 1.0,  # one task per worker at once
            }
        ),
        _local_cluster(effective_workers(n_jobs)) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        check_cluster(client, cluster.scheduler_address, timeout)
        yield client


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
            yield from run_dask(client, configs, options.imports)

        yield execute


def run_dask(client, configs: list[RunConfig], imports=()) -> Iterator[list[RunResult]]:
    """Yield the results of each chunk of runs as it finishes on the client's cluster."""
    if not configs:
        return
    from distributed import KilledWorker, as_completed

    tag = uuid.uuid4().hex[:8]
    workers = client.scheduler_info()["workers"].values()
    chunks = make_chunks(configs, sum(w.get("nthreads", 1) for w in workers))
    pending = {}

    def submit(configs: list[RunConfig], name: str):
        key = f"xorlab-{tag}-{name}"
        future = client.submit(train_chunk, configs, tuple(imports), key=key, pure=False)
        pending[future] = configs
        return future

    queue = as_completed([submit(c, str(i)) for i, c in enumerate(chunks)], loop=client.loop)
    suspects: list[RunConfig] = []
    try:
        for future in queue:
            configs = pending.pop(future)
            try:
                yield future.result()
            except KilledWorker:
                if len(configs) > 1:  # find the culprits: each run as its own task
                    for config in configs:
                        queue.add(submit([config], config.run_id))
                else:  # may have shared a dying worker with a culprit: retry it alone
                    suspects.append(configs[0])
        for config in suspects:  # one at a time, nothing else running
            try:
                yield submit([config], f"{config.run_id}-alone").result()
            except KilledWorker as error:
                message = f"worker process died while training this run (Dask: {error})"
                yield [failed_result(config, message)]
    finally:
        client.cancel(list(pending))
