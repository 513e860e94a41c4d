"""The model price catalog: shipped defaults plus user overrides, every version kept.

A row is a price version: it applies to usage from ``ValidFrom`` on, and the catalog learned it at
``UpdatedAt`` (a user's ``prices set``, or the date a shipped default was checked). Nothing is
overwritten, so cost can be restated with the catalog as it stood at any moment (``as_of``), and
prices are read when cost is computed, never frozen into spans.

Which row prices a model on a day: among the rows whose pattern matches the model name, whose
``ValidFrom`` is not after the day and whose tenant and provider fit, a tenant's own row beats a
global one, then a user row beats a shipped default, then the longest (most specific) pattern,
so a dated snapshot keeps its own price, then the newest ``ValidFrom``, then the latest
``UpdatedAt``.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from importlib import resources

import pyarrow as pa

from agentledger.storage.store import Store, StoreError, query_rows

__all__ = [
    "Price",
    "Tier",
    "default_prices",
    "list_prices",
    "price_version",
    "seed_default_prices",
    "set_price",
]

_SCHEMA = pa.schema(
    [
        ("TenantId", pa.string()),
        ("Provider", pa.string()),
        ("ModelPattern", pa.string()),
        ("InputPerMTok", pa.float64()),
        ("OutputPerMTok", pa.float64()),
        ("CachedInputPerMTok", pa.float64()),
        ("CacheWritePerMTok", pa.float64()),
        ("ReasoningPerMTok", pa.float64()),
        ("TierAboveInputTokens", pa.uint64()),
        ("TierInputPerMTok", pa.float64()),
        ("TierOutputPerMTok", pa.float64()),
        ("TierCachedInputPerMTok", pa.float64()),
        ("TierCacheWritePerMTok", pa.float64()),
        ("TierReasoningPerMTok", pa.float64()),
        ("ValidFrom", pa.date32()),
        ("Source", pa.string()),
        ("CheckedAt", pa.date32()),
        ("UpdatedAt", pa.timestamp("ms", tz="UTC")),
    ]
)

_PRICE_COLUMNS = (
    "InputPerMTok",
    "OutputPerMTok",
    "CachedInputPerMTok",
    "CacheWritePerMTok",
    "ReasoningPerMTok",
    "TierAboveInputTokens",
    "TierInputPerMTok",
    "TierOutputPerMTok",
    "TierCachedInputPerMTok",
    "TierCacheWritePerMTok",
    "TierReasoningPerMTok",
)

# The catalog as it stood at {as_of}: the latest version of every row recorded by then.
CATALOG_SQL = f"""
SELECT TenantId, Source, Provider, ModelPattern, ValidFrom,
       argMax(tuple({", ".join(_PRICE_COLUMNS)}, CheckedAt), UpdatedAt) AS version,
       max(UpdatedAt) AS VersionAt
