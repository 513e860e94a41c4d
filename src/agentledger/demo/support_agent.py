"""One support ticket, end to end: the flow AgentLedger is built to explain.

Retrieve policy documents, draft a reply with the agent version's model, look up the order, have
a reasoning model review risky orders, decide on the refund under policy checks (with a human
approver above a threshold), act on the decision, and queue the outcomes that only become known
later. Every ticket draws from its own RNG seeded by (seed, ticket number), so a ticket's content
does not depend on timing; only which catalog (before or after drift) it meets does.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from opentelemetry import trace

from agentledger import semconv
from agentledger.demo.catalog import (
    AGENT_VERSIONS,
    FRAUD_REVIEWER,
    REASONS,
    AgentVersion,
    Catalog,
    Document,
    Model,
)
from agentledger.demo.outcomes import Outcome, PendingOutcomes
from agentledger.demo.simulated_llm import Completion, complete
from agentledger.instrumentation import (
    action,
    agent,
    llm_call,
    record_decision,
    record_observation,
    retrieval,
    tool,
)

__all__ = ["SupportDesk"]

OPTIONS = ("approve", "deny", "escalate")
REFUND_LIMIT_USD = 500.0
HUMAN_APPROVAL_OVER_USD = 200.0
FRAUD_REVIEW_FROM = 0.3
SYSTEM_PROMPT_TOKENS = 650
_ELIGIBILITY = {"damaged": 0.9, "late_delivery": 0.75, "defective": 0.85, "changed_mind": 0.5}
_APPROVERS = ("human:lead@example.com", "human:finance@example.com")


@dataclass(frozen=True)
class Order:
    """What the order service knows; ``fraud_score`` (0..1) comes from the payment provider."""

    id: str
    customer: str
    amount: float
    fraud_score: float


@dataclass(frozen=True)
class Verdict:
    """The refund decision and the evidence an auditor needs to check it."""

    chosen: str
    rationale: str
    policy_checks: tuple[dict[str, str], ...]
    approved_by: str | None = None


class SupportDesk:
    """Handles tickets for every agent version and keeps their not-yet-known outcomes."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.outcomes = PendingOutcomes()

    def handle(self, number: int, catalog: Catalog, now: float) -> None:
        """Work ticket ``number`` against ``catalog``; ``now`` is the runner clock (seconds)."""
        rng = random.Random(f"{self.seed}:{number}")
        version = rng.choices(AGENT_VERSIONS, weights=[v.share for v in AGENT_VERSIONS])[0]
        reason = rng.choice(REASONS)
        ticket = f"ticket-{self.seed}-{number}"
        with agent("support", version=version.name):
            trace_id = format(trace.get_current_span().get_span_context().trace_id, "032x")
            documents = _search(rng, catalog, reason)
            reply = _draft_reply(rng, catalog.models[version.model], documents, reason)
            try:
                order: Order | None = _lookup_order(rng, number)
            except TimeoutError:
                order = None
            review = (
                _fraud_review(rng, catalog.models[FRAUD_REVIEWER], order)
                if order and order.fraud_score >= FRAUD_REVIEW_FROM
                else None
            )
            verdict = _decide(rng, order, reply, review)
            decision_id = record_decision(
                "refund",
                verdict.chosen,
                options=OPTIONS,
                confidence=reply.confidence,
                rationale=verdict.rationale,
                policy_checks=verdict.policy_checks,
                approved_by=verdict.approved_by,
                model=version.model,
            )
            _act(rng, verdict.chosen, order)
        self._queue_outcomes(
            rng, version, verdict.chosen, order, now, decision_id, ticket, trace_id
        )

    def _queue_outcomes(
        self,
        rng: random.Random,
        version: AgentVersion,
        chosen: str,
        order: Order | None,
        now: float,
        decision_id: str,
        ticket: str,
        trace_id: str,
    ) -> None:
        """Resolution is known in a second or two, CSAT when the customer answers the survey
        (most do), a refund when the payment settles, a repeat purchase only sometimes."""

        def later(low: float, high: float, name: str, value: float, unit: str) -> None:
            due = now + rng.uniform(low, high)
            self.outcomes.add(Outcome(due, name, value, unit, decision_id, ticket, trace_id))

        later(0.5, 2.0, "ticket_resolved", 0.0 if chosen == "escalate" else 1.0, "ticket")
        base = {"approve": 4.2, "deny": 2.4, "escalate": 3.0}[chosen] + version.quality
        csat = float(min(5, max(1, round(rng.gauss(base, 0.8)))))
        if rng.random() < 0.7:
            later(1.0, 4.0, "csat", csat, "score")
        if chosen == "approve" and order:
            later(0.2, 1.0, "refund_amount", order.amount, "usd")
            if csat >= 4 and rng.random() < 0.25:
                later(2.0, 6.0, "upsell_revenue", round(rng.uniform(15, 120), 2), "usd")


