"""Robust z-scores and severities, and the budget forecast's arithmetic."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from agentledger.analytics.anomalies import robust_z, severity
from agentledger.analytics.budgets import forecast_spend, period_bounds


def test_robust_z_uses_median_and_mad() -> None:
    baseline = [10.0, 11.0, 12.0, 13.0, 100.0]  # one outlier barely moves median and MAD
    z, median = robust_z(20.0, baseline)
    assert median == 12.0
    assert z == pytest.approx((20.0 - 12.0) / (1.4826 * 1.0))


def test_a_flat_baseline_is_floored_not_infinite() -> None:
    z, median = robust_z(130.0, [100.0] * 7)
    assert (median, z) == (100.0, pytest.approx(30.0 / 5.0))  # 5% of the median
    assert robust_z(0.05, [0.0] * 7, floor=0.02)[0] == pytest.approx(2.5)
    assert robust_z(1.0, [0.0, 0.0])[0] == math.inf
    with pytest.raises(ValueError, match="at least one"):
        robust_z(1.0, [])


@pytest.mark.parametrize(
    ("z", "both_ways", "expected"),
    [
        (3.4, True, None),
        (3.5, True, "info"),
        (-6.0, True, "warning"),
        (-6.0, False, None),
        (8.0, False, "critical"),
        (math.inf, False, "critical"),
    ],
)
def test_severity_thresholds(z: float, both_ways: bool, expected: str | None) -> None:
    assert severity(z, both_ways) == expected


def test_forecast_adds_the_recent_rate_over_what_is_left() -> None:
    assert forecast_spend(10.0, 24.0, 86_400, 43_200) == pytest.approx(22.0)
    assert forecast_spend(10.0, 5.0, 0, 43_200) == 10.0
    assert forecast_spend(10.0, 5.0, 3_600, -5) == 10.0


def test_periods_are_utc_days_and_months() -> None:
    moment = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert period_bounds("day", moment) == (
        datetime(2025, 12, 31, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert period_bounds("month", moment) == (
        datetime(2025, 12, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert period_bounds("month", datetime(2024, 2, 29, 5, tzinfo=UTC))[1] == datetime(
        2024, 3, 1, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="period must be one of"):
        period_bounds("week", moment)  # type: ignore[arg-type]
