"""The Drift, Cost, KPIs and Lineage pages against real data: the panel queries on chDB, then each
page over the SQL endpoint, as it runs in production.

One dataset with hand-computable answers, in two tenants: model observations with a planted shift
(the real drift job judges them), priced LLM spans (the real cost job rolls them up), budgets, KPI
events attributed to two agent versions and models with a planted effect, and decisions whose
lineage the real lineage job derives. Tenant ``globex`` holds rows ``acme`` must never see.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from agentledger.analytics import kpi_attribution
from agentledger.analytics.budgets import set_budget
from agentledger.analytics.cost import run_cost_job
from agentledger.analytics.drift import run_drift_job
from agentledger.analytics.kpi_rollup import run_kpi_attribution_job
from agentledger.analytics.lineage import run_lineage_job
from agentledger.analytics.lineage_export import FORMATS
from agentledger.analytics.prices import Price, set_price
from agentledger.dashboards import analytics_data as ad
from agentledger.dashboards.filters import Filters
from agentledger.dashboards.timerange import window_for
from agentledger.storage.chdb_store import ChdbStore

from ..conftest import serve_in_thread

PAGES = Path(ad.__file__).parent / "views"
NOW = datetime.now(UTC)
HOUR = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)  # last complete hour
AT = NOW - timedelta(minutes=20)  # spans, decisions and KPI events
ATTRS = pa.map_(pa.string(), pa.string())
# acme: 40 traces of v1 on test-model ($0.002 each), 40 of v2 on test-model-b ($0.004 each)
ACME_COST = 40 * 0.002 + 40 * 0.004
GLOBEX_COST = 1.0
V1_RESOLVED, V2_RESOLVED = 20, 36  # of 40 each


def _filters(tenant: str = "acme", agent: str = "") -> Filters:
    return Filters(window_for("6h"), tenant=tenant, agent=agent)


# --- the dataset -------------------------------------------------------------------------------


def _observations(store: ChdbStore) -> None:
    rows: list[dict[str, object]] = []
    for i in range(300):  # the reference: two days before the compared hour
        at = HOUR - timedelta(days=2) + timedelta(seconds=i)
        rows.append(_obs(at, "acme", "ranker", "score", 0.3 + 0.2 * (i % 50) / 50))
        rows.append(_obs(at, "acme", "ranker", "lang", 0.0, "fr" if i % 5 == 0 else "en"))
        rows.append(_obs(at, "globex", "secret-model", "x", float(i % 7)))
    for i in range(100):  # the compared hour: score moved up, lang did not
        at = HOUR + timedelta(minutes=30, seconds=i)
        rows.append(_obs(at, "acme", "ranker", "score", 0.7 + 0.2 * (i % 50) / 50))
        rows.append(_obs(at, "acme", "ranker", "lang", 0.0, "fr" if i % 5 == 0 else "en"))
        rows.append(_obs(at, "globex", "secret-model", "x", 100.0 + i % 7))
    schema = pa.schema(
        [
            ("Timestamp", pa.timestamp("ns", tz="UTC")),
            ("TenantId", pa.string()),
            ("ModelName", pa.string()),
            ("Feature", pa.string()),
            ("Value", pa.float64()),
            ("Category", pa.string()),
        ]
    )
    store.insert_arrow("model_observations", pa.Table.from_pylist(rows, schema))


def _obs(
    at: datetime, tenant: str, model: str, feature: str, value: float, category: str = ""
) -> dict[str, object]:
    return {
        "Timestamp": at,
        "TenantId": tenant,
        "ModelName": model,
        "Feature": feature,
        "Value": value,
        "Category": category,
    }


def _span(
    tenant: str,
    trace: str,
    span: str,
    agent: str,
    version: str,
    model: str,
    tokens: tuple[int, int],
) -> dict[str, object]:
    return {
        "Timestamp": AT,
        "TenantId": tenant,
        "TraceId": trace,
        "SpanId": span,
        "SpanName": "chat",
        "ServiceName": "helpdesk",
        "Duration": 10**8,
        "SpanAttributes": [
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.agent.name", agent),
            ("gen_ai.agent.version", version),
            ("gen_ai.request.model", model),
            ("gen_ai.usage.input_tokens", str(tokens[0])),
            ("gen_ai.usage.output_tokens", str(tokens[1])),
        ],
    }


def _decision(
    tenant: str,
    seq: int,
    decision: str,
    trace: str,
    span: str,
    version: str,
    model: str,
    inputs: list[str],
) -> dict[str, object]:
    return {
        "Timestamp": AT + timedelta(seconds=1),
        "TenantId": tenant,
        "Seq": seq,
        "DecisionId": decision,
        "TraceId": trace,
        "SpanId": span,
        "ServiceName": "helpdesk",
        "AgentName": "support",
        "AgentVersion": version,
        "DecisionType": "refund",
        "Chosen": "approve",
        "Confidence": 0.9 if version == "v2" else 0.7,
        "Inputs": inputs,
        "ModelName": model,
    }


_DECISION_SCHEMA = pa.schema(
    [
        ("Timestamp", pa.timestamp("ns", tz="UTC")),
        ("TenantId", pa.string()),
        ("Seq", pa.uint64()),
        ("DecisionId", pa.string()),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("ServiceName", pa.string()),
        ("AgentName", pa.string()),
        ("AgentVersion", pa.string()),
        ("DecisionType", pa.string()),
        ("Chosen", pa.string()),
        ("Confidence", pa.float64()),
        ("Inputs", pa.list_(pa.string())),
        ("ModelName", pa.string()),
    ]
)


def _traffic(store: ChdbStore) -> None:
    spans, decisions, kpis = [], [], []
    for i in range(80):
        version, model = ("v1", "test-model") if i < 40 else ("v2", "test-model-b")
        trace, span, decision = f"{i:032x}", f"{i:016x}", f"d-{i}"
        spans.append(_span("acme", trace, span, "support", version, model, (1000, 500)))
        inputs = ["document:refund-policy@3"] if i == 40 else []
        decisions.append(_decision("acme", i, decision, trace, span, version, model, inputs))
        resolved = i < V1_RESOLVED or 40 <= i < 40 + V2_RESOLVED
        kpis.append(("acme", "resolved", float(resolved), decision, f"ticket-{i}", "count"))
        kpis.append(("acme", "revenue", 10.0 + i, decision, f"order-{i}", "USD"))
    spans.append(_span("globex", "f" * 32, "f" * 16, "spy", "v9", "test-model", (1_000_000, 0)))
    decisions.append(_decision("globex", 0, "g-secret", "f" * 32, "f" * 16, "v9", "test-model", []))
    kpis.append(("globex", "secret_kpi", 1.0, "g-secret", "g-1", "count"))
    span_schema = pa.schema(
        [
            ("Timestamp", pa.timestamp("ns", tz="UTC")),
            ("TenantId", pa.string()),
            ("TraceId", pa.string()),
            ("SpanId", pa.string()),
            ("SpanName", pa.string()),
            ("ServiceName", pa.string()),
            ("Duration", pa.uint64()),
            ("SpanAttributes", ATTRS),
        ]
    )
    store.insert_arrow("otel_traces", pa.Table.from_pylist(spans, span_schema))
    store.insert_arrow("decisions", pa.Table.from_pylist(decisions, _DECISION_SCHEMA))
    _insert_kpis(store, kpis)


def _insert_kpis(
    store: ChdbStore,
    kpis: list[tuple[str, str, float, str, str, str]],
    at: datetime = AT + timedelta(seconds=2),
) -> None:
    """kpis: (tenant, KPI name, value, decision id, entity id, unit)."""
    tenants, names, values, decision_ids, entities, units = zip(*kpis, strict=True)
    store.insert_arrow(
        "kpi_events",
        pa.table(
            {
                "Timestamp": pa.array([at] * len(kpis), pa.timestamp("ns", tz="UTC")),
                "TenantId": tenants,
                "KpiName": names,
                "Value": pa.array(values, pa.float64()),
                "DecisionId": decision_ids,
                "EntityId": entities,
                "Unit": units,
                "ServiceName": ["helpdesk"] * len(kpis),
            }
        ),
    )


def seed(store: ChdbStore) -> ChdbStore:
    """Write the dataset and run the drift, cost, KPI attribution and lineage jobs over it (the
    browser test of these pages uses it too)."""
    set_price(store, Price("^test-model$", 1.0, 2.0))
    set_price(store, Price("^test-model-b$", 2.0, 4.0))
    _observations(store)
    _traffic(store)
    # The hour compared is the last complete one when the module was imported, not when the
    # job runs: an hour boundary between collection and seeding must not move it.
    run_drift_job(store, now=NOW)
    run_cost_job(store)
    run_kpi_attribution_job(store, settle=timedelta(0))
    run_lineage_job(store, settle=timedelta(0))
    set_budget(store, "acme", "", "month", 0.1)
    set_budget(store, "", "", "month", 1000.0)  # all tenants: not for acme's eyes
    set_budget(store, "globex", "", "day", 5.0)
    return store


@pytest.fixture(scope="module")
def seeded(store: ChdbStore) -> ChdbStore:
    return seed(store)


# --- panel queries, straight against chDB -----------------------------------------------------


def test_attribution_panels_are_empty_until_the_job_runs(store: ChdbStore) -> None:
    """Runs first, before the dataset and its jobs: the panels say which job fills them rather
    than attribute a whole range at view time."""
    assert ad.kpi_attributed_until(store) is None
    assert list(ad.kpi_by(store, _filters(), "resolved", "model").columns) == [
        "model", "events", "total", "mean", "stddev", "binary",
    ]  # fmt: skip
    assert ad.cost_per_kpi(store, _filters(), "resolved").empty
    with pytest.raises(ValueError, match="kpi_attribution job has not attributed"):
        ad.version_comparison(store, _filters(), "resolved", "support", "v1", "v2")
    assert "agentledger jobs run kpi_attribution" in ad.kpi_job_pending(60)


def test_drift_history_is_the_jobs_verdict_per_feature(seeded: ChdbStore) -> None:
    history = ad.drift_history(seeded, _filters())
    # Model spans give observations too (tokens, latency): the test models' (when the spans fall
    # in the compared hour), with no reference. Never globex's model.
    assert "ranker" in set(history["Model"]) and "secret-model" not in set(history["Model"])
    assert set(history.loc[history["Model"] != "ranker", "Status"]) <= {"insufficient_data"}
    latest = history[history["Model"] == "ranker"].set_index("Feature")
    assert latest.loc["score", "Drifted"] and "psi" in latest.loc["score", "DriftedBy"]
    assert latest.loc["score", "Psi"] > 1
    assert (latest.loc["score", "NReference"], latest.loc["score", "NCurrent"]) == (300, 100)
    assert not latest.loc["lang", "Drifted"] and latest.loc["lang", "Kind"] == "categorical"
    assert latest.loc["lang", "Psi"] == pytest.approx(0.0, abs=1e-9)
    assert pd.Timestamp(latest.loc["score", "Time"]) == pd.Timestamp(HOUR + timedelta(hours=1))
    assert "secret-model" in set(ad.drift_history(seeded, _filters(tenant=""))["Model"])


def test_distribution_compares_the_range_with_the_week_before(seeded: ChdbStore) -> None:
    numeric = ad.feature_distribution(seeded, _filters(), "ranker", "score", "numeric")
    assert (numeric["Reference"].sum(), numeric["Current"].sum()) == (300, 100)
    assert len(numeric) <= ad.DISTRIBUTION_BINS
    assert (numeric.loc[numeric["Reference"] > 0, "Low"] < 0.51).all()
    assert (numeric.loc[numeric["Current"] > 0, "High"] > 0.69).all()
    assert numeric["CurrentShare"].sum() == pytest.approx(1.0)
    categories = ad.feature_distribution(seeded, _filters(), "ranker", "lang", "categorical")
    assert categories[["Bin", "Reference", "Current"]].to_dict("records") == [
        {"Bin": "en", "Reference": 240, "Current": 80},
        {"Bin": "fr", "Reference": 60, "Current": 20},
    ]
    hidden = ad.feature_distribution(seeded, _filters(), "secret-model", "x", "numeric")
    assert hidden["Reference"].sum() == 0 and hidden["Current"].sum() == 0


def test_quality_proxies_per_model(seeded: ChdbStore) -> None:
    frame = ad.quality_proxies(seeded, _filters())
    decided = frame[frame["decisions"] > 0].groupby("model")["decisions"].sum()
    assert decided.to_dict() == {"test-model": 40, "test-model-b": 40}
    confidence = frame.dropna(subset=["mean_confidence"]).groupby("model")["mean_confidence"]
    assert confidence.mean().to_dict() == pytest.approx({"test-model": 0.7, "test-model-b": 0.9})


def test_cost_rows_split_by_day_tenant_agent_and_model(seeded: ChdbStore) -> None:
    rows = ad.cost_rows(seeded, _filters())
    assert set(rows["Tenant"]) == {"acme"}
    by_model = rows.groupby("Model")["CostUsd"].sum()
    assert by_model.to_dict() == pytest.approx({"test-model": 0.08, "test-model-b": 0.16})
    assert rows["InputTokens"].sum() == 80_000
    everyone = ad.cost_rows(seeded, _filters(tenant=""))
    assert everyone["CostUsd"].sum() == pytest.approx(ACME_COST + GLOBEX_COST)
    assert ad.cost_rows(seeded, _filters(agent="nobody")).empty


def test_budgets_show_only_the_viewers_tenant(seeded: ChdbStore) -> None:
    frame = ad.budgets(seeded, _filters())
    assert frame[["Tenant", "Period", "BudgetUsd", "State"]].to_dict("records") == [
        {"Tenant": "acme", "Period": "month", "BudgetUsd": 0.1, "State": "over"}
    ]
    assert frame["SpentUsd"].iloc[0] == pytest.approx(ACME_COST)
    assert len(ad.budgets(seeded, _filters(tenant=""))) == 3


def test_forecast_adds_the_recent_rate(seeded: ChdbStore) -> None:
    forecast = ad.cost_forecast(seeded, _filters())
    if AT.month == NOW.month:
        assert forecast.spent_usd == pytest.approx(ACME_COST)
    assert forecast.forecast_usd >= forecast.spent_usd
    assert forecast.daily_rate_usd > 0


def test_cost_per_kpi_unit(seeded: ChdbStore) -> None:
    frame = ad.cost_per_kpi(seeded, _filters(), "resolved")
    row = frame.set_index("agent").loc["support"]
    assert row["kpi_value"] == V1_RESOLVED + V2_RESOLVED
    assert row["cost_usd"] == pytest.approx(ACME_COST)
    assert row["cost_per_unit"] == pytest.approx(ACME_COST / (V1_RESOLVED + V2_RESOLVED))


def test_kpi_names_trend_and_attribution(seeded: ChdbStore) -> None:
    names = ad.kpi_names(seeded, _filters())
    assert names.to_dict("records") == [
        {"KpiName": "resolved", "Unit": "count", "Events": 80},
        {"KpiName": "revenue", "Unit": "USD", "Events": 80},
    ]
    assert ad.kpi_names(seeded, _filters(agent="nobody")).empty
    trend = ad.kpi_trend(seeded, _filters()).groupby("KpiName")["Sum"].sum()
    assert trend.to_dict() == {"resolved": 56.0, "revenue": sum(10.0 + i for i in range(80))}
    versions = ad.kpi_by(seeded, _filters(), "resolved", "agent_version").set_index("agent_version")
    assert versions["mean"].to_dict() == pytest.approx({"v1": 0.5, "v2": 0.9})
    assert versions["binary"].all()


def test_model_comparison_finds_the_planted_effect(seeded: ChdbStore) -> None:
    outcomes = ad.kpi_by(seeded, _filters(), "resolved", "model")
    compared = ad.compare_groups(outcomes, "model", "test-model").iloc[0]
    assert (compared["model"], compared["test"]) == ("test-model-b", "chi-square")
    assert compared["difference"] == pytest.approx(0.4)
    assert compared["significant"] and compared["p_value"] < 0.001
    assert compared["effect_size"] > 0.8  # Cohen's h of 0.5 -> 0.9
    revenue = ad.kpi_by(seeded, _filters(), "revenue", "model")
    welch = ad.compare_groups(revenue, "model", "test-model").iloc[0]
    assert welch["test"] == "welch-t" and welch["difference"] == pytest.approx(40.0)
    assert welch["significant"] and welch["effect_size"] > 3


def test_version_comparison_reads_like_a_sentence(seeded: ChdbStore) -> None:
    result = ad.version_comparison(seeded, _filters(), "resolved", "support", "v1", "v2")
    assert result["significant"] and result["test"] == "chi-square"
    assert str(result["summary"]).startswith("v2 raised resolved rate by 40.0 points vs v1")


def test_panels_read_what_the_job_stored_and_the_cli_reads_later_events_too(
    seeded: ChdbStore,
) -> None:
    """An event after the job's watermark: the panels show it once the job has run again;
    kpi_attribution (the CLI) attributes it at query time, the same way, right away."""
    late = _filters(tenant="late")
    decision = _decision("late", 0, "late-1", "e" * 32, "e" * 16, "v1", "test-model", [])
    seeded.insert_arrow("decisions", pa.Table.from_pylist([decision], _DECISION_SCHEMA))
    _insert_kpis(seeded, [("late", "resolved", 1.0, "late-1", "t-1", "count")], datetime.now(UTC))
    assert ad.kpi_by(seeded, late, "resolved", "agent").empty
    (live,) = kpi_attribution.kpi_outcomes(seeded, "resolved", "agent_version", tenant="late")
    assert (live["agent"], live["agent_version"], live["events"]) == ("support", "v1", 1)
    run_kpi_attribution_job(seeded, settle=timedelta(0))
    stored = ad.kpi_by(seeded, _filters(tenant="late"), "resolved", "agent_version")
    assert stored[["agent", "agent_version", "events"]].values.tolist() == [["support", "v1", 1]]
    assert ad.kpi_by(seeded, _filters(tenant="late", agent="nobody"), "resolved", "agent").empty
    assert kpi_attribution.kpi_outcomes(seeded, "resolved", "agent_version", tenant="late") == [
        live
    ]


def test_lineage_graph_and_path_to_kpi(seeded: ChdbStore) -> None:
    graph = ad.lineage_graph(seeded, _filters(), "d-40")
    ids = {node.id for node in graph.nodes}
    assert {"decision:d-40", "document:refund-policy@3", "action:approve"} <= ids
    assert "kpi:resolved:ticket-40" in ids and graph.tenant == "acme"
    up = ad.lineage_graph(seeded, _filters(), "d-40", "", "", "up")
    assert "document:refund-policy@3" in {n.id for n in up.nodes}
    assert "kpi:resolved:ticket-40" not in {n.id for n in up.nodes}
    chain = ad.lineage_path(
        seeded, _filters(), "document:refund-policy@3", "kpi:resolved:ticket-40"
    )
    assert [(e.src, e.relation, e.dst) for e in chain] == [
        ("document:refund-policy@3", "input_to", "decision:d-40"),
        ("decision:d-40", "outcome", "kpi:resolved:ticket-40"),
    ]
    trace = ad.lineage_graph(seeded, _filters(), "", f"{40:032x}")
    assert "decision:d-40" in {n.id for n in trace.nodes}
    with pytest.raises(ValueError, match="for tenant 'acme'"):
        ad.lineage_graph(seeded, _filters(), "g-secret")


def test_every_export_format_downloads(seeded: ChdbStore) -> None:
    graph = ad.lineage_graph(seeded, _filters(), "d-40")
    for fmt in FORMATS:
        data = ad.export_bytes(graph, fmt, "g")
        name = ad.export_name(fmt, "g")
        if fmt in ("csv", "parquet"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                assert sorted(archive.namelist()) == sorted([f"g.{fmt}", f"g.nodes.{fmt}"])
            assert name == f"g.{fmt}.zip"
        else:
            assert b"decision:d-40" in data, fmt
    assert ad.export_name("openlineage", "g") == "g.openlineage.json"


def test_every_panel_runs_for_benchmarks(seeded: ChdbStore) -> None:
    for name, panel in ad.PANELS.items():
        assert panel(seeded, _filters()) is not None, name


def test_compare_groups_leaves_out_tiny_groups() -> None:
    outcomes = pd.DataFrame(
        {
            "model": ["a", "b", "c"],
            "events": [100, 100, 1],
            "total": [50.0, 50.0, 1.0],
            "mean": [0.5, 0.5, 1.0],
            "stddev": [0.5, 0.5, None],
            "binary": [True, True, True],
        }
    )
    compared = ad.compare_groups(outcomes, "model", "a")
    assert list(compared["model"]) == ["b"]
    assert compared["p_value"].iloc[0] == pytest.approx(1.0)
    assert not compared["significant"].iloc[0]


# --- the pages over the SQL endpoint -----------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint_url(seeded: ChdbStore) -> Iterator[str]:
    from agentledger.storage import sql_endpoint

    users = {"reader": sql_endpoint.SqlUser(password="pw", readonly=True)}
    for port in serve_in_thread(sql_endpoint.build_sql_app(seeded, users)):
        yield f"http://reader:pw@127.0.0.1:{port}"


def _page(name: str, url: str, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    st.cache_data.clear()
    monkeypatch.setenv("AGENTLEDGER_CLICKHOUSE_URL", url)
    app = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)
    for key, value in {"range": "6h", **params}.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    return app


def _metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def _frames(app: AppTest) -> list[pd.DataFrame]:
    return [frame.value for frame in app.dataframe]


def test_drift_page(endpoint_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("drift", endpoint_url, monkeypatch, tenant="acme")
    models = app.selectbox(key="drift_model").options
    assert models[0] == "ranker" and "secret-model" not in models
    assert _metrics(app) == {
        "Features": "2",
        "Drifted now": "1",
        "Hours compared": "1",
    }
    assert "score (psi" in app.warning[0].value
    latest = _frames(app)[0].set_index("Feature")
    assert bool(latest.loc["score", "Drifted"]) and not bool(latest.loc["lang", "Drifted"])
    assert app.selectbox(key="drift_feature").value == "score"  # the most drifted first
    distribution = next(f for f in _frames(app) if "ReferenceShare" in f)
    assert (distribution["Reference"].sum(), distribution["Current"].sum()) == (300, 100)
    app.selectbox(key="drift_feature").set_value("lang").run()
    distribution = next(f for f in _frames(app) if "ReferenceShare" in f)
    assert list(distribution["Bin"]) == ["en", "fr"]
    quality = next(f for f in _frames(app) if "mean_confidence" in f)
    assert set(quality["model"]) == {"test-model", "test-model-b"}
    app.button(key="drift_report_build").click().run()
    assert not app.exception and not app.error
    labels = [button.proto.label for button in app.get("download_button")]
    assert "Download the Evidently report (HTML)" in labels


def test_drift_page_empty_state(endpoint_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("drift", endpoint_url, monkeypatch, tenant="nobody")
    hints = [info.value for info in app.info]
    assert "record_observation" in hints[0] and "agentledger jobs run drift" in hints[0]
    assert "No decisions or model calls" in hints[1]
    assert not app.get("download_button") and not app.dataframe


def test_cost_page(endpoint_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("cost", endpoint_url, monkeypatch, tenant="acme")
    metrics = _metrics(app)
    assert metrics["Cost (USD)"] == f"${ACME_COST:.4f}"
    assert metrics["Input tokens"] == "80,000" and metrics["Unpriced tokens"] == "0"
    frames = _frames(app)
    by_model = next(f for f in frames if "Model" in f and "Spans" in f).set_index("Model")
    assert by_model["CostUsd"].to_dict() == pytest.approx(
        {"test-model-b": 0.16, "test-model": 0.08}
    )
    budgets = next(f for f in frames if "BudgetUsd" in f)
    assert list(budgets["Tenant"]) == ["acme"]  # not the all-tenant nor globex's budget
    assert any("more than its $0.10 budget" in w.value for w in app.warning)
    per_kpi = next(f for f in frames if "cost_per_unit" in f)
    assert per_kpi["cost_per_unit"].iloc[0] == pytest.approx(ACME_COST / 56)
    assert metrics["Cost per resolved count"] == f"${ACME_COST / 56:.4f}"
    by_agent = _page("cost", endpoint_url, monkeypatch, tenant="acme", cost_by="agent")
    agents = next(f for f in _frames(by_agent) if "Agent" in f and "Spans" in f)
    assert agents[["Agent", "Spans"]].to_dict("records") == [{"Agent": "support", "Spans": 80}]
    everyone = _page("cost", endpoint_url, monkeypatch)
    assert _metrics(everyone)["Cost (USD)"] == f"${ACME_COST + GLOBEX_COST:,.2f}"


def test_cost_page_empty_state(endpoint_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("cost", endpoint_url, monkeypatch, tenant="nobody")
    hints = " ".join(info.value for info in app.info)
    assert "agentledger jobs run cost" in hints and "agentledger budgets set" in hints
    assert "record_kpi" in hints


def test_kpis_page(endpoint_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("kpis", endpoint_url, monkeypatch, tenant="acme")
    assert app.selectbox(key="kpi").options == ["resolved", "revenue"]
    assert app.success[0].value.startswith("v2 raised resolved rate by 40.0 points vs v1")
    frames = _frames(app)
    trend = frames[0].groupby("KpiName")["Sum"].sum()
    assert trend["resolved"] == 56.0
    compared = next(f for f in frames if "effect_size" in f and "vs" in f)
    assert compared["model"].tolist() == ["test-model-b"] and compared["significant"].all()
    linked = _page("kpis", endpoint_url, monkeypatch, tenant="acme", kpi="revenue")
    assert linked.selectbox(key="kpi").value == "revenue"  # the URL picks the KPI
    assert linked.success[0].value.startswith("v2 raised revenue by 40 on average vs v1")


def test_kpis_page_hides_other_tenants(endpoint_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("kpis", endpoint_url, monkeypatch)
    assert "secret_kpi" in app.selectbox(key="kpi").options  # no tenant chosen: every tenant
    confined = _page("kpis", endpoint_url, monkeypatch, tenant="globex")
    assert confined.selectbox(key="kpi").options == ["secret_kpi"]
    empty = _page("kpis", endpoint_url, monkeypatch, tenant="nobody")
    assert "record_kpi" in empty.info[0].value


def test_lineage_page_opens_at_a_decision(
    endpoint_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _page("lineage", endpoint_url, monkeypatch, tenant="acme", decision_id="d-40")
    metrics = _metrics(app)
    assert metrics["KPI outcomes"] == "2" and metrics["Documents and datasets"] == "1"
    nodes = next(f for f in _frames(app) if "Type" in f)
    assert {"decision:d-40", "document:refund-policy@3", "kpi:resolved:ticket-40"} <= set(
        nodes["Node"]
    )
    assert app.selectbox(key="lineage_path_to").value == "kpi:resolved:ticket-40"
    assert app.get("plotly_chart")
    labels = [button.proto.label for button in app.get("download_button")]
    assert [label for label in labels if label != "Download CSV"] == list(FORMATS)
    app.selectbox(key="lineage_recentre").set_value("document:refund-policy@3")
    app.button(key="lineage_recentre_go").click().run()
    assert app.query_params["node"] in ("document:refund-policy@3", ["document:refund-policy@3"])
    assert "decision_id" not in app.query_params


def test_lineage_page_at_a_node_and_a_trace(
    endpoint_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _page("lineage", endpoint_url, monkeypatch, node="document:refund-policy@3")
    app.segmented_control(key="lineage_direction").set_value("down").run()
    nodes = next(f for f in _frames(app) if "Type" in f)
    assert "kpi:resolved:ticket-40" in set(nodes["Node"])
    traced = _page("lineage", endpoint_url, monkeypatch, trace_id=f"{40:032x}")
    assert "decision:d-40" in set(next(f for f in _frames(traced) if "Type" in f)["Node"])


def test_lineage_page_never_shows_another_tenant(
    endpoint_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _page("lineage", endpoint_url, monkeypatch, tenant="acme", decision_id="g-secret")
    assert "no lineage recorded for decision:g-secret for tenant 'acme'" in app.info[0].value
    assert not app.get("plotly_chart")
    picker = _page("lineage", endpoint_url, monkeypatch, tenant="acme")
    recent = _frames(picker)[0]
    assert "g-secret" not in set(recent["DecisionId"]) and len(recent) == 50
    assert recent["Lineage"].iloc[0].startswith("/lineage?")
