"""The Overview page's SQL: one named, parameterised query per panel, aggregated inside ClickHouse.

Every function takes any :class:`~agentledger.storage.store.Store` (the embedded chDB in tests, an
HTTP endpoint in production) and the page's :class:`~agentledger.dashboards.filters.Filters`, and
returns a small pandas frame; raw spans never reach Python. Windows are half-open
(``start <= Timestamp < end``) and every condition comes from :meth:`Filters.where`, so the
viewer's tenant is always applied. The other pages' SQL lives in ``trace_queries``,
``decision_queries`` and ``collector_queries``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from agentledger.storage.store import Params, Store

if TYPE_CHECKING:
    from agentledger.dashboards.filters import Filters

__all__ = [
    "RUN",
    "cost_by_model",
    "filter_values",
    "frame",
    "golden_signals",
    "kpi_headlines",
    "latest_decisions",
    "open_anomalies",
    "period_totals",
    "trend",
    "utc_text",
]

RUN = "(GenAiOperation = 'invoke_agent' OR ParentSpanId = '')"
"""A run: an agent invocation, or a root span (a request of a service without agents). Latency
quantiles are over runs; the spans inside a run would drag them down."""

_MS = "/ 1e6"
_PREVIOUS = (
    "Timestamp >= {prev_start:DateTime64(3, 'UTC')} AND Timestamp < {end:DateTime64(3, 'UTC')}"
)


def golden_signals(store: Store, filters: Filters) -> pd.DataFrame:
    """Per service and agent: Spans, Runs, RunsPerMin, Errors, ErrorRate (of spans), P50Ms,
    P95Ms and P99Ms (of runs), InputTokens, OutputTokens; busiest first."""
    minutes = max((filters.window.end - filters.window.start).total_seconds() / 60, 1)
    sql = f"""
        SELECT ServiceName AS Service,
               if(AgentName = '', '(none)', AgentName) AS Agent,
               count() AS Spans,
               countIf({RUN}) AS Runs,
               Runs / {{minutes:Float64}} AS RunsPerMin,
               countIf(StatusCode = 'Error') AS Errors,
               Errors / Spans AS ErrorRate,
               quantilesIf(0.5, 0.95, 0.99)(Duration, {RUN}) AS q,
               q[1] {_MS} AS P50Ms, q[2] {_MS} AS P95Ms, q[3] {_MS} AS P99Ms,
               sum(InputTokens) AS InputTokens,
               sum(OutputTokens) AS OutputTokens
        FROM otel_traces
        WHERE {filters.where()}
        GROUP BY Service, Agent
        ORDER BY Spans DESC, Service, Agent
    """
    result = frame(store, sql, filters.params() | {"minutes": minutes})
    return result.drop(columns="q")


def period_totals(store: Store, filters: Filters) -> pd.DataFrame:
    """Two rows, Period 'current' and 'previous' (the window just before, of the same length):
    Spans, Traces (started in the period: root spans, exact and 2x cheaper than counting
    distinct trace ids), Errors, ErrorRate, P95Ms of runs and Tokens."""
    sql = f"""
        SELECT if(Timestamp >= {{start:DateTime64(3, 'UTC')}}, 'current', 'previous') AS Period,
               count() AS Spans,
               countIf(ParentSpanId = '') AS Traces,
               countIf(StatusCode = 'Error') AS Errors,
               Errors / Spans AS ErrorRate,
               quantileIf(0.95)(Duration, {RUN}) {_MS} AS P95Ms,
               sum(InputTokens + OutputTokens) AS Tokens
        FROM otel_traces
        WHERE {_PREVIOUS} AND {filters.where(time=None)}
        GROUP BY Period
    """
    found = frame(store, sql, _with_previous(filters)).set_index("Period")
    empty = {"Spans": 0, "Traces": 0, "Errors": 0, "ErrorRate": 0.0, "P95Ms": 0.0, "Tokens": 0}
    rows = [
        {"Period": period, **(found.loc[period].to_dict() if period in found.index else empty)}
        for period in ("current", "previous")
    ]
    return pd.DataFrame(rows)


def trend(store: Store, filters: Filters) -> pd.DataFrame:
    """Per chart bucket of the window (empty buckets filled with zeros by ClickHouse): Spans,
    Traces (started: root spans), Errors, P95Ms of runs and Tokens."""
    sql = f"""
        SELECT toDateTime64(Bucket, 0, 'UTC') AS Time, Spans, Traces, Errors, P95Ms, Tokens
        FROM (
            SELECT toStartOfInterval(toDateTime(Timestamp, 'UTC'), {STEP}) AS Bucket,
                   count() AS Spans,
                   countIf(ParentSpanId = '') AS Traces,
                   countIf(StatusCode = 'Error') AS Errors,
                   ifNotFinite(quantileIf(0.95)(Duration, {RUN}) {_MS}, 0) AS P95Ms,
                   sum(InputTokens + OutputTokens) AS Tokens
            FROM otel_traces
            WHERE {filters.where()}
            GROUP BY Bucket
            {FILLED_BUCKETS}
        )
        ORDER BY Time
    """
    return frame(store, sql, filters.params() | {"step": filters.window.step_seconds})


def cost_by_model(store: Store, filters: Filters) -> pd.DataFrame:
    """Per model over the whole UTC days the window touches: CostUsd, tokens, UnpricedTokens.

    Cost is rolled up per day, so a 15-minute window reports its day. ``FINAL`` keeps only the
    latest recomputation of each rollup row.
    """
    sql = f"""
        SELECT ModelName,
               sum(CostUsd) AS CostUsd,
               sum(InputTokens) AS InputTokens,
               sum(OutputTokens) AS OutputTokens,
               sum(UnpricedTokens) AS UnpricedTokens
        FROM cost_rollups FINAL
        WHERE Day >= toDate({{start:DateTime64(3, 'UTC')}}, 'UTC')
          AND Day <= toDate({{end:DateTime64(3, 'UTC')}}, 'UTC')
          AND {filters.where(time=None)}
        GROUP BY ModelName
        ORDER BY CostUsd DESC, ModelName
    """
    return frame(store, sql, filters.params())


def latest_decisions(store: Store, filters: Filters, limit: int = 20) -> pd.DataFrame:
    """The ``limit`` newest decisions in the window, newest first."""
    sql = f"""
        SELECT Timestamp, AgentName, DecisionType, Chosen, Confidence, ApprovedBy, DecisionId
        FROM decisions
        WHERE {filters.where()}
        ORDER BY Timestamp DESC, Seq DESC
        LIMIT {{limit:UInt32}}
    """
    return frame(store, sql, filters.params() | {"limit": limit})


def kpi_headlines(store: Store, filters: Filters) -> pd.DataFrame:
    """Per KPI and unit: Count, Sum and Avg in the window and PrevSum / PrevAvg in the window
    before it. KPI events name a service but no agent, so the agent filter does not apply."""
    current = "Timestamp >= {start:DateTime64(3, 'UTC')}"
    sql = f"""
        SELECT KpiName, Unit,
               countIf({current}) AS Count,
               sumIf(Value, {current}) AS Sum,
               if(Count = 0, nan, Sum / Count) AS Avg,
               sumIf(Value, NOT {current}) AS PrevSum,
               avgIf(Value, NOT {current}) AS PrevAvg
        FROM kpi_events
        WHERE {_PREVIOUS} AND {filters.where(time=None, agent=None)}
        GROUP BY KpiName, Unit
        HAVING Count > 0
        ORDER BY KpiName, Unit
    """
    return frame(store, sql, _with_previous(filters))


def open_anomalies(store: Store, filters: Filters, limit: int = 50) -> pd.DataFrame:
    """Open anomalies and budget alerts of the viewer's tenant, most severe and newest first; the
    agent filter keeps its own agent's rows and the alerts that are not about one agent."""
    sql = f"""
        SELECT Timestamp, Severity, Kind, Entity, Metric, Value, Baseline, Message
        FROM anomalies FINAL
        WHERE Status = 'open' AND {filters.where(time=None, service=None, agent=None)}
          AND ({{agent:String}} = '' OR Kind != 'agent' OR Entity = {{agent:String}})
        ORDER BY indexOf(['info', 'warning', 'critical'], Severity) DESC, Timestamp DESC,
                 Kind, Entity, Metric
        LIMIT {{limit:UInt32}}
    """
    return frame(store, sql, filters.params() | {"limit": limit})


