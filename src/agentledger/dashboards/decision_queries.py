"""The Decisions page's SQL: the audit trail with its filters, one decision in full (with its cost
and the KPI outcomes attributed to it), and hash-chain verification of the range shown.

Chain verification re-walks each tenant's chain over the ``Seq`` span the window covers (plus the
record before it, whose ``Hash`` the first one must link to): sequence and links in ClickHouse for
every record, and the newest records' hashes recomputed with :func:`agentledger.audit.record_hash`,
as ``agentledger audit verify`` does for the whole chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from agentledger.analytics.cost import ns_text, priced_usage_sql
from agentledger.analytics.prices import ms_text
from agentledger.audit import ChainBreak, record_hash
from agentledger.audit.chain import GENESIS
from agentledger.dashboards.filters import Filters
from agentledger.dashboards.queries import frame
from agentledger.storage.store import Store

__all__ = [
    "REHASH_LIMIT",
    "ChainStatus",
    "DecisionSearch",
    "chain_status",
    "decision_choices",
    "decision_cost",
    "decision_detail",
    "decision_kpis",
    "search_decisions",
]


@dataclass(frozen=True)
class DecisionSearch:
    """Audit-trail filters beyond the global ones ("" means any; confidence bounds inclusive;
    decisions without a confidence match only the full 0..1 range)."""

    decision_type: str = ""
    verdict: str = ""
    approver: str = ""
    min_confidence: float = 0.0
    max_confidence: float = 1.0
    limit: int = 500

    def __post_init__(self) -> None:
        low, high = self.min_confidence, self.max_confidence
        if not (0.0 <= low <= high <= 1.0) or math.isnan(low) or math.isnan(high):
            raise ValueError(f"confidence range must lie within 0..1 and be ordered: {low}..{high}")
        if not 0 < self.limit <= 10_000:
            raise ValueError("limit must be between 1 and 10000 decisions")

    @property
    def full_confidence(self) -> bool:
        return self.min_confidence == 0.0 and self.max_confidence == 1.0

    def params(self) -> dict[str, object]:
        return {
            "dtype": self.decision_type,
            "verdict": self.verdict,
            "approver": self.approver,
            "cmin": self.min_confidence,
            "cmax": self.max_confidence,
            "cany": int(self.full_confidence),
            "limit": self.limit,
        }


def search_decisions(store: Store, filters: Filters, search: DecisionSearch) -> pd.DataFrame:
    """Decisions in the window matching ``search``, newest first: Timestamp, AgentName,
    DecisionType, Chosen (the verdict), Confidence, ApprovedBy, PolicyFailures (checks whose
    verdict is fail/failed/deny/denied/block/blocked), Seq, DecisionId, TraceId, TenantId."""
    sql = f"""
        SELECT Timestamp, AgentName, DecisionType, Chosen, Confidence, ApprovedBy,
               arrayCount(c -> lower(JSONExtractString(c, 'verdict')) IN
                              ('fail', 'failed', 'deny', 'denied', 'block', 'blocked'),
                          JSONExtractArrayRaw(PolicyChecks)) AS PolicyFailures,
               Seq, DecisionId, TraceId, TenantId
        FROM decisions
        WHERE {filters.where()}
          AND ({{dtype:String}} = '' OR DecisionType = {{dtype:String}})
          AND ({{verdict:String}} = '' OR Chosen = {{verdict:String}})
          AND ({{approver:String}} = '' OR ApprovedBy = {{approver:String}})
          AND ({{cany:UInt8}} = 1
               OR (Confidence >= {{cmin:Float64}} AND Confidence <= {{cmax:Float64}}))
        ORDER BY Timestamp DESC, TenantId, Seq DESC
        LIMIT {{limit:UInt32}}
    """
    return frame(store, sql, filters.params() | search.params())


def decision_choices(store: Store, filters: Filters) -> dict[str, list[str]]:
    """The decision types, verdicts and approvers seen in the window, for the filter menus."""
    sql = f"""
        SELECT groupUniqArray(500)(DecisionType) AS types,
               groupUniqArray(500)(Chosen) AS verdicts,
               groupUniqArrayIf(500)(ApprovedBy, ApprovedBy != '') AS approvers
        FROM decisions
        WHERE {filters.where()}
    """
    row = store.query_arrow(sql, filters.params()).to_pylist()[0]
    return {name: sorted(row[name]) for name in ("types", "verdicts", "approvers")}


def decision_detail(store: Store, tenant: str, decision_id: str) -> dict[str, object] | None:
    """Every field of one decision (of ``tenant`` when given), or None when there is none."""
    sql = """
        SELECT Timestamp, TenantId, Seq, DecisionId, TraceId, SpanId, ServiceName, AgentName,
               AgentVersion, DecisionType, Options, Chosen, Confidence, Inputs, PolicyChecks,
               ApprovedBy, Rationale, ModelName, Attributes, PrevHash, Hash
        FROM decisions
        WHERE DecisionId = {id:String} AND ({tenant:String} = '' OR TenantId = {tenant:String})
        ORDER BY Seq
        LIMIT 1
    """
    rows = store.query_arrow(sql, {"id": decision_id.strip(), "tenant": tenant}).to_pylist()
    return rows[0] if rows else None


def decision_kpis(store: Store, tenant: str, decision_id: str) -> pd.DataFrame:
    """The KPI outcomes attributed to one decision, in time order."""
    sql = """
        SELECT Timestamp, KpiName, Value, Unit, EntityId
        FROM kpi_events
        WHERE DecisionId = {id:String} AND ({tenant:String} = '' OR TenantId = {tenant:String})
        ORDER BY Timestamp, KpiName
    """
    return frame(store, sql, {"id": decision_id.strip(), "tenant": tenant})


def decision_cost(store: Store, tenant: str, trace_id: str, at: datetime) -> pd.DataFrame:
    """The token cost of a decision at ``at`` in trace ``trace_id``, priced now: the trace's LLM
    spans (within a day either side of the decision), shared equally by the decisions recorded
    in that trace, as ``agentledger cost --by decision`` does. One row per model: Spans,
    InputTokens, OutputTokens, CostUsd, UnpricedTokens, Share (1 / decisions in the trace)."""
    where = "AND TenantId = {tenant:String} AND TraceId = {trace:String}"
    sql = f"""
        SELECT u.ModelName AS ModelName, u.Spans AS Spans, u.InputTokens AS InputTokens,
               u.OutputTokens AS OutputTokens, u.CostUsd * s.Share AS CostUsd,
               u.UnpricedTokens AS UnpricedTokens, s.Share AS Share
        FROM ({priced_usage_sql(["ModelName"], where)}) AS u
        CROSS JOIN (SELECT 1 / greatest(count(), 1) AS Share FROM decisions
                    WHERE TenantId = {{tenant:String}} AND TraceId = {{trace:String}}) AS s
        ORDER BY CostUsd DESC, ModelName
    """
    params = {
        "start": ns_text(at - timedelta(days=1)),
        "end": ns_text(at + timedelta(days=1)),
        "as_of": ms_text(None),
        "tenant": tenant,
        "trace": trace_id,
    }
    return frame(store, sql, params)


REHASH_LIMIT = 1000
"""How many of a tenant's newest records in the range have their content re-hashed in Python;
sequence and links are checked in ClickHouse for every record of the range."""


@dataclass(frozen=True)
class ChainStatus:
    """The verdict on the chain records that cover the window: how many were checked (sequence
    and links), how many re-hashed, per tenant the Seq span, and each broken chain's first break."""

    checked: int
    rehashed: int
    spans: dict[tuple[str, str], tuple[int, int]]
    breaks: list[ChainBreak]

    @property
    def ok(self) -> bool:
        return not self.breaks


