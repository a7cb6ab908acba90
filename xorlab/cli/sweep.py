"""Command line: python -m xorlab.sweep SPEC [options] -- run a hyperparameter sweep."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from xorlab import interrupts
from xorlab.cli.base import (
    EXIT_FAILED_RUNS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Parser,
    checked,
    program,
    run_command,
)


def _settings_help() -> str:
    """The training settings a spec may sweep ([params]) or fix ([train]), with defaults."""
    from xorlab.training.config import SETTINGS

    lines = ["training settings ([params] to sweep, [train] to fix; default in brackets):"]
    for name, setting in SETTINGS.items():
        lines.append(f"  {name:<11} {setting.doc} [{setting.default!r}]; {setting.allowed}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from xorlab.execution import BACKENDS
    from xorlab.search.spec import RUN_RULES

    parser = Parser(
        prog=program("sweep"),
        description="Train every run of a TOML sweep spec and write tables, curves and figures\n"
        "to OUT/<name>/. Rerunning resumes: finished runs are kept, only missing ones train.",
        epilog=_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", type=Path, help="sweep spec (TOML), e.g. sweeps/grid.toml")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="parent folder of the results (default: results)",
    )
    parser.add_argument(
        "--n-jobs",
        type=checked(RUN_RULES["n_jobs"], int),
        metavar="N",
        help="worker processes (joblib convention: -1 = all cores; more than the cores are "
        "not started); overrides [run]",
    )
    parser.add_argument("--backend", choices=tuple(BACKENDS), help="overrides [run] backend")
    parser.add_argument(
        "--address",
        type=checked(RUN_RULES["address"], str),
        metavar="TCP",
        help="Dask scheduler, e.g. tcp://127.0.0.1:8786 (implies --backend dask; "
        "default with dask: a local cluster on 127.0.0.1)",
    )
    parser.add_argument(
        "--timeout",
        type=checked(RUN_RULES["timeout"], float),
        metavar="S",
        help="seconds to wait for a Dask scheduler and its first worker (default 30)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print how many runs and a few of them, then exit"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="start over: move the old results folder aside"
    )
    parser.add_argument(
        "--rerun-failed", action="store_true", help="train runs recorded as failed again"
    )
    parser.add_argument("--fail-fast", action="store_true", help="exit 1 if any run failed")
    parser.add_argument("--no-figures", action="store_true", help="skip drawing figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--yes", action="store_true", help="allow sweeps of more than 1,000,000 runs"
    )
    return parser


def resume_command(args: argparse.Namespace) -> str:
    """The command that resumes this sweep."""
    out = f" --out {args.out}" if args.out != Path("results") else ""
    return f"python -m xorlab.sweep {args.spec}{out}"


def main(argv: list[str] | None = None) -> int:
    parsed: list[argparse.Namespace] = []

    def body() -> int:
        parsed.append(build_parser().parse_args(argv))
        return _sweep(parsed[0])

    def hint() -> str:
        return f"finished runs are kept; resume with: {resume_command(parsed[0])}" if parsed else ""

    return run_command(body, on_interrupt=hint)


def _sweep(args: argparse.Namespace) -> int:
    from joblib import cpu_count

    from xorlab.errors import SpecError
    from xorlab.execution.pipeline import check_size, run_sweep
    from xorlab.search.spec import load_spec

    interrupts.raise_if_pressed()  # pressed while the libraries were imported
    spec = load_spec(args.spec)
    check_size(spec, args.yes)
    if args.dry_run:
        return _dry_run(spec)
    backend = args.backend or ("dask" if args.address else None)
    overrides = {
        "n_jobs": args.n_jobs,
        "backend": backend,
        "address": args.address,
        "timeout": args.timeout,
    }
    options = replace(spec.run, **{k: v for k, v in overrides.items() if v is not None})
    if options.address and options.backend != "dask":
        raise SpecError("--address / [run] address needs the dask backend (--backend dask)")
    if options.backend == "loky" and options.n_jobs > cpu_count():
        print(f"note: n_jobs = {options.n_jobs}, but {cpu_count()} cores: using {cpu_count()}")
    if spec.method != "random":  # only a grid collapses; building it again is cheap
        _say_collapsed(getattr(spec.space(), "grid", spec.space()))
    progress = _Progress(enabled=not args.no_progress)
    try:
        report = run_sweep(
            spec,
            args.out,
            options=options,
            fresh=args.fresh,
            rerun_failed=args.rerun_failed,
            figures=not args.no_figures,
            allow_large=args.yes,
            on_start=progress.start,
            on_results=progress.update,
        )
    finally:
        progress.close()
    return _finish(report, args)


def _dry_run(spec) -> int:
    from xorlab.execution.pipeline import MAX_RUNS

    if spec.method == "random" and spec.max_runs > MAX_RUNS:  # counted, not drawn: at once
        print(
            f"{spec.path}: up to {spec.max_runs:,} runs ({spec.method} search, "
            f"{len(spec.seeds)} seeds each); more than {MAX_RUNS:,}, so none is listed"
        )
        return EXIT_OK
    space = spec.space()
    seeds = f"{len(spec.seeds)} seed{'s' if len(spec.seeds) != 1 else ''}"
    if spec.map:
        maps = len(space) // space.per_map
        print(
            f"{spec.path}: {len(space)} runs (basins: {maps} map{'s' if maps != 1 else ''} of "
            f"{spec.map.points} x {spec.map.points} points, one per configuration and seed)"
        )
    else:
        print(f"{spec.path}: {len(space)} runs ({spec.method} search, {seeds} each)")
    _say_collapsed(getattr(space, "grid", space))
    for config in (space[i] for i in range(min(5, len(space)))):
        swept = ", ".join(f"{k}={getattr(config, k)!r}" for k in spec.params)
        point = config.point
        where = f"  offsets {point[0]}={point[1]:+g} {point[2]}={point[3]:+g}" if point else ""
        print(f"  {config.run_id}  seed={config.seed}{where}  {swept}".rstrip())
    if len(space) > 5:
        print(f"  ... and {len(space) - 5} more")
    return EXIT_OK


def _say_collapsed(space) -> None:
    """Say which settings that do not apply made grid combinations collapse."""
    from xorlab.training.config import SETTINGS

    for keys, combinations, distinct in getattr(space, "collapsed", ()):
        why = "; ".join(
            f"{k} applies only when {SETTINGS[k].condition}" for k in keys if SETTINGS[k].when
        )
        print(f"  {' x '.join(keys)}: {combinations} combinations, {distinct} distinct ({why})")


class _Progress:
    """A tqdm bar on stderr counting runs; quiet when disabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def start(self, total: int, todo: int) -> None:
        if total != todo:
            print(f"resuming: {total - todo} of {total} runs already finished", file=sys.stderr)
        if self.enabled and todo:
            from tqdm import tqdm

            tqdm.monitor_interval = 0  # no monitor thread: Ctrl-C belongs to the main thread
            self.bar = tqdm(total=todo, unit="run", file=sys.stderr, smoothing=0.1)

    def update(self, results) -> None:
        if self.bar is not None:
            self.bar.update(len(results))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _maps_headline(folder) -> str | None:
    """What the maps of a basins sweep show, from its basins.csv (None for other sweeps)."""
    import pandas as pd

    from xorlab.analysis.basins import BASINS, maps_headline
    from xorlab.training.config import SETTING_NAMES

    try:
        basins = pd.read_csv(folder / BASINS)
    except (OSError, ValueError):
        return None
    varying = [s for s in SETTING_NAMES if s in basins and basins[s].nunique(dropna=False) > 1]
    return maps_headline(basins, varying) if len(basins) else None


