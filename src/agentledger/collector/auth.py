"""Ingest authentication: ``Authorization: Bearer <key>`` to a tenant.

The tenant always comes from the key, never from the payload.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

__all__ = ["KeyRing"]


class KeyRing:
    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = dict(keys)

    def tenant_for(self, authorization: str | None) -> str | None:
        """The tenant of a valid bearer key, else None."""
        if not authorization:
            return None
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None
        key = key.strip()
        tenant = None
        for known, owner in self._keys.items():
            if hmac.compare_digest(known.encode(), key.encode()):
                tenant = owner
        return tenant
