"""The Drift, Cost, KPIs and Lineage pages in a real headless Chromium, served by ``streamlit run``
of the whole app over the SQL endpoint, on the dataset of the pages' integration test (real drift,
cost and lineage jobs over it). Each page must show its known values, no error element and no
other tenant's rows, and leave a screenshot in ``tests/artifacts/``.
"""

from __future__ import annotations

import pytest

from agentledger.storage.chdb_store import ChdbStore

from ..integration.test_dashboard_analytics_pages import ACME_COST, seed
from .conftest import BrowserPage

pytestmark = pytest.mark.browser

ACME = {"range": "6h", "tenant": "acme"}


@pytest.fixture(scope="module")
def dashboard_store(store: ChdbStore) -> ChdbStore:
    """This module's data: the analytics pages' dataset instead of the shared one."""
    return seed(store)


def _check(page: BrowserPage, path: str, name: str, expect: str, **query: str) -> str:
    # Render time is measured by benchmarks/dashboards.py, not here: this machine is shared.
    text = page.open(path, name, expect, **query)
    assert "globex" not in text.lower() and "secret" not in text.lower()
    return text


def test_drift_page(page: BrowserPage) -> None:
    text = _check(page, "/drift", "drift", "Reference vs current distribution", **ACME)
    assert "ranker" in text
    assert "Drifted: score (psi" in text
    assert "Quality proxies" in text and "Build the report" in text


def test_cost_page(page: BrowserPage) -> None:
    text = _check(page, "/cost", "cost", "Cost per resolved count", **ACME)
    assert f"${ACME_COST:.4f}" in text
    assert "test-model-b" in text
    assert "more than its $0.10 budget" in text


def test_kpis_page(page: BrowserPage) -> None:
    text = _check(page, "/kpis", "kpis", "raised resolved rate by 40.0 points", **ACME)
    assert "resolved by model" in text and "test-model-b" in text


def test_lineage_page(page: BrowserPage) -> None:
    from selenium.webdriver.common.by import By

    text = _check(page, "/lineage", "lineage", "Path to KPI", decision_id="d-40", **ACME)
    assert "document:refund-policy@3" in text
    assert all(fmt in text for fmt in ("openlineage", "graphml", "parquet"))
    assert page.driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .scatterlayer")
