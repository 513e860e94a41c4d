"""Traces page: find traces (time, service, agent, status, model, attribute, trace id) and open
one as a waterfall, with each span's attributes, events and links, and the decisions taken in it.

``/traces?trace_id=ID`` opens a trace directly; every search field is kept in the URL too.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from agentledger.dashboards.filters import url_choice
from agentledger.dashboards.page import PageContext, run_page
from agentledger.dashboards.trace_queries import (
    STATUSES,
    TraceSearch,
    search_traces,
    trace_decisions,
    trace_spans,
)
from agentledger.dashboards.widgets import COUNT, MS, link, numbers

_INDENT = "\u2003"  # an em space: chart labels keep it, where they trim plain leading spaces


def _render(ctx: PageContext) -> None:
    trace_id = st.text_input(
        "Trace id", key="trace_id", bind="query-params", placeholder="32 hex digits"
    ).strip()
    if trace_id:
        _trace(ctx, trace_id)
        st.divider()
    _search(ctx, trace_id)


def _search(ctx: PageContext, trace_id: str) -> None:
    st.subheader("Search")
    cols = st.columns([1, 2, 2, 2])
    with cols[0]:
        status = url_choice("Status", "status", STATUSES)
    model = cols[1].text_input("Model", key="model", bind="query-params").strip()
    key = cols[2].text_input("Attribute key", key="attr_key", bind="query-params").strip()
    value = cols[3].text_input("Attribute value", key="attr_value", bind="query-params").strip()
    try:
        search = TraceSearch(
            status=status,
            model=model,
            attribute_key=key,
            attribute_value=value,
            trace_id=trace_id,
        )
    except ValueError as exc:
        st.warning(str(exc))
        return
    found = ctx.load(search_traces, ctx.filters, search)
    if found.empty:
        st.info(
            "No traces match in this range. Widen the time range or the filters; traces come "
            f"from spans your agents send over OTLP to {ctx.otlp_endpoint} "
            "(`agentledger.instrumentation.setup()`, or any OpenTelemetry SDK)."
        )
        return
    st.caption(f"{len(found):,} newest matching traces (at most {search.limit}).")
    shown = found.assign(Open=[link("/traces", trace_id=t) for t in found["TraceId"]])
    st.dataframe(
        shown,
        hide_index=True,
        column_order=["Open", *found.columns],
        column_config={
            "Open": st.column_config.LinkColumn("Trace", display_text=r"trace_id=([0-9a-f]{8})"),
            "DurationMs": MS,
            "Spans": COUNT,
            "Errors": COUNT,
            "Tokens": COUNT,
        },
    )
    st.download_button(
        "Download CSV",
        found.to_csv(index=False).encode(),
        file_name="traces.csv",
        mime="text/csv",
        on_click="ignore",
    )


def _trace(ctx: PageContext, trace_id: str) -> None:
    spans = ctx.load(trace_spans, ctx.filters.tenant, trace_id)
    if spans.empty:
        st.warning(
            f"No trace {trace_id} here. Check the id (32 hex digits); spans older than the "
            "retention (AGENTLEDGER_TTL_DAYS) are gone."
        )
        return
    root = spans.iloc[0]
    errors = int((spans["StatusCode"] == "Error").sum())
    total = float((spans["StartMs"] + spans["DurationMs"]).max())
    st.subheader(f"Trace {trace_id}")
    cols = st.columns(4)
    cols[0].metric("Spans", f"{len(spans):,}")
    cols[1].metric("Duration", f"{total:,.1f} ms")
    cols[2].metric("Errors", f"{errors:,}")
    cols[3].metric("Root", str(root["SpanName"]))
    _waterfall(spans)
    _span_detail(spans)
    _decisions(ctx, trace_id)
    st.markdown(f"[Lineage of this trace]({link('/lineage', trace_id=trace_id)})")


def _waterfall(spans: pd.DataFrame) -> None:
    depth = _depths(spans)
    bars = spans.assign(
        Label=[
            f"{_INDENT * depth[s]}{name}"
            for s, name in zip(spans["SpanId"], spans["SpanName"], strict=True)
        ],
        EndMs=spans["StartMs"] + spans["DurationMs"],
        Order=range(len(spans)),
    )[["Label", "Kind", "StartMs", "EndMs", "DurationMs", "StatusCode", "SpanId", "Order"]]
    chart = (
        alt.Chart(bars)
        .mark_bar(cornerRadius=2)
        .encode(
            x=alt.X("StartMs:Q", title="ms from trace start"),
            x2="EndMs:Q",
            y=alt.Y(
                "Label:N", title=None, sort=alt.SortField("Order"), axis=alt.Axis(labelLimit=320)
            ),
            color=alt.Color("Kind:N", title="Kind"),
            stroke=alt.condition("datum.StatusCode == 'Error'", alt.value("red"), alt.value(None)),
            tooltip=[
                "Label:N",
                "Kind:N",
                alt.Tooltip("DurationMs:Q", format=".1f"),
                "StatusCode:N",
                "SpanId:N",
            ],
        )
        .properties(height=max(120, 22 * len(bars)))
    )
    st.altair_chart(chart, width="stretch")
    numbers(
        bars.drop(columns="Order"),
        "spans of this trace",
        {"StartMs": MS, "EndMs": MS, "DurationMs": MS},
    )


def _depths(spans: pd.DataFrame) -> dict[str, int]:
    """Each span's depth below the trace's roots (a span whose parent is missing is a root)."""
    parents = dict(zip(spans["SpanId"], spans["ParentSpanId"], strict=True))
    depths: dict[str, int] = {}
    for span in parents:
        chain, node = [], span
        while node in parents and node not in depths and node not in chain:
            chain.append(node)
            node = parents[node]
        base = depths.get(node, -1)
        for offset, item in enumerate(reversed(chain), start=1):
            depths[item] = base + offset
    return depths


def _span_detail(spans: pd.DataFrame) -> None:
    labels = [f"{row.SpanName} · {row.SpanId}" for row in spans.itertuples()]
    chosen = st.selectbox("Span", range(len(spans)), format_func=lambda i: labels[i], key="span")
    span = spans.iloc[int(chosen or 0)]
    cols = st.columns(4)
    cols[0].markdown(f"**Kind** {span['Kind']} ({span['SpanKind']})")
    cols[1].markdown(f"**Status** {span['StatusCode']} {span['StatusMessage']}")
    cols[2].markdown(f"**Duration** {float(span['DurationMs']):,.1f} ms")
    cols[3].markdown(f"**Service** {span['ServiceName']}")
    if span["DecisionId"]:
        st.markdown(
            f"Decision [{span['DecisionId']}]({link('/decisions', decision_id=span['DecisionId'])})"
        )
    tabs = st.tabs(["Attributes", "Resource", "Events", "Links"])
    with tabs[0]:
        st.dataframe(_pairs(span["SpanAttributes"]), hide_index=True)
    with tabs[1]:
        st.dataframe(_pairs(span["ResourceAttributes"]), hide_index=True)
    with tabs[2]:
        events = pd.DataFrame(
            {
                "Time": list(span["EventTimes"]),
                "Name": list(span["EventNames"]),
                "Attributes": [dict(a) for a in span["EventAttributes"]],
            }
        )
        if events.empty:
            st.caption("This span recorded no events.")
        else:
            st.dataframe(events, hide_index=True)
    with tabs[3]:
        links = pd.DataFrame(
            {
                "TraceId": list(span["LinkTraceIds"]),
                "SpanId": list(span["LinkSpanIds"]),
                "Attributes": [dict(a) for a in span["LinkAttributes"]],
            }
        )
        if links.empty:
            st.caption("This span links to no other spans.")
        else:
            links["Open"] = [link("/traces", trace_id=t) for t in links["TraceId"]]
            st.dataframe(
                links,
                hide_index=True,
                column_config={"Open": st.column_config.LinkColumn(display_text="open trace")},
            )


def _pairs(mapping: dict[str, str] | list[tuple[str, str]]) -> pd.DataFrame:
    items = mapping.items() if isinstance(mapping, dict) else mapping
    rows = sorted((str(k), str(v)) for k, v in items)
    return pd.DataFrame(rows, columns=["Key", "Value"])


def _decisions(ctx: PageContext, trace_id: str) -> None:
    found = ctx.load(trace_decisions, ctx.filters.tenant, trace_id)
    st.subheader("Decisions in this trace")
    if found.empty:
        st.caption(
            "No decision was recorded in this trace (`record_decision(...)` inside the agent "
            "run records one)."
        )
        return
    shown = found.assign(
        Open=[link("/decisions", decision_id=d) for d in found["DecisionId"]],
        Lineage=[link("/lineage", decision_id=d) for d in found["DecisionId"]],
    )
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "Open": st.column_config.LinkColumn(display_text="details"),
            "Lineage": st.column_config.LinkColumn(display_text="lineage"),
            "Confidence": st.column_config.NumberColumn(format="%.2f"),
        },
    )


run_page("Traces", _render)
