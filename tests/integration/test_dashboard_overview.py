"""The Overview page against real data: its queries on chDB, then the page over the SQL endpoint.

The two-tenant dataset of :mod:`tests.browser.dashboard_data` has hand-computable answers
(durations, an error, tokens, a superseded cost rollup, decisions, KPIs, an anomaly, rows in the
previous period and outside every window).
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from agentledger.config import Settings, mask_url
from agentledger.dashboards import APP_PATH, dashboard_command, queries
from agentledger.dashboards.filters import Filters
from agentledger.dashboards.timerange import window_for
from agentledger.storage.chdb_store import ChdbStore

from ..browser.dashboard_data import BASE, truncate
from ..browser.dashboard_fixtures import dashboard_store, page_app, reader_url
from ..conftest import free_port

__all__ = ["dashboard_store", "reader_url"]

ACME = Filters(window_for("1h"), tenant="acme")


def _frame_with(app: AppTest, column: str) -> pd.DataFrame:
    return next(f.value for f in app.dataframe if column in f.value.columns)


# --- queries, straight against chDB ------------------------------------------------------------


def test_period_totals_against_the_previous_period(dashboard_store: ChdbStore) -> None:
    totals = queries.period_totals(dashboard_store, ACME).set_index("Period")
    now, before = totals.loc["current"], totals.loc["previous"]
    assert (now["Spans"], now["Traces"], now["Errors"]) == (10, 5, 1)
    assert now["ErrorRate"] == pytest.approx(0.1)
    assert now["P95Ms"] == pytest.approx(2600.0)  # runs 100, 200, 300, 1000, 3000 ms
    assert now["Tokens"] == 360
    assert (before["Spans"], before["Traces"], before["Errors"]) == (2, 2, 0)
    everyone = queries.period_totals(dashboard_store, Filters(window_for("1h")))
    assert list(everyone["Spans"]) == [12, 2]  # globex's two spans count without a tenant


def test_golden_signals_per_service_and_agent(dashboard_store: ChdbStore) -> None:
    frame = queries.golden_signals(dashboard_store, ACME).set_index("Agent")
    planner, writer = frame.loc["planner"], frame.loc["writer"]
    assert (planner["Spans"], planner["Runs"], planner["Errors"]) == (6, 3, 0)
    assert (planner["P50Ms"], planner["P95Ms"], planner["P99Ms"]) == pytest.approx(
        (200.0, 290.0, 298.0)
    )
    assert (planner["InputTokens"], planner["OutputTokens"]) == (300, 60)
    assert planner["RunsPerMin"] == pytest.approx(3 / 60)
    assert (writer["Runs"], writer["Errors"], writer["ErrorRate"]) == (2, 1, 0.5)
    assert (writer["P50Ms"], writer["P95Ms"]) == pytest.approx((2000.0, 2900.0))
    only_writer = Filters(ACME.window, tenant="acme", agent="writer")
    assert list(queries.golden_signals(dashboard_store, only_writer)["Agent"]) == ["writer"]


def test_trend_buckets_fill_gaps(dashboard_store: ChdbStore) -> None:
    frame = queries.trend(dashboard_store, ACME)
    assert len(frame) >= 60  # every minute of the hour, empty ones included
    by_minute = frame.set_index("Time")
    assert tuple(by_minute.loc[pd.Timestamp(BASE), ["Spans", "Traces"]]) == (6, 3)
    assert tuple(
        by_minute.loc[pd.Timestamp(BASE) + pd.Timedelta(minutes=2), ["Spans", "Errors"]]
    ) == (4, 1)
    assert frame["Spans"].sum() == 10


def test_cost_by_model_reads_latest_rollup_of_window_days(dashboard_store: ChdbStore) -> None:
    frame = queries.cost_by_model(dashboard_store, ACME)
    assert list(frame["ModelName"]) == ["gpt-4o-mini", "mystery-model"]
    gpt, mystery = frame.iloc[0], frame.iloc[1]
    assert gpt["CostUsd"] == pytest.approx(0.0123)  # not the superseded 0.5, nor the old 99
    assert (mystery["CostUsd"], mystery["UnpricedTokens"]) == (0, 600)


def test_kpi_headlines_with_previous_period(dashboard_store: ChdbStore) -> None:
    frame = queries.kpi_headlines(dashboard_store, ACME)
    assert frame[["KpiName", "Count", "Sum", "PrevSum"]].to_dict("records") == [
        {"KpiName": "revenue", "Count": 2, "Sum": 30.5, "PrevSum": 5.0},
        {"KpiName": "tickets_resolved", "Count": 3, "Sum": 3.0, "PrevSum": 0.0},
    ]


def test_open_anomalies_and_latest_decisions(dashboard_store: ChdbStore) -> None:
    anomalies = queries.open_anomalies(dashboard_store, ACME)
    assert list(anomalies["Entity"]) == ["writer"]
    assert queries.open_anomalies(
        dashboard_store, Filters(ACME.window, "acme", "", "planner")
    ).empty
    decisions = queries.latest_decisions(dashboard_store, ACME)
    assert list(decisions["DecisionId"]) == ["d3", "d2", "d1"]
    assert list(queries.latest_decisions(dashboard_store, ACME, limit=1)["DecisionId"]) == ["d3"]


def test_filter_values_of_a_tenant(dashboard_store: ChdbStore) -> None:
    values = queries.filter_values(dashboard_store, "acme")
    assert values == {"tenants": ["acme"], "services": ["svc"], "agents": ["planner", "writer"]}
    assert queries.filter_values(dashboard_store)["tenants"] == ["acme", "globex"]
    later = queries.filter_values(dashboard_store, "acme", BASE + timedelta(minutes=1))
    assert later["agents"] == ["writer"]  # the planner ran before the window starts


def test_window_for_aligns_end_and_keeps_span() -> None:
    from datetime import UTC, datetime

    window = window_for("6h", datetime(2026, 1, 1, 12, 0, 7, tzinfo=UTC))
    assert window.end == datetime(2026, 1, 1, 12, 0, 15, tzinfo=UTC)
    assert window.end - window.start == timedelta(hours=6)


def test_mask_url_hides_only_the_password() -> None:
    assert mask_url("http://reader:s3cret@127.0.0.1:8123") == "http://reader:***@127.0.0.1:8123"


# --- the page ----------------------------------------------------------------------------------


def _metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_overview_shows_the_known_numbers(reader_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page_app("overview", reader_url, monkeypatch, {"tenant": "acme"})
    assert not app.error
    metrics = _metrics(app)
    assert {k: metrics[k] for k in ("Spans", "Traces", "Error rate", "p95 run latency")} == {
        "Spans": "10",
        "Traces": "5",
        "Error rate": "10.0%",
        "p95 run latency": "2,600 ms",
    }
    assert metrics["Cost (USD)"] == "$0.0123"
    assert metrics["revenue"] == "30.5 USD"
    spans = next(m for m in app.metric if m.label == "Spans")
    assert spans.proto.delta == "+8"  # 10 now against 2 in the hour before
    golden = _frame_with(app, "P99Ms").set_index("Agent")
    assert golden.loc["writer", "P95Ms"] == pytest.approx(2900.0)
    assert list(_frame_with(app, "UnpricedTokens")["ModelName"]) == ["gpt-4o-mini", "mystery-model"]
    assert list(_frame_with(app, "Message")["Entity"]) == ["writer"]
    decisions = _frame_with(app, "DecisionId")
    assert list(decisions["DecisionId"]) == ["d3", "d2", "d1"]
    assert (
        decisions["Open"][0].startswith("/decisions?") and "decision_id=d3" in decisions["Open"][0]
    )
    assert "600 tokens have no price" in app.warning[0].value
    assert app.segmented_control(key="range").value == "1h"


def test_overview_range_and_filters_come_from_the_url(
    reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = page_app("overview", reader_url, monkeypatch, {"range": "7d", "tenant": "acme"})
    assert app.segmented_control(key="range").value == "7d"
    assert _metrics(app)["Spans"] == "13"  # the 3-day-old span and the previous hour's are in
    assert app.selectbox(key="tenant").value == "acme"
    writer = page_app("overview", reader_url, monkeypatch, {"tenant": "acme", "agent": "writer"})
    assert _metrics(writer)["Spans"] == "2"


def test_overview_empty_states_say_what_to_do(
    dashboard_store: ChdbStore, reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    truncate(dashboard_store)
    try:
        app = page_app("overview", reader_url, monkeypatch)
        assert _metrics(app)["Spans"] == "0"
        hints = [info.value for info in app.info]
        assert len(hints) == 4  # spans, cost, KPIs, decisions
        assert "agentledger.instrumentation.setup()" in hints[0]
        assert "http://127.0.0.1:4318" in hints[0]
        assert not app.error
    finally:
        from ..browser.dashboard_data import seed

        seed(dashboard_store)


def test_unreachable_server_shows_masked_url(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    app = page_app("overview", f"http://reader:s3cret@127.0.0.1:{port}", monkeypatch)
    assert len(app.error) == 1
    assert f"http://reader:***@127.0.0.1:{port}" in app.error[0].value
    assert "s3cret" not in app.error[0].value


def test_app_navigation_lists_every_page(reader_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentledger.dashboards.navigation import PAGES

    monkeypatch.setenv("AGENTLEDGER_CLICKHOUSE_URL", reader_url)
    app = AppTest.from_file(str(APP_PATH), default_timeout=60)
    app.run()
    assert not app.exception
    assert app.title[0].value == "Overview"
    paths = [spec.url_path for spec in PAGES]
    assert paths[:3] == ["", "traces", "decisions"] and paths[-1] == "collector"


def test_dashboard_command_serves_the_app() -> None:
    port = free_port()
    argv = dashboard_command(Settings(host="127.0.0.1", dashboard_port=port))
    assert argv[1:5] == ["-m", "streamlit", "run", str(APP_PATH)]
    assert Path(argv[4]).is_file()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as resp:
                    assert resp.read() == b"ok"
                    break
            except OSError:
                assert proc.poll() is None, "streamlit exited"
                assert time.monotonic() < deadline, "dashboard did not come up"
                time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
