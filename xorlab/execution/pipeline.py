"""One sweep from spec to results folder: expand, skip finished runs, train, write tables.

spec -> run configs -> minus runs already stored (resume) -> backend -> the store (a shard of
metrics in shards/ and its curves in curves.parquet/ per chunk)
     -> runs.csv, summary.csv, spec.toml, meta.json, figures/, report.html
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import io
import json
import platform
import sys
import threading
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xorlab import __version__, interrupts
from xorlab.errors import BackendError, ResultsError, SpecError
from xorlab.execution import RunOptions, open_backend
from xorlab.search.spec import Spec, to_toml
from xorlab.storage.folder import (
    LOCK,
    check_writable,
    folder_lock,
    remove_stale_temporaries,
    write_text,
    write_with,
)
from xorlab.storage.store import RunStore
from xorlab.training.config import SETTING_NAMES, SETTINGS
from xorlab.training.result import RunResult

MAX_RUNS = 1_000_000
# Up to this many runs, the end of a sweep is quick: runs.csv's lines are formatted and the
# chunks' tables kept as each chunk is stored, while the workers train (pandas takes 0.6 s for
# the cells of 60,000 runs), and a forked helper draws the slowest figures while the sweep
# process does the rest. Beyond, the lines would take 300 bytes a run, the helper's shared
# pages would count twice in the memory of the sweep's processes, and the end is a small part
# of such a sweep anyway.
FAST_END_MAX_RUNS = 200_000


@dataclass
class SweepReport:
    """What one invocation did: counts, where the files are, and the tables."""

    folder: Path
    runs_total: int
    runs_reused: int
    runs_trained: int
    statuses: Counter = field(default_factory=Counter)
    summary: Any = None
    interrupted: bool = False
    store_problems: list[str] = field(default_factory=list)
    store_read_seconds: float = 0.0
    moved_aside: Path | None = None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_compatible(folder: Path, spec: Spec) -> None:
    """Refuse to mix runs of a spec whose fixed settings differ into this folder."""
    old_path = folder / "spec.toml"
    if not old_path.exists():
        return
    try:
        old_fixed = tomllib.loads(old_path.read_text(encoding="utf-8")).get("train", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return  # damaged: rewritten by this sweep (run ids keep other settings' runs apart)
    if not isinstance(old_fixed, dict):
        return
    new_fixed = spec.to_dict()["train"]
    for key, setting in SETTINGS.items():  # a spec.toml of 0.1 has none of the later settings
        if setting.since != "0.1" and key not in old_fixed and key not in spec.params:
            old_fixed[key] = setting.default
    differ = [
        f"{key} = {old_fixed[key]!r} -> {value!r}"
        for key, value in new_fixed.items()
        if key in old_fixed and old_fixed[key] != value
    ]
    if differ:
        raise SpecError(
            f"{spec.path}: {folder} holds runs of a spec with other fixed settings "
            f"({'; '.join(differ)}); choose a new [sweep] name, another --out, or --fresh"
        )


def check_size(spec: Spec, allow_large: bool = False) -> None:
    """Refuse a sweep of more than MAX_RUNS runs unless allowed: counted, not built."""
    if spec.max_runs > MAX_RUNS and not allow_large:
        raise SpecError(
            f"{spec.path}: expands to {spec.max_runs:,} runs (more than {MAX_RUNS:,}); "
            "add --yes (allow_large=True) to run it"
        )


def prepare_folder(parent: Path, spec: Spec, fresh: bool) -> tuple[Path, Path | None, bool]:
    """Create parent/<name>/ and check it is writable; with `fresh`, an old folder is moved
    aside (never deleted) and its new place returned. Also says whether the folder is new."""
    folder = parent / spec.name
    aside = None
    if folder.exists() and not folder.is_dir():
        raise ResultsError(
            f"{folder} is a file, not a results folder; choose another name or --out"
        )
    try:
        if fresh and folder.exists():
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            aside = folder.with_name(f"{folder.name}.old-{stamp}")
            counter = 1
            while aside.exists():
                aside = folder.with_name(f"{folder.name}.old-{stamp}-{counter}")
                counter += 1
            with folder_lock(folder):  # never move a folder another sweep is writing to
                folder.rename(aside)
            (aside / LOCK).unlink(missing_ok=True)
        created = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        check_writable(folder)
    except OSError as error:
        action = "move the old results aside from" if fresh and aside else "write results to"
        raise ResultsError(f"cannot {action} {folder}: {error.strerror or error}") from None
    return folder, aside, created


def run_sweep(
    spec: Spec,
    parent: Path,
    *,
    options: RunOptions | None = None,
    fresh: bool = False,
    rerun_failed: bool = False,
    figures: bool = True,
    allow_large: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_results: Callable[[Sequence[RunResult]], None] | None = None,
) -> SweepReport:
    """Train every run of `spec` not yet finished in parent/<name>/, then write the outputs.

    `options` (default: the spec's [run] table) says how to execute; it never changes numbers.
    `on_start(total, todo)` and `on_results(results)` let the caller show progress.
    KeyboardInterrupt stops training; finished runs are kept and the tables still written.
    Bad input or an unusable folder or backend raises an XorlabError before anything is written.
    """
    check_size(spec, allow_large)
    if not len(spec.space()):
        raise SpecError(f"{spec.path}: the spec expands to no runs")
    options = options or spec.run
    if not fresh and (parent / spec.name / "spec.toml").is_file():
        check_compatible(parent / spec.name, spec)
    folder, moved_aside, created = prepare_folder(parent, spec, fresh)
    try:
        with folder_lock(folder), interrupts.kept():
            report = _sweep_in_folder(
                folder, spec, options, rerun_failed, figures, on_start, on_results
            )
    except BaseException:
        if created:  # a backend that could not start, say: leave no empty folder behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    report.moved_aside = moved_aside
    return report


def _sweep_in_folder(
    folder: Path,
    spec: Spec,
    options: RunOptions,
    rerun_failed: bool,
    figures: bool,
    on_start: Callable[[int, int], None] | None,
    on_results: Callable[[Sequence[RunResult]], None] | None,
) -> SweepReport:
    """The sweep itself, under the folder's lock. Memory: the configurations of the runs to
    train, and one chunk of results, at a time; the run ids of the spec; then the tables."""
    remove_stale_temporaries(folder)
    check_outputs(folder)
    store = RunStore(folder)
    statuses = store.open()
    configs = list(spec.space())
    done = {
        run_id for run_id, status in statuses.items() if not (rerun_failed and status == "failed")
    }
    del statuses
    todo = [c for c in configs if c.run_id not in done]
    run_ids = [c.run_id for c in configs]  # the spec's order, for the tables
    del done, configs
    report = SweepReport(folder, len(run_ids), len(run_ids) - len(todo), 0)
    report.store_problems = store.problems
    report.store_read_seconds = store.read_seconds
    started = _now()
    first_shard = store.next_sequence
    backend_failure: BackendError | None = None
    interrupts.raise_if_pressed()  # pressed while the store was read
    # set the backend up before writing anything: one that cannot start leaves no trace
    with open_backend(options) if todo else contextlib.nullcontext(_nothing) as execute:
        write_text(folder / "spec.toml", to_toml(spec.to_dict()))
        if on_start:
            on_start(len(run_ids), len(todo))
        # The main process mostly waits while workers train: import the table and figure
        # libraries and compress plotly.js meanwhile, so writing the outputs starts at once.
        preload = threading.Thread(target=_import_output_modules, daemon=True)
        preload.start()
        # a sweep of nothing but new runs keeps what it stored: its tables are built from that
        lines: dict[str, str] | None = (
            {} if len(todo) == len(run_ids) <= FAST_END_MAX_RUNS else None
        )
        appended: list | None = [] if lines is not None else None
        try:
            for results in execute(todo):
                shard = store.append(results)
                report.runs_trained += len(results)
                lines = _with_csv_lines(lines, shard)
                if appended is not None:
                    appended.append(shard)
                if on_results:
                    on_results(results)
                interrupts.raise_if_pressed()
        except (KeyboardInterrupt, BackendError) as error:
            if isinstance(error, KeyboardInterrupt):
                interrupts.handled()
            else:  # e.g. a lost Dask scheduler: keep what finished, then say so
                backend_failure = error
            report.interrupted = True
            # the store may hold a chunk the loop did not see
            report.runs_trained = store.stored_since(first_shard)
        preload.join()
    del todo
    from xorlab.analysis.tables import runs_table

    try:  # a Ctrl-C from here on: every run is stored, a rerun writes the outputs
        if appended is None or not _every_run(appended, len(run_ids)):  # interrupted
            appended = lines = None  # the lines come from the same chunks
        runs = runs_table(store.runs(run_ids, appended))  # in the spec's order
        del run_ids, appended
        report.statuses = Counter(runs["status"])
        _write_meta(folder, spec, report, started, options)  # first: the report page shows it
        drawing = figures and not report.interrupted  # interrupted: stop fast, tables only
        # The objects alive now (the tables above all) outlive the outputs: leave them out of
        # the garbage collections that drawing triggers (each would walk them all: a tenth of
        # a second at 60,000 runs, several times over).
        gc.freeze()
        fork = len(runs) <= FAST_END_MAX_RUNS
        report.summary = write_outputs(folder, spec, runs, drawing, fork, lines)
        interrupts.raise_if_pressed()
    except KeyboardInterrupt:
        report.interrupted = True
        _write_meta(folder, spec, report, started, options)
        raise
    finally:
        gc.unfreeze()
    if backend_failure is not None:
        raise BackendError(
            f"{backend_failure}; the {report.runs_reused + report.runs_trained} finished runs "
            f"are kept in {folder} (rerun the same command to resume)"
        )
    return report


OUTPUTS = (
    "spec.toml",
    "meta.json",
    "runs.csv",
    "summary.csv",
    "report.html",
    "explorer.html",
    "plotly.gz.js",
    "plotly.min.js",
)


def check_outputs(folder: Path) -> None:
    """Refuse, before training, a folder where something other than a file holds the name of
    a table the sweep writes at its end."""
    for name in OUTPUTS:
        path = folder / name
        if path.is_symlink() or (path.exists() and not path.is_file()):
            kind = "a symbolic link" if path.is_symlink() else "not a file"
            raise ResultsError(f"{path} is {kind}; the sweep writes its {name} there: remove it")


def _nothing(configs: list) -> Iterator[list[RunResult]]:
    """The backend of a sweep with nothing left to train."""
    return iter(())


def _every_run(tables: list, runs: int) -> bool:
    """Whether shard `tables` of runs of the spec hold all its `runs` runs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not tables:
        return runs == 0
    ids = pa.chunked_array([t["run_id"] for t in tables])
    return pc.count_distinct(ids).as_py() == runs


def _with_csv_lines(lines: dict[str, str] | None, shard) -> dict[str, str] | None:
    """`lines` with the runs.csv lines of a stored chunk's runs (`shard`: its table), or None
    once a chunk cannot be written a line at a time."""
    from xorlab.analysis.tables import csv_lines, runs_table

    if lines is None:
        return None
    chunk = csv_lines(runs_table(shard.to_pandas(split_blocks=True)))
    return None if chunk is None else lines | chunk


def _import_output_modules() -> None:
    import xorlab.visualization.render  # noqa: F401  (pandas, matplotlib)
    from xorlab.visualization.explorer import packed_plotly

    packed_plotly()  # compressed once, kept for the explorer


def write_outputs(
    folder: Path,
    spec: Spec,
    runs,
    figures: bool = True,
    fork: bool = False,
    lines: dict[str, str] | None = None,
):
    """(Re)write runs.csv, summary.csv, the figures and report.html from the runs table of the
    spec's stored runs (in the spec's order); with `fork`, a forked helper draws some of the
    figures while this process writes the tables and draws the rest. `lines`: every run's
    line of runs.csv (see `analysis.csv_lines`), if formatted already."""
    from xorlab.analysis.tables import runs_csv, summary_table
    from xorlab.storage.loader import curves_reader
    from xorlab.visualization.render import render

    summary = summary_table(runs)

    def write_runs(f) -> None:
        if lines is None:
            runs_csv(runs).to_csv(f, index=False)
            return
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        text.write(runs_csv(runs.head(0)).to_csv(index=False, lineterminator="\n"))  # header
        text.writelines(lines[run_id] for run_id in runs["run_id"])
        text.detach()  # flushed; the caller closes the file

    def tables() -> None:
        write_with(folder / "runs.csv", write_runs)
        write_with(folder / "summary.csv", lambda f: summary.to_csv(f, index=False))
        (folder / "curves.csv").unlink(missing_ok=True)  # an older release's: curves.parquet

    render(folder, runs, summary, curves_reader(folder), spec.to_dict(), figures, tables, fork)
    return summary


def _write_meta(
    folder: Path, spec: Spec, report: SweepReport, started: str, options: RunOptions
) -> None:
    import joblib
    import pandas

    meta = {
        "xorlab": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pandas.__version__,
        "joblib": joblib.__version__,
        "platform": platform.platform(),
        "command": sys.argv,
        "spec": str(spec.path),
        "started": started,
        "finished": _now(),
        "interrupted": report.interrupted,
        "n_jobs": options.n_jobs,
        "backend": options.backend,
        "address": options.address,
        "runs_total": report.runs_total,
        "runs_reused": report.runs_reused,
        "runs_trained": report.runs_trained,
        "statuses": dict(report.statuses),
        "store_read_seconds": round(report.store_read_seconds, 3),
        "settings": list(SETTING_NAMES),
    }
    write_text(folder / "meta.json", json.dumps(meta, indent=2) + "\n")
