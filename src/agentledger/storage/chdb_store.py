"""The embedded store: the ClickHouse engine in this process (chDB), owning a data directory.

chDB locks its data directory, so exactly one process opens it; every other process reaches the
same data through the ClickHouse-compatible HTTP endpoint that process serves.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from chdb import session as chdb_session

from agentledger.storage.store import Params, StoreError

__all__ = ["ChdbStore"]

_CODE = re.compile(r"Code: (\d+)\.")


@dataclass(frozen=True)
class RawResult:
    """The engine's bytes for one statement and its counters, which the SQL endpoint reports."""

    data: bytes
    rows_read: int
    bytes_read: int
    rows_written: int
    bytes_written: int
    elapsed_s: float


class ChdbStore:
    """A :class:`~agentledger.storage.store.Store` over an in-process chDB session."""

    def __init__(self, data_dir: Path | str, database: str = "agentledger") -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database = database
        self._session = chdb_session.Session(str(self.data_dir))
        self._spill_dir = _spill_dir(self.data_dir)
        self._closed = False
        self._close_lock = threading.Lock()
        # chDB keeps query parameters on the shared connection, not per call: two threads
        # querying at once can run one statement with the other's parameters (or none), seen as
        # "Substitution `q` is not set". The engine runs one query at a time per session anyway.
        self._query_lock = threading.Lock()
        self.raw(f"CREATE DATABASE IF NOT EXISTS {database}")
        self.raw(f"USE {database}")

    def raw(
        self, sql: str, fmt: str = "TabSeparated", params: Mapping[str, str] | None = None
    ) -> bytes:
        """Run ``sql`` and return the engine's bytes in ``fmt``. ``params`` are in ClickHouse's
        escaped text form, as they arrive over HTTP (used by the SQL endpoint)."""
        return self.raw_result(sql, fmt, params).data

    def raw_result(
        self, sql: str, fmt: str = "TabSeparated", params: Mapping[str, str] | None = None
    ) -> RawResult:
        """Like :meth:`raw`, with the read/written counters ClickHouse reports in its summary."""
        try:
            with self._query_lock:
                result = self._session.query(sql, fmt, params=dict(params) if params else None)
        except Exception as exc:  # chDB raises its own error type with the engine's message
            message = str(exc)
            match = _CODE.search(message)
            raise StoreError(message, int(match.group(1)) if match else 0) from None
        return RawResult(
            data=result.bytes(),
            rows_read=result.rows_read(),
            bytes_read=result.bytes_read(),
            rows_written=result.rows_written(),
            bytes_written=result.bytes_written(),
            elapsed_s=result.elapsed(),
        )

    def command(self, sql: str, params: Params | None = None) -> None:
        self.raw(sql, "TabSeparated", _stringify(params))

    def query_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        data = self.raw(sql, "ArrowStream", _stringify(params))
        if not data:
            return pa.table({})
        with pa.ipc.open_stream(pa.BufferReader(data)) as reader:
            return reader.read_all()

    def insert_arrow(self, table: str, data: pa.Table, dedup_token: str | None = None) -> None:
        if data.num_rows == 0:
            return
        columns = ", ".join(f"`{name}`" for name in data.column_names)
        settings = (
            f" SETTINGS insert_deduplication_token = {_quote(dedup_token)}" if dedup_token else ""
        )
        # The batch goes through an Arrow stream file: chDB's Python() table function looks
        # tables up on the call stack and deadlocked against concurrent queries under load.
        with self.scratch_file(".arrows") as spill:
            with pa.OSFile(str(spill), "wb") as sink, pa.ipc.new_stream(sink, data.schema) as out:
                out.write_table(data)
            self.command(
                f"INSERT INTO {table} ({columns}) FROM INFILE {_quote(str(spill))}{settings}"
                " FORMAT ArrowStream"
            )

    @contextmanager
    def scratch_file(self, suffix: str) -> Iterator[Path]:
        """A temporary file in memory-backed /dev/shm where there is one (see LocalEngine)."""
        handle, name = tempfile.mkstemp(suffix=suffix, dir=self._spill_dir)
        os.close(handle)
        try:
            yield Path(name)
        finally:
            os.unlink(name)

    def close(self) -> None:
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self._session.close()


def _spill_dir(data_dir: Path) -> str:
    """Memory-backed /dev/shm when the machine has it, else a folder beside the data."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return str(shm)
    spill = data_dir.parent / f".{data_dir.name}-spill"
    spill.mkdir(exist_ok=True)
    return str(spill)


def _stringify(params: Params | None) -> dict[str, str] | None:
    if not params:
        return None
    return {key: _param_text(value) for key, value in params.items()}


def _param_text(value: object) -> str:
    """A query parameter in the escaped text form ClickHouse reads (as the HTTP interface does)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_quote(v) for v in value) + "]"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return str(value)


def _quote(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)
