"""The ingest benchmark's CPU split: the README's "where the time goes" figures come from it."""

from __future__ import annotations

import os
import threading
import time

from benchmarks.ingest import _cpu_seconds, _CpuSampler


def test_a_stat_line_is_read_after_the_command_name_whatever_it_holds() -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    fields = ["S"] + ["0"] * 10 + [str(3 * ticks), str(ticks)] + ["0"] * 30
    line = f"4242 (a) b (c)) {' '.join(fields)}"

    assert _cpu_seconds(line) == 4.0


def _spin(seconds: float) -> None:
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass


def test_the_sampler_counts_a_python_thread_even_after_it_has_exited() -> None:
    sampler = _CpuSampler(os.getpid())
    worker = threading.Thread(target=_spin, args=(1.5,))
    worker.start()
    worker.join()
    time.sleep(0.6)  # the worker is gone: only the sampler's readings of it remain

    used = sampler.stop()

    # Read every half second, it keeps at least what it used up to a second before it ended.
    assert used["python"] >= 1.0
    assert used["merges"] == 0.0
    assert used["total"] >= used["python"]
    assert abs(used["total"] - used["python"] - used["merges"] - used["engine"]) < 1e-9
