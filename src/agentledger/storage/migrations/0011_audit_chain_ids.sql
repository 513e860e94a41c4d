-- One audit chain per tenant and writer: ChainId names the collector instance that sealed a
-- decision (AGENTLEDGER_INSTANCE_ID, or the id a collector keeps in its spool directory), so N
-- collector replicas append to N chains instead of forking one (agentledger.audit.chain).
-- Records stored before this migration get ChainId '' (the chain of the one embedded writer) and
-- keep their hashes: the hash covers ChainId only when it is not empty.
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS ChainId LowCardinality(String) DEFAULT ''
    AFTER TenantId;
