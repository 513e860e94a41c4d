"""Sealing decisions into a per-tenant hash chain, so an edit or deletion is detectable.

Each record gets the next ``Seq`` of its tenant, ``PrevHash`` = the previous record's ``Hash``, and
``Hash`` = SHA-256 of its canonical JSON (which includes ``PrevHash``). Sealing and inserting happen
under one lock per tenant, so the chain in storage never forks.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from agentledger.storage.store import Store, query_rows

__all__ = ["DECISION_SCHEMA", "GENESIS", "AuditChain", "record_hash"]

GENESIS = "0" * 64

DECISION_SCHEMA = pa.schema(
    [
        ("Timestamp", pa.timestamp("ns")),
        ("TenantId", pa.string()),
        ("Seq", pa.uint64()),
        ("DecisionId", pa.string()),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("ServiceName", pa.string()),
        ("AgentName", pa.string()),
        ("AgentVersion", pa.string()),
        ("DecisionType", pa.string()),
        ("Options", pa.list_(pa.string())),
        ("Chosen", pa.string()),
        ("Confidence", pa.float64()),
        ("Inputs", pa.list_(pa.string())),
        ("PolicyChecks", pa.string()),
        ("ApprovedBy", pa.string()),
        ("Rationale", pa.string()),
        ("ModelName", pa.string()),
        ("Attributes", pa.map_(pa.string(), pa.string())),
        ("PrevHash", pa.string()),
        ("Hash", pa.string()),
    ]
)

Sink = Callable[[pa.Table], None]

_HASHED = [name for name in DECISION_SCHEMA.names if name != "Hash"]


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of every field but ``Hash`` (``PrevHash`` included)."""
    canonical = {name: _canonical(record[name]) for name in _HASHED}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {str(k): _canonical(v) for k, v in value}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    return value


class AuditChain:
    """Seals decision records and inserts them, one tenant at a time."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._heads: dict[str, tuple[int, str]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def append(self, records: list[dict[str, Any]], sink: Sink | None = None) -> int:
        """Seal ``records`` (grouped by tenant) and hand each tenant's sealed rows to ``sink``
        (default: insert into ``decisions``); the chain advances only if the sink succeeds."""
        by_tenant: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_tenant.setdefault(record["TenantId"], []).append(record)
        for tenant, batch in by_tenant.items():
            self._append_tenant(tenant, batch, sink or self._insert)
        return len(records)

    def _insert(self, sealed: pa.Table) -> None:
        self._store.insert_arrow("decisions", sealed)

    def _append_tenant(self, tenant: str, batch: list[dict[str, Any]], sink: Sink) -> None:
        with self._lock_for(tenant):
            seq, prev = self._heads.get(tenant) or self._load_head(tenant)
            sealed = []
            for record in batch:
                seq += 1
                row = dict(record, Seq=seq, PrevHash=prev)
                row["Hash"] = prev = record_hash(row)
                row["Attributes"] = list(row["Attributes"].items())
                sealed.append(row)
            sink(pa.Table.from_pylist(sealed, DECISION_SCHEMA))
            self._heads[tenant] = (seq, prev)

    def _lock_for(self, tenant: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant, threading.Lock())

    def _load_head(self, tenant: str) -> tuple[int, str]:
        rows = query_rows(
            self._store,
            "SELECT Seq, Hash FROM decisions WHERE TenantId = {t:String} ORDER BY Seq DESC LIMIT 1",
            {"t": tenant},
        )
        return (int(rows[0]["Seq"]), str(rows[0]["Hash"])) if rows else (0, GENESIS)
