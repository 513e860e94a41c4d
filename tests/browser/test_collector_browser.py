"""The Collector page in a real headless Chromium, with a collector's real ``/metrics``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from agentledger.collector.self_metrics import SelfMetrics

from ..conftest import serve_in_thread
from .conftest import BrowserPage

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def collector_port() -> Iterator[int]:
    metrics = SelfMetrics()
    metrics.add("agentledger_accepted_records_total", 1234, signal="traces", tenant="acme")
    metrics.add(
        "agentledger_rejected_records_total", 7, signal="traces", tenant="acme", reason="invalid"
    )
    metrics.written("otel_traces", 1234, 0.03)
    metrics.gauge("agentledger_spool_bytes", "Bytes accepted but not yet stored.", lambda: 4096)
    metrics.gauge("agentledger_store_healthy", "1 if the last write succeeded.", lambda: 1)

    async def prometheus(_: Request) -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    yield from serve_in_thread(Starlette(routes=[Route("/metrics", prometheus)]))


def test_collector_page_live_and_stored(page: BrowserPage) -> None:
    text = page.open("/collector", "collector", "Stored ingest history", tenant="acme")
    assert "4,096 B" in text  # spool
    assert "healthy" in text
    assert "1,234 accepted" in text and "7 rejected" in text
    assert "Rows stored per minute" in text
