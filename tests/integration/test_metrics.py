"""Metrics end to end: the OpenTelemetry SDK's metric exporters (OTLP/gRPC, OTLP/HTTP protobuf,
OTLP/HTTP JSON) and hand-written OTLP/JSON against a real ``serve`` process, read back from the
five ``otel_metrics_*`` tables with the values the Collector's clickhouseexporter would write."""

from __future__ import annotations

import bisect
import gzip
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from grpc import Compression as GrpcCompression
from opentelemetry.exporter.otlp.common.http import Compression as JsonCompression
from opentelemetry.exporter.otlp.json.http.metric_exporter import (
    OTLPMetricExporter as JsonMetricExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpMetricExporter,
)
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from agentledger.collector.metrics import metrics_to_arrow

from ..conftest import Server

# --- the SDK's exporters ------------------------------------------------------------------------


def _record(service: str) -> tuple[MetricsData, str, str]:
    """One of each instrument, GenAI names included; returns the data and the trace and span id
    the duration histogram's exemplars point at."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"service.name": service, "deployment.environment": "test"}),
        views=[
            View(
                instrument_name="gen_ai.client.operation.time_to_first_chunk",
                aggregation=ExponentialBucketHistogramAggregation(),
            )
        ],
    )
    meter = provider.get_meter("agent-metrics", "2.0")
    model = {"gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai"}
    usage = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    usage.record(812, {**model, "gen_ai.token.type": "input"})
    usage.record(64, {**model, "gen_ai.token.type": "output"})
    meter.create_counter("gen_ai.client.inference.usage.input_tokens", unit="{token}").add(
        812, model
    )
    meter.create_up_down_counter("agent.sessions.active").add(-2)
    meter.create_gauge("agent.queue.depth", unit="{ticket}").set(4, {"queue": "refunds"})
    duration = meter.create_histogram(
        "gen_ai.client.operation.duration",
        unit="s",
        explicit_bucket_boundaries_advisory=[0.01, 0.1, 1.0, 10.0],
    )
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("chat gpt-4o") as span:  # exemplars link to this span
        for seconds in (0.05, 0.5, 2.0):
            duration.record(seconds, model)
        context = span.get_span_context()
    first_chunk = meter.create_histogram("gen_ai.client.operation.time_to_first_chunk", unit="s")
    for seconds in (1.0, 2.0, 4.0):
        first_chunk.record(seconds, model)
    data = reader.get_metrics_data()
    assert data is not None
    provider.shutdown()
    return data, format(context.trace_id, "032x"), format(context.span_id, "016x")


def _grpc(server: Server, key: str) -> MetricExporter:
    return GrpcMetricExporter(
        endpoint=f"127.0.0.1:{server.grpc_port}",
        insecure=True,
        compression=GrpcCompression.Gzip,
        headers=(("authorization", f"Bearer {key}"),),
    )


def _http_protobuf(server: Server, key: str) -> MetricExporter:
    return HttpMetricExporter(
        endpoint=f"{server.otlp_url}/v1/metrics",
        compression=HttpCompression.Gzip,
        headers={"authorization": f"Bearer {key}"},
    )


def _http_json(server: Server, key: str) -> MetricExporter:
    return JsonMetricExporter(
        endpoint=f"{server.otlp_url}/v1/metrics",
        compression=JsonCompression.GZIP,
        headers={"authorization": f"Bearer {key}"},
    )


@pytest.mark.parametrize("exporter", [_grpc, _http_protobuf, _http_json])
def test_sdk_metrics_land_in_every_table_with_exporter_values(
    server: Server, exporter: Callable[[Server, str], MetricExporter]
) -> None:
    service = f"metrics-{exporter.__name__.strip('_')}-{uuid.uuid4().hex[:6]}"
    data, trace_id, span_id = _record(service)
    assert exporter(server, server.api_keys["globex"]).export(data) == MetricExportResult.SUCCESS
    client = server.client()

    def rows(table: str, columns: str) -> list[tuple[Any, ...]]:
        result = client.query(
            f"SELECT {columns} FROM otel_metrics_{table} WHERE ServiceName = {{s:String}}"
            " ORDER BY MetricName, toString(Attributes)",
            parameters={"s": service},
        )
        return list(result.result_rows)

    head = "MetricName, MetricUnit, Attributes, TenantId, ScopeName, ScopeVersion"
    model = {"gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai"}
    scope = ("agent-metrics", "2.0")
    assert rows("gauge", f"{head}, Value, Flags, length(Exemplars.Value)") == [
        ("agent.queue.depth", "{ticket}", {"queue": "refunds"}, "globex", *scope, 4.0, 0, 0)
    ]
    assert rows("sum", f"{head}, Value, IsMonotonic, AggregationTemporality") == [
        ("agent.sessions.active", "", {}, "globex", *scope, -2.0, False, 2),
        (
            "gen_ai.client.inference.usage.input_tokens",
            "{token}",
            model,
            "globex",
            *scope,
            812.0,
            True,
            2,
        ),
    ]
    histograms = rows(
        "histogram",
        f"{head}, Count, Sum, Min, Max, BucketCounts, ExplicitBounds, AggregationTemporality",
    )
    assert histograms == [
        (
            "gen_ai.client.operation.duration",
            "s",
            model,
            "globex",
            *scope,
            3,
            2.55,
            0.05,
            2.0,
            [0, 1, 1, 1, 0],
            [0.01, 0.1, 1.0, 10.0],
            2,
        ),
        *[
            (
                "gen_ai.client.token.usage",
                "{token}",
                {**model, "gen_ai.token.type": kind},
                "globex",
                *scope,
                1,
                tokens,
                tokens,
                tokens,
                _one_count_in_bucket_of(tokens),
                _DEFAULT_BOUNDS,
                2,
            )
            for kind, tokens in (("input", 812.0), ("output", 64.0))
        ],
    ]
    ((trace_ids, span_ids, values),) = client.query(
        "SELECT Exemplars.TraceId, Exemplars.SpanId, Exemplars.Value FROM otel_metrics_histogram"
        " WHERE ServiceName = {s:String} AND MetricName = 'gen_ai.client.operation.duration'",
        parameters={"s": service},
    ).result_rows
    assert sorted(values) == [0.05, 0.5, 2.0]  # one exemplar per bucket hit, from the span
    assert set(trace_ids) == {trace_id} and set(span_ids) == {span_id}
    (exponential,) = rows(
        "exponential_histogram",
        "MetricName, TenantId, Count, Sum, Min, Max, ZeroCount, Scale,"
        " arraySum(PositiveBucketCounts), arraySum(NegativeBucketCounts), AggregationTemporality",
    )
    name, tenant, count, total, low, high, zeros, scale, positive, negative, temporality = (
        exponential
    )
    assert (name, tenant, count, total, low, high, zeros) == (
        "gen_ai.client.operation.time_to_first_chunk",
        "globex",
        3,
        7.0,
        1.0,
        4.0,
        0,
    )
    assert (positive, negative, temporality) == (3, 0, 2) and -10 <= scale <= 20
    resource = client.query(
        "SELECT DISTINCT ResourceAttributes['deployment.environment'] FROM otel_metrics_sum"
        " WHERE ServiceName = {s:String}",
        parameters={"s": service},
    ).result_rows
    assert resource == [("test",)]


_DEFAULT_BOUNDS = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0,
    7500.0, 10000.0,
]  # fmt: skip


def _one_count_in_bucket_of(value: float) -> list[int]:
    """Bucket counts after one value: bucket i holds (bounds[i-1], bounds[i]]."""
    counts = [0] * (len(_DEFAULT_BOUNDS) + 1)
    counts[bisect.bisect_left(_DEFAULT_BOUNDS, value)] = 1
    return counts


# --- hand-written OTLP/JSON ---------------------------------------------------------------------


def _post_json(server: Server, document: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{server.otlp_url}/v1/metrics",
        data=gzip.compress(json.dumps(document).encode()),
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Authorization": f"Bearer {key}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _kv(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _spec_document(service: str) -> dict[str, Any]:
    """The OTLP/JSON metrics example of the opentelemetry-proto repository (int64 as strings,
    enums as integers, ids as hex), with a summary and exemplar added and current timestamps
    (the example's 2018 ones would be past the tables' TTL)."""
    now = time.time_ns()
    start, t = str(now - 60_000_000_000), str(now)
    attrs = [_kv("my.point.attribute", "some point attribute")]
    return {
        "resourceMetrics": [
            {
                "resource": {"attributes": [_kv("service.name", service)]},
                "schemaUrl": "https://opentelemetry.io/schemas/1.24.0",
                "scopeMetrics": [
                    {
                        "scope": {
                            "name": "my.library",
                            "version": "1.0.0",
                            "attributes": [_kv("my.scope.attribute", "some scope attribute")],
                            "droppedAttributesCount": 2,
                        },
                        "schemaUrl": "https://opentelemetry.io/schemas/1.25.0",
                        "metrics": [
                            {
                                "name": "my.counter",
                                "unit": "1",
                                "description": "I am a Counter",
                                "sum": {
                                    "aggregationTemporality": 1,
                                    "isMonotonic": True,
                                    "dataPoints": [
                                        {
                                            "asInt": "5",
                                            "startTimeUnixNano": start,
                                            "timeUnixNano": t,
                                            "attributes": attrs,
                                        }
                                    ],
                                },
                            },
                            {
                                "name": "my.gauge",
                                "unit": "1",
                                "description": "I am a Gauge",
                                "gauge": {
                                    "dataPoints": [
                                        {
                                            "asDouble": 10.5,
                                            "timeUnixNano": t,
                                            "attributes": attrs,
                                            "exemplars": [
                                                {
                                                    "timeUnixNano": t,
                                                    "asInt": "3",
                                                    "traceId": "5b8efff798038103d269b633813fc60c",
                                                    "spanId": "eee19b7ec3c1b174",
                                                    "filteredAttributes": [_kv("user", "u1")],
                                                },
                                                {"timeUnixNano": t, "asDouble": 1.5},
                                            ],
                                        }
                                    ]
                                },
                            },
                            {
                                "name": "my.histogram",
                                "unit": "1",
                                "description": "I am a Histogram",
                                "histogram": {
                                    "aggregationTemporality": 1,
                                    "dataPoints": [
                                        {
                                            "startTimeUnixNano": start,
                                            "timeUnixNano": t,
                                            "count": "2",
                                            "sum": 2,
                                            "bucketCounts": ["1", "1"],
                                            "explicitBounds": [1],
                                            "attributes": attrs,
                                        }
                                    ],
                                },
                            },
                            {
                                "name": "my.exponential.histogram",
                                "unit": "1",
                                "description": "I am an Exponential Histogram",
                                "exponentialHistogram": {
                                    "aggregationTemporality": 1,
                                    "dataPoints": [
                                        {
                                            "startTimeUnixNano": start,
                                            "timeUnixNano": t,
                                            "count": "3",
                                            "sum": 10,
                                            "scale": 0,
                                            "zeroCount": "1",
                                            "positive": {"offset": 1, "bucketCounts": ["0", "2"]},
                                            "min": 0,
                                            "max": 5,
                                            "zeroThreshold": 0,
                                            "attributes": attrs,
                                        }
                                    ],
                                },
                            },
                            {
                                "name": "my.summary",
                                "unit": "ms",
                                "description": "I am a Summary",
                                "summary": {
                                    "dataPoints": [
                                        {
                                            "startTimeUnixNano": start,
                                            "timeUnixNano": t,
                                            "count": "4",
                                            "sum": 10.5,
                                            "quantileValues": [
                                                {"quantile": 0.5, "value": 2.5},
                                                {"quantile": 0.99, "value": 4},
                                            ],
                                            "flags": 1,
                                            "attributes": attrs,
                                        }
                                    ]
                                },
                            },
                        ],
                    }
                ],
            }
        ]
    }


def test_hand_written_otlp_json_with_a_summary(server: Server) -> None:
    service = f"metrics-json-{uuid.uuid4().hex[:8]}"
    status, body = _post_json(server, _spec_document(service), server.api_keys["acme"])
    assert (status, body) == (200, {})
    client = server.client()

    def one(table: str, columns: str) -> tuple[Any, ...]:
        (row,) = client.query(
            f"SELECT {columns} FROM otel_metrics_{table} WHERE ServiceName = {{s:String}}",
            parameters={"s": service},
        ).result_rows
        return tuple(row)

    head = one(
        "summary",
        "ResourceSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, ScopeDroppedAttrCount,"
        " ScopeSchemaUrl, MetricName, MetricDescription, MetricUnit, Attributes, TenantId,"
        " toUnixTimestamp64Nano(TimeUnix) - toUnixTimestamp64Nano(StartTimeUnix)",
    )
    assert head == (
        "https://opentelemetry.io/schemas/1.24.0",
        "my.library",
        "1.0.0",
        {"my.scope.attribute": "some scope attribute"},
        2,
        "https://opentelemetry.io/schemas/1.25.0",
        "my.summary",
        "I am a Summary",
        "ms",
        {"my.point.attribute": "some point attribute"},
        "acme",
        60_000_000_000,
    )
    assert one(
        "summary", "Count, Sum, ValueAtQuantiles.Quantile, ValueAtQuantiles.Value, Flags"
    ) == (4, 10.5, [0.5, 0.99], [2.5, 4.0], 1)
    assert one("sum", "Value, AggregationTemporality, IsMonotonic") == (5.0, 1, True)
    assert one(
        "gauge",
        "Value, Exemplars.Value, Exemplars.TraceId, Exemplars.SpanId,"
        " Exemplars.FilteredAttributes, toUnixTimestamp64Nano(StartTimeUnix)",
    ) == (
        10.5,
        [3.0, 1.5],
        ["5b8efff798038103d269b633813fc60c", "0" * 32],  # absent ids: zeros, as Go's hex
        ["eee19b7ec3c1b174", "0" * 16],
        [{"user": "u1"}, {}],
        0,  # no start time: the epoch, as the exporter writes it
    )
    assert one(
        "histogram", "Count, Sum, BucketCounts, ExplicitBounds, Min, Max, AggregationTemporality"
    ) == (2, 2.0, [1, 1], [1.0], 0.0, 0.0, 1)  # Min/Max absent: 0
    assert one(
        "exponential_histogram",
        "Count, Sum, Scale, ZeroCount, PositiveOffset, PositiveBucketCounts, NegativeOffset,"
        " NegativeBucketCounts, Min, Max, AggregationTemporality",
    ) == (3, 10.0, 0, 1, 1, [0, 2], 0, [], 0.0, 5.0, 1)


def test_invalid_data_points_are_rejected_one_by_one_as_partial_success(server: Server) -> None:
    service = f"metrics-partial-{uuid.uuid4().hex[:8]}"
    document = _spec_document(service)
    metrics = document["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
    by_name = {metric["name"]: metric for metric in metrics}
    by_name["my.histogram"]["histogram"]["dataPoints"][0]["bucketCounts"] = ["1", "1", "0"]
    del by_name["my.counter"]["sum"]["dataPoints"][0]["timeUnixNano"]
    by_name["my.summary"]["summary"]["dataPoints"][0]["quantileValues"][0]["quantile"] = 1.5
    status, body = _post_json(server, document, server.api_keys["acme"])
    assert status == 200
    partial = body["partialSuccess"]
    assert int(partial["rejectedDataPoints"]) == 3
    message = partial["errorMessage"]
    assert "rejected 3 data points" in message
    assert "histogram my.histogram: bucket_counts has 3 buckets" in message
    assert "sum my.counter: time_unix_nano is missing" in message
    assert "summary my.summary: quantile 1.5" in message
    client = server.client()
    counts = {
        kind: client.command(
            f"SELECT count() FROM otel_metrics_{kind} WHERE ServiceName = {{s:String}}",
            parameters={"s": service},
        )
        for kind in ("gauge", "sum", "histogram", "exponential_histogram", "summary")
    }
    assert counts == {
        "gauge": 1,
        "sum": 0,
        "histogram": 0,
        "exponential_histogram": 1,
        "summary": 0,
    }


def test_metrics_need_a_valid_key_over_http(server: Server) -> None:
    status, body = _post_json(server, _spec_document("metrics-nokey"), "wrong")
    assert status == 401 and body["code"] == 16


# --- the decoder's other refusals ----------------------------------------------------------------


def _number(**fields: Any) -> metrics_pb2.NumberDataPoint:
    return metrics_pb2.NumberDataPoint(time_unix_nano=time.time_ns(), **fields)


def test_decoder_rejects_what_the_data_model_forbids() -> None:
    now = time.time_ns()
    exemplar = metrics_pb2.Exemplar(time_unix_nano=now, as_int=1, trace_id=b"\x01" * 3)
    points = {
        "gauge": [
            _number(as_int=3),
            _number(),  # no value
            _number(flags=1),  # no value, but flagged "no recorded value": kept
            _number(as_double=1.0, exemplars=[exemplar]),
        ],
        "histogram": [
            metrics_pb2.HistogramDataPoint(
                time_unix_nano=now, count=2, bucket_counts=[1, 1, 0], explicit_bounds=[2.0, 1.0]
            ),
            metrics_pb2.HistogramDataPoint(
                time_unix_nano=now, count=5, bucket_counts=[1, 1], explicit_bounds=[1.0]
            ),
            metrics_pb2.HistogramDataPoint(time_unix_nano=now, count=5, sum=9.0),  # no buckets
        ],
        "exponential_histogram": [
            metrics_pb2.ExponentialHistogramDataPoint(time_unix_nano=now, scale=21),
            metrics_pb2.ExponentialHistogramDataPoint(
                time_unix_nano=now,
                count=4,
                zero_count=1,
                positive=metrics_pb2.ExponentialHistogramDataPoint.Buckets(bucket_counts=[1, 1]),
            ),
        ],
    }
    metrics = [
        metrics_pb2.Metric(name="g", gauge=metrics_pb2.Gauge(data_points=points["gauge"])),
        metrics_pb2.Metric(
            name="h", histogram=metrics_pb2.Histogram(data_points=points["histogram"])
        ),
        metrics_pb2.Metric(
            name="e",
            exponential_histogram=metrics_pb2.ExponentialHistogram(
                data_points=points["exponential_histogram"]
            ),
        ),
        metrics_pb2.Metric(name="empty"),  # no data at all: nothing to store or reject
    ]
    request = metrics_service_pb2.ExportMetricsServiceRequest(
        resource_metrics=[
            metrics_pb2.ResourceMetrics(
                resource=resource_pb2.Resource(
                    attributes=[
                        common_pb2.KeyValue(
                            key="service.name", value=common_pb2.AnyValue(string_value="d")
                        )
                    ]
                ),
                scope_metrics=[metrics_pb2.ScopeMetrics(metrics=metrics)],
            )
        ]
    )
    tables, rejects = metrics_to_arrow(request, "t1")
    assert set(tables) == {"otel_metrics_gauge", "otel_metrics_histogram"}
    assert tables["otel_metrics_gauge"].column("Value").to_pylist() == [3.0, 0.0]
    assert tables["otel_metrics_gauge"].column("Flags").to_pylist() == [0, 1]
    assert tables["otel_metrics_histogram"].column("Count").to_pylist() == [5]
    assert set(tables["otel_metrics_gauge"].column("TenantId").to_pylist()) == {"t1"}
    assert rejects.count == 6
    reasons = rejects.message
    assert "gauge g: value is missing" in reasons
    assert "exemplar trace_id must be empty or 16 bytes, got 3" in reasons
    assert "explicit_bounds must be strictly increasing" in reasons
    assert "count 5 is not the sum of bucket_counts (2)" in reasons
    assert "scale 21 is outside -10..20" in reasons
    assert "(and 1 more)" in reasons  # the first five reasons, then a count
