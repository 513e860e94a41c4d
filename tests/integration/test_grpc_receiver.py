"""The OTLP/gRPC receiver over real sockets: the OpenTelemetry SDK's gRPC exporters against a real
``serve`` process, and receivers built in this process (over the server's real store) for the
states a running server cannot be put in on demand: full admission, a failing store, TLS."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc import Compression
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind

from agentledger.audit.chain import AuditChain
from agentledger.collector.admission import Admission
from agentledger.collector.auth import KeyRing
from agentledger.collector.grpc_receiver import GrpcTls, build_grpc_server
from agentledger.collector.pipeline import INLINE_MAX_BYTES, Ingestor
from agentledger.collector.rate_limit import RateLimiter
from agentledger.collector.redaction import Redactor
from agentledger.collector.self_metrics import SelfMetrics
from agentledger.collector.spool import Spool
from agentledger.collector.writer import Writer
from agentledger.storage.http_store import HttpStore
from agentledger.storage.store import StoreError

from ..conftest import Server, StoredIngestor

_TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _auth(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


def _resource(service: str) -> Resource:
    return Resource.create({"service.name": service})


# --- the running server, through the SDK's OTLP/gRPC exporters ----------------------------------


def test_sdk_grpc_exporters_gzip_store_spans_metrics_and_logs(server: Server) -> None:
    service = f"grpc-{uuid.uuid4().hex[:8]}"
    endpoint = f"127.0.0.1:{server.grpc_port}"
    common: dict[str, Any] = {
        "endpoint": endpoint,
        "insecure": True,
        "compression": Compression.Gzip,
        "headers": _auth(server.api_keys["globex"]),
    }

    tracer_provider = TracerProvider(resource=_resource(service))
    span_exporter = OTLPSpanExporter(**common)
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    tracer = tracer_provider.get_tracer("grpc-test", "0.1")
    with tracer.start_as_current_span("invoke_agent planner") as root:
        root.set_attribute("gen_ai.agent.name", "planner")
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.request.model", "gpt-4o")
            chat.set_attribute("gen_ai.usage.input_tokens", 120)
    tracer_provider.shutdown()

    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], resource=_resource(service))
    meter = meter_provider.get_meter("grpc-test", "0.1")
    meter.create_counter("tickets", unit="{ticket}").add(3, {"queue": "refunds"})
    meter.create_histogram("gen_ai.client.token.usage", unit="{token}").record(
        812, {"gen_ai.token.type": "input", "gen_ai.request.model": "gpt-4o"}
    )
    metrics = reader.get_metrics_data()
    assert metrics is not None
    assert OTLPMetricExporter(**common).export(metrics) == MetricExportResult.SUCCESS
    meter_provider.shutdown()

    logger_provider = LoggerProvider(resource=_resource(service))
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(**common)))
    logger_provider.get_logger("grpc-test").emit(
        body="refund approved",
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
        attributes={"ticket": "T-9"},
    )
    logger_provider.shutdown()

    client = server.client()
    spans = client.query(
        "SELECT SpanName, SpanKind, TenantId, AgentName, RequestModel, InputTokens"
        " FROM otel_traces WHERE ServiceName = {s:String} ORDER BY SpanName",
        parameters={"s": service},
    ).result_rows
    assert spans == [
        ("chat gpt-4o", "Client", "globex", "", "gpt-4o", 120),
        ("invoke_agent planner", "Internal", "globex", "planner", "", 0),
    ]
    counter = client.query(
        "SELECT Value, Attributes, IsMonotonic, AggregationTemporality, TenantId, MetricUnit,"
        " ScopeName, ScopeVersion FROM otel_metrics_sum WHERE ServiceName = {s:String}",
        parameters={"s": service},
    ).result_rows
    assert counter == [
        (3.0, {"queue": "refunds"}, True, 2, "globex", "{ticket}", "grpc-test", "0.1")
    ]
    usage = client.query(
        "SELECT Count, Sum, Min, Max, Attributes['gen_ai.token.type'], TenantId"
        " FROM otel_metrics_histogram WHERE ServiceName = {s:String}"
        " AND MetricName = 'gen_ai.client.token.usage'",
        parameters={"s": service},
    ).result_rows
    assert usage == [(1, 812.0, 812.0, 812.0, "input", "globex")]
    logs = client.query(
        "SELECT Body, SeverityText, LogAttributes['ticket'], TenantId FROM otel_logs"
        " WHERE ServiceName = {s:String}",
        parameters={"s": service},
    ).result_rows
    assert logs == [("refund approved", "INFO", "T-9", "globex")]


def test_sdk_exporter_with_a_wrong_key_fails_without_storing(server: Server) -> None:
    service = f"grpc-badkey-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=_resource(service))
    exporter = OTLPSpanExporter(
        endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True, headers=_auth("wrong")
    )
    spans = _finished(provider)
    # UNAUTHENTICATED is not retryable: the exporter gives up at once.
    started = time.monotonic()
    assert exporter.export(spans) == SpanExportResult.FAILURE
    assert time.monotonic() - started < 5
    count = server.client().command(
        "SELECT count() FROM otel_traces WHERE ServiceName = {s:String}", parameters={"s": service}
    )
    assert count == 0


def _finished(provider: TracerProvider) -> list[Any]:
    """The spans a provider has ended, collected by a real in-memory processor."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("x"):
        pass
    return list(memory.get_finished_spans())


