"""Collector policies through a real server: redaction in stored rows, tenant rate limits,
protocol errors and the self-metrics that count them."""

from __future__ import annotations

import gzip
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from email.message import Message

import pytest

from agentledger.instrumentation import agent, record_decision, setup

from ..conftest import Server, start_server, stop

SECRETS = {
    "email": "write to jane.doe@example.com today",
    "phone": "call +1 415 555 0134 now",
    "card": "paid with 4111 1111 1111 1111",
    "iban": "wire to GB82 WEST 1234 5698 7654 32",
    "ipv4": "client 203.0.113.42 connected",
    "bearer_token": "Authorization: Bearer abc123def456ghi789jkl",
    "api_key": "key sk-proj-abcdefghijklmnopqrstuvwx123456",
    "jwt": "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running, proc = start_server(
        tmp_path_factory.mktemp("policies"),
        {
            "AGENTLEDGER_REDACT_RULES": "all",
            "AGENTLEDGER_REDACT_DENY_KEYS": "password",
            "AGENTLEDGER_TENANT_RATE_LIMITS": "globex=50",
            "AGENTLEDGER_MAX_BODY_BYTES": "200000",
        },
    )
    yield running
    stop(proc)


def _post(
    server: Server, path: str, body: bytes, tenant: str = "acme", **headers: str
) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(
        f"{server.otlp_url}{path}",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {server.api_keys[tenant]}",
        }
        | headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _spans(service: str, attributes: dict[str, str], count: int = 1) -> bytes:
    now = time.time_ns()
    spans = [
        {
            "traceId": uuid.uuid4().hex,
            "spanId": uuid.uuid4().hex[:16],
            "name": "s",
            "startTimeUnixNano": str(now),
            "endTimeUnixNano": str(now + 10),
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
        }
        for _ in range(count)
    ]
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                    },
                    "scopeSpans": [{"spans": spans}],
                }
            ]
        }
    ).encode()


def test_every_rule_redacts_stored_span_attributes(server: Server) -> None:
    attributes = {f"attr.{rule}": text for rule, text in SECRETS.items()}
    attributes |= {"password": "hunter2", "plain": "nothing to hide"}
    status, _, _ = _post(server, "/v1/traces", _spans("redaction", attributes))
    assert status == 200
    (stored,) = (
        server.client()
        .query("SELECT SpanAttributes FROM otel_traces WHERE ServiceName = 'redaction'")
        .result_rows[0]
    )
    for rule in SECRETS:
        assert f"[REDACTED:{rule}]" in stored[f"attr.{rule}"], (rule, stored[f"attr.{rule}"])
    assert "jane.doe@example.com" not in json.dumps(stored) and "4111" not in json.dumps(stored)
    assert stored["password"] == "[REDACTED:deny_key]" and stored["plain"] == "nothing to hide"
    metrics = urllib.request.urlopen(f"{server.otlp_url}/metrics", timeout=10).read().decode()
    assert 'agentledger_redacted_values_total{rule="email"}' in metrics


def test_decision_fields_are_redacted_before_sealing(server: Server) -> None:
    instrumentation = setup(
        "redaction-decisions", endpoint=server.otlp_url, api_key=server.api_keys["acme"]
    )
    with agent("refunds"):
        decision_id = record_decision("refund", "approve", rationale=f"customer {SECRETS['email']}")
    assert instrumentation.force_flush()
    (rationale,) = (
        server.client()
        .query(
            "SELECT Rationale FROM decisions WHERE DecisionId = {d:String}",
            parameters={"d": decision_id},
        )
        .result_rows[0]
    )
    assert "[REDACTED:email]" in rationale and "@example.com" not in rationale
    assert server.cli("audit", "verify").returncode == 0


def test_tenant_rate_limit_is_a_retryable_429(server: Server) -> None:
    first, _, _ = _post(server, "/v1/traces", _spans("rate", {}, count=40), tenant="globex")
    second, headers, body = _post(
        server, "/v1/traces", _spans("rate", {}, count=40), tenant="globex"
    )
    assert first == 200
    assert second == 429 and int(headers["Retry-After"]) >= 1
    assert "globex" in json.loads(body)["message"]
    # Other tenants are not affected.
    assert _post(server, "/v1/traces", _spans("rate", {}, count=40), tenant="acme")[0] == 200


def test_a_field_given_twice_is_stored_as_protobuf_reads_it(server: Server) -> None:
    """Protobuf keeps the last of a field given twice and merges a message given twice; the
    engine's reader does neither, so the fast path must hand it the request re-serialized, not
    the bytes received."""
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

    def field(number: int, payload: bytes) -> bytes:  # length-delimited, payloads < 128 bytes
        return bytes([number << 3 | 2, len(payload)]) + payload

    now = time.time_ns()
    span = Span(
        trace_id=uuid.uuid4().bytes,
        span_id=uuid.uuid4().bytes[:8],
        name="first",
        start_time_unix_nano=now,
        end_time_unix_nano=now + 10,
        status=Status(code=Status.STATUS_CODE_ERROR),
    ).SerializeToString()
    span += Span(name="second", status=Status(message="timed out")).SerializeToString()
    resource = ResourceSpans()
    resource.resource.attributes.add(key="service.name").value.string_value = "twice"
    scope = field(2, span)  # ScopeSpans.spans
    body = field(
        1, resource.SerializeToString() + field(2, ScopeSpans().SerializeToString() + scope)
    )
    status, _, _ = _post(server, "/v1/traces", body, **{"Content-Type": "application/x-protobuf"})
    assert status == 200
    query = (
        "SELECT SpanName, StatusCode, StatusMessage FROM otel_traces WHERE ServiceName = 'twice'"
    )
    deadline = time.monotonic() + 10
    while not (rows := server.client().query(query).result_rows) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rows == [("second", "Error", "timed out")]


def test_protocol_errors_have_clear_statuses_and_status_bodies(server: Server) -> None:
    assert _post(server, "/v1/traces", b"{", **{})[0] == 400
    status, _, body = _post(server, "/v1/traces", b"x", **{"Content-Type": "text/plain"})
    assert status == 415 and "unsupported content type" in body.decode()
    status, _, body = _post(server, "/v1/traces", b"{}" + b" " * 300_000)
    assert status == 413
    bomb = gzip.compress(b" " * 5_000_000)
    status, _, body = _post(server, "/v1/traces", bomb, **{"Content-Encoding": "gzip"})
    assert status == 413 and "decompressed" in json.loads(body)["message"]
    metrics = urllib.request.urlopen(f"{server.otlp_url}/metrics", timeout=10).read().decode()
    for code in ("400", "413", "415"):
        assert f'agentledger_refused_requests_total{{status="{code}"}}' in metrics
