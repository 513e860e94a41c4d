"""Spend budgets per tenant and/or agent per UTC day or month, with a forecast of the period's
spend and an alert before the budget is crossed.

Spend is read from the cost rollups, which the cost job keeps current for today too, so the
budget job costs a few small reads; run it after the cost job. The forecast adds the recent
spend rate over what is left of the period: the rate over yesterday and today so far for daily
budgets, over the last 7 days for monthly ones. The recent rate, rather than the period's average
so far, follows a change in spend within a day and does not extrapolate a quiet night.

The job writes one ``anomalies`` row (kind ``budget``) per budget and period when the forecast
reaches the budget (``warning``) and another when the spend itself does (``critical``); runs
after that write nothing more until the next period, whose start resolves the old alerts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal, cast, get_args

from agentledger.analytics.anomalies import open_rows, resolve, write_anomalies
from agentledger.analytics.job_result import JobResult
from agentledger.storage.store import Store, query_rows

__all__ = [
    "PERIODS",
    "BudgetStatus",
    "Period",
    "budget_status",
    "forecast_spend",
    "list_budgets",
    "period_bounds",
    "remove_budget",
    "run_budget_job",
    "set_budget",
]

Period = Literal["day", "month"]
PERIODS: Final[tuple[Period, ...]] = get_args(Period)
# Days (today included) whose spend gives the recent rate of each period's forecast.
_RATE_DAYS: Final[dict[str, int]] = {"day": 2, "month": 7}


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"budget period must be one of {', '.join(PERIODS)}, not {period!r}")


def set_budget(store: Store, tenant: str, agent: str, period: Period, usd: float) -> None:
    """Set (or replace) the budget of ``tenant`` ('' = all tenants) and ``agent`` ('' = all
    agents) for each UTC ``period``."""
    _check_period(period)
    if not (math.isfinite(usd) and usd > 0):
        raise ValueError(f"a budget must be a positive amount of USD, not {usd}")
    _store_budget(store, tenant, agent, period, usd, active=True)


def remove_budget(store: Store, tenant: str, agent: str, period: Period) -> None:
    """Remove a budget; raise ValueError if there is none."""
    _check_period(period)
    if not any(
        (b["tenant"], b["agent"], b["period"]) == (tenant, agent, period)
        for b in list_budgets(store)
    ):
        raise ValueError(f"no {period} budget for tenant {tenant!r} and agent {agent!r}")
    _store_budget(store, tenant, agent, period, 0.0, active=False)


def _store_budget(
    store: Store, tenant: str, agent: str, period: str, usd: float, active: bool
) -> None:
    store.command(
        "INSERT INTO budgets (TenantId, AgentName, Period, BudgetUsd, Active, UpdatedAt)"
        " VALUES ({tenant:String}, {agent:String}, {period:String}, {usd:Float64},"
        " {active:UInt8}, now64(3))",
        {"tenant": tenant, "agent": agent, "period": period, "usd": usd, "active": int(active)},
    )


def list_budgets(store: Store) -> list[dict[str, object]]:
    """Every budget: tenant, agent ('' = all), period, budget_usd, updated_at."""
    return query_rows(
        store,
        "SELECT TenantId AS tenant, AgentName AS agent, Period AS period,"
        " BudgetUsd AS budget_usd, UpdatedAt AS updated_at"
        " FROM budgets FINAL WHERE Active ORDER BY tenant, agent, period",
    )


def period_bounds(period: Period, now: datetime) -> tuple[datetime, datetime]:
    """The UTC day or month containing ``now``: [start, end)."""
    _check_period(period)
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    start = day.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1)


def forecast_spend(
    spent: float, recent_usd: float, recent_seconds: float, remaining_seconds: float
) -> float:
    """Spend by the period's end: what is spent, plus the recent rate over what is left."""
    if recent_seconds <= 0:
        return spent
    return spent + recent_usd / recent_seconds * max(remaining_seconds, 0.0)


def _daily_spend(
    store: Store, first: datetime, last: datetime
) -> dict[tuple[str, str], dict[date, float]]:
    """Rollup cost per (tenant, agent) and UTC day, for the days from ``first`` to ``last``."""
    days: dict[tuple[str, str], dict[date, float]] = {}
    for row in query_rows(
        store,
        "SELECT TenantId, AgentName, Day, sum(CostUsd) AS cost FROM cost_rollups FINAL"
        " WHERE Day >= {first:Date} AND Day <= {last:Date} GROUP BY TenantId, AgentName, Day",
        {"first": first.date().isoformat(), "last": last.date().isoformat()},
    ):
        days.setdefault((row["TenantId"], row["AgentName"]), {})[row["Day"]] = row["cost"]
    return days


