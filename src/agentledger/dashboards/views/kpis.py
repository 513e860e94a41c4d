"""KPIs page: business outcomes over time, and which agent version and model moved them, with the
significance test, effect size and confidence interval behind each claim.

Rendering only: every number comes from :mod:`agentledger.dashboards.analytics_data`.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from agentledger.dashboards import analytics_data as ad
from agentledger.dashboards import widgets
from agentledger.dashboards.page import PageContext, run_page

_P = st.column_config.NumberColumn(format="%.4f")
_MEASURES = {"Sum": "Sum of values", "Mean": "Mean value", "Events": "Events"}


def _render(ctx: PageContext) -> None:
    names = ctx.load(ad.kpi_names, ctx.filters)
    if names.empty:
        st.info(
            "No KPI events in this range — report business outcomes from your agents with "
            "`agentledger.instrumentation.record_kpi('ticket_resolved', 1, decision_id=...)` "
            "(an `agentledger.kpi` OTLP log event); the decision or trace it names attributes "
            "it to an agent version and model. Or pick a longer time range."
        )
        return
    _trend(ctx)
    kpi = str(
        st.selectbox("KPI to attribute", list(names["KpiName"]), key="kpi", bind="query-params")
    )
    attributed = ctx.load(ad.kpi_attributed_until)
    if attributed is None:
        st.info(ad.kpi_job_pending(ctx.settings.job_interval_seconds))
        return
    st.caption(
        f"Attribution as the `{ad.KPI_JOB}` job stored it: events up to "
        f"{attributed:%Y-%m-%d %H:%M:%S} UTC."
    )
    _versions(ctx, kpi)
    _models(ctx, kpi)


def _trend(ctx: PageContext) -> None:
    window = ctx.filters.window
    st.subheader(f"KPIs per {window.step_label}")
    trend = ctx.load(ad.kpi_trend, ctx.filters)
    measure = st.segmented_control(
        "Show", list(_MEASURES), default="Sum", required=True, key="kpi_measure"
    )
    chart = (
        alt.Chart(trend)
        .mark_line(point=True)
        .encode(
            x=alt.X("Time:T", title=None),
            y=alt.Y(f"{measure}:Q", title=_MEASURES[str(measure)]),
            color=alt.Color("KpiName:N", title="KPI"),
            tooltip=[
                "Time:T",
                "KpiName:N",
                "Events:Q",
                "Sum:Q",
                alt.Tooltip("Mean:Q", format=".4g"),
            ],
        )
    )
    st.altair_chart(chart, width="stretch")
    widgets.numbers(trend, "KPI trend")


def _versions(ctx: PageContext, kpi: str) -> None:
    st.subheader(f"{kpi} by agent version")
    outcomes = ctx.load(ad.kpi_by, ctx.filters, kpi, "agent_version")
    if outcomes.empty:
        st.info(
            f"No {kpi} events are attributed to an agent here — attribute KPI events to the "
            "decision (`decision_id`) or trace that caused them; the agent version comes from "
            "the decision or from the trace's `gen_ai.agent.version`."
        )
        return
    labelled = outcomes.assign(
        version=outcomes["agent"] + " " + outcomes["agent_version"].replace("", "(none)")
    )
    _mean_chart(labelled, "version", bool(outcomes["binary"].all()), kpi)
    widgets.numbers(outcomes, f"{kpi} by agent version")
    versions = outcomes[outcomes["agent_version"] != ""].groupby("agent")["agent_version"]
    agents = sorted(agent for agent, found in versions if found.nunique() >= 2)
    if not agents:
        st.caption("No agent has two versions with this KPI in range: nothing to compare.")
        return
    left, middle, right = st.columns(3)
    agent = str(left.selectbox("Agent", agents, key="kpi_agent"))
    choices = sorted(set(outcomes.loc[outcomes["agent"] == agent, "agent_version"]) - {""})
    version_a = str(middle.selectbox("Version A", choices, index=len(choices) - 2, key="kpi_a"))
    version_b = str(right.selectbox("Version B", choices, index=len(choices) - 1, key="kpi_b"))
    if version_a == version_b:
        st.caption("Pick two different versions.")
        return
    try:
        result = ctx.load(ad.version_comparison, ctx.filters, kpi, agent, version_a, version_b)
    except ValueError as exc:
        st.info(f"Cannot compare: {exc}.")
        return
    (st.success if result["significant"] else st.info)(str(result["summary"]))
    shown = {
        key: result[key]
        for key in (
            "test", "n_a", "n_b", "mean_a", "mean_b", "difference", "ci_low", "ci_high",
            "p_value", "effect_size", "effect_size_name", "significant",
        )
    }  # fmt: skip
    widgets.numbers(
        pd.DataFrame([shown]), f"{kpi} {agent} {version_a} vs {version_b}", {"p_value": _P}
    )


def _models(ctx: PageContext, kpi: str) -> None:
    st.subheader(f"{kpi} by model")
    outcomes = ctx.load(ad.kpi_by, ctx.filters, kpi, "model")
    outcomes = outcomes[outcomes["model"] != ""]
    if outcomes.empty:
        st.info(
            f"No {kpi} events are attributed to a model here — a decision's `ModelName`, or "
            "the model that used the most tokens in the event's trace, is its model."
        )
        return
    binary = bool(outcomes["binary"].all())
    _mean_chart(outcomes, "model", binary, kpi)
    baseline = str(outcomes.iloc[0]["model"])  # the busiest
    compared = ad.compare_groups(outcomes, "model", baseline)
    if compared.empty:
        st.caption("Only one model with enough events: nothing to compare.")
    else:
        test = "rate test, effect size Cohen's h" if binary else "Welch's t, effect size Cohen's d"
        st.caption(f"Each model against {baseline}, the model with the most events ({test}).")
        st.dataframe(compared, hide_index=True, column_config={"p_value": _P})
    widgets.numbers(outcomes, f"{kpi} by model")


def _mean_chart(frame: pd.DataFrame, column: str, binary: bool, kpi: str) -> None:
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("mean:Q", title=f"{kpi} rate" if binary else f"mean {kpi}"),
            y=alt.Y(f"{column}:N", title=None),
            tooltip=[f"{column}:N", "events:Q", alt.Tooltip("mean:Q", format=".4g")],
        )
    )
    st.altair_chart(chart, width="stretch")


run_page("KPIs", _render)
