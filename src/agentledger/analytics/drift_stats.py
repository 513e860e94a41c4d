"""Drift metrics from the small summaries ClickHouse returns, never from raw samples.

A numeric window arrives as a fine histogram on bins shared by both windows: per bin the count,
the sum, and the smallest and largest value in it. Inside a bin the empirical CDF is modelled as a
step of one observation at the smallest and at the largest value, and the others spread evenly
over the widest interval around their mean that fits in the bin. So a bin of one distinct value is
exact (most discrete features are then exact), KS is off by at most a bin's share of the data, and
Wasserstein-1 is exact wherever the two CDFs do not cross inside a bin (the mean is kept). PSI and
Jensen-Shannon compare the reference deciles, rebuilt from the fine bins. Categorical windows
arrive as counts per category.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial import distance

__all__ = [
    "PSI_BINS",
    "PSI_FLOOR",
    "BinnedWindow",
    "CategoricalDrift",
    "NumericDrift",
    "categorical_drift",
    "jensen_shannon",
    "ks_pvalue",
    "numeric_drift",
    "psi",
]

PSI_BINS = 10
"""Numeric PSI and Jensen-Shannon compare the windows on the reference deciles."""

PSI_FLOOR = 1e-4
"""An empty bin counts as this share in PSI, which is otherwise infinite (as Evidently does)."""

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class BinnedWindow:
    """One window's fine histogram; bins are disjoint and in ascending order, and aligned with the
    other window's (a bin may be empty in one of them; its ``lows``/``highs`` are then unused)."""

    counts: NDArray[np.int64]
    sums: Floats
    lows: Floats
    highs: Floats

    @property
    def n(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True)
class NumericDrift:
    psi: float
    js: float
    ks_statistic: float
    ks_pvalue: float
    wasserstein: float


@dataclass(frozen=True)
class CategoricalDrift:
    psi: float
    js: float
    chi2: float
    chi2_pvalue: float


def numeric_drift(reference: BinnedWindow, current: BinnedWindow) -> NumericDrift:
    """All numeric metrics for two non-empty windows binned on the same bins."""
    if reference.counts.shape != current.counts.shape:
        raise ValueError("both windows must be binned on the same bins")
    if reference.n == 0 or current.n == 0:
        raise ValueError("numeric drift needs observations in both windows")
    starts = _decile_starts(reference.counts)
    ref_coarse = np.add.reduceat(reference.counts, starts)
    cur_coarse = np.add.reduceat(current.counts, starts)
    ks, wasserstein = _ks_and_wasserstein(reference, current)
    return NumericDrift(
        psi=psi(ref_coarse, cur_coarse),
        js=jensen_shannon(ref_coarse, cur_coarse),
        ks_statistic=ks,
        ks_pvalue=ks_pvalue(ks, reference.n, current.n),
        wasserstein=wasserstein,
    )


def categorical_drift(reference: NDArray[np.int64], current: NDArray[np.int64]) -> CategoricalDrift:
    """PSI, Jensen-Shannon and the chi-square test of homogeneity on counts per category (the
    same categories, in the same order, in both arrays)."""
    if reference.shape != current.shape:
        raise ValueError("both windows must count the same categories")
    if reference.sum() == 0 or current.sum() == 0:
        raise ValueError("categorical drift needs observations in both windows")
    seen = (reference + current) > 0
    table = np.vstack([reference[seen], current[seen]])
    if table.shape[1] < 2:
        chi2, pvalue = 0.0, 1.0
    else:
        result = stats.chi2_contingency(table)
        chi2, pvalue = float(result.statistic), float(result.pvalue)
    return CategoricalDrift(
        psi=psi(reference, current),
        js=jensen_shannon(reference, current),
        chi2=chi2,
        chi2_pvalue=pvalue,
    )


def psi(reference: NDArray[np.int64], current: NDArray[np.int64]) -> float:
    """Population stability index of two count vectors over the same bins."""
    ref = _floored_shares(reference)
    cur = _floored_shares(current)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def jensen_shannon(reference: NDArray[np.int64], current: NDArray[np.int64]) -> float:
    """Jensen-Shannon distance (natural log, so at most sqrt(ln 2)) of two count vectors."""
    return float(distance.jensenshannon(reference / reference.sum(), current / current.sum()))


def ks_pvalue(statistic: float, n_reference: int, n_current: int) -> float:
    """Two-sided two-sample KS p-value, Smirnov's asymptotic form as scipy's ``ks_2samp`` computes
    it for large samples (``method="asymp"``)."""
    big, small = sorted((float(n_reference), float(n_current)), reverse=True)
    effective = max(1.0, np.round(big * small / (big + small)))  # scipy gives NaN for 1 and 1
    return float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))


