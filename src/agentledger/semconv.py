"""Every attribute and event name AgentLedger reads or writes, in one place.

Standard names come from the OpenTelemetry GenAI conventions (all generations), OpenInference,
OpenLLMetry (Traceloop) and Langfuse; ``agentledger.*`` covers what no standard does: decisions,
KPIs, lineage, model observations. The SQL migrations read the same names when they derive columns;
keep the two in step (:data:`DERIVED_COLUMNS` mirrors the migrations, and a test checks both ways).

Model observations (inputs for drift) arrive two ways. A log event named
``agentledger.model_observation`` carries ``agentledger.observation.model`` (required),
``agentledger.observation.model_version``, optionally ``agentledger.decision.id``, and one or more
``agentledger.observation.feature.<name>`` attributes: a number becomes a row with that ``Value``,
a string a row with that ``Category``. Model spans (a GenAI model operation, or any span naming a
model) yield ``duration_ms``, ``input_tokens``, ``output_tokens`` and every numeric
``agentledger.observation.<name>`` attribute, versioned by ``agentledger.model.version``.
"""

from typing import Final

# OpenTelemetry GenAI (1.37+ and the genai repository)
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_VERSION: Final = "gen_ai.agent.version"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"

# gen_ai.operation.name values
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_CHAT: Final = "chat"

# OTel GenAI <= 1.36, still emitted by default by most instrumentations
GEN_AI_SYSTEM: Final = "gen_ai.system"
GEN_AI_USAGE_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"

# OpenInference
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
LLM_MODEL_NAME: Final = "llm.model_name"
LLM_SYSTEM: Final = "llm.system"
LLM_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"
TOOL_NAME: Final = "tool.name"
AGENT_NAME: Final = "agent.name"

# Log records: the event name, as a field (OTLP >= 1.5) or as this attribute (older SDKs)
EVENT_NAME: Final = "event.name"
SERVICE_NAME: Final = "service.name"

# AgentLedger events, carried as OTLP log records
EVENT_DECISION: Final = "agentledger.decision"
EVENT_KPI: Final = "agentledger.kpi"
EVENT_MODEL_OBSERVATION: Final = "agentledger.model_observation"

# Decision record fields (attributes of an agentledger.decision event)
DECISION_ID: Final = "agentledger.decision.id"
DECISION_TYPE: Final = "agentledger.decision.type"
DECISION_CHOSEN: Final = "agentledger.decision.chosen"
DECISION_OPTIONS: Final = "agentledger.decision.options"
DECISION_CONFIDENCE: Final = "agentledger.decision.confidence"
DECISION_INPUTS: Final = "agentledger.decision.inputs"
DECISION_POLICY_CHECKS: Final = "agentledger.decision.policy_checks"
DECISION_APPROVED_BY: Final = "agentledger.decision.approved_by"
DECISION_RATIONALE: Final = "agentledger.decision.rationale"

# KPI record fields (attributes of an agentledger.kpi event)
KPI_NAME: Final = "agentledger.kpi.name"
KPI_VALUE: Final = "agentledger.kpi.value"
KPI_UNIT: Final = "agentledger.kpi.unit"
KPI_ENTITY_ID: Final = "agentledger.kpi.entity_id"
KPI_DECISION_ID: Final = "agentledger.kpi.decision_id"
KPI_TRACE_ID: Final = "agentledger.kpi.trace_id"

# OpenTelemetry GenAI, genai repository: cache writes and reasoning tokens
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"

# OpenInference, beyond the names above (llm.request/response.model_name: older instrumentations)
LLM_PROVIDER: Final = "llm.provider"
LLM_REQUEST_MODEL_NAME: Final = "llm.request.model_name"
LLM_RESPONSE_MODEL_NAME: Final = "llm.response.model_name"
LLM_TOKEN_COUNT_TOTAL: Final = "llm.token_count.total"
LLM_TOKEN_COUNT_PROMPT_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
LLM_TOKEN_COUNT_PROMPT_CACHE_WRITE: Final = "llm.token_count.prompt_details.cache_write"
LLM_TOKEN_COUNT_COMPLETION_REASONING: Final = "llm.token_count.completion_details.reasoning"

