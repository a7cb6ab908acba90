"""xorlab from Python: run a sweep, load a results folder, compare sweeps.

    import xorlab
    results = xorlab.run("sweeps/grid.toml")            # or a TOML string, or a dict
    results.summary.head()                              # pandas DataFrames
    results.figure("solve_rate_heatmap")                # a matplotlib Figure
    xorlab.compare("results/grid", "results/grid600")   # the comparison table

The same resume, locking and outputs as the command line; bad input raises an
`xorlab.XorlabError` with the one-line message the command line prints.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from xorlab.errors import SpecError
from xorlab.storage.loader import Results, load

__all__ = ["Results", "compare", "load", "run"]


def _spec(spec: str | Path | Mapping[str, Any]):
    from xorlab.search.spec import load_spec, parse_spec

    if isinstance(spec, Mapping):
        bad = [key for key in spec if not isinstance(key, str)]
        if bad:
            raise SpecError(f"<dict>: key {bad[0]!r} is not a string; keys are section names")
        return parse_spec(spec, Path("<dict>"))
    if not isinstance(spec, str | Path):
        raise SpecError(f"spec must be a path, a TOML string or a dict, not {type(spec).__name__}")
    if isinstance(spec, Path) or "\n" not in spec and not spec.lstrip().startswith("["):
        return load_spec(spec)
    try:
        data = tomllib.loads(spec)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"<string>: invalid TOML: {error}") from None
    return parse_spec(data, Path("<string>"), spec)


def run(
    spec: str | Path | Mapping[str, Any],
    out: str | Path | None = None,
    *,
    n_jobs: int | None = None,
    backend: str | None = None,
    address: str | None = None,
    timeout: float | None = None,
    fresh: bool = False,
    rerun_failed: bool = False,
    figures: bool = True,
    allow_large: bool = False,
) -> Results:
    """Run (or resume) a sweep and return its results.

    `spec` is a spec file's path, a TOML string or a dict shaped like the TOML (a string or a
    dict needs `[sweep] name`); `out` is the parent folder, as --out (default: results/). The
    keyword options are the command line's and override the spec's [run] table.

    Interrupted (Ctrl-C, a notebook's interrupt), it keeps the finished runs, writes their
    tables, then raises KeyboardInterrupt; the same call again resumes."""
    from xorlab.execution.pipeline import run_sweep
    from xorlab.search.rules import check_value
    from xorlab.search.spec import RUN_RULES

    parsed = _spec(spec)
    given = {"n_jobs": n_jobs, "backend": backend, "address": address, "timeout": timeout}
    overrides = {}
    for key, value in given.items():
        if value is not None:
            try:
                overrides[key] = check_value(RUN_RULES[key], value)
            except ValueError as error:
                raise SpecError(f"{key}: {error}") from None
    if address and not backend:
        overrides["backend"] = "dask"
    options = replace(parsed.run, **overrides)
    if out is not None and not isinstance(out, str | Path):
        raise SpecError(f"out must be a folder's path, not {type(out).__name__}")
    parent = Path(out) if out is not None else Path("results")
    report = run_sweep(
        parsed,
        parent,
        options=options,
        fresh=fresh,
        rerun_failed=rerun_failed,
        figures=figures,
        allow_large=allow_large,
    )
    if report.interrupted:
        raise KeyboardInterrupt(
            f"interrupted: {report.runs_reused + report.runs_trained} of {report.runs_total} runs are"
            f" kept in {report.folder}; the same call again resumes"
        )
    return load(report.folder)


def compare(*sweeps: str | Path | Results) -> pd.DataFrame:
    """The comparison table of two or more sweeps (results folders, runs.csv files or
    `Results`), as `python -m xorlab.compare` writes it to compare.csv."""
    from xorlab.analysis.comparison import compare as comparison
    from xorlab.analysis.comparison import unique_names

    if len(sweeps) < 2:
        raise SpecError("give at least two results folders or runs.csv files to compare")
    wrong = [s for s in sweeps if not isinstance(s, str | Path | Results)]
    if wrong:
        raise SpecError(
            f"compare takes results folders, runs.csv files or Results, not {type(wrong[0]).__name__}"
        )
    loaded = [s if isinstance(s, Results) else load(s) for s in sweeps]
    names = unique_names([r.name for r in loaded])
    table, _, _ = comparison(dict(zip(names, (r.runs for r in loaded))))
    return table
