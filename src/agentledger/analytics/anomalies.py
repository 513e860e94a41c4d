"""Anomalies in latency, errors, tokens and cost per agent and per model, hour by hour.

Each complete UTC hour, ClickHouse sums every agent's and model's spans into
``hourly_entity_metrics``: spans, errors, p95 latency (an agent's over its ``invoke_agent`` runs,
a model's over its calls), tokens and cost. The hour is then scored against its seasonal
baseline, the same hour of day on each of the previous ``baseline_days`` days, with a robust
z-score: ``z = (value - median) / (1.4826 * MAD)``, the MAD floored at a share of the median and
at a per-metric minimum so a flat baseline does not turn noise into infinite scores. Latency and
error rate are anomalous only upwards; tokens and cost both ways. |z| >= 3.5 is ``info``, >= 5
``warning``, >= 8 ``critical``. Hours with fewer than ``min_spans`` spans (runs for latency) are
not scored for latency or error rate.

The job is incremental and restart-safe: a watermark in ``job_watermarks`` advances only after
the hour's metrics and anomalies are stored, and anomaly rows are keyed by entity, metric and
hour, so a re-run after a crash writes nothing twice. An open anomaly is resolved when a later
hour of the same entity and metric scores normal.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, cast

import pyarrow as pa

from agentledger.analytics.cost import ns_text, priced_usage_sql, span_window_params
from agentledger.analytics.job_result import JobResult
from agentledger.analytics.prices import ms_text
from agentledger.storage.store import Store, query_rows

__all__ = [
    "METRICS",
    "SEVERITIES",
    "Metric",
    "open_anomalies",
    "open_rows",
    "resolve",
    "robust_z",
    "run_anomaly_job",
    "severity",
    "write_anomalies",
]

SEVERITIES: Final = (("critical", 8.0), ("warning", 5.0), ("info", 3.5))
_MAD_TO_SIGMA: Final = 1.4826
_RELATIVE_FLOOR: Final = 0.05
_JOB: Final = "anomalies"


@dataclass(frozen=True)
class Metric:
    """A scored metric: its column in the scoring query, label, unit, the floor of its robust
    deviation, its direction, and the count that must reach ``min_spans`` to score it."""

    name: str
    label: str
    unit: str
    floor: float
    both_ways: bool
    volume: str | None


METRICS: Final = (
    Metric("p95_latency_ms", "p95 latency", "ms", 1.0, both_ways=False, volume="runs"),
    Metric("error_rate", "error rate", "", 0.02, both_ways=False, volume="spans"),
    Metric("tokens", "token use", "tokens", 1.0, both_ways=True, volume=None),
    Metric("cost_usd", "cost", "USD", 1e-6, both_ways=True, volume=None),
)


def robust_z(value: float, baseline: Sequence[float], floor: float = 0.0) -> tuple[float, float]:
    """``(z, median)`` of ``value`` against ``baseline``: the distance from the median in robust
    standard deviations (1.4826 x MAD), the deviation floored at 5% of the median and at
    ``floor``."""
    if not baseline:
        raise ValueError("a robust z-score needs at least one baseline value")
    median = statistics.median(baseline)
    mad = statistics.median(abs(v - median) for v in baseline)
    scale = max(_MAD_TO_SIGMA * mad, _RELATIVE_FLOOR * abs(median), floor)
    if scale == 0:
        return (0.0 if value == median else math.copysign(math.inf, value - median)), median
    return (value - median) / scale, median


def severity(z: float, both_ways: bool = True) -> str | None:
    """``critical``, ``warning``, ``info`` by |z| (upwards only unless ``both_ways``), else None."""
    size = abs(z) if both_ways else z
    return next((name for name, threshold in SEVERITIES if size >= threshold), None)


_SCHEMA = pa.schema(
    [
        ("Timestamp", pa.timestamp("ms", tz="UTC")),
        ("TenantId", pa.string()),
        ("Kind", pa.string()),
        ("Entity", pa.string()),
        ("Metric", pa.string()),
        ("Value", pa.float64()),
        ("Baseline", pa.float64()),
        ("Score", pa.float64()),
        ("Severity", pa.string()),
        ("Message", pa.string()),
        ("Status", pa.string()),
        ("DetectedAt", pa.timestamp("ms", tz="UTC")),
        ("UpdatedAt", pa.timestamp("ms", tz="UTC")),
    ]
)
_KEY: Final = ("TenantId", "Kind", "Entity", "Metric", "Timestamp")


def write_anomalies(store: Store, rows: Sequence[dict[str, object]]) -> int:
    """Store anomaly rows (columns of ``anomalies`` but DetectedAt/UpdatedAt/Status) whose key
    (tenant, kind, entity, metric, timestamp) is not stored yet; return how many were new."""
    if not rows:
        return 0
    stamps = [_utc(row["Timestamp"]) for row in rows]
    stored = {
        _key(row)
        for row in query_rows(
            store,
            "SELECT TenantId, Kind, Entity, Metric, Timestamp FROM anomalies"
            " WHERE Timestamp >= {low:DateTime64(3)} AND Timestamp <= {high:DateTime64(3)}"
            " AND Kind IN {kinds:Array(String)}",
            {
                "low": ms_text(min(stamps)),
                "high": ms_text(max(stamps)),
                "kinds": sorted({str(row["Kind"]) for row in rows}),
            },
        )
    }
    now = datetime.now(UTC)
    new = [
        {**row, "Status": "open", "DetectedAt": now, "UpdatedAt": now}
        for row in rows
        if _key(row) not in stored
    ]
    store.insert_arrow("anomalies", pa.Table.from_pylist(new, _SCHEMA))
    return len(new)


def resolve(store: Store, open_rows: Sequence[dict[str, object]]) -> None:
    """Mark these rows of ``anomalies`` resolved (a newer version of each)."""
    now = datetime.now(UTC)
    resolved = [{**row, "Status": "resolved", "UpdatedAt": now} for row in open_rows]
    store.insert_arrow("anomalies", pa.Table.from_pylist(resolved, _SCHEMA))


def _key(row: dict[str, object]) -> tuple[object, ...]:
    return (*(row[k] for k in _KEY[:-1]), _utc(row["Timestamp"]))


def _utc(value: object) -> datetime:
    """A timestamp read from the store (naive means UTC) or given by a caller, in UTC."""
    moment = cast(datetime, value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def open_anomalies(
    store: Store, tenant: str | None = None, kind: str | None = None, limit: int = 200
) -> list[dict[str, object]]:
    """Open anomalies and budget alerts, most severe and most recent first."""
    return query_rows(
        store,
        "SELECT Timestamp, TenantId, Kind, Entity, Metric, Value, Baseline, Score, Severity,"
        " Message, Status, DetectedAt, UpdatedAt FROM anomalies FINAL"
        " WHERE Status = 'open' AND ({tenant:String} = '' OR TenantId = {tenant:String})"
        " AND ({kind:String} = '' OR Kind = {kind:String})"
        " ORDER BY indexOf(['info', 'warning', 'critical'], Severity) DESC, Timestamp DESC,"
        " Kind, Entity, Metric LIMIT {limit:UInt32}",
        {"tenant": tenant or "", "kind": kind or "", "limit": limit},
    )


def open_rows(store: Store, kinds: Sequence[str]) -> list[dict[str, object]]:
    """Every open row of these kinds, with all its columns (small: open anomalies only)."""
    return query_rows(
        store,
        f"SELECT {', '.join(_SCHEMA.names)} FROM anomalies FINAL"
        " WHERE Status = 'open' AND Kind IN {kinds:Array(String)}",
        {"kinds": list(kinds)},
    )


_ENTITY_SPANS = """
SELECT toStartOfHour(Timestamp, 'UTC') AS Hour, TenantId, entity.1 AS Kind, entity.2 AS Entity,
       count() AS Spans, countIf(StatusCode = 'Error') AS Errors,
       countIf(entity.1 = 'model' OR GenAiOperation = 'invoke_agent') AS Runs,
       quantileIf(0.95)(Duration, entity.1 = 'model' OR GenAiOperation = 'invoke_agent') / 1e6
           AS P95DurationMs
