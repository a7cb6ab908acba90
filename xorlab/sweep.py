"""Command line: python -m xorlab.sweep SPEC [options] -- run a hyperparameter sweep."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from xorlab.search import SpecError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line and exit status 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _settings_help() -> str:
    """The training settings a spec may sweep ([params]) or fix ([train]), with defaults."""
    from xorlab.config import SETTINGS

    lines = ["training settings ([params] to sweep, [train] to fix; default in brackets):"]
    for name, setting in SETTINGS.items():
        lines.append(f"  {name:<11} {setting.doc} [{setting.default!r}]; {setting.allowed}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m xorlab.sweep",
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
        type=int,
        metavar="N",
        help="worker processes (joblib convention: -1 = all cores); overrides [run]",
    )
    parser.add_argument("--backend", choices=("loky", "dask"), help="overrides [run] backend")
    parser.add_argument(
        "--address",
        metavar="TCP",
        help="Dask scheduler, e.g. tcp://127.0.0.1:8786 (implies --backend dask; "
        "default with dask: a local cluster on 127.0.0.1)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from xorlab.dask_backend import DaskSetupError
    from xorlab.pipeline import MAX_RUNS, run_sweep
    from xorlab.spec import load_spec
    from xorlab.store import FolderLocked

    try:
        if args.n_jobs == 0:
            raise SpecError("--n-jobs must be a non-zero integer (-1 = all cores)")
        spec = load_spec(args.spec)
        space = spec.space()
        if len(space) > MAX_RUNS and not args.yes:
            raise SpecError(
                f"{args.spec}: expands to {len(space):,} runs (more than {MAX_RUNS:,}); add --yes to run it"
            )
        if args.dry_run:
            return _dry_run(spec, space)
        progress = _Progress(enabled=not args.no_progress)
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
        try:
            report = run_sweep(
                spec,
                args.out,
                options=options,
                fresh=args.fresh,
                rerun_failed=args.rerun_failed,
                figures=not args.no_figures,
                on_start=progress.start,
                on_results=progress.update,
            )
        finally:
            progress.close()
    except (SpecError, FolderLocked, DaskSetupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # a second Ctrl-C while the tables were being written
        print(
            f"\ninterrupted; finished runs are kept: rerun {args.spec} to resume", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    return _finish(report, args)


def _dry_run(spec, space) -> int:
    print(f"{spec.path}: {len(space)} runs ({spec.method} search, {len(spec.seeds)} seeds each)")
    for config in (space[i] for i in range(min(5, len(space)))):
        swept = ", ".join(f"{k}={getattr(config, k)!r}" for k in spec.params)
        print(f"  {config.run_id}  seed={config.seed}  {swept}")
    if len(space) > 5:
        print(f"  ... and {len(space) - 5} more")
    return 0


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

            self.bar = tqdm(total=todo, unit="run", file=sys.stderr, smoothing=0.1)

    def update(self, results) -> None:
        if self.bar is not None:
            self.bar.update(len(results))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _finish(report, args) -> int:
    counts = report.statuses
    if report.moved_aside:
        print(f"--fresh: the previous results were moved to {report.moved_aside}", file=sys.stderr)
    if report.dropped_lines:
        print(
            f"note: dropped {report.dropped_lines} torn journal line(s) from an interrupted run",
            file=sys.stderr,
        )
    if report.summary is not None and len(report.summary):
        from xorlab.report import best_table

        print(best_table(report.summary))
    print(
        f"runs: {report.runs_total} total, {report.runs_reused} reused, {report.runs_trained} trained"
    )
    print(f"results in {report.folder}/ (report.html, runs.csv, summary.csv, curves.csv, figures/)")
    print(
        f"status: {counts.get('ok', 0)} ok, {counts.get('diverged', 0)} diverged, {counts.get('failed', 0)} failed"
    )
    if report.interrupted:
        print(
            f"interrupted: finished runs are kept; resume with: python -m xorlab.sweep {args.spec}"
            + (f" --out {args.out}" if str(args.out) != "results" else ""),
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.fail_fast and counts.get("failed", 0):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
