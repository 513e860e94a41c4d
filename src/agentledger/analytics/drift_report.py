"""An Evidently data-drift report (HTML) of one model's features, on a sample.

Evidently works in pandas, so it gets a uniform random sample of at most ``sample_rows``
observations per feature and window, drawn in ClickHouse; our own drift metrics
(:mod:`agentledger.analytics.drift`) stay the ones computed on all observations. Drift is
univariate, so each feature is sampled on its own and the samples become the report's columns
side by side (shorter columns padded with missing values, which Evidently skips).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from agentledger.analytics.drift import Window, parse_window, rolling_windows
from agentledger.storage.store import Store, query_rows

__all__ = ["write_drift_report"]

_SIDE = "multiIf({current}, 1, {reference}, 0, 2)"
_IN_WINDOW = (
    "Timestamp >= {{{name}s:DateTime64(6, 'UTC')}} AND Timestamp < {{{name}e:DateTime64(6, 'UTC')}}"
)

_COUNTS = """
SELECT Feature AS feature, Category != '' AS categorical, {side} AS side, count() AS n
FROM model_observations
WHERE ModelName = {{model:String}} AND {where} AND side < 2
GROUP BY feature, categorical, side
"""

_SAMPLE = """
SELECT Feature AS feature, categorical, side, Value AS value, Category AS category
FROM (
    SELECT Feature, Value, Category, Category != '' AS categorical, {side} AS side,
           concat(Feature, '/', toString(categorical), '/', toString(side)) AS key
    FROM model_observations
    WHERE ModelName = {{model:String}} AND {where} AND side < 2
      AND randCanonical() < {{keep:Array(Float64)}}[indexOf({{keys:Array(String)}}, key)]
)
ORDER BY rand64()
LIMIT {{rows:UInt64}} BY feature, categorical, side
"""


def write_drift_report(
    store: Store,
    model: str,
    reference: Window | str | None,
    current: Window | str | None,
    out: Path,
    sample_rows: int = 50_000,
    *,
    reference_version: str | None = None,
    current_version: str | None = None,
    tenant: str | None = None,
) -> Path:
    """Write the report comparing ``model`` between two time windows (``START..END`` text or
    pairs; default: the last day against the 7 days before), or between two of its versions over
    all kept observations. Returns the file written."""
    if sample_rows < 1:
        raise ValueError("sample_rows must be at least 1")
    side, where, params, title = _sides(
        model, reference, current, reference_version, current_version, tenant
    )
    counts = query_rows(store, _COUNTS.format(side=side, where=where), params)
    seen = {
        (str(c["feature"]), bool(c["categorical"]), int(c["side"])): int(c["n"]) for c in counts
    }
    shared = {(f, c) for f, c, s in seen if s == 0 and (f, c, 1) in seen}
    if not shared:
        raise ValueError(f"model {model!r} has no feature observed in both windows ({title})")
    keys = [f"{f}/{int(c)}/{s}" for f, c, s in seen]
    keep = [min(1.0, 2.0 * sample_rows / n + 0.001) for n in seen.values()]
    sample = store.query_arrow(
        _SAMPLE.format(side=side, where=where),
        {**params, "keys": keys, "keep": keep, "rows": sample_rows},
    ).to_pandas()
    frames, numeric, categorical = _columns(sample, shared)
    _run_evidently(frames, numeric, categorical, out, {"model": model, "compared": title})
    return out


def _sides(
    model: str,
    reference: Window | str | None,
    current: Window | str | None,
    reference_version: str | None,
    current_version: str | None,
    tenant: str | None,
) -> tuple[str, str, dict[str, Any], str]:
    """SQL for the window a row is in (0 reference, 1 current, 2 neither), the row filter, the
    parameters, and a title."""
    if not model:
        raise ValueError("name the model to report on")
    params: dict[str, Any] = {"model": model}
    where = "1"
    if tenant is not None:
        params["tenant"] = tenant
        where = "TenantId = {tenant:String}"
    if reference_version is not None or current_version is not None:
        if None in (reference_version, current_version) or (reference, current) != (None, None):
            raise ValueError("compare versions with both versions and no time windows")
        if reference_version == current_version:
            raise ValueError("the reference and current versions are the same")
        params.update(rv=reference_version, cv=current_version)
        side = _SIDE.format(
            current="ModelVersion = {cv:String}", reference="ModelVersion = {rv:String}"
        )
        return side, where, params, f"version {reference_version} -> {current_version}"
    ref, cur = _windows(reference, current)
    for name, (start, end) in (("r", ref), ("c", cur)):
        params[f"{name}s"] = _ts(start)
        params[f"{name}e"] = _ts(end)
    side = _SIDE.format(current=_IN_WINDOW.format(name="c"), reference=_IN_WINDOW.format(name="r"))
    title = f"{_ts(ref[0])}..{_ts(ref[1])} -> {_ts(cur[0])}..{_ts(cur[1])}"
    return side, where, params, title


def _windows(reference: Window | str | None, current: Window | str | None) -> tuple[Window, Window]:
    if reference is None and current is None:
        return rolling_windows()
    if reference is None or current is None:
        raise ValueError("give both the reference and the current window, or neither")
    ref, cur = parse_window(reference, "reference"), parse_window(current, "current")
    if ref[0] < cur[1] and cur[0] < ref[1]:
        raise ValueError("the reference and current windows overlap; choose disjoint windows")
    return ref, cur


def _columns(
    sample: pd.DataFrame, shared: set[tuple[str, bool]]
) -> tuple[dict[int, pd.DataFrame], list[str], list[str]]:
    """One DataFrame per window with a column per feature seen in both windows; a feature that is
    both numeric and categorical gets two columns."""
    names = {(f, c): f"{f} (category)" if c and (f, False) in shared else f for f, c in shared}
    frames = {}
    for side in (0, 1):
        columns = {}
        for (feature, categorical), name in sorted(names.items()):
            rows = sample[
                (sample["feature"] == feature)
                & (sample["categorical"] == categorical)
                & (sample["side"] == side)
            ]
            values = rows["category"] if categorical else rows["value"]
            columns[name] = values.reset_index(drop=True)
        frames[side] = pd.DataFrame(columns)
    numeric_names = sorted(n for (_, c), n in names.items() if not c)
    categorical_names = sorted(n for (_, c), n in names.items() if c)
    return frames, numeric_names, categorical_names


def _run_evidently(
    frames: dict[int, pd.DataFrame],
    numeric: list[str],
    categorical: list[str],
    out: Path,
    metadata: dict[str, str],
) -> None:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    reference, current = (
        Dataset.from_pandas(frames[side], data_definition=definition) for side in (0, 1)
    )
    snapshot = Report([DataDriftPreset()], metadata=dict(metadata)).run(
        current_data=current, reference_data=reference
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(out))


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
