"""Command line: python -m xorlab.compare A B [...] -- compare the runs of several sweeps.

Configurations are matched on the settings the sweeps vary (not on row order); the fixed settings
that differ between the sweeps are the conditions compared, stated first. Each later sweep is
compared with the first: solve rates, their difference, and Fisher's exact test on the
solved/unsolved seed counts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xorlab.cli.base import EXIT_OK, Parser, checked, program, run_command
from xorlab.search.rules import Interval


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=program("compare"), description=__doc__.split("\n")[0])
    parser.add_argument(
        "sweeps",
        nargs="+",
        type=Path,
        metavar="RESULTS",
        help="results folders or runs.csv files (the first is the baseline)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for compare.csv and compare.png (default: results/compare-A-vs-B)",
    )
    parser.add_argument(
        "--top",
        type=checked(Interval(int, 1), int),
        default=20,
        help="configurations to print (default 20, most different first)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(lambda: _compare(build_parser().parse_args(argv)))


def _compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from xorlab.analysis.comparison import (
        SIGNIFICANT,
        compare,
        comparison_figure,
        outcome_counts,
        unique_names,
    )
    from xorlab.errors import SpecError
    from xorlab.storage.folder import write_with
    from xorlab.storage.loader import load
    from xorlab.training.config import format_value
    from xorlab.visualization.style import DPI

    if len(args.sweeps) < 2:
        raise SpecError("give at least two results folders or runs.csv files to compare")
    loaded = [load(p) for p in args.sweeps]
    names = unique_names([r.name for r in loaded])
    sweeps = dict(zip(names, (r.runs for r in loaded)))
    for name, runs in sweeps.items():
        if (runs["status"] == "failed").all():
            raise SpecError(
                f"{name}: every run of this sweep failed ({len(runs)} runs); there is nothing to "
                "compare: the errors are in its runs.csv"
            )
    table, keys, conditions = compare(sweeps)
    common = table[table["present_in"] == "all"]
    if common.empty:
        raise SpecError(
            f"the sweeps have no configuration in common (matched on {', '.join(keys)})"
        )
    out = args.out or Path("results") / ("compare-" + "-vs-".join(names))
    out.mkdir(parents=True, exist_ok=True)
    write_with(out / "compare.csv", lambda f: table.to_csv(f, index=False))
    figure = comparison_figure(table, keys, names)
    write_with(out / "compare.png", lambda f: figure.savefig(f, format="png", dpi=DPI))

    print(
        f"comparing {len(names)} sweeps: "
        + ", ".join(f"{n} ({p})" for n, p in zip(names, args.sweeps))
    )
    if conditions:
        print("conditions (fixed settings that differ between the sweeps):")
        for setting, values in conditions.items():
            print(
                f"  {setting}: " + ", ".join(f"{n} = {format_value(v)}" for n, v in values.items())
            )
    else:
        print("conditions: the sweeps share every fixed setting")
    print(
        f"matched on: {', '.join(keys) or '(nothing varies: whole sweeps)'}; {len(common)} configurations in common"
    )
    print(
        "test: Fisher's exact test (two-sided) on solved / unsolved seeds of each configuration; * p < 0.05"
    )
    show = common.copy()
    last = names[-1]
    show["_order"] = -show[f"solve_rate_diff_{last}"].abs()
    show = show.sort_values("_order", kind="stable").head(args.top)
    printed = pd.DataFrame({k: show[k].map(format_value) for k in keys})
    for name in names:
        printed[name] = [
            f"{int(k)}/{int(n)}" for k, n in zip(show[f"solved_{name}"], show[f"n_{name}"])
        ]
        printed[f"loss {name}"] = show[f"final_loss_median_{name}"].map(lambda v: f"{v:.3g}")
    for name in names[1:]:
        printed[f"diff {name}"] = show[f"solve_rate_diff_{name}"].map(lambda v: f"{v:+.2f}")
        printed[f"p {name}"] = [
            f"{p:.3g}{' *' if p < SIGNIFICANT else ''}" for p in show[f"p_value_{name}"]
        ]
    print(printed.to_string(index=False))
    outcomes = outcome_counts(sweeps)
    if outcomes[names].to_numpy().sum():
        print("how the runs ended (outcome counts; change from the first sweep):")
        print(outcomes[outcomes[names].sum(axis=1) > 0].to_string())
    for flags, rows in table[table["present_in"] != "all"].groupby("present_in"):
        labels = ", ".join(
            "(" + ", ".join(format_value(r[k]) for k in keys) + ")"
            for _, r in rows.head(5).iterrows()
        )
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        print(f"only in {flags}: {len(rows)} configurations: {labels}{more}")
    print(f"wrote {out / 'compare.csv'} and {out / 'compare.png'}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
