"""Managed API keys: created, listed and revoked at run time, stored hashed in ``api_keys``.

A secret looks like ``al_<key_id>_<32 url-safe characters>``: ``key_id`` is the key's short
public id (12 hex digits, what ``list`` shows and ``revoke`` takes), so the id of any secret can
be read off it. Only the SHA-256 of the whole secret is stored; the secret itself is shown once,
by :func:`create_key`, and can never be recovered.

Each key has one scope: ``ingest`` (send telemetry), ``read`` (query) or ``admin`` (everything).
Rows are versions of a key in a ReplacingMergeTree: revoking inserts a newer version with
``RevokedAt`` set, so every read uses ``FINAL``. :class:`~agentledger.collector.auth.KeyRing`
reloads the active keys every few seconds, so a new or revoked key takes effect without a restart.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from agentledger.storage.store import Store, query_rows

__all__ = [
    "SCOPES",
    "UnknownKey",
    "active_keys",
    "create_key",
    "hash_secret",
    "key_id_of",
    "list_keys",
    "revoke_key",
]

SCOPES = ("ingest", "read", "admin")
_PREFIX = "al_"


class UnknownKey(LookupError):
    """No API key has this id."""


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest under which a key is stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()


def key_id_of(secret: str) -> str | None:
    """The public id embedded in a managed secret, or None if ``secret`` is not one."""
    if not secret.startswith(_PREFIX):
        return None
    key_id, sep, rest = secret[len(_PREFIX) :].partition("_")
    return key_id if sep and key_id and rest else None


def create_key(store: Store, tenant: str, scope: str, name: str = "") -> tuple[str, str]:
    """Create a key for ``tenant`` with ``scope``; return ``(key_id, secret)``.

    The secret is returned here and nowhere else: only its hash is stored.
    """
    tenant = tenant.strip()
    if not tenant:
        raise ValueError("tenant must not be empty")
    if scope not in SCOPES:
        raise ValueError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    key_id = secrets.token_hex(6)
    secret = f"{_PREFIX}{key_id}_{secrets.token_urlsafe(24)}"
    store.command(
        "INSERT INTO api_keys (TenantId, KeyId, KeyHash, Scope, Name, CreatedAt, RevokedAt,"
        " Version) VALUES ({tenant:String}, {id:String}, {hash:String}, {scope:String},"
        " {name:String}, now64(3), NULL, {version:UInt64})",
        {
            "tenant": tenant,
            "id": key_id,
            "hash": hash_secret(secret),
            "scope": scope,
            "name": name,
            "version": time.time_ns(),
        },
    )
    return key_id, secret


def list_keys(store: Store) -> list[dict[str, Any]]:
    """Every key, revoked ones included, without secrets or hashes."""
    return query_rows(
        store,
        "SELECT KeyId AS key_id, TenantId AS tenant, Scope AS scope, Name AS name,"
        " CreatedAt AS created_at, RevokedAt AS revoked_at"
        " FROM api_keys FINAL ORDER BY tenant, created_at, key_id",
    )


def revoke_key(store: Store, key_id: str) -> bool:
    """Revoke a key: True if revoked now, False if it already was.

    Raises :class:`UnknownKey` when no key has this id.
    """
    found = query_rows(
        store,
        "SELECT RevokedAt IS NOT NULL AS revoked FROM api_keys FINAL WHERE KeyId = {id:String}",
        {"id": key_id},
    )
    if not found:
        raise UnknownKey(f"no API key with id {key_id!r} (see `agentledger keys list`)")
    if found[0]["revoked"]:
        return False
    store.command(
        "INSERT INTO api_keys (TenantId, KeyId, KeyHash, Scope, Name, CreatedAt, RevokedAt,"
        " Version) SELECT TenantId, KeyId, KeyHash, Scope, Name, CreatedAt, now64(3),"
        " greatest(Version + 1, {version:UInt64})"
        " FROM api_keys FINAL WHERE KeyId = {id:String} AND RevokedAt IS NULL",
        {"id": key_id, "version": time.time_ns()},
    )
    return True


def active_keys(store: Store) -> dict[str, tuple[str, str]]:
    """``{sha256: (tenant, scope)}`` for every key that is not revoked."""
    rows = query_rows(
        store,
        "SELECT KeyHash, TenantId, Scope FROM api_keys FINAL WHERE RevokedAt IS NULL",
    )
    return {row["KeyHash"]: (row["TenantId"], row["Scope"]) for row in rows}
