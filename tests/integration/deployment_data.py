"""Data the deployment tests (server mode, backup, upgrade, retention) write and compare."""

from __future__ import annotations

import time
import uuid
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentledger.collector.otlp_codec import ExportTraceServiceRequest
from agentledger.storage.store import Store, query_rows

from ..conftest import kv

HOUR_AGO = (time.time_ns() // 1_000_000_000 - 3600) * 1_000_000_000  # recent: inside the TTL


def traces_request(spans: int, service: str = "support-bot") -> ExportTraceServiceRequest:
    """``spans`` chat spans of one trace, each with GenAI model and token attributes."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(kv("service.name", service))
    scope = resource_spans.scope_spans.add()
    trace_id = uuid.uuid4().bytes
    for i in range(spans):
        span = Span(
            trace_id=trace_id,
            span_id=uuid.uuid4().bytes[:8],
            name="chat gpt-4o-mini",
            start_time_unix_nano=HOUR_AGO + i * 1000,
            end_time_unix_nano=HOUR_AGO + i * 1000 + 2_000_000,
        )
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.agent.name": "refunds",
            "gen_ai.usage.input_tokens": 100 + i,
            "gen_ai.usage.output_tokens": 10,
        }
        span.attributes.extend(kv(k, v) for k, v in attributes.items())
        scope.spans.append(span)
    return request


def decisions(tenant: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    """Decision records as the collector hands them to the audit chain."""
    return [
        {
            "Timestamp": HOUR_AGO + i,
            "TenantId": tenant,
            "DecisionId": f"{tenant}-{i}",
            "TraceId": "ab" * 16,
            "SpanId": "cd" * 8,
            "ServiceName": "support-bot",
            "AgentName": "refunds",
            "AgentVersion": "2",
            "DecisionType": "refund",
            "Options": ["approve", "deny"],
            "Chosen": "approve",
            "Confidence": 0.9,
            "Inputs": [f"document:faq@v{i}"],
            "PolicyChecks": "[]",
            "ApprovedBy": "",
            "Rationale": "within policy",
            "ModelName": "gpt-4o-mini",
            "Attributes": {"n": str(i)},
        }
        for i in range(start, start + count)
    ]


def fingerprints(store: Store) -> dict[str, tuple[int, int]]:
    """Row count and an order-free hash of every row, per table holding data."""
    tables = query_rows(
        store,
        "SELECT name FROM system.tables WHERE database = {db:String}"
        " AND engine LIKE '%MergeTree' AND name != 'schema_migrations' ORDER BY name",
        {"db": store.database},
    )
    found = {}
    for table in (row["name"] for row in tables):
        (row,) = query_rows(
            store,
            f"SELECT count() AS n, groupBitXor(cityHash64(formatRow('TabSeparated', *))) AS h"
            f" FROM {table}",
        )
        found[table] = (row["n"], row["h"])
    return found
