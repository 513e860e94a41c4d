"""Where the dashboards' data comes from: one read-only connection and cached per-panel loaders.

The dashboards are just another ClickHouse client: they read through an HTTP endpoint as a
read-only user (``AGENTLEDGER_CLICKHOUSE_URL``), never by opening the embedded engine, which
only one process may own. Loaders are cached for :data:`CACHE_TTL_SECONDS` so several viewers and
reruns of the same window share one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pandas as pd
import streamlit as st

from agentledger.config import Settings, mask_url
from agentledger.dashboards import queries
from agentledger.dashboards.timerange import ALIGN_SECONDS, Window
from agentledger.storage.http_store import HttpStore

__all__ = [
    "CACHE_TTL_SECONDS",
    "Source",
    "agent_latency",
    "cost_by_model",
    "describe_error",
    "filter_values",
    "kpi_totals",
    "latest_decisions",
    "otlp_endpoint",
    "source",
    "span_totals",
    "throughput",
]

CACHE_TTL_SECONDS = ALIGN_SECONDS
_ANY_ADDRESS = {"", "0.0.0.0", "::"}


@dataclass(frozen=True)
class Source:
    """The ClickHouse endpoint and database a dashboard reads; also the loaders' cache key."""

    url: str
    database: str

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)


def source(settings: Settings) -> Source:
    """``AGENTLEDGER_CLICKHOUSE_URL``, else the embedded SQL endpoint as the ``reader`` user."""
    url = settings.clickhouse_url or (
        f"http://reader:{quote(settings.reader_password, safe='')}@"
        f"{_reachable(settings.host)}:{settings.sql_port}"
    )
    return Source(url, settings.database)


def otlp_endpoint(settings: Settings) -> str:
    """Where agents send OTLP/HTTP, for the empty-state hints."""
    return f"http://{_reachable(settings.host)}:{settings.otlp_http_port}"


def describe_error(src: Source, exc: Exception) -> str:
    """A one-paragraph, password-free explanation of a failed read, naming the endpoint."""
    message = str(exc)
    password = urlsplit(src.url).password
    if password:
        message = message.replace(password, "***")
    return (
        f"Cannot read AgentLedger data from ClickHouse at {src.masked_url} "
        f"(database `{src.database}`): {message}\n\n"
        "Check that the server is running and that AGENTLEDGER_CLICKHOUSE_URL names a user "
        "allowed to read it."
    )


@st.cache_resource(show_spinner=False)
def _store(src: Source) -> HttpStore:
    return HttpStore(src.url, src.database)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def filter_values(src: Source, tenant: str) -> dict[str, list[str]]:
    return queries.filter_values(_store(src), tenant)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def throughput(src: Source, window: Window) -> pd.DataFrame:
    return queries.throughput(_store(src), window.start, window.end, window.step_seconds)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def span_totals(src: Source, window: Window) -> pd.DataFrame:
    return queries.span_totals(_store(src), window.start, window.end)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def agent_latency(src: Source, window: Window) -> pd.DataFrame:
    return queries.agent_latency(_store(src), window.start, window.end)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def cost_by_model(src: Source, window: Window) -> pd.DataFrame:
    return queries.cost_by_model(_store(src), window.start, window.end)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def latest_decisions(src: Source, window: Window) -> pd.DataFrame:
    return queries.latest_decisions(_store(src), window.start, window.end)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def kpi_totals(src: Source, window: Window) -> pd.DataFrame:
    return queries.kpi_totals(_store(src), window.start, window.end)


def _reachable(host: str) -> str:
    """A bind address clients can dial: a wildcard bind is reached over loopback."""
    return "127.0.0.1" if host in _ANY_ADDRESS else host
