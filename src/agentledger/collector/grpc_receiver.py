"""OTLP/gRPC receiver: ``TraceService``, ``MetricsService`` and ``LogsService`` ``Export``.

The same pipeline as OTLP/HTTP (:class:`~agentledger.collector.pipeline.Ingestor`), the same
bearer keys and the same in-flight byte budget, with the status codes of the OTLP specification:

* some records invalid: ``OK`` with ``partial_success`` (``rejected_*`` + message), never an error;
* no or wrong key (``authorization: Bearer <key>`` metadata): ``UNAUTHENTICATED``;
* bad data: ``INVALID_ARGUMENT`` (not retryable);
* over the in-flight budget: ``RESOURCE_EXHAUSTED`` with ``google.rpc.RetryInfo``;
* the store failed: ``UNAVAILABLE`` with ``google.rpc.RetryInfo``.

RetryInfo travels twice in the trailing metadata: inside the ``google.rpc.Status`` of
``grpc-status-details-bin`` (the gRPC convention, read by the Collector's and Go exporters) and
alone as ``google.rpc.retryinfo-bin`` (what OpenTelemetry Python's exporter reads).

grpc decompresses gzip requests itself and enforces ``max_message_bytes`` on the received message.
Small trace and metric requests are ingested on the event loop, the rest in a worker thread so
the loop keeps serving (``pipeline.runs_inline``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import grpc  # type: ignore[import-untyped]
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

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
from agentledger.collector.pipeline import Ingestor, runs_inline

__all__ = ["GrpcTls", "build_grpc_server"]


_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_RETRY_INFO_KEY = "google.rpc.retryinfo-bin"


@dataclass(frozen=True)
class GrpcTls:
    """PEM files for TLS: the server's certificate chain and private key, and optionally the CA
    that client certificates must be signed by (then a client certificate is required: mTLS)."""

    cert_file: Path | str
    key_file: Path | str
    client_ca_file: Path | str | None = None

    def credentials(self) -> grpc.ServerCredentials:
        client_ca = Path(self.client_ca_file).read_bytes() if self.client_ca_file else None
        return grpc.ssl_server_credentials(
            [(Path(self.key_file).read_bytes(), Path(self.cert_file).read_bytes())],
            root_certificates=client_ca,
            require_client_auth=client_ca is not None,
        )


def build_grpc_server(
    ingestor: Ingestor,
    keys: KeyRing,
    admission: Admission,
    max_message_bytes: int,
    host: str,
    port: int,
    tls: GrpcTls | None = None,
) -> tuple[grpc.aio.Server, int]:
    """The OTLP/gRPC server, bound to ``host:port`` (0 = any free port) but not started, and the
    port it is bound to. Call it inside the event loop that will run it, then
    ``await server.start()`` and eventually ``await server.stop(grace)``.

    ``admission`` should be the HTTP receiver's, so both share one in-flight byte budget.
    Raises ``RuntimeError`` if the address cannot be bound.
    """
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            # Fail loudly when the port is taken instead of sharing it with another process.
            ("grpc.so_reuseport", 0),
        ]
    )
    services = (
        (trace_service_pb2, "TraceService", ingestor.traces, "rejected_spans", "traces"),
        (
            metrics_service_pb2,
            "MetricsService",
            ingestor.metrics,
            "rejected_data_points",
            "metrics",
        ),
        (logs_service_pb2, "LogsService", ingestor.logs, "rejected_log_records", "logs"),
    )
    server.add_generic_rpc_handlers(
        [
            _Export(module, service, ingest, rejected_field, keys, admission, signal).handler()
            for module, service, ingest, rejected_field, signal in services
        ]
    )
    address = _address(host, port)
    if tls is None:
        bound: int = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, tls.credentials())
    if not bound:  # older grpcio returns 0 instead of raising
        raise RuntimeError(f"cannot bind the OTLP/gRPC receiver to {address}")
    return server, bound


class _Undecodable:
    """What the request deserializer yields for bytes that are not the expected message, so the
    handler can answer INVALID_ARGUMENT (grpc's own answer to a failed deserializer is INTERNAL)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass(frozen=True)
class _Received:
    """A decoded request and its size as received (decompressed): what admission counts, known
    here for free where ``ByteSize()`` would serialize the message again to find it."""

    message: Any
    size: int


class _Export:
    """The ``Export`` RPC of one OTLP service."""

    def __init__(
        self,
        pb2: Any,
        service: str,
        ingest: Callable[[Any, str], RejectLog],
        rejected_field: str,
        keys: KeyRing,
        admission: Admission,
        signal: str,
    ) -> None:
        descriptor = pb2.DESCRIPTOR.services_by_name[service]
        self._service = descriptor.full_name
        self._request_type = getattr(pb2, descriptor.methods_by_name["Export"].input_type.name)
        self._response_type = getattr(pb2, descriptor.methods_by_name["Export"].output_type.name)
        self._ingest = ingest
        self._rejected_field = rejected_field
        self._keys = keys
        self._admission = admission
        self._signal = signal

    def handler(self) -> grpc.GenericRpcHandler:
        method = grpc.unary_unary_rpc_method_handler(
            self.export,
            request_deserializer=self._decode,
            response_serializer=self._response_type.SerializeToString,
        )
        return grpc.method_handlers_generic_handler(self._service, {"Export": method})

    def _decode(self, data: bytes) -> _Received | _Undecodable:
        try:
            return _Received(self._request_type.FromString(data), len(data))
        except DecodeError as exc:
            return _Undecodable(f"invalid protobuf {self._request_type.__name__}: {exc}")

    async def export(
        self, request: _Received | _Undecodable, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        try:
            rejects = await self._admit_and_ingest(request, context)
        except RejectedRequest as exc:
            await _abort(context, exc)
        response = self._response_type()
        if rejects.count:
            partial = response.partial_success
            setattr(partial, self._rejected_field, rejects.count)
            partial.error_message = rejects.message
        return response

    async def _admit_and_ingest(
        self, request: _Received | _Undecodable, context: grpc.aio.ServicerContext[Any, Any]
    ) -> RejectLog:
        tenant = self._keys.tenant_for(_metadata(context, "authorization"))
        if tenant is None:
            raise Unauthenticated("missing or invalid API key (authorization: Bearer <key>)")
        if isinstance(request, _Undecodable):
            raise InvalidRequest(request.reason)
        message, size = request.message, request.size
        if not self._admission.try_acquire(size):
            raise Overloaded("collector is at capacity; retry later")
        if runs_inline(self._signal, size):
            try:
                return self._ingest(message, tenant)
            finally:
                self._admission.release(size)
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(None, self._ingest, message, tenant)
        # The bytes stay acquired until the thread is done, even if the call is cancelled first.
        work.add_done_callback(lambda done: self._release(size, done))
        return await asyncio.shield(work)

    def _release(self, size: int, done: asyncio.Future[RejectLog]) -> None:
        self._admission.release(size)
        if not done.cancelled():
            done.exception()  # retrieved, so an abandoned call logs no "never retrieved"


async def _abort(context: grpc.aio.ServicerContext[Any, Any], exc: RejectedRequest) -> NoReturn:
    code = _status_code(exc)
    trailing: tuple[tuple[str, bytes], ...] = ()
    if exc.retry_after is not None:
        nanos = max(round(exc.retry_after * 1e9), 0)
        retry = error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(seconds=nanos // 10**9, nanos=nanos % 10**9)
        )
        detail = any_pb2.Any()
        detail.Pack(retry)
        status = status_pb2.Status(code=code.value[0], message=exc.message, details=[detail])
        trailing = (
            (_STATUS_DETAILS_KEY, status.SerializeToString()),
            (_RETRY_INFO_KEY, retry.SerializeToString()),
        )
    await context.abort(code, exc.message, trailing)
    raise AssertionError("grpc's abort() always raises")


def _status_code(exc: RejectedRequest) -> grpc.StatusCode:
    if isinstance(exc, Unauthenticated):
        return grpc.StatusCode.UNAUTHENTICATED
    if isinstance(exc, Overloaded):
        return grpc.StatusCode.RESOURCE_EXHAUSTED
    if isinstance(exc, Unavailable):
        return grpc.StatusCode.UNAVAILABLE
    if isinstance(exc, InvalidRequest) or exc.retry_after is None:
        return grpc.StatusCode.INVALID_ARGUMENT
    return grpc.StatusCode.UNAVAILABLE


def _metadata(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name == key:
            return value if isinstance(value, str) else value.decode(errors="replace")
    return None


def _address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"{host}:{port}"
