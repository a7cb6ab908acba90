"""Which settings matter: the solve rate at each value of every swept setting, and how much of
the variation in solve rate between configurations each setting and each pair explains.

The decomposition is a functional ANOVA of the solved/unsolved outcome over the grid of swept
values (Hooker 2007; Hutter et al. 2014 use it for hyperparameter importance): a setting's main
effect is the variation of its marginal solve rates, a pair's interaction what their joint
solve rates vary beyond both main effects, each as a share of the variance of the
configurations' solve rates. Cells are weighted by their runs, which on a grid (every cell the
same seeds) is the textbook uniform weighting. A random search is decomposed over binned values
(quantiles) of its continuous settings.

Where the settings are not crossed (a conditional setting such as `init_scale`, which `xavier`
and `he` lack; a random search's unequal bins) the effects are not orthogonal, and shares of
separately computed effects would overlap (0.3 showed 114% on sweeps/init.toml). So the effects
are entered in turn, as sequential (type I) sums of squares of a weighted least-squares fit:
the main effects, strongest alone first, then the strongest pairs, each credited with what it
explains beyond those before it, with the degrees of freedom it adds (only level combinations
that exist count). On a crossed grid this is the orthogonal decomposition above; on every sweep
the shares and the rest add up to 1, each >= 0.

Seeds are few in most sweeps, so every effect comes with the Pearson chi-square test of "the
setting does not change the solve rate": with 3 seeds, shares of a third of the variation can be
noise, and the tables and the report's sentence say so.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from xorlab.analysis.stats import chi2_sf, wilson_interval
from xorlab.analysis.tables import MAX_CATEGORIES
from xorlab.training.config import SETTINGS, format_value

BINS = 5  # quantile bins of a numeric setting with more than MAX_CATEGORIES values
TOP_PAIRS = 3  # interactions kept: the strongest
ALPHA = 0.05  # below this p-value an effect is reported as real
REST_WORTH_SAYING = 0.1  # the sentence names the unexplained share from this on
EFFECT_COLUMNS = ["effect", "kind", "levels", "share", "chi2", "df", "p_value", "real"]
MARGINAL_COLUMNS = [
    "setting",
    "value",
    "position",
    "runs",
    "solved",
    "solve_rate",
    "solve_rate_low",
    "solve_rate_high",
]


def swept_settings(runs: pd.DataFrame, swept: Sequence[str] = ()) -> list[str]:
    """The settings that vary between the runs (those of `swept` first, if given), in the
    settings registry's order."""
    varying = [s for s in SETTINGS if s in runs and runs[s].nunique(dropna=False) > 1]
    chosen = [s for s in varying if s in swept]
    return chosen or varying


def level_labels(values: pd.Series, binned: bool = False) -> tuple[pd.Series, list[str]]:
    """Each run's level of a setting as text, and the levels in order: its values ('-' where
    it does not apply), or BINS quantile bins of a numeric setting with more than MAX_CATEGORIES
    values, or more than BINS if `binned` (a setting a random search sampled)."""
    present = values.dropna()
    many = present.nunique() > (BINS if binned else MAX_CATEGORIES)
    if pd.api.types.is_numeric_dtype(present) and many:
        bins = pd.qcut(present.astype(float), BINS, duplicates="drop")
        # named by the values each bin holds: qcut's own edges reach below the lowest value
        spans = present.astype(float).groupby(bins, observed=False).agg(["min", "max"]).dropna()
        labels = spans.index  # the bins that hold values (qcut's edges can leave one empty)
        for digits in (2, 3, 4, 6, 17):  # 17 digits write any float exactly: labels at last
            text = [_bin_label(low, high, digits) for low, high in spans.to_numpy()]
            if len(set(text)) == len(text) and None not in text:
                break
        mapping = dict(zip(labels, text))
        out = pd.Series("-", index=values.index, dtype=object)
        out[present.index] = bins.map(mapping).astype(object)
        return out, text + (["-"] if values.isna().any() else [])
    ordered = sorted(present.unique().tolist())
    text = [format_value(v) for v in ordered]
    out = values.map(dict(zip(ordered, text))).astype(object).where(values.notna(), "-")
    return out, text + (["-"] if values.isna().any() else [])


