"""Sealing decisions into hash chains, one per tenant and writer, so an edit or deletion is
detectable however many collectors write.

A chain is named by ``(TenantId, ChainId)``. Each record gets the next ``Seq`` of its chain,
``PrevHash`` = the previous record's ``Hash``, and ``Hash`` = SHA-256 of its canonical JSON (which
includes ``PrevHash``, and ``ChainId`` when it is not empty, so a record cannot be moved to another
chain unnoticed). Sealing and handing the rows to the sink happen under one lock per tenant, so a
chain never forks inside one process.

Why one chain per writer: a chain's head (last ``Seq`` and ``Hash``) lives in the memory of the
process that extends it. Two collector replicas extending one tenant chain would each read the
same head and write two different records with the same ``Seq``: a fork. Coordinating them would
put a distributed lock on the ingest path; instead each writer owns its chain (``ChainId`` = its
instance id: ``AGENTLEDGER_INSTANCE_ID``, else an id generated once and kept in the collector's
spool directory, see :func:`persistent_chain_id`; the embedded store, which only one process can
open, uses ``''``). A writer that restarts with the same id reads its chain's head from the store
and goes on. Decisions are still one table; ``agentledger audit verify`` walks every
``(TenantId, ChainId)`` chain on its own and reports two records with the same ``Seq`` in one chain
as a fork: two running processes were given the same id (e.g. copies of one spool directory, or
one ``AGENTLEDGER_INSTANCE_ID`` set on every replica), which must not happen.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from agentledger.config import INSTANCE_ID_PATTERN
from agentledger.storage.store import Store, query_rows

__all__ = [
    "CHAIN_ID_FILE",
    "DECISION_SCHEMA",
    "GENESIS",
    "AuditChain",
    "persistent_chain_id",
    "record_hash",
]

GENESIS = "0" * 64
CHAIN_ID_FILE = "instance-id"

DECISION_SCHEMA = pa.schema(
    [
        ("Timestamp", pa.timestamp("ns")),
        ("TenantId", pa.string()),
        ("ChainId", pa.string()),
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

# ChainId is hashed only when set, so records sealed before chains had ids keep their hashes.
_HASHED = [name for name in DECISION_SCHEMA.names if name not in ("Hash", "ChainId")]


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of every field but ``Hash`` (``PrevHash`` included;
    ``ChainId`` when not empty)."""
    canonical = {name: _canonical(record[name]) for name in _HASHED}
    if record.get("ChainId"):
        canonical["ChainId"] = record["ChainId"]
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


def persistent_chain_id(directory: Path) -> str:
    """This writer's chain id, kept in ``directory/instance-id``: read if the file exists, else
    generated (host name and random hex) and written once, so a restart continues the chain."""
    path = directory / CHAIN_ID_FILE
    directory.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:40].strip("-.") or "host"
        draft = directory / f".{CHAIN_ID_FILE}.{secrets.token_hex(8)}"
        draft.write_text(f"{host}-{secrets.token_hex(4)}\n")
        with contextlib.suppress(FileExistsError):  # another process made it first: use its id
            os.link(draft, path)  # the file appears whole, or not at all
        draft.unlink()
    chain_id = path.read_text().strip()
    if not INSTANCE_ID_PATTERN.fullmatch(chain_id):
        raise ValueError(
            f"{path}: {chain_id!r} is not a valid instance id (letters, digits and _.:-, "
            "at most 64); fix or delete the file, or set AGENTLEDGER_INSTANCE_ID"
        )
    return chain_id


class AuditChain:
    """Seals decision records into this writer's chain of each tenant, and inserts them."""

    def __init__(self, store: Store, chain_id: str = "") -> None:
        if chain_id and not INSTANCE_ID_PATTERN.fullmatch(chain_id):
            raise ValueError(
                f"chain id {chain_id!r} is not valid (letters, digits and _.:-, at most 64)"
            )
        self._store = store
        self._chain_id = chain_id
        self._heads: dict[str, tuple[int, str]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def chain_id(self) -> str:
        return self._chain_id

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
                row = dict(record, ChainId=self._chain_id, Seq=seq, PrevHash=prev)
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
            "SELECT Seq, Hash FROM decisions WHERE TenantId = {t:String} AND ChainId = {c:String}"
            " ORDER BY Seq DESC LIMIT 1",
            {"t": tenant, "c": self._chain_id},
        )
        return (int(rows[0]["Seq"]), str(rows[0]["Hash"])) if rows else (0, GENESIS)
