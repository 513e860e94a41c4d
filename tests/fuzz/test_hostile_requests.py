"""Hostile OTLP requests against a real server: each gets a clear 4xx, or a 200 whose partial
success counts the rejected records, and the server stays healthy for everyone else."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable

import grpc  # type: ignore[import-untyped]
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from ..conftest import Server
from .otlp_strategies import NOW, seed_requests

PROTOBUF, JSON = "application/x-protobuf", "application/json"


def _request(spans: int = 1, **span_fields: object) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.add(key="service.name", value=AnyValue(string_value="hostile"))
    scope = resource.scope_spans.add()
    for i in range(spans):
        fields: dict[str, object] = {
            "trace_id": bytes([1 + i % 200]) * 16,
            "span_id": bytes([1 + i % 200]) * 8,
            "name": "hostile",
            "start_time_unix_nano": NOW,
            "end_time_unix_nano": NOW + 1000,
        }
        scope.spans.add(**(fields | span_fields))
    return request


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field, written by hand: protobuf itself refuses to build
    messages as deep as the ones hostile clients send."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def _nested(depth: int) -> bytes:
    """A KeyValue whose AnyValue is a kvlist nested ``depth`` deep."""
    value = _field(1, b"leaf")  # AnyValue.string_value
    for _ in range(depth):  # AnyValue.kvlist_value -> KeyValueList.values -> KeyValue.value
        value = _field(6, _field(1, _field(1, b"k") + _field(2, value)))
    return _field(1, b"deep") + _field(2, value)


def _with_attributes(attributes: list[KeyValue], raw: bytes = b"") -> bytes:
    request = _request()
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes.extend(attributes)
    span_bytes = span.SerializeToString() + (_field(9, raw) if raw else b"")
    # Request.resource_spans -> ResourceSpans.scope_spans -> ScopeSpans.spans
    return _field(1, _field(2, _field(2, span_bytes)))


def _invalid_utf8_name() -> bytes:
    body = bytearray(_request(name="\u00e9t\u00e9").SerializeToString())
    at = body.index("\u00e9t\u00e9".encode())
    body[at] = 0xFF  # the name's first byte is no longer UTF-8
    return bytes(body)


def _bomb(compress: Callable[[bytes], bytes]) -> bytes:
    return compress(b"\0" * 64_000_000)  # 64 MB of zeros, ~60 KB on the wire


# (case, body, content type, extra headers, expected status, rejected spans in partial success)
CASES: list[tuple[str, bytes, str, dict[str, str], int, int]] = [
    ("truncated protobuf", _request(5).SerializeToString()[:-7], PROTOBUF, {}, 400, 0),
    ("garbage protobuf", b"\xff\x00garbage\x9a" * 50, PROTOBUF, {}, 400, 0),
    ("protobuf of another message", seed_requests()[1][1], PROTOBUF, {}, 200, 1),
    ("invalid UTF-8 in a string field", _invalid_utf8_name(), PROTOBUF, {}, 400, 0),
    ("invalid UTF-8 JSON", b'{"resourceSpans": "\xff\xfe"}', JSON, {}, 400, 0),
    ("JSON that is not an object", b"[[[[[[[[[[]]]]]]]]]]", JSON, {}, 400, 0),
    ("JSON nested 100000 deep", b"[" * 100_000 + b"]" * 100_000, JSON, {}, 400, 0),
    (
        "AnyValue nested 25 deep",
        _with_attributes([], _nested(25)),
        PROTOBUF,
        {},
        200,
        0,
    ),
    (
        "AnyValue nested 5000 deep",
        _with_attributes([], _nested(5000)),
        PROTOBUF,
        {},
        400,
        0,
    ),
    (
        "100k attributes on one span",
        _with_attributes(
            [KeyValue(key=f"a{i}", value=AnyValue(int_value=i)) for i in range(100_000)]
        ),
        PROTOBUF,
        {},
        200,
        0,
    ),
    (
        "10 MB string",
        _with_attributes([KeyValue(key="big", value=AnyValue(string_value="x" * 10_000_000))]),
        PROTOBUF,
        {},
        200,
        0,
    ),
    (
        "trace id of 15 bytes",
        _request(3, trace_id=b"\1" * 15).SerializeToString(),
        PROTOBUF,
        {},
        200,
        3,
    ),
    ("span id of 0 bytes", _request(2, span_id=b"").SerializeToString(), PROTOBUF, {}, 200, 2),
    (
        "all-zero trace id",
        _request(1, trace_id=b"\0" * 16).SerializeToString(),
        PROTOBUF,
        {},
        200,
        1,
    ),
    (
        "parent span id of 9 bytes",
        _request(1, parent_span_id=b"\1" * 9).SerializeToString(),
        PROTOBUF,
        {},
        200,
        1,
    ),
    (
        "hex id of odd length (JSON)",
        json.dumps(
            {
                "resourceSpans": [
                    {"scopeSpans": [{"spans": [{"traceId": "abc", "spanId": "01" * 8}]}]}
                ]
            }
        ).encode(),
        JSON,
        {},
        400,
        0,
    ),
    (
        "timestamp in 1970",
        _request(1, start_time_unix_nano=1, end_time_unix_nano=2).SerializeToString(),
        PROTOBUF,
        {},
        200,
        0,
    ),
    (
        "timestamp past 2262",
        _request(
            2, start_time_unix_nano=(1 << 64) - 2, end_time_unix_nano=(1 << 64) - 1
        ).SerializeToString(),
        PROTOBUF,
        {},
        200,
        2,
    ),
    (
        "end before start",
        _request(1, end_time_unix_nano=NOW - 1).SerializeToString(),
        PROTOBUF,
        {},
        200,
        1,
    ),
    ("gzip bomb", _bomb(gzip.compress), PROTOBUF, {"Content-Encoding": "gzip"}, 413, 0),
    ("deflate bomb", _bomb(zlib.compress), PROTOBUF, {"Content-Encoding": "deflate"}, 413, 0),
    (
        "corrupt gzip",
        gzip.compress(b"{}")[:-6] + b"xxxxxx",
        JSON,
        {"Content-Encoding": "gzip"},
        400,
        0,
    ),
    ("unknown content encoding", b"{}", JSON, {"Content-Encoding": "br"}, 415, 0),
    ("unknown content type", b"{}", "text/plain", {}, 415, 0),
    ("declared body of 10 GB", b"{}", JSON, {"Content-Length-Override": "10000000000"}, 413, 0),
]


def _post(
    server: Server, body: bytes, content_type: str, headers: dict[str, str]
) -> tuple[int, bytes]:
    host, port = server.otlp_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    sent = {"Content-Type": content_type, "Authorization": f"Bearer {server.api_keys['acme']}"}
    sent |= {k: v for k, v in headers.items() if k != "Content-Length-Override"}
    if "Content-Length-Override" in headers:
        connection.putrequest("POST", "/v1/traces")
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", headers["Content-Length-Override"])
        connection.endheaders(body)
    else:
        connection.request("POST", "/v1/traces", body, sent)
    response = connection.getresponse()
    answer = response.status, response.read()
    connection.close()
    return answer


def _healthy(server: Server) -> None:
    status, body = _post(server, _request(1).SerializeToString(), PROTOBUF, {})
    assert status == 200, body


@pytest.mark.parametrize(
    ("case", "body", "content_type", "headers", "status", "rejected"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_hostile_request_gets_a_clear_answer(
    server: Server,
    case: str,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    status: int,
    rejected: int,
) -> None:
    got, answer = _post(server, body, content_type, headers)
    assert got == status, (case, got, answer[:300])
    if got == 200 and content_type == PROTOBUF:
        response = ExportTraceServiceResponse.FromString(answer)
        assert response.partial_success.rejected_spans == rejected
        if rejected:
            assert response.partial_success.error_message
    elif got != 200:
        decoded = (
            json.loads(answer)["message"]
            if content_type == JSON
            else status_pb2.Status.FromString(answer).message
        )
        assert len(decoded) > 10, decoded  # a reason a person can act on
    _healthy(server)


def test_slow_loris_clients_do_not_starve_others(server: Server) -> None:
    """Connections that trickle their headers and body, a byte now and then, while normal
    clients keep getting fast answers."""
    host, port = server.otlp_url.removeprefix("http://").split(":")
    stop = threading.Event()
    head = (
        f"POST /v1/traces HTTP/1.1\r\nHost: {host}\r\nContent-Type: {PROTOBUF}\r\n"
        f"Authorization: Bearer {server.api_keys['acme']}\r\nContent-Length: 100000\r\n\r\n"
    ).encode()

    def trickle() -> None:
        with socket.create_connection((host, int(port))) as sock:
            for byte in head + b"\0" * 1000:
                if stop.wait(0.05):
                    return
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    return

    lorises = [threading.Thread(target=trickle, daemon=True) for _ in range(64)]
    for thread in lorises:
        thread.start()
    try:
        time.sleep(1)
        latencies = []
        for _ in range(20):
            started = time.perf_counter()
            _healthy(server)
            latencies.append(time.perf_counter() - started)
        assert sorted(latencies)[-2] < 1.0, latencies
    finally:
        stop.set()
        for thread in lorises:
            thread.join(timeout=5)
    _healthy(server)


def test_grpc_garbage_and_bad_keys_get_clear_codes(server: Server) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    try:
        raw = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=lambda body: body,
            response_deserializer=lambda body: body,
        )
        key = [("authorization", f"Bearer {server.api_keys['acme']}")]
        for body, code in (
            (b"\xff\x00garbage" * 10, grpc.StatusCode.INVALID_ARGUMENT),
            (_request(1).SerializeToString()[:-5], grpc.StatusCode.INVALID_ARGUMENT),
        ):
            with pytest.raises(grpc.RpcError) as failed:
                raw(body, metadata=key, timeout=10)
            assert failed.value.code() == code and failed.value.details()
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as failed:
            stub.Export(_request(1), metadata=[("authorization", "Bearer nope")], timeout=10)
        assert failed.value.code() == grpc.StatusCode.UNAUTHENTICATED
        reply = stub.Export(_request(3, span_id=b"\1"), metadata=key, timeout=10)
        assert reply.partial_success.rejected_spans == 3
    finally:
        channel.close()
    _healthy(server)
