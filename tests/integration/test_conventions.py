"""One normalizer for every attribute convention: OpenLLMetry, Langfuse and the genai repository's
names fill the same derived columns as GenAI and OpenInference; the migration SQL and
``semconv.DERIVED_COLUMNS`` name the same keys; ``conventions report`` explains every key seen."""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentledger import semconv
from agentledger.analytics.conventions import (
    COLUMNS_BY_KEY,
    KEY_CONVENTIONS,
    KeyClass,
    classify,
    conventions_report,
)
from agentledger.collector.otlp_codec import ExportTraceServiceRequest
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import query_rows

from ..conftest import Server, StoredIngestor, kv

T0 = (time.time_ns() // 1_000_000_000 - 3600) * 1_000_000_000  # recent: inside the TTL

MIGRATIONS = resources.files("agentledger.storage") / "migrations"
SQL_0001 = (MIGRATIONS / "0001_traces_and_logs.sql").read_text()
SQL_0006 = (MIGRATIONS / "0006_conventions_and_observations.sql").read_text()
SQL_0010 = (MIGRATIONS / "0010_cost_budgets_anomalies.sql").read_text()
SEMCONV_VALUES = {
    value for name, value in vars(semconv).items() if name.isupper() and isinstance(value, str)
}


def span(name: str, attrs: dict[str, Any], start: int = T0, duration_ns: int = 1_500_000) -> Span:
    result = Span(
        trace_id=uuid.uuid4().bytes,
        span_id=uuid.uuid4().bytes[:8],
        name=name,
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration_ns,
    )
    result.attributes.extend(kv(k, v) for k, v in attrs.items())
    return result


def traces(service: str, spans: list[Span]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(kv("service.name", service))
    resource_spans.scope_spans.add().spans.extend(spans)
    return request


# --- the SQL and the Python table name the same keys ------------------------------------------


def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in re.split(r";\s*$", body, flags=re.M) if s.strip()]


def _keys(sql: str) -> list[str]:
    """SpanAttributes keys in order of first appearance."""
    return list(dict.fromkeys(re.findall(r"SpanAttributes\['([^']+)'\]", sql)))


def _column_sql() -> dict[str, str]:
    """The current expression of every derived column: the latest migration's that sets it."""
    found = {}
    create = SQL_0001.split("CREATE TABLE IF NOT EXISTS otel_traces", 1)[1].split(") ENGINE")[0]
    for match in re.finditer(
        r"^    (\w+) [\w()]+ MATERIALIZED (.*?)(?=^    (?:\w+ [\w()]+ |INDEX ))",
        create,
        flags=re.M | re.S,
    ):
        found[match.group(1)] = match.group(2)
    for statement in [*_statements(SQL_0006), *_statements(SQL_0010)]:
        altered = re.match(
            r"ALTER TABLE otel_traces (?:MODIFY|ADD) COLUMN (?:IF NOT EXISTS )?(\w+) ", statement
        )
        if altered:
            found[altered.group(1)] = statement
    return found


def test_every_key_the_migration_reads_is_named_in_semconv() -> None:
    keys = set(_keys(SQL_0006))
    assert keys and keys <= SEMCONV_VALUES, keys - SEMCONV_VALUES
    for literal in re.findall(r"'(agentledger\.[a-z_.]+)'", SQL_0006):
        assert literal in SEMCONV_VALUES, literal


def test_derived_columns_table_matches_the_migrations_both_ways() -> None:
    columns = _column_sql()
    assert set(semconv.DERIVED_COLUMNS) <= set(columns)
    for column, keys in semconv.DERIVED_COLUMNS.items():
        assert tuple(_keys(columns[column])) == keys, column
    # every derived column of the schema is in the table
    assert set(columns) == set(semconv.DERIVED_COLUMNS)


def test_langfuse_usage_fields_match_semconv() -> None:
    fields = set(re.findall(r"usage_details'\], '(\w+)'\)", SQL_0006))
    named = {
        semconv.LANGFUSE_USAGE_INPUT,
        semconv.LANGFUSE_USAGE_OUTPUT,
        semconv.LANGFUSE_USAGE_TOTAL,
        *semconv.LANGFUSE_USAGE_CACHE_READ,
        semconv.LANGFUSE_USAGE_CACHE_WRITE,
        semconv.LANGFUSE_USAGE_REASONING,
    }
    assert fields == named


def test_every_mapped_key_has_a_convention() -> None:
    for column, keys in semconv.DERIVED_COLUMNS.items():
        for key in keys:
            assert key in KEY_CONVENTIONS, key
            found = classify(key)
            assert found.status == "mapped" and column in found.columns, (key, found)
            assert found.convention != "other"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("gen_ai.usage.input_tokens", KeyClass("otel-genai-1.37+", "mapped", ("InputTokens",))),
        ("gen_ai.system", KeyClass("otel-genai-1.36", "mapped", ("GenAiProvider",))),
        ("gen_ai.request.temperature", KeyClass("otel-genai-1.37+", "unmapped")),
        ("gen_ai.prompt.*.content", KeyClass("openllmetry", "unmapped")),
        ("llm.usage.total_tokens", KeyClass("openllmetry", "mapped", ("TotalTokens",))),
        ("llm.is_streaming", KeyClass("openllmetry", "unmapped")),
        (
            "traceloop.entity.name",
            KeyClass("openllmetry", "mapped", ("AgentName", "ToolName", "WorkflowName")),
        ),
        ("llm.input_messages.*.message.role", KeyClass("openinference", "unmapped")),
        ("llm.model_name", KeyClass("openinference", "mapped", ("RequestModel", "ResponseModel"))),
        (
            "langfuse.observation.usage_details",
            KeyClass(
                "langfuse",
                "mapped",
                (
                    "InputTokens",
                    "OutputTokens",
                    "TotalTokens",
                    "CachedInputTokens",
                    "CacheWriteInputTokens",
                    "ReasoningTokens",
                ),
            ),
        ),
        ("langfuse.observation.metadata.team", KeyClass("langfuse", "unmapped")),
        ("agentledger.decision.id", KeyClass("agentledger", "mapped", ("DecisionId",))),
        (
            "agentledger.observation.confidence",
            KeyClass("agentledger", "mapped", ("model_observations.Feature",)),
        ),
        ("agentledger.lineage.source", KeyClass("agentledger", "unmapped")),
        ("http.method", KeyClass("other", "unrecognised")),
    ],
)
def test_classify(key: str, expected: KeyClass) -> None:
    assert classify(key) == expected


