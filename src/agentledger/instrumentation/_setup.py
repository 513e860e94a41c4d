"""Opt-in SDK wiring: one tracer and one event logger exporting OTLP/HTTP to AgentLedger.

Until :func:`setup` runs, every wrapper checks one flag (``STATE.enabled``) and calls straight
through, so libraries can be instrumented without forcing a backend on their users.

Decision, KPI and observation events are log records: trace sampling never drops them. They carry
the trace id of the current span even when that span was not sampled.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry._logs import Logger, NoOpLogger
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

__all__ = ["STATE", "Instrumentation", "current", "setup"]

_SCOPE = "agentledger"
DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
# Events (decisions, KPIs) must not be dropped under bursts: a deep queue for log records.
_LOG_QUEUE_SIZE = 65_536

Redactor = Callable[[str], str]


@dataclass(eq=False)
class Instrumentation:
    """What :func:`setup` configured; keep it to flush or shut down explicitly."""

    tracer: trace.Tracer
    logger: Logger
    tracer_provider: TracerProvider | None = None
    logger_provider: LoggerProvider | None = None
    capture_content: bool = False
    redact: Redactor | None = None
    _closed: bool = field(default=False, repr=False)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        spans = self.tracer_provider.force_flush(timeout_millis) if self.tracer_provider else True
        logs = self.logger_provider.force_flush(timeout_millis) if self.logger_provider else True
        return bool(spans and logs)

    def shutdown(self) -> None:
        """Flush and stop exporting; idempotent. The wrappers become no-ops again."""
        if self._closed:
            return
        self._closed = True
        if STATE.current is self:
            STATE.install(_NOOP)
        if self.tracer_provider:
            self.tracer_provider.shutdown()
        if self.logger_provider:
            self.logger_provider.shutdown()


class _State:
    """The live configuration, read by every wrapper: ``enabled`` first, nothing else if off."""

    __slots__ = ("capture_content", "current", "enabled", "logger", "redact", "tracer")

    def __init__(self, instrumentation: Instrumentation) -> None:
        self.install(instrumentation)

    def install(self, instrumentation: Instrumentation) -> None:
        self.current = instrumentation
        self.tracer = instrumentation.tracer
        self.logger = instrumentation.logger
        self.capture_content = instrumentation.capture_content
        self.redact = instrumentation.redact
        self.enabled = instrumentation.tracer_provider is not None


_NOOP = Instrumentation(tracer=trace.NoOpTracer(), logger=NoOpLogger(_SCOPE))
STATE = _State(_NOOP)


def current() -> Instrumentation:
    return STATE.current


def _env_ratio() -> float | None:
    raw = os.environ.get("AGENTLEDGER_SAMPLE_RATIO", "").strip()
    return float(raw) if raw else None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _sampler(ratio: float | None) -> Sampler | None:
    if ratio is None:
        return None
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"sample_ratio must be between 0 and 1, got {ratio}")
    return ParentBased(TraceIdRatioBased(ratio))


def _install(
    tracer_provider: TracerProvider,
    logger_provider: LoggerProvider,
    capture_content: bool,
    redact: Redactor | None,
) -> Instrumentation:
    instrumentation = Instrumentation(
        tracer=tracer_provider.get_tracer(_SCOPE),
        logger=logger_provider.get_logger(_SCOPE),
        tracer_provider=tracer_provider,
        logger_provider=logger_provider,
        capture_content=capture_content,
        redact=redact,
    )
    previous = STATE.current
    STATE.install(instrumentation)
    previous.shutdown()
    return instrumentation


def setup(
    service_name: str,
    endpoint: str | None = None,
    api_key: str | None = None,
    *,
    service_version: str | None = None,
    sample_ratio: float | None = None,
    capture_content: bool | None = None,
    redact: Redactor | None = None,
) -> Instrumentation:
    """Send this process's agent telemetry to AgentLedger.

    ``endpoint`` defaults to ``AGENTLEDGER_ENDPOINT`` (else ``http://127.0.0.1:4318``), ``api_key``
    to ``AGENTLEDGER_API_KEY``, ``sample_ratio`` (0..1, parent-based: a trace is kept or dropped
    whole; decision/KPI events are always sent) to ``AGENTLEDGER_SAMPLE_RATIO``,
    ``capture_content`` (record prompts and outputs) to ``AGENTLEDGER_CAPTURE_CONTENT`` (off).
    ``redact`` is applied in-process, before export, to captured content, decision rationales and
    KPI string attributes. Calling it again replaces (and shuts down) the previous configuration.
    """
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    base = (endpoint or os.environ.get("AGENTLEDGER_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    key = api_key if api_key is not None else os.environ.get("AGENTLEDGER_API_KEY", "")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    attributes = {"service.name": service_name}
    if service_version:
        attributes["service.version"] = service_version
    resource = Resource.create(attributes)
    ratio = sample_ratio if sample_ratio is not None else _env_ratio()
    tracer_provider = TracerProvider(
        resource=resource, sampler=_sampler(ratio), shutdown_on_exit=False
    )
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers=headers))
    )
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(
            OTLPLogExporter(endpoint=f"{base}/v1/logs", headers=headers),
            max_queue_size=_LOG_QUEUE_SIZE,
        )
    )
    capture = (
        capture_content if capture_content is not None else _env_flag("AGENTLEDGER_CAPTURE_CONTENT")
    )
    instrumentation = _install(tracer_provider, logger_provider, capture, redact)
    atexit.register(instrumentation.shutdown)
    return instrumentation


def _setup_for_tests(
    span_exporter: SpanExporter,
    log_exporter: LogRecordExporter,
    *,
    service_name: str = "test",
    sample_ratio: float | None = None,
    capture_content: bool = False,
    redact: Redactor | None = None,
) -> Instrumentation:
    """Like :func:`setup`, exporting synchronously to the given exporters (e.g. in-memory ones)."""
    resource = Resource.create({"service.name": service_name})
    tracer_provider = TracerProvider(
        resource=resource, sampler=_sampler(sample_ratio), shutdown_on_exit=False
    )
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    return _install(tracer_provider, logger_provider, capture_content, redact)
