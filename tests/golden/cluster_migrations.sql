CREATE DATABASE IF NOT EXISTS agentledger ON CLUSTER agentledger_cluster;

CREATE TABLE IF NOT EXISTS schema_migrations_local ON CLUSTER agentledger_cluster ( Version UInt32, Name String, Checksum String, AppliedAt DateTime64(3) DEFAULT now64(3)) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', AppliedAt) ORDER BY Version;

CREATE TABLE IF NOT EXISTS schema_migrations ON CLUSTER agentledger_cluster AS schema_migrations_local
ENGINE = Distributed(agentledger_cluster, agentledger, schema_migrations_local, cityHash64(Version));

-- 0001_traces_and_logs
CREATE TABLE IF NOT EXISTS otel_traces_local ON CLUSTER agentledger_cluster (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    TenantId LowCardinality(String) DEFAULT 'default' CODEC(ZSTD(1)),
    AgentName LowCardinality(String) MATERIALIZED coalesce(
        nullIf(SpanAttributes['gen_ai.agent.name'], ''),
        nullIf(SpanAttributes['agent.name'], ''),
        if(SpanAttributes['traceloop.span.kind'] = 'agent', SpanAttributes['traceloop.entity.name'], ''),
        ''),
    GenAiOperation LowCardinality(String) MATERIALIZED coalesce(
        nullIf(SpanAttributes['gen_ai.operation.name'], ''),
        nullIf(multiIf(
            SpanAttributes['openinference.span.kind'] = 'LLM', 'chat',
            SpanAttributes['openinference.span.kind'] = 'TOOL', 'execute_tool',
            SpanAttributes['openinference.span.kind'] = 'AGENT', 'invoke_agent',
            SpanAttributes['openinference.span.kind'] = 'RETRIEVER', 'retrieval',
            SpanAttributes['openinference.span.kind'] = 'EMBEDDING', 'embeddings',
            SpanAttributes['traceloop.span.kind'] = 'agent', 'invoke_agent',
            SpanAttributes['traceloop.span.kind'] = 'tool', 'execute_tool',
            SpanAttributes['traceloop.span.kind'] = 'workflow', 'invoke_workflow',
            SpanAttributes['llm.request.type'] = 'chat', 'chat',
            SpanAttributes['llm.request.type'] = 'completion', 'text_completion',
            ''), ''),
        ''),
    GenAiProvider LowCardinality(String) MATERIALIZED coalesce(
        nullIf(SpanAttributes['gen_ai.provider.name'], ''),
        nullIf(SpanAttributes['gen_ai.system'], ''),
        nullIf(SpanAttributes['llm.system'], ''),
        nullIf(SpanAttributes['llm.provider'], ''),
        ''),
    RequestModel LowCardinality(String) MATERIALIZED coalesce(
        nullIf(SpanAttributes['gen_ai.request.model'], ''),
        nullIf(SpanAttributes['llm.request.model_name'], ''),
        nullIf(SpanAttributes['llm.model_name'], ''),
        ''),
    ResponseModel LowCardinality(String) MATERIALIZED coalesce(
        nullIf(SpanAttributes['gen_ai.response.model'], ''),
        nullIf(SpanAttributes['llm.response.model_name'], ''),
        nullIf(SpanAttributes['llm.model_name'], ''),
        ''),
    InputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.input_tokens'], ''),
        nullIf(SpanAttributes['gen_ai.usage.prompt_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.prompt'], ''),
        '')),
    OutputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.output_tokens'], ''),
        nullIf(SpanAttributes['gen_ai.usage.completion_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.completion'], ''),
        '')),
    CachedInputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.cache_read.input_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.prompt_details.cache_read'], ''),
        '')),
    ToolName LowCardinality(String) MATERIALIZED coalesce(
        nullIf(SpanAttributes['gen_ai.tool.name'], ''),
        nullIf(SpanAttributes['tool.name'], ''),
        ''),
    DecisionId String MATERIALIZED SpanAttributes['agentledger.decision.id'],
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_decision_id DecisionId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toDate(Timestamp)
ORDER BY (TenantId, ServiceName, SpanName, toDateTime(Timestamp))
TTL toDateTime(Timestamp) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS otel_traces ON CLUSTER agentledger_cluster AS otel_traces_local
ENGINE = Distributed(agentledger_cluster, agentledger, otel_traces_local, cityHash64(TraceId));

