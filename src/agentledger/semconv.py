"""Every attribute and event name AgentLedger reads or writes, in one place.

Standard names come from the OpenTelemetry GenAI conventions (all generations) and OpenInference;
``agentledger.*`` covers what no standard does: decisions, KPIs, lineage, model observations.
The SQL migrations read the same names when they derive columns; keep the two in step.
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
