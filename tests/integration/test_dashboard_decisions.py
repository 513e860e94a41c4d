"""The Decisions page against real data: the audit trail's filters, a decision in full and the
hash-chain status of the shown range, on chDB and then over the SQL endpoint."""

from __future__ import annotations

import pytest

from agentledger.dashboards import decision_queries as dq
from agentledger.dashboards.filters import Filters
from agentledger.dashboards.timerange import window_for
from agentledger.storage.chdb_store import ChdbStore

from ..browser.dashboard_data import BASE, TRACE_PLANNER, seed
from ..browser.dashboard_fixtures import dashboard_store, page_app, reader_url

__all__ = ["dashboard_store", "reader_url"]

ACME = Filters(window_for("1h"), tenant="acme")


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (dq.DecisionSearch(), ["d3", "d2", "d1"]),
        (dq.DecisionSearch(decision_type="refund"), ["d3"]),
        (dq.DecisionSearch(verdict="formal"), ["d2"]),
        (dq.DecisionSearch(approver="alice"), ["d3", "d2"]),
        (dq.DecisionSearch(min_confidence=0.8), ["d1"]),
        (dq.DecisionSearch(min_confidence=0.5, max_confidence=0.8), ["d3"]),
    ],
)
def test_search_decisions(
    dashboard_store: ChdbStore, search: dq.DecisionSearch, expected: list[str]
) -> None:
    assert list(dq.search_decisions(dashboard_store, ACME, search)["DecisionId"]) == expected


def test_search_counts_failed_policy_checks(dashboard_store: ChdbStore) -> None:
    found = dq.search_decisions(dashboard_store, ACME, dq.DecisionSearch()).set_index("DecisionId")
    assert dict(found["PolicyFailures"]) == {"d3": 1, "d2": 0, "d1": 0}
    assert dict(found["Seq"]) == {"d3": 4, "d2": 3, "d1": 2}


def test_bad_confidence_range_is_refused() -> None:
    with pytest.raises(ValueError, match="confidence range"):
        dq.DecisionSearch(min_confidence=0.9, max_confidence=0.2)


def test_choices_and_detail(dashboard_store: ChdbStore) -> None:
    assert dq.decision_choices(dashboard_store, ACME) == {
        "types": ["refund", "route", "tone"],
        "verdicts": ["approve", "billing", "formal"],
        "approvers": ["alice"],
    }
    detail = dq.decision_detail(dashboard_store, "acme", "d1")
    assert detail is not None
    assert (detail["Chosen"], detail["Options"], detail["Inputs"]) == (
        "billing",
        ["billing", "tech"],
        ["document:faq@v3"],
    )
    assert dq.decision_detail(dashboard_store, "acme", "g1") is None  # globex's
    kpis = dq.decision_kpis(dashboard_store, "acme", "d1")
    assert list(kpis["KpiName"]) == ["tickets_resolved"] * 3


def test_decision_cost_is_its_trace_priced_now(dashboard_store: ChdbStore) -> None:
    cost = dq.decision_cost(dashboard_store, "acme", TRACE_PLANNER, BASE)
    assert list(cost["ModelName"]) == ["gpt-4o-mini"]
    row = cost.iloc[0]
    assert (row["InputTokens"], row["OutputTokens"], row["Share"]) == (100, 20, 1.0)
    # gpt-4o-mini list price: $0.15 in / $0.60 out per million tokens
    assert row["CostUsd"] == pytest.approx((100 * 0.15 + 20 * 0.60) / 1e6)


def test_chain_status_checks_the_shown_range(dashboard_store: ChdbStore) -> None:
    status = dq.chain_status(dashboard_store, ACME)
    assert status.ok and (status.checked, status.rehashed) == (3, 3)
    assert status.spans == {("acme", ""): (2, 4)}  # d0 (3 days old) is the anchor, not checked
    everyone = dq.chain_status(dashboard_store, Filters(window_for("7d")))
    assert everyone.ok and everyone.spans == {("acme", ""): (1, 4), ("globex", ""): (1, 1)}


def test_chain_status_names_an_edited_and_a_removed_record(dashboard_store: ChdbStore) -> None:
    try:
        dashboard_store.command(
            "ALTER TABLE decisions UPDATE Chosen = 'deny' WHERE DecisionId = 'd2'"
            " SETTINGS mutations_sync = 2"
        )
        edited = dq.chain_status(dashboard_store, ACME)
        assert [(b.seq, b.decision_id) for b in edited.breaks] == [(3, "d2")]
        assert "edited" in edited.breaks[0].reason
        dashboard_store.command(
            "ALTER TABLE decisions DELETE WHERE DecisionId = 'd0' SETTINGS mutations_sync = 2"
        )
        removed = dq.chain_status(dashboard_store, ACME)
        assert removed.breaks[0].seq == 1 and "removed" in removed.breaks[0].reason
    finally:
        seed(dashboard_store)


