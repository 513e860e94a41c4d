"""The time-range filter shared by every dashboard page.

The range lives in the URL (``?range=6h``) so a copied link reproduces the view. Window ends are
rounded up to :data:`ALIGN_SECONDS`, so reruns within that span ask ClickHouse the same question
and hit the loaders' cache instead of re-querying on every widget click.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import streamlit as st

__all__ = [
    "ALIGN_SECONDS",
    "DEFAULT_RANGE",
    "RANGES",
    "Range",
    "Window",
    "pick_window",
    "window_for",
]

ALIGN_SECONDS = 15


@dataclass(frozen=True)
class Range:
    """A selectable range: how far back it looks and how wide a chart bucket is."""

    span: timedelta
    step_seconds: int


RANGES: dict[str, Range] = {
    "15m": Range(timedelta(minutes=15), 60),
    "1h": Range(timedelta(hours=1), 60),
    "6h": Range(timedelta(hours=6), 60),
    "24h": Range(timedelta(hours=24), 300),
    "7d": Range(timedelta(days=7), 3600),
}
DEFAULT_RANGE = "1h"


@dataclass(frozen=True)
class Window:
    """A concrete, UTC, half-open ``[start, end)`` interval with its chart bucket width."""

    key: str
    start: datetime
    end: datetime
    step_seconds: int

    @property
    def step_label(self) -> str:
        """The bucket width in words, for chart titles ("minute", "5 min", "hour")."""
        return {60: "minute", 300: "5 min", 3600: "hour"}.get(
            self.step_seconds, f"{self.step_seconds} s"
        )


def window_for(key: str, now: datetime | None = None) -> Window:
    """The window of range ``key`` ending at ``now`` rounded up to :data:`ALIGN_SECONDS`."""
    chosen = RANGES[key]
    now = now or datetime.now(UTC)
    epoch = int(now.timestamp())
    end = datetime.fromtimestamp(epoch - epoch % ALIGN_SECONDS + ALIGN_SECONDS, UTC)
    return Window(key, end - chosen.span, end, chosen.step_seconds)


def pick_window() -> Window:
    """Render the range selector, bound to the ``range`` query parameter, and return its window."""
    key = st.segmented_control(
        "Time range (last …)",
        options=list(RANGES),
        default=DEFAULT_RANGE,
        required=True,
        key="range",
        bind="query-params",
    )
    return window_for(key)
