"""Command line: python -m xorlab.plot RESULTS_DIR -- redraw the figures and report.html."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xorlab.cli.base import EXIT_OK, Parser, program, run_command


def main(argv: list[str] | None = None) -> int:
    return run_command(lambda: _plot(build_parser().parse_args(argv)))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=program("plot"), description=__doc__.split(" -- ")[1])
    parser.add_argument(
        "folder",
        type=Path,
        metavar="RESULTS_DIR",
        help="a sweep's results folder, e.g. results/grid",
    )
    return parser


def _plot(args: argparse.Namespace) -> int:
    from xorlab.errors import ResultsError
    from xorlab.storage.folder import folder_lock
    from xorlab.storage.loader import check_curves, load
    from xorlab.visualization.render import render

    if not args.folder.is_dir():
        raise ResultsError(f"{args.folder}: not a results folder")
    with folder_lock(args.folder):  # a sweep writing this folder would change the tables
        results = load(args.folder)
        if not results.spec:
            raise ResultsError(f"{args.folder}: not a results folder (no spec.toml)")
        check_curves(args.folder, required=True)
        written = render(
            args.folder, results.runs, results.summary, results.curves_of, results.spec
        )
    for path in written:
        print(path)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
