"""Cost page: spend by model, agent, tenant and day, this month's forecast, budgets, and what a
unit of a business KPI costs.

Rendering only: every number comes from :mod:`agentledger.dashboards.analytics_data`. Spend is
read from the cost job's daily rollups, so the range covers whole UTC days.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from agentledger.dashboards import analytics_data as ad
from agentledger.dashboards import widgets
from agentledger.dashboards.page import PageContext, run_page

_GROUPS = {"model": "Model", "agent": "Agent", "tenant": "Tenant", "day": "Day"}


def _render(ctx: PageContext) -> None:
    rows = ctx.load(ad.cost_rows, ctx.filters)
    first, last = ctx.filters.window.start.date(), ctx.filters.window.end.date()
    days = str(first) if first == last else f"{first} to {last}"
    st.caption(f"Whole UTC days: {days}, from the cost job's daily rollups.")
    if rows.empty:
        st.info(
            f"No cost rollups for {days} — the cost job (`agentledger jobs run cost`; "
            f"`agentledger up` runs it every {ctx.settings.job_interval_seconds:g} s) prices "
            "LLM spans from their model (`gen_ai.request.model`) and token usage "
            "(`gen_ai.usage.input_tokens` / `output_tokens`)."
        )
    else:
        _totals(rows)
        _per_day(rows)
        _breakdowns(rows)
    _forecast(ctx)
    _budgets(ctx)
    _per_kpi(ctx)


def _totals(rows: pd.DataFrame) -> None:
    columns = st.columns(4)
    columns[0].metric("Cost (USD)", widgets.usd(float(rows["CostUsd"].sum())))
    columns[1].metric("Input tokens", f"{int(rows['InputTokens'].sum()):,}")
    columns[2].metric("Output tokens", f"{int(rows['OutputTokens'].sum()):,}")
    columns[3].metric(
        "Unpriced tokens",
        f"{int(rows['UnpricedTokens'].sum()):,}",
        help="Tokens of models with no price in the catalog: not in the cost.",
    )
    unpriced = rows[rows["UnpricedTokens"] > 0]
    if not unpriced.empty:
        models = ", ".join(sorted(set(unpriced["Model"])))
        st.warning(
            f"{int(unpriced['UnpricedTokens'].sum()):,} tokens have no price and are not in the "
            f"cost: {models}. Add a price with `agentledger prices set`."
        )


def _per_day(rows: pd.DataFrame) -> None:
    st.subheader("Cost per day")
    daily = rows.groupby(["Day", "Model"], as_index=False)["CostUsd"].sum()
    chart = (
        alt.Chart(daily)
        .mark_bar()
        .encode(
            x=alt.X("Day:T", title=None, timeUnit="utcyearmonthdate"),
            y=alt.Y("CostUsd:Q", title="USD"),
            color=alt.Color("Model:N"),
            tooltip=["Day:T", "Model:N", alt.Tooltip("CostUsd:Q", format="$.4f")],
        )
    )
    st.altair_chart(chart, width="stretch")
    widgets.numbers(daily, "Cost per day", {"CostUsd": widgets.USD})


def _breakdowns(rows: pd.DataFrame) -> None:
    st.subheader("Cost by")
    name = str(
        st.segmented_control(
            "Group by",
            list(_GROUPS),
            default="model",
            required=True,
            key="cost_by",
            bind="query-params",
        )
    )
    column = _GROUPS[name]
    measures = ["Spans", "InputTokens", "OutputTokens", "CostUsd", "UnpricedTokens"]
    frame = rows.groupby(column, as_index=False)[measures].sum()
    if column == "Day":
        frame = frame.sort_values("Day").assign(Day=lambda f: f["Day"].astype(str))
    else:
        frame = frame.sort_values(["CostUsd", column], ascending=[False, True])
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("CostUsd:Q", title="USD"),
            y=alt.Y(f"{column}:N", title=None, sort=None if column == "Day" else "-x"),
            tooltip=[f"{column}:N", alt.Tooltip("CostUsd:Q", format="$.4f")],
        )
    )
    st.altair_chart(chart, width="stretch")
    config = {m: widgets.USD if m == "CostUsd" else widgets.COUNT for m in measures}
    widgets.numbers(frame, f"Cost by {name}", config, expanded=True)


def _forecast(ctx: PageContext) -> None:
    st.subheader("This month")
    forecast = ctx.load(ad.cost_forecast, ctx.filters)
    columns = st.columns(3)
    columns[0].metric("Spent this month", widgets.usd(forecast.spent_usd))
    columns[1].metric(
        "Forecast for the month",
        widgets.usd(forecast.forecast_usd),
        help="Spent so far plus the last 7 days' rate over the rest of the UTC month, as "
        "monthly budgets are forecast.",
    )
    columns[2].metric("Recent daily rate", widgets.usd(forecast.daily_rate_usd))


def _budgets(ctx: PageContext) -> None:
    st.subheader("Budgets")
    frame = ctx.load(ad.budgets, ctx.filters)
    if frame.empty:
        st.info(
            "No budgets for this view — set one with `agentledger budgets set --tenant T "
            "--agent A --period month --usd 500`; the budgets job then forecasts each period "
            "and raises an alert before the budget is crossed."
        )
        return
    frame = frame.assign(Budget=frame["Tenant"] + " / " + frame["Agent"] + " / " + frame["Period"])
    bars = frame.melt(
        id_vars=["Budget"],
        value_vars=["SpentUsd", "ForecastUsd"],
        var_name="What",
        value_name="Usd",
    )
    chart = alt.layer(
        alt.Chart(bars)
        .mark_bar()
        .encode(
            x=alt.X("Usd:Q", title="USD"),
            y=alt.Y("Budget:N", title=None),
            yOffset="What:N",
            color=alt.Color("What:N", title=None),
            tooltip=["Budget:N", "What:N", alt.Tooltip("Usd:Q", format="$.2f")],
        ),
        alt.Chart(frame)
        .mark_tick(color="red", thickness=3, size=30)
        .encode(x="BudgetUsd:Q", y="Budget:N", tooltip=["Budget:N", "BudgetUsd:Q"]),
    )
    st.altair_chart(chart, width="stretch")
    over = frame[frame["State"] != "ok"]
    for row in over.itertuples():
        what = "has spent" if row.State == "over" else "is forecast to spend"
        st.warning(f"{row.Budget} {what} more than its ${row.BudgetUsd:,.2f} budget.")
    config = {
        "BudgetUsd": widgets.USD,
        "SpentUsd": widgets.USD,
        "ForecastUsd": widgets.USD,
    }
    widgets.numbers(frame.drop(columns=["Budget"]), "Budgets", config)


def _per_kpi(ctx: PageContext) -> None:
    st.subheader("Cost per KPI unit")
    names = ctx.load(ad.kpi_names, ctx.filters)
    if names.empty:
        st.info(
            "No KPI events in this range — report business outcomes with "
            "`agentledger.instrumentation.record_kpi('ticket_resolved', 1, decision_id=...)`; "
            "their decision or trace ties them to what they cost."
        )
        return
    kpi = st.selectbox("KPI", list(names["KpiName"]), key="cost_kpi")
    if ctx.load(ad.kpi_attributed_until) is None:
        st.info(ad.kpi_job_pending(ctx.settings.job_interval_seconds))
        return
    frame = ctx.load(ad.cost_per_kpi, ctx.filters, str(kpi))
    if frame.empty:
        st.info(f"No {kpi} events for this agent in this range.")
        return
    value, cost = float(frame["kpi_value"].sum()), float(frame["cost_usd"].sum())
    unit = names.set_index("KpiName").loc[kpi, "Unit"] or "unit"
    st.metric(
        f"Cost per {kpi} {unit}",
        widgets.usd(cost / value) if value else "n/a",
        help="The cost of the traces the KPI's events in the range are attributed to, divided "
        "by the KPI's total: each trace counted once per agent.",
    )
    chart = (
        alt.Chart(frame.dropna(subset=["cost_per_unit"]))
        .mark_bar()
        .encode(
            x=alt.X("cost_per_unit:Q", title=f"USD per {unit}"),
            y=alt.Y("agent:N", title=None, sort="-x"),
            tooltip=["agent:N", alt.Tooltip("cost_per_unit:Q", format="$.4f"), "kpi_value:Q"],
        )
    )
    st.altair_chart(chart, width="stretch")
    config = {"cost_usd": widgets.USD, "cost_per_unit": widgets.USD}
    widgets.numbers(frame, f"Cost per {kpi}", config)


run_page("Cost", _render)
