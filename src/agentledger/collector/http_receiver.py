"""OTLP/HTTP receiver: ``/v1/traces``, ``/v1/metrics`` and ``/v1/logs``, protobuf or JSON, gzip,
with the status codes of the OTLP specification so standard exporters retry exactly when they
should.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any

from google.rpc import status_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from agentledger.collector.admission import Admission
from agentledger.collector.auth import KeyRing
from agentledger.collector.columns import RejectLog
from agentledger.collector.errors import (
    InvalidRequest,
    Overloaded,
    RejectedRequest,
    Unauthenticated,
    Unavailable,
)
from agentledger.collector.otlp_codec import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
    OtlpDecodeError,
    decode,
    encode,
)
from agentledger.collector.pipeline import Ingestor, runs_inline

__all__ = ["build_otlp_http_app"]


_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
# google.rpc.Code values used in Status bodies
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _UNAVAILABLE, _UNAUTHENTICATED = 3, 8, 14, 16
_RETRY_AFTER_OVERLOAD = "1"


class _Reject(Exception):
    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def build_otlp_http_app(
    ingestor: Ingestor,
    keys: KeyRing,
    admission: Admission,
    max_body_bytes: int,
    metrics_text: Callable[[], str],
    on_refused: Callable[[int], None],
    ready: Callable[[], bool] = lambda: True,
) -> Starlette:
    """The OTLP/HTTP ASGI app. ``ready`` reports whether the collector can take data;
    ``metrics_text`` renders ``/metrics``; ``on_refused`` counts requests refused whole."""

    async def handle(
        request: Request,
        message_type: type[Any],
        response_type: type[Any],
        ingest: Callable[[Any, str], RejectLog],
        rejected_field: str,
        signal: str,
    ) -> Response:
        json_encoded = _media_type(request) == _JSON
        try:
            tenant = keys.tenant_for(request.headers.get("authorization"))
            if tenant is None:
                raise _Reject(
                    401,
                    _UNAUTHENTICATED,
                    "missing or invalid API key (Authorization: Bearer <key>)",
                )
            if _media_type(request) not in (_PROTOBUF, _JSON):
                raise _Reject(
                    415,
                    _INVALID_ARGUMENT,
                    f"unsupported content type {request.headers.get('content-type')!r};"
                    f" use {_PROTOBUF} or {_JSON}",
                )
            body = await _read_body(request, max_body_bytes)
            if not admission.try_acquire(len(body)):
                raise _Reject(
                    429,
                    _RESOURCE_EXHAUSTED,
                    "collector is at capacity; retry later",
                    {"Retry-After": _RETRY_AFTER_OVERLOAD},
                )
            try:
                if runs_inline(signal, len(body)):
                    rejects = _decode_and_ingest(body, message_type, json_encoded, ingest, tenant)
                else:
                    rejects = await run_in_threadpool(
                        _decode_and_ingest, body, message_type, json_encoded, ingest, tenant
                    )
            finally:
                admission.release(len(body))
        except _Reject as exc:
            on_refused(exc.status)
            return _status_response(exc, json_encoded)
        response = response_type()
        if rejects.count:
            partial = response.partial_success
            setattr(partial, rejected_field, rejects.count)
            partial.error_message = rejects.message
        return Response(
            encode(response, json_encoded=json_encoded),
            200,
            media_type=_JSON if json_encoded else _PROTOBUF,
        )

    async def traces(request: Request) -> Response:
        return await handle(
            request,
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
            ingestor.traces,
            "rejected_spans",
            "traces",
        )

    async def metrics(request: Request) -> Response:
        return await handle(
            request,
            ExportMetricsServiceRequest,
            ExportMetricsServiceResponse,
            ingestor.metrics,
            "rejected_data_points",
            "metrics",
        )

    async def logs(request: Request) -> Response:
        return await handle(
            request,
            ExportLogsServiceRequest,
            ExportLogsServiceResponse,
            ingestor.logs,
            "rejected_log_records",
            "logs",
        )

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(_: Request) -> Response:
        ok = await run_in_threadpool(ready)
        return PlainTextResponse(
            "ready\n" if ok else "store unreachable and spool full\n", 200 if ok else 503
        )

    async def prometheus(_: Request) -> Response:
        return PlainTextResponse(metrics_text(), media_type="text/plain; version=0.0.4")

    return Starlette(
        routes=[
            Route("/v1/traces", traces, methods=["POST"]),
            Route("/v1/metrics", metrics, methods=["POST"]),
            Route("/v1/logs", logs, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ]
    )


def _decode_and_ingest(
    body: bytes,
    message_type: type[Any],
    json_encoded: bool,
    ingest: Callable[[Any, str], RejectLog],
    tenant: str,
) -> RejectLog:
    try:
        message = decode(body, message_type, json_encoded=json_encoded)
    except OtlpDecodeError as exc:
        raise _Reject(400, _INVALID_ARGUMENT, str(exc)) from None
    try:
        return ingest(message, tenant)
    except RejectedRequest as exc:
        status, code = _STATUS[type(exc)]
        retry = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))} if exc.retry_after else {}
        raise _Reject(status, code, exc.message, retry) from None


_STATUS: dict[type[RejectedRequest], tuple[int, int]] = {
    InvalidRequest: (400, _INVALID_ARGUMENT),
    Unauthenticated: (401, _UNAUTHENTICATED),
    Overloaded: (429, _RESOURCE_EXHAUSTED),
    Unavailable: (503, _UNAVAILABLE),
}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _Reject(
            413,
            _INVALID_ARGUMENT,
            f"request body of {declared} bytes exceeds the {limit}-byte limit",
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Reject(413, _INVALID_ARGUMENT, f"request body exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return _decompress(b"".join(chunks), request.headers.get("content-encoding", ""), limit)


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise _Reject(
            415,
            _INVALID_ARGUMENT,
            f"unsupported content encoding {encoding!r}; use gzip or deflate",
        )
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32 if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise _Reject(400, _INVALID_ARGUMENT, f"invalid {encoding} body: {exc}") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise _Reject(413, _INVALID_ARGUMENT, f"decompressed body exceeds the {limit}-byte limit")
    return data


def _status_response(reject: _Reject, json_encoded: bool) -> Response:
    status = status_pb2.Status(code=reject.code, message=reject.message)
    return Response(
        encode(status, json_encoded=json_encoded),
        reject.status,
        headers=reject.headers,
        media_type=_JSON if json_encoded else _PROTOBUF,
    )