# OpenLLMetry (Traceloop): span kinds workflow/task/agent/tool, llm.request.type chat/completion/
# embedding/rerank, and gen_ai.* usage names of its own
TRACELOOP_SPAN_KIND: Final = "traceloop.span.kind"
TRACELOOP_ENTITY_NAME: Final = "traceloop.entity.name"
TRACELOOP_WORKFLOW_NAME: Final = "traceloop.workflow.name"
LLM_REQUEST_TYPE: Final = "llm.request.type"
LLM_USAGE_TOTAL_TOKENS: Final = "llm.usage.total_tokens"
GEN_AI_USAGE_TOTAL_TOKENS: Final = "gen_ai.usage.total_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OPENLLMETRY: Final = "gen_ai.usage.cache_read_input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS_OPENLLMETRY: Final = (
    "gen_ai.usage.cache_creation_input_tokens"
)
GEN_AI_USAGE_REASONING_TOKENS_OPENLLMETRY: Final = "gen_ai.usage.reasoning_tokens"

# Langfuse OpenTelemetry keys. The observation type is generation, span, event, agent, tool, chain,
# retriever, evaluator, embedding or guardrail; usage_details is a JSON object in a string, e.g.
# {"input": 12, "output": 5, "total": 17}, read with the LANGFUSE_USAGE_* fields below.
LANGFUSE_OBSERVATION_TYPE: Final = "langfuse.observation.type"
LANGFUSE_OBSERVATION_MODEL_NAME: Final = "langfuse.observation.model.name"
LANGFUSE_OBSERVATION_USAGE_DETAILS: Final = "langfuse.observation.usage_details"
LANGFUSE_TRACE_NAME: Final = "langfuse.trace.name"
LANGFUSE_USAGE_INPUT: Final = "input"
LANGFUSE_USAGE_OUTPUT: Final = "output"
LANGFUSE_USAGE_TOTAL: Final = "total"
LANGFUSE_USAGE_CACHE_READ: Final = ("input_cached_tokens", "cache_read_input_tokens")
LANGFUSE_USAGE_CACHE_WRITE: Final = "cache_creation_input_tokens"
LANGFUSE_USAGE_REASONING: Final = "output_reasoning_tokens"

# Model observations (see the module docstring)
OBSERVATION_PREFIX: Final = "agentledger.observation."
OBSERVATION_FEATURE_PREFIX: Final = "agentledger.observation.feature."
OBSERVATION_MODEL: Final = "agentledger.observation.model"
OBSERVATION_MODEL_VERSION: Final = "agentledger.observation.model_version"
MODEL_VERSION: Final = "agentledger.model.version"
FEATURE_DURATION_MS: Final = "duration_ms"
FEATURE_INPUT_TOKENS: Final = "input_tokens"
FEATURE_OUTPUT_TOKENS: Final = "output_tokens"

