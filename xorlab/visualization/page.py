"""report.html: the page of a results folder (its sentences, figures, tables, spec and
metadata), as a string of HTML; `render` writes it."""

from __future__ import annotations

import html
import json
import shlex
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from xorlab.analysis.basins import basins_sentence, maps_headline
from xorlab.analysis.importance import (
    importance_sentence,
)
from xorlab.analysis.tables import configuration_label, solved_and_finished
from xorlab.training.config import SETTING_NAMES, format_value
from xorlab.visualization.report import (
    best_sentences,
    failure_sentences,
    headline,
    varying_settings,
)
from xorlab.visualization.style import DENSITY

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


FIGURE_CAPTIONS = {  # file -> (the question it answers, how to read it)
    "basins.png": (
        "Which starting points learn XOR?",
        "Each point of a map is a run started from the seed's initial weights moved along two "
        "axes, coloured by how it ended (+: the seed's own start).",
    ),
    "basins_speed.png": (
        "From which starting points does it learn fast, and how low does the loss go?",
        "The same maps: epochs to solve (grey: never solved) and final loss, log scales.",
    ),
    "solve_rate_heatmap.png": (
        "Which configurations solve XOR?",
        "Share of seeds that solved XOR for each configuration.",
    ),
    "parallel_coordinates.png": (
        "Which combinations of sampled settings work?",
        "Random search: every sampled configuration, coloured by its solve rate.",
    ),
    "importance.png": (
        "Which settings matter?",
        "Shares of the variation in solve rate, and the solve rate at each value.",
    ),
    "loss_curves.png": (
        "How does training progress?",
        "Median training loss over seeds (band: interquartile range).",
    ),
    "seeds.png": (
        "How fast, and how reliably across seeds?",
        "Every seed: how fast it solved, and where the stuck ones ended.",
    ),
    "outcomes.png": (
        "Why did runs fail?",
        "How the runs of each configuration group ended (see the README's outcomes).",
    ),
    "decision_boundaries.png": (
        "What did the networks learn?",
        "The learned function of the best and worst seeds of the top configurations.",
    ),
    "settings_scatter.png": (
        "How does each sampled setting relate to the loss?",
        "Random search: final loss against each sampled setting.",
    ),
}
KEY_FIGURES = (
    "basins.png",
    "solve_rate_heatmap.png",
    "parallel_coordinates.png",
    "loss_curves.png",
)
MAX_TABLE_ROWS = 2000  # configurations in the page's table (all of them are in summary.csv)


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
    worst: Sequence[str] | None = None,
    basins: pd.DataFrame | None = None,
) -> str:
    """A self-contained page that answers on its first screen (the headline, which settings
    matter, why runs failed in one line, the key figure), then a table of contents, the
    figures each under the question it answers, the sentences, the sortable summary table,
    spec and meta. Works offline: no script or style is fetched."""
    meta = _meta(folder / "meta.json")
    settings = varying_settings(summary)
    name = html.escape(str(spec.get("sweep", {}).get("name", folder.name)))
    sentences = "".join(f"<li>{html.escape(s)}</li>" for s in best_sentences(summary))
    key = next((f for f in KEY_FIGURES if f in figures), figures[0] if figures else None)
    sections = [(f"fig-{f.removesuffix('.png')}", _caption(f)[0], f) for f in figures]
    figure_html = "".join(
        f'<h3 id="{anchor}">{html.escape(question)}</h3>'
        f'<figure><a href="figures/{html.escape(f)}">'
        f'<img {_image(f)} alt="{html.escape(question)}" loading="lazy"></a>'
        f"<figcaption>{html.escape(_caption(f)[1])}</figcaption></figure>"
        for anchor, question, f in sections
        if f != key
    )
    key_html = (
        f'<figure class="key"><a href="figures/{html.escape(key)}"><img {_image(key)} '
        f'alt="{html.escape(_caption(key)[0])}"></a>'
        f"<figcaption>{html.escape(_caption(key)[1])} (Click a figure to see it at full "
        "size.)</figcaption></figure>"
        if key
        else ""
    )
    failures, why_line = "", ""
    has_outcomes = runs is not None and len(runs) and runs["outcome"].notna().any()
    if has_outcomes:
        why = "".join(f"<li>{html.escape(s)}</li>" for s in failure_sentences(runs, summary))
        failures = (
            f'<h2 id="why">Why runs failed</h2><ul>{why or "<li>every run solved XOR</li>"}</ul>'
            "<p>Outcomes are defined in the README (<code>outcome</code> column of runs.csv). "
            "See any run's whole story with <code>python -m xorlab.replay "
            f"{html.escape(str(folder))} RUN_ID</code>; the table below names each "
            "configuration's worst run.</p>"
        )
        unsolved = runs.loc[runs["outcome"].notna() & (runs["outcome"] != "solved"), "outcome"]
        if len(unsolved):
            counted = ", ".join(f"{n} {o}" for o, n in unsolved.value_counts().items())
            why_line = (
                f"<p><b>Why {len(unsolved)} runs did not solve:</b> {html.escape(counted)}.</p>"
            )
    fixed = {
        s: summary[s].iloc[0]
        for s in SETTING_NAMES
        if s not in settings and len(summary) and not pd.isna(summary[s].iloc[0])
    }
    counts = meta.get("statuses", {})
    matter = importance_sentence(importance[0], importance[2]) if importance else None
    matter_html = f"<p><b>Which settings matter:</b> {html.escape(matter)}</p>" if matter else ""
    first_sentence = headline(summary)
    if basins is not None and len(basins):
        matter_html = _basins_html(basins, settings) + matter_html
        first_sentence = maps_headline(basins, settings)
    tables = " · ".join(
        f'<a href="{name}">{name}</a>'
        for name in ("runs.csv", "summary.csv", IMPORTANCE, MARGINALS, "spec.toml", "meta.json")
        if (folder / name).exists()
    )
    if (folder / "curves.parquet").exists():  # a folder of files: read it with pandas
        tables += ' · curves: <code>pd.read_parquet("curves.parquet")</code>'
    if has_outcomes and worst is None:  # each configuration's worst run, if not given
        worst = worst_runs(runs, summary.head(MAX_TABLE_ROWS))
    table_html = _summary_html(summary, settings, worst if has_outcomes else None, folder)
    contents = [("figures", "Figures"), *[(a, q) for a, q, f in sections if f != key]]
    contents += [("best", "Best configurations")] if sentences else []
    contents += [("why", "Why runs failed")] if failures else []
    contents += [("summary", "All configurations"), ("spec", "Spec and metadata")]
    toc = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in contents)
    no_figures = (NO_FIGURES if len(summary) else NO_RUNS).format(folder=html.escape(str(folder)))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xorlab sweep {name}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em auto; max-width: 1400px; padding: 0 1em; color: #222; line-height: 1.4; }}
