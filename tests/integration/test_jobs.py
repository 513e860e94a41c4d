"""Job runs, watermarks and status against real chDB: a failed run moves no watermark, and a
restarted scheduler resumes where the last good window ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentledger.analytics import jobs
from agentledger.analytics.job_result import JobResult
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import Store


def test_watermarks_advance_only_with_good_runs(
    store: ChdbStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ends = iter([datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)])
    fail = {"now": False}

    def windowed(target: Store) -> JobResult:
        if fail["now"]:
            raise RuntimeError("upstream table is missing")
        start = jobs.watermark(target, "windowed") or datetime(2026, 11, 19, tzinfo=UTC)
        return JobResult(start, next(ends), 3)

    monkeypatch.setitem(jobs.JOBS, "windowed", windowed)
    assert jobs.watermark(store, "windowed") is None
    first = jobs.run_job(store, "windowed")
    fail["now"] = True
    with pytest.raises(RuntimeError, match="missing"):
        jobs.run_job(store, "windowed")
    assert jobs.watermark(store, "windowed") == first.window_end
    fail["now"] = False
    second = jobs.run_job(store, "windowed")  # as after a restart: the state is in job_runs
    assert second.window_start == first.window_end  # no gap, no overlap
    (row,) = [r for r in jobs.job_status(store) if r["job"] == "windowed"]
    assert row["watermark"] == second.window_end
    assert (row["runs"], row["failures"], row["last_status"]) == (3, 1, "ok")
    assert row["lag_s"] == pytest.approx(
        (datetime.now(UTC) - second.window_end).total_seconds(), abs=60
    )


def test_status_lists_every_job_even_never_run(store: ChdbStore) -> None:
    status = {row["job"]: row for row in jobs.job_status(store)}
    assert set(status) == set(jobs.JOBS)
    never = [row for row in status.values() if row["runs"] == 0]
    assert all(row["last_status"] == "never run" and row["watermark"] is None for row in never)
    jobs.run_job(store, "cost")
    cost = next(row for row in jobs.job_status(store) if row["job"] == "cost")
    assert cost["last_status"] == "ok" and cost["runs"] >= 1
    assert isinstance(cost["watermark"], datetime)
    assert cost["watermark"] > datetime.now(UTC) - timedelta(minutes=5)
