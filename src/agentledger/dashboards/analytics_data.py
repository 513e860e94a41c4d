"""The data behind the Drift, Cost, KPIs and Lineage pages: one function per panel, taking a
store and the page's :class:`~agentledger.dashboards.filters.Filters`; the pages call them through
:meth:`PageContext.load <agentledger.dashboards.page.PageContext.load>`, which caches them.

Panels reuse the analytics modules (budgets and their forecast, KPI attribution as the
``kpi_attribution`` job stores it and its significance tests, quality proxies, lineage walks and
exports, the Evidently report) and have their own SQL only where a page needs a shape those do
not give (histories, distributions, rollup breakdowns, trends). Every panel takes a
:class:`~agentledger.dashboards.filters.Filters` and honours its tenant: through
:meth:`Filters.where`, or the analytics function's ``tenant`` argument.
"""

from __future__ import annotations

import io
import math
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pandas as pd
from scipy import stats

from agentledger.analytics import drift, kpi_attribution, kpi_rollup, lineage, lineage_export
from agentledger.analytics.budgets import budget_status, forecast_spend, period_bounds
from agentledger.analytics.drift_report import write_drift_report
from agentledger.dashboards.filters import Filters
from agentledger.storage.store import Store, query_rows

__all__ = [
    "BASELINE",
    "DISTRIBUTION_BINS",
    "EXPORT_MIME",
    "KPI_JOB",
    "MAX_SAMPLES",
    "PANELS",
    "Forecast",
    "budgets",
    "compare_groups",
    "cost_forecast",
    "cost_per_kpi",
    "cost_rows",
    "drift_history",
    "drift_report_html",
    "export_bytes",
    "export_name",
    "feature_distribution",
    "kpi_attributed_until",
    "kpi_by",
    "kpi_job_pending",
    "kpi_names",
    "kpi_trend",
    "lineage_graph",
    "lineage_path",
    "quality_proxies",
    "recent_decisions",
    "version_comparison",
]

BASELINE: Final = drift.DEFAULT_BASELINE
"""The reference a distribution is drawn against: this long before the range, as the drift job
compares each hour with the 7 days before it."""
DISTRIBUTION_BINS: Final = 20
KPI_JOB: Final = kpi_rollup.JOB_NAME
"""The job that stores the KPI attribution the KPI and cost-per-KPI panels read."""
MAX_SAMPLES: Final = 50_000
"""Values per version a continuous KPI's Mann-Whitney test reads (a deterministic sample)."""
_LOOKBACK_S: Final = int(kpi_rollup.LOOKBACK.total_seconds())
_TOP_CATEGORIES: Final = 20
_GRAPH_MAX_NODES: Final = 400
EXPORT_MIME: Final = {
    "json": "application/json",
    "openlineage": "application/json",
    "graphml": "application/xml",
    "csv": "application/zip",
    "parquet": "application/zip",
    "html": "text/html",
}
_TWO_FILES: Final = ("csv", "parquet")
_EXPORT_SUFFIX: Final = {"openlineage": ".openlineage.json", "csv": ".csv", "parquet": ".parquet"}