def _bin_label(low: float, high: float, digits: int) -> str | None:
    """'low-high' to `digits` significant digits, rounded inwards (None if the ends meet or
    cross), or the one value of a bin that holds one (None if `digits` cannot write it
    exactly). At 17 digits every float is written exactly, as Python writes it."""

    def written(value: float) -> str:
        return repr(float(value)) if digits >= 17 else f"{value:.{digits}g}"

    if low == high:  # a bin of one value: named by it ("2", not "2.0-2.0")
        text = written(low).removesuffix(".0")
        return text if float(text) == low else None
    first, last = _round(low, digits, up=True), _round(high, digits, up=False)
    return f"{written(first)}-{written(last)}" if first < last else None


def _round(value: float, digits: int, up: bool) -> float:
    """`value` rounded to `digits` significant digits towards the inside of a bin: up for its
    lower end, down for its upper end, so a label never reaches past the values it holds."""
    if float(f"{value:.{digits}g}") == value:  # 0, inf, and 1.0002 (not 1.00019)
        return float(value)
    step = 10.0 ** (np.floor(np.log10(abs(value))) - digits + 1)
    rounded = (np.ceil if up else np.floor)(value / step) * step
    text = float(f"{rounded:.{digits}g}")  # the number as printed
    if (up and text < value) or (not up and text > value):
        return float(value)
    return text


def _cells(runs: pd.DataFrame, settings: Sequence[str], binned: Sequence[str] = ()):
    """The finished runs collapsed to one row per combination of the settings' levels (text,
    see `level_labels`), with its `runs` and how many `solved`; and each setting's levels in
    order. Everything below is computed from these few rows, weighted by their runs."""
    finished = runs[runs["status"] != "failed"]
    labels, orders = {}, {}
    for setting in settings:
        labels[setting], orders[setting] = level_labels(finished[setting], setting in binned)
    frame = pd.DataFrame(labels, index=finished.index)
    frame["solved"] = finished["solved"].astype(int)
    if not settings:
        return frame.assign(runs=1), orders
    cells = frame.groupby(list(settings), sort=False).agg(
        runs=("solved", "size"), solved=("solved", "sum")
    )
    return cells.reset_index(), orders


def marginals(
    runs: pd.DataFrame, settings: Sequence[str], binned: Sequence[str] = ()
) -> pd.DataFrame:
    """For every setting and value: the finished runs, how many solved, and the solve rate
    with its 95% Wilson interval, marginalised over every other setting. Columns:
    MARGINAL_COLUMNS (`position` orders a setting's values)."""
    return _marginals(*_cells(runs, settings, binned), settings)


def _marginals(cells: pd.DataFrame, orders: dict, settings: Sequence[str]) -> pd.DataFrame:
    rows = []
    for setting in settings:
        counts = cells.groupby(setting)[["runs", "solved"]].sum()
        for position, value in enumerate(orders[setting]):
            if value in counts.index:
                n, k = counts.loc[value]
                rows.append((setting, value, position, int(n), int(k)))
    table = pd.DataFrame(rows, columns=MARGINAL_COLUMNS[:5])
    table["solve_rate"] = table["solved"] / table["runs"]
    low, high = wilson_interval(table["solved"].to_numpy(), table["runs"].to_numpy())
    table["solve_rate_low"], table["solve_rate_high"] = low, high
    return table[MARGINAL_COLUMNS]


