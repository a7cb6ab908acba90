"""Figures and the report page of one results folder, drawn from its tables.

Used at the end of every sweep and by ``python -m xorlab.plot RESULTS_DIR``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from xorlab.analysis.basins import BASINS, basin_maps, basins_table, has_maps
from xorlab.analysis.importance import (
    TOP_PAIRS,
    effects,
    effects_and_marginals,
    importance_order,
    seeds_per_configuration,
    swept_settings,
    total_importance,
)
from xorlab.analysis.tables import MAX_CATEGORIES, decision_surfaces
from xorlab.errors import ResultsError
from xorlab.storage.folder import write_text, write_with
from xorlab.visualization.basins_plot import basins_figure, basins_figure_names
from xorlab.visualization.boundaries import decision_boundaries_figure
from xorlab.visualization.curves import (
    loss_bands,
    loss_curves_figure,
    seed_curves_figure,
    seed_points,
    seeds_figure,
)
from xorlab.visualization.drawing import FigureHelper, FigureMaker, write_figures
from xorlab.visualization.explorer import MAX_CONFIGURATIONS, PlotlyWriter, write_explorer
from xorlab.visualization.heatmap import heatmap_axes, heatmap_data, heatmap_figure, heatmap_layout
from xorlab.visualization.importance_plot import importance_figure
from xorlab.visualization.outcomes import outcome_figure, outcome_shares
from xorlab.visualization.page import (
    FIGURE_CAPTIONS,
    IMPORTANCE,
    MARGINALS,
    figure_order,
    report_html,
    worst_runs,
)
from xorlab.visualization.random_search import (
    parallel_coordinates_data,
    parallel_coordinates_figure,
    scatter_figure,
)
from xorlab.visualization.report import varying_settings
from xorlab.visualization.style import CurvesOf, other_swept

REPORT = "report.html"


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


def _heatmap_figure(runs: pd.DataFrame, layout, shares=None) -> Figure:
    return heatmap_figure(heatmap_data(runs, layout), layout, shares or {})


def _seeds_figure(runs: pd.DataFrame) -> Figure:
    return seeds_figure(seed_points(runs), other_swept(runs, ["activation", "hidden"]))


def _loss_figure(runs: pd.DataFrame, curves_of: CurvesOf) -> Figure:
    if not other_swept(runs, []):  # one configuration: every seed's curve, not "the best"
        return seed_curves_figure(runs, curves_of)
    return loss_curves_figure(runs, loss_bands(runs, curves_of))


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
    report.

    BLAS runs on one thread meanwhile: its matrices here are small, and its threads would
    wait for the core the helper uses (the importance fits took 10x longer at 60,000 runs);
    the numbers are then the same whoever calls this, the sweep or `plot`."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _render(folder, runs, summary, curves_of, spec, figures, meanwhile, fork)


def _render(
    folder: Path,
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    curves_of: CurvesOf,
    spec: dict,
    figures: bool,
    meanwhile: Callable[[], None] | None,
    fork: bool,
) -> list[Path]:
    figures_folder = folder / "figures"
    if figures_folder.exists() and not figures_folder.is_dir():
        raise ResultsError(f"{figures_folder} is a file; the figures need that name for a folder")
    drawing = figures and len(runs) > 0
    maps = maps_of(runs, spec, summary)
    early = figure_makers(runs, summary, curves_of, spec, early=True, maps=maps) if drawing else {}
    forked = {k: v for k, v in early.items() if k in HELPER_FIGURES} if fork else {}
    helper = FigureHelper.start(figures_folder, forked)
    # plotly.js compressed in a thread meanwhile (started after the fork: the helper gets no
    # copy of a thread's locks)
    plotly = PlotlyWriter(folder) if len(summary) else None
    try:
        written: list[Path] = []
        swept, sampled = _swept(spec, summary), _sampled(spec)
        importance = importance_tables(runs, swept, sampled) if len(runs) else None
        basins = basins_table(maps) if maps else None
        if basins is not None:
            write_with(folder / BASINS, lambda f: basins.to_csv(f, index=False))
            written.append(folder / BASINS)
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
        # the explorer and the page, while the helper draws (the page again only if one of
        # its figures failed); each configuration's worst run found once, for both
        worst = _worst(summary, runs)
        written += _explorer(folder, summary, spec, worst, plotly)
        promised = [figures_folder / name for name in forked] if helper else []
        page = _page(folder, summary, spec, written + promised, runs, importance, worst, basins)
        if helper:
            drawn = helper.written()
            written += drawn
            if drawn != promised:
                page = _page(folder, summary, spec, written, runs, importance, worst, basins)
    finally:
        if helper:
            helper.stop()
        if plotly:
            plotly.thread.join()  # the folder is not left while it writes
    stale = [figures_folder / name for name in FIGURE_CAPTIONS]
    stale += figures_folder.glob("basins*-*.png") if figures_folder.is_dir() else []
    for path in stale:  # a figure of other data never stays beside these tables
        if path not in written:
            path.unlink(missing_ok=True)
    if basins is None:
        (folder / BASINS).unlink(missing_ok=True)
    write_text(folder / REPORT, page)
    return written + [folder / REPORT]


def _worst(summary: pd.DataFrame, runs: pd.DataFrame) -> list[str] | None:
    """Each configuration's worst run, as far as the explorer shows them (None for a folder
    of 0.1: no outcomes)."""
    if not len(runs) or runs["outcome"].isna().all():
        return None
    return worst_runs(runs, summary.head(MAX_CONFIGURATIONS))


def _explorer(
    folder: Path,
    summary: pd.DataFrame,
    spec: dict,
    worst: list[str] | None,
    plotly: PlotlyWriter | None,
) -> list[Path]:
    """explorer.html (and plotly.js beside it, by `plotly`) for a sweep with finished runs."""
    if not len(summary) or plotly is None:
        return []
    settings = varying_settings(summary) or ["activation"]
    categorical = [s for s in settings if summary[s].nunique(dropna=False) <= MAX_CATEGORIES]
    axes = heatmap_axes(categorical, {s: summary[s].nunique(dropna=False) for s in categorical})
    name = str(spec.get("sweep", {}).get("name", folder.name))
    return write_explorer(folder, name, summary, settings, worst, axes, plotly)


# Drawn by the forked helper: the figures that read curves or retrain runs (the slowest),
# the seeds and those of a random search; this process computes the importance tables,
# writes the tables, draws the rest and the report meanwhile (about as long at 60,000 runs).
HELPER_FIGURES = (
    "loss_curves.png",
    "decision_boundaries.png",
    "seeds.png",
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
    worst: list[str] | None = None,
    basins: pd.DataFrame | None = None,
) -> str:
    """report.html's text, showing the figures among `written`."""
    figures = figure_order(p.name for p in written if p.parent == folder / "figures")
    return report_html(folder, summary, spec, figures, runs, importance, worst, basins)


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
    maps: list | None = None,
) -> dict[str, FigureMaker]:
    """Every figure of a results folder: file name -> a function that draws it (`importance`:
    the tables of `importance_tables`, if computed already). `early=True`: only those that
    do not need the importance tables; `early=False`: only those that do. `maps`: those of
    `maps_of`, if computed already."""
    makers: dict[str, FigureMaker] = {}
    params = spec.get("params", {})
    swept = _swept(spec, summary)
    sampled = _sampled(spec)
    if early is not False:
        log_scaled = [k for k in sampled if params[k].get("distribution", "").startswith("log")]
        settings = [s for s in varying_settings(summary) if s in swept] or swept
        makers |= figure_set(runs, curves_of, swept, sampled, log_scaled)
        makers["decision_boundaries.png"] = partial(_decision_figure, runs, summary, settings)
        if maps is None:
            maps = maps_of(runs, spec, summary)
        for name, (rows, part) in (basins_figure_names(len(maps)) if maps else {}).items():
            makers[name] = partial(basins_figure, maps, rows, part)
    if early is not True:
        if importance is None:
            importance = importance_tables(runs, swept, sampled)
        # settings ranked with their interactions: one in a strong interaction is not pooled
        shares = total_importance(importance[0]) if len(importance[0]) else {}
        order = importance_order(importance[0]) if len(importance[0]) else []
        layout = heatmap_layout(runs, _heatmap_settings(runs, swept, sampled), order)
        if layout is not None:
            makers["solve_rate_heatmap.png"] = partial(_heatmap_figure, runs, layout, shares)
        makers["importance.png"] = partial(importance_figure, *importance[:2])
        settings = [s for s in varying_settings(summary) if s in swept] or swept
        makers["outcomes.png"] = partial(_outcome_figure, runs, settings, importance[0])
    return makers


