"""Figures and the report page of one results folder, drawn from its tables.

Used at the end of every sweep and by ``python -m xorlab.plot RESULTS_DIR``.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from matplotlib.figure import Figure

from xorlab import interrupts
from xorlab.analysis.importance import (
    TOP_PAIRS,
    effects_and_marginals,
    importance_sentence,
    seeds_per_configuration,
    swept_settings,
)
from xorlab.analysis.tables import MAX_CATEGORIES, configuration_label, decision_surfaces
from xorlab.errors import ResultsError
from xorlab.storage.folder import write_text, write_with
from xorlab.training.config import SETTING_NAMES
from xorlab.visualization.boundaries import decision_boundaries_figure
from xorlab.visualization.curves import loss_bands, loss_curves_figure, seed_points, seeds_figure
from xorlab.visualization.heatmap import heatmap_data, heatmap_figure, heatmap_layout
from xorlab.visualization.importance_plot import importance_figure
from xorlab.visualization.outcomes import outcome_figure, outcome_shares
from xorlab.visualization.random_search import (
    parallel_coordinates_data,
    parallel_coordinates_figure,
    scatter_figure,
)
from xorlab.visualization.report import best_sentences, failure_sentences, varying_settings
from xorlab.visualization.style import DPI, PNG, CurvesOf, drawn

REPORT = "report.html"
IMPORTANCE = "importance.csv"
MARGINALS = "marginals.csv"
log = logging.getLogger(__name__)


FigureMaker = Callable[[], Figure | None]


def figure_set(
    runs: pd.DataFrame,
    curves_of: CurvesOf,
    swept: Sequence[str],
    sampled: Sequence[str] = (),
    log_scaled: Sequence[str] = (),
) -> dict[str, FigureMaker]:
    """The loss-curve, seed and (random search) per-setting figures of one sweep: file name
    -> a function that draws it (so that one failing figure cannot stop the others).
    `sampled` settings were drawn from distributions."""
    figures: dict[str, FigureMaker] = {}
    figures["loss_curves.png"] = partial(_loss_figure, runs, curves_of)
    figures["seeds.png"] = partial(_seeds_figure, runs)
    categorical = _categorical(runs, swept, sampled)
    continuous = [
        k
        for k in swept
        if k not in categorical and k != "activation" and pd.api.types.is_numeric_dtype(runs[k])
    ]
    if continuous:
        figures["settings_scatter.png"] = partial(scatter_figure, runs, continuous, log_scaled)
    if sampled:
        figures["parallel_coordinates.png"] = partial(
            _parallel_coordinates, runs, list(swept), log_scaled
        )
    return figures


def _categorical(runs: pd.DataFrame, swept: Sequence[str], sampled: Sequence[str]) -> list[str]:
    """Swept settings other than activation with few values on a grid (heatmap axes)."""
    return [
        k
        for k in swept
        if k not in sampled and k != "activation" and runs[k].nunique() <= MAX_CATEGORIES
    ]


def _heatmap_settings(
    runs: pd.DataFrame, swept: Sequence[str], sampled: Sequence[str]
) -> list[str]:
    categorical = _categorical(runs, swept, sampled)
    return [k for k in swept if k in categorical or k == "activation"]


def _parallel_coordinates(runs: pd.DataFrame, settings: list[str], log_scaled: Sequence[str]):
    return parallel_coordinates_figure(*parallel_coordinates_data(runs, settings, log_scaled))


def _heatmap_figure(runs: pd.DataFrame, layout) -> Figure:
    return heatmap_figure(heatmap_data(runs, layout), layout)


def _seeds_figure(runs: pd.DataFrame) -> Figure:
    return seeds_figure(seed_points(runs))


def _loss_figure(runs: pd.DataFrame, curves_of: CurvesOf) -> Figure:
    return loss_curves_figure(runs, loss_bands(runs, curves_of))


def _draw_and_save(path: Path, make: FigureMaker) -> Path | str:
    """Draw and save one figure; a figure that cannot be drawn is reported, not fatal (the
    tables are what matters, and they are written already)."""
    try:
        figure = drawn(make)
        if figure is None:  # nothing to show, e.g. no run finished
            path.unlink(missing_ok=True)
            return path
    except Exception as error:
        return f"could not draw {path.name}: {type(error).__name__}: {error}"
    try:
        write_with(path, lambda f: figure.savefig(f, format="png", dpi=DPI, pil_kwargs=PNG))
    except (OSError, ResultsError) as error:  # the disk or the folder, not the figure
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return WriteFailure(str(path), reason.removeprefix(f"cannot write {path}: "))
    return path


def write_figures(
    folder: Path, figures: dict[str, FigureMaker], meanwhile: Callable[[], None] | None = None
) -> list[Path]:
    """Draw and save figures as PNG into `folder`, each atomically, after calling `meanwhile`
    (if given). Returns the files written; figures that fail are logged as warnings."""
    folder.mkdir(exist_ok=True)
    if meanwhile:
        meanwhile()
    outcomes = []
    for name, make in figures.items():
        interrupts.raise_if_pressed()  # pressed while matplotlib was imported, say
        outcomes.append(_draw_and_save(folder / name, make))
    return _written(outcomes)


class WriteFailure(NamedTuple):
    """A figure drawn but not written (a full disk, a directory in its place)."""

    path: str
    reason: str


def _written(outcomes: list) -> list[Path]:
    """The files of `_draw_and_save`'s outcomes; a figure that could not be drawn is logged
    as a warning, one that could not be written is a ResultsError naming the file."""
    for failure in (o for o in outcomes if isinstance(o, WriteFailure)):
        raise ResultsError(f"cannot write {failure.path}: {failure.reason}")
    for problem in (o for o in outcomes if isinstance(o, str) and not isinstance(o, tuple)):
        log.warning(problem)
    return [o for o in outcomes if isinstance(o, Path) and o.exists()]


class FigureHelper:
    """A forked copy of this process that draws some figures while this one does the rest of
    the work: it has everything loaded and the tables in memory, so it starts at once (worker
    processes would first import pandas and matplotlib and get the runs table pickled). Ctrl-C
    is this process's: the helper ignores it and is stopped with it."""

    def __init__(self, process, receiver, tasks: list) -> None:
        self.process, self.receiver, self.tasks = process, receiver, tasks

    @classmethod
    def start(cls, folder: Path, figures: dict[str, FigureMaker]) -> FigureHelper | None:
        """A helper drawing `figures` into `folder`; None if there are none, or where
        processes cannot fork."""
        import multiprocessing

        if not figures or "fork" not in multiprocessing.get_all_start_methods():
            return None
        folder.mkdir(exist_ok=True)
        tasks = [(folder / name, make) for name, make in figures.items()]
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_helper_main, args=(tasks, sender, os.getpid()), daemon=True
        )
        process.start()
        sender.close()
        return cls(process, receiver, tasks)

    def written(self) -> list[Path]:
        """The files the helper wrote, once it is done; what it could not draw is logged."""
        try:
            outcomes = self.receiver.recv()
        except EOFError:  # the helper died without an answer
            outcomes = [f"could not draw {p.name}: the drawing process died" for p, _ in self.tasks]
        self.process.join()
        return _written(outcomes)

    def stop(self) -> None:
        if self.process.is_alive():  # interrupted: the helper goes too
            self.process.terminate()
        self.process.join()


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux); exit now if the
    parent is gone already."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)


