"""Per-tenant token buckets, driven by a fake clock."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentledger.collector.errors import InvalidRequest, Overloaded
from agentledger.collector.rate_limit import RateLimiter
from agentledger.config import ConfigError, Settings, parse_tenant_rate_limits


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_burst_is_one_second_of_rate_then_refills_at_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"acme": 100}, clock)
    limiter.admit("acme", 60)
    limiter.admit("acme", 40)
    with pytest.raises(Overloaded):
        limiter.admit("acme", 1)
    clock.advance(0.5)
    limiter.admit("acme", 50)
    with pytest.raises(Overloaded):
        limiter.admit("acme", 1)
    clock.advance(100)  # refills cap at the burst
    limiter.admit("acme", 100)
    with pytest.raises(Overloaded):
        limiter.admit("acme", 1)


def test_retry_after_is_time_until_enough_tokens_and_refusal_takes_none() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"acme": 200}, clock)
    limiter.admit("acme", 150)  # 50 left
    with pytest.raises(Overloaded) as refused:
        limiter.admit("acme", 90)
    assert refused.value.retry_after == pytest.approx(40 / 200)
    assert "acme" in refused.value.message and "200 records/s" in refused.value.message
    clock.advance(0.19)
    with pytest.raises(Overloaded) as again:
        limiter.admit("acme", 90)
    assert again.value.retry_after == pytest.approx(0.01)
    clock.advance(0.01)
    limiter.admit("acme", 90)


def test_tenants_are_independent_and_wildcard_is_per_tenant() -> None:
    clock = FakeClock()
    limiter = RateLimiter(parse_tenant_rate_limits("*=10, acme=1000"), clock)
    assert limiter.limit_for("acme") == 1000
    assert limiter.limit_for("globex") == 10
    limiter.admit("globex", 10)
    with pytest.raises(Overloaded) as refused:
        limiter.admit("globex", 1)
    assert "globex" in refused.value.message and "10 records/s" in refused.value.message
    limiter.admit("initech", 10)  # its own bucket at the default rate, not a shared pool
    limiter.admit("acme", 1000)
    with pytest.raises(Overloaded):
        limiter.admit("acme", 1)


def test_unlimited_without_wildcard_or_spec() -> None:
    clock = FakeClock()
    assert not RateLimiter({}, clock).enabled
    RateLimiter.from_spec("", clock).admit("anyone", 10**9)
    partial = RateLimiter({"acme": 5}, clock)
    assert partial.enabled and partial.limit_for("globex") is None
    partial.admit("globex", 10**9)


def test_batch_larger_than_burst_is_not_retryable() -> None:
    limiter = RateLimiter({"acme": 100}, FakeClock())
    with pytest.raises(InvalidRequest, match="smaller batches"):
        limiter.admit("acme", 101)
    limiter.admit("acme", 100)  # the refusal took nothing


def test_zero_records_always_pass() -> None:
    limiter = RateLimiter({"acme": 1}, FakeClock())
    limiter.admit("acme", 1)
    limiter.admit("acme", 0)


def test_thread_safe_under_contention() -> None:
    clock = FakeClock()  # frozen: exactly the burst may pass, however the threads interleave
    limiter = RateLimiter({"acme": 5000}, clock)
    admitted = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(500):
            try:
                limiter.admit("acme", 3)
            except Overloaded:
                continue
            with lock:
                admitted.append(3)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 4998


@pytest.mark.parametrize(
    "spec", ["acme", "acme=", "=5", "acme=0", "acme=-1", "acme=fast", "acme=nan", "*=inf"]
)
def test_invalid_spec_names_the_variable(spec: str) -> None:
    with pytest.raises(ConfigError, match="AGENTLEDGER_TENANT_RATE_LIMITS"):
        Settings.from_env({"AGENTLEDGER_TENANT_RATE_LIMITS": spec})


def test_settings_fields() -> None:
    loaded = Settings.from_env(
        {"AGENTLEDGER_TENANT_RATE_LIMITS": "*=50000,acme=200000"},
        key_refresh_seconds="0.5",
    )
    assert loaded.key_refresh_seconds == 0.5
    assert RateLimiter.from_settings(loaded).limit_for("acme") == 200000
    assert Settings().key_refresh_seconds == 2.0 and Settings().tenant_rate_limits == ""
    for bad in ("0", "-1", "nan", "soon"):
        with pytest.raises(ConfigError, match="AGENTLEDGER_KEY_REFRESH_SECONDS"):
            Settings.from_env({"AGENTLEDGER_KEY_REFRESH_SECONDS": bad})


@settings(max_examples=300, deadline=None)
@given(
    rate=st.floats(min_value=1, max_value=10_000),
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=2, allow_nan=False),
            st.floats(min_value=0, max_value=1),
        ),
        min_size=1,
        max_size=60,
    ),
)
def test_admitted_in_any_window_is_at_most_rate_times_window_plus_burst(
    rate: float, steps: list[tuple[float, float]]
) -> None:
    clock = FakeClock()
    limiter = RateLimiter({"t": rate}, clock)
    admitted: list[tuple[float, int]] = []
    for wait, fraction in steps:
        clock.advance(wait)
        records = max(1, int(fraction * rate))
        try:
            limiter.admit("t", records)
        except Overloaded as exc:
            assert exc.retry_after is not None and 0 < exc.retry_after <= records / rate + 1e-9
            continue
        admitted.append((clock.now, records))
    for i, (start, _) in enumerate(admitted):
        total = 0
        for end, records in admitted[i:]:
            total += records
            slack = 1e-6 * (1 + total)
            assert total <= rate * (end - start) + rate + slack
