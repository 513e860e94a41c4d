"""The Traces page's SQL: trace search, one trace's spans, and the decisions taken in it.

Search groups matching spans by trace inside ClickHouse and returns one row per trace. A single
trace is found through ``otel_traces_trace_id_ts`` (its time range, kept by a materialized view)
so only the parts of that range are read, then by the ``TraceId`` bloom-filter index.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from agentledger.dashboards.filters import Filters
from agentledger.dashboards.queries import frame
from agentledger.storage.store import Store

__all__ = ["STATUSES", "TraceSearch", "search_traces", "trace_decisions", "trace_spans"]

STATUSES = ("Error", "Ok", "Unset")


@dataclass(frozen=True)
class TraceSearch:
    """What to look for beyond the global filters ("" means any). A trace matches when one of its
    spans has the status, the model (request or response) and the attribute (span or resource;
    the key alone when no value is given)."""

    status: str = ""
    model: str = ""
    attribute_key: str = ""
    attribute_value: str = ""
    trace_id: str = ""
    limit: int = 100

    def __post_init__(self) -> None:
        if self.status and self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        if self.attribute_value and not self.attribute_key:
            raise ValueError("an attribute value needs the attribute key it belongs to")
        if not 0 < self.limit <= 10_000:
            raise ValueError("limit must be between 1 and 10000 traces")

    def params(self) -> dict[str, object]:
        return {
            "status": self.status,
            "model": self.model,
            "akey": self.attribute_key,
            "avalue": self.attribute_value,
            "trace_id": self.trace_id.strip().lower(),
            "limit": self.limit,
        }


_SPAN_MATCH = """
    ({status:String} = '' OR StatusCode = {status:String})
    AND ({model:String} = '' OR RequestModel = {model:String} OR ResponseModel = {model:String})
    AND ({akey:String} = ''
         OR ({avalue:String} = '' AND (mapContains(SpanAttributes, {akey:String})
                                      OR mapContains(ResourceAttributes, {akey:String})))
         OR ({avalue:String} != '' AND (SpanAttributes[{akey:String}] = {avalue:String}
                                       OR ResourceAttributes[{akey:String}] = {avalue:String})))
"""


def search_traces(store: Store, filters: Filters, search: TraceSearch) -> pd.DataFrame:
    """The ``limit`` traces with the newest spans in the window matching the filters and
    ``search`` (only their ids are grouped over the window, and only root spans' when nothing
    narrows the search; the summary is computed for those few), newest first: TraceId, Start,
    Root (first span's name), Service, Agent, Spans, Errors, DurationMs (first start to last end),
    Models and Tokens of the whole trace (all its services and agents) as far as it lies in the
    window."""
    sql = f"""
        SELECT TraceId,
               min(Timestamp) AS Start,
               argMin(SpanName, Timestamp) AS Root,
               argMin(ServiceName, Timestamp) AS Service,
               anyIf(AgentName, AgentName != '') AS Agent,
               count() AS Spans,
               countIf(StatusCode = 'Error') AS Errors,
               (max(toUnixTimestamp64Nano(Timestamp) + Duration)
                - toUnixTimestamp64Nano(min(Timestamp))) / 1e6 AS DurationMs,
               arrayStringConcat(arraySort(groupUniqArrayIf(RequestModel, RequestModel != '')),
                                 ', ') AS Models,
               sum(InputTokens + OutputTokens) AS Tokens
        FROM otel_traces
        WHERE {filters.where(service=None, agent=None)}
          AND ({{trace_id:String}} = '' OR TraceId = {{trace_id:String}})
          AND TraceId IN (
              SELECT TraceId FROM otel_traces
              WHERE {filters.where()}
                AND ({{trace_id:String}} = '' OR TraceId = {{trace_id:String}})
                AND {_SPAN_MATCH}
                AND ({{roots:UInt8}} = 0 OR ParentSpanId = '')
              GROUP BY TraceId
              ORDER BY max(Timestamp) DESC
              LIMIT {{limit:UInt32}})
        GROUP BY TraceId
        ORDER BY Start DESC, TraceId
    """
    return frame(
        store, sql, filters.params() | search.params() | {"roots": _roots_only(filters, search)}
    )


def _roots_only(filters: Filters, search: TraceSearch) -> int:
    """With nothing to match but the window, a trace is found by its root span: one span in
    ten, say, to group instead of all. Any criterion may match a span deep inside a trace."""
    narrowed = filters.service or filters.agent or search != TraceSearch(limit=search.limit)
    return 0 if narrowed else 1


def trace_spans(store: Store, tenant: str, trace_id: str) -> pd.DataFrame:
    """Every span of one trace (of ``tenant`` when given), in start order, with StartMs (from the
    trace's first span), DurationMs, Kind (the GenAI operation, else the span kind), attributes,
    events and links."""
    sql = """
        WITH (SELECT (min(Start), max(End)) FROM otel_traces_trace_id_ts
              WHERE TraceId = {trace_id:String}) AS bounds
        SELECT SpanId, ParentSpanId, SpanName, SpanKind,
               if(GenAiOperation != '', GenAiOperation, SpanKind) AS Kind,
               ServiceName, TenantId, AgentName, RequestModel, InputTokens, OutputTokens,
               DecisionId, StatusCode, StatusMessage, Timestamp,
               (toUnixTimestamp64Nano(Timestamp)
                - min(toUnixTimestamp64Nano(Timestamp)) OVER ()) / 1e6 AS StartMs,
               Duration / 1e6 AS DurationMs,
               SpanAttributes, ResourceAttributes,
               `Events.Timestamp` AS EventTimes, `Events.Name` AS EventNames,
               `Events.Attributes` AS EventAttributes,
               `Links.TraceId` AS LinkTraceIds, `Links.SpanId` AS LinkSpanIds,
               `Links.Attributes` AS LinkAttributes
        FROM otel_traces
        WHERE TraceId = {trace_id:String}
          AND Timestamp >= bounds.1 AND Timestamp < bounds.2 + INTERVAL 1 SECOND
          AND ({tenant:String} = '' OR TenantId = {tenant:String})
        ORDER BY Timestamp, SpanId
    """
    return frame(store, sql, {"trace_id": trace_id.strip().lower(), "tenant": tenant})


def trace_decisions(store: Store, tenant: str, trace_id: str) -> pd.DataFrame:
    """The decisions recorded in one trace (of ``tenant`` when given), in chain order."""
    sql = """
        SELECT Timestamp, DecisionId, AgentName, DecisionType, Chosen, Confidence, ApprovedBy,
               SpanId
        FROM decisions
        WHERE TraceId = {trace_id:String}
          AND ({tenant:String} = '' OR TenantId = {tenant:String})
        ORDER BY TenantId, Seq
    """
    return frame(store, sql, {"trace_id": trace_id.strip().lower(), "tenant": tenant})
