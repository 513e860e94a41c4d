"""OTLP spans to an Arrow table with the columns of ``otel_traces``.

This is the reference decoder: a plain, per-span Python loop whose output defines the rows we
store. Invalid spans are rejected one by one (partial success); the rest of the request is kept.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from agentledger.collector.columns import ATTR_MAP, NS, RejectLog, attributes, hex_id, service_name

__all__ = ["SPAN_KINDS", "STATUS_CODES", "spans_to_arrow", "valid_span_count"]

_MAX_NANOS = (1 << 63) - 1  # DateTime64(9) and Arrow timestamps are signed 64-bit
_ZERO_TRACE_ID, _ZERO_SPAN_ID = bytes(16), bytes(8)

# pdata's String() names for the proto enums, as the exporter stores them.
SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES = ("Unset", "Ok", "Error")

SCHEMA = pa.schema(
    [
        ("Timestamp", NS),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("ParentSpanId", pa.string()),
        ("TraceState", pa.string()),
        ("SpanName", pa.string()),
        ("SpanKind", pa.string()),
        ("ServiceName", pa.string()),
        ("ResourceAttributes", ATTR_MAP),
        ("ScopeName", pa.string()),
        ("ScopeVersion", pa.string()),
        ("SpanAttributes", ATTR_MAP),
        ("Duration", pa.uint64()),
        ("StatusCode", pa.string()),
        ("StatusMessage", pa.string()),
        ("Events.Timestamp", pa.list_(NS)),
        ("Events.Name", pa.list_(pa.string())),
        ("Events.Attributes", pa.list_(ATTR_MAP)),
        ("Links.TraceId", pa.list_(pa.string())),
        ("Links.SpanId", pa.list_(pa.string())),
        ("Links.TraceState", pa.list_(pa.string())),
        ("Links.Attributes", pa.list_(ATTR_MAP)),
        ("TenantId", pa.string()),
    ]
)


def spans_to_arrow(request: Any, tenant: str) -> tuple[pa.Table, RejectLog]:
    """Columns of every valid span in an ``ExportTraceServiceRequest``, and what was rejected."""
    cols: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    rejects = RejectLog("spans")
    for resource_spans in request.resource_spans:
        resource_attrs = attributes(resource_spans.resource.attributes)
        service = service_name(resource_attrs)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            for span in scope_spans.spans:
                problem = _invalid(span)
                if problem:
                    rejects.reject(f"span {span.span_id.hex() or '?'}: {problem}")
                    continue
                _append_span(cols, span, resource_attrs, service, scope, tenant)
    return pa.table(cols, schema=SCHEMA), rejects


def valid_span_count(request: Any) -> int | None:
    """The number of spans in an ``ExportTraceServiceRequest`` if all are valid, else None.

    The receiver asks this of every request, so it tests what :func:`_invalid` explains in one
    expression per span (about 4x faster), and leaves the reasons to the decoder.
    """
    count = 0
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            spans = scope_spans.spans
            for span in spans:
                trace_id, span_id = span.trace_id, span.span_id
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                if not (
                    len(trace_id) == 16
                    and trace_id != _ZERO_TRACE_ID
                    and len(span_id) == 8
                    and span_id != _ZERO_SPAN_ID
                    and len(span.parent_span_id) in (0, 8)
                    and 0 < start <= _MAX_NANOS
                    and (end == 0 or start <= end <= _MAX_NANOS)
                    and (
                        not span.events or all(e.time_unix_nano <= _MAX_NANOS for e in span.events)
                    )
                ):
                    return None
            count += len(spans)
    return count


def _invalid(span: Any) -> str:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return f"trace_id must be 16 non-zero bytes, got {len(span.trace_id)}"
    if len(span.span_id) != 8 or not any(span.span_id):
        return f"span_id must be 8 non-zero bytes, got {len(span.span_id)}"
    if len(span.parent_span_id) not in (0, 8):
        return f"parent_span_id must be empty or 8 bytes, got {len(span.parent_span_id)}"
    if span.start_time_unix_nano == 0:
        return "start_time_unix_nano is missing"
    if span.end_time_unix_nano and span.end_time_unix_nano < span.start_time_unix_nano:
        return "end_time_unix_nano is before start_time_unix_nano"
    if max(span.start_time_unix_nano, span.end_time_unix_nano) > _MAX_NANOS or any(
        event.time_unix_nano > _MAX_NANOS for event in span.events
    ):
        return "a timestamp is beyond the year 2262"
    return ""


def _append_span(
    cols: dict[str, list[Any]],
    span: Any,
    resource_attrs: list[tuple[str, str]],
    service: str,
    scope: Any,
    tenant: str,
) -> None:
    start = span.start_time_unix_nano
    cols["Timestamp"].append(start)
    cols["TraceId"].append(span.trace_id.hex())
    cols["SpanId"].append(span.span_id.hex())
    cols["ParentSpanId"].append(hex_id(span.parent_span_id))
    cols["TraceState"].append(span.trace_state)
    cols["SpanName"].append(span.name)
    kind = span.kind
    cols["SpanKind"].append(SPAN_KINDS[kind] if 0 <= kind < len(SPAN_KINDS) else "Unspecified")
    cols["ServiceName"].append(service)
    cols["ResourceAttributes"].append(resource_attrs)
    cols["ScopeName"].append(scope.name)
    cols["ScopeVersion"].append(scope.version)
    cols["SpanAttributes"].append(attributes(span.attributes))
    cols["Duration"].append(max(span.end_time_unix_nano - start, 0))
    code = span.status.code
    cols["StatusCode"].append(STATUS_CODES[code] if 0 <= code < len(STATUS_CODES) else "Unset")
    cols["StatusMessage"].append(span.status.message)
    cols["Events.Timestamp"].append([event.time_unix_nano for event in span.events])
    cols["Events.Name"].append([event.name for event in span.events])
    cols["Events.Attributes"].append([attributes(event.attributes) for event in span.events])
    cols["Links.TraceId"].append([hex_id(link.trace_id) for link in span.links])
    cols["Links.SpanId"].append([hex_id(link.span_id) for link in span.links])
    cols["Links.TraceState"].append([link.trace_state for link in span.links])
    cols["Links.Attributes"].append([attributes(link.attributes) for link in span.links])
    cols["TenantId"].append(tenant)
