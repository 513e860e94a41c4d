-- The decision audit trail: one row per decision, chained per tenant. Hash = SHA-256 over the
-- canonical record and PrevHash (agentledger.collector.audit_chain), Seq orders the chain.
CREATE TABLE IF NOT EXISTS decisions (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TenantId LowCardinality(String),
    Seq UInt64,
    DecisionId String,
    TraceId String,
    SpanId String,
    ServiceName LowCardinality(String),
    AgentName LowCardinality(String),
    AgentVersion LowCardinality(String),
    DecisionType LowCardinality(String),
    Options Array(String),
    Chosen String,
    Confidence Nullable(Float64),
    Inputs Array(String),
    PolicyChecks String,
    ApprovedBy String,
    Rationale String,
    ModelName LowCardinality(String),
    Attributes Map(LowCardinality(String), String),
    PrevHash String,
    Hash String,
    INDEX idx_decision_id DecisionId TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TenantId, Seq)
TTL toDateTime(Timestamp) + toIntervalDay(${audit_ttl_days});

CREATE TABLE IF NOT EXISTS kpi_events (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TenantId LowCardinality(String),
    KpiName LowCardinality(String),
    Value Float64,
    Unit LowCardinality(String),
    EntityId String,
    DecisionId String,
    TraceId String,
    SpanId String,
    ServiceName LowCardinality(String),
    Attributes Map(LowCardinality(String), String),
    INDEX idx_decision_id DecisionId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TenantId, KpiName, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(${audit_ttl_days});

CREATE TABLE IF NOT EXISTS model_observations (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TenantId LowCardinality(String),
    ModelName LowCardinality(String),
    ModelVersion LowCardinality(String),
    Feature LowCardinality(String),
    Value Float64,
    Category String,
    TraceId String,
    SpanId String,
    DecisionId String
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (TenantId, ModelName, Feature, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(${ttl_days});
