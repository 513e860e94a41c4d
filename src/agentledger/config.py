"""Settings: one frozen object from ``agentledger.toml`` and ``AGENTLEDGER_*`` variables.

Every option of the platform lives here, with its default, so the README, ``serve`` and the tests
agree on one source of truth. Precedence, lowest first: defaults, the TOML file
(``./agentledger.toml`` or the path in ``AGENTLEDGER_CONFIG``), the environment, then keyword
overrides (CLI flags). Invalid values fail fast with the option's name in the message.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "CONFIG_ENV",
    "INSTANCE_ID_PATTERN",
    "ConfigError",
    "Settings",
    "config_file_path",
    "effective_config",
    "mask_url",
    "parse_api_keys",
    "parse_retention",
    "parse_tenant_rate_limits",
]

_PREFIX = "AGENTLEDGER_"
CONFIG_ENV = "AGENTLEDGER_CONFIG"
_DEFAULT_FILE = Path("agentledger.toml")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A collector instance id names its audit chains (``decisions.ChainId``).
INSTANCE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_SECRETS = frozenset({"admin_password", "reader_password", "redact_hash_key"})


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
    # Under load a segment is one insert, which costs a fixed ~90-110 ms besides its spans: 16 MiB
    # spreads that over ~47k spans. With two writer sessions inserting at once, peak RSS in
    # benchmarks/ingest.py was 842-887 MiB at 16 MiB, 872-922 at 20 and ~1,080 at 24 (over the
    # 1 GiB bound) for 3-5 % more spans/s end to end per step.
    spool_segment_bytes: int = 16 * 1024 * 1024
    flush_interval_seconds: float = 0.2
    # Sessions the writer stores segments with at once. One segment's insert runs on one core
    # (see collector.writer); a second keeps the other core busy when the writer is behind.
    writer_threads: int = 2
    job_interval_seconds: float = 30.0
    run_jobs: bool = True
    instance_id: str = ""
    ttl_days: int = 30
    audit_ttl_days: int = 3650
    key_refresh_seconds: float = 2.0
    tenant_rate_limits: str = ""
    retention: str = ""
    cluster: str = ""

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        config_file: Path | str | None = None,
        **overrides: Any,
    ) -> Settings:
        """Defaults, then the TOML file, then ``AGENTLEDGER_*`` variables, then keyword overrides
        (e.g. CLI flags). ``config_file`` defaults to ``AGENTLEDGER_CONFIG`` or
        ``./agentledger.toml`` when that exists."""
        values, _ = _resolve(os.environ if env is None else env, config_file, overrides)
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
            "spool_segment_bytes",
            "writer_threads",
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
        parse_retention(self.retention)
        if not isinstance(self.run_jobs, bool):
            raise ConfigError(f"{_PREFIX}RUN_JOBS: must be true or false")
        if self.instance_id and not INSTANCE_ID_PATTERN.fullmatch(self.instance_id):
            raise ConfigError(
                f"{_PREFIX}INSTANCE_ID: {self.instance_id!r} is not a valid instance id "
                "(letters, digits and _.:-, starting with a letter or digit, at most 64)"
            )
        if self.cluster and not _IDENTIFIER.match(self.cluster):
            raise ConfigError(
                f"{_PREFIX}CLUSTER: {self.cluster!r} is not a valid cluster name "
                "(letters, digits and _, not starting with a digit)"
            )

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

    def retention_days(self) -> dict[str, int]:
        """Per-table retention overrides in days, from ``AGENTLEDGER_RETENTION``."""
        return parse_retention(self.retention)


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


def parse_retention(spec: str) -> dict[str, int]:
    """Parse ``table=days,table=days`` into ``{table: days}``."""
    days: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        table, sep, raw = (text.strip() for text in item.partition("="))
        if not sep or not _IDENTIFIER.match(table) or not raw.isdigit() or int(raw) <= 0:
            raise ConfigError(
                f"{_PREFIX}RETENTION: entry {item!r} is not of the form table=days "
                "(a table name and a positive whole number of days)"
            )
        days[table] = int(raw)
    return days


def config_file_path(env: Mapping[str, str] | None = None) -> Path | None:
    """The TOML file settings are read from: ``AGENTLEDGER_CONFIG`` (which must exist), else
    ``./agentledger.toml`` if present, else none."""
    source = os.environ if env is None else env
    named = source.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}: no such file {named!r}")
        return path
    return _DEFAULT_FILE if _DEFAULT_FILE.is_file() else None


def effective_config(
    env: Mapping[str, str] | None = None,
    *,
    config_file: Path | str | None = None,
    **overrides: Any,
) -> list[dict[str, str]]:
    """Every option with its effective value (secrets masked) and where it came from: default,
    file, env or flag. Validates like :meth:`Settings.from_env`."""
    source = os.environ if env is None else env
    values, origins = _resolve(source, config_file, overrides)
    settings = Settings(**values)
    settings.validate()
    return [
        {
            "option": f.name,
            "variable": _PREFIX + f.name.upper(),
            "value": _shown(f.name, getattr(settings, f.name)),
            "source": origins.get(f.name, "default"),
        }
        for f in fields(Settings)
    ]


def _resolve(
    env: Mapping[str, str], config_file: Path | str | None, overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Field values by precedence (file < env < overrides) and the origin of each."""
    path = Path(config_file) if config_file is not None else config_file_path(env)
    layers = [
        ("file", _read_file(path) if path is not None else {}, str(path)),
        ("env", {f.name: env.get(_PREFIX + f.name.upper()) for f in fields(Settings)}, "env"),
        ("flag", dict(overrides), "flag"),
    ]
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for origin, layer, where in layers:
        for f in fields(Settings):
            raw = layer.get(f.name)
            if raw is None:
                continue
            values[f.name] = _coerce(f.name, f.type, raw, where if origin == "file" else "")
            origins[f.name] = f"file {where}" if origin == "file" else origin
    return values, origins


