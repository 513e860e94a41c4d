"""Hourly anomalies against seasonal baselines, and budget alerts: planted spikes are flagged
with the right severity, normal hours are not, and re-runs write nothing twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from agentledger.analytics.anomalies import open_anomalies, run_anomaly_job
from agentledger.analytics.budgets import (
    budget_status,
    list_budgets,
    remove_budget,
    run_budget_job,
    set_budget,
)
from agentledger.analytics.cost import run_cost_job
from agentledger.analytics.prices import Price, set_price
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import query_rows

SCHEMA = pa.schema(
    [
        ("Timestamp", pa.timestamp("ns", tz="UTC")),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("SpanName", pa.string()),
        ("SpanAttributes", pa.map_(pa.string(), pa.string())),
        ("Duration", pa.uint64()),
        ("StatusCode", pa.string()),
        ("TenantId", pa.string()),
    ]
)


def _span(
    tenant: str, at: datetime, attributes: dict[str, str], duration_ms: float = 1.0
) -> dict[str, object]:
    return {
        "Timestamp": at,
        "TraceId": uuid.uuid4().hex,
        "SpanId": uuid.uuid4().hex[:16],
        "SpanName": attributes.get("gen_ai.operation.name", "span"),
        "SpanAttributes": list(attributes.items()),
        "Duration": int(duration_ms * 1_000_000),
        "StatusCode": "Unset",
        "TenantId": tenant,
    }


def _hour_of_traffic(tenant: str, hour: datetime, slower_ms: dict[str, float]) -> list[dict]:
    """30 runs of agents alpha and beta (80-98 ms, plus ``slower_ms`` for an agent) and 25 calls
    of one model with the same tokens every hour."""
    spans = []
    for agent in ("alpha", "beta"):
        for i in range(30):
            attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}
            took = 80 + (i % 10) * 2 + slower_ms.get(agent, 0.0)
            spans.append(_span(tenant, hour + timedelta(seconds=60 * i + 1), attributes, took))
    for i in range(25):
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "anomaly-model",
            "gen_ai.usage.input_tokens": "1000",
            "gen_ai.usage.output_tokens": "100",
        }
        spans.append(_span(tenant, hour + timedelta(seconds=90 * i + 5), attributes, 40.0))
    return spans


def _anomaly_rows(store: ChdbStore, tenant: str) -> list[dict[str, object]]:
    return query_rows(
        store,
        "SELECT Timestamp, Kind, Entity, Metric, Severity, Status, Score FROM anomalies FINAL"
        " WHERE TenantId = {t:String} ORDER BY Timestamp",
        {"t": tenant},
    )


def test_planted_latency_spikes_are_flagged_with_their_severity(store: ChdbStore) -> None:
    now = datetime.now(UTC)
    cutoff = (now - timedelta(minutes=10)).replace(minute=0, second=0, microsecond=0)
    critical_hour, warning_hour = cutoff - timedelta(hours=1), cutoff - timedelta(hours=5)
    spans = []
    for back in range(1, 4 * 24 + 1):
        hour = cutoff - timedelta(hours=back)
        slower = {"alpha": 400.0} if hour == critical_hour else {}
        slower |= {"beta": 30.0} if hour == warning_hour else {}
        spans += _hour_of_traffic("anom", hour, slower)
    store.insert_arrow("otel_traces", pa.Table.from_pylist(spans, SCHEMA))

    first = run_anomaly_job(store, now=now, baseline_days=3)
    assert (first.window_start, first.window_end) == (cutoff - timedelta(hours=24), cutoff)
    found = _anomaly_rows(store, "anom")
    assert [(r["Entity"], r["Metric"], r["Severity"]) for r in found] == [
        ("beta", "p95_latency_ms", "warning"),
        ("alpha", "p95_latency_ms", "critical"),
    ]
    assert found[0]["Timestamp"].replace(tzinfo=UTC) == warning_hour
    assert found[1]["Timestamp"].replace(tzinfo=UTC) == critical_hour
    assert first.rows == 2
    # beta was normal again in later hours: resolved; alpha's spike is the latest hour: open
    assert [r["Status"] for r in found] == ["resolved", "open"]
    still_open = open_anomalies(store, tenant="anom")
    assert [(r["Entity"], r["Severity"]) for r in still_open] == [("alpha", "critical")]
    assert "p95 latency of agent alpha" in str(still_open[0]["Message"])

    # incremental: the same hours are not scored again, and nothing is written twice
    again = run_anomaly_job(store, now=now, baseline_days=3)
    assert (again.window_start, again.rows) == (cutoff, 0)
    # restart-safe: replaying from an older watermark (a crash before it advanced) adds nothing
    store.command("TRUNCATE TABLE job_watermarks")
    store.command(
        "INSERT INTO job_watermarks VALUES ('anomalies', {w:DateTime64(3)}, now64(3))",
        {"w": (cutoff - timedelta(hours=6)).strftime("%Y-%m-%d %H:%M:%S")},
    )
    replay = run_anomaly_job(store, now=now, baseline_days=3)
    assert (replay.window_start, replay.rows) == (cutoff - timedelta(hours=6), 0)
    assert len(_anomaly_rows(store, "anom")) == 2
    later = run_anomaly_job(store, now=now + timedelta(hours=1), baseline_days=3)
    assert (later.window_start, later.window_end) == (cutoff, cutoff + timedelta(hours=1))


# --- budgets --------------------------------------------------------------------------------


def _a_mid_month_noon(now: datetime) -> datetime:
    """The 15th, noon UTC, at least a day back: a moment with room on both sides in its month."""
    moment = now.replace(day=15, hour=12, minute=0, second=0, microsecond=0)
    if moment > now - timedelta(days=1):
        moment = (moment.replace(day=1) - timedelta(days=1)).replace(day=15)
    return moment


def _spend(store: ChdbStore, tenant: str, agent: str, at: datetime, usd: float) -> None:
    """Spend ``usd`` with budget-model ($1 per million input tokens) at ``at``."""
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.agent.name": agent,
        "gen_ai.request.model": "budget-model",
        "gen_ai.usage.input_tokens": str(int(usd * 1_000_000)),
    }
    store.insert_arrow("otel_traces", pa.Table.from_pylist([_span(tenant, at, attributes)], SCHEMA))


def test_budgets_alert_once_per_period_and_resolve_when_it_ends(store: ChdbStore) -> None:
    set_price(store, Price("^budget-model$", 1.0, 0.0))
    when = _a_mid_month_noon(datetime.now(UTC))
    # daily: $0.50 by noon, $0.50 yesterday: $1 in 36 hours, so $0.50 + 12h x $1/36h by midnight
    _spend(store, "bud-a", "billing", when - timedelta(hours=1), 0.5)
    _spend(store, "bud-a", "billing", when - timedelta(hours=20), 0.5)
    # monthly: $1.50 over the last three days (rollups) and today
    for days_back in (3, 2, 0):
        _spend(store, "bud-b", "triage", when - timedelta(days=days_back, hours=1), 0.5)
    _spend(store, "bud-b", "other-agent", when - timedelta(hours=1), 7.0)  # not in scope
    run_cost_job(store, since=when - timedelta(days=5))
    set_budget(store, "bud-a", "", "day", 0.8)
    set_budget(store, "bud-b", "triage", "month", 1.0)
    set_budget(store, "bud-c", "", "month", 100.0)

    status = {s.tenant: s for s in budget_status(store, when)}
    assert status["bud-a"].spent_usd == pytest.approx(0.5)
    assert status["bud-a"].forecast_usd == pytest.approx(0.5 + 1.0 / 36 * 12)
    assert status["bud-a"].state == "forecast_over"
    assert status["bud-b"].spent_usd == pytest.approx(1.5) and status["bud-b"].state == "over"
    assert status["bud-c"].state == "ok" and status["bud-c"].spent_usd == 0

    first = run_budget_job(store, when)
    assert first.rows == 3  # bud-a forecast; bud-b forecast and spend
    assert run_budget_job(store, when).rows == 0
    assert run_budget_job(store, when + timedelta(hours=2)).rows == 0  # same periods
    alerts = {(a["TenantId"], a["Metric"]): a for a in open_anomalies(store, kind="budget")}
    assert set(alerts) == {
        ("bud-a", "forecast_usd"),
        ("bud-b", "forecast_usd"),
        ("bud-b", "spent_usd"),
    }
    assert alerts[("bud-b", "spent_usd")]["Severity"] == "critical"
    assert alerts[("bud-a", "forecast_usd")]["Entity"] == "bud-a/*/day"

    # the next day is a new daily period: yesterday's alert is resolved, the monthly ones stay
    run_budget_job(store, when + timedelta(days=1))
    still = {(a["TenantId"], a["Metric"]) for a in open_anomalies(store, kind="budget")}
    assert still == {("bud-b", "forecast_usd"), ("bud-b", "spent_usd")}

    remove_budget(store, "bud-c", "", "month")
    assert {b["tenant"] for b in list_budgets(store)} == {"bud-a", "bud-b"}
    with pytest.raises(ValueError, match="positive amount"):
        set_budget(store, "bud-a", "", "day", 0)
    with pytest.raises(ValueError, match="period must be one of"):
        set_budget(store, "bud-a", "", "week", 5)  # type: ignore[arg-type]
