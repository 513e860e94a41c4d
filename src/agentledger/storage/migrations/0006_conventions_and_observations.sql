-- One normalizer for every attribute convention. The derived otel_traces columns now also read
-- OpenLLMetry (traceloop.span.kind/entity.name/workflow.name, llm.request.type,
-- llm.usage.total_tokens, its gen_ai.usage.*_input_tokens names), Langfuse (langfuse.observation.*,
-- langfuse.trace.name) and the genai repository's cache-write and reasoning token names, besides
-- every key they read before. Raw keys stay in SpanAttributes. agentledger.semconv.DERIVED_COLUMNS
-- lists the keys each column reads, in the same order; a test keeps the two in step.
--
-- MODIFY COLUMN ... MATERIALIZED changes only the expression: parts stored before this migration
-- keep the values computed when they were inserted (ALTER TABLE otel_traces MATERIALIZE COLUMN
-- <column> recomputes them, a mutation that rewrites that column). The columns added here have no
-- stored values in older parts, so ClickHouse computes them from the expression when it reads those.
--
-- Mappings with a choice in them: an OpenLLMetry task span and Langfuse span/event/chain/evaluator/
-- guardrail observations have no GenAI operation; a Langfuse generation counts as chat; Langfuse
-- agent and tool observations are named by the span name, as Langfuse itself does.

ALTER TABLE otel_traces MODIFY COLUMN AgentName LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.agent.name'], ''),
    nullIf(SpanAttributes['agent.name'], ''),
    nullIf(if(SpanAttributes['traceloop.span.kind'] = 'agent',
              SpanAttributes['traceloop.entity.name'], ''), ''),
    nullIf(if(SpanAttributes['langfuse.observation.type'] = 'agent', SpanName, ''), ''),
    '');

ALTER TABLE otel_traces MODIFY COLUMN GenAiOperation LowCardinality(String) MATERIALIZED coalesce(
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

ALTER TABLE otel_traces MODIFY COLUMN RequestModel LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.request.model'], ''),
    nullIf(SpanAttributes['llm.request.model_name'], ''),
    nullIf(SpanAttributes['llm.model_name'], ''),
    nullIf(SpanAttributes['langfuse.observation.model.name'], ''),
    '');

ALTER TABLE otel_traces MODIFY COLUMN ResponseModel LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.response.model'], ''),
    nullIf(SpanAttributes['llm.response.model_name'], ''),
    nullIf(SpanAttributes['llm.model_name'], ''),
    nullIf(SpanAttributes['langfuse.observation.model.name'], ''),
    '');

-- Langfuse usage_details is a JSON object in a string; JSONExtractUInt reads a number or a numeric
-- string and gives 0 when the field (or valid JSON) is missing, which counts as not reported.
ALTER TABLE otel_traces MODIFY COLUMN InputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
    nullIf(SpanAttributes['gen_ai.usage.input_tokens'], ''),
    nullIf(SpanAttributes['gen_ai.usage.prompt_tokens'], ''),
    nullIf(SpanAttributes['llm.token_count.prompt'], ''),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'input')), '0'),
    ''));

ALTER TABLE otel_traces MODIFY COLUMN OutputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
    nullIf(SpanAttributes['gen_ai.usage.output_tokens'], ''),
    nullIf(SpanAttributes['gen_ai.usage.completion_tokens'], ''),
    nullIf(SpanAttributes['llm.token_count.completion'], ''),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'output')), '0'),
    ''));

ALTER TABLE otel_traces MODIFY COLUMN CachedInputTokens UInt64 MATERIALIZED toUInt64OrZero(coalesce(
    nullIf(SpanAttributes['gen_ai.usage.cache_read.input_tokens'], ''),
    nullIf(SpanAttributes['gen_ai.usage.cache_read_input_tokens'], ''),
    nullIf(SpanAttributes['llm.token_count.prompt_details.cache_read'], ''),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'input_cached_tokens')), '0'),
    nullIf(toString(JSONExtractUInt(
        SpanAttributes['langfuse.observation.usage_details'], 'cache_read_input_tokens')), '0'),
    ''));

ALTER TABLE otel_traces ADD COLUMN IF NOT EXISTS CacheWriteInputTokens UInt64 MATERIALIZED
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

ALTER TABLE otel_traces ADD COLUMN IF NOT EXISTS ReasoningTokens UInt64 MATERIALIZED
    toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.reasoning.output_tokens'], ''),
        nullIf(SpanAttributes['gen_ai.usage.reasoning_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.completion_details.reasoning'], ''),
        nullIf(toString(JSONExtractUInt(
            SpanAttributes['langfuse.observation.usage_details'], 'output_reasoning_tokens')), '0'),
        ''))
    AFTER CacheWriteInputTokens;

-- The reported total, else input + output.
ALTER TABLE otel_traces ADD COLUMN IF NOT EXISTS TotalTokens UInt64 MATERIALIZED ifNull(nullIf(
    toUInt64OrZero(coalesce(
        nullIf(SpanAttributes['gen_ai.usage.total_tokens'], ''),
        nullIf(SpanAttributes['llm.usage.total_tokens'], ''),
        nullIf(SpanAttributes['llm.token_count.total'], ''),
        nullIf(toString(JSONExtractUInt(
            SpanAttributes['langfuse.observation.usage_details'], 'total')), '0'),
        '')), 0), InputTokens + OutputTokens)
    AFTER OutputTokens;

ALTER TABLE otel_traces MODIFY COLUMN ToolName LowCardinality(String) MATERIALIZED coalesce(
    nullIf(SpanAttributes['gen_ai.tool.name'], ''),
    nullIf(SpanAttributes['tool.name'], ''),
    nullIf(if(SpanAttributes['traceloop.span.kind'] = 'tool',
              SpanAttributes['traceloop.entity.name'], ''), ''),
    nullIf(if(SpanAttributes['langfuse.observation.type'] = 'tool', SpanName, ''), ''),
    '');

ALTER TABLE otel_traces ADD COLUMN IF NOT EXISTS WorkflowName LowCardinality(String) MATERIALIZED
    coalesce(
        nullIf(SpanAttributes['traceloop.workflow.name'], ''),
        nullIf(if(SpanAttributes['traceloop.span.kind'] = 'workflow',
                  SpanAttributes['traceloop.entity.name'], ''), ''),
        nullIf(SpanAttributes['langfuse.trace.name'], ''),
        '')
    AFTER ToolName;

-- Model spans feed model_observations (the input of drift) as they are stored: every span with a
-- GenAI model operation or naming a model gives duration_ms, input_tokens and output_tokens (a
-- zero token count reads as not reported and gives no row) and one row per numeric
-- agentledger.observation.<name> attribute (agentledger.observation.feature.<name> gives <name>
-- too; strings are skipped, categories come from agentledger.model_observation events).
-- ModelName is the response model, else the request model; ModelVersion is
-- agentledger.model.version, else the response model. Spans stored before this migration are not
-- backfilled.
CREATE MATERIALIZED VIEW IF NOT EXISTS model_observations_spans_mv TO model_observations AS
SELECT
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
FROM otel_traces
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