def chain_status(store: Store, filters: Filters, rehash_limit: int = REHASH_LIMIT) -> ChainStatus:
    """Verify each chain (per tenant and collector, ``ChainId``) from the first to the last
    ``Seq`` in the window.

    ClickHouse checks that every ``Seq`` is there and every ``PrevHash`` equals the previous
    record's ``Hash`` (anchored on the record before the range, or the genesis hash); Python
    recomputes the hash of the newest ``rehash_limit`` records (an edit that left ``Hash`` alone
    shows there). Service and agent filters do not narrow it: a chain holds every agent's records,
    so every record between the first and the last is checked.
    """
    bounds_sql = f"""
        SELECT TenantId, ChainId, min(Seq) AS lo, max(Seq) AS hi
        FROM decisions
        WHERE {filters.where(service=None, agent=None)}
        GROUP BY TenantId, ChainId
        ORDER BY TenantId, ChainId
    """
    bounds = store.query_arrow(bounds_sql, filters.params()).to_pylist()
    checked = rehashed = 0
    breaks: list[ChainBreak] = []
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for row in bounds:
        chain = _Chain(str(row["TenantId"]), str(row["ChainId"]))
        lo, hi = int(row["lo"]), int(row["hi"])
        spans[(chain.tenant, chain.chain)] = (lo, hi)
        found = _links(store, chain, lo, hi)
        if found is None:
            first = max(lo, hi - rehash_limit + 1)
            found = _rehash(store, chain, first, hi)
            rehashed += hi - first + 1
        checked += hi - lo + 1
        if found is not None:
            breaks.append(found)
    return ChainStatus(checked, rehashed, spans, breaks)


