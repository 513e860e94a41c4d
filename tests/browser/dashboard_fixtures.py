"""Fixtures and helpers for testing dashboard pages against real data, shared by the AppTest
(integration) and headless-Chromium (browser) tests: import what you need into a test module.

``dashboard_store`` seeds the shared chDB ``store`` with :mod:`tests.browser.dashboard_data`;
``reader_url`` serves it through the real SQL endpoint (uvicorn, a real socket) as the read-only
``reader`` user, the way the dashboards read in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from agentledger.dashboards.navigation import PAGES, PageSpec
from agentledger.storage.chdb_store import ChdbStore

from ..conftest import serve_in_thread
from .dashboard_data import seed

LOGIN_SECRETS: dict[str, Any] = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-cookie-secret",
        "client_id": "dashboards",
        "client_secret": "test-client-secret",
        "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
    },
    "tenants": {"*@acme.com": "acme", "eve@globex.com": "globex"},
}


@pytest.fixture(scope="module")
def dashboard_store(store: ChdbStore) -> ChdbStore:
    """The shared module store, seeded once with the two-tenant dashboard dataset."""
    seed(store)
    return store


@pytest.fixture(scope="module")
def reader_url(dashboard_store: ChdbStore) -> Iterator[str]:
    """The SQL endpoint over the seeded store, as the read-only ``reader`` user."""
    from agentledger.storage.sql_endpoint import SqlUser, build_sql_app

    users = {"reader": SqlUser(password="pw", readonly=True)}
    for port in serve_in_thread(build_sql_app(dashboard_store, users)):
        yield f"http://reader:pw@127.0.0.1:{port}"


def page_spec(module: str) -> PageSpec:
    """The page ``module`` of the navigation; the test is skipped while its file is missing."""
    spec = next(spec for spec in PAGES if spec.module == module)
    if not spec.path.is_file():
        pytest.skip(f"page {module} is not there yet ({spec.path})")
    return spec


def page_app(
    module: str,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    query: dict[str, str] | None = None,
    *,
    email: str | None = None,
) -> AppTest:
    """Run one page (as ``streamlit run views/<module>.py`` would) against ``url``, with the URL
    query ``query``; with ``email``, login is on and that viewer is logged in."""
    monkeypatch.setenv("AGENTLEDGER_CLICKHOUSE_URL", url)
    st.cache_data.clear()
    st.cache_resource.clear()
    app = AppTest.from_file(str(page_spec(module).path), default_timeout=60)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    if email is not None:
        app.secrets = dict(LOGIN_SECRETS)
        app.user = {"is_logged_in": True, "email": email}
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def rendered_text(app: AppTest) -> str:
    """Everything the page sent to the browser (labels, values, options, markdown, and the Arrow
    bytes of every table), as one string to search."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app._tree)
    return "\n".join(parts)
