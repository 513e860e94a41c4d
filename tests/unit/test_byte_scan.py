"""The raw-bytes scan behind Redactor.may_redact: never misses a match, safe across threads."""

from __future__ import annotations

import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentledger.collector.byte_scan import ByteScan, ByteScanError
from agentledger.collector.redaction import BUILTIN_RULES, RedactionConfig, _raw_patterns
from tests.unit.test_redaction import FRAGMENTS

# Every built-in rule's pattern as the receiver scans for it, a custom one and a denied key.
PATTERNS = _raw_patterns(
    RedactionConfig(
        rules=BUILTIN_RULES, custom={"ticket": r"TICKET-[0-9]{4}"}, deny_keys=("*pass?ord*",)
    ),
    set(BUILTIN_RULES),
)
assert PATTERNS is not None
SCANS = [ByteScan([pattern]) for pattern in PATTERNS]
ALL = ByteScan(PATTERNS)

pieces = st.one_of(
    st.binary(max_size=16),
    st.sampled_from([*FRAGMENTS, "TICKET-0042", "user.passWord", "passéord"]).map(str.encode),
)
messages = st.lists(pieces, max_size=8).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(messages)
def test_a_scan_finds_at_least_what_python_finds_in_the_same_bytes(data: bytes) -> None:
    for pattern, scan in zip(PATTERNS, SCANS, strict=True):
        if re.search(pattern.encode(), data):
            assert scan.found(data), (pattern, data)
            assert ALL.found(data), data


def test_a_clean_message_is_not_found() -> None:
    clean = b"\x0a\x92\x01 The refund for order 4411 can be expedited. \xc3\xa9\x00\xff" * 500
    assert not ALL.found(clean)
    assert ALL.found(clean + b"Authorization: Bearer abcdef0123456789")


def test_scans_from_many_threads_at_once_each_get_their_own_answer() -> None:
    scan = ByteScan([r"(?i:bearer)[ \t]+[A-Za-z0-9]{8,}"])
    hit, miss = b"x" * 200_000 + b"Bearer abcdefgh12", b"x" * 200_000 + b"Bearer abc"
    wrong: list[tuple[int, int]] = []

    def run(worker: int) -> None:
        for turn in range(200):
            expected = (worker + turn) % 2 == 0
            if scan.found(hit if expected else miss) != expected:
                wrong.append((worker, turn))

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_patterns_hyperscan_cannot_compile_are_refused_with_the_reason() -> None:
    with pytest.raises(ByteScanError, match=r"Hyperscan.*too large"):
        ByteScan(["a{0,65535}b"])
    with pytest.raises(ByteScanError, match="no patterns"):
        ByteScan([])
