"""The demo support agent, run through ``agentledger demo`` against a real server: every signal
the platform explains (spans, decisions, KPIs, model observations, document lineage, cost) arrives
complete and consistent, and the injected drift is visible in the stored data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

import pytest

from agentledger.analytics import lineage
from agentledger.demo.catalog import AGENT_VERSIONS, BASELINE, DRIFTED

from ..conftest import Server

TENANT = "acme"
SERVICE = "support-desk"
MODELS = set(BASELINE.models)
_DOCUMENT = re.compile(r"^document:(?P<id>[^@]+)@(?P<version>.+)$")


@pytest.fixture(scope="module")
def demo_run(server: Server) -> int:
    """Eight seconds flat out, drift after four: a couple of hundred tickets on each side."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentledger.cli",
            "demo",
            "--rate",
            "200",
            "--duration",
            "8",
            "--drift-at",
            "4",
            "--seed",
            "11",
            "--endpoint",
            server.otlp_url,
            "--api-key",
            server.api_keys[TENANT],
            "--wait-ready",
        ],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    handled = int(re.findall(r"handled (\d+) tickets", done.stdout)[0])
    assert handled >= 60, done.stdout
    return handled


def _rows(server: Server, sql: str) -> list[dict[str, Any]]:
    return list(server.client().query(sql, parameters={"t": TENANT}).named_results())


def test_every_ticket_is_one_trace_with_every_span_kind(server: Server, demo_run: int) -> None:
    traces = _rows(
        server,
        "SELECT TraceId, groupUniqArray(GenAiOperation) AS ops,"
        " countIf(GenAiOperation = 'invoke_agent') AS agents FROM otel_traces"
        " WHERE TenantId = {t:String} AND ServiceName = 'support-desk' GROUP BY TraceId",
    )
    assert len(traces) == demo_run
    for row in traces:
        assert row["agents"] == 1
        assert {"invoke_agent", "chat", "retrieval", "execute_tool"} <= set(row["ops"]), row
    decision_traces = {
        row["TraceId"]
        for row in _rows(server, "SELECT TraceId FROM decisions WHERE TenantId = {t:String}")
    }
    assert decision_traces == {row["TraceId"] for row in traces}


def test_decisions_cite_documents_and_policy_checks(server: Server, demo_run: int) -> None:
    decisions = _rows(
        server,
        "SELECT DecisionId, Chosen, Inputs, PolicyChecks, ApprovedBy, AgentVersion, ModelName"
        " FROM decisions WHERE TenantId = {t:String}",
    )
    assert len(decisions) == demo_run
    for row in decisions:
        assert any(_DOCUMENT.match(ref) for ref in row["Inputs"]), row["Inputs"]
        if row["PolicyChecks"]:
            checks = json.loads(row["PolicyChecks"])
            assert all({"policy_id", "verdict"} <= set(check) for check in checks)
    assert sum(bool(row["PolicyChecks"]) for row in decisions) > demo_run * 0.9
    approved = [row for row in decisions if row["ApprovedBy"]]
    assert approved and all(row["Chosen"] == "approve" for row in approved)
    assert {row["Chosen"] for row in decisions} == {"approve", "deny", "escalate"}
    assert {row["AgentVersion"] for row in decisions} == {v.name for v in AGENT_VERSIONS}
    assert {row["ModelName"] for row in decisions} == {v.model for v in AGENT_VERSIONS}


def test_kpis_are_attributed_to_their_decisions(server: Server, demo_run: int) -> None:
    kpis = _rows(
        server,
        "SELECT k.KpiName AS name, k.TraceId AS trace, d.TraceId AS decision_trace,"
        " d.DecisionId AS matched FROM kpi_events AS k"
        " LEFT JOIN (SELECT DecisionId, TraceId FROM decisions WHERE TenantId = {t:String}) AS d"
        " ON k.DecisionId = d.DecisionId WHERE k.TenantId = {t:String}",
    )
    assert {row["name"] for row in kpis} == {
        "ticket_resolved",
        "csat",
        "refund_amount",
        "upsell_revenue",
    }
    assert all(row["matched"] for row in kpis)
    assert all(row["trace"] == row["decision_trace"] for row in kpis)
    resolved = [row for row in kpis if row["name"] == "ticket_resolved"]
    assert len(resolved) == demo_run  # reported later, but none lost at the end of the run


