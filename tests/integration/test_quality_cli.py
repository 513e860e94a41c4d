"""``agentledger drift quality``: the labels-free quality proxies per bucket and model, printed
by the CLI against a running server (the CLI reaches it through its SQL endpoint)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ..conftest import Server

TENANT = "quality-cli"
HOUR = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)


def _ts(minutes: int) -> str:
    return (HOUR + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture(scope="module")
def stored(server: Server) -> Server:
    checks_failing = '[{"policy_id":"limit","verdict":"fail"}]'
    decisions = [  # minutes, model, chosen, confidence, policy checks
        (5, "gpt-q", "approve", 0.9, checks_failing),
        (10, "gpt-q", "escalate", 0.5, '[{"policy_id":"limit","verdict":"pass"}]'),
        (70, "gpt-q", "deny", 0.3, "[]"),
        (20, "other-q", "approve", 0.8, "[]"),
    ]
    values = ", ".join(
        f"('{_ts(m)}', '{TENANT}', 'd-{i}', '{model}', 'refund', '{chosen}', {conf}, '{checks}')"
        for i, (m, model, chosen, conf, checks) in enumerate(decisions)
    )
    spans = ", ".join(
        f"('{_ts(m)}', 't{i}', 's{i}', 'chat', 'svc', '{TENANT}',"
        f" map('gen_ai.operation.name', 'chat', 'gen_ai.request.model', 'gpt-q',"
        f" 'gen_ai.usage.output_tokens', '{tokens}'))"
        for i, (m, tokens) in enumerate([(15, 100), (25, 300)])
    )
    with server.client() as client:
        client.command(
            "INSERT INTO decisions (Timestamp, TenantId, DecisionId, ModelName, DecisionType,"
            f" Chosen, Confidence, PolicyChecks) VALUES {values}"
        )
        client.command(
            "INSERT INTO otel_traces (Timestamp, TraceId, SpanId, SpanName, ServiceName, TenantId,"
            f" SpanAttributes) VALUES {spans}"
        )
    return server


def test_quality_proxies_as_json_per_hour_and_model(stored: Server) -> None:
    run = stored.cli("drift", "quality", "--tenant", TENANT, "--since", "1d", "--format", "json")
    assert run.returncode == 0, run.stderr
    rows = [(r["bucket"][:16], r["model"], r) for r in json.loads(run.stdout)]
    first, later = (
        HOUR.strftime("%Y-%m-%d %H:%M"),
        (HOUR + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
    )
    assert [(bucket, model) for bucket, model, _ in rows] == [
        (first, "gpt-q"),
        (first, "other-q"),
        (later, "gpt-q"),
    ]
    gpt = rows[0][2]
    assert gpt["decisions"] == 2 and gpt["mean_confidence"] == pytest.approx(0.7)
    assert gpt["policy_failure_rate"] == pytest.approx(0.5)
    assert gpt["escalation_rate"] == pytest.approx(0.5)
    assert (gpt["model_calls"], gpt["mean_output_tokens"]) == (2, pytest.approx(200.0))
    assert rows[1][2]["model_calls"] == 0 and rows[1][2]["mean_output_tokens"] is None


def test_quality_proxies_table_for_one_model_in_day_buckets(stored: Server) -> None:
    run = stored.cli(
        "drift", "quality", "--tenant", TENANT, "--model", "gpt-q", "--since", "1d",
        "--bucket", "1d",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    header, *lines = run.stdout.splitlines()
    assert header.split() == [
        "bucket", "model", "decisions", "mean_confidence", "policy_failure_rate",
        "escalation_rate", "model_calls", "mean_output_tokens",
    ]  # fmt: skip
    cells = [line.split() for line in lines]
    assert len(cells) in (1, 2)  # the three hours may straddle midnight UTC
    assert sum(int(row[3]) for row in cells) == 3  # decisions (the bucket is a date and a time)
    if len(cells) == 1:  # mean confidence of 0.9, 0.5 and 0.3; model calls
        assert (cells[0][2], cells[0][4], cells[0][7]) == ("gpt-q", "0.5667", "2")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bucket", "0m"], "the bucket must be at least one second"),
        (["--bucket", "soon"], "is not a duration"),
        (["--since", "yesterday"], "is not an ISO date/time"),
    ],
)
def test_bad_options_are_explained(stored: Server, args: list[str], message: str) -> None:
    run = stored.cli("drift", "quality", "--tenant", TENANT, *args)
    assert run.returncode == 2 and message in run.stderr
