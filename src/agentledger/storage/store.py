"""The Store interface: the one seam between AgentLedger and ClickHouse.

Two implementations run the same SQL: :class:`~agentledger.storage.chdb_store.ChdbStore` (the
engine in-process, embedded default) and :class:`~agentledger.storage.http_store.HttpStore` (any
ClickHouse HTTP endpoint through clickhouse-connect). Data goes in and comes out as Arrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

__all__ = ["LocalEngine", "Params", "Store", "StoreError"]

Params = Mapping[str, Any]


class StoreError(RuntimeError):
    """The engine refused a statement; ``code`` is the ClickHouse error code when known."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class Store(Protocol):
    """What every part of AgentLedger needs from ClickHouse, and nothing more."""

    database: str

    def command(self, sql: str, params: Params | None = None) -> None:
        """Run a statement that returns no rows (DDL, INSERT ... SELECT, ALTER)."""

    def query_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        """Run a query and return its result as an Arrow table."""

    def insert_arrow(self, table: str, data: pa.Table, dedup_token: str | None = None) -> None:
        """Insert an Arrow table into ``table``, matching columns by name. With ``dedup_token``,
        inserting the same token again is a no-op (replays after a crash store nothing twice)."""

    def close(self) -> None:
        """Release the connection or the engine."""


@runtime_checkable
class LocalEngine(Protocol):
    """A store whose engine runs in this process and reads this machine's files (chDB): the
    collector hands it raw OTLP files to decode itself instead of decoding them in Python."""

    def scratch_file(self, suffix: str) -> AbstractContextManager[Path]:
        """A temporary file the engine can read, deleted when the context ends."""


def query_rows(store: Store, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
    """Convenience for small results: a list of row dicts."""
    rows: list[dict[str, Any]] = store.query_arrow(sql, params).to_pylist()
    return rows
