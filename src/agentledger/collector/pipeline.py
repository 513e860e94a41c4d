"""From decoded OTLP requests to stored rows: the collector's processing and export stage.

Receivers call :class:`Ingestor` with a parsed request and the tenant its API key belongs to.
A successful return means the rows are in the store; a :class:`StoreError` means nothing of the
request was acknowledged and the receiver answers with a retryable status.
"""

from __future__ import annotations

from typing import Any

from agentledger.audit.chain import AuditChain
from agentledger.collector.columns import RejectLog
from agentledger.collector.logs import logs_to_columns
from agentledger.collector.metrics import metrics_to_arrow
from agentledger.collector.spans import spans_to_arrow
from agentledger.storage.store import Store

__all__ = ["Ingestor"]


class Ingestor:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._chain = AuditChain(store)

    def traces(self, request: Any, tenant: str) -> RejectLog:
        table, rejects = spans_to_arrow(request, tenant)
        self._store.insert_arrow("otel_traces", table)
        return rejects

    def logs(self, request: Any, tenant: str) -> RejectLog:
        decoded = logs_to_columns(request, tenant)
        if decoded.decisions:
            self._chain.append(decoded.decisions)
        self._store.insert_arrow("kpi_events", decoded.kpis)
        self._store.insert_arrow("model_observations", decoded.observations)
        self._store.insert_arrow("otel_logs", decoded.logs)
        return decoded.rejects

    def metrics(self, request: Any, tenant: str) -> RejectLog:
        tables, rejects = metrics_to_arrow(request, tenant)
        for name, table in tables.items():
            self._store.insert_arrow(name, table)
        return rejects
