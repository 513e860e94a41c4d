"""Decoded OTLP stored in real chDB: exporter value conventions, derived GenAI columns for every
attribute convention, partial rejection, and routing of decision and KPI events."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from agentledger.collector.otlp_codec import ExportLogsServiceRequest, ExportTraceServiceRequest
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import query_rows

from ..conftest import StoredIngestor, kv

T0 = (time.time_ns() // 1_000_000_000 - 3600) * 1_000_000_000  # recent: inside the TTL


def _traces(service: str, spans: list[Span]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(kv("service.name", service))
    resource_spans.scope_spans.add().spans.extend(spans)
    return request


def _span(name: str, attrs: dict[str, Any], **fields: Any) -> Span:
    span = Span(
        trace_id=fields.pop("trace_id", uuid.uuid4().bytes),
        span_id=fields.pop("span_id", uuid.uuid4().bytes[:8]),
        name=name,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 1_500_000,
        **fields,
    )
    span.attributes.extend(kv(k, v) for k, v in attrs.items())
    return span


CONVENTIONS = {
    "genai-1.36": {
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024",
        "gen_ai.usage.prompt_tokens": 11,
        "gen_ai.usage.completion_tokens": 5,
        "gen_ai.operation.name": "chat",
    },
    "genai-1.37": {
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024",
        "gen_ai.usage.input_tokens": 11,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.operation.name": "chat",
    },
    "openinference": {
        "openinference.span.kind": "LLM",
        "llm.system": "openai",
        "llm.model_name": "gpt-4o-2024",
        "llm.request.model_name": "gpt-4o",
        "llm.token_count.prompt": 11,
        "llm.token_count.completion": 5,
    },
}


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_llm_columns_are_derived_from_every_convention(store: ChdbStore, convention: str) -> None:
    service = f"conv-{convention}"
    StoredIngestor(store).traces(
        _traces(service, [_span("llm", CONVENTIONS[convention], kind=Span.SPAN_KIND_CLIENT)]), "t"
    )
    (row,) = query_rows(
        store,
        "SELECT GenAiOperation, GenAiProvider, RequestModel, ResponseModel, InputTokens,"
        " OutputTokens FROM otel_traces WHERE ServiceName = {s:String}",
        {"s": service},
    )
    assert row == {
        "GenAiOperation": "chat",
        "GenAiProvider": "openai",
        "RequestModel": "gpt-4o",
        "ResponseModel": "gpt-4o-2024",
        "InputTokens": 11,
        "OutputTokens": 5,
    }


def test_agent_and_tool_columns_from_openinference_and_genai(store: ChdbStore) -> None:
    spans = [
        _span("a", {"openinference.span.kind": "AGENT", "agent.name": "oi-agent"}),
        _span("b", {"openinference.span.kind": "TOOL", "tool.name": "oi-tool"}),
        _span(
            "c",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "g-tool",
                "agentledger.decision.id": "d-1",
            },
        ),
    ]
    StoredIngestor(store).traces(_traces("conv-agents", spans), "t")
    rows = query_rows(
        store,
        "SELECT SpanName, AgentName, GenAiOperation, ToolName, DecisionId FROM otel_traces"
        " WHERE ServiceName = 'conv-agents' ORDER BY SpanName",
    )
    assert [tuple(r.values()) for r in rows] == [
        ("a", "oi-agent", "invoke_agent", "", ""),
        ("b", "", "execute_tool", "oi-tool", ""),
        ("c", "", "execute_tool", "g-tool", "d-1"),
    ]


def test_exporter_value_conventions(store: ChdbStore) -> None:
    parent = uuid.uuid4().bytes[:8]
    root = _span(
        "root",
        {"n": 3, "ok": True, "r": 0.5, "tags": ["a", "b"]},
        span_id=parent,
        kind=Span.SPAN_KIND_SERVER,
        status=Status(code=Status.STATUS_CODE_ERROR, message="boom"),
    )
    child = _span(
        "child", {}, trace_id=root.trace_id, parent_span_id=parent, kind=Span.SPAN_KIND_CONSUMER
    )
    StoredIngestor(store).traces(_traces("conv-values", [root, child]), "t")
    rows = query_rows(
        store,
        "SELECT SpanName, TraceId, ParentSpanId, SpanKind, StatusCode, StatusMessage, Duration,"
        " SpanAttributes, toUnixTimestamp64Nano(Timestamp) AS ns FROM otel_traces"
        " WHERE ServiceName = 'conv-values' ORDER BY SpanName",
    )
    child_row, root_row = rows
    assert root_row["TraceId"] == root.trace_id.hex() and root_row["TraceId"].islower()
    assert root_row["ParentSpanId"] == "" and child_row["ParentSpanId"] == parent.hex()
    assert (root_row["SpanKind"], child_row["SpanKind"]) == ("Server", "Consumer")
    assert (root_row["StatusCode"], root_row["StatusMessage"], child_row["StatusCode"]) == (
        "Error",
        "boom",
        "Unset",
    )
    assert root_row["Duration"] == 1_500_000 and root_row["ns"] == T0
    assert dict(root_row["SpanAttributes"]) == {
        "n": "3",
        "ok": "true",
        "r": "0.5",
        "tags": '["a","b"]',
    }


def test_invalid_spans_are_rejected_one_by_one(store: ChdbStore) -> None:
    good = _span("good", {})
    bad = [
        _span("short-trace", {}, trace_id=b"\x01" * 8),
        _span("zero-span", {}, span_id=b"\x00" * 8),
        _span("bad-parent", {}, parent_span_id=b"\x01" * 3),
    ]
    backwards = _span("backwards", {})
    backwards.end_time_unix_nano = T0 - 1
    rejects = StoredIngestor(store).traces(_traces("conv-reject", [good, *bad, backwards]), "t")
    assert rejects.count == 4
    for reason in (
        "trace_id must be 16",
        "span_id must be 8",
        "parent_span_id must be",
        "end_time_unix_nano",
    ):
        assert reason in rejects.message
    stored = query_rows(store, "SELECT SpanName FROM otel_traces WHERE ServiceName = 'conv-reject'")
    assert stored == [{"SpanName": "good"}]


def _logs(records: list[LogRecord], service: str = "logs-svc") -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.append(kv("service.name", service))
    resource_logs.scope_logs.add().log_records.extend(records)
    return request


def _event(name: str, attrs: dict[str, Any], *, by_attribute: bool = False) -> LogRecord:
    record = LogRecord(
        time_unix_nano=T0, trace_id=uuid.uuid4().bytes, span_id=uuid.uuid4().bytes[:8]
    )
    if by_attribute:
        attrs = {"event.name": name, **attrs}
    else:
        record.event_name = name
    record.attributes.extend(kv(k, v) for k, v in attrs.items())
    return record


def test_decision_and_kpi_events_are_routed_and_raw_logs_kept(store: ChdbStore) -> None:
    decision = _event(
        "agentledger.decision",
        {
            "agentledger.decision.id": "dec-42",
            "agentledger.decision.type": "refund",
            "agentledger.decision.chosen": "deny",
            "agentledger.decision.options": ["approve", "deny"],
            "agentledger.decision.confidence": 0.4,
            "agentledger.decision.policy_checks": '[{"policy_id": "p1", "verdict": "fail"}]',
            "gen_ai.agent.name": "refunder",
            "custom": "kept",
        },
    )
    kpi = _event(
        "agentledger.kpi",
        {
            "agentledger.kpi.name": "csat",
            "agentledger.kpi.value": 4,
            "agentledger.kpi.decision_id": "dec-42",
        },
        by_attribute=True,
    )
    broken_kpi = _event(
        "agentledger.kpi", {"agentledger.kpi.name": "csat", "agentledger.kpi.value": "great"}
    )
    plain = LogRecord(observed_time_unix_nano=T0, severity_text="INFO", severity_number=9)
    plain.body.string_value = "hello"
    rejects = StoredIngestor(store).logs(_logs([decision, kpi, broken_kpi, plain]), "logs-tenant")
    assert rejects.count == 1 and "numeric agentledger.kpi.value" in rejects.message

    (row,) = query_rows(
        store,
        "SELECT DecisionType, Chosen, Options, Confidence, PolicyChecks, AgentName,"
        " ServiceName, Attributes, TraceId FROM decisions WHERE DecisionId = 'dec-42'",
    )
    assert (row["DecisionType"], row["Chosen"], row["Options"]) == (
        "refund",
        "deny",
        ["approve", "deny"],
    )
    assert (
        row["Confidence"] == 0.4
        and row["AgentName"] == "refunder"
        and row["ServiceName"] == "logs-svc"
    )
    assert row["PolicyChecks"] == '[{"policy_id":"p1","verdict":"fail"}]'
    assert (
        dict(row["Attributes"]) == {"custom": "kept"} and row["TraceId"] == decision.trace_id.hex()
    )
    kpis = query_rows(
        store,
        "SELECT KpiName, Value, DecisionId, TenantId FROM kpi_events"
        " WHERE TenantId = 'logs-tenant'",
    )
    assert kpis == [
        {"KpiName": "csat", "Value": 4.0, "DecisionId": "dec-42", "TenantId": "logs-tenant"}
    ]
    logs = query_rows(
        store,
        "SELECT EventName, Body, SeverityNumber FROM otel_logs WHERE TenantId = 'logs-tenant'"
        " ORDER BY EventName",
    )
    assert [r["EventName"] for r in logs] == ["", "agentledger.decision", "agentledger.kpi"]
    assert logs[0]["Body"] == "hello" and logs[0]["SeverityNumber"] == 9
