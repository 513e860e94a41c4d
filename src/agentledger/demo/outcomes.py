"""Business outcomes that become known after the agent has finished with a ticket.

Real KPIs (was the ticket resolved, what did the customer rate, did they buy again) arrive
seconds to days after the decision that caused them, outside its trace. The queue holds them
until due and reports each attributed by decision id (and trace id), as a real pipeline would.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from agentledger.instrumentation import record_kpi

__all__ = ["Outcome", "PendingOutcomes"]


@dataclass(frozen=True, order=True)
class Outcome:
    """One KPI value, due at ``due`` (runner clock, seconds)."""

    due: float
    name: str = field(compare=False)
    value: float = field(compare=False)
    unit: str = field(compare=False)
    decision_id: str = field(compare=False)
    entity_id: str = field(compare=False)
    trace_id: str = field(compare=False)


class PendingOutcomes:
    """A due-time ordered queue of outcomes, reported by :meth:`flush`."""

    def __init__(self) -> None:
        self._queue: list[Outcome] = []

    def add(self, outcome: Outcome) -> None:
        heapq.heappush(self._queue, outcome)

    def flush(self, now: float = float("inf")) -> None:
        """Report every outcome due by ``now`` (all of them by default)."""
        while self._queue and self._queue[0].due <= now:
            outcome = heapq.heappop(self._queue)
            record_kpi(
                outcome.name,
                outcome.value,
                outcome.unit,
                outcome.decision_id,
                entity_id=outcome.entity_id,
                trace_id=outcome.trace_id,
            )
