"""The Collector page: the collector's own ``/metrics`` (rendered by the real
:class:`~agentledger.collector.self_metrics.SelfMetrics`, served over a socket) and the stored
ingest history, per tenant."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from agentledger.collector.self_metrics import SelfMetrics
from agentledger.dashboards import collector_queries as cq
from agentledger.dashboards.filters import Filters
from agentledger.dashboards.timerange import window_for
from agentledger.storage.chdb_store import ChdbStore

from ..browser.dashboard_fixtures import dashboard_store, page_app, reader_url, rendered_text
from ..conftest import free_port, serve_in_thread

__all__ = ["dashboard_store", "reader_url"]


@pytest.fixture(scope="module")
def collector() -> Iterator[tuple[SelfMetrics, int]]:
    metrics = SelfMetrics()
    metrics.add("agentledger_received_records_total", 100, signal="traces", tenant="acme")
    metrics.add("agentledger_accepted_records_total", 90, signal="traces", tenant="acme")
    metrics.add(
        "agentledger_rejected_records_total", 10, signal="traces", tenant="acme", reason="invalid"
    )
    metrics.add("agentledger_received_records_total", 50, signal="logs", tenant="globex")
    metrics.add("agentledger_accepted_records_total", 50, signal="logs", tenant="globex")
    metrics.written("otel_traces", 140, 0.02)
    metrics.written("otel_traces", 140, 0.02)
    metrics.gauge("agentledger_queue_bytes", "Request bytes being processed.", lambda: 0)
    metrics.gauge("agentledger_spool_bytes", "Bytes accepted but not yet stored.", lambda: 2048)
    metrics.gauge("agentledger_store_healthy", "1 if the last write succeeded.", lambda: 1)

    async def prometheus(_: object) -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    app = Starlette(routes=[Route("/metrics", prometheus)])
    for port in serve_in_thread(app):
        yield metrics, port


def _env(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("AGENTLEDGER_HOST", "127.0.0.1")
    monkeypatch.setenv("AGENTLEDGER_OTLP_HTTP_PORT", str(port))


def test_parse_prometheus_reads_labels_and_values() -> None:
    text = (
        "# HELP x y\n# TYPE x counter\n"
        'agentledger_rejected_records_total{reason="bad \\"q\\"",tenant="a"} 3\n'
        "agentledger_spool_bytes 1e3\nnot a sample\n"
    )
    samples = cq.parse_prometheus(text)
    assert [(s.name, s.labels, s.value) for s in samples] == [
        ("agentledger_rejected_records_total", (("reason", 'bad "q"'), ("tenant", "a")), 3.0),
        ("agentledger_spool_bytes", (), 1000.0),
    ]


def test_rates_and_histogram_quantile() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    metric = "agentledger_accepted_records_total"
    before = cq.Scrape(
        at, cq.parse_prometheus(f'{metric}{{tenant="a"}} 10\n{metric}{{tenant="b"}} 50')
    )
    after = cq.Scrape(
        at + timedelta(seconds=10),
        cq.parse_prometheus(f'{metric}{{tenant="a"}} 30\n{metric}{{tenant="b"}} 5'),
    )
    rates = cq.rates(before, after, metric, "tenant")
    assert rates.to_dict("records") == [
        {"Tenant": "a", "PerSecond": 2.0},
        {"Tenant": "b", "PerSecond": 0.5},  # went down: the collector restarted
    ]
    histogram = cq.Scrape(
        at,
        cq.parse_prometheus(
            'h_bucket{le="0.1"} 0\nh_bucket{le="0.2"} 10\nh_bucket{le="+Inf"} 10\n'
        ),
    )
    assert cq.histogram_quantile(histogram, "h", 0.5) == pytest.approx(0.15)
    assert math.isnan(cq.histogram_quantile(cq.Scrape(at, ()), "h", 0.5))


def test_visible_samples_keep_a_tenant_and_the_collector_gauges(
    collector: tuple[SelfMetrics, int],
) -> None:
    _, port = collector
    found = cq.scrape(f"http://127.0.0.1:{port}/metrics")
    acme = cq.visible_samples(found, "acme")
    assert {s.label("tenant") for s in acme.samples} == {"acme", ""}
    assert acme.total("agentledger_spool_bytes") == 2048
    assert acme.total("agentledger_written_rows_total") == 0  # all tenants' rows: hidden
    assert cq.visible_samples(found, None) is found


def test_ingest_history_by_storage_time(dashboard_store: ChdbStore) -> None:
    history = cq.ingest_history(dashboard_store, Filters(window_for("1h"), tenant="acme"))
    # every acme row was stored by the fixture a moment ago, whatever its own timestamp
    assert (history["Spans"].sum(), history["Decisions"].sum(), history["KpiEvents"].sum()) == (
        13,
        4,
        7,
    )
    stored = history[history["Spans"] > 0].iloc[0]
    assert 1100 < stored["P50DelayS"] < 2000  # most spans started about 20 minutes ago
    assert stored["P95DelayS"] > 86400  # pulled up by the 3-day-old span, stored just now


def test_collector_page_live_and_stored(
    collector: tuple[SelfMetrics, int], reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics, port = collector
    _env(monkeypatch, port)
    app = page_app("collector", reader_url, monkeypatch, {"tenant": "acme"})
    assert not app.error and not app.warning
    shown = {m.label: m.value for m in app.metric}
    assert shown["Ingest rate"] == "n/a"  # one scrape: no rate yet
    assert shown["Spool"] == "2,048 B"
    assert shown["Store"] == "healthy"
    assert shown["Write p95"] == "24 ms"  # two 20 ms batches in the 10-25 ms bucket
    buckets = next(f.value for f in app.dataframe if "Bucket" in f.value.columns)
    assert dict(zip(buckets["Bucket"], buckets["Count"], strict=True))["≤ 0.025 s"] == 2
    assert buckets["Count"].sum() == 2
    metrics.add("agentledger_accepted_records_total", 500, signal="traces", tenant="acme")
    app.run()
    shown = {m.label: m.value for m in app.metric}
    assert shown["Ingest rate"].endswith("/s") and shown["Ingest rate"] != "0.0/s"
    history = next(f.value for f in app.dataframe if "KpiEvents" in f.value.columns)
    assert history["Spans"].sum() == 13


def test_collector_page_for_a_tenant_viewer(
    collector: tuple[SelfMetrics, int], reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, port = collector
    _env(monkeypatch, port)
    app = page_app("collector", reader_url, monkeypatch, email="alice@acme.com")
    flows = next(f.value for f in app.dataframe if "signal" in f.value.columns)
    assert set(flows["tenant"]) == {"acme"}
    assert "globex" not in rendered_text(app)


def test_collector_unreachable_is_explained(
    reader_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, free_port())
    app = page_app("collector", reader_url, monkeypatch, {"tenant": "acme"})
    assert not app.error
    assert "cannot be read" in app.warning[0].value
    assert "agentledger serve" in app.warning[0].value
    history = next(f.value for f in app.dataframe if "KpiEvents" in f.value.columns)
    assert history["Decisions"].sum() == 4
