"""Plain-text (and HTML) views of a sweep's summary for people."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xorlab.analysis.stats import wilson_interval
from xorlab.analysis.tables import configuration_label, same_configuration, solved_and_finished
from xorlab.training.config import SETTING_NAMES, format_value
from xorlab.training.diagnosis import FAILURES


def varying_settings(summary: pd.DataFrame) -> list[str]:
    """Settings that differ between configurations (the swept ones)."""
    return [s for s in SETTING_NAMES if s in summary and summary[s].nunique() > 1]


def best_table(summary: pd.DataFrame, n: int = 5) -> str:
    """The top configurations as an aligned text table."""
    settings = varying_settings(summary)
    top = summary.head(n)
    table = pd.DataFrame({s: top[s].map(format_value) for s in settings})
    solved, finished = solved_and_finished(top)
    table["solved"] = [f"{k}/{f}" if f else "-" for k, f in zip(solved, finished)]
    table["solve_rate_95%"] = [
        "-" if pd.isna(lo) else f"{lo:.2f}-{hi:.2f}"
        for lo, hi in zip(top["solve_rate_low"], top["solve_rate_high"])
    ]
    table["epochs_to_solve"] = top["epochs_to_solve_median"].map(
        lambda v: "-" if pd.isna(v) else f"{v:.0f}"
    )
    table["final_loss"] = top["final_loss_median"].map(lambda v: f"{v:.3g}")
    return f"best {len(top)} of {len(summary)} configurations:\n" + table.to_string(index=False)


def headline(summary: pd.DataFrame) -> str | None:
    """The report's first sentence: how many configurations solve XOR on every seed and the
    best with its interval, or that none solved; and how many configurations cannot be told
    apart from the best at this many seeds (their Wilson intervals overlap its)."""

    if summary.empty:
        return None
    solved, finished = solved_and_finished(summary)
    epochs = summary["epochs"].dropna()
    within = f" in {format_value(epochs.max())} epochs" if len(epochs) else ""
    if not (solved > 0).any():
        return (
            f"No configuration solved XOR{within}: 0 of {int(finished.sum())} runs "
            f"of {len(summary)} configuration{'s' if len(summary) != 1 else ''}."
        )
    settings = varying_settings(summary)
    best = summary.iloc[0]
    label = configuration_label(best, settings) or "the configuration"
    always = int(((solved == finished) & (finished > 0)).sum())
    text = (
        f"{always} of {len(summary)} configurations solved XOR on every seed{within}. "
        f"Best: {label}, {solved.iloc[0]}/{finished.iloc[0]} seeds "
        f"(95% interval {best['solve_rate_low']:.2f}-{best['solve_rate_high']:.2f})."
    )
    overlap = summary.index[1:][summary["solve_rate_high"].iloc[1:] >= best["solve_rate_low"]]
    if len(overlap):
        seeds = int(finished.iloc[0])
        text += (
            f" {len(overlap)} other configuration{'s' if len(overlap) != 1 else ''} cannot be "
            f"told apart from it with {seeds} seed{'s' if seeds != 1 else ''} (their intervals "
            "overlap)"
        )
        lower = summary.loc[overlap, "solve_rate"]
        lower = lower[lower < best["solve_rate"]]
        needed = _seeds_to_separate(best["solve_rate"], lower.max()) if len(lower) else None
        if needed:
            text += f"; about {needed} seeds each would separate the best from the next rate"
        elif not len(lower):
            text += "; they solved as often: epochs to solve, then the loss, rank them"
        text += "."
    return text


def _seeds_to_separate(high: float, low: float, limit: int = 100_000) -> int | None:
    """The seeds per configuration at which solve rates `high` and `low`, if they held, would
    have Wilson intervals that no longer overlap (None past `limit`)."""

    seeds = 2
    while seeds <= limit:
        top, bottom = wilson_interval(
            np.array([high * seeds, low * seeds]), np.array([seeds, seeds])
        )
        if top[0] > bottom[1]:
            return seeds
        seeds = int(seeds * 1.25) + 1
    return None


def best_sentences(summary: pd.DataFrame, limit: int = 4) -> list[str]:
    """Plain sentences such as 'tanh with hidden = 4, lr = 1 solved XOR on 10/10 seeds ...'."""
    settings = varying_settings(summary)
    solved, finished = solved_and_finished(summary)
    sentences = []
    for activation, rows in summary.assign(_solved=solved, _finished=finished).groupby(
        "activation", sort=False
    ):
        best = rows.iloc[0]
        others = [s for s in settings if s != "activation"]
        ties = rows[(rows["solve_rate"] == best["solve_rate"])]
        detail = ", ".join(f"{s} = {format_value(best[s])}" for s in others)
        speed = (
            ""
            if pd.isna(best["epochs_to_solve_median"])
            else f" (median {best['epochs_to_solve_median']:.0f} epochs)"
        )
        also = (
            f"; {len(ties) - 1} other {activation} configuration{'s' if len(ties) > 2 else ''}"
            " solved as often"
            if len(ties) > 1
            else ""
        )
        if best["_solved"] == 0 and best["_finished"] > 0:
            if solved.sum():  # (none solving at all is the headline's to say)
                sentences.append(f"{activation}: no configuration solved XOR.")
            continue
        if best["_finished"] == 0:  # sorted last: every configuration of it failed
            sentences.append(
                f"{activation}: every run failed ({int(best['n_seeds'])} of the best "
                "configuration); see the error column of runs.csv."
            )
            continue
        sentences.append(
            f"{activation} with {detail or 'these settings'} solved XOR on "
            f"{best['_solved']}/{best['_finished']} seeds{speed}{also}."
        )
        if len(sentences) >= limit:
            break
    return sentences


# outcome -> (what the runs did, what could help: (setting, advice) pairs; a setting the
# sweep swept is left to its own evidence, and advice the configuration already follows is
# dropped)
OUTCOME_WORDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "diverged": ("blew up (NaN/inf, a huge loss or huge weights)", (("lr", "a smaller lr"),)),
    "incomplete_data": (
        "were trained on samples that lack one of the 4 XOR patterns",
        (("samples", "more samples"),),
    ),
    "noise_limited": (
        "learned XOR on the clean patterns, but cannot fit every noisy sample",
        (("noise", "less noise"),),
    ),
    "capacity": (
        "have fewer than 2 hidden units, which cannot represent XOR",
        (("hidden", "hidden >= 2"),),
    ),
    "dead_units": (
        "ended with fewer than 2 live relu units",
        (
            ("hidden", "more hidden units"),
            ("lr", "a smaller lr"),
            ("activation", "another activation"),
        ),
    ),
    "linear": (
        "collapsed to an affine function (no relu unit bends on the data)",
        (("init", "another init"), ("lr", "a smaller lr")),
    ),
    "oscillating": ("ended oscillating", (("lr", "a smaller lr"),)),
    "saturated": (
        "ended with their hidden units saturated",
        (("lr", "a smaller lr"), ("init_scale", "a smaller init_scale")),
    ),
    "plateau": (
        "are still on the chance plateau",
        (("epochs", "more epochs"), ("lr", "a larger lr"), ("init_scale", "a larger init_scale")),
    ),
    "local_minimum": (
        "stopped in a local minimum with patterns wrong",
        (("hidden", "more hidden units"), ("optimizer", "momentum")),
    ),
    "slow": ("were still improving when training stopped", (("epochs", "more epochs"),)),
    "saddle": (
        "sit on a saddle with two patterns merged",
        (("epochs", "more epochs"), ("optimizer", "momentum"), ("lr", "a larger lr")),
    ),
    "other": ("ended unsolved for no reason xorlab recognizes", ()),
}


def _advice(outcome: str, row: pd.Series, swept: Sequence[str]) -> str:
    """What could help a configuration whose runs ended in `outcome`, among the settings the
    sweep did not sweep, and not what the configuration already has."""
    helps = []
    for setting, text in OUTCOME_WORDS[outcome][1]:
        if setting in swept:
            continue
        if text == "momentum" and row.get("optimizer") in ("momentum", "nesterov", "adam"):
            continue
        if text == "more hidden units" and row.get("hidden", 0) >= 16:
            continue
        helps.append(text)
    if not helps:
        return ""
    return (", ".join(helps[:-1]) + " or " if len(helps) > 1 else "") + helps[-1] + " may help"


def _better_neighbour(row: pd.Series, summary: pd.DataFrame, swept: Sequence[str]) -> str:
    """The sweep's own evidence: the best configuration that differs from `row` in one swept
    setting and solves more often, e.g. 'lr = 1 solves 10/10 with the same hidden and
    activation'; empty if none does."""
    solved, finished = solved_and_finished(summary)
    rate = summary["solve_rate"].fillna(0)
    mine = rate.loc[row.name]
    best_text, best_rate = "", mine
    for setting in swept:
        same = np.ones(len(summary), bool)
        for other in swept:
            if other != setting:
                column, value = summary[other], row[other]
                same &= (column.isna() if pd.isna(value) else column == value).to_numpy(bool)
        candidates = summary[same & (rate > best_rate).to_numpy()]
        if len(candidates):
            top = candidates.index[0]  # the summary's order: best first
            others = [o for o in swept if o != setting]
            kept = f" with the same {', '.join(others)}" if others else ""
            best_rate = rate.loc[top]
            best_text = (
                f"{setting} = {format_value(summary.loc[top, setting])} solves "
                f"{solved.loc[top]}/{finished.loc[top]}{kept}"
            )
    return best_text


