"""KPI attribution, computed once: the ``kpi_attribution`` job attributes every KPI event to its
decision, agent, agent version, model and decision type and prices its trace, into
``kpi_attributions``; :mod:`~agentledger.analytics.kpi_attribution` reads it.

An event is attributed through its decision (``DecisionId`` -> ``decisions``: agent, version,
decision type, model, trace) and its trace (its own ``TraceId``, else the decision's): what the
decision does not say is taken from the trace's spans (agent, agent version, and the model that
used the most tokens). Decisions and spans are looked up from :data:`LOOKBACK` before the events'
window (an outcome may be reported that long after its run) to its end, and without pricing,
spans only for events whose decision leaves the agent, version or model unsaid.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from agentledger.analytics.cost import ns_text, priced_usage_sql
from agentledger.analytics.job_result import JobResult
from agentledger.storage.store import Store, query_rows

__all__ = [
    "ATTRIBUTED_COLUMNS",
    "DEFAULT_SETTLE",
    "JOB_NAME",
    "LOOKBACK",
    "attributed_sql",
    "attribution_watermark",
    "run_kpi_attribution_job",
]

JOB_NAME: Final = "kpi_attribution"
LOOKBACK: Final = timedelta(days=1)
"""How long before a KPI event its decision and trace are looked for."""
DEFAULT_SETTLE: Final = timedelta(seconds=30)
"""Events younger than this are left to the next run: their decision or spans may still be on
their way."""
_CHUNK: Final = timedelta(days=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_TRACE_MODEL: Final = "if(ResponseModel != '', ResponseModel, RequestModel)"

ATTRIBUTED_COLUMNS: Final = (
    "Timestamp",
    "TenantId",
    "KpiName",
    "Unit",
    "Value",
    "ServiceName",
    "DecisionId",
    "TraceId",
    "Agent",
    "AgentVersion",
    "Model",
    "DecisionType",
    "Traced",
    "TraceCostUsd",
    "TraceUnpricedTokens",
)
"""The columns of :func:`attributed_sql`, as stored in ``kpi_attributions``."""


_EVENTS: Final = """kpi_events
    WHERE ({kpi:String} = '' OR KpiName = {kpi:String})
      AND Timestamp >= {kstart:DateTime64(9)} AND Timestamp < {kend:DateTime64(9)}
      AND ({tenant:String} = '' OR TenantId = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})"""


def _linked_sql(priced: bool) -> str:
    need = "1" if priced else "Incomplete"
    return f"""
WITH ev AS (
    SELECT Timestamp, TenantId, KpiName, Unit, Value, ServiceName, DecisionId, TraceId
    FROM {_EVENTS}
),
dec AS (
    SELECT TenantId, DecisionId, any(TraceId) AS DTrace, any(AgentName) AS DAgent,
           any(AgentVersion) AS DVersion, any(DecisionType) AS DType, any(ModelName) AS DModel
    FROM decisions
    WHERE DecisionId IN (SELECT DecisionId FROM ev WHERE DecisionId != '')
      AND Timestamp >= {{start:DateTime64(9)}} AND Timestamp < {{end:DateTime64(9)}}
    GROUP BY TenantId, DecisionId
),
linked AS (
    SELECT ev.Timestamp AS Timestamp, ev.TenantId AS TenantId, ev.KpiName AS KpiName,
           ev.Unit AS Unit, ev.Value AS Value, ev.ServiceName AS ServiceName,
           ev.DecisionId AS DecisionId, if(ev.TraceId != '', ev.TraceId, dec.DTrace) AS TraceId,
           dec.DAgent AS DAgent, dec.DVersion AS DVersion, dec.DType AS DecisionType,
           dec.DModel AS DModel, DAgent = '' OR DVersion = '' OR DModel = '' AS Incomplete
    FROM ev LEFT JOIN dec ON ev.TenantId = dec.TenantId AND ev.DecisionId = dec.DecisionId
),
traces AS (
    SELECT TenantId, TraceId, anyIf(AgentName, AgentName != '') AS TAgent,
           anyIf(AgentVersion, AgentVersion != '') AS TVersion,
           argMaxIf({_TRACE_MODEL}, InputTokens + OutputTokens, {_TRACE_MODEL} != '') AS TModel
    FROM otel_traces
    WHERE (SELECT count() FROM linked WHERE TraceId != '' AND {need}) > 0
      AND TraceId IN (SELECT TraceId FROM linked WHERE TraceId != '' AND {need})
      AND Timestamp >= {{start:DateTime64(9)}} AND Timestamp < {{end:DateTime64(9)}}
    GROUP BY TenantId, TraceId
)
SELECT * FROM (
    SELECT l.Timestamp AS Timestamp, l.TenantId AS TenantId, l.KpiName AS KpiName,
           l.Unit AS Unit, l.Value AS Value, l.ServiceName AS ServiceName,
           l.DecisionId AS DecisionId, l.TraceId AS TraceId,
           if(l.DAgent != '', l.DAgent, t.TAgent) AS Agent,
           if(l.DVersion != '', l.DVersion, t.TVersion) AS AgentVersion,
           if(l.DModel != '', l.DModel, t.TModel) AS Model, l.DecisionType AS DecisionType,
           t.TraceId != '' AS Traced
    FROM linked AS l
    LEFT JOIN traces AS t ON l.TenantId = t.TenantId AND l.TraceId = t.TraceId
)
WHERE {{agent:String}} = '' OR Agent = {{agent:String}}
"""


def attributed_sql(priced: bool) -> str:
    """SQL for every event in ``[{kstart}, {kend})`` of KPI ``{kpi}`` (``''``: every KPI), tenant
    ``{tenant}``, service ``{service}`` and attributed agent ``{agent}`` (``''``: any), with
    :data:`ATTRIBUTED_COLUMNS`. Decisions and spans are looked up in ``[{start}, {end})``
    (DateTime64(9)). ``priced``: ``Traced`` says whether the trace's spans are stored and
    ``TraceCostUsd`` / ``TraceUnpricedTokens`` are its cost with the catalog as of ``{as_of}``
    (:func:`~agentledger.analytics.cost.priced_usage_sql`); otherwise both are 0 and ``Traced``
    is only known for events whose decision is incomplete."""
    linked = _linked_sql(priced)
    columns = ", ".join(f"a.{name} AS {name}" for name in ATTRIBUTED_COLUMNS[:13])
    if not priced:
        unpriced = "0.0 AS TraceCostUsd, toUInt64(0) AS TraceUnpricedTokens"
        return f"SELECT {columns}, {unpriced} FROM ({linked}) AS a"
    # The count first lets ClickHouse skip the span scan when the window has no event.
    usage = priced_usage_sql(
        ["TraceId"],
        f"AND (SELECT count() FROM {_EVENTS}) > 0"
        f" AND TraceId IN (SELECT TraceId FROM ({linked}) WHERE Traced)",
    )
    return f"""
