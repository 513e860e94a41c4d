"""Property-based fuzzing of the OTLP decoders, protobuf and JSON, down to the Arrow columns:
every input is refused with :class:`OtlpDecodeError` or taken with each bad record rejected
(partial success), and what is taken holds only valid rows."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from agentledger.collector.logs import logs_to_columns
from agentledger.collector.metrics import metrics_to_arrow
from agentledger.collector.otlp_codec import (
    ExportLogsServiceRequest,
    ExportTraceServiceRequest,
    OtlpDecodeError,
    decode,
)
from agentledger.collector.redaction import Redactor
from agentledger.collector.spans import spans_to_arrow, valid_span_count

from .otlp_strategies import log_requests, otlp_json, seed_requests, trace_requests

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Whole generated requests are slower to build: fewer of them keep the suite within its budget.
FUZZ_REQUESTS = settings(FUZZ, max_examples=100)
SIGNALS = (ExportTraceServiceRequest, ExportLogsServiceRequest, ExportMetricsServiceRequest)
_MAX = (1 << 63) - 1


def _span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)


@FUZZ_REQUESTS
@given(trace_requests(), st.booleans())
def test_any_trace_request_becomes_valid_rows_plus_counted_rejects(
    request: ExportTraceServiceRequest, json_encoded: bool
) -> None:
    body = otlp_json(request) if json_encoded else request.SerializeToString()
    decoded = decode(body, ExportTraceServiceRequest, json_encoded=json_encoded)
    table, rejects = spans_to_arrow(decoded, "fuzz")
    total = _span_count(request)
    assert table.num_rows + rejects.count == total
    assert (valid_span_count(decoded) == total) == (rejects.count == 0)
    for trace_id, span_id in zip(
        table["TraceId"].to_pylist(), table["SpanId"].to_pylist(), strict=True
    ):
        assert len(trace_id) == 32 and len(span_id) == 16
        assert trace_id != "0" * 32 and span_id != "0" * 16
    assert all(0 < t <= _MAX for t in table["Timestamp"].cast("int64").to_pylist())
    if rejects.count:
        assert rejects.message and "span" in rejects.message
    Redactor().redact_table(table, ("SpanAttributes", "ResourceAttributes"))


@FUZZ_REQUESTS
@given(log_requests(), st.booleans())
def test_any_log_request_becomes_rows_decisions_and_counted_rejects(
    request: ExportLogsServiceRequest, json_encoded: bool
) -> None:
    body = otlp_json(request) if json_encoded else request.SerializeToString()
    decoded = logs_to_columns(
        decode(body, ExportLogsServiceRequest, json_encoded=json_encoded), "fuzz"
    )
    total = sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
    assert decoded.logs.num_rows + decoded.rejects.count == total
    assert len(decoded.decisions) <= decoded.logs.num_rows
    assert decoded.kpis.num_rows <= decoded.logs.num_rows
    for decision in decoded.decisions:
        assert decision["TenantId"] == "fuzz" and decision["DecisionId"]


def _mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """Truncations, bit flips, splices and garbage around a valid request."""
    cut = st.integers(0, len(seed)).map(lambda n: seed[:n])
    flipped = st.tuples(st.integers(0, len(seed) - 1), st.integers(1, 255)).map(
        lambda p: seed[: p[0]] + bytes([seed[p[0]] ^ p[1]]) + seed[p[0] + 1 :]
    )
    spliced = st.tuples(st.integers(0, len(seed)), st.binary(max_size=16)).map(
        lambda p: seed[: p[0]] + p[1] + seed[p[0] :]
    )
    return st.one_of(cut, flipped, spliced, st.binary(max_size=256))


@FUZZ
@given(st.data())
def test_mutated_protobuf_is_refused_clearly_or_taken_whole(data: st.DataObject) -> None:
    selector, seed = data.draw(st.sampled_from(seed_requests()))
    body = data.draw(_mutations(seed))
    message_type = SIGNALS[selector % 3]
    try:
        message = decode(body, message_type, json_encoded=False)
    except OtlpDecodeError as exc:
        assert str(exc).startswith("invalid protobuf")
        return
    if message_type is ExportTraceServiceRequest:
        table, rejects = spans_to_arrow(message, "fuzz")
        assert table.num_rows + rejects.count == _span_count(message)
    elif message_type is ExportLogsServiceRequest:
        logs_to_columns(message, "fuzz")
    else:
        metrics_to_arrow(message, "fuzz")


@FUZZ
@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "resourceSpans",
                        "scopeSpans",
                        "spans",
                        "traceId",
                        "spanId",
                        "attributes",
                        "value",
                        "kvlistValue",
                        "arrayValue",
                        "values",
                        "key",
                        "stringValue",
                        "intValue",
                        "startTimeUnixNano",
                        "resourceLogs",
                        "logRecords",
                        "body",
                    ]
                ),
                c,
                max_size=4,
            )
        ),
        max_leaves=25,
    ),
    st.sampled_from(SIGNALS),
)
def test_json_shaped_like_otlp_is_refused_clearly_or_decoded(
    document: object, message_type: type
) -> None:
    import json

    try:
        message = decode(json.dumps(document).encode(), message_type, json_encoded=True)
    except OtlpDecodeError as exc:
        assert "JSON" in str(exc)
        return
    if message_type is ExportTraceServiceRequest:
        spans_to_arrow(message, "fuzz")
    elif message_type is ExportLogsServiceRequest:
        logs_to_columns(message, "fuzz")
    else:
        metrics_to_arrow(message, "fuzz")


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=64))
def test_invalid_utf8_is_refused_with_a_clear_error(junk: bytes) -> None:
    """Protobuf ``string`` fields must hold UTF-8; JSON bodies must be UTF-8."""
    invalid = b"\xff\xfe" + junk
    name_field = b"\x1a" + bytes([len(invalid)]) + invalid  # Span.name (3), length-delimited
    span = b"\x0a\x10" + b"\x01" * 16 + b"\x12\x08" + b"\x02" * 8 + name_field
    scope = b"\x12" + bytes([len(span)]) + span  # ScopeSpans.spans (2)
    resource = b"\x12" + bytes([len(scope)]) + scope  # ResourceSpans.scope_spans (2)
    body = b"\x0a" + bytes([len(resource)]) + resource  # Request.resource_spans (1)
    try:
        decode(body, ExportTraceServiceRequest, json_encoded=False)
        raise AssertionError("invalid UTF-8 in a string field was accepted")
    except OtlpDecodeError as exc:
        assert "invalid protobuf" in str(exc)
    try:
        decode(
            b'{"resourceSpans": "' + invalid + b'"}', ExportTraceServiceRequest, json_encoded=True
        )
        raise AssertionError("a JSON body that is not UTF-8 was accepted")
    except OtlpDecodeError as exc:
        assert "JSON" in str(exc)
