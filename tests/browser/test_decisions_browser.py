"""The Decisions page in a real headless Chromium: the trail with its chain status, then one
decision opened by its URL."""

from __future__ import annotations

import pytest

from .conftest import BrowserPage

pytestmark = pytest.mark.browser


def test_audit_trail_with_chain_status(page: BrowserPage) -> None:
    text = page.open("/decisions", "decisions_trail", "Hash chain intact", tenant="acme")
    assert "the newest 3 re-hashed" in text
    assert "billing" in text and "formal" in text and "approve" in text
    assert "globex" not in text.lower()


def test_decision_detail(page: BrowserPage) -> None:
    text = page.open("/decisions", "decisions_detail", "Policy checks", decision_id="d3")
    assert "Decision d3" in text
    assert "refund-limit-500" in text and "fraud-review" in text
    assert "alice" in text
    assert "revenue" in text  # the KPI outcome attributed to it
