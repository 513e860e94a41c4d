"""The significance tests behind version comparisons, on inputs with known answers."""

from __future__ import annotations

import math

import pytest

from agentledger.analytics.kpi_attribution import (
    TwoSampleTest,
    VersionComparison,
    compare_rates,
    compare_samples,
)


def test_rates_match_the_two_proportion_z_test() -> None:
    result = compare_rates(1000, 600, 1000, 650)
    pooled = 1250 / 2000
    z = 0.05 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    p_two_sided = math.erfc(z / math.sqrt(2))
    assert result.test == "chi-square"
    assert result.statistic == pytest.approx(z**2)
    assert result.p_value == pytest.approx(p_two_sided)
    assert result.difference == pytest.approx(0.05)
    se = math.sqrt(0.6 * 0.4 / 1000 + 0.65 * 0.35 / 1000)
    assert (result.ci_low, result.ci_high) == (
        pytest.approx(0.05 - 1.959964 * se),
        pytest.approx(0.05 + 1.959964 * se),
    )
    assert result.effect_size == pytest.approx(
        2 * math.asin(math.sqrt(0.65)) - 2 * math.asin(math.sqrt(0.6))
    )


def test_small_counts_use_fishers_exact_test() -> None:
    result = compare_rates(10, 1, 10, 8)
    assert result.test == "fisher-exact"
    assert result.p_value == pytest.approx(0.005477, rel=1e-3)


def test_rates_without_any_variation_are_not_significant() -> None:
    assert compare_rates(50, 50, 40, 40).p_value == 1.0
    with pytest.raises(ValueError, match="successes"):
        compare_rates(10, 11, 10, 1)


def test_samples_use_mann_whitney_and_the_rank_biserial_sign_says_who_is_higher() -> None:
    low, high = [1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]
    result = compare_samples(low, high)
    assert result.test == "mann-whitney-u" and result.statistic == 16.0
    assert result.effect_size == 1.0  # every B value above every A value
    assert result.difference == pytest.approx(4.0)
    assert compare_samples(high, low).effect_size == -1.0
    with pytest.raises(ValueError, match="at least two"):
        compare_samples([1.0], high)


def _comparison(kind: str, p: float, difference: float) -> VersionComparison:
    result = TwoSampleTest("chi-square", 1.0, p, difference, 0.01, 0.07, 0.1, "cohens_h")
    return VersionComparison(
        "resolved",
        "support",
        "v1",
        "v2",
        kind,
        500,
        520,
        0.62,
        0.66,
        result,
        0.05,
        0.95,
        False,  # type: ignore[arg-type]
    )


def test_the_summary_reads_as_a_sentence() -> None:
    raised = _comparison("rate", 0.0123, 0.04)
    assert raised.summary() == (
        "v2 raised resolved rate by 4.0 points vs v1 of support (62.0% -> 66.0%), p=0.012,"
        " 95% CI 1.0 to 7.0 points (chi-square)"
    )
    assert raised.as_dict()["significant"] is True
    flat = _comparison("rate", 0.4, 0.04)
    assert flat.summary().startswith("No significant difference in resolved rate between v1")
    assert "p<0.001" in _comparison("continuous", 1e-9, -0.3).summary()
    assert "lowered resolved by 0.3 on average" in _comparison("continuous", 1e-9, -0.3).summary()
