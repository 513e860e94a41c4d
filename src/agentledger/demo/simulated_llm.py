"""A deterministic stand-in for a chat model: no network, behaviour drawn from a seeded RNG.

Token counts, confidence, reply length and latency follow the :class:`~.catalog.Model` profile, so
a model snapshot change (drift) shows up in exactly the signals a real one would.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from agentledger.demo.catalog import Model

__all__ = ["Completion", "complete"]

_SENTENCES = (
    "Thanks for reaching out about your order.",
    "I have checked the order history and the delivery record.",
    "Under our refund policy this request qualifies for review.",
    "The item is within the return window.",
    "I have noted the condition you described.",
    "You will receive a confirmation email shortly.",
    "Refunds usually reach the original payment method in 3-5 business days.",
    "If anything else comes up, just reply to this message.",
)

_CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Completion:
    """What the simulated provider returned, with the usage a real API would report
    (``output_tokens`` includes ``reasoning_tokens``, as in the GenAI conventions)."""

    text: str
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    confidence: float
    eligible: bool
    latency_ms: float


def complete(
    model: Model, rng: random.Random, prompt_tokens: int, cached_tokens: int, eligibility: float
) -> Completion:
    """Answer one prompt; ``eligibility`` is the chance the model judges the refund justified.

    Sleeps for the simulated latency so span durations look like a real (fast) provider's.
    """
    started = time.perf_counter()
    visible = max(16, int(rng.gauss(model.output_tokens_mean, model.output_tokens_mean / 4)))
    reasoning = (
        max(0, int(rng.gauss(model.reasoning_tokens_mean, model.reasoning_tokens_mean / 3)))
        if model.reasoning_tokens_mean
        else 0
    )
    confidence = min(0.99, max(0.02, rng.gauss(model.confidence_mean, model.confidence_sd)))
    eligible = rng.random() < eligibility
    stretch = visible / model.output_tokens_mean
    time.sleep(model.latency_ms_mean * rng.lognormvariate(0, 0.25) * (0.5 + stretch / 2) / 1000)
    return Completion(
        text=_reply(rng, visible * _CHARS_PER_TOKEN),
        input_tokens=prompt_tokens,
        cached_input_tokens=cached_tokens,
        output_tokens=visible + reasoning,
        reasoning_tokens=reasoning,
        confidence=round(confidence, 3),
        eligible=eligible,
        latency_ms=(time.perf_counter() - started) * 1000,
    )


def _reply(rng: random.Random, length: int) -> str:
    parts: list[str] = []
    while sum(len(part) + 1 for part in parts) < length:
        parts.append(rng.choice(_SENTENCES))
    return " ".join(parts)