def test_columns_by_key_covers_the_table() -> None:
    assert {k for keys in semconv.DERIVED_COLUMNS.values() for k in keys} <= set(COLUMNS_BY_KEY)


# --- every convention fills the same columns ------------------------------------------------

COLUMNS = (
    "GenAiOperation",
    "GenAiProvider",
    "RequestModel",
    "ResponseModel",
    "InputTokens",
    "OutputTokens",
    "TotalTokens",
    "CachedInputTokens",
    "CacheWriteInputTokens",
    "ReasoningTokens",
    "WorkflowName",
)
USAGE = {
    "GenAiOperation": "chat",
    "InputTokens": 11,
    "OutputTokens": 5,
    "TotalTokens": 16,
    "CachedInputTokens": 3,
    "CacheWriteInputTokens": 2,
    "ReasoningTokens": 1,
}
MODELS = {"GenAiProvider": "openai", "RequestModel": "gpt-4o", "ResponseModel": "gpt-4o-2024"}

LLM_SPANS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "genai-repo-cache-write": (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024",
            "gen_ai.usage.input_tokens": 11,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.usage.cache_read.input_tokens": 3,
            "gen_ai.usage.cache_write.input_tokens": 2,
            "gen_ai.usage.reasoning.output_tokens": 1,
        },
        {**USAGE, **MODELS, "WorkflowName": ""},
    ),
    "genai-cache-creation": (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024",
            "gen_ai.usage.input_tokens": 11,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.usage.cache_read.input_tokens": 3,
            "gen_ai.usage.cache_creation.input_tokens": 2,
            "gen_ai.usage.reasoning.output_tokens": 1,
        },
        {**USAGE, **MODELS, "WorkflowName": ""},
    ),
    "openinference": (
        {
            "openinference.span.kind": "LLM",
            "llm.system": "openai",
            "llm.request.model_name": "gpt-4o",
            "llm.model_name": "gpt-4o-2024",
            "llm.token_count.prompt": 11,
            "llm.token_count.completion": 5,
            "llm.token_count.total": 16,
            "llm.token_count.prompt_details.cache_read": 3,
            "llm.token_count.prompt_details.cache_write": 2,
            "llm.token_count.completion_details.reasoning": 1,
        },
        {**USAGE, **MODELS, "WorkflowName": ""},
    ),
    "openllmetry": (
        {
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024",
            "gen_ai.usage.prompt_tokens": 11,
            "gen_ai.usage.completion_tokens": 5,
            "llm.usage.total_tokens": 16,
            "gen_ai.usage.cache_read_input_tokens": 3,
            "gen_ai.usage.cache_creation_input_tokens": 2,
            "gen_ai.usage.reasoning_tokens": 1,
            "traceloop.workflow.name": "support",
        },
        {**USAGE, **MODELS, "WorkflowName": "support"},
    ),
    "langfuse": (
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.model.name": "gpt-4o",
            "langfuse.observation.usage_details": json.dumps(
                {
                    "input": 11,
                    "output": 5,
                    "total": 16,
                    "input_cached_tokens": 3,
                    "cache_creation_input_tokens": 2,
                    "output_reasoning_tokens": 1,
                }
            ),
            "langfuse.trace.name": "support",
        },
        {
            **USAGE,
            "GenAiProvider": "",
            "RequestModel": "gpt-4o",
            "ResponseModel": "gpt-4o",
            "WorkflowName": "support",
        },
    ),
    "langfuse-anthropic-usage": (
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.model.name": "claude-sonnet-4",
            "gen_ai.system": "anthropic",
            "langfuse.observation.usage_details": json.dumps(
                {"input": 11, "output": 5, "cache_read_input_tokens": 3}
            ),
        },
        {
            **USAGE,
            "TotalTokens": 16,
            "CacheWriteInputTokens": 0,
            "ReasoningTokens": 0,
            "GenAiProvider": "anthropic",
            "RequestModel": "claude-sonnet-4",
            "ResponseModel": "claude-sonnet-4",
            "WorkflowName": "",
        },
    ),
}


