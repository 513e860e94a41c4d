-- Prices per million tokens. Rows are versions: the newest ValidFrom not after the usage day wins,
-- and a user row wins over a shipped default for the same day. TenantId '' applies to everyone.
CREATE TABLE IF NOT EXISTS model_prices (
    TenantId LowCardinality(String) DEFAULT '',
    Provider LowCardinality(String),
    ModelPattern String,
    InputPerMTok Float64,
    OutputPerMTok Float64,
    CachedInputPerMTok Float64,
    CacheWritePerMTok Float64,
    ReasoningPerMTok Float64,
    ValidFrom Date,
    Source LowCardinality(String),
    UpdatedAt DateTime64(3) DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY (TenantId, Source, ModelPattern, ValidFrom);

-- Token cost per tenant, day, service, agent and model. A job run replaces the rows of the days
-- it recomputes (ReplacingMergeTree on ComputedAt): read with FINAL.
CREATE TABLE IF NOT EXISTS cost_rollups (
    Day Date,
    TenantId LowCardinality(String),
    ServiceName LowCardinality(String),
    AgentName LowCardinality(String),
    ModelName LowCardinality(String),
    Provider LowCardinality(String),
    Spans UInt64,
    InputTokens UInt64,
    OutputTokens UInt64,
    CachedInputTokens UInt64,
    CostUsd Float64,
    UnpricedTokens UInt64,
    PricePattern String,
    ComputedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(ComputedAt)
PARTITION BY toYYYYMM(Day)
ORDER BY (TenantId, Day, ServiceName, AgentName, ModelName, Provider)
TTL Day + toIntervalDay(${audit_ttl_days});

CREATE TABLE IF NOT EXISTS job_runs (
    RunId UUID,
    Job LowCardinality(String),
    WindowStart DateTime64(3),
    WindowEnd DateTime64(3),
    StartedAt DateTime64(3),
    FinishedAt DateTime64(3),
    Status LowCardinality(String),
    Rows UInt64,
    DurationMs Float64,
    Error String
) ENGINE = MergeTree()
ORDER BY (Job, StartedAt);
