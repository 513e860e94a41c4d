"""The dashboards' pages and their URL paths, in menu order.

Tests and the benchmark read :data:`PAGES` to cover every page.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import streamlit as st
from streamlit.navigation.page import StreamlitPage

__all__ = ["PAGES", "PAGES_DIR", "PageSpec", "pages"]

# Not "pages/": Streamlit runs a pages/ folder next to the entry script as an old-style
# multipage app until st.navigation first runs, so a first visit to /traces would skip app.py.
PAGES_DIR = Path(__file__).parent / "views"


class PageSpec(NamedTuple):
    """A page: its module under ``views/``, menu title and URL path ("" is the home page)."""

    module: str
    title: str
    url_path: str

    @property
    def path(self) -> Path:
        return PAGES_DIR / f"{self.module}.py"


PAGES = (
    PageSpec("overview", "Overview", ""),
    PageSpec("traces", "Traces", "traces"),
    PageSpec("decisions", "Decisions", "decisions"),
    PageSpec("drift", "Drift", "drift"),
    PageSpec("cost", "Cost", "cost"),
    PageSpec("lineage", "Lineage", "lineage"),
    PageSpec("kpis", "KPIs", "kpis"),
    PageSpec("collector", "Collector", "collector"),
)


def pages() -> list[StreamlitPage]:
    """``st.Page`` objects for the available pages; Overview is the default."""
    return [
        st.Page(spec.path, title=spec.title, url_path=spec.url_path, default=spec.url_path == "")
        for spec in PAGES
    ]
