"""Opt-in SDK wiring: one tracer and one event logger exporting OTLP/HTTP to AgentLedger.

Until :func:`setup` runs, the wrappers use OpenTelemetry's no-op API objects and cost almost
nothing, so libraries can be instrumented without forcing a backend on their users.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry._logs import Logger, NoOpLogger
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["Instrumentation", "current", "setup"]

_SCOPE = "agentledger"
DEFAULT_ENDPOINT = "http://127.0.0.1:4318"


@dataclass
class Instrumentation:
    """What :func:`setup` configured; keep it to flush or shut down explicitly."""

    tracer: trace.Tracer
    logger: Logger
    tracer_provider: TracerProvider | None = None
    logger_provider: LoggerProvider | None = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        spans = self.tracer_provider.force_flush(timeout_millis) if self.tracer_provider else True
        logs = self.logger_provider.force_flush(timeout_millis) if self.logger_provider else True
        return bool(spans and logs)

    def shutdown(self) -> None:
        if self.tracer_provider:
            self.tracer_provider.shutdown()
        if self.logger_provider:
            self.logger_provider.shutdown()


_NOOP = Instrumentation(tracer=trace.get_tracer(_SCOPE), logger=NoOpLogger(_SCOPE))
_current = _NOOP


def current() -> Instrumentation:
    return _current


def setup(
    service_name: str,
    endpoint: str | None = None,
    api_key: str | None = None,
    *,
    service_version: str | None = None,
) -> Instrumentation:
    """Send this process's agent telemetry to AgentLedger.

    ``endpoint`` defaults to ``AGENTLEDGER_ENDPOINT`` (else ``http://127.0.0.1:4318``), ``api_key``
    to ``AGENTLEDGER_API_KEY``. Calling it again replaces the previous configuration.
    """
    global _current
    base = (endpoint or os.environ.get("AGENTLEDGER_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    key = api_key if api_key is not None else os.environ.get("AGENTLEDGER_API_KEY", "")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    attributes = {"service.name": service_name}
    if service_version:
        attributes["service.version"] = service_version
    resource = Resource.create(attributes)

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers=headers))
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{base}/v1/logs", headers=headers))
    )
    previous, _current = (
        _current,
        Instrumentation(
            tracer=tracer_provider.get_tracer(_SCOPE),
            logger=logger_provider.get_logger(_SCOPE),
            tracer_provider=tracer_provider,
            logger_provider=logger_provider,
        ),
    )
    previous.shutdown()
    atexit.register(_current.shutdown)
    return _current