CREATE TABLE IF NOT EXISTS otel_traces_trace_id_ts_local ON CLUSTER agentledger_cluster (
    TraceId String CODEC(ZSTD(1)),
    Start DateTime CODEC(Delta, ZSTD(1)),
    End DateTime CODEC(Delta, ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toDate(Start)
ORDER BY (TraceId, Start)
TTL toDateTime(Start) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS otel_traces_trace_id_ts ON CLUSTER agentledger_cluster AS otel_traces_trace_id_ts_local
ENGINE = Distributed(agentledger_cluster, agentledger, otel_traces_trace_id_ts_local, cityHash64(TraceId));

CREATE MATERIALIZED VIEW IF NOT EXISTS otel_traces_trace_id_ts_mv ON CLUSTER agentledger_cluster TO otel_traces_trace_id_ts_local
AS SELECT TraceId, min(toDateTime(Timestamp)) AS Start, max(toDateTime(Timestamp)) AS End
FROM otel_traces_local WHERE TraceId != '' GROUP BY TraceId;

CREATE TABLE IF NOT EXISTS otel_logs_local ON CLUSTER agentledger_cluster (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    EventName String CODEC(ZSTD(1)),
    TenantId LowCardinality(String) DEFAULT 'default' CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_lower_body lower(Body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (TenantId, ServiceName, TimestampTime)
ORDER BY (TenantId, ServiceName, TimestampTime, Timestamp)
TTL TimestampTime + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS otel_logs ON CLUSTER agentledger_cluster AS otel_logs_local
ENGINE = Distributed(agentledger_cluster, agentledger, otel_logs_local, cityHash64(TraceId, SpanId, Timestamp));

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (1, 'traces_and_logs', '6f776cf5ab375c061857f251ea2b8f8cca693df35da63d0de82d28106b7c7d9d');

-- 0002_audit_kpis_observations
CREATE TABLE IF NOT EXISTS decisions_local ON CLUSTER agentledger_cluster (
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
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TenantId, Seq)
TTL toDateTime(Timestamp) + toIntervalDay(3650);

CREATE TABLE IF NOT EXISTS decisions ON CLUSTER agentledger_cluster AS decisions_local
ENGINE = Distributed(agentledger_cluster, agentledger, decisions_local, cityHash64(DecisionId));

CREATE TABLE IF NOT EXISTS kpi_events_local ON CLUSTER agentledger_cluster (
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
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TenantId, KpiName, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(3650);

CREATE TABLE IF NOT EXISTS kpi_events ON CLUSTER agentledger_cluster AS kpi_events_local
ENGINE = Distributed(agentledger_cluster, agentledger, kpi_events_local, cityHash64(DecisionId, EntityId));

CREATE TABLE IF NOT EXISTS model_observations_local ON CLUSTER agentledger_cluster (
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
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toDate(Timestamp)
ORDER BY (TenantId, ModelName, Feature, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(30);

CREATE TABLE IF NOT EXISTS model_observations ON CLUSTER agentledger_cluster AS model_observations_local
ENGINE = Distributed(agentledger_cluster, agentledger, model_observations_local, cityHash64(TraceId));

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (2, 'audit_kpis_observations', '2ee9a0ba1958c0cdb0681a719b94c910e02e294727613f70765c0d67381a9dc2');

-- 0003_cost_and_jobs
CREATE TABLE IF NOT EXISTS model_prices_local ON CLUSTER agentledger_cluster (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', UpdatedAt)
ORDER BY (TenantId, Source, ModelPattern, ValidFrom);

CREATE TABLE IF NOT EXISTS model_prices ON CLUSTER agentledger_cluster AS model_prices_local
ENGINE = Distributed(agentledger_cluster, agentledger, model_prices_local, cityHash64(TenantId, ModelPattern));

CREATE TABLE IF NOT EXISTS cost_rollups_local ON CLUSTER agentledger_cluster (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', ComputedAt)
PARTITION BY toYYYYMM(Day)
ORDER BY (TenantId, Day, ServiceName, AgentName, ModelName, Provider)
TTL Day + toIntervalDay(3650);

CREATE TABLE IF NOT EXISTS cost_rollups ON CLUSTER agentledger_cluster AS cost_rollups_local
ENGINE = Distributed(agentledger_cluster, agentledger, cost_rollups_local, cityHash64(TenantId, Day));

CREATE TABLE IF NOT EXISTS job_runs_local ON CLUSTER agentledger_cluster (
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
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
ORDER BY (Job, StartedAt);

CREATE TABLE IF NOT EXISTS job_runs ON CLUSTER agentledger_cluster AS job_runs_local
ENGINE = Distributed(agentledger_cluster, agentledger, job_runs_local, cityHash64(Job));

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (3, 'cost_and_jobs', '455ebb8a5ba16b74ceddf4750f563e6f41d26d0fb4c5331d760a3fc581de8db9');

-- 0004_api_keys
CREATE TABLE IF NOT EXISTS api_keys_local ON CLUSTER agentledger_cluster (
    TenantId LowCardinality(String),
    KeyId String,
    KeyHash String,
    Scope LowCardinality(String),
    Name String,
    CreatedAt DateTime64(3),
    RevokedAt Nullable(DateTime64(3)),
    Version UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', Version)
ORDER BY KeyId;

CREATE TABLE IF NOT EXISTS api_keys ON CLUSTER agentledger_cluster AS api_keys_local
ENGINE = Distributed(agentledger_cluster, agentledger, api_keys_local, cityHash64(KeyId));

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (4, 'api_keys', 'aceba2a727fed7048695857d7e684cde110d574e0bff007cd7aaf00ca3c91846');

-- 0005_metrics
CREATE TABLE IF NOT EXISTS otel_metrics_gauge_local ON CLUSTER agentledger_cluster (
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),
    TenantId LowCardinality(String) DEFAULT 'default' CODEC(ZSTD(1)),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toDate(TimeUnix)
ORDER BY (TenantId, ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
TTL toDateTime(TimeUnix) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS otel_metrics_gauge ON CLUSTER agentledger_cluster AS otel_metrics_gauge_local
ENGINE = Distributed(agentledger_cluster, agentledger, otel_metrics_gauge_local, cityHash64(ServiceName, MetricName, TimeUnix));

CREATE TABLE IF NOT EXISTS otel_metrics_sum_local ON CLUSTER agentledger_cluster (
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),
    AggregationTemporality Int32 CODEC(ZSTD(1)),
    IsMonotonic Boolean CODEC(Delta, ZSTD(1)),
    TenantId LowCardinality(String) DEFAULT 'default' CODEC(ZSTD(1)),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toDate(TimeUnix)
ORDER BY (TenantId, ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
TTL toDateTime(TimeUnix) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS otel_metrics_sum ON CLUSTER agentledger_cluster AS otel_metrics_sum_local
ENGINE = Distributed(agentledger_cluster, agentledger, otel_metrics_sum_local, cityHash64(ServiceName, MetricName, TimeUnix));

CREATE TABLE IF NOT EXISTS otel_metrics_histogram_local ON CLUSTER agentledger_cluster (
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    BucketCounts Array(UInt64) CODEC(ZSTD(1)),
    ExplicitBounds Array(Float64) CODEC(ZSTD(1)),
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
    Min Float64 CODEC(ZSTD(1)),
    Max Float64 CODEC(ZSTD(1)),
    AggregationTemporality Int32 CODEC(ZSTD(1)),
    TenantId LowCardinality(String) DEFAULT 'default' CODEC(ZSTD(1)),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toDate(TimeUnix)
ORDER BY (TenantId, ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
TTL toDateTime(TimeUnix) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS otel_metrics_histogram ON CLUSTER agentledger_cluster AS otel_metrics_histogram_local
ENGINE = Distributed(agentledger_cluster, agentledger, otel_metrics_histogram_local, cityHash64(ServiceName, MetricName, TimeUnix));

CREATE TABLE IF NOT EXISTS otel_metrics_exponential_histogram_local ON CLUSTER agentledger_cluster (
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    Scale Int32 CODEC(ZSTD(1)),
    ZeroCount UInt64 CODEC(ZSTD(1)),
    PositiveOffset Int32 CODEC(ZSTD(1)),
    PositiveBucketCounts Array(UInt64) CODEC(ZSTD(1)),
    NegativeOffset Int32 CODEC(ZSTD(1)),
    NegativeBucketCounts Array(UInt64) CODEC(ZSTD(1)),
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
    Min Float64 CODEC(ZSTD(1)),
    Max Float64 CODEC(ZSTD(1)),
    AggregationTemporality Int32 CODEC(ZSTD(1)),
    TenantId LowCardinality(String) DEFAULT 'default' CODEC(ZSTD(1)),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toDate(TimeUnix)
ORDER BY (TenantId, ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
TTL toDateTime(TimeUnix) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS otel_metrics_exponential_histogram ON CLUSTER agentledger_cluster AS otel_metrics_exponential_histogram_local
ENGINE = Distributed(agentledger_cluster, agentledger, otel_metrics_exponential_histogram_local, cityHash64(ServiceName, MetricName, TimeUnix));

CREATE TABLE IF NOT EXISTS otel_metrics_summary_local ON CLUSTER agentledger_cluster (
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    ValueAtQuantiles Nested (
        Quantile Float64,
        Value Float64
    ) CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
    TenantId LowCardinality(String) DEFAULT 'default' CODEC(ZSTD(1)),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toDate(TimeUnix)
ORDER BY (TenantId, ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
TTL toDateTime(TimeUnix) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS otel_metrics_summary ON CLUSTER agentledger_cluster AS otel_metrics_summary_local
ENGINE = Distributed(agentledger_cluster, agentledger, otel_metrics_summary_local, cityHash64(ServiceName, MetricName, TimeUnix));

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (5, 'metrics', '32c9628546e5b0dbc766b589a614224858529fc7e0500f476cb1fe0058b81b75');

-- 0006_conventions_and_observations
ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MODIFY COLUMN AgentName LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.agent.name'], ''),
    nullIf(SpanAttributes['agent.name'], ''),
    nullIf(if(SpanAttributes['traceloop.span.kind'] = 'agent',
              SpanAttributes['traceloop.entity.name'], ''), ''),
    nullIf(if(SpanAttributes['langfuse.observation.type'] = 'agent', SpanName, ''), ''),
    '');

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster MODIFY COLUMN AgentName LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.agent.name'], ''),
    nullIf(SpanAttributes['agent.name'], ''),
    nullIf(if(SpanAttributes['traceloop.span.kind'] = 'agent',
              SpanAttributes['traceloop.entity.name'], ''), ''),
    nullIf(if(SpanAttributes['langfuse.observation.type'] = 'agent', SpanName, ''), ''),
    '');

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MODIFY COLUMN GenAiOperation LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.operation.name'], ''),
    nullIf(multiIf(
        SpanAttributes['openinference.span.kind'] = 'LLM', 'chat',
        SpanAttributes['openinference.span.kind'] = 'TOOL', 'execute_tool',
        SpanAttributes['openinference.span.kind'] = 'AGENT', 'invoke_agent',
        SpanAttributes['openinference.span.kind'] = 'RETRIEVER', 'retrieval',
        SpanAttributes['openinference.span.kind'] = 'EMBEDDING', 'embeddings',
        SpanAttributes['traceloop.span.kind'] = 'agent', 'invoke_agent',
        SpanAttributes['traceloop.span.kind'] = 'tool', 'execute_tool',
        SpanAttributes['traceloop.span.kind'] = 'workflow', 'invoke_workflow',
        SpanAttributes['llm.request.type'] = 'chat', 'chat',
        SpanAttributes['llm.request.type'] = 'completion', 'text_completion',
        SpanAttributes['llm.request.type'] = 'embedding', 'embeddings',
        SpanAttributes['langfuse.observation.type'] = 'generation', 'chat',
        SpanAttributes['langfuse.observation.type'] = 'embedding', 'embeddings',
        SpanAttributes['langfuse.observation.type'] = 'agent', 'invoke_agent',
        SpanAttributes['langfuse.observation.type'] = 'tool', 'execute_tool',
        SpanAttributes['langfuse.observation.type'] = 'retriever', 'retrieval',
        ''), ''),
    '');

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster MODIFY COLUMN GenAiOperation LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.operation.name'], ''),
    nullIf(multiIf(
        SpanAttributes['openinference.span.kind'] = 'LLM', 'chat',
        SpanAttributes['openinference.span.kind'] = 'TOOL', 'execute_tool',
        SpanAttributes['openinference.span.kind'] = 'AGENT', 'invoke_agent',
        SpanAttributes['openinference.span.kind'] = 'RETRIEVER', 'retrieval',
        SpanAttributes['openinference.span.kind'] = 'EMBEDDING', 'embeddings',
        SpanAttributes['traceloop.span.kind'] = 'agent', 'invoke_agent',
        SpanAttributes['traceloop.span.kind'] = 'tool', 'execute_tool',
        SpanAttributes['traceloop.span.kind'] = 'workflow', 'invoke_workflow',
        SpanAttributes['llm.request.type'] = 'chat', 'chat',
        SpanAttributes['llm.request.type'] = 'completion', 'text_completion',
        SpanAttributes['llm.request.type'] = 'embedding', 'embeddings',
        SpanAttributes['langfuse.observation.type'] = 'generation', 'chat',
        SpanAttributes['langfuse.observation.type'] = 'embedding', 'embeddings',
        SpanAttributes['langfuse.observation.type'] = 'agent', 'invoke_agent',
        SpanAttributes['langfuse.observation.type'] = 'tool', 'execute_tool',
        SpanAttributes['langfuse.observation.type'] = 'retriever', 'retrieval',
        ''), ''),
    '');

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MODIFY COLUMN RequestModel LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.request.model'], ''),
    nullIf(SpanAttributes['llm.request.model_name'], ''),
    nullIf(SpanAttributes['llm.model_name'], ''),
    nullIf(SpanAttributes['langfuse.observation.model.name'], ''),
    '');

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster MODIFY COLUMN RequestModel LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.request.model'], ''),
    nullIf(SpanAttributes['llm.request.model_name'], ''),
    nullIf(SpanAttributes['llm.model_name'], ''),
    nullIf(SpanAttributes['langfuse.observation.model.name'], ''),
    '');

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MODIFY COLUMN ResponseModel LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.response.model'], ''),
    nullIf(SpanAttributes['llm.response.model_name'], ''),
    nullIf(SpanAttributes['llm.model_name'], ''),
    nullIf(SpanAttributes['langfuse.observation.model.name'], ''),
    '');

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster MODIFY COLUMN ResponseModel LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.response.model'], ''),
    nullIf(SpanAttributes['llm.response.model_name'], ''),
    nullIf(SpanAttributes['llm.model_name'], ''),
    nullIf(SpanAttributes['langfuse.observation.model.name'], ''),
    '');

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MODIFY COLUMN InputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
    nullIf(SpanAttributes['gen_ai.usage.input_tokens'], ''),
    nullIf(SpanAttributes['gen_ai.usage.prompt_tokens'], ''),
    nullIf(SpanAttributes['llm.token_count.prompt'], ''),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'input')), '0'),
    ''));

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster MODIFY COLUMN InputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
    nullIf(SpanAttributes['gen_ai.usage.input_tokens'], ''),
    nullIf(SpanAttributes['gen_ai.usage.prompt_tokens'], ''),
    nullIf(SpanAttributes['llm.token_count.prompt'], ''),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'input')), '0'),
    ''));

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MODIFY COLUMN OutputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
    nullIf(SpanAttributes['gen_ai.usage.output_tokens'], ''),
    nullIf(SpanAttributes['gen_ai.usage.completion_tokens'], ''),
    nullIf(SpanAttributes['llm.token_count.completion'], ''),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'output')), '0'),
    ''));

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster MODIFY COLUMN OutputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
    nullIf(SpanAttributes['gen_ai.usage.output_tokens'], ''),
    nullIf(SpanAttributes['gen_ai.usage.completion_tokens'], ''),
    nullIf(SpanAttributes['llm.token_count.completion'], ''),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'output')), '0'),
    ''));

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MODIFY COLUMN CachedInputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
    nullIf(SpanAttributes['gen_ai.usage.cache_read.input_tokens'], ''),
    nullIf(SpanAttributes['gen_ai.usage.cache_read_input_tokens'], ''),
    nullIf(SpanAttributes['llm.token_count.prompt_details.cache_read'], ''),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'input_cached_tokens')), '0'),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'cache_read_input_tokens')), '0'),
    ''));

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster MODIFY COLUMN CachedInputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
    nullIf(SpanAttributes['gen_ai.usage.cache_read.input_tokens'], ''),
    nullIf(SpanAttributes['gen_ai.usage.cache_read_input_tokens'], ''),
    nullIf(SpanAttributes['llm.token_count.prompt_details.cache_read'], ''),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'input_cached_tokens')), '0'),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'cache_read_input_tokens')), '0'),
    ''));

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS CacheWriteInputTokens UInt64 MATERIALIZED
    toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.cache_creation.input_tokens'], ''),
        nullIf(SpanAttributes['gen_ai.usage.cache_write.input_tokens'], ''),
        nullIf(SpanAttributes['gen_ai.usage.cache_creation_input_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.prompt_details.cache_write'], ''),
        nullIf(toString(JSONExtractUInt(
            SpanAttributes['langfuse.observation.usage_details'], 'cache_creation_input_tokens')),
            '0'),
        ''))
    AFTER CachedInputTokens;

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS CacheWriteInputTokens UInt64 MATERIALIZED
    toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.cache_creation.input_tokens'], ''),
        nullIf(SpanAttributes['gen_ai.usage.cache_write.input_tokens'], ''),
        nullIf(SpanAttributes['gen_ai.usage.cache_creation_input_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.prompt_details.cache_write'], ''),
        nullIf(toString(JSONExtractUInt(
            SpanAttributes['langfuse.observation.usage_details'], 'cache_creation_input_tokens')),
            '0'),
        ''))
    AFTER CachedInputTokens;

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS ReasoningTokens UInt64 MATERIALIZED
    toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.reasoning.output_tokens'], ''),
        nullIf(SpanAttributes['gen_ai.usage.reasoning_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.completion_details.reasoning'], ''),
        nullIf(toString(JSONExtractUInt(
            SpanAttributes['langfuse.observation.usage_details'], 'output_reasoning_tokens')), '0'),
        ''))
    AFTER CacheWriteInputTokens;

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS ReasoningTokens UInt64 MATERIALIZED
    toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.reasoning.output_tokens'], ''),
        nullIf(SpanAttributes['gen_ai.usage.reasoning_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.completion_details.reasoning'], ''),
        nullIf(toString(JSONExtractUInt(
            SpanAttributes['langfuse.observation.usage_details'], 'output_reasoning_tokens')), '0'),
        ''))
    AFTER CacheWriteInputTokens;

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS TotalTokens UInt64 MATERIALIZED ifNull(nullIf(
    toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.total_tokens'], ''),
        nullIf(SpanAttributes['llm.usage.total_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.total'], ''),
        nullIf(toString(JSONExtractUInt(
            SpanAttributes['langfuse.observation.usage_details'], 'total')), '0'),
        '')), 0), InputTokens + OutputTokens)
    AFTER OutputTokens;

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS TotalTokens UInt64 MATERIALIZED ifNull(nullIf(
    toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.total_tokens'], ''),
        nullIf(SpanAttributes['llm.usage.total_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.total'], ''),
        nullIf(toString(JSONExtractUInt(
            SpanAttributes['langfuse.observation.usage_details'], 'total')), '0'),
        '')), 0), InputTokens + OutputTokens)
    AFTER OutputTokens;

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MODIFY COLUMN ToolName LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.tool.name'], ''),
    nullIf(SpanAttributes['tool.name'], ''),
    nullIf(if(SpanAttributes['traceloop.span.kind'] = 'tool',
              SpanAttributes['traceloop.entity.name'], ''), ''),
    nullIf(if(SpanAttributes['langfuse.observation.type'] = 'tool', SpanName, ''), ''),
    '');

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster MODIFY COLUMN ToolName LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.tool.name'], ''),
    nullIf(SpanAttributes['tool.name'], ''),
    nullIf(if(SpanAttributes['traceloop.span.kind'] = 'tool',
              SpanAttributes['traceloop.entity.name'], ''), ''),
    nullIf(if(SpanAttributes['langfuse.observation.type'] = 'tool', SpanName, ''), ''),
    '');

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS WorkflowName LowCardinality(String) MATERIALIZED
    coalesce(
        nullIf(SpanAttributes['traceloop.workflow.name'], ''),
        nullIf(if(SpanAttributes['traceloop.span.kind'] = 'workflow',
                  SpanAttributes['traceloop.entity.name'], ''), ''),
        nullIf(SpanAttributes['langfuse.trace.name'], ''),
        '')
    AFTER ToolName;

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS WorkflowName LowCardinality(String) MATERIALIZED
    coalesce(
        nullIf(SpanAttributes['traceloop.workflow.name'], ''),
        nullIf(if(SpanAttributes['traceloop.span.kind'] = 'workflow',
                  SpanAttributes['traceloop.entity.name'], ''), ''),
        nullIf(SpanAttributes['langfuse.trace.name'], ''),
        '')
    AFTER ToolName;

