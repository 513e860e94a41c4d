"""The whole flow on the embedded default: a real ``serve`` process, real OTLP exporters, reads
through the real clickhouse-connect client and the real CLI."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from agentledger.audit.chain import GENESIS
from agentledger.collector.pipeline import INLINE_MAX_BYTES
from agentledger.instrumentation import agent, llm_call, record_decision, record_kpi, setup, tool

from ..conftest import Server


def _run_instrumented_agent(server: Server, marker: str) -> tuple[str, str]:
    instrumentation = setup(
        f"e2e-{marker}", endpoint=server.otlp_url, api_key=server.api_keys["acme"]
    )

    @tool("search")
    def search(query: str) -> list[str]:
        return [f"doc:{query}@v1"]

    @tool("flaky")
    def flaky() -> None:
        raise RuntimeError("tool exploded")

    @agent("planner", version="1.2")
    def run() -> str:
        docs = search("refunds")
        with llm_call("gpt-4o", "openai") as call:
            call.record_usage(input_tokens=1200, output_tokens=300)
            call.set_response(model="gpt-4o-2024-08-06", finish_reason="stop")
        with pytest.raises(RuntimeError):
            flaky()
        return record_decision(
            "refund",
            "approve",
            options=["approve", "deny"],
            confidence=0.82,
            inputs=docs,
            rationale="within policy",
        )

    decision_id = run()
    record_kpi("ticket_resolved", 1, "ticket", decision_id, entity_id="T-1")
    assert instrumentation.force_flush()
    return decision_id, f"e2e-{marker}"


def test_instrumented_agent_end_to_end(server: Server) -> None:
    decision_id, service = _run_instrumented_agent(server, uuid.uuid4().hex[:8])
    client = server.client()

    spans = list(
        client.query(
            "SELECT SpanName, SpanKind, ParentSpanId, TraceId, AgentName, GenAiOperation,"
            " GenAiProvider, RequestModel, ResponseModel, InputTokens, OutputTokens, ToolName,"
            " DecisionId, TenantId,"
            " StatusCode, Duration, Events.Name FROM otel_traces WHERE ServiceName = {s:String}"
            " ORDER BY Timestamp",
            parameters={"s": service},
        ).named_results()
    )
    rows = {row["SpanName"]: row for row in spans}
    assert set(rows) == {
        "invoke_agent planner",
        "execute_tool search",
        "chat gpt-4o",
        "execute_tool flaky",
    }
    root = rows["invoke_agent planner"]
    assert root["ParentSpanId"] == "" and root["GenAiOperation"] == "invoke_agent"
    assert root["DecisionId"] == decision_id
    assert {row["TraceId"] for row in spans} == {root["TraceId"]} and len(root["TraceId"]) == 32
    assert all(row["AgentName"] == "planner" and row["TenantId"] == "acme" for row in spans)
    chat = rows["chat gpt-4o"]
    assert (chat["SpanKind"], chat["GenAiOperation"], chat["GenAiProvider"]) == (
        "Client",
        "chat",
        "openai",
    )
    assert (chat["RequestModel"], chat["ResponseModel"]) == ("gpt-4o", "gpt-4o-2024-08-06")
    assert (chat["InputTokens"], chat["OutputTokens"]) == (1200, 300)
    assert rows["execute_tool search"]["ToolName"] == "search"
    assert rows["execute_tool flaky"]["StatusCode"] == "Error"
    assert "exception" in rows["execute_tool flaky"]["Events.Name"]
    assert all(row["Duration"] > 0 for row in spans)

    decision = client.query(
        "SELECT TenantId, TraceId, AgentName, AgentVersion, DecisionType, Options, Chosen,"
        " Confidence, Inputs, Rationale, Seq, PrevHash, Hash FROM decisions"
        " WHERE DecisionId = {d:String}",
        parameters={"d": decision_id},
    ).named_results()
    (row,) = list(decision)
    assert row["TenantId"] == "acme" and row["TraceId"] == root["TraceId"]
    assert (row["AgentName"], row["AgentVersion"], row["DecisionType"]) == (
        "planner",
        "1.2",
        "refund",
    )
    assert (row["Options"], row["Chosen"], row["Confidence"]) == (
        ["approve", "deny"],
        "approve",
        0.82,
    )
    assert row["Inputs"] == ["doc:refunds@v1"] and row["Rationale"] == "within policy"
    assert len(row["Hash"]) == 64 and (row["Seq"] > 1 or row["PrevHash"] == GENESIS)
    verified = server.cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok:")

    kpi = client.query(
        "SELECT KpiName, Value, Unit, EntityId, TraceId, TenantId FROM kpi_events"
        " WHERE DecisionId = {d:String}",
        parameters={"d": decision_id},
    ).named_results()
    assert list(kpi) == [
        {
            "KpiName": "ticket_resolved",
            "Value": 1.0,
            "Unit": "ticket",
            "EntityId": "T-1",
            "TraceId": "",
            "TenantId": "acme",
        }
    ]


def test_cost_job_uses_the_price_you_set(server: Server) -> None:
    _run_instrumented_agent(server, "cost")
    model = f"e2e-model-{uuid.uuid4().hex[:6]}"
    provider = TracerProvider(resource=Resource.create({"service.name": "cost-check"}))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(
                endpoint=f"{server.otlp_url}/v1/traces",
                headers={"Authorization": f"Bearer {server.api_keys['globex']}"},
            )
        )
    )
    tracer = provider.get_tracer("test")
    for _ in range(2):
        with tracer.start_as_current_span(f"chat {model}", kind=SpanKind.CLIENT) as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "acme-ai",
                    "gen_ai.request.model": model,
                    "gen_ai.usage.input_tokens": 10_000,
                    "gen_ai.usage.output_tokens": 2_000,
                }
            )
    provider.shutdown()

    unpriced = server.cli("jobs", "run", "cost")
    assert unpriced.returncode == 0, unpriced.stderr
    before = {
        r["model"]: r
        for r in json.loads(server.cli("cost", "--by", "model", "--format", "json").stdout)
    }
    assert before[model]["cost_usd"] == 0 and before[model]["unpriced_tokens"] == 24_000

    set_price = server.cli(
        "prices",
        "set",
        "--model-pattern",
        f"^{model}$",
        "--input-per-mtok",
        "3",
        "--output-per-mtok",
        "15",
    )
    assert set_price.returncode == 0, set_price.stderr
    assert server.cli("jobs", "run", "cost").returncode == 0
    status = json.loads(server.cli("jobs", "status", "--format", "json").stdout)
    cost_status = next(row for row in status if row["job"] == "cost")
    assert cost_status["last_status"] == "ok" and cost_status["failures"] == 0
    assert "unknown job" in server.cli("jobs", "run", "nope").stderr
    result = server.cli("cost", "--by", "model", "--format", "json")
    totals = {r["model"]: r for r in json.loads(result.stdout)}
    # 20k input tokens at $3/M + 4k output tokens at $15/M
    assert totals[model]["cost_usd"] == pytest.approx(0.06 + 0.06)
    assert totals[model]["unpriced_tokens"] == 0
    assert (totals[model]["input_tokens"], totals[model]["output_tokens"]) == (20_000, 4_000)
    by_tenant = {
        r["tenant"]: r
        for r in json.loads(server.cli("cost", "--by", "tenant", "--format", "json").stdout)
    }
    assert by_tenant["globex"]["cost_usd"] == pytest.approx(0.12)
    runs = server.client().query(
        "SELECT count() FROM job_runs WHERE Job = 'cost' AND Status = 'ok'"
    )
    assert runs.result_rows[0][0] >= 2


@pytest.mark.parametrize("encoding", ["json", "protobuf+gzip"])
def test_raw_opentelemetry_sdk_exporters(server: Server, encoding: str) -> None:
    service = f"raw-{encoding}-{uuid.uuid4().hex[:6]}"
    headers = {"Authorization": f"Bearer {server.api_keys['globex']}"}
    if encoding == "json":
        from opentelemetry.exporter.otlp.json.http.trace_exporter import (
            OTLPSpanExporter as Exporter,
        )

        exporter = Exporter(endpoint=f"{server.otlp_url}/v1/traces", headers=headers)
    else:
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(
            endpoint=f"{server.otlp_url}/v1/traces", headers=headers, compression=Compression.Gzip
        )
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("raw-sdk", "9.9")
    # OTel GenAI <= 1.36 names, as most instrumentations still emit them by default.
    with (
        tracer.start_as_current_span("agent run", attributes={"gen_ai.agent.name": "legacy"}),
        tracer.start_as_current_span("chat claude", kind=SpanKind.CLIENT) as span,
    ):
        span.set_attributes(
            {
                "gen_ai.system": "anthropic",
                "gen_ai.request.model": "claude-3-5-haiku",
                "gen_ai.usage.prompt_tokens": 42,
                "gen_ai.usage.completion_tokens": 7,
                "ratio": 0.25,
                "flags": [True, False],
            }
        )
        span.add_event("retry", {"attempt": 2})
    provider.shutdown()

    rows = (
        server.client()
        .query(
            "SELECT SpanName, ParentSpanId, ScopeName, ScopeVersion, GenAiProvider, RequestModel,"
            " InputTokens, OutputTokens, AgentName, SpanAttributes, Events.Name, Events.Attributes,"
            " TenantId FROM otel_traces WHERE ServiceName = {s:String} ORDER BY SpanName",
            parameters={"s": service},
        )
        .named_results()
    )
    by_name = {row["SpanName"]: row for row in rows}
    assert set(by_name) == {"agent run", "chat claude"}
    assert (
        by_name["agent run"]["ParentSpanId"] == "" and by_name["agent run"]["AgentName"] == "legacy"
    )
    chat = by_name["chat claude"]
    assert len(chat["ParentSpanId"]) == 16
    assert (chat["ScopeName"], chat["ScopeVersion"], chat["TenantId"]) == (
        "raw-sdk",
        "9.9",
        "globex",
    )
    assert (chat["GenAiProvider"], chat["RequestModel"]) == ("anthropic", "claude-3-5-haiku")
    assert (chat["InputTokens"], chat["OutputTokens"]) == (42, 7)
    assert chat["SpanAttributes"]["ratio"] == "0.25"
    assert chat["SpanAttributes"]["flags"] == "[true,false]"
    assert chat["Events.Name"] == ["retry"] and chat["Events.Attributes"] == [{"attempt": "2"}]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key", "Basic a2V5LWFjbWUtMTIz"])
def test_ingest_without_a_valid_key_is_refused(server: Server, authorization: str | None) -> None:
    request = urllib.request.Request(
        f"{server.otlp_url}/v1/traces",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"}
        | ({"Authorization": authorization} if authorization else {}),
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 401
    assert "API key" in json.loads(caught.value.read())["message"]


def _trace_request(spans: int, trace_id: bytes, valid: bool = True) -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="sizes"))
    )
    out = resource_spans.scope_spans.add()
    start = time.time_ns()
    for number in range(spans):
        span = out.spans.add(
            trace_id=trace_id,
            span_id=(number + 1).to_bytes(8, "big"),
            name="step",
            start_time_unix_nano=start,
            end_time_unix_nano=start + 1000,
        )
        span.attributes.append(KeyValue(key="input.value", value=AnyValue(string_value="x" * 400)))
    if not valid:
        out.spans[0].span_id = b"short"
    return request.SerializeToString()


@pytest.mark.parametrize("spans", [3, 1500])
def test_small_and_large_trace_requests_are_stored_alike(server: Server, spans: int) -> None:
    """Requests up to 512 KiB are handled on the receiver's event loop, larger ones in its
    thread pool: both store every valid span and report the invalid one."""
    trace_id = uuid.uuid4().bytes
    body = _trace_request(spans, trace_id, valid=False)
    assert (len(body) > INLINE_MAX_BYTES) == (spans > 3)
    request = urllib.request.Request(
        f"{server.otlp_url}/v1/traces",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-protobuf",
            "Authorization": f"Bearer {server.api_keys['acme']}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = ExportTraceServiceResponse.FromString(response.read())
    assert answer.partial_success.rejected_spans == 1
    assert "span_id must be 8 non-zero bytes" in answer.partial_success.error_message
    count = "SELECT count() FROM otel_traces WHERE TraceId = {t:String}"
    assert server.client().command(count, parameters={"t": trace_id.hex()}) == spans - 1


def test_tenant_comes_from_the_key_not_the_payload(server: Server) -> None:
    trace_id = uuid.uuid4().hex
    start = time.time_ns()
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "spoof"}},
                        {"key": "tenant.id", "value": {"stringValue": "acme"}},
                    ]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": "00f067aa0ba902b7",
                                "name": "spoofed",
                                "kind": 2,
                                "startTimeUnixNano": str(start),
                                "endTimeUnixNano": str(start + 500_000_000),
                                "attributes": [
                                    {"key": "TenantId", "value": {"stringValue": "acme"}}
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    request = urllib.request.Request(
        f"{server.otlp_url}/v1/traces",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {server.api_keys['globex']}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "application/json"
        assert json.loads(response.read()) == {}
    rows = (
        server.client()
        .query(
            "SELECT TenantId, SpanKind, Duration FROM otel_traces WHERE TraceId = {t:String}",
            parameters={"t": trace_id},
        )
        .result_rows
    )
    assert rows == [("globex", "Server", 500_000_000)]


def test_plain_curl_reads_on_loopback_but_cannot_write(server: Server) -> None:
    """Like ClickHouse's passwordless ``default`` user, but read-only, and only on loopback."""
    url = f"http://127.0.0.1:{server.sql_port}/"
    with urllib.request.urlopen(f"{url}?query=SELECT+1", timeout=10) as response:
        assert response.read() == b"1\n"
    request = urllib.request.Request(url, data=b"DROP TABLE otel_traces", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.headers["X-ClickHouse-Exception-Code"] == "164"
    assert server.client().command("EXISTS TABLE otel_traces") == 1
