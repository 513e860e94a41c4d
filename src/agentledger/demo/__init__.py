"""A simulated customer-support agent that produces realistic AgentLedger traffic, offline.

``catalog`` holds the documents, models and agent versions (and their drifted state),
``simulated_llm`` the seeded stand-in for a provider, ``support_agent`` one ticket's flow,
``outcomes`` the KPIs reported later, and ``runner`` the pacing and the drift schedule.
"""

from agentledger.demo.runner import run_demo

__all__ = ["run_demo"]
