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
    probability, with the margins fixed, of a table no more likely than the one observed.

    The hypergeometric probabilities of every table of the margins come from the ratio of
    neighbouring ones, summed in log space: linear in the runs (exact binomials of 40,000 runs
    have tens of thousands of digits: a map's comparison took minutes)."""
    row1, row2, column1 = a + b, c + d, a + c
    low, high = max(0, column1 - row2), min(column1, row1)
    x = np.arange(low, high, dtype=np.float64)  # P(x + 1) / P(x), for x from low to high - 1
    log_ratio = np.log((row1 - x) * (column1 - x)) - np.log((x + 1) * (row2 - column1 + x + 1))
    log_p = np.concatenate([[0.0], np.cumsum(log_ratio)])
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    observed = p[a - low]
    # relative tolerance as in scipy: tables as likely as the observed one up to rounding count
    return min(1.0, float(p[p <= observed * (1 + 1e-7)].sum()))


def chi2_sf(statistic: float, df: int) -> float:
    """P(X >= statistic) for X chi-square with `df` degrees of freedom: the p-value of a
    chi-square test (the regularized upper incomplete gamma function Q(df/2, statistic/2), by
    its series below a + 1 and its continued fraction above, as in Numerical Recipes 6.2)."""
    if df <= 0 or not math.isfinite(statistic):
        return math.nan
    a, x = df / 2, max(statistic, 0.0) / 2
    if x == 0:
        return 1.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # series for the lower function P; Q = 1 - P
        term = total = 1 / a
        n = a
        while abs(term) > abs(total) * 1e-16:
            n += 1
            term *= x / n
            total += term
        return max(0.0, 1 - total * math.exp(log_prefix))
    tiny = 1e-300  # modified Lentz for the continued fraction of Q
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return min(1.0, math.exp(log_prefix) * h)
