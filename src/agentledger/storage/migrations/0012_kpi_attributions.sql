-- KPI attribution, materialized by the kpi_attribution job: every KPI event with the decision,
-- agent, agent version, model and decision type it is attributed to, and the cost of its trace
-- (priced when the job ran). Dashboards and `agentledger kpi` read it instead of looking each
-- event's decision and trace up again. The job replaces a window's rows when it recomputes it
-- and records how far it got in job_watermarks.
CREATE TABLE IF NOT EXISTS kpi_attributions (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TenantId LowCardinality(String),
    KpiName LowCardinality(String),
    Unit LowCardinality(String),
    Value Float64,
    ServiceName LowCardinality(String),
    DecisionId String,
    TraceId String,
    Agent LowCardinality(String),
    AgentVersion LowCardinality(String),
    Model LowCardinality(String),
    DecisionType LowCardinality(String),
    Traced Bool,
    TraceCostUsd Float64,
    TraceUnpricedTokens UInt64,
    AttributedAt DateTime64(3) DEFAULT now64(3)
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TenantId, KpiName, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(${audit_ttl_days});

