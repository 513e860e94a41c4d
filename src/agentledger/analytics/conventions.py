"""Which attribute conventions each service speaks, and what AgentLedger makes of every key.

ClickHouse counts, per service, the spans carrying each span attribute key (numeric path
segments folded to ``*``, so ``gen_ai.prompt.0.content`` and ``gen_ai.prompt.1.content`` are one
key); Python classifies each key with the table below: the convention it comes from, and either
the derived column(s) it fills (``mapped``), or that the convention is known but nothing is
derived from the key (``unmapped``; it stays readable in ``SpanAttributes``), or ``unrecognised``.
So an empty ``InputTokens`` column has an answer: the report shows which key the service sent.

A key that several conventions share belongs to the one that defines it today: the GenAI names
still in the current specification are ``otel-genai-1.37+``, ``otel-genai-1.36`` holds only the
names 1.37 replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

from agentledger import semconv
from agentledger.storage.store import Store, query_rows

__all__ = ["CONVENTIONS", "STATUSES", "KeyClass", "classify", "conventions_report"]

Convention = Literal[
    "otel-genai-1.36",
    "otel-genai-1.37+",
    "openinference",
    "openllmetry",
    "langfuse",
    "agentledger",
    "other",
]
Status = Literal["mapped", "unmapped", "unrecognised"]

# Report order, taken from the Literal types so the two can never disagree.
CONVENTIONS: Final[tuple[Convention, ...]] = get_args(Convention)
STATUSES: Final[tuple[Status, ...]] = get_args(Status)

GENAI_136: Final = "otel-genai-1.36"
GENAI_137: Final = "otel-genai-1.37+"
OPENINFERENCE: Final = "openinference"
OPENLLMETRY: Final = "openllmetry"
LANGFUSE: Final = "langfuse"
AGENTLEDGER: Final = "agentledger"
OTHER: Final = "other"

# Exact keys and their convention. Every key of semconv.DERIVED_COLUMNS is here (a test checks).
KEY_CONVENTIONS: Final[dict[str, Convention]] = {
    **dict.fromkeys(
        (
            semconv.GEN_AI_OPERATION_NAME,
            semconv.GEN_AI_PROVIDER_NAME,
            semconv.GEN_AI_AGENT_NAME,
            semconv.GEN_AI_AGENT_VERSION,
            semconv.GEN_AI_REQUEST_MODEL,
            semconv.GEN_AI_RESPONSE_MODEL,
            semconv.GEN_AI_RESPONSE_FINISH_REASONS,
            semconv.GEN_AI_USAGE_INPUT_TOKENS,
            semconv.GEN_AI_USAGE_OUTPUT_TOKENS,
            semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
            semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
            semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
            semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
            semconv.GEN_AI_TOOL_NAME,
            semconv.GEN_AI_CONVERSATION_ID,
        ),
        GENAI_137,
    ),
    **dict.fromkeys(
        (
            semconv.GEN_AI_SYSTEM,
            semconv.GEN_AI_USAGE_PROMPT_TOKENS,
            semconv.GEN_AI_USAGE_COMPLETION_TOKENS,
        ),
        GENAI_136,
    ),
    **dict.fromkeys(
        (
            semconv.OPENINFERENCE_SPAN_KIND,
            semconv.LLM_MODEL_NAME,
            semconv.LLM_SYSTEM,
            semconv.LLM_PROVIDER,
            semconv.LLM_REQUEST_MODEL_NAME,
            semconv.LLM_RESPONSE_MODEL_NAME,
            semconv.LLM_TOKEN_COUNT_PROMPT,
            semconv.LLM_TOKEN_COUNT_COMPLETION,
            semconv.LLM_TOKEN_COUNT_TOTAL,
            semconv.LLM_TOKEN_COUNT_PROMPT_CACHE_READ,
            semconv.LLM_TOKEN_COUNT_PROMPT_CACHE_WRITE,
            semconv.LLM_TOKEN_COUNT_COMPLETION_REASONING,
            semconv.TOOL_NAME,
            semconv.AGENT_NAME,
            "input.value",
            "input.mime_type",
            "output.value",
            "output.mime_type",
            "session.id",
            "user.id",
            "metadata",
            "tag.tags",
        ),
        OPENINFERENCE,
    ),
    **dict.fromkeys(
        (
            semconv.TRACELOOP_SPAN_KIND,
            semconv.TRACELOOP_ENTITY_NAME,
            semconv.TRACELOOP_WORKFLOW_NAME,
            semconv.LLM_REQUEST_TYPE,
            semconv.LLM_USAGE_TOTAL_TOKENS,
            semconv.GEN_AI_USAGE_TOTAL_TOKENS,
            semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OPENLLMETRY,
            semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS_OPENLLMETRY,
            semconv.GEN_AI_USAGE_REASONING_TOKENS_OPENLLMETRY,
            "llm.usage.token_type",
            "llm.user",
            "llm.headers",
            "llm.top_k",
            "llm.is_streaming",
            "llm.frequency_penalty",
            "llm.presence_penalty",
            "llm.chat.stop_sequences",
            "llm.request.repetition_penalty",
            "llm.response.finish_reason",
            "llm.response.stop_reason",
            "llm.content.completion.chunk",
        ),
        OPENLLMETRY,
    ),
    **dict.fromkeys(
        (
            semconv.LANGFUSE_OBSERVATION_TYPE,
            semconv.LANGFUSE_OBSERVATION_MODEL_NAME,
            semconv.LANGFUSE_OBSERVATION_USAGE_DETAILS,
            semconv.LANGFUSE_TRACE_NAME,
        ),
        LANGFUSE,
    ),
    **dict.fromkeys((semconv.DECISION_ID, semconv.MODEL_VERSION), AGENTLEDGER),
}

# Namespaces: the longest matching prefix decides a key that is not listed above.
PREFIX_CONVENTIONS: Final[dict[str, Convention]] = {
    "gen_ai.": GENAI_137,
    "gen_ai.prompt.": OPENLLMETRY,
    "gen_ai.completion.": OPENLLMETRY,
    "traceloop.": OPENLLMETRY,
    "llm.request.functions.": OPENLLMETRY,
    "llm.watsonx.": OPENLLMETRY,
    "llm.": OPENINFERENCE,
    "openinference.": OPENINFERENCE,
    "input.": OPENINFERENCE,
    "output.": OPENINFERENCE,
    "tool.": OPENINFERENCE,
    "tool_call.": OPENINFERENCE,
    "agent.": OPENINFERENCE,
    "graph.node.": OPENINFERENCE,
    "retrieval.": OPENINFERENCE,
    "embedding.": OPENINFERENCE,
    "reranker.": OPENINFERENCE,
    "prompt.": OPENINFERENCE,
    "metadata.": OPENINFERENCE,
    "langfuse.": LANGFUSE,
    "agentledger.": AGENTLEDGER,
    semconv.OBSERVATION_PREFIX: AGENTLEDGER,
}

# What AgentLedger fills from keys outside otel_traces' derived columns.
_OBSERVATION_COLUMNS: Final = ("model_observations.Feature",)
_EXTRA_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    semconv.MODEL_VERSION: ("model_observations.ModelVersion",),
}


def _columns_by_key() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for column, keys in semconv.DERIVED_COLUMNS.items():
        for key in keys:
            found.setdefault(key, []).append(column)
    for key, columns in _EXTRA_COLUMNS.items():
        found.setdefault(key, []).extend(columns)
    return {key: tuple(columns) for key, columns in found.items()}


COLUMNS_BY_KEY: Final[dict[str, tuple[str, ...]]] = _columns_by_key()


@dataclass(frozen=True)
class KeyClass:
    """Where a span attribute key comes from and what AgentLedger derives from it."""

    convention: Convention
    status: Status
    columns: tuple[str, ...] = ()


def classify(key: str) -> KeyClass:
    """The convention of ``key``, and the columns it fills (status ``mapped``), or ``unmapped``
    (a known convention, no column), or ``unrecognised`` (convention ``other``)."""
    convention = KEY_CONVENTIONS.get(key)
    prefix = ""
    if convention is None:
        prefix = max((p for p in PREFIX_CONVENTIONS if key.startswith(p)), key=len, default="")
        convention = PREFIX_CONVENTIONS[prefix] if prefix else None
    if convention is None:
        return KeyClass(OTHER, "unrecognised")
    columns = COLUMNS_BY_KEY.get(key, ())
    if not columns and prefix == semconv.OBSERVATION_PREFIX:
        columns = _OBSERVATION_COLUMNS
    return KeyClass(convention, "mapped" if columns else "unmapped", columns)


# One row per service and key; a span counts once per key even when several of its keys fold
# into the same pattern.
_KEYS_SEEN = r"""
SELECT ServiceName AS service,
       arrayJoin(arrayDistinct(arrayMap(
           k -> replaceRegexpAll(k, '\\.\\d+\\b', '.*'), mapKeys(SpanAttributes)))) AS key,
       count() AS spans
FROM otel_traces
WHERE Timestamp >= fromUnixTimestamp64Nano({since:Int64})
GROUP BY service, key
"""


def conventions_report(store: Store, since: datetime | None = None) -> list[dict[str, object]]:
    """Per service and convention, every span attribute key seen since ``since`` (default: all
    stored spans): its status, the columns it fills and how many spans carried it."""
    since_ns = int(since.timestamp() * 1_000_000_000) if since else 0
    seen = [
        (row["service"], row["key"], classify(row["key"]), int(row["spans"]))
        for row in query_rows(store, _KEYS_SEEN, {"since": since_ns})
    ]
    seen.sort(
        key=lambda s: (
            s[0],
            CONVENTIONS.index(s[2].convention),
            STATUSES.index(s[2].status),
            s[1],
        )
    )
    return [
        {
            "service": service,
            "convention": key_class.convention,
            "key": key,
            "status": key_class.status,
            "columns": ",".join(key_class.columns),
            "spans": spans,
        }
        for service, key, key_class, spans in seen
    ]
