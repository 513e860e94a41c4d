"""The model price catalog: shipped defaults plus user overrides, versioned by ``ValidFrom``.

Prices are read at rollup time, never frozen into spans, so a corrected price restates cost.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources

import pyarrow as pa

from agentledger.storage.store import Store, query_rows

__all__ = ["Price", "default_prices", "list_prices", "seed_default_prices", "set_price"]

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
        ("ValidFrom", pa.date32()),
        ("Source", pa.string()),
    ]
)


@dataclass(frozen=True)
class Price:
    model_pattern: str
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float = 0.0
    reasoning_per_mtok: float = 0.0
    provider: str = ""
    valid_from: date = date(1970, 1, 1)
    tenant: str = ""

    def validate(self) -> None:
        try:
            re.compile(self.model_pattern)
        except re.error as exc:
            raise ValueError(
                f"--model-pattern {self.model_pattern!r} is not a valid regex: {exc}"
            ) from None
        for name in (
            "input_per_mtok",
            "output_per_mtok",
            "cache_write_per_mtok",
            "reasoning_per_mtok",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    def row(self, source: str) -> dict[str, object]:
        cached = (
            self.input_per_mtok
            if self.cached_input_per_mtok is None
            else self.cached_input_per_mtok
        )
        return {
            "TenantId": self.tenant,
            "Provider": self.provider,
            "ModelPattern": self.model_pattern,
            "InputPerMTok": self.input_per_mtok,
            "OutputPerMTok": self.output_per_mtok,
            "CachedInputPerMTok": cached,
            "CacheWritePerMTok": self.cache_write_per_mtok,
            "ReasoningPerMTok": self.reasoning_per_mtok,
            "ValidFrom": self.valid_from,
            "Source": source,
        }


def default_prices() -> list[Price]:
    text = (resources.files("agentledger.analytics") / "default_prices.csv").read_text()
    return [
        Price(
            model_pattern=row["model_pattern"],
            input_per_mtok=float(row["input_per_mtok"]),
            output_per_mtok=float(row["output_per_mtok"]),
            cached_input_per_mtok=float(row["cached_input_per_mtok"]),
            cache_write_per_mtok=float(row["cache_write_per_mtok"]),
            reasoning_per_mtok=float(row["reasoning_per_mtok"]),
            provider=row["provider"],
            valid_from=date.fromisoformat(row["valid_from"]),
        )
        for row in csv.DictReader(text.splitlines())
    ]


def seed_default_prices(store: Store) -> int:
    """Insert the shipped defaults unless they are already there; return rows inserted."""
    defaults = default_prices()
    have = query_rows(store, "SELECT count() AS n FROM model_prices FINAL WHERE Source = 'default'")
    if have and have[0]["n"] >= len(defaults):
        return 0
    store.insert_arrow(
        "model_prices", pa.Table.from_pylist([p.row("default") for p in defaults], _SCHEMA)
    )
    return len(defaults)


def set_price(store: Store, price: Price) -> None:
    """Add a user price version; it wins over a default valid on the same day."""
    price.validate()
    store.insert_arrow("model_prices", pa.Table.from_pylist([price.row("user")], _SCHEMA))


def list_prices(store: Store) -> list[dict[str, object]]:
    return query_rows(
        store,
        "SELECT Source, TenantId, Provider, ModelPattern, InputPerMTok, OutputPerMTok, "
        "CachedInputPerMTok, CacheWritePerMTok, ReasoningPerMTok, ValidFrom "
        "FROM model_prices FINAL ORDER BY Source DESC, ModelPattern, ValidFrom",
    )
