"""How runs are executed: one registry of backends, each opened as a session.

A backend module provides ``session(options)``, a context manager that sets the backend up (for
Dask: connects and checks the cluster) and yields an `Execute`: a function that takes run
configurations and yields the results of each chunk as it finishes. Setting up happens before a
results folder is touched, so a backend that cannot start leaves nothing behind.

Backends are found by name and imported only when used (joblib's ``EXTERNAL_BACKENDS`` style):
a missing optional dependency is an install hint, not an ImportError at start.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from xorlab.training.config import RunConfig
from xorlab.training.result import RunResult

Execute = Callable[[list[RunConfig]], Iterator[list[RunResult]]]

# name -> module providing `session(options) -> context manager yielding an Execute`
BACKENDS: dict[str, str] = {
    "loky": "xorlab.execution.loky_backend",  # joblib's worker processes on this machine
    "dask": "xorlab.execution.dask_backend",  # a Dask distributed cluster (the dask extra)
}


@dataclass(frozen=True)
class RunOptions:
    """How to execute a sweep; never changes its numbers."""

    n_jobs: int = -1  # joblib convention: -1 = all cores
    backend: str = "loky"  # a name in BACKENDS
    address: str = ""  # Dask scheduler; empty = a local Dask cluster on 127.0.0.1
    imports: tuple[str, ...] = ()  # modules imported first, e.g. to register activations
    timeout: float = 30.0  # seconds to wait for a Dask scheduler and its first worker


def open_backend(options: RunOptions) -> AbstractContextManager[Execute]:
    """The backend named by `options`, set up and ready: ``with open_backend(o) as execute``."""
    module = importlib.import_module(BACKENDS[options.backend])
    return module.session(options)
