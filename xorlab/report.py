"""Plain-text (and HTML) views of a sweep's summary for people."""

from __future__ import annotations

import pandas as pd

from xorlab.config import SETTING_NAMES, format_value


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
