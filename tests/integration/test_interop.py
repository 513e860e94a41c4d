"""Spans from OpenInference and plain OpenTelemetry GenAI instrumentation fill the same columns
as spans from our own wrappers describing the same model and tool calls."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentledger.collector.otlp_codec import ExportTraceServiceRequest
from agentledger.instrumentation import agent, llm_call, tool
from agentledger.instrumentation._setup import _setup_for_tests
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import query_rows

from ..conftest import StoredIngestor

COLUMNS = (
    "AgentName, GenAiOperation, GenAiProvider, RequestModel, ResponseModel, InputTokens,"
    " OutputTokens, ToolName"
)

# The same three calls (an agent run, a model call, a tool call) in each convention.
FOREIGN = {
    "otel-genai-1.36": [
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "triage"},
        {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.agent.name": "triage",
         "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
         "gen_ai.usage.prompt_tokens": 120, "gen_ai.usage.completion_tokens": 30},
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup",
         "gen_ai.agent.name": "triage"},
    ],
    "openinference": [
        {"openinference.span.kind": "AGENT", "agent.name": "triage"},
        {"openinference.span.kind": "LLM", "llm.system": "openai", "agent.name": "triage",
         "llm.request.model_name": "gpt-4o", "llm.model_name": "gpt-4o-2024-08-06",
         "llm.token_count.prompt": 120, "llm.token_count.completion": 30},
        {"openinference.span.kind": "TOOL", "tool.name": "lookup", "agent.name": "triage"},
    ],
}  # fmt: skip


def _ours(service: str) -> ExportTraceServiceRequest:
    spans = InMemorySpanExporter()
    instrumentation = _setup_for_tests(spans, InMemoryLogRecordExporter(), service_name=service)
    with agent("triage"):
        with llm_call("gpt-4o", "openai") as call:
            call.record_usage(input_tokens=120, output_tokens=30)
            call.set_response(model="gpt-4o-2024-08-06")
        with tool("lookup"):
            pass
    instrumentation.force_flush()
    request: ExportTraceServiceRequest = encode_spans(spans.get_finished_spans())
    instrumentation.shutdown()
    return request


def _foreign(service: str, shapes: list[dict[str, Any]]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value=service))
    )
    scope = resource_spans.scope_spans.add()
    trace_id, now = uuid.uuid4().bytes, time.time_ns()
    for attributes in shapes:
        span = Span(trace_id=trace_id, span_id=uuid.uuid4().bytes[:8], name="x",
                    start_time_unix_nano=now, end_time_unix_nano=now + 1000)  # fmt: skip
        for key, value in attributes.items():
            any_value = (
                AnyValue(int_value=value)
                if isinstance(value, int)
                else AnyValue(string_value=value)
            )
            span.attributes.append(KeyValue(key=key, value=any_value))
        scope.spans.append(span)
    return request


def _columns(store: ChdbStore, service: str) -> list[tuple[Any, ...]]:
    rows = query_rows(
        store,
        f"SELECT {COLUMNS} FROM otel_traces WHERE ServiceName = {{s:String}}"
        " ORDER BY GenAiOperation",
        {"s": service},
    )
    return [tuple(row.values()) for row in rows]


@pytest.mark.parametrize("convention", sorted(FOREIGN))
def test_foreign_spans_fill_the_same_columns_as_ours(store: ChdbStore, convention: str) -> None:
    ingest = StoredIngestor(store)
    ingest.traces(_ours(f"ours-{convention}"), "t")
    ingest.traces(_foreign(f"interop-{convention}", FOREIGN[convention]), "t")
    ours = _columns(store, f"ours-{convention}")
    assert ours and [row[1] for row in ours] == ["chat", "execute_tool", "invoke_agent"]
    assert _columns(store, f"interop-{convention}") == ours
