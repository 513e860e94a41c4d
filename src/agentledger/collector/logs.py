"""OTLP log records to ``otel_logs`` columns, routing AgentLedger events to their own records.

Decision, KPI and model-observation events are ordinary OTLP log records (any OTel SDK can send
them); we keep every raw record in ``otel_logs`` and additionally extract decisions (to be sealed
into the audit chain), KPI rows and ``model_observations`` rows.

A model observation event is named ``agentledger.model_observation`` (``event_name``, or the
``event.name`` attribute) and carries:

* ``agentledger.observation.model`` -- required, the model's name;
* ``agentledger.observation.model_version`` -- optional;
* ``agentledger.observation.feature.<name>`` -- one or more; a number (finite) becomes a row with
  ``Feature=<name>`` and that ``Value``, a non-empty string or a boolean a row with that
  ``Category`` (and ``Value`` 0);
* ``agentledger.decision.id`` -- optional, the decision the model informed.

An event without a model, without features, or with a feature of any other kind is rejected as a
whole (partial success), and, like a rejected KPI event, is not stored in ``otel_logs`` either.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from agentledger import semconv
from agentledger.collector.anyvalue import as_raw, as_string
from agentledger.collector.columns import ATTR_MAP, NS, RejectLog, attributes, hex_id, service_name

__all__ = ["KPI_SCHEMA", "LOG_SCHEMA", "OBSERVATION_SCHEMA", "DecodedLogs", "logs_to_columns"]

_MAX_NANOS = (1 << 63) - 1  # DateTime64(9) and Arrow timestamps are signed 64-bit

LOG_SCHEMA = pa.schema(
    [
        ("Timestamp", NS),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("TraceFlags", pa.uint8()),
        ("SeverityText", pa.string()),
        ("SeverityNumber", pa.uint8()),
        ("ServiceName", pa.string()),
        ("Body", pa.string()),
        ("ResourceSchemaUrl", pa.string()),
        ("ResourceAttributes", ATTR_MAP),
        ("ScopeSchemaUrl", pa.string()),
        ("ScopeName", pa.string()),
        ("ScopeVersion", pa.string()),
        ("ScopeAttributes", ATTR_MAP),
        ("LogAttributes", ATTR_MAP),
        ("EventName", pa.string()),
        ("TenantId", pa.string()),
    ]
)

KPI_SCHEMA = pa.schema(
    [
        ("Timestamp", NS),
        ("TenantId", pa.string()),
        ("KpiName", pa.string()),
        ("Value", pa.float64()),
        ("Unit", pa.string()),
        ("EntityId", pa.string()),
        ("DecisionId", pa.string()),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("ServiceName", pa.string()),
        ("Attributes", ATTR_MAP),
    ]
)

OBSERVATION_SCHEMA = pa.schema(
    [
        ("Timestamp", NS),
        ("TenantId", pa.string()),
        ("ModelName", pa.string()),
        ("ModelVersion", pa.string()),
        ("Feature", pa.string()),
        ("Value", pa.float64()),
        ("Category", pa.string()),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("DecisionId", pa.string()),
    ]
)

_DECISION_FIELDS = {
    semconv.DECISION_ID,
    semconv.DECISION_TYPE,
    semconv.DECISION_CHOSEN,
    semconv.DECISION_OPTIONS,
    semconv.DECISION_CONFIDENCE,
    semconv.DECISION_INPUTS,
    semconv.DECISION_POLICY_CHECKS,
    semconv.DECISION_APPROVED_BY,
    semconv.DECISION_RATIONALE,
    semconv.GEN_AI_AGENT_NAME,
    semconv.GEN_AI_AGENT_VERSION,
    semconv.GEN_AI_REQUEST_MODEL,
    semconv.EVENT_NAME,
}
_KPI_FIELDS = {
    semconv.KPI_NAME,
    semconv.KPI_VALUE,
    semconv.KPI_UNIT,
    semconv.KPI_ENTITY_ID,
    semconv.KPI_DECISION_ID,
    semconv.KPI_TRACE_ID,
    semconv.EVENT_NAME,
}


@dataclass
class DecodedLogs:
    logs: pa.Table
    decisions: list[dict[str, Any]] = field(default_factory=list)
    kpis: pa.Table = field(default_factory=lambda: KPI_SCHEMA.empty_table())
    observations: pa.Table = field(default_factory=lambda: OBSERVATION_SCHEMA.empty_table())
    rejects: RejectLog = field(default_factory=lambda: RejectLog("log records"))


def logs_to_columns(request: Any, tenant: str) -> DecodedLogs:
    """Decode an ``ExportLogsServiceRequest`` into log rows, decisions, KPI and observation rows."""
    cols: dict[str, list[Any]] = {name: [] for name in LOG_SCHEMA.names}
    kpi_cols: dict[str, list[Any]] = {name: [] for name in KPI_SCHEMA.names}
    obs_cols: dict[str, list[Any]] = {name: [] for name in OBSERVATION_SCHEMA.names}
    decisions: list[dict[str, Any]] = []
    rejects = RejectLog("log records")
    for resource_logs in request.resource_logs:
        resource_attrs = attributes(resource_logs.resource.attributes)
        service = service_name(resource_attrs)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            scope_attrs = attributes(scope.attributes)
            for record in scope_logs.log_records:
                problem = _invalid(record)
                if problem:
                    rejects.reject(problem)
                    continue
                attrs = {kv.key: kv.value for kv in record.attributes}
                event = record.event_name or (
                    as_string(attrs[semconv.EVENT_NAME]) if semconv.EVENT_NAME in attrs else ""
                )
                timestamp = record.time_unix_nano or record.observed_time_unix_nano
                if event == semconv.EVENT_KPI:
                    problem = _append_kpi(kpi_cols, record, attrs, timestamp, service, tenant)
                    if problem:
                        rejects.reject(problem)
                        continue
                elif event == semconv.EVENT_DECISION:
                    decisions.append(_decision(record, attrs, timestamp, service, tenant))
                elif event == semconv.EVENT_MODEL_OBSERVATION:
                    problem = _append_observations(obs_cols, record, attrs, timestamp, tenant)
                    if problem:
                        rejects.reject(problem)
                        continue
                _append_log(cols, record, timestamp, event, service, resource_attrs, tenant)
                cols["ResourceSchemaUrl"].append(resource_logs.schema_url)
                cols["ScopeSchemaUrl"].append(scope_logs.schema_url)
                cols["ScopeName"].append(scope.name)
                cols["ScopeVersion"].append(scope.version)
                cols["ScopeAttributes"].append(scope_attrs)
    return DecodedLogs(
        logs=pa.table(cols, schema=LOG_SCHEMA),
        decisions=decisions,
        kpis=pa.table(kpi_cols, schema=KPI_SCHEMA),
        observations=pa.table(obs_cols, schema=OBSERVATION_SCHEMA),
        rejects=rejects,
    )


def _invalid(record: Any) -> str:
    if len(record.trace_id) not in (0, 16):
        return f"log record trace_id must be empty or 16 bytes, got {len(record.trace_id)}"
    if len(record.span_id) not in (0, 8):
        return f"log record span_id must be empty or 8 bytes, got {len(record.span_id)}"
    if not (record.time_unix_nano or record.observed_time_unix_nano):
        return "log record has neither time_unix_nano nor observed_time_unix_nano"
    if (record.time_unix_nano or record.observed_time_unix_nano) > _MAX_NANOS:
        return "log record timestamp is beyond the year 2262"
    return ""


def _append_log(
    cols: dict[str, list[Any]],
    record: Any,
    timestamp: int,
    event: str,
    service: str,
    resource_attrs: list[tuple[str, str]],
    tenant: str,
) -> None:
    cols["Timestamp"].append(timestamp)
    cols["TraceId"].append(hex_id(record.trace_id))
    cols["SpanId"].append(hex_id(record.span_id))
    cols["TraceFlags"].append(record.flags & 0xFF)
    cols["SeverityText"].append(record.severity_text)
    cols["SeverityNumber"].append(record.severity_number & 0xFF)
    cols["ServiceName"].append(service)
    cols["Body"].append(as_string(record.body))
    cols["ResourceAttributes"].append(resource_attrs)
    cols["LogAttributes"].append(attributes(record.attributes))
    cols["EventName"].append(event)
    cols["TenantId"].append(tenant)


def _text(attrs: dict[str, Any], key: str) -> str:
    return as_string(attrs[key]) if key in attrs else ""


def _string_list(attrs: dict[str, Any], key: str) -> list[str]:
    if key not in attrs:
        return []
    raw = as_raw(attrs[key])
    items = raw if isinstance(raw, list) else [raw]
    return [item if isinstance(item, str) else json.dumps(item) for item in items]


def _float(attrs: dict[str, Any], key: str) -> float | None:
    raw = as_raw(attrs[key]) if key in attrs else None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    try:
        return float(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return None


def _decision(
    record: Any, attrs: dict[str, Any], timestamp: int, service: str, tenant: str
) -> dict[str, Any]:
    policy = (
        as_raw(attrs[semconv.DECISION_POLICY_CHECKS])
        if semconv.DECISION_POLICY_CHECKS in attrs
        else []
    )
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            policy = [policy]
    return {
        "Timestamp": timestamp,
        "TenantId": tenant,
        "DecisionId": _text(attrs, semconv.DECISION_ID) or str(uuid.uuid4()),
        "TraceId": hex_id(record.trace_id),
        "SpanId": hex_id(record.span_id),
        "ServiceName": service,
        "AgentName": _text(attrs, semconv.GEN_AI_AGENT_NAME),
        "AgentVersion": _text(attrs, semconv.GEN_AI_AGENT_VERSION),
        "DecisionType": _text(attrs, semconv.DECISION_TYPE),
        "Options": _string_list(attrs, semconv.DECISION_OPTIONS),
        "Chosen": _text(attrs, semconv.DECISION_CHOSEN),
        "Confidence": _float(attrs, semconv.DECISION_CONFIDENCE),
        "Inputs": _string_list(attrs, semconv.DECISION_INPUTS),
        "PolicyChecks": json.dumps(policy, sort_keys=True, separators=(",", ":")),
        "ApprovedBy": _text(attrs, semconv.DECISION_APPROVED_BY),
        "Rationale": _text(attrs, semconv.DECISION_RATIONALE),
        "ModelName": _text(attrs, semconv.GEN_AI_REQUEST_MODEL),
        "Attributes": {k: as_string(v) for k, v in attrs.items() if k not in _DECISION_FIELDS},
    }


def _append_kpi(
    cols: dict[str, list[Any]],
    record: Any,
    attrs: dict[str, Any],
    timestamp: int,
    service: str,
    tenant: str,
) -> str:
    name = _text(attrs, semconv.KPI_NAME)
    value = _float(attrs, semconv.KPI_VALUE)
    if not name or value is None:
        return f"KPI event needs {semconv.KPI_NAME} and a numeric {semconv.KPI_VALUE}"
    cols["Timestamp"].append(timestamp)
    cols["TenantId"].append(tenant)
    cols["KpiName"].append(name)
    cols["Value"].append(value)
    cols["Unit"].append(_text(attrs, semconv.KPI_UNIT))
    cols["EntityId"].append(_text(attrs, semconv.KPI_ENTITY_ID))
    cols["DecisionId"].append(_text(attrs, semconv.KPI_DECISION_ID))
    cols["TraceId"].append(_text(attrs, semconv.KPI_TRACE_ID) or hex_id(record.trace_id))
    cols["SpanId"].append(hex_id(record.span_id))
    cols["ServiceName"].append(service)
    cols["Attributes"].append([(k, as_string(v)) for k, v in attrs.items() if k not in _KPI_FIELDS])
    return ""


def _append_observations(
    cols: dict[str, list[Any]], record: Any, attrs: dict[str, Any], timestamp: int, tenant: str
) -> str:
    """Append one row per feature of a model observation event; return why it is rejected."""
    model = _text(attrs, semconv.OBSERVATION_MODEL)
    if not model:
        return f"model observation event needs {semconv.OBSERVATION_MODEL}"
    features: list[tuple[str, float, str]] = []
    for key, value in attrs.items():
        if not key.startswith(semconv.OBSERVATION_FEATURE_PREFIX):
            continue
        name = key.removeprefix(semconv.OBSERVATION_FEATURE_PREFIX)
        feature = _feature(as_raw(value))
        if not name or feature is None:
            return (
                f"model observation feature {key!r} needs a name and a finite number"
                " or a non-empty string"
            )
        features.append((name, *feature))
    if not features:
        return (
            "model observation event needs at least one "
            f"{semconv.OBSERVATION_FEATURE_PREFIX}<name> attribute"
        )
    version = _text(attrs, semconv.OBSERVATION_MODEL_VERSION)
    decision_id = _text(attrs, semconv.DECISION_ID)
    trace_id, span_id = hex_id(record.trace_id), hex_id(record.span_id)
    for name, number, category in features:
        cols["Timestamp"].append(timestamp)
        cols["TenantId"].append(tenant)
        cols["ModelName"].append(model)
        cols["ModelVersion"].append(version)
        cols["Feature"].append(name)
        cols["Value"].append(number)
        cols["Category"].append(category)
        cols["TraceId"].append(trace_id)
        cols["SpanId"].append(span_id)
        cols["DecisionId"].append(decision_id)
    return ""


def _feature(raw: Any) -> tuple[float, str] | None:
    """(Value, Category) of a feature value: numbers are values, strings and booleans categories."""
    if isinstance(raw, bool):
        return 0.0, "true" if raw else "false"
    if isinstance(raw, int | float):
        return (float(raw), "") if math.isfinite(raw) else None
    if isinstance(raw, str) and raw:
        return 0.0, raw
    return None
