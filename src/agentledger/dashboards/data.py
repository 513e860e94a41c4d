"""Where the dashboards' data comes from: one read-only connection and cached per-panel loaders.

The dashboards are just another ClickHouse client: they read through an HTTP endpoint as a
read-only user (``AGENTLEDGER_CLICKHOUSE_URL``), never by opening the embedded engine, which
only one process may own. Every query runs through :func:`cached`, for :data:`CACHE_TTL_SECONDS`, so
several viewers and reruns of the same window share one query.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import streamlit as st

from agentledger.config import Settings, mask_url
from agentledger.dashboards import queries
from agentledger.dashboards.timerange import ALIGN_SECONDS
from agentledger.storage.http_store import HttpStore

__all__ = [
    "CACHE_TTL_SECONDS",
    "Source",
    "cached",
    "collector_metrics_url",
    "describe_error",
    "filter_values",
    "otlp_endpoint",
    "source",
    "store_for",
]

T = TypeVar("T")

CACHE_TTL_SECONDS = ALIGN_SECONDS
_ANY_ADDRESS = {"", "0.0.0.0", "::"}


@dataclass(frozen=True)
class Source:
    """The ClickHouse endpoint and database a dashboard reads, and the tenant a logged-in viewer
    is confined to ("" for all); also the loaders' cache key."""

    url: str
    database: str
    tenant: str = ""

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)


def source(settings: Settings, tenant: str = "") -> Source:
    """``AGENTLEDGER_CLICKHOUSE_URL``, else the embedded SQL endpoint as the ``reader`` user;
    with ``tenant``, the endpoint itself confines every query to that tenant's rows."""
    url = settings.clickhouse_url or (
        f"http://reader:{quote(settings.reader_password, safe='')}@"
        f"{_reachable(settings.host)}:{settings.sql_port}"
    )
    return Source(url, settings.database, tenant)


def otlp_endpoint(settings: Settings) -> str:
    """Where agents send OTLP/HTTP, for the empty-state hints."""
    return f"http://{_reachable(settings.host)}:{settings.otlp_http_port}"


def collector_metrics_url(settings: Settings) -> str:
    """The collector's Prometheus ``/metrics`` (served on the OTLP/HTTP port)."""
    scheme = "https" if settings.tls_cert_file else "http"
    return f"{scheme}://{_reachable(settings.host)}:{settings.otlp_http_port}/metrics"


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
    return HttpStore(src.url, src.database, tenant=src.tenant or None)


def store_for(src: Source) -> HttpStore:
    """The one shared connection to ``src`` (a read-only user's, in production)."""
    return _store(src)


def cached(src: Source, query: Callable[..., T], *args: Hashable) -> T:
    """``query(store, *args)`` through the shared connection, cached for
    :data:`CACHE_TTL_SECONDS` per source, query and arguments (frozen dataclasses such as
    :class:`~agentledger.dashboards.filters.Filters` are fine arguments: they are the key)."""
    result: T = _cached(src, f"{query.__module__}.{query.__qualname__}", args, query)
    return result


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def _cached(src: Source, name: str, args: tuple[Hashable, ...], _query: Callable[..., Any]) -> Any:
    return _query(_store(src), *args)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def filter_values(src: Source, tenant: str, start: datetime) -> dict[str, list[str]]:
    return queries.filter_values(_store(src), tenant, start)


def _reachable(host: str) -> str:
    """A bind address clients can dial: a wildcard bind is reached over loopback."""
    return "127.0.0.1" if host in _ANY_ADDRESS else host
