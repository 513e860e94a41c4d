"""Streamlit entry point: page setup and navigation only, so adding a page is one line here.

Run with ``python -m streamlit run app.py`` (see :func:`agentledger.dashboards.dashboard_command`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

_PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="AgentLedger", layout="wide")
st.navigation([st.Page(_PAGES / "overview.py", title="Overview", url_path="", default=True)]).run()
