"""Instrument agent code: spans for agents, tools, model calls, retrievals and actions; decision,
KPI and model-observation events; lineage between them.

Depends only on the OpenTelemetry API/SDK and its OTLP/HTTP exporter, so agents stay light::

    from agentledger.instrumentation import setup, agent, llm_call, record_decision, retrieval

    setup("support-bot")

    @agent("refunds", version="2")
    def handle(ticket):
        with retrieval("kb") as r:
            r.record_documents([{"id": "refund-policy", "version": "3", "score": 0.92}])
        with llm_call("gpt-4o-mini", "openai") as call:
            call.record_usage(input_tokens=812, output_tokens=64)
        # inputs default to the document, tool results and model calls seen in this trace
        return record_decision("refund", "approve", options=["approve", "deny"], confidence=0.9)

Every wrapper is a decorator (sync, ``async``, generator, async generator) and a context manager;
before :func:`setup` they cost a flag check. Threads: see :func:`wrap`; services:
:func:`inject_context` / :func:`extract_context`.
"""

from agentledger.instrumentation._context import extract_context, inject_context, wrap
from agentledger.instrumentation._events import record_decision, record_kpi, record_observation
from agentledger.instrumentation._setup import Instrumentation, setup
from agentledger.instrumentation._spans import (
    Action,
    LlmCall,
    Retrieval,
    action,
    agent,
    current_agent,
    lineage_inputs,
    llm_call,
    retrieval,
    tool,
)

__all__ = [
    "Action",
    "Instrumentation",
    "LlmCall",
    "Retrieval",
    "action",
    "agent",
    "current_agent",
    "extract_context",
    "inject_context",
    "lineage_inputs",
    "llm_call",
    "record_decision",
    "record_kpi",
    "record_observation",
    "retrieval",
    "setup",
    "tool",
    "wrap",
]
