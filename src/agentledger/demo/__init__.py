"""A simulated customer-support agent that produces realistic AgentLedger traffic, offline."""

from agentledger.demo.support_agent import run_demo

__all__ = ["run_demo"]
