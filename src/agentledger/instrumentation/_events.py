"""Decision audit records and business KPIs, sent as OTLP log events linked to the current trace."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from agentledger import semconv
from agentledger.instrumentation._setup import current
from agentledger.instrumentation._spans import current_agent

__all__ = ["record_decision", "record_kpi"]


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

    The collector seals the record into the tenant's tamper-evident audit chain.
    """
    decision_id = decision_id or str(uuid.uuid4())
    attributes: dict[str, Any] = {
        semconv.DECISION_ID: decision_id,
        semconv.DECISION_TYPE: decision_type,
        semconv.DECISION_CHOSEN: chosen,
    }
    optional: dict[str, Any] = {
        semconv.DECISION_OPTIONS: list(options) if options is not None else None,
        semconv.DECISION_CONFIDENCE: float(confidence) if confidence is not None else None,
        semconv.DECISION_INPUTS: list(inputs) if inputs is not None else None,
        semconv.DECISION_RATIONALE: rationale,
        semconv.DECISION_POLICY_CHECKS: json.dumps(list(policy_checks), sort_keys=True)
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
    """Record a business outcome, attributed to a decision (or trace) that caused it."""
    attributes: dict[str, Any] = {semconv.KPI_NAME: name, semconv.KPI_VALUE: float(value)}
    for key, item in (
        (semconv.KPI_UNIT, unit),
        (semconv.KPI_DECISION_ID, decision_id),
        (semconv.KPI_ENTITY_ID, entity_id),
        (semconv.KPI_TRACE_ID, trace_id),
    ):
        if item:
            attributes[key] = item
    _emit(semconv.EVENT_KPI, attributes)


def _emit(event_name: str, attributes: dict[str, Any]) -> None:
    attributes[semconv.EVENT_NAME] = event_name
    current().logger.emit(
        event_name=event_name, attributes=attributes, context=otel_context.get_current()
    )
