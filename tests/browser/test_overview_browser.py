"""The Overview page in a real headless Chromium over the seeded two-tenant data."""

from __future__ import annotations

import pytest

from .conftest import BrowserPage, artifact

pytestmark = pytest.mark.browser


def test_overview_renders_known_values(page: BrowserPage) -> None:
    text = page.open("/", "overview", "Golden signals", range="1h", tenant="acme")
    assert "10.0%" in text  # error rate
    assert "2,600 ms" in text  # p95 run latency
    assert "$0.0123" in text  # cost
    assert "planner" in text and "writer" in text  # golden signals rows
    assert "writer p95 latency 3000 ms" in text  # open anomaly
    assert "tickets_resolved" in text  # KPI headline
    assert "globex" not in text.lower()
    assert artifact("overview").stat().st_size > 10_000
