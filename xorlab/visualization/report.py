"""Plain-text (and HTML) views of a sweep's summary for people."""

from __future__ import annotations

import pandas as pd

from xorlab.training.config import SETTING_NAMES, format_value


def varying_settings(summary: pd.DataFrame) -> list[str]:
    """Settings that differ between configurations (the swept ones)."""
    return [s for s in SETTING_NAMES if s in summary and summary[s].nunique() > 1]


def best_table(summary: pd.DataFrame, n: int = 5) -> str:
    """The top configurations as an aligned text table."""
    settings = varying_settings(summary)
    top = summary.head(n)
    table = pd.DataFrame({s: top[s].map(format_value) for s in settings})
    finished = top["n_seeds"] - top["failed"]
    table["solved"] = [
        f"{round(r * f)}/{f}" if f else "-" for r, f in zip(top["solve_rate"].fillna(0), finished)
    ]
    table["solve_rate_95%"] = [
        "-" if pd.isna(lo) else f"{lo:.2f}-{hi:.2f}"
        for lo, hi in zip(top["solve_rate_low"], top["solve_rate_high"])
    ]
    table["epochs_to_solve"] = top["epochs_to_solve_median"].map(
        lambda v: "-" if pd.isna(v) else f"{v:.0f}"
    )
    table["final_loss"] = top["final_loss_median"].map(lambda v: f"{v:.3g}")
    return f"best {len(top)} of {len(summary)} configurations:\n" + table.to_string(index=False)


def best_sentences(summary: pd.DataFrame, limit: int = 4) -> list[str]:
    """Plain sentences such as 'tanh with hidden = 4, lr = 1 solved XOR on 10/10 seeds ...'."""
    settings = varying_settings(summary)
    finished = summary["n_seeds"] - summary["failed"]
    solved = (summary["solve_rate"].fillna(0) * finished).round().astype(int)
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
        also = f"; {len(ties) - 1} other configuration(s) did as well" if len(ties) > 1 else ""
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


OUTCOME_WORDS = {  # outcome -> (what the runs did, what would likely help)
    "diverged": ("blew up (NaN/inf, a huge loss or huge weights)", "a smaller lr would help"),
    "incomplete_data": (
        "were trained on samples that lack one of the 4 XOR patterns",
        "more samples would help",
    ),
    "noise_limited": (
        "learned XOR on the clean patterns, but cannot fit every noisy sample",
        "less noise would let them count as solved",
    ),
    "capacity": (
        "have fewer than 2 hidden units, which cannot represent XOR",
        "hidden >= 2 is needed",
    ),
    "dead_units": (
        "ended with fewer than 2 live relu units",
        "more hidden units, a smaller lr or another activation would help",
    ),
    "linear": (
        "collapsed to an affine function (no relu unit bends on the data)",
        "another seed, a smaller lr or another init would help",
    ),
    "saturated": (
        "ended with their hidden units saturated",
        "a smaller lr or init_scale would help",
    ),
    "plateau": (
        "are still on the chance plateau",
        "more epochs, a larger lr or a larger init_scale would help",
    ),
    "local_minimum": (
        "stopped in a local minimum with patterns wrong",
        "another seed, more hidden units or momentum would help",
    ),
    "saddle": (
        "sit on a saddle with two patterns merged",
        "more epochs may free them (about half of such runs solve by 10x the epochs); "
        "momentum or a larger lr leaves saddles sooner",
    ),
    "oscillating": ("ended oscillating", "a smaller lr would help"),
    "slow": ("were still improving when training stopped", "more epochs would help"),
    "other": ("ended unsolved for no reason xorlab recognizes", ""),
}


def failure_sentences(runs: pd.DataFrame, summary: pd.DataFrame, limit: int = 6) -> list[str]:
    """Why runs failed, in words: for the configurations with the most unsolved runs, what most
    of them did and what would likely help, e.g. "sigmoid, hidden 4, lr 0.1: 10/10 runs are
    still on the chance plateau after 3000 epochs (and still improving slowly): more epochs, a
    larger lr or a larger init_scale would help"."""
    from xorlab.analysis.tables import configuration_label, same_configuration
    from xorlab.training.diagnosis import FAILURES

    settings = varying_settings(summary)
    counts = summary[[f"outcome_{name}" for name in FAILURES]]
    failing = summary.assign(_failures=counts.sum(axis=1))
    failing = failing[failing["_failures"] > 0].sort_values("_failures", ascending=False)
    failed = runs[runs["outcome"].isin(FAILURES)]  # fewer runs to match a row's settings to
    sentences = []
    for _, row in failing.head(limit).iterrows():
        outcome = counts.loc[row.name].idxmax().removeprefix("outcome_")
        what, helps = OUTCOME_WORDS[outcome]
        these = failed[same_configuration(failed, row) & (failed["outcome"] == outcome)]
        label = configuration_label(row, settings) or "every run"
        detail = f" after {int(row['epochs'])} epochs"
        if outcome == "plateau" and (these["loss_change"] < 0).mean() > 0.5:
            detail += " (and still improving slowly)"
        sentences.append(
            f"{label}: {int(counts.loc[row.name].max())}/{int(row['n_seeds'])} runs {what}"
            f"{detail}" + (f": {helps}." if helps else ".")
        )
    return sentences
