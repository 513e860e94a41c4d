"""Tenant isolation on every dashboard page: a logged-in viewer of tenant ``acme`` never sees
anything of tenant ``globex``, even when the URL asks for globex's tenant, trace or decision.

Parameterised over the navigation's page list, so a page added there is covered (a page whose
file is not there yet is skipped). The analytics jobs run over the seeded data first, so the
analytics pages (cost, lineage, ...) have both tenants' results to leak.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from agentledger.analytics.cost import run_cost_job
from agentledger.analytics.lineage import run_lineage_job
from agentledger.dashboards.navigation import PAGES
from agentledger.storage.chdb_store import ChdbStore

from ..browser.dashboard_data import GLOBEX_MARKERS, TRACE_GLOBEX, TRACE_PLANNER
from ..browser.dashboard_fixtures import dashboard_store, page_app, reader_url, rendered_text
from ..conftest import free_port

__all__ = ["dashboard_store", "reader_url"]

# What each page must show acme's viewer, so an empty page cannot pass for an isolated one.
ACME_SEES = {"overview": "planner", "traces": "planner", "decisions": "billing"}


@pytest.fixture(scope="module")
def analysed(dashboard_store: ChdbStore) -> ChdbStore:
    run_cost_job(dashboard_store)
    run_lineage_job(dashboard_store, settle=timedelta(0))
    return dashboard_store


@pytest.fixture(autouse=True)
def _no_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLEDGER_OTLP_HTTP_PORT", str(free_port()))


_ASK_FOR_GLOBEX = [
    {"range": "7d", "tenant": "globex"},
    {"range": "7d", "trace_id": TRACE_GLOBEX},
    {"range": "7d", "decision_id": "g1"},
]


@pytest.mark.parametrize("query", _ASK_FOR_GLOBEX, ids=["tenant", "trace", "decision"])
@pytest.mark.parametrize("module", [spec.module for spec in PAGES])
def test_acme_viewer_never_sees_globex(
    module: str,
    query: dict[str, str],
    analysed: ChdbStore,
    reader_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = page_app(module, reader_url, monkeypatch, query, email="alice@acme.com")
    text = rendered_text(app).lower()
    leaked = [marker for marker in GLOBEX_MARKERS if marker in text]
    assert not leaked, f"{module} showed {leaked} to an acme viewer"
    assert not app.error, [e.value for e in app.error]
    if module in ACME_SEES and "tenant" in query:
        assert ACME_SEES[module] in text


def test_globex_viewer_sees_globex_only(
    analysed: ChdbStore, reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = page_app("traces", reader_url, monkeypatch, {"tenant": "acme"}, email="eve@globex.com")
    found = app.dataframe[0].value
    assert list(found["TraceId"]) == [TRACE_GLOBEX]
    opened = page_app(
        "traces", reader_url, monkeypatch, {"trace_id": TRACE_PLANNER}, email="eve@globex.com"
    )
    assert "No trace" in opened.warning[0].value


def test_viewer_without_a_tenant_sees_nothing(
    analysed: ChdbStore, reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = page_app("overview", reader_url, monkeypatch, email="mallory@example.org")
    assert "not assigned to a tenant" in app.error[0].value
    assert not app.metric and not app.dataframe


def test_logged_out_viewer_is_asked_to_log_in(
    reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from ..browser.dashboard_fixtures import LOGIN_SECRETS, page_spec

    monkeypatch.setenv("AGENTLEDGER_CLICKHOUSE_URL", reader_url)
    app = AppTest.from_file(str(page_spec("decisions").path), default_timeout=60)
    app.secrets = dict(LOGIN_SECRETS)
    app.user = {"is_logged_in": False}
    app.run()
    assert not app.exception
    assert app.button[0].label == "Log in"
    assert not app.dataframe