@pytest.mark.parametrize("convention", sorted(LLM_SPANS))
def test_llm_spans_of_every_convention_fill_the_same_columns(
    store: ChdbStore, convention: str
) -> None:
    attrs, expected = LLM_SPANS[convention]
    service = f"norm-{convention}"
    StoredIngestor(store).traces(traces(service, [span("llm", attrs)]), "t")
    (row,) = query_rows(
        store,
        f"SELECT {', '.join(COLUMNS)}, SpanAttributes FROM otel_traces"
        " WHERE ServiceName = {s:String}",
        {"s": service},
    )
    raw = dict(row.pop("SpanAttributes"))
    assert row == expected
    assert set(raw) == set(attrs)  # raw keys stay


def test_agent_tool_and_workflow_spans_of_openllmetry_and_langfuse(store: ChdbStore) -> None:
    spans = [
        span("triage.agent", {"traceloop.span.kind": "agent", "traceloop.entity.name": "triage"}),
        span("lookup.tool", {"traceloop.span.kind": "tool", "traceloop.entity.name": "lookup"}),
        span("flow.workflow", {"traceloop.span.kind": "workflow", "traceloop.entity.name": "flow"}),
        span("prep.task", {"traceloop.span.kind": "task", "traceloop.entity.name": "prep"}),
        span("planner", {"langfuse.observation.type": "agent"}),
        span("search", {"langfuse.observation.type": "tool"}),
        span("step", {"langfuse.observation.type": "span"}),
        span("embed", {"langfuse.observation.type": "embedding"}),
        span("oi", {"openinference.span.kind": "AGENT", "agent.name": "oi-agent"}),
        span("genai", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "g-tool"}),
    ]
    StoredIngestor(store).traces(traces("norm-roles", spans), "t")
    rows = query_rows(
        store,
        "SELECT SpanName, GenAiOperation, AgentName, ToolName, WorkflowName FROM otel_traces"
        " WHERE ServiceName = 'norm-roles' ORDER BY SpanName",
    )
    assert {r["SpanName"]: tuple(list(r.values())[1:]) for r in rows} == {
        "triage.agent": ("invoke_agent", "triage", "", ""),
        "lookup.tool": ("execute_tool", "", "lookup", ""),
        "flow.workflow": ("invoke_workflow", "", "", "flow"),
        "prep.task": ("", "", "", ""),
        "planner": ("invoke_agent", "planner", "", ""),
        "search": ("execute_tool", "", "search", ""),
        "step": ("", "", "", ""),
        "embed": ("embeddings", "", "", ""),
        "oi": ("invoke_agent", "oi-agent", "", ""),
        "genai": ("execute_tool", "", "g-tool", ""),
    }


