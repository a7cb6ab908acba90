"""Command line: python -m xorlab.compare A B [...] -- compare the runs of several sweeps.

Configurations are matched on the settings the sweeps vary (not on row order); the fixed settings
that differ between the sweeps are the conditions compared, stated first. Each later sweep is
compared with the first: solve rates, their difference, and Fisher's exact test on the
solved/unsolved seed counts.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from xorlab.config import SETTING_NAMES
from xorlab.search import SpecError
from xorlab.sweep import Parser

REQUIRED = {"run_id", "seed", "status", "solved", "final_loss", *SETTING_NAMES}


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test for the 2x2 table [[a, b], [c, d]]."""
    row1, row2, column1 = a + b, c + d, a + c
    total = math.comb(row1 + row2, column1)
    if total == 0:
        return 1.0

    def probability(x: int) -> float:
        return math.comb(row1, x) * math.comb(row2, column1 - x) / total

    observed = probability(a)
    support = range(max(0, column1 - row2), min(column1, row1) + 1)
    return min(1.0, sum(p for p in map(probability, support) if p <= observed * (1 + 1e-7)))


def load_runs(path: Path) -> tuple[str, pd.DataFrame]:
    """A sweep's runs table from its results folder or its runs.csv, and a name for it."""
    csv = path / "runs.csv" if path.is_dir() else path
    if not csv.is_file():
        raise SpecError(f"{path}: no such results folder or runs.csv")
    try:
        runs = pd.read_csv(csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        reason = str(error).strip().splitlines()[0]
        raise SpecError(f"{csv}: not an xorlab runs table (unreadable as CSV: {reason})") from None
    missing = sorted(REQUIRED - set(runs.columns))
    if missing:
        raise SpecError(f"{csv}: not an xorlab runs table (missing columns: {', '.join(missing)})")
    name = csv.parent.name if csv.name == "runs.csv" else csv.stem
    return name or "sweep", runs


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        name = re.sub(r"[^\w.-]", "_", name)
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return result


def _per_configuration(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    finished = runs[runs["status"] != "failed"]
    grouped = finished.groupby(keys, dropna=False) if keys else finished.groupby(lambda _: 0)
    table = grouped.agg(
        solved=("solved", "sum"),
        n=("solved", "size"),
        final_loss_median=("final_loss", "median"),
    )
    table["solve_rate"] = table["solved"] / table["n"]
    return table.reset_index(drop=not keys)


def compare(sweeps: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, list[str], dict[str, dict]]:
    """The comparison table, the settings matched on, and the conditions (fixed settings that
    differ between sweeps: setting -> {sweep: value})."""
    keys = [s for s in SETTING_NAMES if any(r[s].nunique() > 1 for r in sweeps.values())]
    conditions = {}
    for setting in SETTING_NAMES:
        if setting in keys:
            continue
        values = {name: runs[setting].iloc[0] for name, runs in sweeps.items() if len(runs)}
        if len({str(v) for v in values.values()}) > 1:
            conditions[setting] = values
    table = None
    for name, runs in sweeps.items():
        part = _per_configuration(runs, keys).rename(
            columns={c: f"{c}_{name}" for c in ("solved", "n", "final_loss_median", "solve_rate")}
        )
        table = (
            part
            if table is None
            else table.merge(part, on=keys or None, how="outer")
            if keys
            else pd.concat([table, part], axis=1)
        )
    names = list(sweeps)
    base = names[0]
    for name in names[1:]:
        table[f"solve_rate_diff_{name}"] = table[f"solve_rate_{name}"] - table[f"solve_rate_{base}"]
        p_values = []
        for _, row in table.iterrows():
            counts = [row.get(f"{k}_{n}") for n in (base, name) for k in ("solved", "n")]
            if any(pd.isna(v) for v in counts):
                p_values.append(np.nan)
                continue
            k1, n1, k2, n2 = (int(v) for v in counts)
            p_values.append(fisher_exact(k1, n1 - k1, k2, n2 - k2))
        table[f"p_value_{name}"] = p_values
    present = [table[f"n_{n}"].notna() for n in names]
    table["present_in"] = [
        "all" if all(flags) else "+".join(n for n, f in zip(names, flags) if f)
        for flags in zip(*present)
    ]
    return table, keys, conditions


def comparison_figure(table: pd.DataFrame, keys: list[str], names: list[str]):
    """Difference heatmaps (later sweep minus first) over hidden x lr, one panel per activation."""
    from matplotlib.figure import Figure

    common = table[table["present_in"] == "all"]
    rows = "hidden" if "hidden" in keys else next((k for k in keys if k != "activation"), None)
    columns = (
        "lr"
        if "lr" in keys and rows != "lr"
        else next((k for k in keys if k not in (rows, "activation")), None)
    )
    panels = sorted(common["activation"].unique()) if "activation" in keys else [None]
    others = names[1:]
    figure = Figure(figsize=(4.2 * len(panels) + 0.8, 3.6 * len(others) + 0.6))
    axes = figure.subplots(len(others), len(panels), squeeze=False)
    figure.subplots_adjust(left=0.08, right=0.9, bottom=0.14, top=0.86, wspace=0.35, hspace=0.5)
    image = None
    for r, name in enumerate(others):
        for c, panel in enumerate(panels):
            ax = axes[r, c]
            subset = common if panel is None else common[common["activation"] == panel]
            diff = f"solve_rate_diff_{name}"
            if rows and columns:
                grid = subset.pivot_table(index=rows, columns=columns, values=diff, aggfunc="mean")
                image = ax.imshow(
                    grid.to_numpy(float),
                    cmap="RdBu",
                    vmin=-1,
                    vmax=1,
                    origin="lower",
                    aspect="auto",
                )
                for i in range(grid.shape[0]):
                    for j in range(grid.shape[1]):
                        value = grid.iat[i, j]
                        if np.isfinite(value):
                            color = "white" if abs(value) > 0.6 else "black"
                            ax.text(
                                j,
                                i,
                                f"{value:+.1f}",
                                ha="center",
                                va="center",
                                fontsize=8,
                                color=color,
                            )
                ax.set_xticks(
                    range(grid.shape[1]),
                    [f"{v:g}" if isinstance(v, float) else v for v in grid.columns],
                    rotation=45 if grid.shape[1] > 5 else 0,
                )
                ax.set_yticks(range(grid.shape[0]), list(grid.index))
                ax.set_xlabel(columns)
                ax.set_ylabel(rows)
            else:
                ax.bar(range(len(subset)), subset[diff], color="gray")
                ax.set_ylabel("solve rate difference")
                ax.set_xlabel("configuration")
            ax.set_title(f"{panel or 'all'}: {name} - {names[0]}", fontsize=10)
    if image is not None:
        figure.colorbar(image, ax=list(axes.ravel()), label="solve rate difference", fraction=0.03)
    figure.suptitle(f"Solve rate of each sweep minus {names[0]} (blue: better, red: worse)")
    return figure


def _format(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m xorlab.compare", description=__doc__.split("\n")[0])
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
        type=int,
        default=20,
        help="configurations to print (default 20, most different first)",
    )
    args = parser.parse_args(argv)
    try:
        if len(args.sweeps) < 2:
            raise SpecError("give at least two results folders or runs.csv files to compare")
        loaded = [load_runs(p) for p in args.sweeps]
        names = _unique_names([n for n, _ in loaded])
        sweeps = dict(zip(names, (r for _, r in loaded)))
        table, keys, conditions = compare(sweeps)
        common = table[table["present_in"] == "all"]
        if common.empty:
            raise SpecError(
                f"the sweeps have no configuration in common (matched on {', '.join(keys)})"
            )
        out = args.out or Path("results") / ("compare-" + "-vs-".join(names))
        out.mkdir(parents=True, exist_ok=True)
    except SpecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write the comparison: {error}", file=sys.stderr)
        return 2
    from xorlab.store import write_with

    print(
        f"comparing {len(names)} sweeps: "
        + ", ".join(f"{n} ({p})" for n, p in zip(names, args.sweeps))
    )
    if conditions:
        print("conditions (fixed settings that differ between the sweeps):")
        for setting, values in conditions.items():
            print(f"  {setting}: " + ", ".join(f"{n} = {_format(v)}" for n, v in values.items()))
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
    printed = pd.DataFrame({k: show[k].map(_format) for k in keys})
    for name in names:
        printed[name] = [
            f"{int(k)}/{int(n)}" for k, n in zip(show[f"solved_{name}"], show[f"n_{name}"])
        ]
        printed[f"loss {name}"] = show[f"final_loss_median_{name}"].map(lambda v: f"{v:.3g}")
    for name in names[1:]:
        printed[f"diff {name}"] = show[f"solve_rate_diff_{name}"].map(lambda v: f"{v:+.2f}")
        printed[f"p {name}"] = [
            f"{p:.3g}{' *' if p < 0.05 else ''}" for p in show[f"p_value_{name}"]
        ]
    print(printed.to_string(index=False))
    for flags, rows in table[table["present_in"] != "all"].groupby("present_in"):
        labels = ", ".join(
            "(" + ", ".join(_format(r[k]) for k in keys) + ")" for _, r in rows.head(5).iterrows()
        )
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        print(f"only in {flags}: {len(rows)} configurations: {labels}{more}")
    write_with(out / "compare.csv", lambda f: table.to_csv(f, index=False))
    figure = comparison_figure(table, keys, names)
    write_with(out / "compare.png", lambda f: figure.savefig(f, format="png", dpi=100))
    print(f"wrote {out / 'compare.csv'} and {out / 'compare.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
