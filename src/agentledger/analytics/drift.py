"""Drift of model observations between a reference and a current window.

Every (tenant, model, version, feature) in ``model_observations`` is compared at once. ClickHouse
does the heavy part in two GROUP BY queries over all of them: for numeric features a fine
histogram on bins shared by both windows (edges at 1,000 quantiles of each window; per bin the
count, sum, smallest and largest value), for categorical ones counts per category. Python turns
those summaries into PSI, Jensen-Shannon, KS, Wasserstein and chi-square
(:mod:`agentledger.analytics.drift_stats`), judges them against thresholds and stores the results
in ``drift_results``. Windows are two time ranges, a time range against the baseline before it,
or two versions of one model.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import numpy as np
import pyarrow as pa

from agentledger.analytics.drift_stats import (
    BinnedWindow,
    CategoricalDrift,
    NumericDrift,
    categorical_drift,
    numeric_drift,
)
from agentledger.analytics.job_result import JobResult
from agentledger.storage.store import Params, Store, query_rows

__all__ = [
    "DEFAULT_BASELINE",
    "FAILED_VERDICTS",
    "JOB_NAME",
    "DriftResult",
    "Thresholds",
    "Window",
    "drift_against_baseline",
    "drift_between_versions",
    "drift_between_windows",
    "drift_results_as_dicts",
    "parse_window",
    "quality_proxies",
    "rolling_windows",
    "run_drift_job",
    "save_drift_results",
]

Window = tuple[datetime, datetime]
"""A time range [start, end); naive datetimes are read as UTC."""

Kind = Literal["numeric", "categorical"]
Status = Literal["ok", "insufficient_data"]

DEFAULT_BASELINE: Final = timedelta(days=7)
JOB_NAME: Final = "drift"
JOB_WINDOW: Final = timedelta(hours=1)
JOB_BACKFILL: Final = timedelta(hours=24)
GRID_LEVELS: Final = 1000
MAX_CATEGORIES: Final = 1000
"""Categories beyond the most frequent 1,000 of a feature are counted together as one."""
FAILED_VERDICTS: Final = ("fail", "failed", "failure", "deny", "denied", "block", "blocked",
                          "violation", "violated")  # fmt: skip
"""Policy-check verdicts (``{"policy_id": ..., "verdict": ...}``, any case) that count as failed."""

_LEVELS = ", ".join(f"{k / GRID_LEVELS:.4f}" for k in range(1, GRID_LEVELS))


@dataclass(frozen=True)
class Thresholds:
    """When a feature counts as drifted: any of its metrics past its threshold, with at least
    ``min_samples`` observations in each window (fewer: reported, never drifted)."""

    psi: float = 0.2
    js: float = 0.1
    ks_pvalue: float = 0.01
    chi2_pvalue: float = 0.01
    min_samples: int = 30

    def __post_init__(self) -> None:
        for name in ("psi", "js"):
            if not getattr(self, name) > 0:
                raise ValueError(f"the {name} threshold must be positive")
        for name in ("ks_pvalue", "chi2_pvalue"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"the {name} threshold must be between 0 and 1")
        if self.min_samples < 2:
            raise ValueError("min_samples must be at least 2")


@dataclass(frozen=True)
class DriftResult:
    """One feature compared between two windows. Metrics that do not apply to its kind, and all of
    them when a window has too few observations, are None. ``model_version`` '' means every
    version pooled; ``reference_version`` differs from it only in a version comparison."""

    tenant: str
    model: str
    model_version: str
    reference_version: str
    feature: str
    kind: Kind
    reference: Window
    current: Window
    n_reference: int
    n_current: int
    status: Status
    psi: float | None = None
    js: float | None = None
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    wasserstein: float | None = None
    chi2: float | None = None
    chi2_pvalue: float | None = None
    drifted_by: tuple[str, ...] = field(default=())

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_by)


def drift_between_windows(
    store: Store,
    reference: Window,
    current: Window,
    *,
    model: str | None = None,
    tenant: str | None = None,
    by_version: bool = False,
    thresholds: Thresholds | None = None,
    save: bool = True,
) -> list[DriftResult]:
    """Compare every feature between two time windows (versions pooled unless ``by_version``)."""
    reference, current = _window(reference, "reference"), _window(current, "current")
    if reference[0] < current[1] and current[0] < reference[1]:
        raise ValueError("the reference and current windows overlap; choose disjoint windows")
    params: dict[str, Any] = {
        "rs": _ts(reference[0]),
        "re": _ts(reference[1]),
        "cs": _ts(current[0]),
        "ce": _ts(current[1]),
        "lo": _ts(min(reference[0], current[0])),
        "hi": _ts(max(reference[1], current[1])),
    }
    scope = _Scope(
        where="Timestamp >= {lo:DateTime64(6, 'UTC')} AND Timestamp < {hi:DateTime64(6, 'UTC')}"
        + _filters(params, model, tenant),
        side="multiIf(Timestamp >= {cs:DateTime64(6, 'UTC')} AND Timestamp < "
        "{ce:DateTime64(6, 'UTC')}, 1, Timestamp >= {rs:DateTime64(6, 'UTC')} AND Timestamp < "
        "{re:DateTime64(6, 'UTC')}, 0, 2)",
        version="ModelVersion" if by_version else "''",
        params=params,
        reference=reference,
        current=current,
    )
    return _run(store, scope, thresholds or Thresholds(), "manual" if save else None)


def drift_against_baseline(
    store: Store,
    current: Window,
    *,
    baseline: timedelta = DEFAULT_BASELINE,
    model: str | None = None,
    tenant: str | None = None,
    by_version: bool = False,
    thresholds: Thresholds | None = None,
    save: bool = True,
) -> list[DriftResult]:
    """Compare ``current`` with the ``baseline`` right before it (a rolling reference)."""
    current = _window(current, "current")
    if baseline <= timedelta(0):
        raise ValueError("the baseline must be a positive duration")
    return drift_between_windows(
        store,
        (current[0] - baseline, current[0]),
        current,
        model=model,
        tenant=tenant,
        by_version=by_version,
        thresholds=thresholds,
        save=save,
    )


def drift_between_versions(
    store: Store,
    model: str,
    reference_version: str,
    current_version: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
    thresholds: Thresholds | None = None,
    save: bool = True,
) -> list[DriftResult]:
    """Compare every feature of ``model`` between two of its versions (observations between
    ``since`` and ``until``, default: all kept)."""
    if not model:
        raise ValueError("name the model whose versions to compare")
    if reference_version == current_version:
        raise ValueError("the reference and current versions are the same")
    span = _window(
        (since or datetime(1970, 1, 1, tzinfo=UTC), until or datetime.now(UTC)), "time range"
    )
    params: dict[str, Any] = {
        "lo": _ts(span[0]),
        "hi": _ts(span[1]),
        "rv": reference_version,
        "cv": current_version,
    }
    scope = _Scope(
        where="Timestamp >= {lo:DateTime64(6, 'UTC')} AND Timestamp < {hi:DateTime64(6, 'UTC')}"
        " AND ModelVersion IN ({rv:String}, {cv:String})" + _filters(params, model, tenant),
        side="if(ModelVersion = {cv:String}, 1, 0)",
        version="{cv:String}",
        params=params,
        reference=span,
        current=span,
        reference_version=reference_version,
    )
    return _run(store, scope, thresholds or Thresholds(), "manual" if save else None)


def rolling_windows(
    now: datetime | None = None,
    current: timedelta = timedelta(days=1),
    baseline: timedelta = DEFAULT_BASELINE,
) -> tuple[Window, Window]:
    """(reference, current): the last ``current`` up to ``now`` and the ``baseline`` before it,
    the default comparison of the CLI and the report."""
    end = _utc(now or datetime.now(UTC))
    return (end - current - baseline, end - current), (end - current, end)


def parse_window(value: str | Window, name: str = "window") -> Window:
    """A window from ``START..END`` text (ISO dates or date-times) or a (start, end) pair; times
    are UTC unless they say otherwise."""
    if not isinstance(value, str):
        return _window(value, name)
    start_text, dots, end_text = value.partition("..")
    if not dots:
        raise ValueError(
            f"{value!r} is not a {name}; write START..END, e.g. 2026-11-01..2026-11-08"
        )
    try:
        start, end = datetime.fromisoformat(start_text), datetime.fromisoformat(end_text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a {name} of ISO dates or date-times, e.g. 2026-11-01..2026-11-08"
        ) from None
    return _window((start, end), name)


def drift_results_as_dicts(results: list[DriftResult]) -> list[dict[str, Any]]:
    """JSON-ready rows (ISO times, no NaN), as ``agentledger drift --format json`` prints them."""
    return [
        {
            "tenant": r.tenant,
            "model": r.model,
            "model_version": r.model_version,
            "reference_version": r.reference_version,
            "feature": r.feature,
            "kind": r.kind,
            "status": r.status,
            "n_reference": r.n_reference,
            "n_current": r.n_current,
            "psi": _finite(r.psi),
            "js": _finite(r.js),
            "ks_statistic": _finite(r.ks_statistic),
            "ks_pvalue": _finite(r.ks_pvalue),
            "wasserstein": _finite(r.wasserstein),
            "chi2": _finite(r.chi2),
            "chi2_pvalue": _finite(r.chi2_pvalue),
            "drifted": r.drifted,
            "drifted_by": list(r.drifted_by),
            "reference_start": r.reference[0].isoformat(),
            "reference_end": r.reference[1].isoformat(),
            "current_start": r.current[0].isoformat(),
            "current_end": r.current[1].isoformat(),
        }
        for r in results
    ]


def save_drift_results(
    store: Store,
    results: list[DriftResult],
    thresholds: Thresholds | None = None,
    source: str = "manual",
) -> int:
    """Store results in ``drift_results`` (one run id for the batch); returns the rows written."""
    if not results:
        return 0
    limits = thresholds or Thresholds()
    n = len(results)
    computed_at = datetime.now(UTC)
    ms = pa.timestamp("ms", tz="UTC")
    table = pa.table(
        {
            "TenantId": [r.tenant for r in results],
            "ModelName": [r.model for r in results],
            "ModelVersion": [r.model_version for r in results],
            "ReferenceVersion": [r.reference_version for r in results],
            "Feature": [r.feature for r in results],
            "Kind": [r.kind for r in results],
            "ReferenceStart": pa.array([r.reference[0] for r in results], ms),
            "ReferenceEnd": pa.array([r.reference[1] for r in results], ms),
            "CurrentStart": pa.array([r.current[0] for r in results], ms),
            "CurrentEnd": pa.array([r.current[1] for r in results], ms),
            "NReference": pa.array([r.n_reference for r in results], pa.uint64()),
            "NCurrent": pa.array([r.n_current for r in results], pa.uint64()),
            "Psi": pa.array([r.psi for r in results], pa.float64()),
            "Js": pa.array([r.js for r in results], pa.float64()),
            "KsStatistic": pa.array([r.ks_statistic for r in results], pa.float64()),
            "KsPValue": pa.array([r.ks_pvalue for r in results], pa.float64()),
            "Wasserstein": pa.array([r.wasserstein for r in results], pa.float64()),
            "Chi2": pa.array([r.chi2 for r in results], pa.float64()),
            "Chi2PValue": pa.array([r.chi2_pvalue for r in results], pa.float64()),
            "Status": [r.status for r in results],
            "Drifted": [r.drifted for r in results],
            "DriftedBy": [list(r.drifted_by) for r in results],
            "PsiThreshold": [limits.psi] * n,
            "JsThreshold": [limits.js] * n,
            "KsPValueThreshold": [limits.ks_pvalue] * n,
            "Chi2PValueThreshold": [limits.chi2_pvalue] * n,
            "MinSamples": pa.array([limits.min_samples] * n, pa.uint32()),
            "Source": [source] * n,
            "RunId": [str(uuid.uuid4())] * n,
            "ComputedAt": pa.array([computed_at] * n, ms),
        }
    )
    store.insert_arrow("drift_results", table)
    return n


def run_drift_job(store: Store, *, now: datetime | None = None) -> JobResult:
    """Compare each complete hour not done yet with the 7 days before it and store the results.

    Resumes after the last hour this job stored (or recorded in ``job_runs``); on the first run,
    and after a long pause, it goes back at most 24 hours. Observations arriving after their hour
    was done are not looked at again.
    """
    latest = _floor(_utc(now or datetime.now(UTC)), JOB_WINDOW)
    done = _job_watermark(store)
    start = (
        latest - JOB_WINDOW
        if done is None
        else max(_floor(done, JOB_WINDOW), latest - JOB_BACKFILL)
    )
    first, rows = start, 0
    while start + JOB_WINDOW <= latest:
        results = drift_against_baseline(store, (start, start + JOB_WINDOW), save=False)
        rows += save_drift_results(store, results, source="job")
        start += JOB_WINDOW
    return JobResult(first, max(start, first), rows)


def quality_proxies(
    store: Store,
    since: datetime,
    bucket: timedelta = timedelta(hours=1),
    model: str | None = None,
    *,
    until: datetime | None = None,
    tenant: str | None = None,
    service: str | None = None,
    agent: str | None = None,
) -> list[dict[str, Any]]:
    """Signs of degradation without labels, per time bucket and model: decisions and their mean
    confidence, the share of checked decisions failing a policy check, the share escalated, and
    model calls with their mean output tokens. A side with no rows in a bucket gives 0 counts and
    NULL means. ``service`` and ``agent`` keep the decisions and spans of that service or agent.
    Plain SQL without query settings, so a read-only user can run it."""
    if bucket < timedelta(seconds=1):
        raise ValueError("the bucket must be at least one second")
    span = _window((since, until or datetime.now(UTC)), "time range")
    params: dict[str, Any] = {
        "lo": _ts(span[0]),
        "hi": _ts(span[1]),
        "bucket": int(bucket.total_seconds()),
        "failed": list(FAILED_VERDICTS),
        "quoted": [f'"{verdict}"' for verdict in FAILED_VERDICTS],
    }
    filters = _filters(params, None, tenant)
    for column, name, value in (("ServiceName", "service", service), ("AgentName", "agent", agent)):
        if value is not None:
            params[name] = value
            filters += f" AND {column} = {{{name}:String}}"
    if model is not None:
        params["model"] = model
        filters += " AND model = {model:String}"
    return query_rows(store, _QUALITY.format(filters=filters), params)


_QUALITY_BUCKET = (
    "toDateTime64(toStartOfInterval(Timestamp, toIntervalSecond({{bucket:UInt32}}), 'UTC'),"
    " 3, 'UTC')"
)
_QUALITY_WINDOW = (
    "Timestamp >= {{lo:DateTime64(6, 'UTC')}} AND Timestamp < {{hi:DateTime64(6, 'UTC')}}"
)
# Both sides summed into one row per bucket and model: a UNION ALL and GROUP BY rather than a
# FULL JOIN, whose missing sides would need the join_use_nulls setting to come out as NULL. A
# failing verdict's quoted name must occur in the text before the checks are parsed (most pass).
_QUALITY = f"""
SELECT bucket, model,
       sum(d_n) AS decisions,
       if(sum(d_conf_n) > 0, sum(d_conf) / sum(d_conf_n), NULL) AS mean_confidence,
       if(sum(d_checked) > 0, sum(d_failing) / sum(d_checked), NULL) AS policy_failure_rate,
       if(sum(d_n) > 0, sum(d_escalated) / sum(d_n), NULL) AS escalation_rate,
       sum(c_n) AS model_calls,
       if(sum(c_n) > 0, sum(c_tokens) / sum(c_n), NULL) AS mean_output_tokens
