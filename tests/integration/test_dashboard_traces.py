"""The Traces page against real data: search and a single trace on chDB, then the page over the
SQL endpoint (search from URL parameters, a trace opened by ``?trace_id=``)."""

from __future__ import annotations

import pandas as pd
import pytest

from agentledger.dashboards import trace_queries as tq
from agentledger.dashboards.filters import Filters
from agentledger.dashboards.timerange import window_for
from agentledger.storage.chdb_store import ChdbStore

from ..browser.dashboard_data import TRACE_GLOBEX, TRACE_PLANNER, TRACE_WRITER_ERROR
from ..browser.dashboard_fixtures import dashboard_store, page_app, reader_url

__all__ = ["dashboard_store", "reader_url"]

ACME = Filters(window_for("1h"), tenant="acme")


def _ids(frame: pd.DataFrame) -> list[str]:
    return list(frame["TraceId"])


def test_search_lists_newest_traces_with_their_summary(dashboard_store: ChdbStore) -> None:
    found = tq.search_traces(dashboard_store, ACME, tq.TraceSearch())
    assert len(found) == 5
    assert found["TraceId"].iloc[0] == TRACE_WRITER_ERROR  # the newest
    top = found.iloc[0]
    assert (top["Root"], top["Agent"], top["Spans"], top["Errors"]) == ("write", "writer", 2, 1)
    assert top["DurationMs"] == pytest.approx(3000.0)
    planner = found.set_index("TraceId").loc[TRACE_PLANNER]
    assert (planner["Models"], planner["Tokens"]) == ("gpt-4o-mini", 120)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (tq.TraceSearch(status="Error"), [TRACE_WRITER_ERROR]),
        (tq.TraceSearch(model="claude-haiku"), None),  # the two writer traces
        (tq.TraceSearch(attribute_key="customer.tier", attribute_value="gold"), [TRACE_PLANNER]),
        (tq.TraceSearch(attribute_key="deployment.environment", attribute_value="test"), None),
        (tq.TraceSearch(trace_id=TRACE_PLANNER.upper()), [TRACE_PLANNER]),
        (tq.TraceSearch(trace_id=TRACE_GLOBEX), []),  # another tenant's trace
    ],
)
def test_search_criteria(
    dashboard_store: ChdbStore, search: tq.TraceSearch, expected: list[str] | None
) -> None:
    found = _ids(tq.search_traces(dashboard_store, ACME, search))
    if expected is None:
        assert len(found) == (2 if search.model else 5)
    else:
        assert found == expected


def test_search_by_agent_keeps_the_whole_trace(dashboard_store: ChdbStore) -> None:
    writer = Filters(ACME.window, tenant="acme", agent="writer")
    found = tq.search_traces(dashboard_store, writer, tq.TraceSearch())
    assert len(found) == 2
    assert set(found["Spans"]) == {2}  # the chat child (no agent name) is counted too


def test_bad_search_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="status must be one of"):
        tq.TraceSearch(status="broken")
    with pytest.raises(ValueError, match="needs the attribute key"):
        tq.TraceSearch(attribute_value="gold")


def test_trace_spans_with_events_links_and_offsets(dashboard_store: ChdbStore) -> None:
    spans = tq.trace_spans(dashboard_store, "acme", TRACE_PLANNER)
    assert list(spans["SpanId"]) == ["p0a", "p0b"]
    assert list(spans["Kind"]) == ["invoke_agent", "chat"]
    assert list(spans["StartMs"]) == pytest.approx([0.0, 10.0])
    assert list(spans["DurationMs"]) == pytest.approx([100.0, 50.0])
    root = spans.iloc[0]
    assert list(root["EventNames"]) == ["retry"]
    assert list(root["LinkTraceIds"]) == [TRACE_WRITER_ERROR]
    assert dict(spans.iloc[1]["SpanAttributes"])["gen_ai.request.model"] == "gpt-4o-mini"
    assert tq.trace_spans(dashboard_store, "acme", TRACE_GLOBEX).empty
    assert len(tq.trace_spans(dashboard_store, "", TRACE_GLOBEX)) == 2


def test_trace_decisions(dashboard_store: ChdbStore) -> None:
    found = tq.trace_decisions(dashboard_store, "acme", TRACE_PLANNER)
    assert list(found["DecisionId"]) == ["d1"]
    assert tq.trace_decisions(dashboard_store, "acme", TRACE_GLOBEX).empty


# --- the page ----------------------------------------------------------------------------------


def test_traces_page_searches_from_the_url(
    reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = page_app("traces", reader_url, monkeypatch, {"tenant": "acme", "status": "Error"})
    assert not app.error
    found = app.dataframe[0].value
    assert list(found["TraceId"]) == [TRACE_WRITER_ERROR]
    assert f"trace_id={TRACE_WRITER_ERROR}" in found["Open"][0]
    assert "tenant=acme" in found["Open"][0]  # the link keeps the global filters
    everything = page_app("traces", reader_url, monkeypatch, {"tenant": "acme"})
    assert len(everything.dataframe[0].value) == 5


def test_traces_page_opens_a_trace(reader_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page_app("traces", reader_url, monkeypatch, {"trace_id": TRACE_PLANNER})
    assert not app.error
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {
        "Spans": "2",
        "Duration": "100.0 ms",
        "Errors": "0",
        "Root": "invoke_agent planner",
    }
    waterfall = next(f.value for f in app.dataframe if "EndMs" in f.value.columns)
    assert list(waterfall["Kind"]) == ["invoke_agent", "chat"]
    attributes = next(f.value for f in app.dataframe if list(f.value.columns) == ["Key", "Value"])
    assert dict(zip(attributes["Key"], attributes["Value"], strict=True))["gen_ai.agent.name"] == (
        "planner"
    )
    decisions = next(f.value for f in app.dataframe if "Lineage" in f.value.columns)
    assert list(decisions["DecisionId"]) == ["d1"]
    assert "/lineage?" in decisions["Lineage"][0] and "decision_id=d1" in decisions["Lineage"][0]
    assert any(f"trace_id={TRACE_PLANNER}" in md.value for md in app.markdown)  # lineage link
    app.selectbox(key="span").select(1).run()
    attributes = next(f.value for f in app.dataframe if list(f.value.columns) == ["Key", "Value"])
    assert dict(zip(attributes["Key"], attributes["Value"], strict=True))["customer.tier"] == "gold"


def test_bad_status_in_the_url_is_explained(
    reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = page_app("traces", reader_url, monkeypatch, {"tenant": "acme", "status": "broken"})
    assert app.selectbox(key="status").value == "broken"  # kept, not silently widened
    assert "status must be one of Error, Ok, Unset" in app.warning[0].value
    assert not app.error


def test_unknown_trace_says_so(reader_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page_app("traces", reader_url, monkeypatch, {"trace_id": "f" * 32})
    assert "No trace ffff" in app.warning[0].value
    assert not app.error
