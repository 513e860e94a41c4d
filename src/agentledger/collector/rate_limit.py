"""Per-tenant rate limits on ingested records: one token bucket per tenant.

``AGENTLEDGER_TENANT_RATE_LIMITS`` sets records per second per tenant, e.g. ``*=50000,acme=200000``:
``acme`` may send 200,000 records/s, every other tenant 50,000 records/s each (``*`` is a default
applied to each tenant separately, not a shared pool). Empty means unlimited; without ``*``,
tenants not listed are unlimited. A bucket holds one second's worth of records (burst = rate), so
over any window of ``w`` seconds a tenant gets at most ``rate * w + rate`` records admitted.

Use in a receiver, after authentication and decoding, once the record count is known::

    limiter = RateLimiter.from_settings(settings)        # one per process, thread-safe
    limiter.admit(tenant, records)    # raises errors.Overloaded -> 429 / RESOURCE_EXHAUSTED

:class:`~agentledger.collector.errors.Overloaded` carries ``retry_after``: the seconds until the
bucket holds enough tokens for this request (send it as ``Retry-After`` / gRPC ``RetryInfo``).
Refused requests take no tokens. A single request larger than the burst can never fit, so it
raises the non-retryable :class:`~agentledger.collector.errors.InvalidRequest` instead of
inviting endless retries; exporters should send smaller batches.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentledger.collector.errors import InvalidRequest, Overloaded
from agentledger.config import parse_tenant_rate_limits

if TYPE_CHECKING:
    from agentledger.config import Settings

__all__ = ["DEFAULT_TENANT", "RateLimiter"]

DEFAULT_TENANT = "*"
# Float slack when comparing tokens, so a bucket refilled to exactly enough does admit.
_EPSILON = 1e-9


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Thread-safe token buckets, one per tenant, in records per second (burst = 1 s worth).

    ``limits`` maps tenant (or ``*`` for every other tenant) to records/s; ``clock`` returns
    seconds and only has to be monotonic (injectable for tests).
    """

    def __init__(
        self, limits: Mapping[str, float], clock: Callable[[], float] = time.monotonic
    ) -> None:
        for tenant, rate in limits.items():
            if not (math.isfinite(rate) and rate > 0):
                raise ValueError(f"rate limit of tenant {tenant!r} must be a positive number")
        self._limits = {t: float(r) for t, r in limits.items() if t != DEFAULT_TENANT}
        default = limits.get(DEFAULT_TENANT)
        self._default = None if default is None else float(default)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        """From the ``AGENTLEDGER_TENANT_RATE_LIMITS`` syntax, ``tenant=rate,*=rate``."""
        return cls(parse_tenant_rate_limits(spec), clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls.from_spec(settings.tenant_rate_limits)

    @property
    def enabled(self) -> bool:
        """False when no tenant is limited (``admit`` then never refuses)."""
        return bool(self._limits) or self._default is not None

    def limit_for(self, tenant: str) -> float | None:
        """The tenant's records/s, or None if it is unlimited."""
        return self._limits.get(tenant, self._default)

    def admit(self, tenant: str, records: int) -> None:
        """Take ``records`` tokens from the tenant's bucket, or raise without taking any.

        Raises :class:`Overloaded` (with ``retry_after``) when the bucket holds too few tokens,
        :class:`InvalidRequest` when ``records`` exceeds the burst and so can never be admitted.
        """
        rate = self.limit_for(tenant)
        if rate is None or records <= 0:
            return
        burst = rate
        if records > burst:
            raise InvalidRequest(
                f"request of {records} records exceeds tenant {tenant!r}'s rate limit of "
                f"{rate:g} records/s (burst {burst:g}); send smaller batches"
            )
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(tenant)
            if bucket is None:
                bucket = self._buckets[tenant] = _Bucket(tokens=burst, updated=now)
            elif now > bucket.updated:
                bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
                bucket.updated = now
            if records <= bucket.tokens + _EPSILON:
                bucket.tokens = max(0.0, bucket.tokens - records)
                return
            retry_after = (records - bucket.tokens) / rate
        raise Overloaded(
            f"tenant {tenant!r} is over its rate limit of {rate:g} records/s; "
            f"retry in {retry_after:.3g}s",
            retry_after=retry_after,
        )