FROM model_prices
WHERE UpdatedAt <= {{as_of:DateTime64(3)}}
GROUP BY TenantId, Source, Provider, ModelPattern, ValidFrom
"""


@dataclass(frozen=True)
class Tier:
    """Prices for requests with more than ``above_input_tokens`` input tokens (long context).

    Unset cache prices scale with the tier's input price and an unset reasoning price with its
    output price, as Anthropic and Google price long context.
    """

    above_input_tokens: int
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    reasoning_per_mtok: float | None = None


@dataclass(frozen=True)
class Price:
    """USD per million tokens for the models whose name matches ``model_pattern`` (an RE2 regex).

    Unset prices follow the GenAI conventions' token accounting: cached reads and cache writes
    are part of the input tokens and cost the input price unless priced; reasoning tokens are
    part of the output tokens and cost the output price unless priced.
    """

    model_pattern: str
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    reasoning_per_mtok: float | None = None
    provider: str = ""
    valid_from: date = date(1970, 1, 1)
    tenant: str = ""
    tier: Tier | None = None
    checked_at: date | None = None

    def validate(self) -> None:
        """Raise ValueError for a price the catalog cannot use."""
        try:
            re.compile(self.model_pattern)
        except re.error as exc:
            raise ValueError(
                f"--model-pattern {self.model_pattern!r} is not a valid regex: {exc}"
            ) from None
        prices = {
            "input_per_mtok": self.input_per_mtok,
            "output_per_mtok": self.output_per_mtok,
            "cached_input_per_mtok": self.cached_input_per_mtok,
            "cache_write_per_mtok": self.cache_write_per_mtok,
            "reasoning_per_mtok": self.reasoning_per_mtok,
        }
        if self.tier is not None:
            if self.tier.above_input_tokens <= 0:
                raise ValueError("tier_above_input_tokens must be a positive number of tokens")
            prices |= {
                "tier_input_per_mtok": self.tier.input_per_mtok,
                "tier_output_per_mtok": self.tier.output_per_mtok,
                "tier_cached_input_per_mtok": self.tier.cached_input_per_mtok,
                "tier_cache_write_per_mtok": self.tier.cache_write_per_mtok,
                "tier_reasoning_per_mtok": self.tier.reasoning_per_mtok,
            }
        for name, value in prices.items():
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number, not {value}")

    def row(self, source: str, recorded_at: datetime) -> dict[str, object]:
        """The catalog row, with every unset price resolved to what it costs."""
        inp, out = self.input_per_mtok, self.output_per_mtok
        cached = _or(self.cached_input_per_mtok, inp)
        write = _or(self.cache_write_per_mtok, inp)
        reasoning = _or(self.reasoning_per_mtok, out)
        tier = self.tier
        tier_in = tier.input_per_mtok if tier else 0.0
        tier_out = tier.output_per_mtok if tier else 0.0
        return {
            "TenantId": self.tenant,
            "Provider": self.provider,
            "ModelPattern": self.model_pattern,
            "InputPerMTok": inp,
            "OutputPerMTok": out,
            "CachedInputPerMTok": cached,
            "CacheWritePerMTok": write,
            "ReasoningPerMTok": reasoning,
            "TierAboveInputTokens": tier.above_input_tokens if tier else 0,
            "TierInputPerMTok": tier_in,
            "TierOutputPerMTok": tier_out,
            "TierCachedInputPerMTok": _or(
                tier.cached_input_per_mtok if tier else None, _scaled(cached, tier_in, inp)
            ),
            "TierCacheWritePerMTok": _or(
                tier.cache_write_per_mtok if tier else None, _scaled(write, tier_in, inp)
            ),
            "TierReasoningPerMTok": _or(
                tier.reasoning_per_mtok if tier else None, _scaled(reasoning, tier_out, out)
            ),
            "ValidFrom": self.valid_from,
            "Source": source,
            "CheckedAt": self.checked_at or recorded_at.date(),
            "UpdatedAt": recorded_at,
        }


def _or(value: float | None, fallback: float) -> float:
    return fallback if value is None else value


def _scaled(base: float, tier_price: float, base_price: float) -> float:
    """``base`` moved by the factor the tier applies to ``base_price``."""
    return base * tier_price / base_price if base_price > 0 else tier_price


def default_prices() -> list[Price]:
    """The shipped catalog (default_prices.csv): list prices with the date they were checked."""
    text = (resources.files("agentledger.analytics") / "default_prices.csv").read_text()
    prices = []
    for row in csv.DictReader(line for line in text.splitlines() if not line.startswith("#")):
        tier_above = int(row["tier_above_input_tokens"] or 0)
        tier = (
            Tier(
                tier_above,
                float(row["tier_input_per_mtok"]),
                float(row["tier_output_per_mtok"]),
                _optional(row["tier_cached_input_per_mtok"]),
                _optional(row["tier_cache_write_per_mtok"]),
                _optional(row["tier_reasoning_per_mtok"]),
            )
            if tier_above
            else None
        )
        prices.append(
            Price(
                model_pattern=row["model_pattern"],
                input_per_mtok=float(row["input_per_mtok"]),
                output_per_mtok=float(row["output_per_mtok"]),
                cached_input_per_mtok=_optional(row["cached_input_per_mtok"]),
                cache_write_per_mtok=_optional(row["cache_write_per_mtok"]),
                reasoning_per_mtok=_optional(row["reasoning_per_mtok"]),
                provider=row["provider"],
                valid_from=date.fromisoformat(row["valid_from"]),
                tier=tier,
                checked_at=date.fromisoformat(row["checked_at"]),
            )
        )
    return prices


def _optional(text: str) -> float | None:
    return float(text) if text.strip() else None


def seed_default_prices(store: Store) -> int:
    """Add the shipped defaults the catalog lacks (new or re-checked rows); return rows added.

    A default is known from the date it was checked, so restating cost as of an earlier date
    does not use it.
    """
    have = {
        _fingerprint(row)
        for row in query_rows(
            store,
            "SELECT Provider, ModelPattern, ValidFrom, CheckedAt, "
            f"{', '.join(_PRICE_COLUMNS)} FROM model_prices WHERE Source = 'default'",
        )
    }
    rows = []
    for price in default_prices():
        checked = price.checked_at or date(1970, 1, 1)
        row = price.row("default", datetime.combine(checked, time(), UTC))
        if _fingerprint(row) not in have:
            rows.append(row)
    store.insert_arrow("model_prices", pa.Table.from_pylist(rows, _SCHEMA))
    return len(rows)


def _fingerprint(row: dict[str, object]) -> tuple[object, ...]:
    keys = ("Provider", "ModelPattern", "ValidFrom", "CheckedAt")
    return tuple(row[k] for k in keys) + tuple(round(float(row[c]), 9) for c in _PRICE_COLUMNS)  # type: ignore[arg-type]


def set_price(store: Store, price: Price, recorded_at: datetime | None = None) -> None:
    """Record a user price version; it wins over every shipped default that matches.

    ``recorded_at`` (default: now) is when the catalog learns it: a restatement ``as_of`` an
    earlier moment does not see it.
    """
    price.validate()
    _check_engine_regex(store, price.model_pattern)
    moment = (recorded_at or datetime.now(UTC)).astimezone(UTC)
    store.insert_arrow("model_prices", pa.Table.from_pylist([price.row("user", moment)], _SCHEMA))


def _check_engine_regex(store: Store, pattern: str) -> None:
    """ClickHouse matches with RE2, which refuses some patterns Python accepts (look-arounds,
    backreferences); one such row would break every cost query, so refuse it here."""
    try:
        query_rows(store, "SELECT match('', {p:String}) AS m", {"p": pattern})
    except StoreError as exc:
        reason = str(exc).splitlines()[0]
        raise ValueError(
            f"--model-pattern {pattern!r} is not a valid RE2 regex (ClickHouse): {reason}"
        ) from None


def list_prices(store: Store, as_of: datetime | None = None) -> list[dict[str, object]]:
    """The catalog as it stood at ``as_of`` (default: now): the latest version of every row,
    user overrides first."""
    return query_rows(
        store,
        "SELECT Source, TenantId, Provider, ModelPattern, ValidFrom,"
        " version.1 AS InputPerMTok, version.2 AS OutputPerMTok,"
        " version.3 AS CachedInputPerMTok, version.4 AS CacheWritePerMTok,"
        " version.5 AS ReasoningPerMTok, version.6 AS TierAboveInputTokens,"
        " version.7 AS TierInputPerMTok, version.8 AS TierOutputPerMTok,"
        " version.9 AS TierCachedInputPerMTok, version.10 AS TierCacheWritePerMTok,"
        " version.11 AS TierReasoningPerMTok, version.12 AS CheckedAt, VersionAt AS UpdatedAt"
        f" FROM ({CATALOG_SQL})"
        " ORDER BY Source DESC, TenantId, ModelPattern, Provider, ValidFrom",
        {"as_of": ms_text(as_of)},
    )


def price_version(store: Store, as_of: datetime | None = None) -> str:
    """An id for the catalog as it stood at ``as_of`` (default: now): the time of its latest
    change and a digest of its rows, e.g. ``20250601T120000Z-3f9a1c2b``. Equal ids, equal prices.
    """
    rows = query_rows(
        store,
        "SELECT formatDateTime(max(VersionAt), '%Y%m%dT%H%i%SZ', 'UTC') AS latest,"
        " lower(hex(groupBitXor(cityHash64(TenantId, Source, Provider, ModelPattern, ValidFrom,"
        " toString(version))))) AS digest, count() AS n"
        f" FROM ({CATALOG_SQL})",
        {"as_of": ms_text(as_of)},
    )
    if not rows or not rows[0]["n"]:
        return "empty"
    return f"{rows[0]['latest']}-{str(rows[0]['digest'])[:8]}"


def ms_text(moment: datetime | None) -> str:
    """``moment`` (default: now) as a DateTime64(3) parameter in UTC."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
