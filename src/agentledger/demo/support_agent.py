"""A customer-support agent with a deterministic simulated LLM (no network).

Each ticket: search the knowledge base, ask the model, look up the order, decide on a refund
under a policy check, and later report the business outcome (resolution, CSAT, refund amount).
Two agent versions run on different models, so cost and quality differ between them.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from agentledger.instrumentation import agent, llm_call, record_decision, record_kpi, setup, tool

__all__ = ["run_demo"]


@dataclass(frozen=True)
class _Version:
    name: str
    model: str
    provider: str
    approve_bias: float


_VERSIONS = (
    _Version("v1", "gpt-4o-mini", "openai", 0.55),
    _Version("v2", "claude-3-5-haiku-20241022", "anthropic", 0.65),
)


class _SupportAgent:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    @tool("kb_search")
    def search(self, ticket: int) -> list[str]:
        time.sleep(self.rng.uniform(0.002, 0.01))
        return ["doc:refund-policy@v3", f"doc:faq-{ticket % 7}@v1"]

    @tool("order_lookup")
    def lookup(self, ticket: int) -> float:
        time.sleep(self.rng.uniform(0.001, 0.006))
        if self.rng.random() < 0.03:
            raise TimeoutError(f"order service timed out for ticket {ticket}")
        return round(self.rng.uniform(10, 400), 2)

    def handle(self, ticket: int, version: _Version) -> None:
        with agent("support", version=version.name):
            docs = self.search(ticket)
            with llm_call(version.model, version.provider) as call:
                time.sleep(self.rng.uniform(0.01, 0.04))
                call.record_usage(
                    input_tokens=self.rng.randint(600, 2400),
                    output_tokens=self.rng.randint(40, 400),
                    cached_input_tokens=self.rng.choice([0, 0, 256, 512]),
                )
                call.set_response(model=version.model, finish_reason="stop")
            try:
                amount = self.lookup(ticket)
            except TimeoutError:
                amount = 0.0
            confidence = round(min(0.99, max(0.05, self.rng.gauss(version.approve_bias, 0.2))), 3)
            chosen = (
                "escalate"
                if amount == 0 or confidence < 0.35
                else ("approve" if confidence >= 0.5 else "deny")
            )
            decision_id = record_decision(
                "refund",
                chosen,
                options=["approve", "deny", "escalate"],
                confidence=confidence,
                inputs=docs,
                rationale=f"policy refund-v3, order total {amount:.2f}",
                policy_checks=[
                    {
                        "policy_id": "refund-limit-500",
                        "verdict": "pass" if amount <= 500 else "fail",
                    }
                ],
                approved_by="human:lead@example.com"
                if chosen == "approve" and amount > 250
                else None,
                model=version.model,
            )
        resolved = chosen != "escalate"
        record_kpi(
            "ticket_resolved",
            1.0 if resolved else 0.0,
            "ticket",
            decision_id,
            entity_id=f"ticket-{ticket}",
        )
        record_kpi("csat", float(self.rng.randint(3 if resolved else 1, 5)), "score", decision_id)
        if chosen == "approve":
            record_kpi("refund_amount", amount, "usd", decision_id, entity_id=f"ticket-{ticket}")


def run_demo(
    rate: float = 2.0,
    duration: float = 60.0,
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    seed: int = 7,
) -> int:
    """Handle ``rate`` tickets/s for ``duration`` seconds (0 = forever); return how many."""
    instrumentation = setup("support-desk", endpoint=endpoint, api_key=api_key)
    rng = random.Random(seed)
    support = _SupportAgent(rng)
    handled = 0
    deadline = time.monotonic() + duration if duration > 0 else float("inf")
    try:
        while time.monotonic() < deadline:
            started = time.monotonic()
            support.handle(handled, _VERSIONS[handled % len(_VERSIONS)])
            handled += 1
            time.sleep(max(0.0, 1.0 / rate - (time.monotonic() - started)))
    finally:
        instrumentation.force_flush()
    return handled
