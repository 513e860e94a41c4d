"""Ingest authentication: ``Authorization: Bearer <key>`` to a tenant.

The tenant always comes from the key, never from the payload.

Keys come from two places:

* **static keys** from ``AGENTLEDGER_API_KEYS`` (``tenant:key,...``), fixed for the life of the
  process. They are ingest keys: accepted wherever ingest is (the same as an ``admin`` key there)
  and refused for ``read`` and ``admin`` scopes.
* **managed keys** in the ``api_keys`` table (see :mod:`agentledger.collector.keys` and
  ``agentledger keys create|list|revoke``), each with a scope: ``ingest``, ``read`` or ``admin``.
  A background thread reloads them every ``AGENTLEDGER_KEY_REFRESH_SECONDS``, so a new or revoked
  key takes effect within that time, without a restart.

Scope rules: ``ingest`` accepts ``ingest`` and ``admin`` keys; ``read`` accepts ``read`` and
``admin`` keys; ``admin`` accepts only ``admin`` keys.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from agentledger.collector.keys import SCOPES, active_keys, hash_secret

if TYPE_CHECKING:
    from agentledger.config import Settings
    from agentledger.storage.store import Store

__all__ = ["STATIC_KEY_SCOPE", "KeyRing"]

log = logging.getLogger(__name__)

STATIC_KEY_SCOPE = "ingest"
# required scope -> key scopes that satisfy it
_ACCEPTS: dict[str, frozenset[str]] = {
    "ingest": frozenset({"ingest", "admin"}),
    "read": frozenset({"read", "admin"}),
    "admin": frozenset({"admin"}),
}
assert set(_ACCEPTS) == set(SCOPES)

_Snapshot = dict[str, tuple[str, str]]  # sha256 hex of the key -> (tenant, scope)


class KeyRing:
    """Resolves bearer keys to tenants: static keys plus managed keys refreshed from the store.

    A lookup hashes the presented key with SHA-256 and looks the digest up in a dict snapshot:
    no store access and no lock on the hot path. Because the lookup is by digest, not by
    comparing the key with each known key, its timing reveals nothing useful about the stored
    keys, and constant-time comparison is unnecessary.

    With a ``store``, the managed keys are loaded once at construction and then by a daemon
    thread every ``refresh_seconds``; the snapshot is replaced whole. A failed refresh logs a
    warning and keeps the last good snapshot. Call :meth:`close` (before closing the store) to
    stop the thread. Without a store only the static keys are known.
    """

    def __init__(
        self,
        static_keys: Mapping[str, str] | None = None,
        store: Store | None = None,
        refresh_seconds: float = 2.0,
    ) -> None:
        """``static_keys`` maps key to tenant, as :meth:`Settings.tenant_keys` returns it."""
        if refresh_seconds <= 0:
            raise ValueError("refresh_seconds must be positive")
        self._static: _Snapshot = {
            hash_secret(key): (tenant, STATIC_KEY_SCOPE)
            for key, tenant in (static_keys or {}).items()
        }
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._snapshot: _Snapshot = dict(self._static)
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if store is not None:
            self.refresh()
            self._thread = threading.Thread(
                target=self._refresh_loop, name="agentledger-keyring", daemon=True
            )
            self._thread.start()

    @classmethod
    def from_settings(cls, settings: Settings, store: Store | None) -> KeyRing:
        """Static keys from ``AGENTLEDGER_API_KEYS``, managed keys from ``store``."""
        return cls(settings.tenant_keys(), store, settings.key_refresh_seconds)

    def tenant_for(self, authorization: str | None, scope: str = "ingest") -> str | None:
        """The tenant of a valid, unrevoked bearer key allowed for ``scope``, else None."""
        accepted = _ACCEPTS.get(scope)
        if accepted is None:
            raise ValueError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
        if not authorization:
            return None
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return None
        entry = self._snapshot.get(hash_secret(key))
        if entry is None or entry[1] not in accepted:
            return None
        return entry[0]

    def refresh(self) -> bool:
        """Reload the managed keys now; False (keeping the last snapshot) if the store failed."""
        if self._store is None:
            return True
        try:
            managed = active_keys(self._store)
        except Exception as exc:  # any store or network failure: keep serving the last snapshot
            if not self._failing:
                log.warning("API key refresh failed, keeping the last known keys: %s", exc)
            self._failing = True
            return False
        if self._failing:
            log.info("API key refresh works again")
        self._failing = False
        self._snapshot = {**managed, **self._static}
        return True

    def close(self) -> None:
        """Stop the refresh thread (idempotent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def __enter__(self) -> KeyRing:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self._refresh_seconds):
            self.refresh()
