"""Small pieces every page repeats: a chart's numbers one click away, links that keep the global
filters, and number formats."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

__all__ = ["COUNT", "MS", "USD", "link", "numbers", "usd"]

MS = st.column_config.NumberColumn(format="%.1f ms")
USD = st.column_config.NumberColumn(format="$%.4f")
COUNT = st.column_config.NumberColumn(format="localized")

_CARRIED = ("range", "tenant", "service", "agent")
_FILE_SAFE = re.compile(r"[^a-z0-9]+")


def link(path: str, **params: str) -> str:
    """A relative URL to page ``path`` ("/traces") with ``params`` and the current global
    filters, so the page it opens shows the same range, tenant, service and agent."""
    carried = {key: str(st.query_params[key]) for key in _CARRIED if key in st.query_params}
    query = urlencode(carried | {key: value for key, value in params.items() if value})
    return f"{path}?{query}" if query else path


def numbers(
    frame: pd.DataFrame,
    title: str,
    column_config: Mapping[str, Any] | None = None,
    *,
    expanded: bool = False,
) -> None:
    """The table behind a chart, in an expander, with a CSV download of the same rows."""
    with st.expander(f"Numbers: {title}", expanded=expanded):
        st.dataframe(frame, hide_index=True, column_config=column_config)
        st.download_button(
            "Download CSV",
            frame.to_csv(index=False).encode(),
            file_name=f"{_FILE_SAFE.sub('-', title.lower()).strip('-')}.csv",
            mime="text/csv",
            on_click="ignore",
        )


def usd(amount: float) -> str:
    """Dollars to the cent, or to 1/100 cent below a dollar."""
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"