def _search(rng: random.Random, catalog: Catalog, reason: str) -> tuple[Document, ...]:
    """Top three articles for the refund reason, with their published versions as lineage."""
    with retrieval("knowledge_base") as search:
        time.sleep(rng.uniform(0.001, 0.004))
        scored = sorted(
            ((round(rng.uniform(0.55, 0.97), 3), doc) for doc in catalog.relevant(reason)),
            key=lambda pair: pair[0],
            reverse=True,
        )[:3]
        search.record_documents(
            [{"id": doc.id, "version": doc.version, "score": score} for score, doc in scored]
        )
    return tuple(doc for _, doc in scored)


def _draft_reply(
    rng: random.Random, model: Model, documents: tuple[Document, ...], reason: str
) -> Completion:
    prompt = SYSTEM_PROMPT_TOKENS + sum(doc.tokens for doc in documents) + rng.randint(80, 300)
    cached = SYSTEM_PROMPT_TOKENS if rng.random() < 0.6 else 0
    return _call(rng, model, prompt, cached, _ELIGIBILITY[reason])


def _fraud_review(rng: random.Random, model: Model, order: Order) -> Completion:
    """A second opinion from a reasoning model; its ``eligible`` means "looks legitimate"."""
    return _call(rng, model, SYSTEM_PROMPT_TOKENS + rng.randint(300, 900), 0, 1 - order.fraud_score)


def _call(
    rng: random.Random, model: Model, prompt: int, cached: int, eligibility: float
) -> Completion:
    """One traced model call, with the usage for cost and the observations for drift."""
    with llm_call(model.name, model.provider) as call:
        call.span.set_attribute(semconv.MODEL_VERSION, model.version)
        reply = complete(model, rng, prompt, cached, eligibility)
        call.record_usage(
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            cached_input_tokens=reply.cached_input_tokens,
            reasoning_tokens=reply.reasoning_tokens or None,
        )
        call.set_response(model=model.name, finish_reason="stop")
        record_observation(
            model.name,
            {
                "confidence": reply.confidence,
                "output_length": len(reply.text),
                "latency_ms": round(reply.latency_ms, 2),
            },
            model_version=model.version,
        )
    return reply


@tool("order_lookup")
def _lookup_order(rng: random.Random, number: int) -> Order:
    """The order behind the ticket; the order service times out now and then (a failed span)."""
    time.sleep(rng.uniform(0.001, 0.006))
    if rng.random() < 0.03:
        raise TimeoutError(f"order service timed out for ticket {number}")
    return Order(
        id=f"order-{40_000 + number}",
        customer=f"customer-{rng.randint(1, 5_000)}",
        amount=round(rng.lognormvariate(4.6, 0.7), 2),
        fraud_score=round(rng.betavariate(1.3, 6.0), 3),
    )


def _decide(
    rng: random.Random, order: Order | None, reply: Completion, review: Completion | None
) -> Verdict:
    """Apply the refund policy: hard limits first, then the model's judgement, then a human."""
    if order is None:
        return Verdict("escalate", "order service unavailable; no order data", ())
    checks = (
        {
            "policy_id": "refund-limit-500",
            "verdict": "pass" if order.amount <= REFUND_LIMIT_USD else "fail",
        },
        {
            "policy_id": "fraud-review",
            "verdict": "fail" if review is not None and not review.eligible else "pass",
        },
        {
            "policy_id": "human-approval-over-200",
            "verdict": "required" if order.amount > HUMAN_APPROVAL_OVER_USD else "not_required",
        },
    )
    if order.amount > REFUND_LIMIT_USD:
        return Verdict("escalate", f"{order.amount:.2f} USD is over the refund limit", checks)
    if review is not None and not review.eligible:
        return Verdict("deny", f"fraud review failed (score {order.fraud_score})", checks)
    if reply.confidence < 0.45:
        return Verdict("escalate", f"model confidence {reply.confidence} too low", checks)
    if not reply.eligible:
        return Verdict("deny", "not eligible under the refund policy", checks)
    if order.amount <= HUMAN_APPROVAL_OVER_USD:
        return Verdict("approve", "eligible under the refund policy", checks)
    if rng.random() < 0.85:
        return Verdict(
            "approve", "eligible; approved by a reviewer", checks, rng.choice(_APPROVERS)
        )
    return Verdict("deny", "eligible per the model, rejected by a reviewer", checks)


def _act(rng: random.Random, chosen: str, order: Order | None) -> None:
    """Carry the decision out: pay the refund or hand over to a person, then tell the customer."""
    if chosen == "approve" and order:
        with action("issue_refund", target=order.id), tool("payments_refund"):
            time.sleep(rng.uniform(0.002, 0.008))
    if chosen == "escalate":
        with action("escalate", target="tier-2"):
            time.sleep(rng.uniform(0.001, 0.003))
    customer = order.customer if order else "customer-unknown"
    with action("send_email", target=customer):
        time.sleep(rng.uniform(0.001, 0.003))