FROM (
    SELECT {_QUALITY_BUCKET} AS bucket, ModelName AS model,
           count() AS d_n,
           sum(ifNull(Confidence, 0)) AS d_conf,
           count(Confidence) AS d_conf_n,
           countIf(JSONType(PolicyChecks) = 'Array' AND JSONLength(PolicyChecks) > 0) AS d_checked,
           countIf(multiSearchAnyCaseInsensitive(PolicyChecks, {{{{quoted:Array(String)}}}})
                   AND arrayExists(
                       c -> lower(JSONExtractString(c, 'verdict')) IN {{{{failed:Array(String)}}}},
                       JSONExtractArrayRaw(PolicyChecks))) AS d_failing,
           countIf(startsWith(lower(Chosen), 'escalat')
                   OR startsWith(lower(DecisionType), 'escalat')) AS d_escalated,
           toUInt64(0) AS c_n, toUInt64(0) AS c_tokens
    FROM decisions
    WHERE {_QUALITY_WINDOW} {{filters}}
    GROUP BY bucket, model
    UNION ALL
    SELECT {_QUALITY_BUCKET} AS bucket,
           if(ResponseModel != '', ResponseModel, RequestModel) AS model,
           0, 0.0, 0, 0, 0, 0, count(), sum(OutputTokens)
    FROM otel_traces
    WHERE {_QUALITY_WINDOW} AND OutputTokens > 0 AND model != '' {{filters}}
    GROUP BY bucket, model
)
GROUP BY bucket, model
ORDER BY bucket, model
"""


@dataclass(frozen=True)
class _Scope:
    """What to compare: the rows (``where``), which window a row is in (``side``: 0 reference,
    1 current, 2 neither) and the version a result is reported under."""

    where: str
    side: str
    version: str
    params: Params
    reference: Window
    current: Window
    reference_version: str | None = None


_NUMERIC = """
WITH obs AS (
    SELECT TenantId, ModelName, {version} AS Version, Feature, Value,
           cityHash64(TenantId, ModelName, Version, Feature) AS gk, {side} AS side
    FROM model_observations
    WHERE Category = '' AND isFinite(Value) AND {where} AND side < 2
),
grid AS (
    SELECT gk, arrayJoin(arrayConcat([-inf], arraySort(arrayDistinct(arrayFilter(
        x -> isFinite(x),
        arrayConcat(quantilesIf({levels})(Value, side = 0), quantilesIf({levels})(Value, side = 1))
    ))))) AS edge
    FROM obs
    GROUP BY gk
)
SELECT o.gk AS gk, any(o.TenantId) AS tenant, any(o.ModelName) AS model,
       any(o.Version) AS version, any(o.Feature) AS feature, g.edge AS edge,
       countIf(side = 0) AS n0, sumIf(Value, side = 0) AS s0,
       minIf(Value, side = 0) AS lo0, maxIf(Value, side = 0) AS hi0,
       countIf(side = 1) AS n1, sumIf(Value, side = 1) AS s1,
       minIf(Value, side = 1) AS lo1, maxIf(Value, side = 1) AS hi1