def test_earlier_conventions_take_precedence_over_later_ones(store: ChdbStore) -> None:
    attrs = {
        "gen_ai.operation.name": "text_completion",
        "llm.request.type": "chat",
        "langfuse.observation.type": "generation",
        "gen_ai.request.model": "gpt-4o",
        "langfuse.observation.model.name": "other-model",
        "gen_ai.usage.input_tokens": 7,
        "langfuse.observation.usage_details": '{"input": 99}',
    }
    StoredIngestor(store).traces(traces("norm-precedence", [span("llm", attrs)]), "t")
    (row,) = query_rows(
        store,
        "SELECT GenAiOperation, RequestModel, InputTokens FROM otel_traces"
        " WHERE ServiceName = 'norm-precedence'",
    )
    assert row == {"GenAiOperation": "text_completion", "RequestModel": "gpt-4o", "InputTokens": 7}


def test_bad_langfuse_usage_json_reads_as_not_reported(store: ChdbStore) -> None:
    attrs = {"langfuse.observation.usage_details": "not json", "llm.token_count.prompt": 4}
    StoredIngestor(store).traces(traces("norm-badjson", [span("llm", attrs)]), "t")
    (row,) = query_rows(
        store,
        "SELECT InputTokens, OutputTokens, TotalTokens FROM otel_traces"
        " WHERE ServiceName = 'norm-badjson'",
    )
    assert row == {"InputTokens": 4, "OutputTokens": 0, "TotalTokens": 4}


# --- the report -------------------------------------------------------------------------------

REPORT_SPANS = {
    "rep-openllmetry": {
        "llm.request.type": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.prompt_tokens": 10,
        "llm.usage.total_tokens": 12,
        "llm.is_streaming": False,
        "gen_ai.prompt.0.content": "hi",
        "gen_ai.prompt.1.content": "there",
        "http.route": "/chat",
    },
    "rep-langfuse": {
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": "gpt-4o",
        "langfuse.observation.usage_details": '{"input": 3}',
        "langfuse.observation.metadata.team": "care",
        "agentledger.observation.confidence": 0.7,
        "custom.flag": True,
    },
}


