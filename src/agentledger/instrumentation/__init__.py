"""Instrument agent code: spans for agents, tools and model calls, decision and KPI events.

Depends only on the OpenTelemetry SDK and its OTLP/HTTP exporter, so agents stay light::

    from agentledger.instrumentation import setup, agent, llm_call, record_decision

    setup("support-bot")

    @agent("refunds", version="2")
    def handle(ticket):
        with llm_call("gpt-4o-mini", "openai") as call:
            call.record_usage(input_tokens=812, output_tokens=64)
        return record_decision("refund", "approve", options=["approve", "deny"], confidence=0.9)
"""

from agentledger.instrumentation._events import record_decision, record_kpi
from agentledger.instrumentation._setup import Instrumentation, setup
from agentledger.instrumentation._spans import LlmCall, agent, llm_call, tool

__all__ = [
    "Instrumentation",
    "LlmCall",
    "agent",
    "llm_call",
    "record_decision",
    "record_kpi",
    "setup",
    "tool",
]
