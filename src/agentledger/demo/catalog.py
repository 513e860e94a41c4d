"""What the demo support desk works with: knowledge-base documents, models and agent versions.

Everything here is immutable data. Drift is a second :class:`Catalog` (new model snapshots, a
re-published knowledge base) that the runner swaps in, so "before" and "after" are both explicit
and a ticket always sees one consistent world.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = [
    "AGENT_VERSIONS",
    "BASELINE",
    "DRIFTED",
    "FRAUD_REVIEWER",
    "REASONS",
    "AgentVersion",
    "Catalog",
    "Document",
    "Model",
]


@dataclass(frozen=True)
class Document:
    """A knowledge-base article; ``reasons`` are the refund reasons it answers."""

    id: str
    version: str
    tokens: int
    reasons: frozenset[str]


@dataclass(frozen=True)
class Model:
    """A simulated model snapshot and how it behaves (the drift detector should see changes).

    ``name`` matches the shipped price catalog, so the demo's cost is fully priced.
    ``output_tokens_mean`` counts the visible reply; reasoning tokens come on top.
    """

    name: str
    provider: str
    version: str
    confidence_mean: float
    confidence_sd: float
    output_tokens_mean: int
    latency_ms_mean: float
    reasoning_tokens_mean: int = 0


@dataclass(frozen=True)
class AgentVersion:
    """A deployed version of the support agent: its model, traffic share and answer quality.

    ``quality`` shifts customer satisfaction, so versions differ in outcomes as well as cost.
    """

    name: str
    model: str
    share: float
    quality: float


@dataclass(frozen=True)
class Catalog:
    """One consistent state of the world: the published documents and the live model snapshots."""

    documents: tuple[Document, ...]
    models: dict[str, Model]

    def relevant(self, reason: str) -> tuple[Document, ...]:
        return tuple(doc for doc in self.documents if reason in doc.reasons)


REASONS = ("damaged", "late_delivery", "defective", "changed_mind")

_DOCUMENTS = (
    Document("refund-policy", "v3", 420, frozenset(REASONS)),
    Document("shipping-faq", "v2", 310, frozenset({"late_delivery", "damaged"})),
    Document("warranty-terms", "v1", 380, frozenset({"defective", "damaged"})),
    Document("returns-howto", "v5", 260, frozenset({"changed_mind", "defective"})),
    Document("fraud-guidelines", "v2", 290, frozenset(REASONS)),
)

_MODELS = (
    Model("gpt-4o-mini", "openai", "gpt-4o-mini-2024-07-18", 0.68, 0.14, 180, 12.0),
    Model("claude-3-5-haiku", "anthropic", "claude-3-5-haiku-20241022", 0.72, 0.12, 230, 15.0),
    Model("gpt-4.1", "openai", "gpt-4.1-2025-04-14", 0.81, 0.09, 260, 22.0),
    Model(
        "o4-mini", "openai", "o4-mini-2025-04-16", 0.77, 0.10, 90, 35.0, reasoning_tokens_mean=700
    ),
)

FRAUD_REVIEWER = "o4-mini"
"""The reasoning model every agent version consults on risky orders."""

AGENT_VERSIONS = (
    AgentVersion("v1", "gpt-4o-mini", 0.45, 0.0),
    AgentVersion("v2", "claude-3-5-haiku", 0.40, 0.3),
    AgentVersion("v3-canary", "gpt-4.1", 0.15, 0.6),
)

BASELINE = Catalog(_DOCUMENTS, {model.name: model for model in _MODELS})

# The drift scenario: every model alias moves to a new snapshot that is less sure of itself and
# wordier, and the knowledge base is re-published with new versions of three articles.
_REPUBLISHED = {"refund-policy": "v4", "shipping-faq": "v3", "warranty-terms": "v2"}

DRIFTED = Catalog(
    tuple(
        replace(doc, version=_REPUBLISHED[doc.id], tokens=doc.tokens + 90)
        if doc.id in _REPUBLISHED
        else doc
        for doc in _DOCUMENTS
    ),
    {
        model.name: replace(
            model,
            version=f"{model.version}-r2",
            confidence_mean=model.confidence_mean - 0.14,
            confidence_sd=model.confidence_sd + 0.04,
            output_tokens_mean=int(model.output_tokens_mean * 1.7),
            latency_ms_mean=model.latency_ms_mean * 1.3,
        )
        for model in _MODELS
    },
)