FROM otel_traces
ARRAY JOIN [('agent', toString(AgentName)),
            ('model', toString(if(ResponseModel != '', ResponseModel, RequestModel)))] AS entity
WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)} AND entity.2 != ''
GROUP BY Hour, TenantId, Kind, Entity
"""

_HOURLY = f"""
INSERT INTO hourly_entity_metrics (Hour, TenantId, Kind, Entity, Spans, Errors, Runs,
    P95DurationMs, Tokens, CostUsd, ComputedAt)
SELECT s.Hour, s.TenantId, s.Kind, s.Entity, s.Spans, s.Errors, s.Runs, s.P95DurationMs,
       c.Tokens, c.CostUsd, now64(3)
FROM ({_ENTITY_SPANS}) AS s
LEFT JOIN (
    SELECT Hour, TenantId, 'agent' AS Kind, toString(AgentName) AS Entity,
           InputTokens + OutputTokens AS Tokens, CostUsd
    FROM ({priced_usage_sql(["Hour", "TenantId", "AgentName"])})
    UNION ALL
    SELECT Hour, TenantId, 'model' AS Kind, toString(ModelName) AS Entity,
           InputTokens + OutputTokens AS Tokens, CostUsd
    FROM ({priced_usage_sql(["Hour", "TenantId", "ModelName"])})
) AS c ON s.Hour = c.Hour AND s.TenantId = c.TenantId AND s.Kind = c.Kind AND s.Entity = c.Entity
"""

# Each hour to score with the same hour of day on the previous {days} days.
_SCORING = """
SELECT t.TenantId AS TenantId, t.Kind AS Kind, t.Entity AS Entity,
       toDateTime64(t.Hour, 3, 'UTC') AS Hour,
       any(t.Spans) AS spans, any(t.Runs) AS runs,
       any(t.P95DurationMs) AS p95_latency_ms, any(t.Errors / t.Spans) AS error_rate,
       any(t.Tokens) AS tokens, any(t.CostUsd) AS cost_usd,
       groupArrayIf(b.P95DurationMs,
                    (b.Hour < t.Hour AND b.Hour >= t.Hour - toIntervalDay({days:UInt32}))
                        AS seasonal
                    AND b.Runs >= {min_spans:UInt64})
           AS base_p95_latency_ms,
       groupArrayIf(b.Errors / b.Spans, seasonal AND b.Spans >= {min_spans:UInt64})
           AS base_error_rate,
       groupArrayIf(toFloat64(b.Tokens), seasonal) AS base_tokens,
       groupArrayIf(b.CostUsd, seasonal) AS base_cost_usd
