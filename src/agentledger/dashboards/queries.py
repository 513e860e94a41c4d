"""The dashboards' SQL: one named, parameterised query per panel, aggregated inside ClickHouse.

Every function takes any :class:`~agentledger.storage.store.Store` (the embedded chDB in tests, an
HTTP endpoint in production) and returns a small pandas frame; raw spans never reach Python.
Time bounds travel as ``DateTime64(3, 'UTC')`` parameters so the server's timezone cannot shift
the window, and every window is half-open: ``start <= Timestamp < end``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from agentledger.storage.store import Params, Store

__all__ = [
    "agent_latency",
    "cost_by_model",
    "filter_values",
    "kpi_totals",
    "latest_decisions",
    "span_totals",
    "throughput",
    "utc_text",
]

_IN_WINDOW = "Timestamp >= {start:DateTime64(3, 'UTC')} AND Timestamp < {end:DateTime64(3, 'UTC')}"


def throughput(store: Store, start: datetime, end: datetime, step_seconds: int) -> pd.DataFrame:
    """Spans and traces per ``step_seconds`` bucket (columns Minute, Spans, Traces).

    Empty buckets are filled with zeros by ClickHouse (``WITH FILL``) so a quiet minute shows as a
    dip in the line rather than being interpolated over.
    """
    sql = f"""
        SELECT toDateTime64(Bucket, 0, 'UTC') AS Minute, Spans, Traces
        FROM (
            SELECT toStartOfInterval(toDateTime(Timestamp, 'UTC'),
                                     toIntervalSecond({{step:UInt32}})) AS Bucket,
                   count() AS Spans,
                   uniq(TraceId) AS Traces
            FROM otel_traces
            WHERE {_IN_WINDOW}
            GROUP BY Bucket
            ORDER BY Bucket WITH FILL
                FROM toStartOfInterval(toDateTime({{start:DateTime64(3, 'UTC')}}, 'UTC'),
                                       toIntervalSecond({{step:UInt32}}))
                TO toDateTime({{end:DateTime64(3, 'UTC')}}, 'UTC')
                STEP toIntervalSecond({{step:UInt32}})
        )
        ORDER BY Minute
    """
    return _frame(store, sql, _window(start, end) | {"step": step_seconds})


def span_totals(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    """One row: Spans, Traces, Errors (StatusCode 'Error') and ErrorRate (0 when no spans)."""
    sql = f"""
        SELECT count() AS Spans,
               uniq(TraceId) AS Traces,
               countIf(StatusCode = 'Error') AS Errors,
               if(Spans = 0, 0, Errors / Spans) AS ErrorRate
        FROM otel_traces
        WHERE {_IN_WINDOW}
    """
    return _frame(store, sql, _window(start, end))


def agent_latency(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    """Per agent: Runs, Errors, P50Ms and P95Ms (``Duration`` is ns) of its spans, slowest first.

    An agent run is an ``invoke_agent`` span (the normalizer also derives that operation from
    OpenInference, OpenLLMetry and Langfuse agent spans). Other spans inside the run carry the
    agent's name too (model and tool calls, actions), so naming an agent does not make a run.
    """
    sql = f"""
        SELECT if(AgentName = '', '(unnamed)', AgentName) AS Agent,
               count() AS Runs,
               countIf(StatusCode = 'Error') AS Errors,
               quantiles(0.5, 0.95)(Duration)[1] / 1e6 AS P50Ms,
               quantiles(0.5, 0.95)(Duration)[2] / 1e6 AS P95Ms
        FROM otel_traces
        WHERE {_IN_WINDOW}
          AND GenAiOperation = 'invoke_agent'
        GROUP BY Agent
        ORDER BY P95Ms DESC, Agent
    """
    return _frame(store, sql, _window(start, end))


def cost_by_model(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    """Per model over the whole UTC days the window touches: CostUsd, tokens, UnpricedTokens.

    Cost is rolled up per day, so a 15-minute window reports its day. ``FINAL`` keeps only the
    latest recomputation of each rollup row.
    """
    sql = """
        SELECT ModelName,
               sum(CostUsd) AS CostUsd,
               sum(InputTokens) AS InputTokens,
               sum(OutputTokens) AS OutputTokens,
               sum(UnpricedTokens) AS UnpricedTokens
        FROM cost_rollups FINAL
        WHERE Day >= toDate({start:DateTime64(3, 'UTC')}, 'UTC')
          AND Day <= toDate({end:DateTime64(3, 'UTC')}, 'UTC')
        GROUP BY ModelName
        ORDER BY CostUsd DESC, ModelName
    """
    return _frame(store, sql, _window(start, end))


def latest_decisions(store: Store, start: datetime, end: datetime, limit: int = 50) -> pd.DataFrame:
    """The ``limit`` newest decisions in the window, newest first."""
    sql = f"""
        SELECT Timestamp, AgentName, DecisionType, Chosen, Confidence, ApprovedBy, DecisionId
        FROM decisions
        WHERE {_IN_WINDOW}
        ORDER BY Timestamp DESC, Seq DESC
        LIMIT {{limit:UInt32}}
    """
    return _frame(store, sql, _window(start, end) | {"limit": limit})


def kpi_totals(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    """Per KPI and unit: Count, Sum and Avg of its values in the window."""
    sql = f"""
        SELECT KpiName, Unit, count() AS Count, sum(Value) AS Sum, avg(Value) AS Avg
        FROM kpi_events
        WHERE {_IN_WINDOW}
        GROUP BY KpiName, Unit
        ORDER BY KpiName, Unit
    """
    return _frame(store, sql, _window(start, end))


def filter_values(store: Store, tenant: str = "") -> dict[str, list[str]]:
    """The tenants, services and agents seen in the last 7 days (of ``tenant`` when given), for
    the filter menus. Only the sorting key's leading columns are read, so this stays cheap."""
    sql = """
        SELECT groupUniqArray(1000)(TenantId) AS tenants,
               groupUniqArrayIf(1000)(ServiceName, ServiceName != '') AS services,
               groupUniqArrayIf(1000)(AgentName, AgentName != '') AS agents
        FROM otel_traces
        WHERE Timestamp >= now() - INTERVAL 7 DAY
          AND ({tenant:String} = '' OR TenantId = {tenant:String})
    """
    row = store.query_arrow(sql, {"tenant": tenant}).to_pylist()[0]
    return {name: sorted(row[name]) for name in ("tenants", "services", "agents")}


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"start": utc_text(start), "end": utc_text(end)}


def utc_text(moment: datetime) -> str:
    """``moment`` as the UTC text a ``DateTime64(3, 'UTC')`` parameter parses; naive means UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _frame(store: Store, sql: str, params: Params) -> pd.DataFrame:
    frame: pd.DataFrame = store.query_arrow(sql, params).to_pandas()
    return frame