def _expected_report(service: str, spans: int = 1) -> list[dict[str, object]]:
    rows = {
        "rep-openllmetry": [
            ("otel-genai-1.36", "gen_ai.system", "mapped", "GenAiProvider"),
            ("otel-genai-1.36", "gen_ai.usage.prompt_tokens", "mapped", "InputTokens"),
            ("otel-genai-1.37+", "gen_ai.request.model", "mapped", "RequestModel"),
            ("openllmetry", "llm.request.type", "mapped", "GenAiOperation"),
            ("openllmetry", "llm.usage.total_tokens", "mapped", "TotalTokens"),
            ("openllmetry", "gen_ai.prompt.*.content", "unmapped", ""),
            ("openllmetry", "llm.is_streaming", "unmapped", ""),
            ("other", "http.route", "unrecognised", ""),
        ],
        "rep-langfuse": [
            ("langfuse", "langfuse.observation.model.name", "mapped", "RequestModel,ResponseModel"),
            (
                "langfuse",
                "langfuse.observation.type",
                "mapped",
                "AgentName,GenAiOperation,ToolName",
            ),
            (
                "langfuse",
                "langfuse.observation.usage_details",
                "mapped",
                "InputTokens,OutputTokens,TotalTokens,CachedInputTokens,CacheWriteInputTokens,"
                "ReasoningTokens",
            ),
            ("langfuse", "langfuse.observation.metadata.team", "unmapped", ""),
            (
                "agentledger",
                "agentledger.observation.confidence",
                "mapped",
                "model_observations.Feature",
            ),
            ("other", "custom.flag", "unrecognised", ""),
        ],
    }[service]
    return [
        {
            "service": service,
            "convention": convention,
            "key": key,
            "status": status,
            "columns": columns,
            "spans": spans,
        }
        for convention, key, status, columns in rows
    ]


def test_report_lists_mapped_unmapped_and_unrecognised_keys_per_service_and_convention(
    store: ChdbStore,
) -> None:
    for service, attrs in REPORT_SPANS.items():
        StoredIngestor(store).traces(traces(service, [span("s", attrs), span("s", attrs)]), "t")
    old = T0 - 3 * 86_400 * 1_000_000_000
    StoredIngestor(store).traces(
        traces("rep-old", [span("s", {"gen_ai.system": "x"}, start=old)]), "t"
    )

    since = datetime.now(UTC) - timedelta(hours=24)
    report = [r for r in conventions_report(store, since) if str(r["service"]).startswith("rep-")]
    assert report == _expected_report("rep-langfuse", 2) + _expected_report("rep-openllmetry", 2)
    everything = [r for r in conventions_report(store) if r["service"] == "rep-old"]
    assert [r["key"] for r in everything] == ["gen_ai.system"]


def _post(server: Server, request: ExportTraceServiceRequest) -> None:
    http_request = urllib.request.Request(
        f"{server.otlp_url}/v1/traces",
        data=request.SerializeToString(),
        headers={
            "Content-Type": "application/x-protobuf",
            "Authorization": f"Bearer {server.api_keys['acme']}",
        },
        method="POST",
    )
    with urllib.request.urlopen(http_request, timeout=30) as response:
        assert response.status == 200


def test_report_through_the_cli_against_serve(server: Server) -> None:
    for service, attrs in REPORT_SPANS.items():
        _post(server, traces(service, [span("s", attrs)]))
    deadline = time.monotonic() + 30
    while True:
        result = server.cli("conventions", "report", "--format", "json")
        assert result.returncode == 0, result.stderr
        rows = [r for r in json.loads(result.stdout) if r["service"].startswith("rep-")]
        if len(rows) == 14 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert rows == _expected_report("rep-langfuse") + _expected_report("rep-openllmetry")

    table = server.cli("conventions", "report", "--since", "2h")
    assert table.returncode == 0, table.stderr
    assert "langfuse.observation.usage_details" in table.stdout
    assert "unrecognised" in table.stdout
    recent = server.cli("conventions", "report", "--since", "30m")  # the spans are 1h old
    assert (recent.returncode, recent.stdout) == (0, "(no rows)\n")
