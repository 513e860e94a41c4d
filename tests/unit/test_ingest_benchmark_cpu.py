"""The ingest benchmark's CPU split: the README's "where the time goes" figures come from it.

The sampler watches another process (the server, in the benchmark), so these tests run their
threads in a child Python process they steer line by line through its stdin and stdout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from benchmarks.ingest import _cpu_seconds, _CpuSampler

_CHILD = """
import ctypes, sys, threading, time

def spin(seconds):
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass

def step(line):
    print(line, flush=True)
    sys.stdin.readline()

def exiting():
    spin(1.5)

def renamed():
    spin(1.0)
    step("spun")
    ctypes.CDLL(None).prctl(15, ctypes.c_char_p(sys.argv[2].encode()), 0, 0, 0)  # PR_SET_NAME
    spin(0.3)
    step("worked")

step("ready")
worker = threading.Thread(target=exiting if sys.argv[1] == "exiting" else renamed)
worker.start()
worker.join()
step("done")
"""


@contextmanager
def _child(scenario: str, name: str = "") -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, scenario, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def _expect(child: subprocess.Popen[str], line: str) -> None:
    assert child.stdout is not None
    assert child.stdout.readline().strip() == line


def _go(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def test_a_stat_line_is_read_after_the_command_name_whatever_it_holds() -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    fields = ["S"] + ["0"] * 10 + [str(3 * ticks), str(ticks)] + ["0"] * 30
    line = f"4242 (a) b (c)) {' '.join(fields)}"

    assert _cpu_seconds(line) == 4.0


def test_a_python_thread_is_counted_even_after_it_has_exited() -> None:
    with _child("exiting") as child:
        _expect(child, "ready")
        sampler = _CpuSampler(child.pid)
        _go(child)
        _expect(child, "done")
        time.sleep(0.6)  # the worker is gone: only the sampler's readings of it remain

        used = sampler.stop()

    # Read every half second, it keeps what it used up to its last reading: 1.5 s of CPU, less
    # at most half a second and the scheduler's slack.
    assert used["python"] >= 0.8
    assert used["merges"] == 0.0
    assert abs(used["total"] - used["python"] - used["merges"] - used["engine"]) < 1e-9


@pytest.mark.parametrize(
    ("name", "stage"),
    [("MergeMutate", "merges"), ("event_engine", "python"), ("QueryCompPipeEx", "engine")],
)
def test_a_thread_renamed_mid_run_counts_only_its_new_work_under_its_new_name(
    name: str, stage: str
) -> None:
    """An engine pool thread starts with the name of the Python thread that spawned it and takes
    its task's name later: what it used before the sampler started must not leave any stage."""
    with _child("renamed", name) as child:
        _expect(child, "ready")
        _go(child)
        _expect(child, "spun")
        sampler = _CpuSampler(child.pid)
        _go(child)
        _expect(child, "worked")

        used = sampler.stop()

    assert 0.25 <= used[stage] <= 0.5
    for other in {"python", "merges", "engine"} - {stage}:
        assert -0.05 < used[other] < 0.15