def _frame(store: Store, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    frame: pd.DataFrame = store.query_arrow(sql, params).to_pandas()
    return frame


def _tenant(filters: Filters) -> str | None:
    """The analytics functions' tenant argument: None means every tenant."""
    return filters.tenant or None


# --- drift ------------------------------------------------------------------------------------


def drift_history(store: Store, filters: Filters) -> pd.DataFrame:
    """The drift job's results whose hour ends in the range: per model, version, feature and hour
    every metric, its threshold, the verdict and the window sizes. Model observations carry no
    service or agent, so only the time and tenant filters apply."""
    where = filters.where(time="CurrentEnd", service=None, agent=None)
    sql = f"""
        SELECT CurrentEnd AS Time, ModelName AS Model, ModelVersion AS Version, Feature,
               toString(Kind) AS Kind, Status, NReference, NCurrent, Psi, Js, KsStatistic,
               KsPValue, Wasserstein, Chi2, Chi2PValue, Drifted,
               arrayStringConcat(DriftedBy, ', ') AS DriftedBy, PsiThreshold, JsThreshold,
               KsPValueThreshold, Chi2PValueThreshold
        FROM drift_results FINAL
        WHERE {where} AND Source = 'job' AND ReferenceVersion = ModelVersion
        ORDER BY Time, Model, Version, Feature
        LIMIT 20000
    """
    return _frame(store, sql, filters.params())


def _observations(filters: Filters) -> str:
    """One feature's observations in the range and the baseline before it, in the tenant."""
    return (
        f"model_observations WHERE {filters.where(time=None, service=None, agent=None)}"
        " AND ModelName = {model:String} AND Feature = {feature:String}"
        " AND Timestamp >= {start:DateTime64(3, 'UTC')} - toIntervalSecond({baseline:UInt32})"
        " AND Timestamp < {end:DateTime64(3, 'UTC')}"
    )


def _numeric_distribution_sql(filters: Filters) -> str:
    """One scan: counts per window and ``Step``, the value rounded toward 0 to one of 1000 steps
    per decade (at most 0.23% off), so bounds and bins come from a few thousand rows."""
    return f"""
        SELECT Timestamp >= {{start:DateTime64(3, 'UTC')}} AS IsCurrent,
               if(Value = 0, 0.0,
                  sign(Value) * exp10(floor(log10(abs(Value)) * {_STEPS_PER_DECADE})
                                      / {_STEPS_PER_DECADE})) AS Step,
               count() AS N
        FROM {_observations(filters)} AND Category = '' AND isFinite(Value)
        GROUP BY IsCurrent, Step
    """


def _binned(counts: pd.DataFrame) -> pd.DataFrame:
    """:data:`DISTRIBUTION_BINS` equal bins between the 1st and 99th percentile of ``counts``
    (``IsCurrent``, ``Step``, ``N``), the tails folded into the end bins: per bin that holds
    values, its ``Low``/``High`` edges and the ``Reference``/``Current`` counts."""
    columns = ["Low", "High", "Reference", "Current"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    ordered = counts.groupby("Step")["N"].sum().sort_index()
    cumulative = ordered.cumsum() / ordered.sum()
    lo = float(ordered.index[int((cumulative < 0.01).sum())])
    hi = float(ordered.index[min(int((cumulative < 0.99).sum()), len(ordered) - 1)])
    bins = DISTRIBUTION_BINS
    if hi > lo:
        scaled = ((counts["Step"] - lo) / (hi - lo) * bins).apply(math.floor)
        index = scaled.clip(0, bins - 1)
    else:
        index = pd.Series(0, index=counts.index)
    table = (
        counts.assign(Bin=index.astype(int), Side=counts["IsCurrent"].map(_SIDE))
        .pivot_table(index="Bin", columns="Side", values="N", aggfunc="sum", fill_value=0)
        .reindex(columns=["Reference", "Current"], fill_value=0)
    )
    table["Low"] = [lo + (hi - lo) * b / bins for b in table.index]
    table["High"] = [lo + (hi - lo) * (b + 1) / bins for b in table.index]
    return table[columns].astype({"Reference": int, "Current": int}).reset_index(drop=True)


_SIDE: Final = {0: "Reference", 1: "Current"}  # IsCurrent, 0/1 or False/True
_STEPS_PER_DECADE: Final = 1000


def _categorical_distribution_sql(filters: Filters) -> str:
    return f"""
        SELECT Category, countIf(Timestamp < {{start:DateTime64(3, 'UTC')}}) AS Reference,
               countIf(Timestamp >= {{start:DateTime64(3, 'UTC')}}) AS Current
        FROM {_observations(filters)} AND Category != ''
        GROUP BY Category
        ORDER BY Reference + Current DESC, Category
        LIMIT {_TOP_CATEGORIES}
    """


def feature_distribution(
    store: Store, filters: Filters, model: str, feature: str, kind: str
) -> pd.DataFrame:
    """One feature's distribution in the range (``Current``) and in the :data:`BASELINE` before
    it (``Reference``): counts and shares per bin (numeric: :data:`DISTRIBUTION_BINS` equal
    bins between the 1st and 99th percentile, the tails folded into the end bins) or per
    category (the most frequent 20). Column ``Bin`` labels the bin."""
    params = filters.params() | {
        "model": model,
        "feature": feature,
        "baseline": int(BASELINE.total_seconds()),
    }
    if kind == "categorical":
        frame = _frame(store, _categorical_distribution_sql(filters), params)
        frame = frame.rename(columns={"Category": "Bin"})
    else:
        frame = _binned(_frame(store, _numeric_distribution_sql(filters), params))
        frame["Bin"] = [
            f"{low:.4g} to {high:.4g}"
            for low, high in zip(frame["Low"], frame["High"], strict=True)
        ]
        frame = frame[["Bin", "Low", "High", "Reference", "Current"]]
    for side in ("Reference", "Current"):
        total = frame[side].sum()
        frame[f"{side}Share"] = frame[side] / total if total else 0.0
    return frame.reset_index(drop=True)


def quality_proxies(store: Store, filters: Filters) -> pd.DataFrame:
    """Labels-free quality per chart bucket and model (:func:`drift.quality_proxies`):
    decisions and their mean confidence, the share of checked decisions failing a policy check,
    the share escalated, model calls and their mean output tokens, under every filter."""
    window = filters.window
    rows = drift.quality_proxies(
        store,
        window.start,
        timedelta(seconds=window.step_seconds),
        until=window.end,
        tenant=_tenant(filters),
        service=filters.service or None,
        agent=filters.agent or None,
    )
    return pd.DataFrame(rows, columns=_QUALITY_COLUMNS)


_QUALITY_COLUMNS: Final = [
    "bucket",
    "model",
    "decisions",
    "mean_confidence",
    "policy_failure_rate",
    "escalation_rate",
    "model_calls",
    "mean_output_tokens",
]


def drift_report_html(store: Store, filters: Filters, model: str) -> bytes:
    """The Evidently data-drift report of ``model``: the range against the :data:`BASELINE`
    before it, on a sample. Raises ValueError when no feature was observed in both."""
    start, end = filters.window.start, filters.window.end
    with tempfile.TemporaryDirectory(prefix="agentledger-drift-") as folder:
        out = write_drift_report(
            store,
            model,
            (start - BASELINE, start),
            (start, end),
            Path(folder) / "drift.html",
            sample_rows=20_000,
            tenant=_tenant(filters),
        )
        return out.read_bytes()


# --- cost -------------------------------------------------------------------------------------

_ROLLUP_DAYS = (
    "Day >= toDate({start:DateTime64(3, 'UTC')}, 'UTC')"
    " AND Day <= toDate({end:DateTime64(3, 'UTC')}, 'UTC')"
)


def cost_rows(store: Store, filters: Filters) -> pd.DataFrame:
    """Cost rollups of the whole UTC days the range touches, per day, tenant, agent and model:
    spans, tokens, cost and unpriced tokens (the page totals them by any of these)."""
    sql = f"""
        SELECT Day, TenantId AS Tenant, if(AgentName = '', '(none)', AgentName) AS Agent,
               if(ModelName = '', '(unknown)', ModelName) AS Model,
               sum(Spans) AS Spans, sum(InputTokens) AS InputTokens,
               sum(OutputTokens) AS OutputTokens, sum(CostUsd) AS CostUsd,
               sum(UnpricedTokens) AS UnpricedTokens
        FROM cost_rollups FINAL
        WHERE {_ROLLUP_DAYS} AND {filters.where(time=None)}
        GROUP BY Day, Tenant, Agent, Model
        ORDER BY Day, CostUsd DESC, Tenant, Agent, Model
    """
    return _frame(store, sql, filters.params())


@dataclass(frozen=True)
class Forecast:
    """This month's spend so far, the spend expected by its end, and the recent daily rate."""

    spent_usd: float
    forecast_usd: float
    daily_rate_usd: float


def cost_forecast(store: Store, filters: Filters, now: datetime | None = None) -> Forecast:
    """This UTC month's spend under the filters and its forecast, the way monthly budgets are
    forecast (:func:`budgets.forecast_spend`: the last 7 days' rate over what is left)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start, end = period_bounds("month", now)
    today = period_bounds("day", now)[0]
    rate_start = today - timedelta(days=6)
    params = filters.params() | {
        "first": min(start, rate_start).date().isoformat(),
        "last": today.date().isoformat(),
    }
    days = query_rows(
        store,
        "SELECT Day, sum(CostUsd) AS cost FROM cost_rollups FINAL"
        " WHERE Day >= {first:Date} AND Day <= {last:Date}"
        f" AND {filters.where(time=None)} GROUP BY Day",
        params,
    )
    spent = sum(float(row["cost"]) for row in days if row["Day"] >= start.date())
    recent = sum(float(row["cost"]) for row in days if row["Day"] >= rate_start.date())
    elapsed = (now - rate_start).total_seconds()
    return Forecast(
        spent_usd=spent,
        forecast_usd=forecast_spend(spent, recent, elapsed, (end - now).total_seconds()),
        daily_rate_usd=recent / elapsed * 86_400 if elapsed > 0 else 0.0,
    )


def budgets(store: Store, filters: Filters) -> pd.DataFrame:
    """Budgets in their current period with spend and forecast (:func:`budget_status`). A viewer
    confined to a tenant sees only that tenant's budgets, never an all-tenant one; an agent
    filter keeps that agent's budgets and the agent-wide ones."""
    rows = [
        {
            "Tenant": status.tenant or "(all)",
            "Agent": status.agent or "(all)",
            "Period": status.period,
            "BudgetUsd": status.budget_usd,
            "SpentUsd": status.spent_usd,
            "ForecastUsd": status.forecast_usd,
            "State": status.state,
            "PeriodEnd": status.period_end,
        }
        for status in budget_status(store)
        if (not filters.tenant or status.tenant == filters.tenant)
        and (not filters.agent or status.agent in ("", filters.agent))
    ]
    columns = ["Tenant", "Agent", "Period", "BudgetUsd", "SpentUsd", "ForecastUsd", "State"]
    return pd.DataFrame(rows, columns=[*columns, "PeriodEnd"])


# --- KPIs -------------------------------------------------------------------------------------


def _kpi_where(filters: Filters) -> str:
    """Filters on ``kpi_events``: time, tenant and service directly; the agent through the
    decision an event is attributed to (events attributed to a trace only then drop out)."""
    agent = (
        " AND ({agent:String} = '' OR DecisionId IN (SELECT DecisionId FROM decisions"
        f" WHERE {filters.where(time=None, service=None)}"
        f" AND Timestamp >= {{start:DateTime64(3, 'UTC')}} - toIntervalSecond({_LOOKBACK_S})"
        " AND Timestamp < {end:DateTime64(3, 'UTC')}))"
    )
    return filters.where(agent=None) + agent


def kpi_names(store: Store, filters: Filters) -> pd.DataFrame:
    """The KPIs reported in the range, with their unit and event count, busiest first."""
    sql = f"""
        SELECT KpiName, any(Unit) AS Unit, count() AS Events
        FROM kpi_events
        WHERE {_kpi_where(filters)}
        GROUP BY KpiName
        ORDER BY Events DESC, KpiName
    """
    return _frame(store, sql, filters.params())


def kpi_trend(store: Store, filters: Filters) -> pd.DataFrame:
    """Per chart bucket and KPI: events, sum and mean of the values."""
    sql = f"""
        SELECT toDateTime64(toStartOfInterval(toDateTime(Timestamp, 'UTC'),
                                              toIntervalSecond({{step:UInt32}})), 0, 'UTC')
                   AS Time,
               KpiName, any(Unit) AS Unit, count() AS Events, sum(Value) AS Sum,
               avg(Value) AS Mean
        FROM kpi_events
        WHERE {_kpi_where(filters)}
        GROUP BY Time, KpiName
        ORDER BY Time, KpiName
    """
    return _frame(store, sql, filters.params() | {"step": filters.window.step_seconds})


def kpi_attributed_until(store: Store) -> datetime | None:
    """Where the :data:`KPI_JOB` job's stored attribution ends; None before its first run, when
    the attribution panels stay empty (attributing a whole range at view time is too slow)."""
    return kpi_rollup.attribution_watermark(store)


def kpi_job_pending(interval_seconds: float) -> str:
    """What the attribution panels say before the :data:`KPI_JOB` job has run."""
    return (
        f"KPI attribution has not been computed yet — the `{KPI_JOB}` job attributes KPI events "
        f"to their decision, agent version and model and prices their traces (`agentledger jobs "
        f"run {KPI_JOB}`; `agentledger up` runs it every {interval_seconds:g} s)."
    )


def _kpi_scope(filters: Filters) -> dict[str, Any]:
    """The range and filters as :mod:`~agentledger.analytics.kpi_attribution` takes them."""
    return {
        "since": filters.window.start,
        "until": filters.window.end,
        "tenant": _tenant(filters),
        "service": filters.service or None,
        "agent": filters.agent or None,
        "fresh": False,
    }


_KPI_MEASURES: Final = ["events", "total", "mean", "stddev", "binary"]
_COST_MEASURES: Final = [
    "kpi_value",
    "events",
    "traces",
    "cost_usd",
    "unpriced_tokens",
    "events_without_trace",
    "cost_per_unit",
]


def kpi_by(
    store: Store, filters: Filters, kpi: str, by: kpi_attribution.KpiGrouping
) -> pd.DataFrame:
    """``kpi``'s events in the range per agent, agent version, model or decision type
    (:func:`kpi_attribution.kpi_outcomes`): events, total, mean, standard deviation and whether
    the KPI is a 0/1 rate (``binary``). Empty before the :data:`KPI_JOB` job's first run."""
    columns = [*kpi_attribution.group_columns(by), *_KPI_MEASURES]
    if kpi_attributed_until(store) is None:
        return pd.DataFrame(columns=columns)
    rows = kpi_attribution.kpi_outcomes(store, kpi, by, **_kpi_scope(filters))
    return pd.DataFrame(rows, columns=columns)


def cost_per_kpi(store: Store, filters: Filters, kpi: str) -> pd.DataFrame:
    """Per agent: ``kpi``'s value in the range, the cost of the traces its events are attributed
    to and ``cost_per_unit`` = cost / value (:func:`kpi_attribution.cost_per_kpi`; NaN when the
    value is 0), e.g. dollars per resolved ticket. Empty before the :data:`KPI_JOB` job's first
    run."""
    columns = ["agent", *_COST_MEASURES]
    if kpi_attributed_until(store) is None:
        return pd.DataFrame(columns=columns)
    rows = kpi_attribution.cost_per_kpi(store, kpi, by="agent", **_kpi_scope(filters))
    frame = pd.DataFrame(rows, columns=columns)
    frame["cost_per_unit"] = frame["cost_per_unit"].astype(float)
    return frame


def compare_groups(outcomes: pd.DataFrame, key: str, baseline: str) -> pd.DataFrame:
    """Each group of ``outcomes`` (a :func:`kpi_by` frame) against the ``baseline`` group: for a
    0/1 KPI the rate test of :func:`kpi_attribution.compare_rates` (Cohen's h), otherwise
    Welch's t-test from the groups' means and deviations (Cohen's d). Groups with fewer than
    two events are left out."""
    rows = outcomes.set_index(key)
    base = rows.loc[baseline]
    binary = bool(outcomes["binary"].all())
    result = []
    for name, row in rows.iterrows():
        if name == baseline or min(int(row["events"]), int(base["events"])) < 2:
            continue
        n_a, n_b = int(base["events"]), int(row["events"])
        if binary:
            test = kpi_attribution.compare_rates(
                n_a, round(float(base["total"])), n_b, round(float(row["total"]))
            )
            name_test, p, effect, effect_name = test.test, test.p_value, test.effect_size, "h"
            low, high = test.ci_low, test.ci_high
        else:
            sd_a, sd_b = float(base["stddev"]), float(row["stddev"])
            welch = stats.ttest_ind_from_stats(
                float(row["mean"]), sd_b, n_b, float(base["mean"]), sd_a, n_a, equal_var=False
            )
            pooled = math.sqrt(((n_a - 1) * sd_a**2 + (n_b - 1) * sd_b**2) / (n_a + n_b - 2))
            difference = float(row["mean"]) - float(base["mean"])
            se = math.sqrt(sd_a**2 / n_a + sd_b**2 / n_b)
            name_test, p = "welch-t", float(welch.pvalue) if se > 0 else 1.0
            effect, effect_name = (difference / pooled if pooled > 0 else 0.0), "d"
            low, high = difference - 1.96 * se, difference + 1.96 * se
        result.append(
            {
                key: name,
                "vs": baseline,
                "events": n_b,
                "mean": float(row["mean"]),
                "baseline_mean": float(base["mean"]),
                "difference": float(row["mean"]) - float(base["mean"]),
                "ci_low": low,
                "ci_high": high,
                "p_value": p,
                "effect_size": effect,
                "effect_size_name": effect_name,
                "test": name_test,
                "significant": p < 0.05,
            }
        )
    return pd.DataFrame(result)


def version_comparison(
    store: Store, filters: Filters, kpi: str, agent: str, version_a: str, version_b: str
) -> dict[str, object]:
    """``version_b`` of ``agent`` against ``version_a`` on ``kpi`` in the range, with the test
    :func:`kpi_attribution.compare_versions` picks (a rate test for 0/1 KPIs, Mann-Whitney U on
    at most :data:`MAX_SAMPLES` values per version otherwise; means and variances exact), as a
    flat dict with ``summary``. Raises ValueError when a version has too few events."""
    if kpi_attributed_until(store) is None:
        raise ValueError(f"the {KPI_JOB} job has not attributed any KPI events yet")
    scope = _kpi_scope(filters) | {"agent": agent}
    return kpi_attribution.compare_versions(
        store, kpi, version_a=version_a, version_b=version_b, max_samples=MAX_SAMPLES, **scope
    ).as_dict()


# --- lineage ----------------------------------------------------------------------------------


def recent_decisions(store: Store, filters: Filters, limit: int = 50) -> pd.DataFrame:
    """The newest decisions in the range, to open the lineage of one."""
    sql = f"""
        SELECT Timestamp, AgentName, DecisionType, Chosen, DecisionId, TraceId
        FROM decisions
        WHERE {filters.where()} AND DecisionId != ''
        ORDER BY Timestamp DESC, Seq DESC
        LIMIT {{limit:UInt32}}
    """
    return _frame(store, sql, filters.params() | {"limit": limit})


def lineage_graph(
    store: Store,
    filters: Filters,
    decision_id: str = "",
    trace_id: str = "",
    node: str = "",
    direction: str = "both",
    depth: int = lineage.DEFAULT_DEPTH,
) -> lineage.LineageGraph:
    """The lineage around a decision, trace or node, in the filters' tenant (any tenant when none
    is chosen: the one holding it). ``direction`` 'up' or 'down' walks one way from a decision or
    node. Raises ValueError when nothing is recorded for it (in that tenant)."""
    tenant = _tenant(filters)
    if direction in ("up", "down") and not trace_id:
        start = node or f"decision:{decision_id}"
        walk = lineage.upstream if direction == "up" else lineage.downstream
        return walk(store, start, depth=depth, tenant=tenant, max_nodes=_GRAPH_MAX_NODES)
    return lineage.graph_for(
        store,
        decision_id=decision_id or None,
        trace_id=trace_id or None,
        node=node or None,
        tenant=tenant,
        depth=depth,
        max_nodes=_GRAPH_MAX_NODES,
    )


def lineage_path(store: Store, filters: Filters, src: str, dst: str) -> list[lineage.Edge]:
    """A shortest chain of edges from ``src`` to ``dst`` (:func:`lineage.path`) in the filters'
    tenant; ``[]`` when ``src`` does not lead to ``dst``."""
    return lineage.path(store, src, dst, tenant=_tenant(filters), max_nodes=_GRAPH_MAX_NODES)


def export_name(fmt: str, stem: str) -> str:
    """The file name of :func:`export_bytes` for ``fmt``."""
    suffix = _EXPORT_SUFFIX.get(fmt, f".{fmt}")
    return f"{stem}.{fmt}.zip" if fmt in _TWO_FILES else f"{stem}{suffix}"


def export_bytes(graph: lineage.LineageGraph, fmt: str, stem: str) -> bytes:
    """``graph`` in lineage export format ``fmt`` (:func:`lineage_export.export_lineage`); csv and
    parquet, whose edges and nodes are two files, come as one zip of both."""
    suffix = _EXPORT_SUFFIX.get(fmt, f".{fmt}")
    with tempfile.TemporaryDirectory(prefix="agentledger-lineage-") as folder:
        written = lineage_export.export_lineage(graph, fmt, Path(folder) / f"{stem}{suffix}")
        if fmt not in _TWO_FILES:
            return written[0].read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, path.name)
        return buffer.getvalue()


# --- for benchmarks ---------------------------------------------------------------------------


def _busiest_kpi(store: Store, filters: Filters) -> str:
    names = kpi_names(store, filters)
    return str(names["KpiName"].iloc[0]) if not names.empty else "_none_"


def _most_drifted(store: Store, filters: Filters) -> tuple[str, str, str]:
    history = drift_history(store, filters)
    if history.empty:
        return "_none_", "_none_", "numeric"
    top = history.sort_values("Psi", ascending=False, na_position="last").iloc[0]
    return str(top["Model"]), str(top["Feature"]), str(top["Kind"])


def _bench_distribution(store: Store, filters: Filters) -> object:
    return feature_distribution(store, filters, *_most_drifted(store, filters))


def _bench_cost_per_kpi(store: Store, filters: Filters) -> object:
    return cost_per_kpi(store, filters, _busiest_kpi(store, filters))


def _bench_kpi_versions(store: Store, filters: Filters) -> object:
    return kpi_by(store, filters, _busiest_kpi(store, filters), "agent_version")


def _bench_kpi_models(store: Store, filters: Filters) -> object:
    return kpi_by(store, filters, _busiest_kpi(store, filters), "model")


def _bench_lineage(store: Store, filters: Filters) -> object:
    decisions = recent_decisions(store, filters, limit=1)
    if decisions.empty:
        return None
    return lineage_graph(store, filters, str(decisions["DecisionId"].iloc[0]))


PANELS: dict[str, Callable[[Store, Filters], object]] = {
    "drift_history": drift_history,
    "drift_distribution": _bench_distribution,
    "drift_quality_proxies": quality_proxies,
    "cost_rows": cost_rows,
    "cost_forecast": cost_forecast,
    "cost_budgets": budgets,
    "cost_per_kpi": _bench_cost_per_kpi,
    "kpi_names": kpi_names,
    "kpi_trend": kpi_trend,
    "kpi_by_agent_version": _bench_kpi_versions,
    "kpi_by_model": _bench_kpi_models,
    "lineage_recent_decisions": recent_decisions,
    "lineage_graph": _bench_lineage,
}
"""Every panel query of the Drift, Cost, KPIs and Lineage pages, uncached, for benchmarks.
Panels that need a choice (a model and feature, a KPI, a decision) make the page's default one:
the most drifted feature, the busiest KPI, the newest decision."""