def effects(
    runs: pd.DataFrame,
    settings: Sequence[str],
    binned: Sequence[str] = (),
    pairs: int = TOP_PAIRS,
) -> pd.DataFrame:
    """The functional ANOVA of solved over the settings (see the module's docstring): one row
    per main effect, the `pairs` strongest pairwise interactions, and the rest (higher-order
    interactions and seed noise), strongest first within each kind. Columns: EFFECT_COLUMNS;
    `share` is of the variance of the configurations' solve rates, `chi2`/`df`/`p_value` test
    "no effect", `real` is p < ALPHA. Empty when every run ended alike. The shares and the
    rest add up to 1 on every sweep: see the module's docstring."""
    return _effects(_cells(runs, settings, binned)[0], settings, pairs)


def effects_and_marginals(
    runs: pd.DataFrame,
    settings: Sequence[str],
    binned: Sequence[str] = (),
    pairs: int = TOP_PAIRS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`effects(...)` and `marginals(...)`, from one collapse of the runs to cells."""
    cells, orders = _cells(runs, settings, binned)
    return _effects(cells, settings, pairs), _marginals(cells, orders, settings)


def _effects(cells: pd.DataFrame, settings: Sequence[str], pairs: int) -> pd.DataFrame:
    if not settings:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    weight = cells["runs"].to_numpy(dtype=float)
    n = int(weight.sum())
    if not n:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    fit = _Fit(cells["solved"].to_numpy(float) / weight, weight)
    if fit.total <= 0:  # every configuration solves as often: nothing to explain
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    mean = cells["solved"].sum() / n
    noise = mean * (1 - mean)

    def columns(keys: list[str]) -> np.ndarray:  # one indicator column per level combination
        codes = cells.groupby(keys, sort=False).ngroup().to_numpy()
        indicators = np.zeros((len(cells), codes.max() + 1))
        indicators[np.arange(len(cells)), codes] = 1.0
        return indicators

    def row(effect, kind, keys, explained, rank) -> list:
        levels = cells.groupby(keys).ngroups
        return _row(effect, kind, levels, explained, fit.total, n, noise, rank)

    # main effects, strongest alone first, each with what it explains beyond those before it
    alone = {s: fit.explained([columns([s])])[0] for s in settings}
    order = sorted(settings, key=lambda s: -alone[s])
    rows, design, explained, rank = [], [], 0.0, 1
    for setting in order:
        design.append(columns([setting]))
        now, now_rank = fit.explained(design)
        rows.append(row(setting, "main", [setting], now - explained, now_rank - rank))
        explained, rank = now, now_rank
    # interactions: each pair beyond every main effect; the strongest `pairs`, in turn
    beyond = {
        pair: fit.explained([*design, columns(list(pair))])[0] - explained
        for pair in itertools.combinations(settings, 2)
    }
    for pair in sorted(beyond, key=lambda p: -beyond[p])[:pairs]:
        if beyond[pair] <= fit.total * 1e-12:
            break
        design.append(columns(list(pair)))
        now, now_rank = fit.explained(design)
        effect = f"{pair[0]} x {pair[1]}"
        rows.append(row(effect, "interaction", list(pair), now - explained, now_rank - rank))
        explained, rank = now, now_rank
    table = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    table = table.sort_values(["kind", "share"], ascending=[False, False], kind="stable")
    rest = max(0.0, 1 - explained / fit.total)
    table.loc[len(table)] = ["rest", "rest", np.nan, rest, np.nan, np.nan, np.nan, False]
    return table.astype({"levels": "Int64", "df": "Int64"}).reset_index(drop=True)


class _Fit:
    """Weighted least squares of the cells' solve rates on indicator columns: what a set of
    effects explains of the run-weighted variance between configurations, and its rank (the
    degrees of freedom, counting only the level combinations that exist)."""

    def __init__(self, rate: np.ndarray, weight: np.ndarray) -> None:
        self.root = np.sqrt(weight / weight.sum())
        self.rate = rate
        self.mean = float((weight * rate).sum() / weight.sum())
        self.total = float(((self.root * (rate - self.mean)) ** 2).sum())

    def explained(self, blocks: list[np.ndarray]) -> tuple[float, int]:
        design = np.column_stack([np.ones(len(self.rate)), *blocks]) * self.root[:, None]
        coef, _, rank, _ = np.linalg.lstsq(design, self.rate * self.root, rcond=None)
        fitted = design @ coef / self.root
        return float(((self.root * (fitted - self.mean)) ** 2).sum()), int(rank)


def _row(effect, kind, levels, variance, total, n, noise, df) -> list:
    """One effect: its share of the between-configuration variance, and Pearson's chi-square
    (n * variance / (p (1 - p)), exact for a main effect's k x 2 table) with its p-value."""
    statistic = n * variance / noise
    p_value = chi2_sf(statistic, df) if df > 0 else np.nan
    return [effect, kind, levels, variance / total, statistic, df, p_value, bool(p_value < ALPHA)]


def total_importance(table: pd.DataFrame) -> dict[str, float]:
    """Each setting's share with its interactions: its main effect plus every interaction it
    is in (a setting in a strong interaction with a weak main effect still matters)."""
    totals: dict[str, float] = {}
    for _, row in table[table["kind"] != "rest"].iterrows():
        for setting in str(row["effect"]).split(" x "):
            totals[setting] = totals.get(setting, 0.0) + float(row["share"])
    return totals


def importance_order(table: pd.DataFrame) -> list[str]:
    """The settings, most important first by `total_importance` (what the heatmap keeps as
    panels before it pools any)."""
    shares = total_importance(table)
    return sorted(shares, key=lambda s: -shares[s])


def seeds_per_configuration(runs: pd.DataFrame, settings: Sequence[str]) -> int:
    """The median number of runs per configuration (their seeds)."""
    if not settings:
        return len(runs)
    return int(runs.groupby(list(settings), dropna=False).size().median())


def importance_sentence(table: pd.DataFrame, seeds: int) -> str | None:
    """The report's opening sentence: which settings explain the variation in solve rate
    (main effects, then interactions), and which are within seed noise."""
    if table.empty:
        return None
    named = table[table["kind"] != "rest"].sort_values("share", ascending=False, kind="stable")
    per = f"{seeds} seed{'s' if seeds != 1 else ''} per configuration"
    real_main = named[named["real"] & (named["kind"] == "main")]
    real_pairs = named[named["real"] & (named["kind"] == "interaction")]
    noise = named[~named["real"] & (named["kind"] == "main")]
    if real_main.empty and real_pairs.empty:
        top = named.iloc[0]
        return (
            f"No setting's effect on the solve rate stands out from seed noise with {per} "
            f"(the largest, {top['effect']}, explains {top['share']:.0%} of the variation "
            f"between configurations, p = {top['p_value']:.2g}); more seeds would tell."
        )
    mains = [f"{row['effect']} {row['share']:.0%}" for _, row in real_main.iterrows()]
    if mains:
        first, share = mains[0].rsplit(" ", 1)
        sentence = f"{first} explains {share} of the variation in solve rate between configurations"
        sentence += "".join(f", {m}" for m in mains[1:])
    else:
        sentence = "No setting alone changes the solve rate beyond seed noise"
    if len(real_pairs):
        pairs = ", ".join(f"{row['effect']} {row['share']:.0%}" for _, row in real_pairs.iterrows())
        sentence += f"; together, beyond their own effects: {pairs}"
    rest = table.loc[table["kind"] == "rest", "share"]
    if len(rest) and rest.iloc[0] >= REST_WORTH_SAYING:
        sentence += (
            f"; {rest.iloc[0]:.0%} is explained by none of these (seed noise and"
            " interactions of three or more settings)"
        )
    sentence += "."
    if len(noise):
        listed = ", ".join(
            f"{row['effect']} ({row['share']:.0%}, p = {row['p_value']:.2g})"
            for _, row in noise.head(3).iterrows()
        )
        sentence += f" Within seed noise with {per}: {listed}."
    return sentence
