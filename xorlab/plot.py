"""Command line: python -m xorlab.plot RESULTS_DIR -- redraw the figures and report.html."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from xorlab.sweep import Parser


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m xorlab.plot", description=__doc__.split(" -- ")[1])
    parser.add_argument(
        "folder",
        type=Path,
        metavar="RESULTS_DIR",
        help="a sweep's results folder, e.g. results/grid",
    )
    args = parser.parse_args(argv)
    missing = [
        n for n in ("runs.csv", "curves.csv", "spec.toml") if not (args.folder / n).is_file()
    ]
    if missing:
        print(
            f"error: {args.folder}: not a results folder (missing {', '.join(missing)})",
            file=sys.stderr,
        )
        return 2
    import pandas as pd

    from xorlab.analysis import summary_table
    from xorlab.render import render

    runs = pd.read_csv(args.folder / "runs.csv", keep_default_na=False, na_values=[""])
    runs["epochs_to_solve"] = runs["epochs_to_solve"].astype("Int64")
    spec = tomllib.loads((args.folder / "spec.toml").read_text())
    written = render(
        args.folder,
        runs,
        summary_table(runs),
        pd.read_csv(args.folder / "curves.csv"),
        spec,
    )
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
