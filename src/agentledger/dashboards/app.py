"""Streamlit entry point: page setup and navigation only, so adding a page is one line here.

Run with ``python -m streamlit run app.py`` (see :func:`agentledger.dashboards.dashboard_command`).
"""

from __future__ import annotations

import streamlit as st

from agentledger.dashboards.navigation import pages

st.set_page_config(page_title="AgentLedger", layout="wide")
st.navigation(pages()).run()