def _spent(
    days: dict[tuple[str, str], dict[date, float]], tenant: str, agent: str, first: date
) -> float:
    """What ``tenant`` and ``agent`` ('' = all) spent from the day ``first`` on."""
    return sum(
        cost
        for (row_tenant, row_agent), costs in days.items()
        if tenant in ("", row_tenant) and agent in ("", row_agent)
        for day, cost in costs.items()
        if day >= first
    )


@dataclass(frozen=True)
class BudgetStatus:
    """A budget in its current period: spend so far, forecast and ``state``: ``over`` (spent >=
    budget), ``forecast_over`` (forecast >= budget) or ``ok``."""

    tenant: str
    agent: str
    period: Period
    budget_usd: float
    period_start: datetime
    period_end: datetime
    spent_usd: float
    forecast_usd: float
    state: Literal["ok", "forecast_over", "over"]

    @property
    def entity(self) -> str:
        return f"{self.tenant or '*'}/{self.agent or '*'}/{self.period}"


def budget_status(store: Store, now: datetime | None = None) -> list[BudgetStatus]:
    """Every budget in its current UTC period (the one containing ``now``)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    budgets = list_budgets(store)
    if not budgets:
        return []
    today = period_bounds("day", now)[0]
    oldest = min(period_bounds("month", now)[0], today - timedelta(days=max(_RATE_DAYS.values())))
    days = _daily_spend(store, oldest, today)
    status = []
    for budget in budgets:
        tenant, agent = str(budget["tenant"]), str(budget["agent"])
        period: Period = "month" if budget["period"] == "month" else "day"
        start, end = period_bounds(period, now)
        spent = _spent(days, tenant, agent, start.date())
        rate_start = today - timedelta(days=_RATE_DAYS[period] - 1)
        recent = _spent(days, tenant, agent, rate_start.date())
        forecast = forecast_spend(
            spent, recent, (now - rate_start).total_seconds(), (end - now).total_seconds()
        )
        usd = float(str(budget["budget_usd"]))
        status.append(
            BudgetStatus(
                tenant,
                agent,
                period,
                usd,
                start,
                end,
                round(spent, 6),
                round(forecast, 6),
                "over" if spent >= usd else "forecast_over" if forecast >= usd else "ok",
            )
        )
    return status


def run_budget_job(store: Store, now: datetime | None = None) -> JobResult:
    """Alert (in ``anomalies``) on budgets whose period forecast or spend reached the budget,
    once per budget, period and kind of alert; resolve alerts of periods that ended."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    status = budget_status(store, now)
    alerts = [_alert(s, "forecast_usd") for s in status if s.state != "ok"]
    alerts += [_alert(s, "spent_usd") for s in status if s.state == "over"]
    written = write_anomalies(store, alerts)
    current = {period: period_bounds(period, now)[0] for period in PERIODS}
    resolve(
        store,
        [
            row
            for row in open_rows(store, ("budget",))
            if _started(row) < current["month" if str(row["Entity"]).endswith("/month") else "day"]
        ],
    )
    start = min((s.period_start for s in status), default=now)
    return JobResult(start, now, written)


def _alert(status: BudgetStatus, metric: Literal["forecast_usd", "spent_usd"]) -> dict[str, object]:
    value = status.forecast_usd if metric == "forecast_usd" else status.spent_usd
    what = "forecast spend" if metric == "forecast_usd" else "spend"
    return {
        "Timestamp": status.period_start,
        "TenantId": status.tenant,
        "Kind": "budget",
        "Entity": status.entity,
        "Metric": metric,
        "Value": value,
        "Baseline": status.budget_usd,
        "Score": value / status.budget_usd,
        "Severity": "warning" if metric == "forecast_usd" else "critical",
        "Message": (
            f"{status.period} budget of tenant {status.tenant or '*'}, agent"
            f" {status.agent or '*'}: {what} ${value:,.2f} reached the ${status.budget_usd:,.2f}"
            f" budget (spent ${status.spent_usd:,.2f} since {status.period_start:%Y-%m-%d})"
        ),
    }


def _started(row: dict[str, object]) -> datetime:
    moment = cast(datetime, row["Timestamp"])
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