# The otel_traces columns ClickHouse derives from span attributes, and the keys each one reads
# (first non-empty wins, in this order). The migrations (0001, then 0006) hold the SQL.
DERIVED_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "AgentVersion": (GEN_AI_AGENT_VERSION,),
    "AgentName": (
        GEN_AI_AGENT_NAME,
        AGENT_NAME,
        TRACELOOP_SPAN_KIND,
        TRACELOOP_ENTITY_NAME,
        LANGFUSE_OBSERVATION_TYPE,
    ),
    "GenAiOperation": (
        GEN_AI_OPERATION_NAME,
        OPENINFERENCE_SPAN_KIND,
        TRACELOOP_SPAN_KIND,
        LLM_REQUEST_TYPE,
        LANGFUSE_OBSERVATION_TYPE,
    ),
    "GenAiProvider": (GEN_AI_PROVIDER_NAME, GEN_AI_SYSTEM, LLM_SYSTEM, LLM_PROVIDER),
    "RequestModel": (
        GEN_AI_REQUEST_MODEL,
        LLM_REQUEST_MODEL_NAME,
        LLM_MODEL_NAME,
        LANGFUSE_OBSERVATION_MODEL_NAME,
    ),
    "ResponseModel": (
        GEN_AI_RESPONSE_MODEL,
        LLM_RESPONSE_MODEL_NAME,
        LLM_MODEL_NAME,
        LANGFUSE_OBSERVATION_MODEL_NAME,
    ),
    "InputTokens": (
        GEN_AI_USAGE_INPUT_TOKENS,
        GEN_AI_USAGE_PROMPT_TOKENS,
        LLM_TOKEN_COUNT_PROMPT,
        LANGFUSE_OBSERVATION_USAGE_DETAILS,
    ),
    "OutputTokens": (
        GEN_AI_USAGE_OUTPUT_TOKENS,
        GEN_AI_USAGE_COMPLETION_TOKENS,
        LLM_TOKEN_COUNT_COMPLETION,
        LANGFUSE_OBSERVATION_USAGE_DETAILS,
    ),
    "TotalTokens": (
        GEN_AI_USAGE_TOTAL_TOKENS,
        LLM_USAGE_TOTAL_TOKENS,
        LLM_TOKEN_COUNT_TOTAL,
        LANGFUSE_OBSERVATION_USAGE_DETAILS,
    ),
    "CachedInputTokens": (
        GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OPENLLMETRY,
        LLM_TOKEN_COUNT_PROMPT_CACHE_READ,
        LANGFUSE_OBSERVATION_USAGE_DETAILS,
    ),
    "CacheWriteInputTokens": (
        GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
        GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
        GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS_OPENLLMETRY,
        LLM_TOKEN_COUNT_PROMPT_CACHE_WRITE,
        LANGFUSE_OBSERVATION_USAGE_DETAILS,
    ),
    "ReasoningTokens": (
        GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        GEN_AI_USAGE_REASONING_TOKENS_OPENLLMETRY,
        LLM_TOKEN_COUNT_COMPLETION_REASONING,
        LANGFUSE_OBSERVATION_USAGE_DETAILS,
    ),
    "ToolName": (
        GEN_AI_TOOL_NAME,
        TOOL_NAME,
        TRACELOOP_SPAN_KIND,
        TRACELOOP_ENTITY_NAME,
        LANGFUSE_OBSERVATION_TYPE,
    ),
    "WorkflowName": (
        TRACELOOP_WORKFLOW_NAME,
        TRACELOOP_SPAN_KIND,
        TRACELOOP_ENTITY_NAME,
        LANGFUSE_TRACE_NAME,
    ),
    "DecisionId": (DECISION_ID,),
}

# Instrumentation (agentledger.instrumentation): opt-in content capture (OTel GenAI JSON strings),
# retrieval spans (GenAI operation "retrieval"; document ids/scores as OpenInference flattens them:
# retrieval.documents.<i>.document.id), side-effect actions, and lineage as typed ids:
# document:<id>@<version>, tool:<name>:<span_id>, span:<span_id>, action:<name>[:<target>]
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
OP_RETRIEVAL: Final = "retrieval"
RETRIEVAL_DOCUMENTS_PREFIX: Final = "retrieval.documents."
RETRIEVAL_DOCUMENT_ID_SUFFIX: Final = ".document.id"
RETRIEVAL_DOCUMENT_SCORE_SUFFIX: Final = ".document.score"
RETRIEVAL_DOCUMENT_COUNT: Final = "agentledger.retrieval.document_count"
ACTION_NAME: Final = "agentledger.action.name"
ACTION_TARGET: Final = "agentledger.action.target"
LINEAGE_INPUTS: Final = "agentledger.lineage.inputs"
LINEAGE_OUTPUTS: Final = "agentledger.lineage.outputs"

# Prompts, as lineage nodes prompt:<name>[@<version>]: ours (no wrapper sets them yet), Langfuse's
# managed prompts, and OpenInference's prompt template (named by a hash of its text).
PROMPT_NAME: Final = "agentledger.prompt.name"
PROMPT_VERSION: Final = "agentledger.prompt.version"
LANGFUSE_OBSERVATION_PROMPT_NAME: Final = "langfuse.observation.prompt.name"
LANGFUSE_OBSERVATION_PROMPT_VERSION: Final = "langfuse.observation.prompt.version"
LLM_PROMPT_TEMPLATE: Final = "llm.prompt_template.template"
LLM_PROMPT_TEMPLATE_VERSION: Final = "llm.prompt_template.version"
