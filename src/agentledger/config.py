"""Settings: one frozen object read from ``AGENTLEDGER_*`` environment variables.

Every option of the platform lives here, with its default, so the README, ``serve`` and the tests
agree on one source of truth. Invalid values fail fast with the option's name in the message.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["ConfigError", "Settings", "mask_url", "parse_api_keys", "parse_tenant_rate_limits"]

_PREFIX = "AGENTLEDGER_"


class ConfigError(ValueError):
    """A setting has an invalid value; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    """Effective configuration. Field ``x`` is read from ``AGENTLEDGER_X``."""

    data_dir: Path = Path(".agentledger/data")
    host: str = "127.0.0.1"
    otlp_http_port: int = 4318
    otlp_grpc_port: int = 4317
    sql_port: int = 8123
    dashboard_port: int = 8501
    database: str = "agentledger"
    clickhouse_url: str = ""
    api_keys: str = ""
    admin_password: str = ""
    reader_password: str = ""
    sql_anonymous_read: str = "auto"
    max_body_bytes: int = 32 * 1024 * 1024
    max_inflight_bytes: int = 256 * 1024 * 1024
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""
    redact_rules: str = ""
    redact_mode: str = "mask"
    redact_hash_key: str = ""
    redact_custom: str = ""
    redact_deny_keys: str = ""
    redact_allow_keys: str = ""
    spool_max_bytes: int = 1024 * 1024 * 1024
    flush_interval_seconds: float = 0.2
    job_interval_seconds: float = 30.0
    ttl_days: int = 30
    audit_ttl_days: int = 3650
    key_refresh_seconds: float = 2.0
    tenant_rate_limits: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``AGENTLEDGER_*`` variables; keyword overrides (e.g. CLI flags) win."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = overrides.get(f.name)
            if raw is None:
                raw = source.get(_PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        for name in ("otlp_http_port", "otlp_grpc_port", "sql_port", "dashboard_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise ConfigError(f"{_PREFIX}{name.upper()}: port {port} is out of range 0-65535")
        for name in (
            "max_body_bytes",
            "max_inflight_bytes",
            "spool_max_bytes",
            "ttl_days",
            "audit_ttl_days",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_PREFIX}{name.upper()}: must be a positive number")
        for name in ("job_interval_seconds", "flush_interval_seconds", "key_refresh_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_PREFIX}{name.upper()}: must be positive")
        if self.sql_anonymous_read not in ("auto", "true", "false"):
            raise ConfigError(f"{_PREFIX}SQL_ANONYMOUS_READ: must be auto, true or false")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ConfigError(f"{_PREFIX}TLS_CERT_FILE and {_PREFIX}TLS_KEY_FILE go together")
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise ConfigError(
                f"{_PREFIX}TLS_CLIENT_CA_FILE needs {_PREFIX}TLS_CERT_FILE (mTLS is TLS)"
            )
        for name in ("tls_cert_file", "tls_key_file", "tls_client_ca_file"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise ConfigError(f"{_PREFIX}{name.upper()}: no such file {path!r}")
        if not self.database.isidentifier():
            raise ConfigError(f"{_PREFIX}DATABASE: {self.database!r} is not a valid identifier")
        parse_api_keys(self.api_keys)
        if not math.isfinite(self.key_refresh_seconds):
            raise ConfigError(f"{_PREFIX}KEY_REFRESH_SECONDS: must be a finite number of seconds")
        parse_tenant_rate_limits(self.tenant_rate_limits)

    @property
    def anonymous_sql_read(self) -> bool:
        """Whether requests without credentials may read, as ClickHouse's passwordless ``default``
        user does. ``auto``: only while the endpoint listens on loopback alone."""
        if self.sql_anonymous_read == "auto":
            return self.host in ("127.0.0.1", "localhost", "::1")
        return self.sql_anonymous_read == "true"

    def redaction_env(self) -> dict[str, str]:
        """The ``AGENTLEDGER_REDACT_*`` settings that are set, for RedactionConfig.from_env."""
        names = ("rules", "mode", "hash_key", "custom", "deny_keys", "allow_keys")
        values = {f"{_PREFIX}REDACT_{n.upper()}": getattr(self, f"redact_{n}") for n in names}
        return {key: value for key, value in values.items() if value}

    def tenant_keys(self) -> dict[str, str]:
        """Map of API key to tenant, from ``AGENTLEDGER_API_KEYS``."""
        return parse_api_keys(self.api_keys)


def parse_api_keys(spec: str) -> dict[str, str]:
    """Parse ``tenant:key,tenant:key`` into ``{key: tenant}``."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        tenant, sep, key = item.partition(":")
        if not sep or not tenant or not key:
            raise ConfigError(
                f"{_PREFIX}API_KEYS: entry {item.split(':')[0]!r}... is not of the form tenant:key"
            )
        keys[key] = tenant
    return keys


def parse_tenant_rate_limits(spec: str) -> dict[str, float]:
    """Parse ``tenant=records_per_second,*=records_per_second`` into ``{tenant: rate}``."""
    limits: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        tenant, sep, raw = (text.strip() for text in item.partition("="))
        try:
            rate = float(raw)
        except ValueError:
            rate = math.nan
        if not sep or not tenant or not (math.isfinite(rate) and rate > 0):
            raise ConfigError(
                f"{_PREFIX}TENANT_RATE_LIMITS: entry {item!r} is not of the form "
                "tenant=records_per_second (a positive number; tenant * for the default)"
            )
        limits[tenant] = rate
    return limits


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, safe to show on screen."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _coerce(name: str, type_name: Any, raw: Any) -> Any:
    kind = str(type_name)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{_PREFIX}{name.upper()}: {raw!r} is not a valid {kind}") from None
    return str(raw)
