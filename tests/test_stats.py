"""The statistics against independent sources: scipy, published values, and their own laws."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from xorlab.analysis.stats import fisher_exact, wilson_interval


def test_wilson_interval_holds_its_rate_for_every_count_up_to_1000() -> None:
    n = np.concatenate([np.full(size + 1, size) for size in range(1, 1001)])
    k = np.concatenate([np.arange(size + 1) for size in range(1, 1001)])
    low, high = wilson_interval(k, n)
    rate = k / n
    assert (low <= rate).all() and (rate <= high).all()
    assert (low[k == 0] == 0).all() and (high[k == n] == 1).all()
    assert (0 < low[k > 0]).all() and (high[k < n] < 1).all()


@pytest.mark.parametrize(
    "k, n", [(10, 10), (0, 11), (6, 6), (3, 7), (1, 2), (50, 100), (997, 1000)]
)
def test_wilson_interval_matches_scipy(k: int, n: int) -> None:
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(np.array([k]), np.array([n]))
    assert low[0] == pytest.approx(expected.low, abs=1e-12)
    assert high[0] == pytest.approx(expected.high, abs=1e-12)


def test_wilson_interval_published_value_and_no_runs() -> None:
    low, high = wilson_interval(np.array([10, 0]), np.array([10, 0]))
    assert round(low[0], 4) == 0.7225 and high[0] == 1.0  # Wilson (1927) 10/10 at 95%
    assert np.isnan(low[1]) and np.isnan(high[1])


@pytest.mark.parametrize(
    "table", [(3, 7, 9, 1), (0, 10, 10, 0), (5, 5, 5, 5), (1, 0, 0, 1), (0, 0, 3, 4), (2, 8, 0, 10)]
)
def test_fisher_exact_matches_scipy(table) -> None:
    expected = stats.fisher_exact([[table[0], table[1]], [table[2], table[3]]]).pvalue
    assert fisher_exact(*table) == pytest.approx(expected, rel=1e-9)


def test_fisher_exact_matches_scipy_on_every_small_table() -> None:
    tables = [(a, b, c, d) for a in range(6) for b in range(6) for c in range(6) for d in range(6)]
    for table in tables:
        expected = stats.fisher_exact([[table[0], table[1]], [table[2], table[3]]]).pvalue
        assert fisher_exact(*table) == pytest.approx(expected, rel=1e-9, abs=1e-15), table


@pytest.mark.parametrize(
    "table",
    [(18798, 21603, 37966, 2435), (500_000, 500_000, 499_000, 501_000), (0, 40_000, 1, 39_999)],
)
def test_fisher_exact_matches_scipy_on_large_tables(table) -> None:
    """Two maps of 40,401 points (exact binomials of that size took minutes per row)."""
    expected = stats.fisher_exact([[table[0], table[1]], [table[2], table[3]]]).pvalue
    assert fisher_exact(*table) == pytest.approx(expected, rel=1e-6, abs=1e-300)
