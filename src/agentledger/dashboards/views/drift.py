"""Drift page: per model and feature, the drift job's metrics hour by hour against their
thresholds, the feature's distribution now against the week before, labels-free quality proxies,
and the Evidently report to download.

Rendering only: every number comes from :mod:`agentledger.dashboards.analytics_data`.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from agentledger.dashboards import analytics_data as ad
from agentledger.dashboards import widgets
from agentledger.dashboards.page import PageContext, run_page

# metric column -> (label, threshold column, drifted when the value is above the threshold)
_METRICS = {
    "Psi": ("PSI", "PsiThreshold", True),
    "Js": ("Jensen-Shannon", "JsThreshold", True),
    "KsPValue": ("KS p-value", "KsPValueThreshold", False),
    "Chi2PValue": ("chi-square p-value", "Chi2PValueThreshold", False),
    "Wasserstein": ("Wasserstein", None, True),
}
_QUALITY = {
    "mean_confidence": "Mean decision confidence",
    "policy_failure_rate": "Policy-check failure rate",
    "escalation_rate": "Escalation rate",
    "mean_output_tokens": "Mean output tokens",
}
_FIXED = st.column_config.NumberColumn(format="%.4f")


def _render(ctx: PageContext) -> None:
    st.caption(
        "Drift is measured on model observations, which carry no service or agent: only the "
        "time range and tenant filters apply to it."
    )
    history = ctx.load(ad.drift_history, ctx.filters)
    if history.empty:
        st.info(
            "No drift results in this range — send model observations with "
            "`agentledger.instrumentation.record_observation('ranker', {'score': 0.8, "
            "'lang': 'en'})` (model spans' latency, tokens and confidence count too); the drift "
            "job (`agentledger jobs run drift`) then compares each complete hour with the 7 "
            "days before it. Or pick a longer time range."
        )
    else:
        model = str(
            st.selectbox(
                "Model", sorted(set(history["Model"])), key="drift_model", bind="query-params"
            )
        )
        rows = history[history["Model"] == model]
        _latest(rows)
        _over_time(rows)
        _distribution(ctx, rows, model)
        _report(ctx, model)
    _quality(ctx)


def _latest(rows: pd.DataFrame) -> None:
    latest = rows.sort_values("Time").groupby(["Version", "Feature", "Kind"]).tail(1)
    drifted = latest[latest["Drifted"]]
    columns = st.columns(3)
    columns[0].metric("Features", f"{latest['Feature'].nunique()}")
    columns[1].metric(
        "Drifted now",
        f"{drifted['Feature'].nunique()}",
        help="Features whose latest compared hour in the range drifted.",
    )
    columns[2].metric("Hours compared", f"{rows['Time'].nunique()}")
    if not drifted.empty:
        names = ", ".join(f"{r.Feature} ({r.DriftedBy})" for r in drifted.itertuples())
        st.warning(f"Drifted: {names}.")
    shown = ["Time", "Version", "Feature", "Kind", "Status", "Drifted", "DriftedBy"]
    shown += ["Psi", "Js", "KsPValue", "Wasserstein", "Chi2PValue", "NReference", "NCurrent"]
    config = {name: _FIXED for name in ("Psi", "Js", "KsPValue", "Chi2PValue")}
    widgets.numbers(latest[shown], "Latest hour per feature", config, expanded=True)


def _over_time(rows: pd.DataFrame) -> None:
    st.subheader("Drift over time")
    metric = str(
        st.segmented_control(
            "Metric",
            list(_METRICS),
            format_func=lambda m: _METRICS[m][0],
            default="Psi",
            required=True,
            key="drift_metric",
        )
    )
    label, threshold, above = _METRICS[metric]
    series = rows.dropna(subset=[metric])
    if series.empty:
        st.info(
            f"No {label} in range: it is computed for "
            f"{'categorical' if metric == 'Chi2PValue' else 'numeric'} features with at least "
            "30 observations in both windows."
        )
        return
    lines = (
        alt.Chart(series)
        .mark_line(point=True)
        .encode(
            x=alt.X("Time:T", title="hour compared (end)"),
            y=alt.Y(f"{metric}:Q", title=label),
            color=alt.Color("Feature:N"),
            tooltip=["Time:T", "Feature:N", "Version:N", alt.Tooltip(f"{metric}:Q", format=".4g")],
        )
    )
    layers: list[alt.Chart] = [lines]
    if threshold is not None:
        limit = float(series[threshold].iloc[-1])
        layers.append(
            alt.Chart(pd.DataFrame({"threshold": [limit]}))
            .mark_rule(color="red", strokeDash=[6, 3])
            .encode(y="threshold:Q", tooltip=["threshold:Q"])
        )
        side = "above" if above else "below"
        st.caption(f"Drifted when {label} is {side} {limit:g} (red line).")
    st.altair_chart(alt.layer(*layers), width="stretch")
    shown = ["Time", "Version", "Feature", metric] + ([threshold] if threshold else [])
    widgets.numbers(series[shown], f"{label} per hour")


def _distribution(ctx: PageContext, rows: pd.DataFrame, model: str) -> None:
    st.subheader("Reference vs current distribution")
    by_drift = rows.sort_values("Psi", ascending=False, na_position="last")
    features = list(dict.fromkeys(by_drift["Feature"]))  # the most drifted first
    feature = str(st.selectbox("Feature", features, key="drift_feature"))
    kind = str(rows.loc[rows["Feature"] == feature, "Kind"].iloc[0])
    frame = ctx.load(ad.feature_distribution, ctx.filters, model, feature, kind)
    st.caption(
        f"Current: the selected range. Reference: the {ad.BASELINE.days} days before it. "
        "Shares of each window's observations."
    )
    if frame.empty or not (frame["Reference"].sum() and frame["Current"].sum()):
        st.info(f"{feature} has no observations in one of the two windows: the chart needs both.")
        return
    long = frame.melt(
        id_vars=["Bin"],
        value_vars=["ReferenceShare", "CurrentShare"],
        var_name="Window",
        value_name="Share",
    )
    long["Window"] = long["Window"].str.removesuffix("Share")
    chart = (
        alt.Chart(long)
        .mark_bar(opacity=0.8)
        .encode(
            x=alt.X("Bin:N", sort=list(frame["Bin"]), title=feature),
            xOffset="Window:N",
            y=alt.Y("Share:Q", axis=alt.Axis(format="%")),
            color=alt.Color("Window:N", title=None),
            tooltip=["Bin:N", "Window:N", alt.Tooltip("Share:Q", format=".1%")],
        )
    )
    st.altair_chart(chart, width="stretch")
    widgets.numbers(frame, f"Distribution of {model} {feature}")


def _report(ctx: PageContext, model: str) -> None:
    st.subheader("Evidently report")
    st.caption(
        f"Evidently's data-drift report of {model} (the range against the "
        f"{ad.BASELINE.days} days before it), on a sample of up to 20,000 observations per "
        "feature and window."
    )
    scope = (model, ctx.filters.window.key, ctx.filters.tenant)
    if st.button("Build the report", key="drift_report_build"):
        try:
            built = ctx.load(ad.drift_report_html, ctx.filters, model)
        except ValueError as exc:
            st.info(f"No report: {exc}.")
            return
        st.session_state["drift_report"] = (scope, built)
    saved = st.session_state.get("drift_report")
    if saved is not None and saved[0] == scope:
        st.download_button(
            "Download the Evidently report (HTML)",
            saved[1],
            file_name=f"drift-{model}.html",
            mime="text/html",
            key="drift_report_download",
            on_click="ignore",
        )


def _quality(ctx: PageContext) -> None:
    st.subheader("Quality proxies")
    frame = ctx.load(ad.quality_proxies, ctx.filters)
    if frame.empty:
        st.info(
            "No decisions or model calls in this range — quality proxies come from recorded "
            "decisions (confidence, policy checks, escalations) and model spans' output tokens."
        )
        return
    proxy = str(
        st.segmented_control(
            "Proxy",
            list(_QUALITY),
            format_func=lambda name: _QUALITY[name],
            default="mean_confidence",
            required=True,
            key="drift_proxy",
        )
    )
    chart = (
        alt.Chart(frame.dropna(subset=[proxy]))
        .mark_line(point=True)
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y(f"{proxy}:Q", title=_QUALITY[proxy]),
            color=alt.Color("model:N"),
            tooltip=["bucket:T", "model:N", alt.Tooltip(f"{proxy}:Q", format=".4g")],
        )
    )
    st.altair_chart(chart, width="stretch")
    widgets.numbers(frame, "Quality proxies")


run_page("Drift", _render)
