"""Drift at scale: every feature of N generated observations compared between the last day and
the 7 days before it (target: 10M observations in < 5 s), against Evidently's DataDriftPreset on
the same data in the same run.

python benchmarks/analytics_drift.py [--rows 10000000] [--evidently-events N]

Observations are generated inside ClickHouse with numbers() in a temporary data directory: one
model, events spread evenly over 8 days, each event with 20 features (16 numeric: normal,
lognormal, exponential and Poisson; 4 categorical). Drift is planted in the last day in f00-f03
and f16; the other features keep their distribution. Evidently gets the same observations
pivoted to one row per event (fetched from ClickHouse, then pandas; Evidently is imported before
the clock starts; ours is the median of 3 runs); with --evidently-events it
runs on that many sampled events and its time is extrapolated linearly to all of them, which the
output says.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

from agentledger.analytics.drift import drift_between_windows
from agentledger.analytics.drift_report import write_drift_report
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.migrate import migrate

FEATURES = 20
NUMERIC = 16
PLANTED = {"f00", "f01", "f02", "f03", "f16"}
TARGET_S = 5.0

_GENERATE = """
INSERT INTO model_observations (Timestamp, TenantId, ModelName, ModelVersion, Feature, Value,
    Category, TraceId, SpanId, DecisionId)
SELECT ts, 'bench', 'scorer', 'v1', feature, value, category, '', '', toString(event)
FROM (
    SELECT intDiv(number, {features:UInt8}) AS event, number % {features:UInt8} AS f,
           {end:DateTime64(6, 'UTC')} - toIntervalMicrosecond((event + 1) * {spacing:UInt64}) AS ts,
           ts >= {current:DateTime64(6, 'UTC')} AND f IN (0, 1, 2, 3, 16) AS shifted,
           concat('f', leftPad(toString(f), 2, '0')) AS feature,
           multiIf(
               f >= {numeric:UInt8}, 0,
               f % 4 = 0, randNormal(0, 1) + if(shifted, 0.3, 0),
               f % 4 = 1, exp(randNormal(1, 0.5) + if(shifted, 0.2, 0)),
               f % 4 = 2, randExponential(1) * if(shifted, 1.25, 1),
               toFloat64(randPoisson(50) + if(shifted, 3, 0))) AS value,
           if(f >= {numeric:UInt8},
              concat('k', toString(rand() % if(shifted, 8, 5 * (f - 14)))),
              '') AS category
    FROM numbers({rows:UInt64})
)
"""


def _row(step: str, value: float, unit: str, note: str = "") -> dict[str, Any]:
    return {"benchmark": "drift", "step": step, "value": round(value, 3), "unit": unit,
            "note": note}  # fmt: skip


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _pivot_sql(sample_modulo: int) -> str:
    """One row per event and window side, a column per feature, as Evidently needs them."""
    columns = ", ".join(
        f"anyIf({'Value' if i < NUMERIC else 'Category'}, Feature = 'f{i:02d}') AS f{i:02d}"
        for i in range(FEATURES)
    )
    return (
        f"SELECT Timestamp >= {{cs:DateTime64(6, 'UTC')}} AS side, {columns}"
        " FROM model_observations WHERE Timestamp >= {rs:DateTime64(6, 'UTC')}"
        " AND Timestamp < {ce:DateTime64(6, 'UTC')}"
        f" AND cityHash64(DecisionId) % {sample_modulo} = 0"
        " GROUP BY side, DecisionId"
    )


def _evidently(frames: dict[bool, pd.DataFrame]) -> None:
    names = [f"f{i:02d}" for i in range(FEATURES)]
    definition = DataDefinition(
        numerical_columns=names[:NUMERIC], categorical_columns=names[NUMERIC:]
    )
    reference, current = (
        Dataset.from_pandas(frames[side].drop(columns="side"), data_definition=definition)
        for side in (False, True)
    )
    Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)


def run(rows: int = 10_000_000, evidently_events: int | None = None) -> list[dict[str, Any]]:
    """Generate ``rows`` observations in a temporary store; time our drift and Evidently's."""
    folder = Path(tempfile.mkdtemp(prefix="agentledger-bench-drift-"))
    store = ChdbStore(folder / "data")
    try:
        migrate(store)
        end = datetime.now(UTC).replace(microsecond=0)
        current = (end - timedelta(days=1), end)
        reference = (end - timedelta(days=8), current[0])
        events = rows // FEATURES
        params = {
            "rows": events * FEATURES,
            "features": FEATURES,
            "numeric": NUMERIC,
            "end": end.strftime("%Y-%m-%d %H:%M:%S"),
            "current": current[0].strftime("%Y-%m-%d %H:%M:%S"),
            "spacing": int(timedelta(days=8) / timedelta(microseconds=1)) // max(events, 1),
        }
        seconds, _ = _timed(lambda: store.command(_GENERATE, params))
        out = [_row("generate observations in ClickHouse", seconds, "s", f"{rows:,} rows")]

        times, results = [], []
        for _ in range(3):
            seconds, results = _timed(lambda: drift_between_windows(store, reference, current))
            times.append(seconds)
        ours = statistics.median(times)
        flagged = {r.feature for r in results if r.drifted}
        verdict = "as planted" if flagged == PLANTED else f"PLANTED {sorted(PLANTED)}"
        out.append(
            _row(
                "drift, all features (median of 3)",
                ours,
                "s",
                f"target < {TARGET_S:.0f} s; {len(results)} features, "
                f"{sum(r.n_reference + r.n_current for r in results):,} observations; "
                f"drifted {sorted(flagged)} ({verdict})",
            )
        )

        modulo = max(1, -(-events // evidently_events)) if evidently_events else 1
        window = {
            "rs": reference[0].strftime("%Y-%m-%d %H:%M:%S"),
            "cs": current[0].strftime("%Y-%m-%d %H:%M:%S"),
            "ce": current[1].strftime("%Y-%m-%d %H:%M:%S"),
        }
        fetch, table = _timed(lambda: store.query_arrow(_pivot_sql(modulo), window).to_pandas())
        frames = {bool(side): frame for side, frame in table.groupby("side")}
        sampled = len(table)
        evidently, _ = _timed(lambda: _evidently(frames))
        scale = events / sampled if modulo > 1 else 1.0
        how = (
            f"on {sampled:,} sampled events of {events:,}, times x{scale:.1f} (extrapolated)"
            if modulo > 1
            else f"on all {sampled:,} events ({sampled * FEATURES:,} values)"
        )
        out.append(_row("Evidently: fetch + pivot to pandas", fetch * scale, "s", how))
        out.append(_row("Evidently: DataDriftPreset", evidently * scale, "s", how))
        total = (fetch + evidently) * scale
        out.append(
            _row("Evidently / ours", total / ours, "x", f"{total:.1f} s against {ours:.2f} s")
        )
        seconds, _ = _timed(
            lambda: write_drift_report(
                store, "scorer", reference, current, folder / "report.html", 50_000
            )
        )
        out.append(
            _row("Evidently report on 50k samples/feature", seconds, "s", "write_drift_report")
        )
        return out
    finally:
        store.close()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--evidently-events",
        type=int,
        default=None,
        help="run Evidently on about this many sampled events and extrapolate (default: all)",
    )
    args = parser.parse_args()
    rows = run(args.rows, args.evidently_events)
    print(f"{'step':<44}{'value':>10}  {'unit':<5}note")
    for row in rows:
        print(f"{row['step']:<44}{row['value']:>10,.3f}  {row['unit']:<5}{row['note']}")


if __name__ == "__main__":
    main()