def _finish(report, args) -> int:
    counts = report.statuses
    if report.moved_aside:
        print(f"--fresh: the previous results were moved to {report.moved_aside}", file=sys.stderr)
    for problem in report.store_problems[:5]:
        print(f"note: {problem}", file=sys.stderr)
    if len(report.store_problems) > 5:
        print(f"note: ... and {len(report.store_problems) - 5} more", file=sys.stderr)
    if report.summary is not None and len(report.summary):
        from xorlab.visualization.report import best_table, headline

        print(best_table(report.summary))
        print(_maps_headline(report.folder) or headline(report.summary))
    print(
        f"runs: {report.runs_total} total, {report.runs_reused} reused, {report.runs_trained} trained"
    )
    written = ["runs.csv", "summary.csv", "curves.parquet"]
    if (report.folder / "report.html").is_file():
        written.insert(0, "report.html")
    if not args.no_figures and not report.interrupted:
        written.append("figures/")
    print(f"results in {report.folder}/ ({', '.join(written)})")
    print(
        f"status: {counts.get('ok', 0)} ok, {counts.get('diverged', 0)} diverged, {counts.get('failed', 0)} failed"
    )
    if report.interrupted:
        print(
            f"interrupted: finished runs are kept; resume with: {resume_command(args)}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.fail_fast and counts.get("failed", 0):
        return EXIT_FAILED_RUNS
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
