"""The per-tenant decision hash chain: sealed on ingest, verified later, tampering named."""

from __future__ import annotations

import threading
import time

from agentledger.audit import verify_chain
from agentledger.audit.chain import GENESIS, AuditChain
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import query_rows


def _decision(tenant: str, i: int) -> dict[str, object]:
    return {
        "Timestamp": time.time_ns() - 3_600_000_000_000 + i,
        "TenantId": tenant,
        "DecisionId": f"{tenant}-{i}",
        "TraceId": "ab" * 16,
        "SpanId": "cd" * 8,
        "ServiceName": "svc",
        "AgentName": "a",
        "AgentVersion": "1",
        "DecisionType": "refund",
        "Options": ["approve", "deny"],
        "Chosen": "deny",
        "Confidence": 0.1 * (i % 10) if i % 3 else None,
        "Inputs": [f"doc:{i}"],
        "PolicyChecks": "[]",
        "ApprovedBy": "",
        "Rationale": "r",
        "ModelName": "m",
        "Attributes": {"k": str(i)},
    }


def test_chain_links_per_tenant_and_survives_a_restart(store: ChdbStore) -> None:
    AuditChain(store).append(
        [_decision("chain-a", i) for i in range(3)] + [_decision("chain-b", 0)]
    )
    AuditChain(store).append([_decision("chain-a", 3)])  # a new chain object resumes from storage
    rows = query_rows(
        store, "SELECT Seq, PrevHash, Hash FROM decisions WHERE TenantId = 'chain-a' ORDER BY Seq"
    )
    assert [r["Seq"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["PrevHash"] == GENESIS
    assert all(rows[i]["PrevHash"] == rows[i - 1]["Hash"] for i in range(1, 4))
    result = verify_chain(store, "chain-a")
    assert result.ok and result.checked == 4


def test_concurrent_appends_never_fork_the_chain(store: ChdbStore) -> None:
    chain = AuditChain(store)
    threads = [
        threading.Thread(target=chain.append, args=([_decision("chain-c", i)],)) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert verify_chain(store, "chain-c").checked == 8
    assert verify_chain(store, "chain-c").ok


def test_an_edited_record_is_named(store: ChdbStore) -> None:
    AuditChain(store).append([_decision("chain-d", i) for i in range(5)])
    store.command(
        "ALTER TABLE decisions UPDATE Chosen = 'approve' WHERE DecisionId = 'chain-d-2'"
        " SETTINGS mutations_sync = 1"
    )
    result = verify_chain(store, "chain-d")
    assert not result.ok
    (chain_break,) = result.breaks
    assert (chain_break.seq, chain_break.decision_id) == (3, "chain-d-2")
    assert "edited" in chain_break.reason


def test_a_deleted_record_is_named(store: ChdbStore) -> None:
    AuditChain(store).append([_decision("chain-e", i) for i in range(4)])
    store.command("DELETE FROM decisions WHERE DecisionId = 'chain-e-1'")
    (chain_break,) = verify_chain(store, "chain-e").breaks
    assert chain_break.seq == 3 and "removed" in chain_break.reason