h1 {{ font-size: 1.4em; margin: 0.3em 0; }}
.headline {{ font-size: 1.1em; }}
img {{ max-width: 100%; height: auto; border: 1px solid #ddd; }}
figure {{ margin: 0.8em 0; }} figcaption {{ color: #555; font-size: 0.9em; }}
figure.key img {{ max-height: 55vh; }}
nav ul {{ columns: 2; font-size: 0.9em; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
.scroll {{ overflow: auto; max-width: 100%; max-height: 80vh; }}
th, td {{ border: 1px solid #ccc; padding: 3px 6px; text-align: right; white-space: nowrap; }}
th {{ background: #f3f3f3; position: sticky; top: 0; cursor: pointer; z-index: 1; }}
td:first-child, th:first-child {{ text-align: left; position: sticky; left: 0; background: #fff; z-index: 2; }}
th:first-child {{ background: #f3f3f3; z-index: 3; }}
pre {{ background: #f7f7f7; padding: 1em; overflow-x: auto; }}
code {{ overflow-wrap: anywhere; }}
</style></head><body>
<h1>Sweep <code>{name}</code></h1>
{'<p><a href="explorer.html"><b>Explore the configurations interactively</b></a> (hover, filter, brush; works offline)</p>' if len(summary) else ""}
<p class="headline"><strong>{html.escape(first_sentence or "")}</strong></p>
{matter_html}
{why_line}
{key_html}
<nav><b>Contents</b><ul>{toc}</ul></nav>
<p>{meta.get("runs_total", len(summary))} runs: {counts.get("ok", 0)} ok, {counts.get("diverged", 0)} diverged,
{counts.get("failed", 0)} failed. Fixed settings: {html.escape(", ".join(f"{k} = {v}" for k, v in fixed.items()))}.
Tables: {tables}</p>
<h2 id="figures">Figures</h2>{figure_html if figures else no_figures}
{f'<h2 id="best">Best configurations</h2><ul>{sentences}</ul>' if sentences else ""}
{failures}
<h2 id="summary">All configurations ({min(len(summary), MAX_TABLE_ROWS)} of {len(summary)}, best first; click a column to sort)</h2>
<div class="scroll">{table_html}</div>
<h2 id="spec">Resolved spec</h2><pre>{html.escape(_spec_text(folder))}</pre>
<h2>Run metadata</h2><pre>{html.escape(json.dumps(meta, indent=2))}</pre>
<script>{SORT_SCRIPT}</script>
</body></html>
"""


SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var up = th.dataset.order !== "up";
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.value ?? a.cells[column].textContent;
        var y = b.cells[column].dataset.value ?? b.cells[column].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
        return up ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      th.dataset.order = up ? "up" : "down";
    });
  });
});
"""

HEADERS = {  # summary.csv's columns as the page shows them (the CSV keeps its names)
    "epochs_to_solve_median": "epochs to solve (median)",
    "final_loss_median": "final loss (median)",
    "final_accuracy_mean": "final accuracy (mean)",
    "diverged": "diverged",
    "failed": "failed",
}


def _summary_html(
    summary: pd.DataFrame, settings: Sequence[str], worst: Sequence[str] | None, folder: Path
) -> str:
    """The sortable table of configurations: the settings first (sticky), the solve rate as
    k/n with its interval, readable headers, and each configuration's worst run (`worst`, in
    the summary's order) with its replay command."""
    shown = summary.head(MAX_TABLE_ROWS)
    solved, finished = solved_and_finished(shown)
    columns = [s for s in settings] or ["configuration"]
    header = [*columns, "solved", "95% interval", *HEADERS.values()]
    if worst is not None:
        header.append("worst run (replay it)")
    # built column by column (a row loop over thousands of configurations is slow)
    cells: list[list[str]] = []
    for column in columns:
        values = shown[column] if column in shown else pd.Series("all", index=shown.index)
        text = ["all" if column not in shown else format_value(v) for v in values]
        cells.append([f"<td>{html.escape(t)}</td>" for t in text])
    rates = shown["solve_rate"].fillna(0).to_numpy()
    cells.append(
        [
            f'<td data-value="{r:.6f}">{int(k)}/{int(n)}</td>'
            for r, k, n in zip(rates, solved, finished)
        ]
    )
    cells.append(
        [
            "<td></td>" if pd.isna(low) else f'<td data-value="{low:.6f}">{low:.2f}-{high:.2f}</td>'
            for low, high in zip(shown["solve_rate_low"], shown["solve_rate_high"])
        ]
    )
    for column in HEADERS:
        cells.append(
            [
                "<td></td>" if pd.isna(v) else f'<td data-value="{v}">{_number(v)}</td>'
                for v in shown[column]
            ]
        )
    if worst is not None:
        quoted = shlex.quote(str(folder))
        cells.append(
            [
                f"<td><code>{html.escape(f'python -m xorlab.replay {quoted} {w}')}</code></td>"
                for w in worst[: len(shown)]
            ]
        )
    rows = ["<tr>" + "".join(row) + "</tr>" for row in zip(*cells)]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _number(value: float) -> str:
    """A table cell: integers as integers (1800, not 1.8e+03), others to 3 significant digits."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3g}"


def _image(figure: str) -> str:
    """An img's source, declared at the figures' pixel density (DENSITY x): the browser shows
    it at 1/DENSITY of its pixels, sharp on a high-density screen. (No `src`: a browser takes
    one as the 1x candidate and shows the image at full size on an ordinary screen.)"""
    return f'srcset="figures/{html.escape(figure)} {DENSITY}x"'


def _caption(figure: str) -> tuple[str, str]:
    """(question, how to read it) of a figure file; basins-2.png continues basins.png."""
    first, dash, part = figure.removesuffix(".png").partition("-")
    if dash and f"{first}.png" in FIGURE_CAPTIONS:
        question, reading = FIGURE_CAPTIONS[f"{first}.png"]
        return f"{question} (part {part})", reading
    return FIGURE_CAPTIONS.get(figure, (figure, ""))


MAX_MAP_SENTENCES = 8


def _basins_html(basins: pd.DataFrame, settings: Sequence[str]) -> str:
    """What each map shows, in a sentence (the first MAX_MAP_SENTENCES maps; all of them are
    in basins.csv)."""
    keys = [s for s in settings if s in basins] + (["seed"] if basins["seed"].nunique() > 1 else [])
    items = []
    for _, row in basins.head(MAX_MAP_SENTENCES).iterrows():
        label = configuration_label(row, keys) if keys else ""
        items.append(f"<li>{html.escape(basins_sentence(row, label))}</li>")
    more = len(basins) - MAX_MAP_SENTENCES
    tail = f"<li>{more} more maps in basins.csv</li>" if more > 0 else ""
    return f"<p><b>What each map shows:</b></p><ul>{''.join(items)}{tail}</ul>"


def figure_order(names) -> list[str]:
    """The standard figures in reading order, then any others by name."""
    order = list(FIGURE_CAPTIONS)
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def _spec_text(folder: Path) -> str:
    path = folder / "spec.toml"
    return path.read_text() if path.exists() else ""