CREATE MATERIALIZED VIEW IF NOT EXISTS model_observations_spans_mv ON CLUSTER agentledger_cluster TO model_observations_local
AS SELECT
    Timestamp,
    TenantId,
    if(ResponseModel != '', ResponseModel, RequestModel) AS ModelName,
    if(SpanAttributes['agentledger.model.version'] != '',
       SpanAttributes['agentledger.model.version'], ResponseModel) AS ModelVersion,
    feature.1 AS Feature,
    feature.2 AS Value,
    '' AS Category,
    TraceId,
    SpanId,
    DecisionId
FROM otel_traces_local
ARRAY JOIN arrayConcat(
    [('duration_ms', Duration / 1e6)],
    if(InputTokens > 0, [('input_tokens', toFloat64(InputTokens))], []),
    if(OutputTokens > 0, [('output_tokens', toFloat64(OutputTokens))], []),
    arrayMap(
        k -> (replaceRegexpOne(k, '^agentledger\\.observation\\.(feature\\.)?', ''),
              toFloat64OrZero(SpanAttributes[k])),
        arrayFilter(
            k -> startsWith(k, 'agentledger.observation.')
                AND k NOT IN ('agentledger.observation.model', 'agentledger.observation.model_version')
                AND replaceRegexpOne(k, '^agentledger\\.observation\\.(feature\\.)?', '') != ''
                AND isFinite(toFloat64OrDefault(SpanAttributes[k], nan)),
            mapKeys(SpanAttributes)))
) AS feature
WHERE GenAiOperation IN ('chat', 'text_completion', 'generate_content', 'embeddings')
    OR RequestModel != '' OR ResponseModel != '';

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (6, 'conventions_and_observations', 'b5724b056513f2332c17c1c2f1246efcd02136f0d35a9d657dc4ae4a46eb8774');

