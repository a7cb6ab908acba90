"""One sweep from spec to results folder: expand, skip finished runs, train, write tables.

spec -> run configs -> minus runs already in the journal (resume) -> runner -> journal
     -> runs.csv, summary.csv, curves.csv, spec.toml, meta.json, figures/, report.html
"""

from __future__ import annotations

import contextlib
import datetime as dt
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

from xorlab import __version__
from xorlab.config import SETTING_NAMES, SETTINGS
from xorlab.errors import ResultsError, SpecError
from xorlab.execution import RunOptions, open_backend
from xorlab.result import RunResult
from xorlab.spec import Spec, to_toml
from xorlab.store import (
    LOCK,
    Journal,
    curves_table,
    folder_lock,
    remove_stale_temporaries,
    write_text,
    write_with,
)

MAX_RUNS = 1_000_000


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
    journal_problems: list[str] = field(default_factory=list)
    moved_aside: Path | None = None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_compatible(folder: Path, spec: Spec) -> None:
    """Refuse to mix runs of a spec whose fixed settings differ into this folder."""
    old_path = folder / "spec.toml"
    if not old_path.exists():
        return
    try:
        old_fixed = tomllib.loads(old_path.read_text()).get("train", {})
    except (OSError, tomllib.TOMLDecodeError):
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
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
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
    configs = list(spec.space())
    if not configs:
        raise SpecError(f"{spec.path}: the spec expands to no runs")
    options = options or spec.run
    if not fresh and (parent / spec.name / "spec.toml").is_file():
        check_compatible(parent / spec.name, spec)
    folder, moved_aside, created = prepare_folder(parent, spec, fresh)
    try:
        with folder_lock(folder):
            report = _sweep_in_folder(
                folder, spec, configs, options, rerun_failed, figures, on_start, on_results
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
    configs: list,
    options: RunOptions,
    rerun_failed: bool,
    figures: bool,
    on_start: Callable[[int, int], None] | None,
    on_results: Callable[[Sequence[RunResult]], None] | None,
) -> SweepReport:
    """The sweep itself, under the folder's lock."""
    remove_stale_temporaries(folder)
    journal = Journal(folder)
    records = journal.load()
    done = {
        run_id
        for run_id, record in records.items()
        if not (rerun_failed and record["status"] == "failed")
    }
    todo = [c for c in configs if c.run_id not in done]
    report = SweepReport(folder, len(configs), len(configs) - len(todo), 0)
    report.journal_problems = journal.problems
    started = _now()
    # set the backend up before writing anything: one that cannot start leaves no trace
    with open_backend(options) if todo else contextlib.nullcontext(_nothing) as execute:
        write_text(folder / "spec.toml", to_toml(spec.to_dict()))
        if on_start:
            on_start(len(configs), len(todo))
        # The main process mostly waits while workers train: import the table and figure
        # libraries meanwhile, so writing the outputs starts at once.
        preload = threading.Thread(target=_import_output_modules, daemon=True)
        preload.start()
        try:
            for results in execute(todo):
                records.update(journal.append(results))
                report.runs_trained += len(results)
                if on_results:
                    on_results(results)
        except KeyboardInterrupt:
            report.interrupted = True
            before = journal.intact
            records = journal.read()  # the journal may hold a chunk the loop did not see
            report.runs_trained = journal.intact - before
        preload.join()
    ordered = [records[c.run_id] for c in configs if c.run_id in records]  # spec order
    report.statuses = Counter(r["status"] for r in ordered)
    _write_meta(folder, spec, report, started, options)  # first: the report page shows it
    drawing = figures and not report.interrupted  # interrupted: stop fast, tables only
    try:
        report.summary = write_outputs(folder, spec, ordered, drawing)
    except KeyboardInterrupt:  # the runs are all in the journal: a rerun writes the outputs
        report.interrupted = True
        _write_meta(folder, spec, report, started, options)
        raise
    return report


def _nothing(configs: list) -> Iterator[list[RunResult]]:
    """The backend of a sweep with nothing left to train."""
    return iter(())


def _import_output_modules() -> None:
    import xorlab.render  # noqa: F401  (pandas, matplotlib)


def write_outputs(
    folder: Path, spec: Spec, ordered: Sequence[dict[str, Any]], figures: bool = True
):
    """(Re)write runs.csv, summary.csv, curves.csv, the figures and report.html from the
    records of the spec's finished runs, in the spec's order."""
    import pandas as pd

    from xorlab.analysis import runs_csv, runs_table, summary_table
    from xorlab.render import render

    runs = runs_table(ordered)
    summary = summary_table(runs)
    curves = curves_table(ordered)
    write_with(folder / "runs.csv", lambda f: runs_csv(runs).to_csv(f, index=False))
    write_with(folder / "summary.csv", lambda f: summary.to_csv(f, index=False))
    write_with(folder / "curves.csv", lambda f: _write_curves(f, curves))
    render(folder, runs, summary, pd.DataFrame(curves), spec.to_dict(), figures)
    return summary


def _write_curves(handle, curves: dict[str, np.ndarray]) -> None:
    """Long-format CSV, fast: run_id,epoch,loss,accuracy."""
    handle.write(b"run_id,epoch,loss,accuracy\n")
    rows = zip(curves["run_id"], curves["epoch"], curves["loss"], curves["accuracy"])
    handle.write("".join(f"{r},{e},{loss:.10g},{acc:.6g}\n" for r, e, loss, acc in rows).encode())


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
        "settings": list(SETTING_NAMES),
    }
    write_text(folder / "meta.json", json.dumps(meta, indent=2) + "\n")
