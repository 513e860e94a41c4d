"""The Traces page in a real headless Chromium: a search, then a trace opened by its URL."""

from __future__ import annotations

import pytest

from .conftest import BrowserPage
from .dashboard_data import TRACE_PLANNER, TRACE_WRITER_ERROR

pytestmark = pytest.mark.browser


def test_trace_search_renders_known_traces(page: BrowserPage) -> None:
    text = page.open("/traces", "traces_search", "newest matching traces", tenant="acme")
    assert "5 newest matching traces" in text
    assert TRACE_WRITER_ERROR in text and "claude-haiku" in text
    assert "globex" not in text.lower()


def test_trace_opens_as_a_waterfall(page: BrowserPage) -> None:
    text = page.open(
        "/traces", "traces_waterfall", "Decisions in this trace", trace_id=TRACE_PLANNER
    )
    assert f"Trace {TRACE_PLANNER}" in text
    assert "invoke_agent planner" in text
    assert "100.0 ms" in text  # the trace's duration
    assert "gen_ai.agent.name" in text  # the first span's attributes
    assert "d1" in text and "/lineage?" in text  # its decision, with a lineage link
