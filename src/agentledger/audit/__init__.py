"""The decision audit trail: a per-tenant SHA-256 hash chain over decision records."""

from agentledger.audit.chain import AuditChain, record_hash
from agentledger.audit.verify import ChainBreak, verify_chain

__all__ = ["AuditChain", "ChainBreak", "record_hash", "verify_chain"]
