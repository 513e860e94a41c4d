"""Running analytics jobs and recording every run in ``job_runs``; the in-process scheduler."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from agentledger.analytics.cost import run_cost_job
from agentledger.analytics.job_result import JobResult
from agentledger.storage.store import Store

__all__ = ["JOBS", "JobResult", "Scheduler", "run_job"]

log = logging.getLogger(__name__)


JobFn = Callable[[Store], JobResult]

JOBS: dict[str, JobFn] = {"cost": run_cost_job}


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
