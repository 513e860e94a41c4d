"""Shared pieces of the OTLP-to-columns decoders: ids, attribute maps, Arrow types."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from agentledger import semconv
from agentledger.collector.anyvalue import as_string

__all__ = [
    "ATTR_MAP",
    "NS",
    "RejectLog",
    "attributes",
    "hex_id",
    "service_name",
]

NS = pa.timestamp("ns")
ATTR_MAP = pa.map_(pa.string(), pa.string())


def hex_id(raw: bytes) -> str:
    """Lowercase hex, and '' for an absent or all-zero id, as the Go exporter writes ids."""
    return raw.hex() if raw and any(raw) else ""


def attributes(key_values: Iterable[Any]) -> list[tuple[str, str]]:
    return [(kv.key, as_string(kv.value)) for kv in key_values]


def service_name(resource_attributes: list[tuple[str, str]]) -> str:
    for key, value in resource_attributes:
        if key == semconv.SERVICE_NAME:
            return value
    return ""


class RejectLog:
    """Counts rejected records and keeps the first few reasons for the partial-success message."""

    def __init__(self, noun: str, limit: int = 5) -> None:
        self.noun = noun
        self.count = 0
        self._reasons: list[str] = []
        self._limit = limit

    def reject(self, reason: str) -> None:
        self.count += 1
        if len(self._reasons) < self._limit:
            self._reasons.append(reason)

    @property
    def message(self) -> str:
        if not self.count:
            return ""
        more = (
            ""
            if self.count <= len(self._reasons)
            else f" (and {self.count - len(self._reasons)} more)"
        )
        return f"rejected {self.count} {self.noun}: " + "; ".join(self._reasons) + more
