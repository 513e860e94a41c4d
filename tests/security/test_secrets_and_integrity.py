"""Secrets stay secret and stored data stays honest: no secret in a real server's output,
every redaction rule holds on every stored table, and a tampered decision is named."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentledger import semconv
from agentledger.collector.keys import revoke_key

from ..conftest import Server, free_port, serve_argv, stop, wait_http
from ..unit.test_redaction import POSITIVE
from .conftest import (
    LoggedServer,
    log_document,
    post_json,
    spans_document,
    start_logged,
)

CUSTOM_SECRET = "ticket-SECRET-42"
# One example per rule, with the fragment that must not be stored.
EXAMPLES = {rule: (text, secret) for rule, text, secret in reversed(POSITIVE)}
EXAMPLES["customer_ref"] = (f"case {CUSTOM_SECRET} escalated", CUSTOM_SECRET)


def test_no_secret_in_the_output_of_a_collector_or_its_store(tmp_path: Path) -> None:
    """A collector in server mode (store URL with the admin password in it) through an outage of
    its store, with good, wrong and revoked keys: neither process prints a secret."""
    store = start_logged(tmp_path / "store")
    collector_log = tmp_path / "collector.log"
    port = free_port()
    env = dict(store.server.env, AGENTLEDGER_CLICKHOUSE_URL=store.admin_url)
    env.update(AGENTLEDGER_FLUSH_INTERVAL_SECONDS="0.1")
    with collector_log.open("wb") as out:
        collector = subprocess.Popen(
            serve_argv(tmp_path / "collector", port, free_port()),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", proc=collector)
        key_id, managed = store.new_key("acme", "ingest")
        _, read_secret = store.new_key("acme", "read")
        revoked_id, revoked = store.new_key("acme", "ingest")
        admin = store.admin_store()
        revoke_key(admin, revoked_id)
        admin.close()
        through = dataclasses.replace(store.server, otlp_url=url)  # send through the collector
        document = spans_document("secrets", {"note": "nothing secret"})
        for secret in (store.server.api_keys["acme"], managed, revoked, read_secret, "wrong"):
            post_json(through, "/v1/traces", secret, document)
        for user, password in (("admin", "x"), (key_id, read_secret), ("reader", managed)):
            store.sql_status("SELECT 1", {"X-ClickHouse-User": user, "X-ClickHouse-Key": password})
        stop(store.proc)  # the store goes away: the collector logs its failures
        for _ in range(10):
            post_json(through, "/v1/traces", store.server.api_keys["acme"], document)
        time.sleep(3)
    finally:
        stop(collector)
        stop(store.proc)
    printed = collector_log.read_text(errors="replace") + store.log.read_text(errors="replace")
    assert "store write failed" in printed or "refresh failed" in printed, printed[-2000:]
    leaked = [secret for secret in store.secrets if secret in printed]
    assert not leaked, f"{len(leaked)} secret(s) printed"


@pytest.fixture(scope="module")
def redacting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedServer]:
    logged = start_logged(
        tmp_path_factory.mktemp("redacting"),
        {
            "AGENTLEDGER_REDACT_RULES": "all",
            "AGENTLEDGER_REDACT_CUSTOM": r"customer_ref=ticket-SECRET-\d+",
            "AGENTLEDGER_REDACT_DENY_KEYS": "*password*",
        },
    )
    yield logged
    stop(logged.proc)


def _span_with_everything(service: str) -> dict[str, object]:
    document = spans_document(
        service, {f"attr.{rule}": text for rule, (text, _) in EXAMPLES.items()}
    )
    attributes = [
        {"key": f"res.{rule}", "value": {"stringValue": text}}
        for rule, (text, _) in EXAMPLES.items()
    ]
    resource = document["resourceSpans"][0]["resource"]  # type: ignore[index]
    resource["attributes"] += attributes
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]  # type: ignore[index]
    span["attributes"].append({"key": "db.password", "value": {"stringValue": "hunter2-pw"}})
    span["status"] = {"code": 2, "message": " | ".join(text for text, _ in EXAMPLES.values())}
    span["events"] = [
        {
            "name": "exception",
            "timeUnixNano": span["startTimeUnixNano"],
            "attributes": [
                {"key": f"ev.{rule}", "value": {"stringValue": text}}
                for rule, (text, _) in EXAMPLES.items()
            ],
        }
    ]
    return document


def test_every_rule_holds_on_every_stored_table(redacting: LoggedServer) -> None:
    server = redacting.server
    service = f"redact-{uuid.uuid4().hex[:6]}"
    key = server.api_keys["acme"]
    everything = " ~ ".join(text for text, _ in EXAMPLES.values())
    assert post_json(server, "/v1/traces", key, _span_with_everything(service)) == 200
    log_attrs: dict[str, object] = {f"log.{r}": t for r, (t, _) in EXAMPLES.items()}
    assert post_json(server, "/v1/logs", key, log_document(service, everything, log_attrs)) == 200
    decision = {
        semconv.DECISION_ID: f"d-{uuid.uuid4().hex[:8]}",
        semconv.DECISION_TYPE: "refund",
        semconv.DECISION_CHOSEN: "approve",
        semconv.DECISION_OPTIONS: ["approve", everything],
        semconv.DECISION_RATIONALE: everything,
        semconv.DECISION_APPROVED_BY: EXAMPLES["email"][0],
    }
    document = log_document(service, "decided", decision, event=semconv.EVENT_DECISION)
    assert post_json(server, "/v1/logs", key, document) == 200
    kpi = {
        semconv.KPI_NAME: "resolved",
        semconv.KPI_VALUE: 1.0,
        **{f"kpi.{r}": t for r, (t, _) in EXAMPLES.items()},
    }
    document = log_document(service, "kpi", kpi, event=semconv.EVENT_KPI)
    assert post_json(server, "/v1/logs", key, document) == 200
    client = server.client()
    stored = {
        "otel_traces": "SELECT ResourceAttributes, SpanAttributes, StatusMessage, Events.Attributes"
        " FROM otel_traces WHERE ServiceName = {s:String}",
        "otel_logs": "SELECT Body, LogAttributes FROM otel_logs WHERE ServiceName = {s:String}",
        "decisions": "SELECT Options, Rationale, ApprovedBy FROM decisions"
        " WHERE ServiceName = {s:String}",
        "kpi_events": "SELECT Attributes FROM kpi_events WHERE KpiName = 'resolved'",
    }
    for table, sql in stored.items():
        rows = client.query(sql, parameters={"s": service}).result_rows
        assert rows, table
        text = json.dumps(rows, default=str)
        for rule, (_, secret) in EXAMPLES.items():
            assert secret not in text, (table, rule)
            if table != "kpi_events" or rule in ("email",):
                assert f"[REDACTED:{rule}]" in text, (table, rule)
    spans = json.dumps(client.query(stored["otel_traces"], parameters={"s": service}).result_rows)
    assert "hunter2-pw" not in spans and "[REDACTED:deny_key]" in spans
    assert redacting.server.cli("audit", "verify").returncode == 0


def _send_decisions(server: Server, key: str, service: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        decision_id = f"{service}-{i}"
        attrs = {
            semconv.DECISION_ID: decision_id,
            semconv.DECISION_TYPE: "refund",
            semconv.DECISION_CHOSEN: "deny",
            semconv.DECISION_RATIONALE: f"reason {i}",
        }
        document = log_document(service, "decided", attrs, event=semconv.EVENT_DECISION)
        assert post_json(server, "/v1/logs", key, document) == 200
        ids.append(decision_id)
    return ids


def test_tampered_decisions_are_named_by_audit_verify(redacting: LoggedServer) -> None:
    server = redacting.server
    edited = _send_decisions(server, server.api_keys["acme"], "tamper-edit", 4)
    removed = _send_decisions(server, server.api_keys["globex"], "tamper-remove", 4)
    assert server.cli("audit", "verify").returncode == 0
    client = server.client()
    client.command(
        "ALTER TABLE decisions UPDATE Chosen = 'approve' WHERE DecisionId = {d:String}"
        " SETTINGS mutations_sync = 2",
        parameters={"d": edited[2]},
    )
    result = server.cli("audit", "verify", "--tenant", "acme")
    assert result.returncode == 1
    assert f"decision={edited[2]}" in result.stderr and "edited" in result.stderr
    client.command(
        "ALTER TABLE decisions DELETE WHERE DecisionId = {d:String} SETTINGS mutations_sync = 2",
        parameters={"d": removed[1]},
    )
    result = server.cli("audit", "verify", "--tenant", "globex")
    assert result.returncode == 1
    assert f"decision={removed[2]}" in result.stderr and "removed" in result.stderr
    urllib.request.urlopen(f"{server.otlp_url}/healthz", timeout=5).close()