def test_chain_status_links_in_sql_and_rehashes_the_newest(dashboard_store: ChdbStore) -> None:
    try:
        dashboard_store.command(
            "ALTER TABLE decisions UPDATE Chosen = 'deny' WHERE DecisionId = 'd2'"
            " SETTINGS mutations_sync = 2"
        )
        newest_only = dq.chain_status(dashboard_store, ACME, rehash_limit=1)
        assert newest_only.ok and newest_only.rehashed == 1  # the edit is older than that
        dashboard_store.command(
            "ALTER TABLE decisions UPDATE Hash = lower(hex(SHA256('forged')))"
            " WHERE DecisionId = 'd2' SETTINGS mutations_sync = 2"
        )
        relinked = dq.chain_status(dashboard_store, ACME, rehash_limit=1)
        assert [(b.seq, b.decision_id) for b in relinked.breaks] == [(4, "d3")]
        assert "altered" in relinked.breaks[0].reason
        dashboard_store.command(
            "ALTER TABLE decisions DELETE WHERE DecisionId = 'd2' SETTINGS mutations_sync = 2"
        )
        gap = dq.chain_status(dashboard_store, ACME)
        assert gap.breaks[0].seq == 4 and "removed" in gap.breaks[0].reason
    finally:
        seed(dashboard_store)


# --- the page ----------------------------------------------------------------------------------


def test_decisions_page_trail_and_chain(reader_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page_app("decisions", reader_url, monkeypatch, {"tenant": "acme"})
    assert not app.error
    assert "Hash chain intact" in app.success[0].value
    assert "3 records in sequence" in app.success[0].value
    assert "acme Seq 2 to 4" in app.success[0].value
    trail = next(f.value for f in app.dataframe if "PolicyFailures" in f.value.columns)
    assert list(trail["DecisionId"]) == ["d3", "d2", "d1"]
    assert "decision_id=d1" in trail["Lineage"][2] and trail["Lineage"][2].startswith("/lineage?")
    assert f"trace_id={TRACE_PLANNER}" in trail["Trace"][2]
    assert app.selectbox(key="type").options == ["(any)", "refund", "route", "tone"]


def test_decisions_page_filters_from_the_url(
    reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = page_app("decisions", reader_url, monkeypatch, {"tenant": "acme", "approver": "alice"})
    trail = next(f.value for f in app.dataframe if "PolicyFailures" in f.value.columns)
    assert list(trail["DecisionId"]) == ["d3", "d2"]


def test_decisions_page_opens_a_decision(reader_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page_app("decisions", reader_url, monkeypatch, {"decision_id": "d3"})
    assert not app.error
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Verdict"] == "approve"
    assert metrics["Confidence"] == "0.75"
    assert metrics["Approved by"] == "alice"
    checks = next(f.value for f in app.dataframe if "policy_id" in f.value.columns)
    assert dict(zip(checks["policy_id"], checks["verdict"], strict=True)) == {
        "refund-limit-500": "pass",
        "fraud-review": "fail",
    }
    options = next(f.value for f in app.dataframe if "Option" in f.value.columns)
    assert list(options[options["Chosen"]]["Option"]) == ["approve"]
    kpis = next(f.value for f in app.dataframe if "KpiName" in f.value.columns)
    assert list(kpis["Value"]) == [10.0]
    assert any("decision_id=d3" in md.value and "/lineage?" in md.value for md in app.markdown)


def test_decision_with_a_trace_shows_its_cost(
    reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = page_app("decisions", reader_url, monkeypatch, {"decision_id": "d1"})
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Decision cost (USD)"] == "$0.0000"  # 100 + 20 gpt-4o-mini tokens
    cost = next(f.value for f in app.dataframe if "CostUsd" in f.value.columns)
    assert cost["CostUsd"][0] == pytest.approx(2.7e-5)


def test_decisions_page_shows_a_broken_chain(
    dashboard_store: ChdbStore, reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        dashboard_store.command(
            "ALTER TABLE decisions UPDATE Rationale = 'rewritten' WHERE DecisionId = 'd3'"
            " SETTINGS mutations_sync = 2"
        )
        app = page_app("decisions", reader_url, monkeypatch, {"tenant": "acme"})
        assert len(app.error) == 1
        assert "Seq 4 (decision d3)" in app.error[0].value and "edited" in app.error[0].value
    finally:
        seed(dashboard_store)
