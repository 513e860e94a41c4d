"""Running analytics jobs and recording every run in ``job_runs``; the in-process scheduler."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from agentledger.analytics.anomalies import run_anomaly_job
from agentledger.analytics.budgets import run_budget_job
from agentledger.analytics.cost import run_cost_job
from agentledger.analytics.drift import JOB_NAME as DRIFT
from agentledger.analytics.drift import run_drift_job
from agentledger.analytics.job_result import JobResult
from agentledger.analytics.kpi_rollup import JOB_NAME as KPI_ATTRIBUTION
from agentledger.analytics.kpi_rollup import run_kpi_attribution_job
from agentledger.analytics.lineage import JOB as LINEAGE
from agentledger.analytics.lineage import run_lineage_job
from agentledger.storage.store import Store, query_rows

__all__ = ["JOBS", "JobResult", "Scheduler", "job_status", "run_job", "watermark"]

log = logging.getLogger(__name__)


JobFn = Callable[[Store], JobResult]

# In order: budgets read the cost rollups the cost job has just brought up to date; KPI
# attribution prices traces with the catalog the cost job used.
JOBS: dict[str, JobFn] = {
    "cost": run_cost_job,
    "budgets": run_budget_job,
    "anomalies": run_anomaly_job,
    DRIFT: run_drift_job,
    KPI_ATTRIBUTION: run_kpi_attribution_job,
    LINEAGE: run_lineage_job,
}


def run_job(store: Store, name: str) -> JobResult:
    """Run one job now and record the run, successful or not."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; known jobs: {', '.join(sorted(JOBS))}")
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    try:
        result = JOBS[name](store)
    except Exception as exc:
        _record(store, name, started, None, "error", time.perf_counter() - t0, str(exc))
        raise
    _record(store, name, started, result, "ok", time.perf_counter() - t0, "")
    return result


def watermark(store: Store, name: str) -> datetime | None:
    """The end of the last window ``name`` computed successfully: where its next run starts, so
    no window is computed twice or skipped, across restarts."""
    rows = query_rows(
        store,
        "SELECT max(WindowEnd) AS last FROM job_runs WHERE Job = {job:String} AND Status = 'ok'"
        " HAVING count() > 0",
        {"job": name},
    )
    if not rows:
        return None
    last: datetime = rows[0]["last"]
    return last if last.tzinfo else last.replace(tzinfo=UTC)


def job_status(store: Store) -> list[dict[str, object]]:
    """Per known job: its watermark, how far behind now it is, its last run and failures."""
    runs = {
        row["Job"]: row
        for row in query_rows(
            store,
            "SELECT Job, count() AS runs, countIf(Status != 'ok') AS failures,"
            " max(StartedAt) AS last_run, argMax(Status, StartedAt) AS last_status,"
            " argMax(Rows, StartedAt) AS last_rows, argMax(DurationMs, StartedAt) AS last_ms,"
            " argMax(Error, StartedAt) AS last_error,"
            " maxIf(WindowEnd, Status = 'ok') AS watermark, countIf(Status = 'ok') AS ok_runs"
            " FROM job_runs GROUP BY Job",
        )
    }
    now = datetime.now(UTC)
    status: list[dict[str, object]] = []
    for name in JOBS:
        row = runs.get(name)
        mark = row["watermark"] if row and row["ok_runs"] else None
        if isinstance(mark, datetime) and mark.tzinfo is None:
            mark = mark.replace(tzinfo=UTC)
        status.append(
            {
                "job": name,
                "watermark": mark,
                "lag_s": round((now - mark).total_seconds(), 1) if mark else None,
                "runs": row["runs"] if row else 0,
                "failures": row["failures"] if row else 0,
                "last_run": row["last_run"] if row else None,
                "last_status": row["last_status"] if row else "never run",
                "last_rows": row["last_rows"] if row else None,
                "last_ms": round(row["last_ms"], 1) if row else None,
                "last_error": row["last_error"] if row else "",
            }
        )
    return status


def _record(
    store: Store,
    name: str,
    started: datetime,
    result: JobResult | None,
    status: str,
    seconds: float,
    error: str,
) -> None:
    store.command(
        "INSERT INTO job_runs (RunId, Job, WindowStart, WindowEnd, StartedAt, FinishedAt, Status,"
        " Rows, DurationMs, Error) VALUES ({id:UUID}, {job:String}, {ws:DateTime64(3)},"
        " {we:DateTime64(3)}, {start:DateTime64(3)}, now64(3), {status:String}, {rows:UInt64},"
        " {ms:Float64}, {error:String})",
        {
            "id": str(uuid.uuid4()),
            "job": name,
            "ws": _ts(result.window_start if result else started),
            "we": _ts(result.window_end if result else started),
            "start": _ts(started),
            "status": status,
            "rows": result.rows if result else 0,
            "ms": seconds * 1000,
            "error": error,
        },
    )


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class Scheduler:
    """Runs every job every ``interval`` seconds in a background thread until stopped."""

    def __init__(self, store: Store, interval: float) -> None:
        self._store = store
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="agentledger-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            for name in JOBS:
                try:
                    run_job(self._store, name)
                except Exception:
                    log.exception("job %s failed; it will run again in %.0fs", name, self._interval)
