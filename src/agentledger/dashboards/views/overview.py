"""Overview page: is traffic flowing and healthy, what does it cost, how are the KPIs, what is
anomalous, and what did agents decide, against the period before.

Rendering only: every number comes from :mod:`agentledger.dashboards.queries`. Each chart has its
numbers one click away, and each empty panel says how to fill it.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from agentledger.dashboards import queries
from agentledger.dashboards.page import PageContext, run_page
from agentledger.dashboards.widgets import COUNT, MS, USD, link, numbers, usd


def _render(ctx: PageContext) -> None:
    f = ctx.filters
    totals = ctx.load(queries.period_totals, f).set_index("Period")
    trend = ctx.load(queries.trend, f)
    cost = ctx.load(queries.cost_by_model, f)
    _headline(totals, trend, cost)
    numbers(
        trend,
        f"traffic per {f.window.step_label} (the sparklines)",
        {"Spans": COUNT, "Traces": COUNT, "Errors": COUNT, "P95Ms": MS, "Tokens": COUNT},
    )
    if int(totals.loc["current", "Spans"]) == 0:
        st.info(
            "No spans in this range — instrument an agent with "
            f"`agentledger.instrumentation.setup()` and send OTLP to {ctx.otlp_endpoint}, "
            "or pick a longer time range."
        )
    else:
        _golden_signals(ctx.load(queries.golden_signals, f))
    left, right = st.columns(2)
    with left:
        _cost(cost, f.window.start.date(), f.window.end.date(), ctx.settings.job_interval_seconds)
    with right:
        _anomalies(ctx.load(queries.open_anomalies, f), ctx.settings.job_interval_seconds)
    _kpis(ctx.load(queries.kpi_headlines, f))
    _decisions(ctx.load(queries.latest_decisions, f))


def _headline(totals: pd.DataFrame, trend: pd.DataFrame, cost: pd.DataFrame) -> None:
    now, before = totals.loc["current"], totals.loc["previous"]
    columns = st.columns(5)
    vs = "vs the previous period of the same length"
    columns[0].metric(
        "Spans",
        f"{int(now['Spans']):,}",
        delta=f"{int(now['Spans'] - before['Spans']):+,}",
        delta_color="off",
        chart_data=list(trend["Spans"]),
        help=f"Spans stored in the range; the change is {vs}.",
    )
    columns[1].metric(
        "Traces",
        f"{int(now['Traces']):,}",
        delta=f"{int(now['Traces'] - before['Traces']):+,}",
        delta_color="off",
        chart_data=list(trend["Traces"]),
        help="Traces started in the range (their root span is in it).",
    )
    columns[2].metric(
        "Error rate",
        f"{float(now['ErrorRate']):.1%}",
        delta=f"{100 * float(now['ErrorRate'] - before['ErrorRate']):+.1f} pts",
        delta_color="inverse",
        chart_data=list(trend["Errors"]),
        help=f"{int(now['Errors']):,} of {int(now['Spans']):,} spans have StatusCode 'Error'.",
    )
    p95 = float(now["P95Ms"])
    columns[3].metric(
        "p95 run latency",
        "n/a" if math.isnan(p95) else f"{p95:,.0f} ms",
        delta=_ms_delta(p95, float(before["P95Ms"])),
        delta_color="inverse",
        chart_data=list(trend["P95Ms"]),
        help="95th percentile duration of agent runs and root spans.",
    )
    columns[4].metric(
        "Cost (USD)",
        usd(float(cost["CostUsd"].sum())) if not cost.empty else "n/a",
        help="Token cost of the UTC days this range touches, from the cost rollups.",
    )


def _ms_delta(now: float, before: float) -> str | None:
    if math.isnan(now) or math.isnan(before):
        return None
    return f"{now - before:+,.0f} ms"


def _golden_signals(frame: pd.DataFrame) -> None:
    st.subheader("Golden signals per service and agent")
    st.caption(
        "Throughput counts runs (agent invocations and root spans); error rate is over all "
        "spans; latency quantiles are over runs."
    )
    runs = frame[frame["Runs"] > 0]
    if not runs.empty:
        chart = (
            alt.Chart(runs.assign(Name=runs["Service"] + " / " + runs["Agent"]))
            .transform_fold(["P50Ms", "P95Ms", "P99Ms"], as_=["Quantile", "Ms"])
            .mark_bar()
            .encode(
                x=alt.X("Ms:Q", title="ms"),
                y=alt.Y("Name:N", title=None, sort="-x"),
                yOffset="Quantile:N",
                color=alt.Color("Quantile:N", title=None),
                tooltip=["Name:N", "Quantile:N", alt.Tooltip("Ms:Q", format=".1f")],
            )
        )
        st.altair_chart(chart, width="stretch")
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "Spans": COUNT,
            "Runs": COUNT,
            "RunsPerMin": st.column_config.NumberColumn("Runs/min", format="%.2f"),
            "Errors": COUNT,
            "ErrorRate": st.column_config.NumberColumn("Error rate", format="percent"),
            "P50Ms": MS,
            "P95Ms": MS,
            "P99Ms": MS,
            "InputTokens": COUNT,
            "OutputTokens": COUNT,
        },
    )


def _cost(frame: pd.DataFrame, first: object, last: object, job_interval: float) -> None:
    days = str(first) if first == last else f"{first} to {last}"
    st.subheader("Cost by model")
    st.caption(f"Whole UTC days: {days}.")
    if frame.empty:
        st.info(
            f"No cost rollups for {days} — the cost job prices LLM spans every "
            f"{job_interval:g} s from their model (`gen_ai.request.model`) and token usage "
            "(`gen_ai.usage.input_tokens` / `output_tokens`)."
        )
        return
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("CostUsd:Q", title="USD"),
            y=alt.Y("ModelName:N", title=None, sort="-x"),
            tooltip=["ModelName:N", alt.Tooltip("CostUsd:Q", format="$.4f")],
        )
    )
    st.altair_chart(chart, width="stretch")
    config = {"CostUsd": USD, "InputTokens": COUNT, "OutputTokens": COUNT, "UnpricedTokens": COUNT}
    numbers(frame, "cost by model", config)
    unpriced = frame[frame["UnpricedTokens"] > 0]
    if not unpriced.empty:
        st.warning(
            f"{int(unpriced['UnpricedTokens'].sum()):,} tokens have no price and are not in the "
            f"cost: {', '.join(unpriced['ModelName'])}. Add a price with `agentledger prices set`."
        )


def _anomalies(frame: pd.DataFrame, job_interval: float) -> None:
    st.subheader("Open anomalies")
    if frame.empty:
        st.success(
            "No open anomalies. The anomaly job scores each hour's latency, errors, tokens and "
            f"cost per agent and model against the same hour of the last 7 days (every "
            f"{job_interval:g} s)."
        )
        return
    st.dataframe(
        frame,
        hide_index=True,
        column_order=["Severity", "Message", "Entity", "Metric", "Value", "Baseline", "Timestamp"],
    )


def _kpis(frame: pd.DataFrame) -> None:
    st.subheader("KPIs")
    if frame.empty:
        st.info(
            "No KPI events in this range — report business outcomes with "
            "`agentledger.instrumentation.record_kpi(name, value, decision_id=...)`; they land "
            "in `kpi_events` and are totalled here."
        )
        return
    columns = st.columns(min(len(frame), 4))
    for index, row in enumerate(frame.itertuples()):
        unit = f" {row.Unit}" if row.Unit else ""
        prev = float(row.PrevSum)
        columns[index % len(columns)].metric(
            f"{row.KpiName}",
            f"{float(row.Sum):,.6g}{unit}",
            delta=f"{float(row.Sum) - prev:+,.6g}",
            delta_color="off",
            help=f"{int(row.Count):,} events, average {float(row.Avg):,.4g}{unit}; "
            f"the change is against the previous period ({prev:,.6g}{unit}).",
        )
    numbers(frame, "KPIs", {"Count": COUNT})


def _decisions(frame: pd.DataFrame) -> None:
    st.subheader("Latest decisions")
    if frame.empty:
        st.info(
            "No decisions in this range — decisions your agents record with "
            "`record_decision(...)` land in the hash-chained `decisions` audit table and show "
            "here, newest first."
        )
        return
    shown = frame.assign(Open=[link("/decisions", decision_id=i) for i in frame["DecisionId"]])
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "Confidence": st.column_config.NumberColumn(format="%.2f"),
            "Open": st.column_config.LinkColumn("Open", display_text="details"),
        },
    )


run_page("Overview", _render)
