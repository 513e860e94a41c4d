"""AgentLedger: traces, decision audit trails, drift, cost and lineage for AI agents."""

__version__ = "0.1.0"
