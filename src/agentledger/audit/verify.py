"""Re-walking each tenant's decision chain to prove nothing was edited, removed or reordered."""

from __future__ import annotations

from dataclasses import dataclass

from agentledger.audit.chain import GENESIS, record_hash
from agentledger.storage.store import Store

__all__ = ["ChainBreak", "VerifyResult", "verify_chain"]


@dataclass(frozen=True)
class ChainBreak:
    tenant: str
    seq: int
    decision_id: str
    reason: str


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    breaks: list[ChainBreak]

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify_chain(store: Store, tenant: str | None = None, batch_rows: int = 50_000) -> VerifyResult:
    """Check every decision's hash and link, in ``Seq`` order per tenant; name the first break."""
    where = "WHERE TenantId = {t:String}" if tenant is not None else ""
    tenants = [
        row["TenantId"]
        for row in store.query_arrow(
            f"SELECT DISTINCT TenantId FROM decisions {where} ORDER BY TenantId",
            {"t": tenant} if tenant is not None else None,
        ).to_pylist()
    ]
    checked = 0
    breaks: list[ChainBreak] = []
    for name in tenants:
        found, checked_here = _verify_tenant(store, name, batch_rows)
        checked += checked_here
        breaks += found
    return VerifyResult(checked, breaks)


def _verify_tenant(store: Store, tenant: str, batch_rows: int) -> tuple[list[ChainBreak], int]:
    """Walk one chain in pages of ``batch_rows`` by Seq; stop at the first break."""
    expected_seq, prev, checked = 1, GENESIS, 0
    while True:
        rows = store.query_arrow(
            "SELECT * REPLACE (toUnixTimestamp64Nano(Timestamp) AS Timestamp) FROM decisions"
            " WHERE TenantId = {t:String} AND Seq >= {s:UInt64} ORDER BY Seq LIMIT {n:UInt64}",
            {"t": tenant, "s": expected_seq, "n": batch_rows},
        ).to_pylist()
        for row in rows:
            checked += 1
            problem = _problem(row, expected_seq, prev)
            if problem:
                return [
                    ChainBreak(tenant, int(row["Seq"]), str(row["DecisionId"]), problem)
                ], checked
            expected_seq, prev = expected_seq + 1, row["Hash"]
        if len(rows) < batch_rows:
            return [], checked


def _problem(row: dict[str, object], expected_seq: int, prev: str) -> str:
    if row["Seq"] != expected_seq:
        return (
            f"sequence gap: expected Seq {expected_seq}, found {row['Seq']} (a record was removed)"
        )
    if row["PrevHash"] != prev:
        return "PrevHash does not match the previous record's Hash (the chain was altered)"
    if record_hash(row) != row["Hash"]:
        return "Hash does not match the record's contents (the record was edited)"
    return ""