FROM obs AS o
ASOF JOIN grid AS g ON o.gk = g.gk AND o.Value >= g.edge
GROUP BY gk, edge
ORDER BY gk, edge
"""

_CATEGORICAL = """
WITH counted AS (
    SELECT TenantId, ModelName, Version, Feature, Category,
           countIf(side = 0) AS n0, countIf(side = 1) AS n1
    FROM (
        SELECT TenantId, ModelName, {version} AS Version, Feature, Category, {side} AS side
        FROM model_observations
        WHERE Category != '' AND {where} AND side < 2
    )
    GROUP BY TenantId, ModelName, Version, Feature, Category
)
SELECT TenantId AS tenant, ModelName AS model, Version AS version, Feature AS feature,
       if(rank <= {max_categories}, Category, '') AS category, sum(n0) AS n0, sum(n1) AS n1
FROM (
    SELECT *, row_number() OVER (PARTITION BY TenantId, ModelName, Version, Feature
                                 ORDER BY n0 + n1 DESC, Category) AS rank
    FROM counted
)
GROUP BY tenant, model, version, feature, category
ORDER BY tenant, model, version, feature, category
"""


def _run(
    store: Store, scope: _Scope, thresholds: Thresholds, source: str | None
) -> list[DriftResult]:
    text = {"version": scope.version, "side": scope.side, "where": scope.where}
    numeric = store.query_arrow(_NUMERIC.format(levels=_LEVELS, **text), scope.params)
    categorical = store.query_arrow(
        _CATEGORICAL.format(max_categories=MAX_CATEGORIES, **text), scope.params
    )
    results = sorted(
        [
            *_numeric_results(numeric, scope, thresholds),
            *_categorical_results(categorical, scope, thresholds),
        ],
        key=lambda r: (r.tenant, r.model, r.model_version, r.feature, r.kind),
    )
    if source is not None:
        save_drift_results(store, results, thresholds, source)
    return results


def _numeric_results(table: pa.Table, scope: _Scope, thresholds: Thresholds) -> list[DriftResult]:
    if table.num_rows == 0:
        return []
    keys = table.column("gk").to_numpy()
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    ends = np.append(starts[1:], len(keys))
    columns = {
        name: table.column(name).to_numpy()
        for name in ("n0", "s0", "lo0", "hi0", "n1", "s1", "lo1", "hi1")
    }
    results = []
    for start, end in zip(starts, ends, strict=True):
        ref, cur = (
            BinnedWindow(
                counts=columns[f"n{side}"][start:end].astype(np.int64),
                sums=columns[f"s{side}"][start:end],
                lows=columns[f"lo{side}"][start:end],
                highs=columns[f"hi{side}"][start:end],
            )
            for side in (0, 1)
        )
        first = table.slice(int(start), 1).to_pylist()[0]
        base = _base(first, "numeric", scope, ref.n, cur.n, thresholds)
        if base.status != "ok":
            results.append(base)
            continue
        results.append(_judged(base, thresholds, numeric_drift(ref, cur)))
    return results


def _categorical_results(
    table: pa.Table, scope: _Scope, thresholds: Thresholds
) -> list[DriftResult]:
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for row in table.to_pylist():
        groups.setdefault((row["tenant"], row["model"], row["version"], row["feature"]), []).append(
            row
        )
    results = []
    for rows in groups.values():
        ref = np.array([row["n0"] for row in rows], dtype=np.int64)
        cur = np.array([row["n1"] for row in rows], dtype=np.int64)
        base = _base(rows[0], "categorical", scope, int(ref.sum()), int(cur.sum()), thresholds)
        if base.status != "ok":
            results.append(base)
            continue
        results.append(_judged(base, thresholds, categorical_drift(ref, cur)))
    return results


def _base(
    row: dict[str, Any], kind: Kind, scope: _Scope, n_ref: int, n_cur: int, limits: Thresholds
) -> DriftResult:
    enough = min(n_ref, n_cur) >= limits.min_samples
    return DriftResult(
        tenant=row["tenant"],
        model=row["model"],
        model_version=row["version"],
        reference_version=(
            scope.reference_version if scope.reference_version is not None else row["version"]
        ),
        feature=row["feature"],
        kind=kind,
        reference=scope.reference,
        current=scope.current,
        n_reference=n_ref,
        n_current=n_cur,
        status="ok" if enough else "insufficient_data",
    )


def _judged(
    base: DriftResult, limits: Thresholds, drift: NumericDrift | CategoricalDrift
) -> DriftResult:
    if isinstance(drift, NumericDrift):
        judged = replace(
            base,
            psi=drift.psi,
            js=drift.js,
            ks_statistic=drift.ks_statistic,
            ks_pvalue=drift.ks_pvalue,
            wasserstein=drift.wasserstein,
        )
    else:
        judged = replace(
            base, psi=drift.psi, js=drift.js, chi2=drift.chi2, chi2_pvalue=drift.chi2_pvalue
        )
    past = {
        "psi": drift.psi > limits.psi,
        "js": drift.js > limits.js,
        "ks_pvalue": judged.ks_pvalue is not None and judged.ks_pvalue < limits.ks_pvalue,
        "chi2_pvalue": judged.chi2_pvalue is not None and judged.chi2_pvalue < limits.chi2_pvalue,
    }
    return replace(judged, drifted_by=tuple(name for name, over in past.items() if over))


def _filters(params: dict[str, Any], model: str | None, tenant: str | None) -> str:
    sql = ""
    if model is not None:
        params["model"] = model
        sql += " AND ModelName = {model:String}"
    if tenant is not None:
        params["tenant"] = tenant
        sql += " AND TenantId = {tenant:String}"
    return sql


def _job_watermark(store: Store) -> datetime | None:
    rows = query_rows(
        store,
        "SELECT greatest("
        " (SELECT max(CurrentEnd) FROM drift_results WHERE Source = 'job'),"
        " (SELECT max(toDateTime64(WindowEnd, 3, 'UTC')) FROM job_runs"
        "  WHERE Job = {job:String} AND Status = 'ok')) AS last,"
        " (SELECT count() FROM drift_results WHERE Source = 'job')"
        " + (SELECT count() FROM job_runs WHERE Job = {job:String} AND Status = 'ok') AS runs",
        {"job": JOB_NAME},
    )
    if not rows or rows[0]["runs"] == 0:
        return None
    last: datetime = rows[0]["last"]
    return _utc(last)


def _window(window: Window, name: str) -> Window:
    start, end = window
    start, end = _utc(start), _utc(end)
    if not start < end:
        raise ValueError(f"the {name} must start before it ends ({start} .. {end})")
    return start, end


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _floor(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // step) * step


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