_LINKS = """
    SELECT Seq, DecisionId, PrevHash = expected AS linked, Seq = prev_seq + 1 AS next
    FROM (
        SELECT Seq, DecisionId, PrevHash,
               lagInFrame(Hash, 1, {genesis:String}) OVER w AS expected,
               lagInFrame(Seq, 1, toUInt64(0)) OVER w AS prev_seq
        FROM decisions
        WHERE TenantId = {t:String} AND ChainId = {c:String}
          AND Seq >= {from:UInt64} AND Seq <= {hi:UInt64}
        WINDOW w AS (ORDER BY Seq ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
    )
    WHERE Seq >= {lo:UInt64} AND NOT (linked AND next)
    ORDER BY Seq
    LIMIT 1
"""


@dataclass(frozen=True)
class _Chain:
    tenant: str
    chain: str

    def params(self) -> dict[str, object]:
        return {"t": self.tenant, "c": self.chain}

    def broken(self, seq: int, decision_id: str, reason: str) -> ChainBreak:
        return ChainBreak(self.tenant, seq, decision_id, reason, self.chain)


_IN_CHAIN = "TenantId = {t:String} AND ChainId = {c:String}"


def _links(store: Store, chain: _Chain, lo: int, hi: int) -> ChainBreak | None:
    """The first record of ``[lo, hi]`` that does not follow its predecessor, if any."""
    anchor = max(lo - 1, 1)
    if lo > 1:
        present = store.query_arrow(
            f"SELECT count() AS n FROM decisions WHERE {_IN_CHAIN} AND Seq = {{s:UInt64}}",
            chain.params() | {"s": anchor},
        ).to_pylist()[0]["n"]
        if not present:
            return chain.broken(anchor, "", _GAP.format(seq=anchor))
    params = chain.params() | {"from": anchor, "lo": lo, "hi": hi, "genesis": GENESIS}
    rows = store.query_arrow(_LINKS, params if lo > 1 else params | {"from": 1}).to_pylist()
    if not rows:
        return None
    bad = rows[0]
    reason = _RELINKED if bad["next"] else _GAP_BEFORE
    return chain.broken(int(bad["Seq"]), str(bad["DecisionId"]), reason)


def _rehash(store: Store, chain: _Chain, first: int, hi: int) -> ChainBreak | None:
    rows = store.query_arrow(
        "SELECT * REPLACE (toUnixTimestamp64Nano(Timestamp) AS Timestamp) FROM decisions"
        f" WHERE {_IN_CHAIN} AND Seq >= {{lo:UInt64}} AND Seq <= {{hi:UInt64}} ORDER BY Seq",
        chain.params() | {"lo": first, "hi": hi},
    ).to_pylist()
    for row in rows:
        if record_hash(row) != row["Hash"]:
            return chain.broken(int(row["Seq"]), str(row["DecisionId"]), _EDITED)
    return None


_GAP = "sequence gap: Seq {seq} is missing (a record was removed)"
_GAP_BEFORE = "sequence gap before this record (a record was removed)"
_RELINKED = "PrevHash does not match the previous record's Hash (the chain was altered)"
_EDITED = "Hash does not match the record's contents (the record was edited)"
