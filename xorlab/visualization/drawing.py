"""Drawing figures to files: each drawn and saved atomically, in this process or in a forked
helper that draws some of them meanwhile; a figure that cannot be drawn is reported, not fatal."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from matplotlib.figure import Figure

from xorlab import interrupts
from xorlab.errors import ResultsError
from xorlab.storage.folder import write_with
from xorlab.visualization.style import DPI, PNG, drawn

log = logging.getLogger(__name__)

FigureMaker = Callable[[], Figure | None]


def _draw_and_save(path: Path, make: FigureMaker) -> Path | str:
    """Draw and save one figure; a figure that cannot be drawn is reported, not fatal (the
    tables are what matters, and they are written already)."""
    try:
        figure = drawn(make)
        if figure is None:  # nothing to show, e.g. no run finished
            path.unlink(missing_ok=True)
            return path
    except Exception as error:
        return f"could not draw {path.name}: {type(error).__name__}: {error}"
    try:
        write_with(path, lambda f: figure.savefig(f, format="png", dpi=DPI, pil_kwargs=PNG))
    except (OSError, ResultsError) as error:  # the disk or the folder, not the figure
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return WriteFailure(str(path), reason.removeprefix(f"cannot write {path}: "))
    except Exception as error:  # matplotlib renders while saving: the figure, not the disk
        return f"could not draw {path.name}: {type(error).__name__}: {error}"
    return path


def write_figures(
    folder: Path, figures: dict[str, FigureMaker], meanwhile: Callable[[], None] | None = None
) -> list[Path]:
    """Draw and save figures as PNG into `folder`, each atomically, after calling `meanwhile`
    (if given). Returns the files written; figures that fail are logged as warnings."""
    folder.mkdir(exist_ok=True)
    if meanwhile:
        meanwhile()
    outcomes = []
    for name, make in figures.items():
        interrupts.raise_if_pressed()  # pressed while matplotlib was imported, say
        outcomes.append(_draw_and_save(folder / name, make))
    return _written(outcomes)


class WriteFailure(NamedTuple):
    """A figure drawn but not written (a full disk, a directory in its place)."""

    path: str
    reason: str


def _written(outcomes: list) -> list[Path]:
    """The files of `_draw_and_save`'s outcomes; a figure that could not be drawn is logged
    as a warning, one that could not be written is a ResultsError naming the file."""
    for failure in (o for o in outcomes if isinstance(o, WriteFailure)):
        raise ResultsError(f"cannot write {failure.path}: {failure.reason}")
    for problem in (o for o in outcomes if isinstance(o, str) and not isinstance(o, tuple)):
        log.warning(problem)
    return [o for o in outcomes if isinstance(o, Path) and o.exists()]


class FigureHelper:
    """A forked copy of this process that draws some figures while this one does the rest of
    the work: it has everything loaded and the tables in memory, so it starts at once (worker
    processes would first import pandas and matplotlib and get the runs table pickled). Ctrl-C
    is this process's: the helper ignores it and is stopped with it."""

    def __init__(self, process, receiver, tasks: list) -> None:
        self.process, self.receiver, self.tasks = process, receiver, tasks

    @classmethod
    def start(cls, folder: Path, figures: dict[str, FigureMaker]) -> FigureHelper | None:
        """A helper drawing `figures` into `folder`; None if there are none, or where
        processes cannot fork."""
        import multiprocessing

        if not figures or "fork" not in multiprocessing.get_all_start_methods():
            return None
        folder.mkdir(exist_ok=True)
        tasks = [(folder / name, make) for name, make in figures.items()]
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_helper_main, args=(tasks, sender, os.getpid()), daemon=True
        )
        process.start()
        sender.close()
        return cls(process, receiver, tasks)

    def written(self) -> list[Path]:
        """The files the helper wrote, once it is done; what it could not draw is logged."""
        try:
            outcomes = self.receiver.recv()
        except EOFError:  # the helper died without an answer
            outcomes = [f"could not draw {p.name}: the drawing process died" for p, _ in self.tasks]
        self.process.join()
        return _written(outcomes)

    def stop(self) -> None:
        if self.process.is_alive():  # interrupted: the helper goes too
            self.process.terminate()
        self.process.join()


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux); exit now if the
    parent is gone already."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)


def _helper_main(tasks: list, sender, parent: int) -> None:
    """The forked helper: draw, send back what was written (Ctrl-C is the parent's; the
    helper dies with its parent, even a parent killed with SIGKILL)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    sender.send([_draw_and_save(path, make) for path, make in tasks])
