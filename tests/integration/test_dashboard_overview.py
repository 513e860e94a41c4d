"""The Overview dashboard against real data: its queries on chDB, then the page over HTTP.

A small dataset with hand-computable answers (durations, an error, tokens, a superseded cost
rollup, decisions, KPIs, plus rows outside the window) is written to an embedded store. Each
query is checked for values; the rendered page is checked through the SQL endpoint, the way it
runs in production.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from agentledger.config import Settings, mask_url
from agentledger.dashboards import APP_PATH, dashboard_command, queries
from agentledger.dashboards.timerange import window_for
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.migrate import migrate

from ..conftest import free_port, serve_in_thread

NOW = datetime.now(UTC)
BASE = NOW.replace(second=0, microsecond=0) - timedelta(minutes=20)
OLD = NOW - timedelta(days=3)
START, END = BASE - timedelta(minutes=30), BASE + timedelta(minutes=30)
MS = 1_000_000  # Duration is in nanoseconds
TABLES = ("otel_traces", "cost_rollups", "decisions", "kpi_events")


def _span(
    at: datetime,
    trace: str,
    span: str,
    parent: str,
    name: str,
    attrs: dict[str, str],
    ms: int,
    status: str = "Ok",
) -> dict[str, object]:
    return {
        "Timestamp": at,
        "TraceId": trace,
        "SpanId": span,
        "ParentSpanId": parent,
        "SpanName": name,
        "ServiceName": "svc",
        "SpanAttributes": list(attrs.items()),
        "Duration": ms * MS,
        "StatusCode": status,
    }


def _spans() -> pa.Table:
    s = timedelta(seconds=1)
    rows = []
    for i, ms in enumerate((100, 200, 300)):  # planner: p50 200 ms, p95 290 ms
        agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}
        chat = {
            "gen_ai.operation.name": "chat",
            "gen_ai.agent.name": "planner",  # an LLM call naming its agent is no agent run
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": "100",
            "gen_ai.usage.output_tokens": "20",
        }
        rows.append(_span(BASE + 10 * i * s, f"p{i}", f"p{i}a", "", "invoke_agent", agent, ms))
        rows.append(_span(BASE + (10 * i + 1) * s, f"p{i}", f"p{i}b", f"p{i}a", "chat", chat, 50))
    for i, (ms, status) in enumerate(((1000, "Ok"), (3000, "Error"))):  # p50 2000, p95 2900
        at = BASE + timedelta(minutes=2) + 10 * i * s
        chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-haiku"}
        rows.append(
            _span(
                at,
                f"w{i}",
                f"w{i}a",
                "",
                "write",
                {"openinference.span.kind": "AGENT", "agent.name": "writer"},
                ms,
                status,
            )
        )
        rows.append(_span(at + s, f"w{i}", f"w{i}b", f"w{i}a", "chat", chat, 400))
    old = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}
    rows.append(_span(OLD, "old", "olda", "", "invoke_agent", old, 9999))
    return pa.Table.from_pylist(
        rows,
        pa.schema(
            [
                ("Timestamp", pa.timestamp("ns", tz="UTC")),
                ("TraceId", pa.string()),
                ("SpanId", pa.string()),
                ("ParentSpanId", pa.string()),
                ("SpanName", pa.string()),
                ("ServiceName", pa.string()),
                ("SpanAttributes", pa.map_(pa.string(), pa.string())),
                ("Duration", pa.uint64()),
                ("StatusCode", pa.string()),
            ]
        ),
    )


def _cost_rows() -> list[str]:
    day, old_day = BASE.date(), (NOW - timedelta(days=10)).date()
    row = (
        "('{day}', 'default', 'svc', 'planner', '{model}', 'openai', 3, {i}, {o}, 0, {cost}, {u},"
        " '', '{at}')"
    )
    return [
        row.format(day=day, model="gpt-4o-mini", i=1, o=1, cost=0.5, u=0, at="2020-01-01 00:00:00"),
        row.format(day=day, model="gpt-4o-mini", i=300, o=60, cost=0.0123, u=0, at="2020-01-02"),
        row.format(day=day, model="mystery-model", i=500, o=100, cost=0, u=600, at="2020-01-02"),
        row.format(day=old_day, model="gpt-4o-mini", i=9, o=9, cost=99, u=0, at="2020-01-02"),
    ]


def _decisions() -> pa.Table:
    rows = [
        (OLD, 0, "d0", "planner", "route", "old", 0.1, "bob"),
        (BASE + timedelta(seconds=30), 1, "d1", "planner", "route", "billing", 0.9, ""),
        (BASE + timedelta(seconds=60), 2, "d2", "writer", "tone", "formal", None, "alice"),
        (BASE + timedelta(seconds=90), 3, "d3", "planner", "refund", "approve", 0.75, "alice"),
    ]
    names = ["Timestamp", "Seq", "DecisionId", "AgentName", "DecisionType", "Chosen"]
    names += ["Confidence", "ApprovedBy"]
    types = [pa.timestamp("ns", tz="UTC"), pa.uint64(), *[pa.string()] * 4, pa.float64()]
    types += [pa.string()]
    columns = [
        pa.array(list(col), t) for col, t in zip(zip(*rows, strict=True), types, strict=True)
    ]
    return pa.table(dict(zip(names, columns, strict=True)))


def _kpis() -> pa.Table:
    rows = [(BASE, "tickets_resolved", 1.0, "count")] * 3
    rows += [(BASE, "revenue", 10.0, "USD"), (BASE, "revenue", 20.5, "USD")]
    rows += [(OLD, "revenue", 1000.0, "USD")]
    ts, names, values, units = zip(*rows, strict=True)
    return pa.table(
        {
            "Timestamp": pa.array(ts, pa.timestamp("ns", tz="UTC")),
            "KpiName": names,
            "Value": values,
            "Unit": units,
        }
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    chdb = ChdbStore(tmp_path_factory.mktemp("chdb"))
    migrate(chdb)
    yield chdb
    chdb.close()


def _truncate(store: ChdbStore) -> None:
    for table in TABLES:
        store.command(f"TRUNCATE TABLE {table}")


@pytest.fixture
def seeded(store: ChdbStore) -> ChdbStore:
    _truncate(store)
    store.insert_arrow("otel_traces", _spans())
    store.command(
        "INSERT INTO cost_rollups (Day, TenantId, ServiceName, AgentName, ModelName, Provider,"
        " Spans, InputTokens, OutputTokens, CachedInputTokens, CostUsd, UnpricedTokens,"
        " PricePattern, ComputedAt) VALUES " + ", ".join(_cost_rows())
    )
    store.insert_arrow("decisions", _decisions())
    store.insert_arrow("kpi_events", _kpis())
    return store


@pytest.fixture
def empty(store: ChdbStore) -> ChdbStore:
    _truncate(store)
    return store


# --- queries, straight against chDB ------------------------------------------------------------


def test_span_totals(seeded: ChdbStore) -> None:
    row = queries.span_totals(seeded, START, END).iloc[0]
    assert (row["Spans"], row["Traces"], row["Errors"]) == (10, 5, 1)
    assert row["ErrorRate"] == pytest.approx(0.1)


def test_span_totals_empty_window_has_zero_error_rate(empty: ChdbStore) -> None:
    row = queries.span_totals(empty, START, END).iloc[0]
    assert (row["Spans"], row["Traces"], row["ErrorRate"]) == (0, 0, 0)


def test_throughput_buckets_and_fills_gaps(seeded: ChdbStore) -> None:
    frame = queries.throughput(seeded, BASE - timedelta(minutes=5), BASE + timedelta(minutes=5), 60)
    assert len(frame) == 10  # every minute of the window, empty ones included
    by_minute = frame.set_index("Minute")
    for offset, counts in ((0, (6, 3)), (1, (0, 0)), (2, (4, 2))):
        minute = pd.Timestamp(BASE + timedelta(minutes=offset))
        assert tuple(by_minute.loc[minute, ["Spans", "Traces"]]) == counts
    assert frame["Spans"].sum() == 10


def test_throughput_coarser_buckets(seeded: ChdbStore) -> None:
    frame = queries.throughput(seeded, START, END, 3600)
    assert frame["Spans"].sum() == 10
    assert frame["Traces"].sum() >= 5  # a trace straddling an hour boundary counts in both


def test_agent_latency_quantiles_in_ms(seeded: ChdbStore) -> None:
    frame = queries.agent_latency(seeded, START, END)
    assert list(frame["Agent"]) == ["writer", "planner"]  # slowest p95 first
    writer, planner = frame.iloc[0], frame.iloc[1]
    assert (writer["Runs"], writer["Errors"]) == (2, 1)
    assert (writer["P50Ms"], writer["P95Ms"]) == pytest.approx((2000.0, 2900.0))
    assert (planner["Runs"], planner["Errors"]) == (3, 0)  # chat spans naming it excluded
    assert (planner["P50Ms"], planner["P95Ms"]) == pytest.approx((200.0, 290.0))


def test_cost_by_model_reads_latest_rollup_of_window_days(seeded: ChdbStore) -> None:
    frame = queries.cost_by_model(seeded, START, END)
    assert list(frame["ModelName"]) == ["gpt-4o-mini", "mystery-model"]
    gpt, mystery = frame.iloc[0], frame.iloc[1]
    assert gpt["CostUsd"] == pytest.approx(0.0123)  # not the superseded 0.5, nor the old 99
    assert (gpt["InputTokens"], gpt["OutputTokens"], gpt["UnpricedTokens"]) == (300, 60, 0)
    assert (mystery["CostUsd"], mystery["UnpricedTokens"]) == (0, 600)


def test_latest_decisions_newest_first_in_window(seeded: ChdbStore) -> None:
    frame = queries.latest_decisions(seeded, START, END)
    assert list(frame.columns) == [
        "Timestamp",
        "AgentName",
        "DecisionType",
        "Chosen",
        "Confidence",
        "ApprovedBy",
        "DecisionId",
    ]
    assert list(frame["DecisionId"]) == ["d3", "d2", "d1"]
    assert list(frame["Chosen"]) == ["approve", "formal", "billing"]
    assert frame["Confidence"].iloc[0] == pytest.approx(0.75)
    assert pd.isna(frame["Confidence"].iloc[1])
    assert list(queries.latest_decisions(seeded, START, END, limit=1)["DecisionId"]) == ["d3"]


def test_kpi_totals(seeded: ChdbStore) -> None:
    frame = queries.kpi_totals(seeded, START, END)
    assert frame.to_dict("records") == [
        {"KpiName": "revenue", "Unit": "USD", "Count": 2, "Sum": 30.5, "Avg": 15.25},
        {"KpiName": "tickets_resolved", "Unit": "count", "Count": 3, "Sum": 3.0, "Avg": 1.0},
    ]


def test_window_for_aligns_end_and_keeps_span() -> None:
    window = window_for("6h", datetime(2026, 1, 1, 12, 0, 7, tzinfo=UTC))
    assert window.end == datetime(2026, 1, 1, 12, 0, 15, tzinfo=UTC)
    assert window.end - window.start == timedelta(hours=6)
    assert window.step_seconds == 60


def test_mask_url_hides_only_the_password() -> None:
    assert mask_url("http://reader:s3cret@127.0.0.1:8123") == "http://reader:***@127.0.0.1:8123"
    assert mask_url("http://127.0.0.1:8123") == "http://127.0.0.1:8123"


# --- the page ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint_url(store: ChdbStore) -> Iterator[str]:
    """The embedded SQL endpoint over ``store``, served by uvicorn in a thread, as ``reader``."""
    sql_endpoint = pytest.importorskip("agentledger.storage.sql_endpoint")
    users = {"reader": sql_endpoint.SqlUser(password="pw", readonly=True)}
    for port in serve_in_thread(sql_endpoint.build_sql_app(store, users)):
        yield f"http://reader:pw@127.0.0.1:{port}"


@pytest.fixture
def app() -> AppTest:
    """The whole app (navigation included), with Streamlit's process-wide caches emptied."""
    st.cache_data.clear()
    st.cache_resource.clear()
    return AppTest.from_file(str(APP_PATH), default_timeout=60)