def maps_of(runs: pd.DataFrame, spec: dict, summary: pd.DataFrame) -> list:
    """The maps of a basins sweep (see xorlab.analysis.basins), one per configuration and
    seed; none for a sweep of another method."""
    if not has_maps(runs):
        return []
    return basin_maps(runs, [s for s in _swept(spec, summary) if s in runs], _grid(spec))


def _grid(spec: dict) -> tuple | None:
    """The offsets along x and y of the spec's [basins] table, or None (no such table, or one
    this release cannot read: then the maps show the offsets of their runs)."""
    from xorlab.search.maps import MAX_POINTS
    from xorlab.search.spaces import Map

    table = spec.get("basins")
    try:
        spans = table["span"] if isinstance(table["span"][0], list) else [table["span"]] * 2
        area = Map(table["x"], table["y"], tuple(spans[0]), tuple(spans[-1]), int(table["points"]))
        if not 2 <= area.points <= MAX_POINTS:
            return None
        return area.offsets_x, area.offsets_y
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def _outcome_figure(runs: pd.DataFrame, settings: list[str], table: pd.DataFrame | None = None):
    """How the runs of each configuration group ended (None for a folder of 0.1: no outcomes).
    `table`: the importance table, if computed already."""
    if runs["outcome"].isna().all():
        return None
    # grouped by the most important settings first (with their interactions), activation first
    if table is None:
        table = effects(runs, swept_settings(runs, settings))
    ranked = importance_order(table) if len(table) else []
    ordered = sorted(
        settings, key=lambda s: (s != "activation", ranked.index(s) if s in ranked else len(ranked))
    )
    shares, keys = outcome_shares(runs, ordered)
    return outcome_figure(shares, keys, [s for s in ordered if s not in keys])


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


def _decision_figure(runs: pd.DataFrame, summary: pd.DataFrame, settings: list[str]):
    """Retrain the top configurations' best and worst seeds, then draw what they learned."""
    surfaces = decision_surfaces(runs, summary, settings)
    return decision_boundaries_figure(surfaces) if len(surfaces) else None
