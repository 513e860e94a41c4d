"""Model observations, the input of drift: ``agentledger.model_observation`` log events become one
row per feature (bad events are rejected with a reason), and model spans feed
``model_observations`` through a materialized view in ClickHouse."""

from __future__ import annotations

import uuid
from typing import Any

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from agentledger.collector.otlp_codec import ExportLogsServiceRequest
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import query_rows

from ..conftest import StoredIngestor, kv
from .test_conventions import T0, span, traces


def _logs(records: list[LogRecord], service: str = "obs-svc") -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.append(kv("service.name", service))
    resource_logs.scope_logs.add().log_records.extend(records)
    return request


def _event(attrs: dict[str, Any], *, by_attribute: bool = False) -> LogRecord:
    record = LogRecord(
        time_unix_nano=T0, trace_id=uuid.uuid4().bytes, span_id=uuid.uuid4().bytes[:8]
    )
    if by_attribute:
        attrs = {"event.name": "agentledger.model_observation", **attrs}
    else:
        record.event_name = "agentledger.model_observation"
    record.attributes.extend(kv(k, v) for k, v in attrs.items())
    return record


def _observations(store: ChdbStore, where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return query_rows(
        store,
        "SELECT ModelName, ModelVersion, Feature, Value, Category, TraceId, SpanId, DecisionId,"
        f" TenantId FROM model_observations WHERE {where} ORDER BY Feature",
        params,
    )


def test_an_observation_event_becomes_one_row_per_feature(store: ChdbStore) -> None:
    event = _event(
        {
            "agentledger.observation.model": "refund-scorer",
            "agentledger.observation.model_version": "3.1",
            "agentledger.observation.feature.amount": 120.5,
            "agentledger.observation.feature.items": 3,
            "agentledger.observation.feature.country": "DE",
            "agentledger.observation.feature.vip": True,
            "agentledger.decision.id": "dec-7",
            "unrelated": "ignored",
        }
    )
    by_attribute = _event(
        {"agentledger.observation.model": "refund-scorer", "agentledger.observation.feature.x": 1},
        by_attribute=True,
    )
    rejects = StoredIngestor(store).logs(_logs([event, by_attribute]), "obs-tenant")
    assert rejects.count == 0, rejects.message

    rows = _observations(store, "TenantId = 'obs-tenant' AND DecisionId = 'dec-7'", {})
    trace, span_id = event.trace_id.hex(), event.span_id.hex()
    common = {
        "ModelName": "refund-scorer",
        "ModelVersion": "3.1",
        "TraceId": trace,
        "SpanId": span_id,
        "DecisionId": "dec-7",
        "TenantId": "obs-tenant",
    }
    assert rows == [
        {**common, "Feature": "amount", "Value": 120.5, "Category": ""},
        {**common, "Feature": "country", "Value": 0.0, "Category": "DE"},
        {**common, "Feature": "items", "Value": 3.0, "Category": ""},
        {**common, "Feature": "vip", "Value": 0.0, "Category": "true"},
    ]
    (other,) = _observations(store, "TenantId = 'obs-tenant' AND DecisionId = ''", {})
    assert (other["Feature"], other["Value"], other["ModelVersion"]) == ("x", 1.0, "")
    logged = query_rows(
        store, "SELECT EventName FROM otel_logs WHERE TenantId = 'obs-tenant' ORDER BY EventName"
    )
    assert [r["EventName"] for r in logged] == ["agentledger.model_observation"] * 2


def test_bad_observation_events_are_rejected_with_a_reason(store: ChdbStore) -> None:
    no_model = _event({"agentledger.observation.feature.amount": 1.0})
    no_features = _event({"agentledger.observation.model": "m", "other": 1})
    not_finite = _event(
        {
            "agentledger.observation.model": "m",
            "agentledger.observation.feature.ok": 1.0,
            "agentledger.observation.feature.bad": float("nan"),
        }
    )
    empty_string = _event(
        {"agentledger.observation.model": "m", "agentledger.observation.feature.c": ""}
    )
    good = _event({"agentledger.observation.model": "m", "agentledger.observation.feature.ok": 2})
    rejects = StoredIngestor(store).logs(
        _logs([no_model, no_features, not_finite, empty_string, good]), "obs-bad"
    )
    assert rejects.count == 4
    assert "needs agentledger.observation.model" in rejects.message
    assert "at least one agentledger.observation.feature.<name>" in rejects.message
    assert "'agentledger.observation.feature.bad'" in rejects.message
    assert "'agentledger.observation.feature.c'" in rejects.message
    rows = _observations(store, "TenantId = 'obs-bad'", {})
    assert [(r["Feature"], r["Value"]) for r in rows] == [("ok", 2.0)]
    assert query_rows(store, "SELECT count() AS n FROM otel_logs WHERE TenantId = 'obs-bad'") == [
        {"n": 1}
    ]


def test_model_spans_feed_observations_and_other_spans_do_not(store: ChdbStore) -> None:
    llm = span(
        "chat gpt-4o",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 812,
            "gen_ai.usage.output_tokens": 64,
            "agentledger.observation.confidence": 0.93,
            "agentledger.observation.label": "not a number",
            "agentledger.decision.id": "dec-span",
        },
        duration_ns=1_250_000_000,
    )
    versioned = span(
        "embed",
        {
            "openinference.span.kind": "EMBEDDING",
            "llm.model_name": "text-embedding-3-small",
            "llm.token_count.prompt": 9,
            "agentledger.model.version": "2025-01",
        },
        duration_ns=2_000_000,
    )
    model_only = span("call", {"langfuse.observation.model.name": "local-llm"})
    non_model = [
        span("tool", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}),
        span("agent", {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"}),
        span("plain", {"agentledger.observation.score": 1}),
    ]
    StoredIngestor(store).traces(
        traces("obs-spans", [llm, versioned, model_only, *non_model]), "obs-span"
    )

    rows = _observations(
        store, "TenantId = 'obs-span' AND SpanId = {s:String}", {"s": llm.span_id.hex()}
    )
    common = {
        "ModelName": "gpt-4o-2024-08-06",
        "ModelVersion": "gpt-4o-2024-08-06",
        "Category": "",
        "TraceId": llm.trace_id.hex(),
        "SpanId": llm.span_id.hex(),
        "DecisionId": "dec-span",
        "TenantId": "obs-span",
    }
    assert rows == [
        {**common, "Feature": "confidence", "Value": 0.93},
        {**common, "Feature": "duration_ms", "Value": 1250.0},
        {**common, "Feature": "input_tokens", "Value": 812.0},
        {**common, "Feature": "output_tokens", "Value": 64.0},
    ]

    embed = _observations(
        store, "TenantId = 'obs-span' AND SpanId = {s:String}", {"s": versioned.span_id.hex()}
    )
    assert [(r["ModelName"], r["ModelVersion"], r["Feature"], r["Value"]) for r in embed] == [
        ("text-embedding-3-small", "2025-01", "duration_ms", 2.0),
        ("text-embedding-3-small", "2025-01", "input_tokens", 9.0),
    ]
    local = _observations(
        store, "TenantId = 'obs-span' AND SpanId = {s:String}", {"s": model_only.span_id.hex()}
    )
    assert [(r["ModelName"], r["Feature"]) for r in local] == [("local-llm", "duration_ms")]

    non_model_ids = [s.span_id.hex() for s in non_model]
    assert query_rows(
        store,
        "SELECT count() AS n FROM model_observations WHERE SpanId IN {ids:Array(String)}",
        {"ids": non_model_ids},
    ) == [{"n": 0}]


def test_observation_attributes_among_many_become_one_row_each(store: ChdbStore) -> None:
    """Each numeric ``agentledger.observation.*`` value of a model span with many attributes
    (migration 0016 reads values beside their keys instead of looking each one up)."""
    attributes: dict[str, Any] = {f"llm.input_messages.{i}.message.content": "x" for i in range(60)}
    attributes |= {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "agentledger.observation.relevance": 0.5,
        "agentledger.observation.feature.length": "42",
        "agentledger.observation.model": "not a feature",
        "agentledger.observation.feature.": 1,
        "agentledger.observation.ratio": "inf",
        "agentledger.observation.label": "text",
        "agentledger.observation.zero": 0,
    }
    many = span("chat m", attributes, duration_ns=3_000_000)
    StoredIngestor(store).traces(traces("obs-many", [many]), "obs-many")
    rows = _observations(store, "TenantId = 'obs-many'", {})
    assert [(row["Feature"], row["Value"]) for row in rows] == [
        ("duration_ms", 3.0),
        ("length", 42.0),
        ("relevance", 0.5),
        ("zero", 0.0),
    ]
