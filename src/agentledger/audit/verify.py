"""Re-walking every decision chain to prove nothing was edited, removed, reordered or forked.

Chains are named by ``(TenantId, ChainId)`` (one per tenant and writer, see
:mod:`agentledger.audit.chain`) and each is walked on its own in ``Seq`` order. Two records with
the same ``Seq`` in one chain are a fork: two running writers were given the same chain id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from agentledger.audit.chain import GENESIS, record_hash
from agentledger.storage.store import Store

__all__ = ["ChainBreak", "ChainReport", "VerifyResult", "verify_chain"]


@dataclass(frozen=True)
class ChainBreak:
    tenant: str
    seq: int
    decision_id: str
    reason: str
    chain: str = ""


@dataclass(frozen=True)
class ChainReport:
    """One chain's walk: records checked, the last ``Seq`` reached, and its first break."""

    tenant: str
    chain: str
    checked: int
    last_seq: int
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    breaks: list[ChainBreak]
    chains: list[ChainReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify_chain(
    store: Store,
    tenant: str | None = None,
    batch_rows: int = 50_000,
    *,
    chain: str | None = None,
) -> VerifyResult:
    """Check every decision's hash, link and place in ``Seq`` order, chain by chain (all of
    ``tenant``'s, or only ``chain``); name each broken chain's first bad record."""
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    conditions, params = [], {}
    if tenant is not None:
        conditions.append("TenantId = {t:String}")
        params["t"] = tenant
    if chain is not None:
        conditions.append("ChainId = {c:String}")
        params["c"] = chain
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    found = store.query_arrow(
        f"SELECT DISTINCT TenantId, ChainId FROM decisions {where} ORDER BY TenantId, ChainId",
        params or None,
    ).to_pylist()
    reports = [_walk(store, row["TenantId"], row["ChainId"], batch_rows) for row in found]
    return VerifyResult(
        sum(report.checked for report in reports),
        [report.first_break for report in reports if report.first_break is not None],
        reports,
    )


def _walk(store: Store, tenant: str, chain: str, batch_rows: int) -> ChainReport:
    """Walk one chain in pages of about ``batch_rows`` by Seq (records sharing a Seq stay in one
    page, so a fork is seen whole); stop at the first break."""
    expected_seq, prev, checked = 1, GENESIS, 0
    while True:
        rows = store.query_arrow(
            "SELECT * REPLACE (toUnixTimestamp64Nano(Timestamp) AS Timestamp) FROM decisions"
            " WHERE TenantId = {t:String} AND ChainId = {c:String} AND Seq >= {s:UInt64}"
            " ORDER BY Seq LIMIT {n:UInt64} WITH TIES",
            {"t": tenant, "c": chain, "s": expected_seq, "n": batch_rows},
        ).to_pylist()
        for seq, group in groupby(sorted(rows, key=lambda r: (r["Seq"], r["Hash"])), _seq):
            records = list(group)
            checked += len(records)
            problem = _problem(records, expected_seq, prev)
            if problem:
                bad = records[1] if len(records) > 1 else records[0]
                first = ChainBreak(tenant, seq, str(bad["DecisionId"]), problem, chain)
                return ChainReport(tenant, chain, checked, expected_seq - 1, first)
            expected_seq, prev = expected_seq + 1, records[0]["Hash"]
        if len(rows) < batch_rows:
            return ChainReport(tenant, chain, checked, expected_seq - 1, None)


def _seq(row: dict[str, Any]) -> int:
    return int(row["Seq"])


def _problem(records: list[dict[str, Any]], expected_seq: int, prev: str) -> str:
    row = records[0]
    if row["Seq"] != expected_seq:
        return (
            f"sequence gap: expected Seq {expected_seq}, found {row['Seq']} (a record was removed)"
        )
    if len(records) > 1:
        others = ", ".join(str(r["DecisionId"]) for r in records if r is not records[1])
        return (
            f"fork: {len(records)} records have Seq {row['Seq']} in this chain (also {others});"
            " two writers used the same chain id"
        )
    if row["PrevHash"] != prev:
        return "PrevHash does not match the previous record's Hash (the chain was altered)"
    if record_hash(row) != row["Hash"]:
        return "Hash does not match the record's contents (the record was edited)"
    return ""