def test_drift_shows_in_observations_and_documents(server: Server, demo_run: int) -> None:
    # Split on the first drifted observation: every earlier ticket met the baseline catalog.
    stats = _rows(
        server,
        "SELECT ModelName AS model, Timestamp >= (SELECT min(Timestamp) FROM model_observations"
        "  WHERE TenantId = {t:String} AND endsWith(ModelVersion, '-r2')) AS after,"
        " groupUniqArray(ModelVersion) AS versions,"
        " avgIf(Value, Feature = 'confidence') AS confidence,"
        " avgIf(Value, Feature = 'output_length') AS output_length,"
        " countIf(Feature = 'latency_ms') AS calls"
        " FROM model_observations WHERE TenantId = {t:String} GROUP BY model, after",
    )
    by_model: dict[str, dict[bool, dict[str, Any]]] = defaultdict(dict)
    for row in stats:
        by_model[row["model"]][bool(row["after"])] = row
    assert set(by_model) == MODELS
    for model, sides in by_model.items():
        before, after = sides[False], sides[True]
        assert before["versions"] == [BASELINE.models[model].version]
        assert after["versions"] == [DRIFTED.models[model].version]
        assert before["calls"] and after["calls"]
        assert after["confidence"] < before["confidence"] - 0.03, model
        assert after["output_length"] > before["output_length"] * 1.3, model

    documents = _rows(
        server,
        "SELECT d.Timestamp >= (SELECT min(Timestamp) FROM model_observations"
        "  WHERE TenantId = {t:String} AND endsWith(ModelVersion, '-r2')) AS after,"
        " groupUniqArray(ref) AS refs FROM decisions AS d ARRAY JOIN d.Inputs AS ref"
        " WHERE d.TenantId = {t:String} AND startsWith(ref, 'document:') GROUP BY after",
    )
    cited = {bool(row["after"]): set(row["refs"]) for row in documents}
    baseline = {f"document:{doc.id}@{doc.version}" for doc in BASELINE.documents}
    drifted = {f"document:{doc.id}@{doc.version}" for doc in DRIFTED.documents}
    assert cited[False] <= baseline and cited[True] <= drifted
    assert cited[False] - drifted and cited[True] - baseline


def test_cost_covers_every_demo_model(server: Server, demo_run: int) -> None:
    ran = server.cli("jobs", "run", "cost")
    assert ran.returncode == 0, ran.stderr
    shown = server.cli("cost", "--by", "model", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    rows = {row["model"]: row for row in json.loads(shown.stdout)}
    assert set(rows) >= MODELS
    for model in MODELS:
        assert rows[model]["cost_usd"] > 0, rows[model]
    assert all(row["unpriced_tokens"] == 0 for row in rows.values())


def _cli_json(server: Server, *args: str) -> Any:
    done = server.cli(*args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_analytics_commands_explain_the_demo(
    server: Server, demo_run: int, tmp_path: Any
) -> None:
    ran = server.cli("jobs", "run", "all")
    assert ran.returncode == 0, ran.stderr
    assert {line.split(":")[0] for line in ran.stdout.splitlines()} >= {
        "cost", "budgets", "anomalies", "drift", "lineage",
    }  # fmt: skip
    status = {row["job"]: row for row in _cli_json(server, "jobs", "status")}
    assert all(row["last_status"] == "ok" for row in status.values()), status

    by_version = _cli_json(server, "cost", "--by", "agent_version", "--tenant", TENANT)
    assert {row["agent_version"] for row in by_version} == {v.name for v in AGENT_VERSIONS}
    assert all(row["cost_usd"] > 0 for row in by_version)
    per_decision = _cli_json(server, "cost", "--by", "decision", "--limit", "5")
    assert len(per_decision) == 5 and per_decision[0]["cost_usd"] >= per_decision[-1]["cost_usd"]

    outcomes = _cli_json(server, "kpi", "outcomes", "ticket_resolved", "--by", "agent_version")
    assert sum(row["events"] for row in outcomes) == demo_run
    per_unit = _cli_json(server, "kpi", "cost", "ticket_resolved", "--by", "agent_version")
    assert all(row["cost_per_unit"] > 0 for row in per_unit if row.get("cost_per_unit"))
    compared = server.cli(
        "kpi", "compare", "ticket_resolved", "--agent", "support", "--a", "v1", "--b", "v2"
    )
    assert compared.returncode == 0 and "v2" in compared.stdout, compared.stderr

    assert server.cli("budgets", "set", "--tenant", TENANT, "--usd", "0.0001").returncode == 0
    budgets = _cli_json(server, "budgets", "list")
    assert budgets[0]["state"] == "over" and budgets[0]["spent_usd"] > 0.0001
    assert server.cli("jobs", "run", "budgets").returncode == 0
    alerts = _cli_json(server, "anomalies", "--kind", "budget", "--tenant", TENANT)
    assert alerts and alerts[0]["Kind"] == "budget"

    time.sleep(lineage.DEFAULT_SETTLE.total_seconds())  # the job leaves the newest rows settle
    assert server.cli("jobs", "run", "lineage").returncode == 0
    decision = _rows(server, "SELECT DecisionId FROM decisions WHERE TenantId = {t:String}")[0]
    upstream = _cli_json(server, "lineage", "upstream", f"decision:{decision['DecisionId']}")
    assert any(node["id"].startswith("document:") for node in upstream["nodes"])
    # Every ticket ends with an e-mail to the customer, an action taken after the decision.
    downstream = _cli_json(server, "lineage", "downstream", f"decision:{decision['DecisionId']}")
    assert any(node["id"].startswith("action:send_email:") for node in downstream["nodes"])
    out = tmp_path / "events.json"
    exported = server.cli("lineage", "export", "--decision", decision["DecisionId"],
                          "--format", "openlineage", "--out", str(out))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert out.read_text().strip()
    missing = server.cli("lineage", "upstream", "decision:does-not-exist")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr

    tiered = server.cli("prices", "set", "--model-pattern", "^tiered-model$",
                        "--input-per-mtok", "1", "--output-per-mtok", "2",
                        "--tier-above-input-tokens", "200000")  # fmt: skip
    assert tiered.returncode == 2 and "--tier-input-per-mtok" in tiered.stderr
