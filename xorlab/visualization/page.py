"""report.html: the page of a results folder (its sentences, figures, tables, spec and
metadata), as a string of HTML; `render` writes it."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from xorlab.analysis.importance import (
    importance_sentence,
)
from xorlab.analysis.tables import configuration_label
from xorlab.training.config import SETTING_NAMES
from xorlab.visualization.report import (
    best_sentences,
    failure_sentences,
    headline,
    varying_settings,
)

IMPORTANCE = "importance.csv"
MARGINALS = "marginals.csv"


def worst_runs(runs: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Each configuration's worst run (highest final loss, unsolved first) for a replay, in
    the summary's order."""
    settings = list(SETTING_NAMES)
    # the runs of those configurations only (a merge keeps the runs' order: ties stay in it)
    these = runs.merge(summary[settings].assign(_order=range(len(summary))), on=settings)
    ranked = these.assign(_rank=these["final_loss"].fillna(float("inf")) + ~these["solved"] * 1e300)
    worst = ranked.sort_values("_rank", kind="stable").groupby("_order").tail(1)
    return worst.sort_values("_order")["run_id"].tolist()


FIGURE_CAPTIONS = {
    "solve_rate_heatmap.png": "Share of seeds that solved XOR for each configuration.",
    "loss_curves.png": "Median training loss over seeds (band: interquartile range).",
    "seeds.png": "Every seed: how fast it solved, and where the stuck ones ended.",
    "decision_boundaries.png": "What the best and worst seeds of the top configurations learned.",
    "settings_scatter.png": "Random search: final loss against each sampled setting.",
    "parallel_coordinates.png": "Random search: every sampled configuration, coloured by its solve rate.",
    "outcomes.png": "How the runs of each configuration group ended (see the README's outcomes).",
    "importance.png": "Which settings matter: shares of the variation in solve rate, and the solve rate at each value.",
}


NO_FIGURES = (
    "<p>No figures for these tables (drawn at the end of a finished sweep, not after --no-figures "
    "or an interruption): <code>python -m xorlab.plot {folder}</code> draws them.</p>"
)


NO_RUNS = (
    "<p>No run has finished yet (the sweep was interrupted before its first chunk was stored): "
    "run the sweep's command again to train them; its figures come with them.</p>"
)


def _meta(path: Path) -> dict:
    """meta.json, informational only: a damaged one shows as no metadata, never an error."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return meta if isinstance(meta, dict) else {}


def report_html(
    folder: Path,
    summary: pd.DataFrame,
    spec: dict,
    figures: Sequence[str],
    runs: pd.DataFrame | None = None,
    importance: tuple | None = None,
) -> str:
    """A self-contained page: which settings matter, best configurations in words, why runs
    failed, figures, the summary table, spec and meta."""
    meta = _meta(folder / "meta.json")
    settings = varying_settings(summary)
    name = html.escape(str(spec.get("sweep", {}).get("name", folder.name)))
    sentences = "".join(f"<li>{html.escape(s)}</li>" for s in best_sentences(summary))
    figure_html = "".join(
        f'<figure><img src="figures/{html.escape(f)}" alt="{html.escape(f)}">'
        f"<figcaption>{html.escape(FIGURE_CAPTIONS.get(f, f))}</figcaption></figure>"
        for f in figures
    )
    table = summary.head(30).copy()
    table.insert(
        0, "configuration", [configuration_label(r, settings) for _, r in table.iterrows()]
    )
    failures = ""
    if runs is not None and len(runs) and runs["outcome"].notna().any():
        table["worst run"] = worst_runs(runs, table)
        why = "".join(f"<li>{html.escape(s)}</li>" for s in failure_sentences(runs, summary))
        failures = (
            f"<h2>Why runs failed</h2><ul>{why or '<li>every run solved XOR</li>'}</ul>"
            "<p>Outcomes are defined in the README (<code>outcome</code> column of runs.csv). "
            "See any run's whole story with <code>python -m xorlab.replay "
            f"{html.escape(str(folder))} RUN_ID</code>; the summary table names each "
            "configuration's worst run.</p>"
        )
    table = table.drop(columns=[c for c in table.columns if c in SETTING_NAMES])
    fixed = {
        s: summary[s].iloc[0]
        for s in SETTING_NAMES
        if s not in settings and len(summary) and not pd.isna(summary[s].iloc[0])
    }
    counts = meta.get("statuses", {})
    matter = importance_sentence(importance[0], importance[2]) if importance else None
    matter_html = f"<h2>Which settings matter</h2><p>{html.escape(matter)}</p>" if matter else ""
    tables = " · ".join(
        f'<a href="{name}">{name}</a>'
        for name in ("runs.csv", "summary.csv", IMPORTANCE, MARGINALS, "spec.toml", "meta.json")
        if (folder / name).exists()
    )
    if (folder / "curves.parquet").exists():  # a folder of files: read it with pandas
        tables += ' · curves: <code>pd.read_parquet("curves.parquet")</code>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xorlab sweep {name}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1em; color: #222; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
figure {{ margin: 1.5em 0; }} figcaption {{ color: #555; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
.scroll {{ overflow-x: auto; max-width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: 3px 6px; text-align: right; }}
th {{ background: #f3f3f3; }} td:first-child {{ text-align: left; }}
pre {{ background: #f7f7f7; padding: 1em; overflow-x: auto; }}
</style></head><body>
<h1>Sweep <code>{name}</code></h1>
<p class="headline"><strong>{html.escape(headline(summary) or "")}</strong></p>
<p>{meta.get("runs_total", len(summary))} runs: {counts.get("ok", 0)} ok, {counts.get("diverged", 0)} diverged,
{counts.get("failed", 0)} failed. Fixed settings: {html.escape(", ".join(f"{k} = {v}" for k, v in fixed.items()))}.</p>
{matter_html}
{f"<h2>Best configurations</h2><ul>{sentences}</ul>" if sentences else ""}
{failures}
<p>Tables: {tables}</p>
<h2>Figures</h2>{figure_html or (NO_FIGURES if len(summary) else NO_RUNS).format(folder=html.escape(str(folder)))}
<h2>Summary (top {len(table)} of {len(summary)} configurations)</h2>
<div class="scroll">{table.to_html(index=False, na_rep="", float_format=_number, border=0)}</div>
<h2>Resolved spec</h2><pre>{html.escape(_spec_text(folder))}</pre>
<h2>Run metadata</h2><pre>{html.escape(json.dumps(meta, indent=2))}</pre>
</body></html>
"""


def _number(value: float) -> str:
    """A table cell: integers as integers (1800, not 1.8e+03), others to 3 significant digits."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3g}"


def figure_order(names) -> list[str]:
    """The standard figures in reading order, then any others by name."""
    order = list(FIGURE_CAPTIONS)
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def _spec_text(folder: Path) -> str:
    path = folder / "spec.toml"
    return path.read_text() if path.exists() else ""
