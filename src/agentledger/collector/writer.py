"""The writer: drains spool segments into the store, in order, retrying while it is down.

Each segment becomes one insert per table (many requests' rows at once, which is what ClickHouse
wants), tagged with a deduplication token so a segment replayed after a crash is stored once.
Raw OTLP trace requests are decoded by the engine itself when it runs in this process
(:mod:`agentledger.collector.engine_spans`), and by the reference decoder otherwise.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentledger.collector import engine_spans
from agentledger.collector.spans import spans_to_arrow
from agentledger.collector.spool import RawRequest, Segment, Spool
from agentledger.storage.store import LocalEngine, Store, StoreError

__all__ = ["Writer"]

log = logging.getLogger(__name__)

_MAX_BACKOFF_SECONDS = 5.0


class Writer:
    """Background thread: rotate the spool and store what is ready, every ``interval`` seconds."""

    def __init__(
        self,
        spool: Spool,
        store: Store,
        interval: float,
        on_stored: Callable[[str, int, float], None] | None = None,
    ) -> None:
        self._spool = spool
        self._store = store
        self._interval = interval
        self._on_stored = on_stored
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="agentledger-writer", daemon=True)
        self.healthy = True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after storing what is already spooled (if the store takes it)."""
        self._stop.set()
        self._thread.join(timeout=60)
        self._spool.rotate()
        try:
            self.drain()
        except StoreError as exc:
            log.warning("stopping with %d spooled bytes not stored: %s", self._spool.bytes, exc)

    def drain(self) -> int:
        """Store every ready segment, oldest first; return rows stored. Raises StoreError."""
        rows = 0
        for segment in self._spool.ready():
            try:
                rows += self._store_segment(segment)
            except StoreError:
                self._spool.failed()
                raise
            self._spool.done(segment)
        self.healthy = True
        return rows

    def _store_segment(self, segment: Segment) -> int:
        by_table: dict[str, list[pa.Table]] = {}
        raw: dict[str, list[RawRequest]] = {}
        for table, frame in segment.frames():
            if isinstance(frame, RawRequest):
                raw.setdefault(table, []).append(frame)
            else:
                by_table.setdefault(table, []).append(frame)
        rows = 0
        for table, requests in raw.items():
            rows += self._store_raw(f"{segment.name}:{table}:otlp", table, requests, by_table)
        for table, batches in by_table.items():
            data = pa.concat_tables(batches, promote_options="default")
            started = time.perf_counter()
            self._store.insert_arrow(table, data, dedup_token=f"{segment.name}:{table}")
            if self._on_stored:
                self._on_stored(table, data.num_rows, time.perf_counter() - started)
            rows += data.num_rows
        return rows

    def _store_raw(
        self,
        token: str,
        table: str,
        requests: list[RawRequest],
        by_table: dict[str, list[pa.Table]],
    ) -> int:
        """Spans the engine stored; requests it leaves to Python join ``by_table``."""
        left = list(range(len(requests)))
        stored = 0
        if isinstance(self._store, LocalEngine):
            started = time.perf_counter()
            left = engine_spans.insert_requests(self._store, table, requests, token)
            stored = sum(request.records for request in requests) - sum(
                requests[position].records for position in left
            )
            if self._on_stored:
                self._on_stored(table, stored, time.perf_counter() - started)
        for position in left:
            request = requests[position]
            message = ExportTraceServiceRequest.FromString(request.payload)
            by_table.setdefault(table, []).append(spans_to_arrow(message, request.tenant)[0])
        return stored

    def _loop(self) -> None:
        """Store every ``interval`` seconds, or back to back while a drain takes longer than
        that: a writer that falls behind under load must not also sleep between inserts."""
        backoff = self._interval
        while not self._stop.wait(backoff):
            started = time.monotonic()
            self._spool.rotate()
            try:
                self.drain()
                backoff = max(0.0, self._interval - (time.monotonic() - started))
            except StoreError as exc:
                self.healthy = False
                backoff = min(max(backoff * 2, 0.5), _MAX_BACKOFF_SECONDS)
                log.warning("store write failed (%s); retrying in %.1fs", exc, backoff)
