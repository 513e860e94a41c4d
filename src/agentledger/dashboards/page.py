"""The frame every page runs in: login, title, configuration, global filters, auto-refresh and
the error that replaces a traceback when ClickHouse cannot answer.

A page module is then only its panels: ``run_page("Cost", _render)`` where ``_render`` takes the
:class:`PageContext`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import TypeVar

import streamlit as st

from agentledger.config import ConfigError, Settings
from agentledger.dashboards import data
from agentledger.dashboards.access import viewer_tenant
from agentledger.dashboards.filters import Filters, pick_filters
from agentledger.dashboards.timerange import window_for
from agentledger.storage.store import StoreError

__all__ = ["REFRESH_CHOICES", "PageContext", "run_page"]

REFRESH_CHOICES = {"off": None, "10s": 10, "30s": 30, "1m": 60}

T = TypeVar("T")


@dataclass(frozen=True)
class PageContext:
    """What a page's panels need: settings, the data source and the viewer's filters."""

    settings: Settings
    src: data.Source
    filters: Filters
    forced_tenant: str | None

    @property
    def otlp_endpoint(self) -> str:
        return data.otlp_endpoint(self.settings)

    def load(self, query: Callable[..., T], *args: Hashable) -> T:
        """``query(store, *args)``, cached briefly (see :func:`data.cached`)."""
        return data.cached(self.src, query, *args)


def run_page(title: str, body: Callable[[PageContext], None]) -> None:
    """Render page ``title`` around ``body``, re-running ``body`` alone on auto-refresh."""
    forced_tenant = viewer_tenant()
    st.title(title)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        st.error(f"Invalid configuration: {exc}")
        return
    src = data.source(settings, forced_tenant or "")
    try:
        filters = pick_filters(
            values=lambda window: data.filter_values(src, forced_tenant or "", window.start),
            forced_tenant=forced_tenant,
        )
    except StoreError as exc:
        st.error(data.describe_error(src, exc))
        return
    with st.sidebar:
        refresh = st.segmented_control(
            "Auto-refresh",
            options=list(REFRESH_CHOICES),
            default="off",
            required=True,
            key="refresh",
            bind="query-params",
        )
    context = PageContext(settings, src, filters, forced_tenant)

    def _run() -> None:
        # Each refresh moves the window to now; the range and the filters stay as chosen.
        current = replace(context, filters=replace(filters, window=window_for(filters.window.key)))
        try:
            body(current)
        except StoreError as exc:
            st.error(data.describe_error(src, exc))

    st.fragment(_run, run_every=REFRESH_CHOICES[refresh])()