def failure_sentences(runs: pd.DataFrame, summary: pd.DataFrame, limit: int = 6) -> list[str]:
    """Why runs failed, in words. When nothing solved: the reasons once, with their counts,
    and what to try for the commonest. Otherwise, for the configurations with the most
    unsolved runs: what most of them did and what the sweep's own evidence says would help
    (a swept value that did better with the other settings the same), else advice on
    settings the sweep did not sweep, e.g. "sigmoid, hidden 2, lr 10: 10/10 runs ended
    oscillating after 3000 epochs: lr = 1 solves 10/10 with the same hidden, activation"."""

    settings = varying_settings(summary)
    counts = summary[[f"outcome_{name}" for name in FAILURES]]
    solved, _ = solved_and_finished(summary)
    epochs = summary["epochs"].dropna()
    after = f" after {format_value(epochs.max())} epochs" if len(epochs) else ""
    if counts.to_numpy().sum() == 0:
        return []
    if not solved.any():  # every run failed: the reasons once, with their counts
        totals = counts.sum().sort_values(ascending=False, kind="stable")
        totals = totals[totals > 0]
        reasons = ", ".join(
            f"{int(n)} {OUTCOME_WORDS[c.removeprefix('outcome_')][0]}" for c, n in totals.items()
        )
        sentences = [f"Of {int(totals.sum())} runs{after}: {reasons}."]
        for column in totals.index[:3]:
            outcome = column.removeprefix("outcome_")
            these = summary[counts[column] > 0]
            helps = _advice(outcome, these.iloc[0], settings)
            if helps:
                sentences.append(f"For the {int(totals[column])} {outcome} runs: {helps}.")
        return sentences
    failing = summary.assign(_failures=counts.sum(axis=1))
    failing = failing[failing["_failures"] > 0].sort_values(
        "_failures", ascending=False, kind="stable"
    )
    failed = runs[runs["outcome"].isin(FAILURES)]  # fewer runs to match a row's settings to
    grouped: dict[tuple[str, str], list[tuple[str, int, int]]] = {}
    for _, row in failing.head(limit).iterrows():
        outcome = counts.loc[row.name].idxmax().removeprefix("outcome_")
        detail = after
        if outcome == "plateau":
            these = failed[same_configuration(failed, row) & (failed["outcome"] == outcome)]
            if (these["loss_change"] < 0).mean() > 0.5:
                detail += " (and still improving slowly)"
        helps = _better_neighbour(row, summary, settings) or _advice(outcome, row, settings)
        label = configuration_label(row, settings) or "every run"
        text = f"{OUTCOME_WORDS[outcome][0]}{detail}" + (f": {helps}" if helps else "")
        grouped.setdefault((text, outcome), []).append(
            (label, int(counts.loc[row.name].max()), int(row["n_seeds"]))
        )
    sentences = []
    for (text, _), members in grouped.items():
        if len(members) == 1:
            label, k, n = members[0]
            sentences.append(f"{label}: {k}/{n} runs {text}.")
        else:
            labels = "; ".join(label for label, _, _ in members)
            k, n = sum(m[1] for m in members), sum(m[2] for m in members)
            sentences.append(f"{labels}: {k}/{n} runs {text}.")
    return sentences
