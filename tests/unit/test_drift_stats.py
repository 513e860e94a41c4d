"""Drift metrics from binned summaries agree with scipy and numpy on the raw samples: exactly when
every distinct value has a bin of its own, within histogram error on the 1,000-quantile grid the
store builds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial import distance

from agentledger.analytics.drift_stats import (
    PSI_BINS,
    PSI_FLOOR,
    BinnedWindow,
    categorical_drift,
    ks_pvalue,
    numeric_drift,
    psi,
)

Floats = NDArray[np.float64]


def binned(reference: Floats, current: Floats, levels: int | None) -> list[BinnedWindow]:
    """What the store's query returns: bins starting at -inf and at the quantiles of each window
    (``levels`` of them; None: at every distinct value), with count, sum, min and max."""
    if levels is None:
        edges = np.unique(np.concatenate([reference, current]))
    else:
        grid = np.arange(1, levels) / levels
        edges = np.unique(
            np.concatenate([np.quantile(reference, grid), np.quantile(current, grid)])
        )
    edges = np.concatenate([[-np.inf], edges])
    windows = []
    for values in (reference, current):
        index = np.searchsorted(edges, values, side="right") - 1
        lows = np.full(len(edges), np.inf)
        highs = np.full(len(edges), -np.inf)
        np.minimum.at(lows, index, values)
        np.maximum.at(highs, index, values)
        counts = np.bincount(index, minlength=len(edges))
        windows.append(
            BinnedWindow(
                counts=counts,
                sums=np.bincount(index, weights=values, minlength=len(edges)),
                lows=np.where(counts > 0, lows, 0.0),
                highs=np.where(counts > 0, highs, 0.0),
            )
        )
    return windows


def decile_psi_js(reference: Floats, current: Floats) -> tuple[float, float]:
    """PSI and Jensen-Shannon on the reference deciles, straight from the raw samples."""
    edges = np.unique(np.quantile(reference, np.arange(1, PSI_BINS) / PSI_BINS))
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    p, q = ref / ref.sum(), cur / cur.sum()
    js = float(distance.jensenshannon(p, q))
    p, q = np.where(p == 0, PSI_FLOOR, p), np.where(q == 0, PSI_FLOOR, q)
    return float(np.sum((q - p) * np.log(q / p))), js


samples = st.lists(
    st.one_of(
        st.integers(-20, 20).map(float),
        st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    ),
    min_size=2,
    max_size=300,
).map(lambda values: np.array(values, dtype=np.float64))


@settings(max_examples=200, deadline=None)
@given(samples, samples)
def test_one_bin_per_distinct_value_gives_scipys_ks_and_wasserstein(
    reference: Floats, current: Floats
) -> None:
    ref, cur = binned(reference, current, None)
    drift = numeric_drift(ref, cur)
    expected = stats.ks_2samp(reference, current, method="asymp")
    assert drift.ks_statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert drift.ks_pvalue == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert drift.wasserstein == pytest.approx(
        stats.wasserstein_distance(reference, current), rel=1e-9, abs=1e-9
    )


@settings(max_examples=200, deadline=None)
@given(samples, st.data())
def test_psi_and_js_are_numpys_when_current_values_occur_in_the_reference(
    reference: Floats, data: st.DataObject
) -> None:
    """Then every current value sits on the same side of each decile edge in both computations
    (most discrete features: a value seen now was seen before)."""
    picks = data.draw(st.lists(st.integers(0, len(reference) - 1), min_size=2, max_size=300))
    current = reference[picks]
    ref, cur = binned(reference, current, None)
    drift = numeric_drift(ref, cur)
    expected_psi, expected_js = decile_psi_js(reference, current)
    assert drift.psi == pytest.approx(expected_psi, rel=1e-9, abs=1e-12)
    assert drift.js == pytest.approx(expected_js, rel=1e-9, abs=1e-12)


CONTINUOUS = {
    "normal, shifted": lambda rng: (rng.normal(0, 1, 20_000), rng.normal(0.3, 1.2, 15_000)),
    "lognormal, heavy tail": lambda rng: (
        rng.lognormal(0, 1, 20_000),
        rng.lognormal(0.1, 1.1, 20_000),
    ),
    "exponential, no shift": lambda rng: (rng.exponential(2, 30_000), rng.exponential(2, 5_000)),
    "bimodal against unimodal": lambda rng: (
        np.concatenate([rng.normal(-2, 0.5, 10_000), rng.normal(2, 0.5, 10_000)]),
        rng.normal(0, 2, 10_000),
    ),
}


@pytest.mark.parametrize("case", sorted(CONTINUOUS))
def test_on_the_quantile_grid_metrics_stay_within_histogram_error(case: str) -> None:
    reference, current = CONTINUOUS[case](np.random.default_rng(7))
    ref, cur = binned(reference, current, 1000)
    drift = numeric_drift(ref, cur)
    expected = stats.ks_2samp(reference, current, method="asymp")
    # KS is off by at most the largest share of either window in one bin.
    bin_share = max((ref.counts / ref.n).max(), (cur.counts / cur.n).max())
    assert abs(drift.ks_statistic - expected.statistic) <= bin_share
    wasserstein = stats.wasserstein_distance(reference, current)
    assert drift.wasserstein == pytest.approx(wasserstein, rel=0.01, abs=1e-3)
    expected_psi, expected_js = decile_psi_js(reference, current)
    assert drift.psi == pytest.approx(expected_psi, rel=0.05, abs=2e-3)
    assert drift.js == pytest.approx(expected_js, rel=0.05, abs=2e-3)


def test_a_coarse_grid_still_bounds_ks_and_keeps_wasserstein_close() -> None:
    rng = np.random.default_rng(3)
    reference, current = rng.lognormal(0, 1, 5_000), rng.lognormal(0.1, 1, 5_000)
    ref, cur = binned(reference, current, 50)
    drift = numeric_drift(ref, cur)
    expected = stats.ks_2samp(reference, current)
    bin_share = max((ref.counts / ref.n).max(), (cur.counts / cur.n).max())
    assert abs(drift.ks_statistic - expected.statistic) <= bin_share
    wasserstein = stats.wasserstein_distance(reference, current)
    assert drift.wasserstein == pytest.approx(wasserstein, rel=0.05)


def test_windows_apart_are_maximally_drifted() -> None:
    reference, current = np.arange(100.0), np.arange(1000.0, 1100.0)
    drift = numeric_drift(*binned(reference, current, None))
    assert drift.ks_statistic == 1.0
    assert drift.wasserstein == pytest.approx(1000.0)
    # Every current observation lands in the top reference decile (open-ended, as in numpy).
    expected_psi, expected_js = decile_psi_js(reference, current)
    assert (drift.psi, drift.js) == pytest.approx((expected_psi, expected_js))
    assert drift.psi > 5
    assert drift.js > 0.7


def test_categorical_drift_matches_scipy_on_counts() -> None:
    rng = np.random.default_rng(11)
    categories = np.array(["approve", "deny", "escalate", "refer"])
    reference = rng.choice(categories, 4_000, p=[0.6, 0.25, 0.1, 0.05])
    current = rng.choice(categories[:3], 3_000, p=[0.45, 0.25, 0.3])
    ref = np.array([(reference == c).sum() for c in categories])
    cur = np.array([(current == c).sum() for c in categories])
    drift = categorical_drift(ref, cur)
    expected = stats.chi2_contingency(np.vstack([ref, cur]))
    assert drift.chi2 == pytest.approx(expected.statistic)
    assert drift.chi2_pvalue == pytest.approx(expected.pvalue)
    p, q = ref / ref.sum(), cur / cur.sum()
    q = np.where(q == 0, PSI_FLOOR, q)
    assert drift.psi == pytest.approx(np.sum((q - p) * np.log(q / p)))
    assert drift.js == pytest.approx(distance.jensenshannon(ref / ref.sum(), cur / cur.sum()))
    assert drift.chi2_pvalue < 1e-10


def test_one_category_in_both_windows_is_no_evidence_of_drift() -> None:
    drift = categorical_drift(np.array([50, 0]), np.array([70, 0]))
    assert (drift.chi2, drift.chi2_pvalue, drift.psi, drift.js) == (0.0, 1.0, 0.0, 0.0)


def test_psi_of_identical_shares_is_zero_and_grows_with_the_shift() -> None:
    same = np.array([10, 20, 30])
    assert psi(same, same * 3) == pytest.approx(0.0)
    assert psi(same, np.array([20, 20, 20])) < psi(same, np.array([50, 10, 0]))


def test_ks_pvalue_is_scipys_asymptotic_one() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 1, 700), rng.normal(0.1, 1, 900)
    expected = stats.ks_2samp(a, b, method="asymp")
    assert ks_pvalue(expected.statistic, 700, 900) == pytest.approx(expected.pvalue, rel=1e-12)


def test_windows_on_different_bins_or_empty_are_refused() -> None:
    window = BinnedWindow(np.array([1, 2]), np.zeros(2), np.zeros(2), np.zeros(2))
    other = BinnedWindow(np.array([1, 2, 3]), np.zeros(3), np.zeros(3), np.zeros(3))
    empty = BinnedWindow(np.array([0, 0]), np.zeros(2), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="same bins"):
        numeric_drift(window, other)
    with pytest.raises(ValueError, match="both windows"):
        numeric_drift(window, empty)
    with pytest.raises(ValueError, match="same categories"):
        categorical_drift(np.array([1, 2]), np.array([1, 2, 3]))