def _metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def _run_against(app: AppTest, url: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("AGENTLEDGER_CLICKHOUSE_URL", url)
    app.run()
    assert not app.exception
    assert not app.error
    return app


def test_overview_shows_the_known_numbers(
    seeded: ChdbStore, endpoint_url: str, app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run_against(app, endpoint_url, monkeypatch)
    assert _metrics(app) == {
        "Spans": "10",
        "Traces": "5",
        "Error rate": "10.0%",
        "Cost (USD)": "$0.0123",
    }
    assert app.segmented_control(key="range").value == "1h"
    throughput, latency, cost, decisions, kpis = (frame.value for frame in app.dataframe)
    assert throughput["Spans"].sum() == 10
    assert latency.to_dict("records") == [
        {"Agent": "writer", "Runs": 2, "Errors": 1, "P50Ms": 2000.0, "P95Ms": 2900.0},
        {"Agent": "planner", "Runs": 3, "Errors": 0, "P50Ms": 200.0, "P95Ms": 290.0},
    ]
    assert list(cost["ModelName"]) == ["gpt-4o-mini", "mystery-model"]
    assert cost["CostUsd"].iloc[0] == pytest.approx(0.0123)
    assert "600 tokens have no price" in app.warning[0].value
    assert list(decisions["DecisionId"]) == ["d3", "d2", "d1"]
    assert list(kpis["Sum"]) == [30.5, 3.0]


def test_overview_range_comes_from_the_url(
    seeded: ChdbStore, endpoint_url: str, app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.query_params["range"] = "7d"
    _run_against(app, endpoint_url, monkeypatch)
    assert app.segmented_control(key="range").value == "7d"
    assert _metrics(app)["Spans"] == "11"  # the 3-day-old span is in, the rest as in 1 h
    assert _metrics(app)["Traces"] == "6"
    assert app.subheader[0].value == "Spans and traces per hour"


def test_overview_empty_states_say_what_to_do(
    empty: ChdbStore, endpoint_url: str, app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run_against(app, endpoint_url, monkeypatch)
    assert _metrics(app)["Spans"] == "0"
    hints = [info.value for info in app.info]
    assert len(hints) == 5  # spans, agents, cost, decisions, KPIs
    assert "agentledger.instrumentation.setup()" in hints[0]
    assert "http://127.0.0.1:4318" in hints[0]
    assert not app.dataframe


def test_unreachable_server_shows_masked_url(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("AGENTLEDGER_CLICKHOUSE_URL", f"http://reader:s3cret@127.0.0.1:{port}")
    app.run()
    assert not app.exception
    assert len(app.error) == 1
    assert f"http://reader:***@127.0.0.1:{port}" in app.error[0].value
    assert "s3cret" not in app.error[0].value


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