def _floored_shares(counts: NDArray[np.int64]) -> Floats:
    shares = counts / counts.sum()
    return np.where(shares == 0, PSI_FLOOR, shares)


def _decile_starts(counts: NDArray[np.int64]) -> NDArray[np.intp]:
    """First fine bin of each reference-decile bin. ``np.quantile`` (linear) puts the k/10 edge at
    sorted position (n-1)k/10, so the first value at or above it is number ceil((n-1)k/10) (from
    0); the fine bin holding that value starts the coarse bin. Ties share a start."""
    total = int(counts.sum())
    first_above = -((-(total - 1) * np.arange(1, PSI_BINS)) // PSI_BINS)
    holding = np.searchsorted(np.cumsum(counts), first_above + 1, side="left")
    return np.unique(np.concatenate([[0], holding]))


def _ks_and_wasserstein(reference: BinnedWindow, current: BinnedWindow) -> tuple[float, float]:
    """Sup and integral of |F_ref - F_cur| over piecewise-linear CDFs: both are linear between the
    union of their knots, so the sup is at a knot (either side of a step) and the integral is a
    sum of exact integrals of |linear| pieces."""
    ref_x, ref_left, ref_right = _cdf_knots(reference)
    cur_x, cur_left, cur_right = _cdf_knots(current)
    xs = np.union1d(ref_x, cur_x)
    ref_l, ref_r = _cdf_at(xs, ref_x, ref_left, ref_right)
    cur_l, cur_r = _cdf_at(xs, cur_x, cur_left, cur_right)
    left = ref_l - cur_l
    right = ref_r - cur_r
    ks = float(max(np.abs(left).max(), np.abs(right).max()))
    start, end = right[:-1], left[1:]
    width = np.diff(xs)
    same_sign = start * end >= 0
    magnitude = np.abs(start) + np.abs(end)
    crossing = np.divide(
        start**2 + end**2, 2 * magnitude, out=np.zeros_like(magnitude), where=magnitude > 0
    )
    area = np.where(same_sign, magnitude / 2, crossing)
    return ks, float(np.sum(width * area))


def _cdf_knots(window: BinnedWindow) -> tuple[Floats, Floats, Floats]:
    """Knots of a window's CDF (as shares of its total): x, the CDF just left of x and at x."""
    used = window.counts > 0
    counts = window.counts[used].astype(np.float64)
    lows, highs, sums = window.lows[used], window.highs[used], window.sums[used]
    before = np.concatenate([[0.0], np.cumsum(counts)[:-1]])
    spread = highs > lows
    inner = np.maximum(counts - 2, 0)
    mean = np.clip(
        np.divide(sums - lows - highs, inner, out=(lows + highs) / 2, where=inner > 0), lows, highs
    )
    half = np.minimum(mean - lows, highs - mean)
    # One distinct value: a single step. Otherwise a step at each end and the rest in between.
    x = np.concatenate([lows, mean - half, mean + half, highs])
    left = np.concatenate([before, before + 1, before + counts - 1, before + counts - 1])
    low_right = np.where(spread, before + 1, before + counts)
    right = np.concatenate([low_right, before + 1, before + counts - 1, before + counts])
    keep = np.concatenate([np.ones_like(spread), spread, spread, spread])
    x, left, right = x[keep], left[keep], right[keep]
    order = np.lexsort((left, x))
    x, left, right = x[order], left[order], right[order]
    # Knots that coincide (the interior reaching an end) merge: the CDF is monotone, so the
    # merged knot's left limit is the smallest and its right limit the largest.
    firsts = np.flatnonzero(np.concatenate([[True], x[1:] != x[:-1]]))
    total = counts.sum()
    return (
        x[firsts],
        np.minimum.reduceat(left, firsts) / total,
        np.maximum.reduceat(right, firsts) / total,
    )


def _cdf_at(xs: Floats, knots: Floats, left: Floats, right: Floats) -> tuple[Floats, Floats]:
    """The piecewise-linear CDF's left and right limits at each of ``xs``."""
    index = np.searchsorted(knots, xs, side="left")
    inside = np.clip(index, 0, len(knots) - 1)
    on_knot = knots[inside] == xs
    before = np.clip(index - 1, 0, len(knots) - 1)
    after = inside
    span = knots[after] - knots[before]
    fraction = np.divide(xs - knots[before], span, out=np.zeros_like(xs), where=span > 0)
    between = right[before] + (left[after] - right[before]) * fraction
    between = np.where(index == 0, 0.0, np.where(index == len(knots), 1.0, between))
    return np.where(on_knot, left[inside], between), np.where(on_knot, right[inside], between)
