"""Hypothesis strategies for hostile OTLP: any AnyValue tree, ids of any length, timestamps from
0 to 2^64-1, event names of decisions and KPIs with values of the wrong type; plus valid seeds."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric, NumberDataPoint
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentledger import semconv

NOW = time.time_ns()
timestamps = st.one_of(
    st.sampled_from([0, 1, NOW, NOW - 40 * 86400 * 10**9, (1 << 63) - 1, 1 << 63, (1 << 64) - 1]),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
)
ids = st.one_of(st.binary(min_size=0, max_size=20), st.sampled_from([b"\0" * 16, b"\0" * 8]))
texts = st.text(max_size=40)
keys = st.one_of(
    texts,
    st.sampled_from(
        [
            "service.name",
            semconv.EVENT_NAME,
            semconv.DECISION_ID,
            semconv.DECISION_OPTIONS,
            semconv.DECISION_CONFIDENCE,
            semconv.DECISION_POLICY_CHECKS,
            semconv.KPI_VALUE,
            semconv.KPI_NAME,
            "gen_ai.usage.input_tokens",
            "gen_ai.request.model",
        ]
    ),
)
scalars = st.one_of(
    st.builds(AnyValue, string_value=texts),
    st.builds(
        AnyValue,
        string_value=st.sampled_from(
            [
                semconv.EVENT_DECISION,
                semconv.EVENT_KPI,
                semconv.EVENT_MODEL_OBSERVATION,
                "[1,",
                "{}",
            ]
        ),
    ),
    st.builds(AnyValue, int_value=st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)),
    st.builds(AnyValue, double_value=st.floats(allow_nan=True, allow_infinity=True)),
    st.builds(AnyValue, bool_value=st.booleans()),
    st.builds(AnyValue, bytes_value=st.binary(max_size=20)),
    st.just(AnyValue()),
)


def _nest(children: st.SearchStrategy[AnyValue]) -> st.SearchStrategy[AnyValue]:
    arrays = st.lists(children, max_size=4).map(
        lambda v: AnyValue(array_value=ArrayValue(values=v))
    )
    kvlists = st.lists(st.tuples(keys, children), max_size=4).map(
        lambda kv: AnyValue(
            kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in kv])
        )
    )
    return st.one_of(arrays, kvlists)


any_values = st.recursive(scalars, _nest, max_leaves=30)
key_values = st.lists(st.builds(KeyValue, key=keys, value=any_values), max_size=6)


@st.composite
def spans(draw: st.DrawFn) -> Span:
    span = Span(
        trace_id=draw(st.one_of(st.binary(min_size=16, max_size=16), ids)),
        span_id=draw(st.one_of(st.binary(min_size=8, max_size=8), ids)),
        parent_span_id=draw(ids),
        name=draw(texts),
        kind=draw(st.integers(min_value=-3, max_value=9)),
        start_time_unix_nano=draw(timestamps),
        end_time_unix_nano=draw(timestamps),
        attributes=draw(key_values),
    )
    for _ in range(draw(st.integers(0, 2))):
        span.events.add(time_unix_nano=draw(timestamps), name=draw(texts)).attributes.extend(
            draw(key_values)
        )
    for _ in range(draw(st.integers(0, 2))):
        span.links.add(trace_id=draw(ids), span_id=draw(ids)).attributes.extend(draw(key_values))
    span.status.code = draw(st.integers(min_value=-2, max_value=5))
    span.status.message = draw(texts)
    return span


@st.composite
def trace_requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 3))):
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(draw(key_values))
        for _ in range(draw(st.integers(0, 2))):
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = draw(texts)
            scope_spans.spans.extend(draw(st.lists(spans(), max_size=4)))
    return request


@st.composite
def log_requests(draw: st.DrawFn) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        resource_logs = request.resource_logs.add()
        resource_logs.resource.attributes.extend(draw(key_values))
        scope_logs = resource_logs.scope_logs.add()
        for _ in range(draw(st.integers(0, 4))):
            record = LogRecord(
                time_unix_nano=draw(timestamps),
                observed_time_unix_nano=draw(timestamps),
                severity_number=draw(st.integers(min_value=-1, max_value=30)),
                body=draw(any_values),
                attributes=draw(key_values),
                trace_id=draw(ids),
                span_id=draw(ids),
                event_name=draw(st.one_of(texts, st.just(semconv.EVENT_DECISION))),
            )
            scope_logs.log_records.append(record)
    return request


def seed_requests() -> list[tuple[int, bytes]]:
    """Valid requests of each signal as (selector byte, protobuf body) for fuzzers to mutate:
    selector % 3 is the signal (traces, logs, metrics)."""
    trace = ExportTraceServiceRequest()
    scope = trace.resource_spans.add().scope_spans.add()
    span = scope.spans.add(
        trace_id=b"\1" * 16, span_id=b"\2" * 8, name="seed", start_time_unix_nano=NOW
    )
    span.end_time_unix_nano = NOW + 1000
    span.attributes.add(key="gen_ai.request.model", value=AnyValue(string_value="m"))
    logs = ExportLogsServiceRequest()
    record = logs.resource_logs.add().scope_logs.add().log_records.add(time_unix_nano=NOW)
    record.attributes.add(key=semconv.EVENT_NAME, value=AnyValue(string_value="agentledger.kpi"))
    record.attributes.add(key=semconv.KPI_NAME, value=AnyValue(string_value="k"))
    record.attributes.add(key=semconv.KPI_VALUE, value=AnyValue(double_value=1.0))
    metrics = ExportMetricsServiceRequest()
    metric: Any = metrics.resource_metrics.add().scope_metrics.add().metrics.add(name="m")
    assert isinstance(metric, Metric)
    metric.gauge.data_points.append(NumberDataPoint(time_unix_nano=NOW, as_double=1.5))
    return [
        (0, trace.SerializeToString()),
        (1, logs.SerializeToString()),
        (2, metrics.SerializeToString()),
    ]


_ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId"})


def otlp_json(message: Any) -> bytes:
    """The OTLP/JSON body of ``message``: proto3 JSON with trace and span ids in hex."""
    import base64
    import json

    from google.protobuf import json_format

    def hexed(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: base64.b64decode(v).hex() if k in _ID_FIELDS else hexed(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [hexed(item) for item in node]
        return node

    return json.dumps(hexed(json_format.MessageToDict(message))).encode()
