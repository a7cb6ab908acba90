"""The statistics xorlab reports: the Wilson interval of a solve rate, Fisher's exact test."""

from __future__ import annotations

import math

import numpy as np

Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson_interval(
    successes: np.ndarray, n: np.ndarray, z: float = Z_95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion k/n (95% by default): NaN where n = 0.

    Always low <= k/n <= high, exactly 0 at k = 0 and 1 at k = n (the closed forms lose the
    last bit there, which would put the rate outside its own interval)."""
    n = np.asarray(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        denominator = 1 + z**2 / n
        center = (p + z**2 / (2 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    # the rate bounds its own interval: this also makes 0/n and n/n exact
    low = np.where(n > 0, np.maximum(np.minimum(center - half, p), 0.0), np.nan)
    high = np.where(n > 0, np.minimum(np.maximum(center + half, p), 1.0), np.nan)
    return low, high


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test for the 2x2 table [[a, b], [c, d]]: the
    probability, with the margins fixed, of a table no more likely than the one observed."""
    row1, row2, column1 = a + b, c + d, a + c
    total = math.comb(row1 + row2, column1)

    def probability(x: int) -> float:
        return math.comb(row1, x) * math.comb(row2, column1 - x) / total

    observed = probability(a)
    support = range(max(0, column1 - row2), min(column1, row1) + 1)
    # relative tolerance as in scipy: tables as likely as the observed one up to rounding count
    return min(1.0, sum(p for p in map(probability, support) if p <= observed * (1 + 1e-7)))
