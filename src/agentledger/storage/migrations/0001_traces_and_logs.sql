-- Spans and logs in the OpenTelemetry Collector clickhouseexporter schema (same column names,
-- types and value conventions), plus TenantId and GenAI columns ClickHouse derives itself from
-- whichever attribute convention a span uses: OTel GenAI <=1.36, 1.37-1.41, the genai repository,
-- OpenInference and OpenLLMetry.
CREATE TABLE IF NOT EXISTS otel_traces (
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
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (TenantId, ServiceName, SpanName, toDateTime(Timestamp))
TTL toDateTime(Timestamp) + toIntervalDay(${ttl_days})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- Grafana's ClickHouse plugin finds a trace's time range here before reading its spans.
CREATE TABLE IF NOT EXISTS otel_traces_trace_id_ts (
    TraceId String CODEC(ZSTD(1)),
    Start DateTime CODEC(Delta, ZSTD(1)),
    End DateTime CODEC(Delta, ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Start)
ORDER BY (TraceId, Start)
TTL toDateTime(Start) + toIntervalDay(${ttl_days})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS otel_traces_trace_id_ts_mv TO otel_traces_trace_id_ts
AS SELECT TraceId, min(toDateTime(Timestamp)) AS Start, max(toDateTime(Timestamp)) AS End
FROM otel_traces WHERE TraceId != '' GROUP BY TraceId;

CREATE TABLE IF NOT EXISTS otel_logs (
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
) ENGINE = MergeTree()
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (TenantId, ServiceName, TimestampTime)
ORDER BY (TenantId, ServiceName, TimestampTime, Timestamp)
TTL TimestampTime + toIntervalDay(${ttl_days})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
