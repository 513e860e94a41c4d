"""Collector page: the collector's own health (ingest and rejection rates, queue, spool, write
latency) live from its ``/metrics``, and the stored ingest history (rows stored over time, delay
from span start to storage) from ClickHouse.

Rates need two scrapes: the page keeps the previous one in the session, so turn on auto-refresh
(or rerun) to see them move.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from agentledger.dashboards import data
from agentledger.dashboards.collector_queries import (
    Scrape,
    histogram_counts,
    histogram_quantile,
    ingest_history,
    rates,
    scrape,
    visible_samples,
)
from agentledger.dashboards.page import PageContext, run_page
from agentledger.dashboards.widgets import COUNT, numbers

_PREVIOUS = "collector_previous_scrape"


def _render(ctx: PageContext) -> None:
    _live(ctx)
    _history(ctx)


def _live(ctx: PageContext) -> None:
    st.subheader("Live, from the collector's /metrics")
    url = data.collector_metrics_url(ctx.settings)
    try:
        now = visible_samples(scrape(url), ctx.forced_tenant)
    except OSError as exc:
        st.warning(
            f"The collector's metrics at {url} cannot be read ({exc}). The collector serves them "
            "on its OTLP/HTTP port (AGENTLEDGER_HOST / AGENTLEDGER_OTLP_HTTP_PORT): start it "
            "with `agentledger serve` or `agentledger up`. Stored history is below."
        )
        return
    before: Scrape | None = st.session_state.get(_PREVIOUS)
    st.session_state[_PREVIOUS] = now
    _gauges(now, before)
    _counters(now, before)


def _gauges(now: Scrape, before: Scrape | None) -> None:
    received, accepted = "agentledger_received_records_total", "agentledger_accepted_records_total"
    rejected = "agentledger_rejected_records_total"
    seconds = (now.at - before.at).total_seconds() if before else 0.0

    def per_second(name: str) -> str:
        if not before or seconds <= 0:
            return "n/a"
        return f"{max(now.total(name) - before.total(name), 0) / seconds:,.1f}/s"

    p50 = histogram_quantile(now, "agentledger_write_seconds", 0.5)
    p95 = histogram_quantile(now, "agentledger_write_seconds", 0.95)
    cols = st.columns(6)
    cols[0].metric(
        "Ingest rate",
        per_second(accepted),
        help="Records accepted per second since this page's previous scrape.",
    )
    cols[1].metric("Rejection rate", per_second(rejected))
    cols[2].metric("Queue", f"{now.total('agentledger_queue_bytes'):,.0f} B")
    cols[3].metric("Spool", f"{now.total('agentledger_spool_bytes'):,.0f} B")
    cols[4].metric(
        "Write p95",
        "n/a" if math.isnan(p95) else f"{p95 * 1e3:,.0f} ms",
        help="Time to store one batch, from the write-latency histogram since the collector "
        "started (estimated within its buckets)"
        + ("." if math.isnan(p50) else f"; p50 {p50 * 1e3:,.0f} ms."),
    )
    healthy = now.total("agentledger_store_healthy")
    cols[5].metric("Store", "healthy" if healthy >= 1 else "failing")
    totals = pd.DataFrame(
        [
            {"Counter": "received", "Records": now.total(received)},
            {"Counter": "accepted", "Records": now.total(accepted)},
            {"Counter": "rejected", "Records": now.total(rejected)},
        ]
    )
    st.caption(
        f"Since the collector started: {int(totals['Records'][0]):,} records received, "
        f"{int(totals['Records'][1]):,} accepted, {int(totals['Records'][2]):,} rejected."
    )


def _counters(now: Scrape, before: Scrape | None) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown("**Accepted and rejected, by signal and tenant**")
        flows = pd.concat(
            [
                now.frame("agentledger_accepted_records_total").assign(Counter="accepted"),
                now.frame("agentledger_rejected_records_total").assign(Counter="rejected"),
            ],
            ignore_index=True,
        )
        if flows.empty:
            st.caption("Nothing received yet.")
        else:
            st.dataframe(flows, hide_index=True, column_config={"Value": COUNT})
        if before is not None:
            numbers(
                rates(before, now, "agentledger_accepted_records_total", "tenant"),
                "accepted per second by tenant",
            )
    with right:
        st.markdown("**Write latency (batches)**")
        buckets = histogram_counts(now, "agentledger_write_seconds")
        if buckets.empty or buckets["Count"].sum() == 0:
            st.caption("No batch written yet.")
        else:
            chart = (
                alt.Chart(buckets)
                .mark_bar()
                .encode(
                    x=alt.X("Bucket:N", sort=None, title="seconds to store a batch"),
                    y=alt.Y("Count:Q", title="batches"),
                    tooltip=["Bucket:N", "Count:Q"],
                )
                .properties(height=200)
            )
            st.altair_chart(chart, width="stretch")
            numbers(buckets, "write latency histogram")
        written = now.frame("agentledger_written_rows_total")
        if not written.empty:
            st.dataframe(written, hide_index=True, column_config={"Value": COUNT})


def _history(ctx: PageContext) -> None:
    st.subheader("Stored ingest history")
    history = ctx.load(ingest_history, ctx.filters)
    if int(history[["Spans", "Decisions", "KpiEvents"]].to_numpy().sum()) == 0:
        st.info(
            "Nothing was stored in this range. Agents send OTLP to "
            f"{ctx.otlp_endpoint} (`agentledger.instrumentation.setup()` or any OpenTelemetry "
            "SDK, with an API key from `agentledger keys create`)."
        )
        return
    step = ctx.filters.window.step_label
    st.caption(f"Rows stored per {step}, by when ClickHouse stored them.")
    stored = (
        alt.Chart(history)
        .transform_fold(["Spans", "Decisions", "KpiEvents"], as_=["Table", "Rows"])
        .mark_line(point=True)
        .encode(
            x=alt.X("Time:T", title=None),
            y=alt.Y("Rows:Q", title=f"rows per {step}"),
            color=alt.Color("Table:N", title=None),
            tooltip=["Time:T", "Table:N", "Rows:Q"],
        )
    )
    st.altair_chart(stored, width="stretch")
    st.caption("Delay from span start to storage (includes the span's own duration).")
    delay = (
        alt.Chart(history[history["Spans"] > 0])
        .transform_fold(["P50DelayS", "P95DelayS"], as_=["Quantile", "Seconds"])
        .mark_line(point=True)
        .encode(
            x=alt.X("Time:T", title=None),
            y=alt.Y("Seconds:Q", title="s"),
            color=alt.Color("Quantile:N", title=None),
            tooltip=["Time:T", "Quantile:N", alt.Tooltip("Seconds:Q", format=".2f")],
        )
    )
    st.altair_chart(delay, width="stretch")
    numbers(history, "stored ingest history", {"Spans": COUNT, "Decisions": COUNT})


run_page("Collector", _render)
