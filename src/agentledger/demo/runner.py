"""Pace the support desk: tickets at a steady rate, due outcomes on every tick, drift on cue."""

from __future__ import annotations

import time

from agentledger.demo.catalog import BASELINE, DRIFTED
from agentledger.demo.support_agent import SupportDesk
from agentledger.instrumentation import setup

__all__ = ["run_demo"]


def run_demo(
    rate: float = 2.0,
    duration: float = 60.0,
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    seed: int = 7,
    drift_at: float | None = None,
) -> int:
    """Handle ``rate`` tickets/s for ``duration`` seconds (0 = forever); return how many.

    From ``drift_at`` seconds after the start, tickets meet the drifted catalog (new model
    snapshots, re-published documents). Ticket ``n`` is scheduled at ``n / rate`` seconds, so a
    slow ticket is caught up on rather than lowering the rate; above what one thread can do
    (a few dozen tickets/s) the desk simply runs flat out. Outcomes still pending at the end are
    reported before returning, so a finite run leaves no decision without its KPIs.
    """
    instrumentation = setup("support-desk", endpoint=endpoint, api_key=api_key)
    desk = SupportDesk(seed)
    catalog = BASELINE
    start = time.monotonic()
    handled = 0
    try:
        while duration <= 0 or time.monotonic() - start < duration:
            elapsed = time.monotonic() - start
            if drift_at is not None and elapsed >= drift_at:
                catalog = DRIFTED
            desk.handle(handled, catalog, elapsed)
            desk.outcomes.flush(time.monotonic() - start)
            handled += 1
            time.sleep(max(0.0, start + handled / rate - time.monotonic()))
    finally:
        desk.outcomes.flush()
        instrumentation.force_flush()
    return handled
