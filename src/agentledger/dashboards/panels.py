"""Every panel query of the Overview, Traces, Decisions and Collector pages, uncached, by name,
for benchmarks (the same shape as ``analytics_data.PANELS``: ``(store, filters) -> result``).

Panels that need a choice make the page's default one: an empty search, or the newest trace or
decision in the window (found once per store and window, as a viewer finds it once in the list).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from agentledger.dashboards import collector_queries, queries
from agentledger.dashboards import decision_queries as dq
from agentledger.dashboards import trace_queries as tq
from agentledger.dashboards.filters import Filters
from agentledger.storage.store import Store

__all__ = ["PANELS"]


def _filter_values(store: Store, filters: Filters) -> object:
    return queries.filter_values(store, filters.tenant, filters.window.start)


def _trace_search(store: Store, filters: Filters) -> object:
    return tq.search_traces(store, filters, tq.TraceSearch())


def _trace_search_attribute(store: Store, filters: Filters) -> object:
    search = tq.TraceSearch(status="Error", attribute_key="gen_ai.tool.name")
    return tq.search_traces(store, filters, search)


_TRACES: dict[tuple[int, Filters], str] = {}
_DECISIONS: dict[tuple[int, Filters], tuple[str, str, str, datetime]] = {}


def _newest_trace(store: Store, filters: Filters) -> str:
    """The trace a benchmark opens: the newest in the window (looked up once per window)."""
    key = (id(store), filters)
    if key not in _TRACES:
        found = tq.search_traces(store, filters, tq.TraceSearch(limit=1))
        _TRACES[key] = str(found["TraceId"].iloc[0]) if not found.empty else ""
    return _TRACES[key]


def _newest_decision(store: Store, filters: Filters) -> tuple[str, str, str, datetime]:
    """(tenant, decision id, trace id, time) of the newest decision in the window."""
    key = (id(store), filters)
    if key not in _DECISIONS:
        trail = dq.search_decisions(store, filters, dq.DecisionSearch(limit=1))
        if trail.empty:
            _DECISIONS[key] = (filters.tenant, "", "", filters.window.end)
        else:
            row = trail.iloc[0]
            at = row["Timestamp"].floor("us").to_pydatetime()
            _DECISIONS[key] = (
                str(row["TenantId"]),
                str(row["DecisionId"]),
                str(row["TraceId"]),
                at,
            )
    return _DECISIONS[key]


def _trace_waterfall(store: Store, filters: Filters) -> object:
    return tq.trace_spans(store, filters.tenant, _newest_trace(store, filters))


def _trace_decisions(store: Store, filters: Filters) -> object:
    return tq.trace_decisions(store, filters.tenant, _newest_trace(store, filters))


def _decision_trail(store: Store, filters: Filters) -> object:
    return dq.search_decisions(store, filters, dq.DecisionSearch())


def _decision_detail(store: Store, filters: Filters) -> object:
    tenant, decision, _, _ = _newest_decision(store, filters)
    return dq.decision_detail(store, tenant, decision)


def _decision_kpis(store: Store, filters: Filters) -> object:
    tenant, decision, _, _ = _newest_decision(store, filters)
    return dq.decision_kpis(store, tenant, decision)


def _decision_cost(store: Store, filters: Filters) -> object:
    tenant, _, trace, at = _newest_decision(store, filters)
    return dq.decision_cost(store, tenant, trace, at)


PANELS: Final[dict[str, Callable[[Store, Filters], object]]] = {
    "filter_values": _filter_values,
    "overview_period_totals": queries.period_totals,
    "overview_trend": queries.trend,
    "overview_golden_signals": queries.golden_signals,
    "overview_cost_by_model": queries.cost_by_model,
    "overview_kpi_headlines": queries.kpi_headlines,
    "overview_open_anomalies": queries.open_anomalies,
    "overview_latest_decisions": queries.latest_decisions,
    "traces_search": _trace_search,
    "traces_search_status_attribute": _trace_search_attribute,
    "traces_waterfall": _trace_waterfall,
    "traces_decisions": _trace_decisions,
    "decisions_trail": _decision_trail,
    "decisions_choices": dq.decision_choices,
    "decisions_chain_status": dq.chain_status,
    "decisions_detail": _decision_detail,
    "decisions_detail_kpis": _decision_kpis,
    "decisions_detail_cost": _decision_cost,
    "collector_ingest_history": collector_queries.ingest_history,
}