def _helper_main(tasks: list, sender, parent: int) -> None:
    """The forked helper: draw, send back what was written (Ctrl-C is the parent's; the
    helper dies with its parent, even a parent killed with SIGKILL)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    sender.send([_draw_and_save(path, make) for path, make in tasks])


def render(
    folder: Path,
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    curves_of: CurvesOf,
    spec: dict,
    figures: bool = True,
    meanwhile: Callable[[], None] | None = None,
    fork: bool = False,
) -> list[Path]:
    """(Re)draw figures/ and report.html of a results folder; returns the files written.
    `meanwhile` (if given) is called in any case, before drawing. With `fork` (where the
    platform forks), a forked helper draws the `HELPER_FIGURES` from the start, while this
    process computes the importance tables, calls `meanwhile`, draws the rest and writes the
    report."""
    figures_folder = folder / "figures"
    if figures_folder.exists() and not figures_folder.is_dir():
        raise ResultsError(f"{figures_folder} is a file; the figures need that name for a folder")
    drawing = figures and len(runs) > 0
    early = figure_makers(runs, summary, curves_of, spec, early=True) if drawing else {}
    forked = {k: v for k, v in early.items() if k in HELPER_FIGURES} if fork else {}
    helper = FigureHelper.start(figures_folder, forked)
    try:
        written: list[Path] = []
        swept, sampled = _swept(spec, summary), _sampled(spec)
        importance = importance_tables(runs, swept, sampled) if len(runs) else None
        if importance is not None:
            table, values, _ = importance
            write_with(folder / IMPORTANCE, lambda f: table.to_csv(f, index=False))
            write_with(folder / MARGINALS, lambda f: values.to_csv(f, index=False))
            written += [folder / IMPORTANCE, folder / MARGINALS]
        if drawing:
            mine = figure_makers(runs, summary, curves_of, spec, importance, early=False)
            mine |= {k: v for k, v in early.items() if not (helper and k in forked)}
            written += write_figures(figures_folder, mine, meanwhile)
        elif meanwhile:
            meanwhile()
        # the page, while the helper draws: again only if one of its figures failed
        promised = [figures_folder / name for name in forked] if helper else []
        page = _page(folder, summary, spec, written + promised, runs, importance)
        if helper:
            drawn = helper.written()
            written += drawn
            if drawn != promised:
                page = _page(folder, summary, spec, written, runs, importance)
    finally:
        if helper:
            helper.stop()
    for name in FIGURE_CAPTIONS:  # a figure of other data never stays beside these tables
        if figures_folder / name not in written:
            (figures_folder / name).unlink(missing_ok=True)
    write_text(folder / REPORT, page)
    return written + [folder / REPORT]


# Drawn by the forked helper: the figures that read curves or retrain runs (the slowest),
# the outcomes and those of a random search; this process computes the importance tables,
# writes the tables, draws the rest and the report meanwhile (about as long at 60,000 runs).
HELPER_FIGURES = (
    "loss_curves.png",
    "decision_boundaries.png",
    "outcomes.png",
    "settings_scatter.png",
    "parallel_coordinates.png",
)


def _page(
    folder: Path,
    summary: pd.DataFrame,
    spec: dict,
    written: list[Path],
    runs: pd.DataFrame,
    importance: tuple | None,
) -> str:
    """report.html's text, showing the figures among `written`."""
    figures = _figure_order(p.name for p in written if p.parent == folder / "figures")
    return report_html(folder, summary, spec, figures, runs, importance)


