"""The embedded store: the ClickHouse engine in this process (chDB), owning a data directory.

chDB locks its data directory, so exactly one process opens it; every other process reaches the
same data through the ClickHouse-compatible HTTP endpoint that process serves.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pyarrow as pa
from chdb import session as chdb_session

from agentledger.storage.store import Params, StoreError

__all__ = ["ChdbStore"]

_CODE = re.compile(r"Code: (\d+)\.")


class ChdbStore:
    """A :class:`~agentledger.storage.store.Store` over an in-process chDB session."""

    def __init__(self, data_dir: Path | str, database: str = "agentledger") -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database = database
        self._session = chdb_session.Session(str(self.data_dir))
        self._closed = False
        self._close_lock = threading.Lock()
        self.raw(f"CREATE DATABASE IF NOT EXISTS {database}")
        self.raw(f"USE {database}")

    def raw(self, sql: str, fmt: str = "TabSeparated", params: Params | None = None) -> bytes:
        """Run ``sql`` and return the engine's bytes in ``fmt`` (used by the SQL endpoint)."""
        try:
            result = self._session.query(sql, fmt, params=_stringify(params))
        except Exception as exc:  # chDB raises its own error type with the engine's message
            message = str(exc)
            match = _CODE.search(message)
            raise StoreError(message, int(match.group(1)) if match else 0) from None
        data: bytes = result.bytes()
        return data

    def command(self, sql: str, params: Params | None = None) -> None:
        self.raw(sql, "TabSeparated", params)

    def query_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        data = self.raw(sql, "ArrowStream", params)
        if not data:
            return pa.table({})
        with pa.ipc.open_stream(pa.BufferReader(data)) as reader:
            return reader.read_all()

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        columns = ", ".join(f"`{name}`" for name in data.column_names)
        # chDB's Python() table function finds the Arrow table by its name on the call stack.
        arrow_batch = data  # noqa: F841
        self.command(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM Python(arrow_batch)")

    def close(self) -> None:
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self._session.close()


def _stringify(params: Params | None) -> dict[str, str] | None:
    if not params:
        return None
    return {key: _param_text(value) for key, value in params.items()}


def _param_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_quote(v) for v in value) + "]"
    return str(value)


def _quote(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)