def filter_values(
    store: Store, tenant: str = "", start: datetime | None = None
) -> dict[str, list[str]]:
    """The tenants, services and agents seen since ``start`` (default: the last 7 days; of
    ``tenant`` when given), for the filter menus of a window that starts there: a short window
    reads few parts."""
    sql = """
        SELECT groupUniqArray(1000)(TenantId) AS tenants,
               groupUniqArrayIf(1000)(ServiceName, ServiceName != '') AS services,
               groupUniqArrayIf(1000)(AgentName, AgentName != '') AS agents
        FROM otel_traces
        WHERE Timestamp >= {since:DateTime64(3, 'UTC')}
          AND ({tenant:String} = '' OR TenantId = {tenant:String})
    """
    since = start or datetime.now(UTC) - timedelta(days=7)
    row = store.query_arrow(sql, {"tenant": tenant, "since": utc_text(since)}).to_pylist()[0]
    return {name: sorted(row[name]) for name in ("tenants", "services", "agents")}


def utc_text(moment: datetime) -> str:
    """``moment`` as the UTC text a ``DateTime64(3, 'UTC')`` parameter parses; naive means UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


STEP = "toIntervalSecond({step:UInt32})"
"""A chart bucket's width: the ``step`` parameter, in seconds."""
FILLED_BUCKETS = f"""ORDER BY Bucket WITH FILL
                FROM toStartOfInterval(toDateTime({{start:DateTime64(3, 'UTC')}}, 'UTC'), {STEP})
                TO toDateTime({{end:DateTime64(3, 'UTC')}}, 'UTC')
                STEP {STEP}"""
"""Every bucket of the window in order, empty ones filled with zeros by ClickHouse, so a quiet
minute shows as a dip in a line rather than being interpolated over."""


def frame(store: Store, sql: str, params: Params) -> pd.DataFrame:
    """Run ``sql`` and return its (small) result as pandas."""
    result: pd.DataFrame = store.query_arrow(sql, params).to_pandas()
    return result


def _with_previous(filters: Filters) -> dict[str, object]:
    window = filters.window
    return {**filters.params(), "prev_start": utc_text(window.start - (window.end - window.start))}