SELECT {columns}, c.CostUsd AS TraceCostUsd, c.UnpricedTokens AS TraceUnpricedTokens
FROM ({linked}) AS a
LEFT JOIN ({usage}) AS c ON a.TraceId = c.TraceId
"""


def window_params(
    kstart: datetime, kend: datetime, as_of: datetime | None = None
) -> dict[str, object]:
    """Parameters of :func:`attributed_sql` for events in ``[kstart, kend)``, every KPI, tenant,
    service and agent (override ``kpi``, ``tenant``, ``service``, ``agent`` to narrow)."""
    return {
        "kpi": "",
        "tenant": "",
        "service": "",
        "agent": "",
        "kstart": ns_text(kstart),
        "kend": ns_text(kend),
        "start": ns_text(max(kstart - LOOKBACK, _EPOCH)),
        "end": ns_text(kend),
        "as_of": (as_of or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
    }


def window_events(store: Store, params: dict[str, object]) -> int:
    """How many events :func:`attributed_sql` with ``params`` would attribute (before its agent
    filter): 0 lets a caller skip the lookups, whose span scans cost even when nothing is found."""
    return int(query_rows(store, f"SELECT count() AS n FROM {_EVENTS}", params)[0]["n"])


def attribution_watermark(store: Store) -> datetime | None:
    """Where the job's stored attribution ends (events before it are in ``kpi_attributions``);
    None before its first run."""
    rows = query_rows(
        store,
        "SELECT Watermark FROM job_watermarks FINAL WHERE Job = {job:String}",
        {"job": JOB_NAME},
    )
    if not rows:
        return None
    last: datetime = rows[0]["Watermark"]
    return last.replace(tzinfo=UTC) if last.tzinfo is None else last.astimezone(UTC)


def run_kpi_attribution_job(
    store: Store, settle: timedelta = DEFAULT_SETTLE, now: datetime | None = None
) -> JobResult:
    """Attribute and price every KPI event stored since the last run up to ``settle`` ago, a day
    at a time (the first run takes every stored event), and move the watermark after each day.
    A day cut short is redone whole by the next run: its rows are replaced, never doubled."""
    end = (now or datetime.now(UTC)).astimezone(UTC) - settle
    end = end.replace(microsecond=end.microsecond // 1000 * 1000)  # as the watermark stores it
    done = attribution_watermark(store)
    if done is None:
        first = query_rows(store, "SELECT min(Timestamp) AS first, count() AS n FROM kpi_events")
        done = _day(first[0]["first"]) if first[0]["n"] else end
    start, rows = done, 0
    while start < end:
        stop = min(start + _CHUNK, end)
        rows += _attribute(store, start, stop)
        start = stop
    return JobResult(done, max(end, done), rows)


def _attribute(store: Store, start: datetime, end: datetime) -> int:
    window = {"ws": ns_text(start), "we": ns_text(end)}
    stale = (
        " FROM kpi_attributions WHERE Timestamp >= {ws:DateTime64(9)}"
        " AND Timestamp < {we:DateTime64(9)}"
    )
    if query_rows(store, f"SELECT count() AS n{stale}", window)[0]["n"]:
        store.command(f"DELETE{stale}", window)
    names = ", ".join(ATTRIBUTED_COLUMNS)
    store.command(
        f"INSERT INTO kpi_attributions ({names}) SELECT {names} FROM ({attributed_sql(True)})",
        window_params(start, end),
    )
    rows = int(query_rows(store, f"SELECT count() AS n{stale}", window)[0]["n"])
    store.command(
        "INSERT INTO job_watermarks (Job, Watermark, UpdatedAt)"
        " VALUES ({job:String}, {we:DateTime64(9)}, now64(3))",
        window | {"job": JOB_NAME},
    )
    return rows


def _day(moment: datetime) -> datetime:
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
