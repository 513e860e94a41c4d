"""From decoded OTLP requests to the write-ahead spool: the collector's processing stage.

Receivers call :class:`Ingestor` with a parsed request and the tenant its API key belongs to.
Each call decodes to Arrow columns, applies the tenant's rate limit, redacts, seals decisions
into the audit chain, and appends everything as one unit to the spool. A normal return means
the rows are on disk (the writer stores them); a :class:`~agentledger.collector.errors.
RejectedRequest` means nothing of the request was taken.

Trace requests whose spans are all valid and hold nothing to redact (the common case) skip the
decoding: they are spooled as protobuf and the engine decodes them (see ``engine_spans``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from agentledger.audit.chain import AuditChain
from agentledger.collector.columns import RejectLog
from agentledger.collector.engine_spans import only_resource_spans
from agentledger.collector.errors import Overloaded, Unavailable
from agentledger.collector.logs import logs_to_columns
from agentledger.collector.metrics import metrics_to_arrow
from agentledger.collector.rate_limit import RateLimiter
from agentledger.collector.redaction import LOG_COLUMNS, SPAN_COLUMNS, Redactor
from agentledger.collector.self_metrics import SelfMetrics
from agentledger.collector.spans import spans_to_arrow, valid_span_count
from agentledger.collector.spool import RawRequest, Spool, SpoolFull
from agentledger.storage.store import StoreError

__all__ = ["INLINE_MAX_BYTES", "Ingestor", "runs_inline"]

INLINE_MAX_BYTES = 512 * 1024


def runs_inline(signal: str, size: int) -> bool:
    """Whether a receiver calls the Ingestor for a request of ``size`` decoded bytes on its event
    loop rather than in a worker thread.

    Traces and metrics up to ``INLINE_MAX_BYTES``: a 400-span request takes well under a
    millisecond, less than the hop to a worker thread and back, and the GIL runs one of them at
    a time anyway (interleaved runs of benchmarks/ingest.py over HTTP: 23-39 % more accepted
    spans/s, 0.9-1.6 µs less Python CPU a span). Larger requests, and logs (sealing decisions may
    read an audit chain's head from the store), go to a worker thread, so no request holds the
    loop for long.
    """
    return signal in ("traces", "metrics") and size <= INLINE_MAX_BYTES


_KPI_COLUMNS = ("Attributes",)
_RETRY_SECONDS = 5.0

Batches = list[tuple[str, pa.Table]]


class Ingestor:
    def __init__(
        self,
        spool: Spool,
        chain: AuditChain,
        redactor: Redactor,
        limiter: RateLimiter,
        metrics: SelfMetrics,
    ) -> None:
        self._spool = spool
        self._chain = chain
        self._redactor = redactor
        self._limiter = limiter
        self._metrics = metrics

    def traces(self, request: Any, tenant: str) -> RejectLog:
        raw = self._raw_traces(request, tenant)
        if raw is not None:
            self._admit("traces", tenant, raw.records, RejectLog("spans"))
            self._spooled(lambda: self._spool.append_raw("otel_traces", raw))
            self._accepted("traces", tenant, raw.records)
            return RejectLog("spans")
        table, rejects = spans_to_arrow(request, tenant)
        self._admit("traces", tenant, table.num_rows, rejects)
        self._append([("otel_traces", self._redactor.redact_table(table, SPAN_COLUMNS))])
        self._accepted("traces", tenant, table.num_rows)
        return rejects

    def logs(self, request: Any, tenant: str) -> RejectLog:
        decoded = logs_to_columns(request, tenant)
        records = decoded.logs.num_rows
        self._admit("logs", tenant, records, decoded.rejects)
        batches: Batches = [
            ("otel_logs", self._redactor.redact_table(decoded.logs, LOG_COLUMNS)),
            ("kpi_events", self._redactor.redact_table(decoded.kpis, _KPI_COLUMNS)),
            ("model_observations", decoded.observations),
        ]
        decisions = [self._redactor.redact_record(record) for record in decoded.decisions]
        if decisions:
            # Sealing and spooling happen under the tenant's chain lock: the chain on disk and
            # the chain in memory advance together, or not at all.
            try:
                self._chain.append(
                    decisions, lambda sealed: self._append([*batches, ("decisions", sealed)])
                )
            except StoreError as exc:  # the chain's head could not be read from storage
                raise Unavailable(f"storage is unavailable: {exc}", _RETRY_SECONDS) from None
        else:
            self._append(batches)
        self._accepted("logs", tenant, records)
        return decoded.rejects

    def metrics(self, request: Any, tenant: str) -> RejectLog:
        tables, rejects = metrics_to_arrow(request, tenant)
        points = sum(table.num_rows for table in tables.values())
        self._admit("metrics", tenant, points, rejects)
        self._append(list(tables.items()))
        self._accepted("metrics", tenant, points)
        return rejects

    def _admit(self, signal: str, tenant: str, records: int, rejects: RejectLog) -> None:
        self._metrics.add(
            "agentledger_received_records_total",
            records + rejects.count,
            signal=signal,
            tenant=tenant,
        )
        if rejects.count:
            self._metrics.add(
                "agentledger_rejected_records_total",
                rejects.count,
                signal=signal,
                tenant=tenant,
                reason="invalid",
            )
        try:
            self._limiter.admit(tenant, records)
        except Exception:
            self._metrics.add(
                "agentledger_rejected_records_total",
                records,
                signal=signal,
                tenant=tenant,
                reason="rate_limited",
            )
            raise

    def _raw_traces(self, request: Any, tenant: str) -> RawRequest | None:
        """The request as the engine will decode it, or None when it needs the Python decoder:
        a span to reject, a value to redact, or nothing in it."""
        records = valid_span_count(request)
        if not records:
            return None
        # Re-serialized rather than the bytes received: the engine's protobuf reader does not
        # keep the last of a field given twice or merge a message given twice, as protobuf does.
        payload: bytes = request.SerializeToString()
        if not only_resource_spans(payload):
            # An unknown top-level field could carry a number the engine reads (the tenant's, 15).
            request.DiscardUnknownFields()
            payload = request.SerializeToString()
        return None if self._redactor.may_redact(payload) else RawRequest(tenant, records, payload)

    def _append(self, batches: Batches) -> None:
        self._spooled(lambda: self._spool.append(batches))

    @staticmethod
    def _spooled(append: Callable[[], None]) -> None:
        try:
            append()
        except SpoolFull as exc:  # behind: overloaded, 429; taking nothing: unavailable, 503
            if exc.draining:
                raise Overloaded(str(exc), _RETRY_SECONDS) from None
            raise Unavailable(str(exc), _RETRY_SECONDS) from None

    def _accepted(self, signal: str, tenant: str, records: int) -> None:
        self._metrics.add(
            "agentledger_accepted_records_total", records, signal=signal, tenant=tenant
        )