-- 0007_insert_deduplication
ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE otel_logs_local ON CLUSTER agentledger_cluster MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE decisions_local ON CLUSTER agentledger_cluster MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE kpi_events_local ON CLUSTER agentledger_cluster MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE model_observations_local ON CLUSTER agentledger_cluster MODIFY SETTING non_replicated_deduplication_window = 10000;

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (7, 'insert_deduplication', 'e3321867b7075f53cb9e71b75cbac98b2f8e7de08edf890464f04bbe7ad40ad8');

-- 0008_drift
CREATE TABLE IF NOT EXISTS drift_results_local ON CLUSTER agentledger_cluster (
    TenantId LowCardinality(String),
    ModelName LowCardinality(String),
    ModelVersion LowCardinality(String),
    ReferenceVersion LowCardinality(String),
    Feature LowCardinality(String),
    Kind Enum8('numeric' = 1, 'categorical' = 2),
    ReferenceStart DateTime64(3, 'UTC'),
    ReferenceEnd DateTime64(3, 'UTC'),
    CurrentStart DateTime64(3, 'UTC'),
    CurrentEnd DateTime64(3, 'UTC'),
    NReference UInt64,
    NCurrent UInt64,
    Psi Nullable(Float64),
    Js Nullable(Float64),
    KsStatistic Nullable(Float64),
    KsPValue Nullable(Float64),
    Wasserstein Nullable(Float64),
    Chi2 Nullable(Float64),
    Chi2PValue Nullable(Float64),
    Status LowCardinality(String),
    Drifted Bool,
    DriftedBy Array(LowCardinality(String)),
    PsiThreshold Float64,
    JsThreshold Float64,
    KsPValueThreshold Float64,
    Chi2PValueThreshold Float64,
    MinSamples UInt32,
    Source LowCardinality(String),
    RunId UUID,
    ComputedAt DateTime64(3, 'UTC')
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', ComputedAt)
PARTITION BY toYYYYMM(CurrentStart)
ORDER BY (TenantId, ModelName, Feature, Kind, ModelVersion, ReferenceVersion, Source,
          CurrentStart, CurrentEnd, ReferenceStart, ReferenceEnd)
TTL toDateTime(ComputedAt) + toIntervalDay(3650);

CREATE TABLE IF NOT EXISTS drift_results ON CLUSTER agentledger_cluster AS drift_results_local
ENGINE = Distributed(agentledger_cluster, agentledger, drift_results_local, cityHash64(TenantId, ModelName, Feature));

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (8, 'drift', 'd96b0c2ce61477660e400d04d1cd03e480a64a5f302c4358cfb950c0eb595319');

-- 0009_lineage
ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS InsertedAt DateTime64(3, 'UTC')
    MATERIALIZED now64(3) CODEC(Delta(8), ZSTD(1));

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS InsertedAt DateTime64(3, 'UTC')
    MATERIALIZED now64(3) CODEC(Delta(8), ZSTD(1));

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster ADD INDEX IF NOT EXISTS idx_inserted_at InsertedAt TYPE minmax GRANULARITY 1;

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MATERIALIZE COLUMN InsertedAt SETTINGS mutations_sync = 2;

ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MATERIALIZE INDEX idx_inserted_at SETTINGS mutations_sync = 2;

ALTER TABLE decisions_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS InsertedAt DateTime64(3, 'UTC')
    MATERIALIZED now64(3) CODEC(Delta(8), ZSTD(1));

ALTER TABLE decisions ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS InsertedAt DateTime64(3, 'UTC')
    MATERIALIZED now64(3) CODEC(Delta(8), ZSTD(1));

ALTER TABLE decisions_local ON CLUSTER agentledger_cluster ADD INDEX IF NOT EXISTS idx_inserted_at InsertedAt TYPE minmax GRANULARITY 1;

ALTER TABLE decisions_local ON CLUSTER agentledger_cluster MATERIALIZE COLUMN InsertedAt SETTINGS mutations_sync = 2;

ALTER TABLE decisions_local ON CLUSTER agentledger_cluster MATERIALIZE INDEX idx_inserted_at SETTINGS mutations_sync = 2;

ALTER TABLE kpi_events_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS InsertedAt DateTime64(3, 'UTC')
    MATERIALIZED now64(3) CODEC(Delta(8), ZSTD(1));

ALTER TABLE kpi_events ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS InsertedAt DateTime64(3, 'UTC')
    MATERIALIZED now64(3) CODEC(Delta(8), ZSTD(1));

ALTER TABLE kpi_events_local ON CLUSTER agentledger_cluster ADD INDEX IF NOT EXISTS idx_inserted_at InsertedAt TYPE minmax GRANULARITY 1;

ALTER TABLE kpi_events_local ON CLUSTER agentledger_cluster MATERIALIZE COLUMN InsertedAt SETTINGS mutations_sync = 2;

ALTER TABLE kpi_events_local ON CLUSTER agentledger_cluster MATERIALIZE INDEX idx_inserted_at SETTINGS mutations_sync = 2;

CREATE TABLE IF NOT EXISTS lineage_edges_local ON CLUSTER agentledger_cluster (
    TenantId LowCardinality(String),
    SrcNode String CODEC(ZSTD(1)),
    DstNode String CODEC(ZSTD(1)),
    Relation LowCardinality(String),
    SrcType LowCardinality(String) DEFAULT if(position(SrcNode, ':') > 0,
        substring(SrcNode, 1, position(SrcNode, ':') - 1), ''),
    DstType LowCardinality(String) DEFAULT if(position(DstNode, ':') > 0,
        substring(DstNode, 1, position(DstNode, ':') - 1), ''),
    Timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    PROJECTION by_src (SELECT _part_offset ORDER BY TenantId, SrcNode)
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', Timestamp)
ORDER BY (TenantId, DstNode, SrcNode, Relation)
PRIMARY KEY (TenantId, DstNode)
TTL toDateTime(Timestamp) + toIntervalDay(3650)
SETTINGS index_granularity = 256, deduplicate_merge_projection_mode = 'rebuild';

CREATE TABLE IF NOT EXISTS lineage_edges ON CLUSTER agentledger_cluster AS lineage_edges_local
ENGINE = Distributed(agentledger_cluster, agentledger, lineage_edges_local, cityHash64(TenantId, DstNode));

CREATE TABLE IF NOT EXISTS lineage_nodes_local ON CLUSTER agentledger_cluster (
    TenantId LowCardinality(String),
    Node String CODEC(ZSTD(1)),
    NodeType LowCardinality(String),
    Timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    PROJECTION by_trace (SELECT _part_offset ORDER BY TenantId, TraceId)
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', Timestamp)
ORDER BY (TenantId, Node)
TTL toDateTime(Timestamp) + toIntervalDay(3650)
SETTINGS index_granularity = 256, deduplicate_merge_projection_mode = 'rebuild';

CREATE TABLE IF NOT EXISTS lineage_nodes ON CLUSTER agentledger_cluster AS lineage_nodes_local
ENGINE = Distributed(agentledger_cluster, agentledger, lineage_nodes_local, cityHash64(TenantId, Node));

CREATE TABLE IF NOT EXISTS lineage_progress_local ON CLUSTER agentledger_cluster (
    Job LowCardinality(String),
    WindowStart DateTime64(3, 'UTC'),
    WindowEnd DateTime64(3, 'UTC'),
    Rows UInt64,
    FinishedAt DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
ORDER BY (Job, WindowEnd);

CREATE TABLE IF NOT EXISTS lineage_progress ON CLUSTER agentledger_cluster AS lineage_progress_local
ENGINE = Distributed(agentledger_cluster, agentledger, lineage_progress_local, cityHash64(Job));

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (9, 'lineage', '39060ed1e38852497fd7641b6887a390d629b5890d879dea1887cd7953ee8f12');

-- 0010_cost_budgets_anomalies
ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS AgentVersion LowCardinality(String)
    MATERIALIZED SpanAttributes['gen_ai.agent.version'] AFTER AgentName;

ALTER TABLE otel_traces ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS AgentVersion LowCardinality(String)
    MATERIALIZED SpanAttributes['gen_ai.agent.version'] AFTER AgentName;

CREATE TABLE IF NOT EXISTS model_prices_0010_local ON CLUSTER agentledger_cluster (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
ORDER BY (TenantId, Source, Provider, ModelPattern, ValidFrom, UpdatedAt);

CREATE TABLE IF NOT EXISTS model_prices_0010 ON CLUSTER agentledger_cluster AS model_prices_0010_local
ENGINE = Distributed(agentledger_cluster, agentledger, model_prices_0010_local, cityHash64(TenantId, ModelPattern));

INSERT INTO model_prices_0010 (TenantId, Provider, ModelPattern, InputPerMTok, OutputPerMTok,
    CachedInputPerMTok, CacheWritePerMTok, ReasoningPerMTok, ValidFrom, Source, UpdatedAt)
SELECT TenantId, Provider, ModelPattern, InputPerMTok, OutputPerMTok, CachedInputPerMTok,
       if(CacheWritePerMTok > 0, CacheWritePerMTok, InputPerMTok),
       if(ReasoningPerMTok > 0, ReasoningPerMTok, OutputPerMTok), ValidFrom, Source, UpdatedAt
FROM model_prices FINAL
WHERE Source != 'default';

DROP TABLE IF EXISTS model_prices ON CLUSTER agentledger_cluster SYNC;

DROP TABLE IF EXISTS model_prices_0010 ON CLUSTER agentledger_cluster SYNC;

RENAME TABLE model_prices_local TO model_prices_0003_local, model_prices_0010_local TO model_prices_local ON CLUSTER agentledger_cluster;

CREATE TABLE IF NOT EXISTS model_prices_0003 ON CLUSTER agentledger_cluster AS model_prices_0003_local
ENGINE = Distributed(agentledger_cluster, agentledger, model_prices_0003_local, cityHash64(TenantId, ModelPattern));

CREATE TABLE IF NOT EXISTS model_prices ON CLUSTER agentledger_cluster AS model_prices_local
ENGINE = Distributed(agentledger_cluster, agentledger, model_prices_local, cityHash64(TenantId, ModelPattern));

DROP TABLE IF EXISTS model_prices_0003 ON CLUSTER agentledger_cluster SYNC;

DROP TABLE IF EXISTS model_prices_0003_local ON CLUSTER agentledger_cluster SYNC;

ALTER TABLE cost_rollups_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS AgentVersion LowCardinality(String),
    ADD COLUMN IF NOT EXISTS CacheWriteInputTokens UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS ReasoningTokens UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS UnpricedSpans UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS PriceVersion String DEFAULT '',
    MODIFY ORDER BY (TenantId, Day, ServiceName, AgentName, ModelName, Provider, AgentVersion);

ALTER TABLE cost_rollups ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS AgentVersion LowCardinality(String),
    ADD COLUMN IF NOT EXISTS CacheWriteInputTokens UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS ReasoningTokens UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS UnpricedSpans UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS PriceVersion String DEFAULT '';

CREATE TABLE IF NOT EXISTS budgets_local ON CLUSTER agentledger_cluster (
    TenantId LowCardinality(String),
    AgentName LowCardinality(String),
    Period LowCardinality(String),
    BudgetUsd Float64,
    Active UInt8,
    UpdatedAt DateTime64(3)
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', UpdatedAt)
ORDER BY (TenantId, AgentName, Period);

CREATE TABLE IF NOT EXISTS budgets ON CLUSTER agentledger_cluster AS budgets_local
ENGINE = Distributed(agentledger_cluster, agentledger, budgets_local, cityHash64(TenantId, AgentName, Period));

CREATE TABLE IF NOT EXISTS anomalies_local ON CLUSTER agentledger_cluster (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', UpdatedAt)
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TenantId, Kind, Entity, Metric, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(3650);

CREATE TABLE IF NOT EXISTS anomalies ON CLUSTER agentledger_cluster AS anomalies_local
ENGINE = Distributed(agentledger_cluster, agentledger, anomalies_local, cityHash64(TenantId, Kind, Entity, Metric));

CREATE TABLE IF NOT EXISTS hourly_entity_metrics_local ON CLUSTER agentledger_cluster (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', ComputedAt)
PARTITION BY toYYYYMM(Hour)
ORDER BY (TenantId, Kind, Entity, Hour)
TTL Hour + toIntervalDay(30);

CREATE TABLE IF NOT EXISTS hourly_entity_metrics ON CLUSTER agentledger_cluster AS hourly_entity_metrics_local
ENGINE = Distributed(agentledger_cluster, agentledger, hourly_entity_metrics_local, cityHash64(TenantId, Kind, Entity));

CREATE TABLE IF NOT EXISTS job_watermarks_local ON CLUSTER agentledger_cluster (
    Job LowCardinality(String),
    Watermark DateTime64(3),
    UpdatedAt DateTime64(3)
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', UpdatedAt)
ORDER BY Job;

CREATE TABLE IF NOT EXISTS job_watermarks ON CLUSTER agentledger_cluster AS job_watermarks_local
ENGINE = Distributed(agentledger_cluster, agentledger, job_watermarks_local, cityHash64(Job));

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (10, 'cost_budgets_anomalies', '9b89029d81a1232f23a32122bb7517fb6d3866e3c98cccfea1727bfa28eecf9d');

-- 0011_audit_chain_ids
ALTER TABLE decisions_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS ChainId LowCardinality(String) DEFAULT ''
    AFTER TenantId;

ALTER TABLE decisions ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS ChainId LowCardinality(String) DEFAULT ''
    AFTER TenantId;

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (11, 'audit_chain_ids', '510fbb1bae8770d4f9cde4fc15df0153df88c0266ba6aec9985392a9bae33ae4');

-- 0012_kpi_attributions
CREATE TABLE IF NOT EXISTS kpi_attributions_local ON CLUSTER agentledger_cluster (
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
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TenantId, KpiName, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(3650);

CREATE TABLE IF NOT EXISTS kpi_attributions ON CLUSTER agentledger_cluster AS kpi_attributions_local
ENGINE = Distributed(agentledger_cluster, agentledger, kpi_attributions_local, cityHash64(DecisionId, TraceId));

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (12, 'kpi_attributions', '9f169536b767b5aaf7e9e29f5f003edbe3beb94b9f78f663f39aead289353067');

-- 0013_trace_lookup_tenant
ALTER TABLE otel_traces_trace_id_ts_local ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS TenantId LowCardinality(String)
    DEFAULT '' CODEC(ZSTD(1)) FIRST;

ALTER TABLE otel_traces_trace_id_ts ON CLUSTER agentledger_cluster ADD COLUMN IF NOT EXISTS TenantId LowCardinality(String)
    DEFAULT '' CODEC(ZSTD(1)) FIRST;

DROP VIEW IF EXISTS otel_traces_trace_id_ts_mv ON CLUSTER agentledger_cluster SYNC;

CREATE MATERIALIZED VIEW IF NOT EXISTS otel_traces_trace_id_ts_mv ON CLUSTER agentledger_cluster TO otel_traces_trace_id_ts_local
AS SELECT TenantId, TraceId, min(toDateTime(Timestamp)) AS Start, max(toDateTime(Timestamp)) AS End
FROM otel_traces_local WHERE TraceId != '' GROUP BY TenantId, TraceId;

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (13, 'trace_lookup_tenant', 'e7a550eca93ca97a0fe2b5e58d956ee64b286506e4250ee98a0bc5a31a3b285c');

-- 0014_trace_lookup_deduplication
ALTER TABLE otel_traces_trace_id_ts_local ON CLUSTER agentledger_cluster MODIFY SETTING non_replicated_deduplication_window = 10000;

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (14, 'trace_lookup_deduplication', '2d2fa06a00fc6c4d83a46b057224559aac8eb26595bd74038b4a5d43a5aa9167');

-- 0015_compact_span_parts
ALTER TABLE otel_traces_local ON CLUSTER agentledger_cluster MODIFY SETTING min_bytes_for_wide_part = 67108864;

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (15, 'compact_span_parts', 'd4ca6e4fd2991c01678dbb714347bcb28a74ec4a28abfc8be088b7bb43eaa20a');

-- 0016_model_observations_view_linear
DROP VIEW IF EXISTS model_observations_spans_mv ON CLUSTER agentledger_cluster SYNC;

CREATE MATERIALIZED VIEW IF NOT EXISTS model_observations_spans_mv ON CLUSTER agentledger_cluster TO model_observations_local
AS SELECT
    Timestamp,
    TenantId,
    if(ResponseModel != '', ResponseModel, RequestModel) AS ModelName,
    if(SpanAttributes['agentledger.model.version'] != '',
       SpanAttributes['agentledger.model.version'], ResponseModel) AS ModelVersion,
    feature.1 AS Feature,
    feature.2 AS Value,
    '' AS Category,
    TraceId,
    SpanId,
    DecisionId
FROM otel_traces_local
ARRAY JOIN arrayConcat(
    [('duration_ms', Duration / 1e6)],
    if(InputTokens > 0, [('input_tokens', toFloat64(InputTokens))], []),
    if(OutputTokens > 0, [('output_tokens', toFloat64(OutputTokens))], []),
    arrayMap(
        kv -> (replaceRegexpOne(kv.1, '^agentledger\\.observation\\.(feature\\.)?', ''),
               toFloat64OrZero(kv.2)),
        arrayFilter(
            kv -> startsWith(kv.1, 'agentledger.observation.')
                AND kv.1 NOT IN ('agentledger.observation.model', 'agentledger.observation.model_version')
                AND replaceRegexpOne(kv.1, '^agentledger\\.observation\\.(feature\\.)?', '') != ''
                AND isFinite(toFloat64OrDefault(kv.2, nan)),
            arrayZip(mapKeys(SpanAttributes), mapValues(SpanAttributes))))
) AS feature
WHERE GenAiOperation IN ('chat', 'text_completion', 'generate_content', 'embeddings')
    OR RequestModel != '' OR ResponseModel != '';

INSERT INTO schema_migrations (Version, Name, Checksum) VALUES (16, 'model_observations_view_linear', '9ff26eeb9a57d8f944a0aa54a9c5d45bcb3c1fbacc3a7e9f8f06db58fab7b7e5');