# --- the running server, through raw stubs (status codes and trailers) -------------------------


def test_missing_or_wrong_key_is_unauthenticated(server: Server) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        for metadata in ((), _auth("nope"), (("authorization", server.api_keys["acme"]),)):
            with pytest.raises(grpc.RpcError) as caught:
                stub.Export(trace_service_pb2.ExportTraceServiceRequest(), metadata=metadata)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "API key" in caught.value.details()


def test_undecodable_request_is_invalid_argument(server: Server) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        export = channel.unary_unary(_TRACE_EXPORT)  # raw bytes in and out
        with pytest.raises(grpc.RpcError) as caught:
            export(b"\xff\xff\xff\xff not protobuf", metadata=_auth(server.api_keys["acme"]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid protobuf ExportTraceServiceRequest" in caught.value.details()
    assert _retry_delay(caught.value) is None  # not retryable


def test_invalid_points_and_spans_are_partial_success_not_errors(server: Server) -> None:
    service = f"grpc-partial-{uuid.uuid4().hex[:8]}"
    now = time.time_ns()
    request = metrics_service_pb2.ExportMetricsServiceRequest(
        resource_metrics=[
            metrics_pb2.ResourceMetrics(
                resource=_proto_resource(service),
                scope_metrics=[
                    metrics_pb2.ScopeMetrics(
                        metrics=[
                            metrics_pb2.Metric(
                                name="queue.depth",
                                gauge=metrics_pb2.Gauge(
                                    data_points=[
                                        metrics_pb2.NumberDataPoint(time_unix_nano=now, as_int=7),
                                        metrics_pb2.NumberDataPoint(as_int=8),  # no time
                                    ]
                                ),
                            ),
                            metrics_pb2.Metric(
                                name="latency",
                                histogram=metrics_pb2.Histogram(
                                    data_points=[
                                        metrics_pb2.HistogramDataPoint(
                                            time_unix_nano=now,
                                            count=3,
                                            bucket_counts=[1, 2],
                                            explicit_bounds=[1.0, 2.0],
                                        )
                                    ],
                                    aggregation_temporality=2,
                                ),
                            ),
                        ]
                    )
                ],
            )
        ]
    )
    trace_request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=_proto_resource(service),
                scope_spans=[
                    trace_pb2.ScopeSpans(
                        spans=[trace_pb2.Span(name="no ids", start_time_unix_nano=now)]
                    )
                ],
            )
        ]
    )
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        metadata = _auth(server.api_keys["acme"])
        response = metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(
            request, metadata=metadata, compression=Compression.Gzip
        )
        spans_response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            trace_request, metadata=metadata
        )
    assert response.partial_success.rejected_data_points == 2
    message = response.partial_success.error_message
    assert "time_unix_nano is missing" in message and "bucket_counts has 2 buckets" in message
    assert spans_response.partial_success.rejected_spans == 1
    assert "trace_id" in spans_response.partial_success.error_message
    rows = (
        server.client()
        .query(
            "SELECT MetricName, Value, TenantId FROM otel_metrics_gauge"
            " WHERE ServiceName = {s:String}",
            parameters={"s": service},
        )
        .result_rows
    )
    assert rows == [("queue.depth", 7.0, "acme")]


