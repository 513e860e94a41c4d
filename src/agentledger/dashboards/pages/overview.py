"""Overview page: is traffic flowing, is it healthy, what does it cost, what did agents decide.

Rendering only: every number comes from a loader in :mod:`agentledger.dashboards.data`. Each chart
has its table next to it or in an expander, and each empty panel says how to fill it.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from agentledger.config import ConfigError, Settings
from agentledger.dashboards import data
from agentledger.dashboards.timerange import Window, pick_window
from agentledger.storage.store import StoreError

_MS = st.column_config.NumberColumn(format="%.1f ms")
_USD = st.column_config.NumberColumn(format="$%.4f")
_COUNT = st.column_config.NumberColumn(format="localized")


def render() -> None:
    st.title("Overview")
    window = pick_window()
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        st.error(f"Invalid configuration: {exc}")
        return
    src = data.source(settings)
    try:
        totals = data.span_totals(src, window)
        throughput = data.throughput(src, window)
        latency = data.agent_latency(src, window)
        cost = data.cost_by_model(src, window)
        decisions = data.latest_decisions(src, window)
        kpis = data.kpi_totals(src, window)
    except StoreError as exc:
        st.error(data.describe_error(src, exc))
        return

    _headline(totals, cost)
    _throughput(throughput, window, data.otlp_endpoint(settings))
    left, right = st.columns(2)
    with left:
        _latency(latency)
    with right:
        _cost(cost, window, settings.job_interval_seconds)
    _decisions(decisions)
    _kpis(kpis)


def _headline(totals: pd.DataFrame, cost: pd.DataFrame) -> None:
    row = totals.iloc[0]
    spans, traces, errors = int(row["Spans"]), int(row["Traces"]), int(row["Errors"])
    columns = st.columns(4)
    columns[0].metric("Spans", f"{spans:,}")
    columns[1].metric("Traces", f"{traces:,}")
    columns[2].metric(
        "Error rate",
        f"{float(row['ErrorRate']):.1%}",
        help=f"{errors:,} of {spans:,} spans have StatusCode 'Error'.",
    )
    columns[3].metric(
        "Cost (USD)",
        _usd(float(cost["CostUsd"].sum())) if not cost.empty else "n/a",
        help="Token cost of the UTC days this range touches, from the cost rollups.",
    )


def _throughput(frame: pd.DataFrame, window: Window, otlp: str) -> None:
    st.subheader(f"Spans and traces per {window.step_label}")
    if frame.empty or int(frame["Spans"].sum()) == 0:
        st.info(
            "No spans in this range — instrument an agent with "
            f"`agentledger.instrumentation.setup()` and send OTLP to {otlp}, "
            "or pick a longer time range."
        )
        return
    chart = (
        alt.Chart(frame)
        .transform_fold(["Spans", "Traces"], as_=["Series", "Count"])
        .mark_line(point=True)
        .encode(
            x=alt.X("Minute:T", title=None),
            y=alt.Y("Count:Q", title=f"per {window.step_label}"),
            color=alt.Color("Series:N", title=None),
            tooltip=["Minute:T", "Series:N", "Count:Q"],
        )
    )
    st.altair_chart(chart, width="stretch")
    with st.expander("Numbers"):
        st.dataframe(frame, hide_index=True, column_config={"Spans": _COUNT, "Traces": _COUNT})


def _latency(frame: pd.DataFrame) -> None:
    st.subheader("Latency per agent")
    if frame.empty:
        st.info(
            "No agent spans in this range — a span counts as an agent run when it has "
            "`gen_ai.operation.name = invoke_agent` or names its agent "
            "(`gen_ai.agent.name`), as `agentledger.instrumentation` spans do."
        )
        return
    chart = (
        alt.Chart(frame)
        .transform_fold(["P50Ms", "P95Ms"], as_=["Quantile", "Ms"])
        .mark_bar()
        .encode(
            x=alt.X("Ms:Q", title="ms"),
            y=alt.Y("Agent:N", title=None, sort="-x"),
            yOffset="Quantile:N",
            color=alt.Color("Quantile:N", title=None),
            tooltip=["Agent:N", "Quantile:N", alt.Tooltip("Ms:Q", format=".1f")],
        )
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(
        frame,
        hide_index=True,
        column_config={"P50Ms": _MS, "P95Ms": _MS, "Runs": _COUNT, "Errors": _COUNT},
    )


def _cost(frame: pd.DataFrame, window: Window, job_interval: float) -> None:
    first, last = window.start.date(), window.end.date()
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
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "CostUsd": _USD,
            "InputTokens": _COUNT,
            "OutputTokens": _COUNT,
            "UnpricedTokens": _COUNT,
        },
    )
    unpriced = frame[frame["UnpricedTokens"] > 0]
    if not unpriced.empty:
        st.warning(
            f"{int(unpriced['UnpricedTokens'].sum()):,} tokens have no price and are not in the "
            f"cost: {', '.join(unpriced['ModelName'])}. Add a row to `model_prices` for them."
        )


def _decisions(frame: pd.DataFrame) -> None:
    st.subheader("Latest decisions")
    if frame.empty:
        st.info(
            "No decisions in this range — decisions your agents record land in the hash-chained "
            "`decisions` audit table and show here, newest first."
        )
        return
    st.dataframe(
        frame,
        hide_index=True,
        column_config={"Confidence": st.column_config.NumberColumn(format="%.2f")},
    )


def _kpis(frame: pd.DataFrame) -> None:
    st.subheader("KPIs")
    if frame.empty:
        st.info(
            "No KPI events in this range — business outcomes your agents report (a resolved "
            "ticket, an order's value) land in `kpi_events` and are totalled here."
        )
        return
    st.dataframe(frame, hide_index=True, column_config={"Count": _COUNT})


def _usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"


render()
