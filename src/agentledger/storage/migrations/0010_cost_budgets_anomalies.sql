-- Restatable cost, budgets and anomalies.
--
-- The agent version is a dimension of cost, KPIs and anomalies: derive it once, at insert, like
-- AgentName (reading it from the attribute map at query time costs more than the rest of a
-- cost rollup). Parts stored before this migration compute it from the map when read.
ALTER TABLE otel_traces ADD COLUMN IF NOT EXISTS AgentVersion LowCardinality(String)
    MATERIALIZED SpanAttributes['gen_ai.agent.version'] AFTER AgentName;

-- model_prices keeps every version now: UpdatedAt (when the catalog learned a price: the date a
-- shipped default was checked, the moment of a user's `prices set`) joins the sorting key, so a
-- correction no longer replaces the row it corrects and cost can be restated with the catalog as
-- it stood at any time. A row may carry one tier: requests with more than TierAboveInputTokens
-- input tokens are priced at the Tier* prices (0 = no tier). CheckedAt is the date the price was
-- last checked against the provider's price page. The sorting key cannot take an existing column,
-- so the table is rebuilt; shipped defaults are left out: `agentledger db migrate` and `serve`
-- seed them again from default_prices.csv.
CREATE TABLE IF NOT EXISTS model_prices_0010 (
    TenantId LowCardinality(String) DEFAULT '',
    Provider LowCardinality(String),
    ModelPattern String,
    InputPerMTok Float64,
    OutputPerMTok Float64,
    CachedInputPerMTok Float64,
    CacheWritePerMTok Float64,
    ReasoningPerMTok Float64,
    TierAboveInputTokens UInt64 DEFAULT 0,
    TierInputPerMTok Float64 DEFAULT 0,
    TierOutputPerMTok Float64 DEFAULT 0,
    TierCachedInputPerMTok Float64 DEFAULT 0,
    TierCacheWritePerMTok Float64 DEFAULT 0,
    TierReasoningPerMTok Float64 DEFAULT 0,
    ValidFrom Date,
    Source LowCardinality(String),
    CheckedAt Date DEFAULT toDate(UpdatedAt),
    UpdatedAt DateTime64(3) DEFAULT now64(3)
) ENGINE = ReplacingMergeTree
ORDER BY (TenantId, Source, Provider, ModelPattern, ValidFrom, UpdatedAt);

INSERT INTO model_prices_0010 (TenantId, Provider, ModelPattern, InputPerMTok, OutputPerMTok,
    CachedInputPerMTok, CacheWritePerMTok, ReasoningPerMTok, ValidFrom, Source, UpdatedAt)
SELECT TenantId, Provider, ModelPattern, InputPerMTok, OutputPerMTok, CachedInputPerMTok,
       if(CacheWritePerMTok > 0, CacheWritePerMTok, InputPerMTok),
       if(ReasoningPerMTok > 0, ReasoningPerMTok, OutputPerMTok), ValidFrom, Source, UpdatedAt
FROM model_prices FINAL
WHERE Source != 'default';

RENAME TABLE model_prices TO model_prices_0003, model_prices_0010 TO model_prices;

DROP TABLE model_prices_0003;

-- Rollups gain the agent version (in the key), cache-write and reasoning tokens, the spans left
-- unpriced and the catalog version that priced them. A cost job run deletes the rows of the days
-- it recomputed that it did not write, so readers may keep using FINAL.
ALTER TABLE cost_rollups
    ADD COLUMN IF NOT EXISTS AgentVersion LowCardinality(String),
    ADD COLUMN IF NOT EXISTS CacheWriteInputTokens UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS ReasoningTokens UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS UnpricedSpans UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS PriceVersion String DEFAULT '',
    MODIFY ORDER BY (TenantId, Day, ServiceName, AgentName, ModelName, Provider, AgentVersion);

-- Spend limits per tenant and/or agent ('' = all) and period (day or month, UTC). Active = 0
-- removes one. Read with FINAL.
CREATE TABLE IF NOT EXISTS budgets (
    TenantId LowCardinality(String),
    AgentName LowCardinality(String),
    Period LowCardinality(String),
    BudgetUsd Float64,
    Active UInt8,
    UpdatedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY (TenantId, AgentName, Period);

-- Anomalies and budget alerts. Kind is agent, model or budget; Timestamp is the hour scored (or
-- the budget period's start), so one row per entity, metric and hour or period: a re-run writes
-- the same key again instead of a second alert. Status moves open -> resolved by a newer version.
CREATE TABLE IF NOT EXISTS anomalies (
    Timestamp DateTime64(3),
    TenantId LowCardinality(String),
    Kind LowCardinality(String),
    Entity String,
    Metric LowCardinality(String),
    Value Float64,
    Baseline Float64,
    Score Float64,
    Severity LowCardinality(String),
    Message String,
    Status LowCardinality(String),
    DetectedAt DateTime64(3),
    UpdatedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt)
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TenantId, Kind, Entity, Metric, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(${audit_ttl_days});

-- Per agent and per model and UTC hour: what the anomaly job scores and takes its seasonal
-- baselines from (so a run reads new spans only). Read with FINAL.
CREATE TABLE IF NOT EXISTS hourly_entity_metrics (
    Hour DateTime('UTC'),
    TenantId LowCardinality(String),
    Kind LowCardinality(String),
    Entity LowCardinality(String),
    Spans UInt64,
    Errors UInt64,
    Runs UInt64,
    P95DurationMs Float64,
    Tokens UInt64,
    CostUsd Float64,
    ComputedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(ComputedAt)
PARTITION BY toYYYYMM(Hour)
ORDER BY (TenantId, Kind, Entity, Hour)
TTL Hour + toIntervalDay(${ttl_days});

-- How far an incremental job has got; a job advances its mark only after its output is stored.
CREATE TABLE IF NOT EXISTS job_watermarks (
    Job LowCardinality(String),
    Watermark DateTime64(3),
    UpdatedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY Job;
