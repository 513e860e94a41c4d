"""The writer: drains spool segments into the store, in order, retrying while it is down.

Each segment becomes one insert per table (many requests' rows at once, which is what ClickHouse
wants), tagged with a deduplication token so a segment replayed after a crash is stored once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pyarrow as pa

from agentledger.collector.spool import Segment, Spool
from agentledger.storage.store import Store, StoreError

__all__ = ["Writer"]

log = logging.getLogger(__name__)

_MAX_BACKOFF_SECONDS = 5.0


class Writer:
    """Background thread: every ``interval`` seconds, rotate the spool and store what is ready."""

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
            rows += self._store_segment(segment)
            self._spool.done(segment)
        self.healthy = True
        return rows

    def _store_segment(self, segment: Segment) -> int:
        by_table: dict[str, list[pa.Table]] = {}
        for table, batch in segment.batches():
            by_table.setdefault(table, []).append(batch)
        rows = 0
        for table, batches in by_table.items():
            data = pa.concat_tables(batches, promote_options="default")
            started = time.perf_counter()
            self._store.insert_arrow(table, data, dedup_token=f"{segment.name}:{table}")
            if self._on_stored:
                self._on_stored(table, data.num_rows, time.perf_counter() - started)
            rows += data.num_rows
        return rows

    def _loop(self) -> None:
        backoff = self._interval
        while not self._stop.wait(backoff):
            self._spool.rotate()
            try:
                self.drain()
                backoff = self._interval
            except StoreError as exc:
                self.healthy = False
                backoff = min(max(backoff * 2, 0.5), _MAX_BACKOFF_SECONDS)
                log.warning("store write failed (%s); retrying in %.1fs", exc, backoff)