def _swept(spec: dict, summary: pd.DataFrame) -> list[str]:
    """The swept settings: the spec's [params], or those that vary in the summary."""
    return list(spec.get("params", {})) or varying_settings(summary)


def figure_makers(
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    curves_of: CurvesOf,
    spec: dict,
    importance: tuple | None = None,
    early: bool | None = None,
) -> dict[str, FigureMaker]:
    """Every figure of a results folder: file name -> a function that draws it (`importance`:
    the tables of `importance_tables`, if computed already). `early=True`: only those that
    do not need the importance tables; `early=False`: only those that do."""
    makers: dict[str, FigureMaker] = {}
    params = spec.get("params", {})
    swept = _swept(spec, summary)
    sampled = _sampled(spec)
    if early is not False:
        log_scaled = [k for k in sampled if params[k].get("distribution", "").startswith("log")]
        settings = [s for s in varying_settings(summary) if s in swept] or swept
        makers |= figure_set(runs, curves_of, swept, sampled, log_scaled)
        makers["decision_boundaries.png"] = partial(_decision_figure, runs, summary, settings)
        makers["outcomes.png"] = partial(_outcome_figure, runs, settings)
    if early is not True:
        if importance is None:
            importance = importance_tables(runs, swept, sampled)
        main = importance[0][importance[0]["kind"] == "main"] if len(importance[0]) else None
        order = (
            main.sort_values("share", ascending=False)["effect"].tolist()
            if main is not None
            else []
        )
        layout = heatmap_layout(runs, _heatmap_settings(runs, swept, sampled), order)
        if layout is not None:
            makers["solve_rate_heatmap.png"] = partial(_heatmap_figure, runs, layout)
        makers["importance.png"] = partial(importance_figure, *importance[:2])
    return makers


def _outcome_figure(runs: pd.DataFrame, settings: list[str]):
    """How the runs of each configuration group ended (None for a folder of 0.1: no outcomes)."""
    if runs["outcome"].isna().all():
        return None
    ordered = sorted(settings, key=lambda s: (s != "activation", s != "hidden", s != "lr"))
    return outcome_figure(*outcome_shares(runs, ordered))


def importance_tables(
    runs: pd.DataFrame, swept: Sequence[str], sampled: Sequence[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The effects and marginals tables of the swept settings (`sampled` ones binned), and the
    seeds per configuration (see xorlab.analysis.importance)."""
    settings = swept_settings(runs, swept)
    # a random search's cells mix the other settings' values: its pairs would be confounded
    pairs = 0 if sampled else TOP_PAIRS
    return (
        *effects_and_marginals(runs, settings, sampled, pairs),
        seeds_per_configuration(runs, settings),
    )


def _sampled(spec: dict) -> list[str]:
    """The settings a random search drew from distributions."""
    return [k for k, v in spec.get("params", {}).items() if isinstance(v, dict)]


def worst_runs(runs: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Each configuration's worst run (highest final loss, unsolved first) for a replay, in
    the summary's order."""
    settings = list(SETTING_NAMES)
    # the runs of those configurations only (a merge keeps the runs' order: ties stay in it)
    these = runs.merge(summary[settings].assign(_order=range(len(summary))), on=settings)
    ranked = these.assign(_rank=these["final_loss"].fillna(float("inf")) + ~these["solved"] * 1e300)
    worst = ranked.sort_values("_rank", kind="stable").groupby("_order").tail(1)
    return worst.sort_values("_order")["run_id"].tolist()


def _decision_figure(runs: pd.DataFrame, summary: pd.DataFrame, settings: list[str]):
    """Retrain the top configurations' best and worst seeds, then draw what they learned."""
    surfaces = decision_surfaces(runs, summary, settings)
    return decision_boundaries_figure(surfaces) if len(surfaces) else None


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
<p>{meta.get("runs_total", len(summary))} runs: {counts.get("ok", 0)} ok, {counts.get("diverged", 0)} diverged,
{counts.get("failed", 0)} failed. Fixed settings: {html.escape(", ".join(f"{k} = {v}" for k, v in fixed.items()))}.</p>
{matter_html}
<h2>Best configurations</h2><ul>{sentences}</ul>
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


def _figure_order(names) -> list[str]:
    """The standard figures in reading order, then any others by name."""
    order = list(FIGURE_CAPTIONS)
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def _spec_text(folder: Path) -> str:
    path = folder / "spec.toml"
    return path.read_text() if path.exists() else ""
