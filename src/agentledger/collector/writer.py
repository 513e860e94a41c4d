"""The writer: drains spool segments into the store, retrying while it is down.

Each segment becomes one insert per table (many requests' rows at once, which is what ClickHouse
wants), tagged with a deduplication token so a segment replayed after a crash is stored once.
Raw OTLP trace requests are decoded by the engine itself when it runs in this process
(:mod:`agentledger.collector.engine_spans`), and by the reference decoder otherwise.

One thread per store session, each taking the oldest segment no other holds: a segment's insert
runs in one engine thread (its blocks must be cut the same way on a replay), so under load a
second session keeps the other core busy. Segments may land out of order; nothing depends on
their order (each carries its own token; an audit chain's head is its highest ``Seq``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

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
    """Background threads, one per store in ``stores`` (sessions of the same store): rotate the
    spool and store what is ready, every ``interval`` seconds."""

    def __init__(
        self,
        spool: Spool,
        stores: Sequence[Store],
        interval: float,
        on_stored: Callable[[str, int, float], None] | None = None,
    ) -> None:
        if not stores:
            raise ValueError("the writer needs at least one store session")
        self._spool = spool
        self._stores = list(stores)
        self._interval = interval
        self._on_stored = on_stored
        self._stop = threading.Event()
        # Only the first thread closes the open segment on its timer: the others take segments
        # that filled up while it was busy, so light load still makes one insert per interval.
        self._threads = [
            threading.Thread(
                target=self._loop, args=(store, i == 0), name=f"agentledger-writer-{i}", daemon=True
            )
            for i, store in enumerate(self._stores)
        ]
        self.healthy = True

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop after storing what is already spooled (if the store takes it)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        self._spool.rotate()
        try:
            self.drain()
        except StoreError as exc:
            log.warning("stopping with %d spooled bytes not stored: %s", self._spool.bytes, exc)

    def drain(self) -> int:
        """Store every ready segment, with every session at once; return rows stored. Raises
        StoreError (what was stored before it stays stored)."""
        with ThreadPoolExecutor(len(self._stores)) as pool:
            futures = [pool.submit(self._drain_with, store) for store in self._stores]
        rows = sum(future.result() for future in futures)
        self.healthy = True
        return rows

    def _drain_with(self, store: Store) -> int:
        rows = 0
        while (segment := self._spool.claim()) is not None:
            try:
                rows += self._store_segment(store, segment)
            except BaseException as exc:
                self._spool.release(segment)
                if isinstance(exc, StoreError):
                    self._spool.failed()
                raise
            self._spool.done(segment)
        return rows

    def _store_segment(self, store: Store, segment: Segment) -> int:
        by_table: dict[str, list[pa.Table]] = {}
        raw: dict[str, list[RawRequest]] = {}
        for table, frame in segment.frames():
            if isinstance(frame, RawRequest):
                raw.setdefault(table, []).append(frame)
            else:
                by_table.setdefault(table, []).append(frame)
        rows = 0
        for table, requests in raw.items():
            rows += self._store_raw(
                store, f"{segment.name}:{table}:otlp", table, requests, by_table
            )
        for table, batches in by_table.items():
            data = pa.concat_tables(batches, promote_options="default")
            started = time.perf_counter()
            store.insert_arrow(table, data, dedup_token=f"{segment.name}:{table}")
            if self._on_stored:
                self._on_stored(table, data.num_rows, time.perf_counter() - started)
            rows += data.num_rows
        return rows

    def _store_raw(
        self,
        store: Store,
        token: str,
        table: str,
        requests: list[RawRequest],
        by_table: dict[str, list[pa.Table]],
    ) -> int:
        """Spans the engine stored; requests it leaves to Python join ``by_table``."""
        left = list(range(len(requests)))
        stored = 0
        if isinstance(store, LocalEngine):
            started = time.perf_counter()
            left = engine_spans.insert_requests(store, table, requests, token)
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

    def _loop(self, store: Store, rotates: bool) -> None:
        """Store every ``interval`` seconds, or back to back while a drain takes longer than
        that: a writer that falls behind under load must not also sleep between inserts."""
        backoff = self._interval
        while not self._stop.wait(backoff):
            started = time.monotonic()
            if rotates:
                self._spool.rotate()
            try:
                self._drain_with(store)
                self.healthy = True
                backoff = max(0.0, self._interval - (time.monotonic() - started))
            except StoreError as exc:
                self.healthy = False
                backoff = min(max(backoff * 2, 0.5), _MAX_BACKOFF_SECONDS)
                log.warning("store write failed (%s); retrying in %.1fs", exc, backoff)