@pytest.mark.parametrize("spans", [3, 1500])
def test_small_and_large_trace_requests_are_stored_alike(server: Server, spans: int) -> None:
    """Requests up to 512 KiB are ingested on the receiver's event loop, larger ones in a worker
    thread: both store every valid span and report the invalid one."""
    trace_id, now = uuid.uuid4().bytes, time.time_ns()
    value = common_pb2.AnyValue(string_value="x" * 400)
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=_proto_resource("grpc-sizes"),
                scope_spans=[
                    trace_pb2.ScopeSpans(
                        spans=[
                            trace_pb2.Span(
                                trace_id=trace_id,
                                span_id=(number + 1).to_bytes(8, "big") if number else b"short",
                                name="step",
                                start_time_unix_nano=now,
                                end_time_unix_nano=now + 1000,
                                attributes=[common_pb2.KeyValue(key="input.value", value=value)],
                            )
                            for number in range(spans)
                        ]
                    )
                ],
            )
        ]
    )
    assert (request.ByteSize() > INLINE_MAX_BYTES) == (spans > 3)
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            request, metadata=_auth(server.api_keys["acme"]), timeout=30
        )
    assert response.partial_success.rejected_spans == 1
    assert "span_id must be 8 non-zero bytes" in response.partial_success.error_message
    count = "SELECT count() FROM otel_traces WHERE TraceId = {t:String}"
    assert server.client().command(count, parameters={"t": trace_id.hex()}) == spans - 1


def _proto_resource(service: str) -> resource_pb2.Resource:
    return resource_pb2.Resource(
        attributes=[
            common_pb2.KeyValue(key="service.name", value=common_pb2.AnyValue(string_value=service))
        ]
    )


# --- receivers built here: admission, store failure, message size, TLS -------------------------


