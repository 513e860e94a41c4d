"""Decision audit records, business KPIs and model observations, sent as OTLP log events linked to
the current trace.

They are log records, not spans, so trace sampling never drops them: an unsampled span still has
a trace id, and the events carry it.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber

from agentledger import semconv
from agentledger.instrumentation._setup import STATE
from agentledger.instrumentation._spans import current_agent, lineage_inputs, note_lineage

__all__ = ["record_decision", "record_kpi", "record_observation"]


def _redact(value: str) -> str:
    redact = STATE.redact
    return redact(value) if redact is not None else value


def record_decision(
    decision_type: str,
    chosen: str,
    options: Sequence[str] | None = None,
    confidence: float | None = None,
    inputs: Sequence[str] | None = None,
    rationale: str | None = None,
    *,
    policy_checks: Sequence[Mapping[str, Any]] | None = None,
    approved_by: str | None = None,
    model: str | None = None,
    decision_id: str | None = None,
) -> str:
    """Record what the agent decided and why; returns the decision id for later KPI attribution.

    ``inputs`` defaults to the documents, tool results and model calls seen so far in the current
    trace (``document:<id>@<version>``, ``tool:<name>:<span_id>``, ``span:<span_id>``).
    ``policy_checks`` are ``{"policy_id": ..., "verdict": ...}`` mappings. The collector seals the
    record into the tenant's tamper-evident audit chain.
    """
    decision_id = decision_id or str(uuid.uuid4())
    if not STATE.enabled:
        return decision_id
    if inputs is None:
        inputs = lineage_inputs()
    attributes: dict[str, Any] = {
        semconv.DECISION_ID: decision_id,
        semconv.DECISION_TYPE: decision_type,
        semconv.DECISION_CHOSEN: chosen,
        semconv.DECISION_INPUTS: list(inputs),
    }
    optional: dict[str, Any] = {
        semconv.DECISION_OPTIONS: list(options) if options is not None else None,
        semconv.DECISION_CONFIDENCE: float(confidence) if confidence is not None else None,
        semconv.DECISION_RATIONALE: _redact(rationale) if rationale is not None else None,
        semconv.DECISION_POLICY_CHECKS: json.dumps(
            [dict(check) for check in policy_checks], sort_keys=True
        )
        if policy_checks
        else None,
        semconv.DECISION_APPROVED_BY: approved_by,
        semconv.GEN_AI_REQUEST_MODEL: model,
    }
    attributes.update({k: v for k, v in optional.items() if v is not None})
    enclosing = current_agent()
    if enclosing:
        attributes[semconv.GEN_AI_AGENT_NAME] = enclosing[0]
        if enclosing[1]:
            attributes[semconv.GEN_AI_AGENT_VERSION] = enclosing[1]
    trace.get_current_span().set_attribute(semconv.DECISION_ID, decision_id)
    _emit(semconv.EVENT_DECISION, attributes)
    note_lineage(f"decision:{decision_id}")
    return decision_id


def record_kpi(
    name: str,
    value: float,
    unit: str | None = None,
    decision_id: str | None = None,
    *,
    entity_id: str | None = None,
    trace_id: str | None = None,
) -> None:
    """Record a business outcome, attributed to a decision (or trace) that caused it.

    Needs no active span: call it later, from another process, with the ``decision_id`` that
    :func:`record_decision` returned (and/or a 32-hex ``trace_id``).
    """
    if not STATE.enabled:
        return
    attributes: dict[str, Any] = {semconv.KPI_NAME: name, semconv.KPI_VALUE: float(value)}
    for key, item in (
        (semconv.KPI_UNIT, unit),
        (semconv.KPI_DECISION_ID, decision_id),
        (semconv.KPI_ENTITY_ID, _redact(entity_id) if entity_id else None),
        (semconv.KPI_TRACE_ID, trace_id),
    ):
        if item:
            attributes[key] = item
    _emit(semconv.EVENT_KPI, attributes)


def record_observation(
    model: str,
    features: Mapping[str, float | int | str | bool],
    model_version: str | None = None,
    *,
    decision_id: str | None = None,
) -> None:
    """Record the inputs a model saw (for drift): one ``model_observations`` row per feature.

    Numbers (finite) are values; strings (non-empty) and booleans are categories.
    """
    if not model:
        raise ValueError("record_observation needs a model name")
    if not features:
        raise ValueError("record_observation needs at least one feature")
    attributes: dict[str, Any] = {semconv.OBSERVATION_MODEL: model}
    for feature, value in features.items():
        valid = (
            isinstance(value, bool)
            or (isinstance(value, int | float) and math.isfinite(value))
            or (isinstance(value, str) and value != "")
        )
        if not feature or not valid:
            raise ValueError(
                f"feature {feature!r}={value!r}: needs a name and a finite number, a non-empty"
                " string or a boolean"
            )
        attributes[semconv.OBSERVATION_FEATURE_PREFIX + feature] = value
    if not STATE.enabled:
        return
    if model_version:
        attributes[semconv.OBSERVATION_MODEL_VERSION] = model_version
    if decision_id:
        attributes[semconv.DECISION_ID] = decision_id
    _emit(semconv.EVENT_MODEL_OBSERVATION, attributes)


def _emit(event_name: str, attributes: dict[str, Any]) -> None:
    attributes[semconv.EVENT_NAME] = event_name
    STATE.logger.emit(
        event_name=event_name,
        attributes=attributes,
        severity_number=SeverityNumber.INFO,
        context=otel_context.get_current(),
    )