FROM (SELECT * FROM hourly_entity_metrics FINAL
      WHERE Hour >= {start:DateTime('UTC')} AND Hour < {end:DateTime('UTC')}) AS t
LEFT JOIN (SELECT * FROM hourly_entity_metrics FINAL
           WHERE Hour >= {start:DateTime('UTC')} - toIntervalDay({days:UInt32})
             AND Hour < {end:DateTime('UTC')} - toIntervalDay(1)) AS b
    ON t.TenantId = b.TenantId AND t.Kind = b.Kind AND t.Entity = b.Entity
   AND toHour(t.Hour) = toHour(b.Hour)
GROUP BY TenantId, Kind, Entity, Hour
ORDER BY Hour, TenantId, Kind, Entity
SETTINGS join_use_nulls = 0
"""


def run_anomaly_job(
    store: Store,
    now: datetime | None = None,
    lookback_hours: int = 24,
    baseline_days: int = 7,
    min_spans: int = 20,
    min_baseline_days: int = 3,
    grace_minutes: int = 10,
) -> JobResult:
    """Score every complete UTC hour since the last run (the last ``lookback_hours`` on the
    first run) and store its anomalies; rows = anomalies written."""
    if baseline_days < 1 or min_baseline_days < 1 or min_baseline_days > baseline_days:
        raise ValueError("need 1 <= min_baseline_days <= baseline_days")
    cutoff = _hour(_utc(now or datetime.now(UTC)) - timedelta(minutes=grace_minutes))
    mark = _watermark(store)
    start = mark or cutoff - timedelta(hours=lookback_hours)
    if start >= cutoff:
        return JobResult(start, cutoff, 0)
    aggregate_from = start if mark else start - timedelta(days=baseline_days)
    store.command(_HOURLY, span_window_params(aggregate_from, cutoff))
    scored = query_rows(
        store,
        _SCORING,
        {
            "start": _seconds_text(start),
            "end": _seconds_text(cutoff),
            "days": baseline_days,
            "min_spans": min_spans,
        },
    )
    found, latest = _score(scored, min_spans, min_baseline_days)
    written = write_anomalies(store, found)
    resolve(
        store,
        [
            row
            for row in open_rows(store, ("agent", "model"))
            if latest.get(_entity_metric(row), datetime.min.replace(tzinfo=UTC))
            > _utc(row["Timestamp"])
        ],
    )
    _advance(store, cutoff)
    return JobResult(start, cutoff, written)


def _score(
    rows: Sequence[dict[str, object]], min_spans: int, min_baseline: int
) -> tuple[list[dict[str, object]], dict[tuple[object, ...], datetime]]:
    """The anomalies among the scored hours, and per (tenant, kind, entity, metric) the latest
    hour that scored normal."""
    found: list[dict[str, object]] = []
    normal: dict[tuple[object, ...], datetime] = {}
    for row in rows:
        hour = _utc(row["Hour"])
        for metric in METRICS:
            value = float(cast(float, row[metric.name]))
            baseline = [float(v) for v in cast(list[float], row[f"base_{metric.name}"])]
            if len(baseline) < min_baseline or not math.isfinite(value):
                continue
            if metric.volume and cast(int, row[metric.volume]) < min_spans:
                continue
            z, median = robust_z(value, baseline, metric.floor)
            level = severity(z, metric.both_ways)
            key = (row["TenantId"], row["Kind"], row["Entity"], metric.name)
            if level is None:
                normal[key] = max(normal.get(key, hour), hour)
                continue
            found.append(
                {
                    "Timestamp": hour,
                    "TenantId": row["TenantId"],
                    "Kind": row["Kind"],
                    "Entity": row["Entity"],
                    "Metric": metric.name,
                    "Value": value,
                    "Baseline": median,
                    "Score": z if math.isfinite(z) else math.copysign(1e9, z),
                    "Severity": level,
                    "Message": _message(metric, row, hour, value, median, z),
                }
            )
    return found, normal


def _message(
    metric: Metric, row: dict[str, object], hour: datetime, value: float, usual: float, z: float
) -> str:
    return (
        f"{metric.label} of {row['Kind']} {row['Entity']} was {_fmt(metric, value)} in the hour"
        f" from {hour:%Y-%m-%d %H:00} UTC; usual for this hour: {_fmt(metric, usual)}"
        f" (robust z {z:+.1f})"
    )


def _fmt(metric: Metric, value: float) -> str:
    if metric.name == "error_rate":
        return f"{value:.1%}"
    if metric.name == "cost_usd":
        return f"${value:,.4f}"
    return f"{value:,.0f} {metric.unit}"


def _entity_metric(row: dict[str, object]) -> tuple[object, ...]:
    return (row["TenantId"], row["Kind"], row["Entity"], row["Metric"])


def _watermark(store: Store) -> datetime | None:
    rows = query_rows(
        store,
        "SELECT Watermark FROM job_watermarks FINAL WHERE Job = {job:String}",
        {"job": _JOB},
    )
    return _utc(rows[0]["Watermark"]) if rows else None


def _advance(store: Store, moment: datetime) -> None:
    store.command(
        "INSERT INTO job_watermarks (Job, Watermark, UpdatedAt)"
        " VALUES ({job:String}, {mark:DateTime64(3)}, now64(3))",
        {"job": _JOB, "mark": ms_text(moment)},
    )


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _seconds_text(moment: datetime) -> str:
    return ns_text(moment)[:19]