@contextmanager
def _receiver(
    ingestor: Any,
    keys: KeyRing,
    admission: Admission,
    max_message_bytes: int = 4 * 1024 * 1024,
    tls: GrpcTls | None = None,
) -> Iterator[int]:
    """Run ``build_grpc_server`` on an event loop in a thread; yield its port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[Any, int]:
        server, port = build_grpc_server(
            ingestor, keys, admission, max_message_bytes, "127.0.0.1", 0, tls
        )
        await server.start()
        return server, port

    grpc_server, port = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(grpc_server.stop(None), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def _admin_store(server: Server) -> HttpStore:
    return HttpStore(f"http://admin:{server.admin_password}@127.0.0.1:{server.sql_port}")


def _retry_delay(error: grpc.RpcError) -> float | None:
    """RetryInfo's delay from ``grpc-status-details-bin``, checked against the
    ``google.rpc.retryinfo-bin`` copy OpenTelemetry Python reads; None when absent."""
    trailers = dict(error.trailing_metadata() or ())
    if "grpc-status-details-bin" not in trailers:
        assert "google.rpc.retryinfo-bin" not in trailers
        return None
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert status.code == error.code().value[0] and status.message == error.details()
    (detail,) = status.details
    retry = error_details_pb2.RetryInfo()
    assert detail.Unpack(retry)
    assert error_details_pb2.RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"]) == retry
    return retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9


def _small_trace_request(service: str) -> trace_service_pb2.ExportTraceServiceRequest:
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=_proto_resource(service),
                scope_spans=[
                    trace_pb2.ScopeSpans(
                        spans=[
                            trace_pb2.Span(
                                trace_id=uuid.uuid4().bytes,
                                span_id=uuid.uuid4().bytes[:8],
                                name="tiny",
                                start_time_unix_nano=time.time_ns(),
                                end_time_unix_nano=time.time_ns() + 1000,
                            )
                        ]
                    )
                ],
            )
        ]
    )


def test_full_admission_is_resource_exhausted_with_retry_info(server: Server) -> None:
    store = _admin_store(server)
    admission = Admission(max_bytes=1)
    keys = KeyRing({"k": "acme"})
    try:
        with _receiver(StoredIngestor(store), keys, admission) as port:
            assert admission.try_acquire(1)  # another request holds the whole budget
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = trace_service_pb2_grpc.TraceServiceStub(channel)
                request = _small_trace_request("grpc-overload")
                with pytest.raises(grpc.RpcError) as caught:
                    stub.Export(request, metadata=_auth("k"))
                assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert _retry_delay(caught.value) == 1.0
                assert admission.inflight == 1  # the refused request holds nothing
                admission.release(1)
                # With the budget free again the same request goes through.
                response = stub.Export(request, metadata=_auth("k"))
                assert not response.HasField("partial_success")
                assert admission.inflight == 0
    finally:
        store.close()


def test_a_full_spool_is_unavailable_with_retry_info(server: Server, tmp_path: Path) -> None:
    # The store refuses every insert (the read-only SQL user), so nothing drains, and the spool
    # is full: the collector takes nothing more until it has room.
    store = HttpStore(f"http://reader:{server.reader_password}@127.0.0.1:{server.sql_port}")
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20)
    ingestor = Ingestor(spool, AuditChain(store), Redactor(), RateLimiter({}), SelfMetrics())
    admission = Admission(max_bytes=1 << 20)
    try:
        ingestor.traces(_small_trace_request("grpc-store-down"), "acme")
        spool.max_bytes = spool.bytes  # full with what the store refuses
        spool.rotate()
        with pytest.raises(StoreError):
            Writer(spool, [store], interval=60).drain()
        with (
            _receiver(ingestor, KeyRing({"k": "acme"}), admission) as port,
            grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
        ):
            with pytest.raises(grpc.RpcError) as caught:
                trace_service_pb2_grpc.TraceServiceStub(channel).Export(
                    _small_trace_request("grpc-store-down"), metadata=_auth("k")
                )
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "spool is full" in (caught.value.details() or "")
            assert _retry_delay(caught.value) == 5.0
            assert admission.inflight == 0
    finally:
        spool.close()
        store.close()


def test_messages_over_the_limit_are_refused_even_when_gzip_makes_them_small(
    server: Server,
) -> None:
    store = _admin_store(server)
    try:
        with (
            _receiver(
                StoredIngestor(store), KeyRing({"k": "acme"}), Admission(1 << 20), 4096
            ) as port,
            grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
        ):
            stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
            big = metrics_service_pb2.ExportMetricsServiceRequest(
                resource_metrics=[
                    metrics_pb2.ResourceMetrics(resource=_proto_resource("x" * 20_000))
                ]
            )
            for compression in (None, Compression.Gzip):
                with pytest.raises(grpc.RpcError) as caught:
                    stub.Export(big, metadata=_auth("k"), compression=compression)
                assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert _retry_delay(caught.value) is None  # too big is never worth retrying
            stub.Export(metrics_service_pb2.ExportMetricsServiceRequest(), metadata=_auth("k"))
    finally:
        store.close()


# --- TLS ------------------------------------------------------------------------------------------


def test_tls_with_the_sdk_exporter(server: Server, pki: Path) -> None:
    store = _admin_store(server)
    service = f"grpc-tls-{uuid.uuid4().hex[:8]}"
    tls = GrpcTls(pki / "server.pem", pki / "server.key")
    try:
        with _receiver(
            StoredIngestor(store), KeyRing({"k": "acme"}), Admission(1 << 20), tls=tls
        ) as port:
            ca = grpc.ssl_channel_credentials(root_certificates=(pki / "ca.pem").read_bytes())
            exporter = OTLPSpanExporter(
                endpoint=f"https://127.0.0.1:{port}", credentials=ca, headers=_auth("k")
            )
            provider = TracerProvider(resource=_resource(service))
            assert exporter.export(_finished(provider)) == SpanExportResult.SUCCESS
            # A plaintext client cannot talk to the TLS port.
            with (
                grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
                pytest.raises(grpc.RpcError) as caught,
            ):
                trace_service_pb2_grpc.TraceServiceStub(channel).Export(
                    _small_trace_request(service), metadata=_auth("k"), timeout=5
                )
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        store.close()
    count = server.client().command(
        "SELECT count() FROM otel_traces WHERE ServiceName = {s:String} AND TenantId = 'acme'",
        parameters={"s": service},
    )
    assert count == 1


def test_mtls_requires_a_client_certificate_signed_by_the_ca(server: Server, pki: Path) -> None:
    store = _admin_store(server)
    tls = GrpcTls(pki / "server.pem", pki / "server.key", client_ca_file=pki / "ca.pem")
    root = (pki / "ca.pem").read_bytes()
    try:
        with _receiver(
            StoredIngestor(store), KeyRing({"k": "acme"}), Admission(1 << 20), tls=tls
        ) as port:
            with_cert = grpc.ssl_channel_credentials(
                root_certificates=root,
                private_key=(pki / "client.key").read_bytes(),
                certificate_chain=(pki / "client.pem").read_bytes(),
            )
            with grpc.secure_channel(f"127.0.0.1:{port}", with_cert) as channel:
                response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(
                    _small_trace_request("grpc-mtls"), metadata=_auth("k"), timeout=10
                )
                assert not response.HasField("partial_success")
            without_cert = grpc.ssl_channel_credentials(root_certificates=root)
            with (
                grpc.secure_channel(f"127.0.0.1:{port}", without_cert) as channel,
                pytest.raises(grpc.RpcError) as caught,
            ):
                trace_service_pb2_grpc.TraceServiceStub(channel).Export(
                    _small_trace_request("grpc-mtls"), metadata=_auth("k"), timeout=5
                )
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        store.close()