def _read_file(path: Path) -> dict[str, Any]:
    """The options in a TOML file: top-level keys named like the fields, and an optional
    ``[retention]`` table of ``table = days``."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{CONFIG_ENV}: no such file {str(path)!r}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    names = [f.name for f in fields(Settings)]
    options: dict[str, Any] = {}
    for key, value in data.items():
        if key == "retention" and isinstance(value, dict):
            bad = [v for v in value.values() if not isinstance(v, int) or isinstance(v, bool)]
            if bad:
                raise ConfigError(f"{path}: [retention] values must be whole numbers of days")
            value = ",".join(f"{table}={days}" for table, days in value.items())
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{path}: unknown option {key!r}{hint}")
        options[key] = value
    return options


def _shown(name: str, value: Any) -> str:
    """A value safe to print: passwords and keys masked, URL passwords hidden."""
    if name in _SECRETS:
        return "***" if value else ""
    if name == "api_keys":
        return ",".join(f"{tenant}:***" for tenant in parse_api_keys(str(value)).values())
    if name == "clickhouse_url":
        return mask_url(str(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, safe to show on screen."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _coerce(name: str, type_name: Any, raw: Any, file: str = "") -> Any:
    """``raw`` as the field's type. From the environment everything is text; from the TOML file
    values must already have a matching type (``file`` names it in the error)."""
    kind = str(type_name)
    where = f"{file}: {name}" if file else f"{_PREFIX}{name.upper()}"
    expected = "true or false" if kind == "bool" else f"a valid {kind}"
    if file and not _toml_type_ok(kind, raw):
        raise ConfigError(f"{where}: {raw!r} is not {expected}")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            value = float(raw)
            if math.isnan(value):
                raise ValueError(raw)
            return value
        if kind == "Path":
            return Path(raw)
        if kind == "bool":
            return _boolean(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {raw!r} is not {expected}") from None
    return str(raw)


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text not in _TRUE | _FALSE:
        raise ValueError(raw)
    return text in _TRUE


def _toml_type_ok(kind: str, value: Any) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, int | float)
    return isinstance(value, str)
