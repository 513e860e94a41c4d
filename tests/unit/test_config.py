from __future__ import annotations

from pathlib import Path

import pytest

from agentledger.config import ConfigError, Settings, parse_api_keys


def test_defaults_are_local_and_standard() -> None:
    settings = Settings.from_env({})
    assert (settings.host, settings.otlp_http_port, settings.otlp_grpc_port, settings.sql_port) == (
        "127.0.0.1",
        4318,
        4317,
        8123,
    )


def test_environment_then_overrides() -> None:
    env = {
        "AGENTLEDGER_SQL_PORT": "9000",
        "AGENTLEDGER_DATA_DIR": "/tmp/x",
        "AGENTLEDGER_HOST": "0.0.0.0",
    }
    settings = Settings.from_env(env, sql_port=9100)
    assert (
        settings.sql_port == 9100
        and settings.data_dir == Path("/tmp/x")
        and settings.host == "0.0.0.0"
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"AGENTLEDGER_SQL_PORT": "eighty"}, "AGENTLEDGER_SQL_PORT"),
        ({"AGENTLEDGER_OTLP_HTTP_PORT": "70000"}, "AGENTLEDGER_OTLP_HTTP_PORT"),
        ({"AGENTLEDGER_API_KEYS": "acme"}, "AGENTLEDGER_API_KEYS"),
        ({"AGENTLEDGER_DATABASE": "drop table"}, "AGENTLEDGER_DATABASE"),
        ({"AGENTLEDGER_TTL_DAYS": "0"}, "AGENTLEDGER_TTL_DAYS"),
    ],
)
def test_invalid_values_name_the_option(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_api_keys_map_key_to_tenant_without_leaking_keys_in_errors() -> None:
    assert parse_api_keys("acme:k1, globex:k2") == {"k1": "acme", "k2": "globex"}
    with pytest.raises(ConfigError) as caught:
        parse_api_keys("acme:k1,secretkeywithoutcolon")
    assert "secretkeywithoutcolon" in str(caught.value) or "..." in str(caught.value)


@pytest.mark.parametrize(
    ("host", "setting", "allowed"),
    [
        ("127.0.0.1", "auto", True),
        ("0.0.0.0", "auto", False),
        ("0.0.0.0", "true", True),
        ("127.0.0.1", "false", False),
    ],
)
def test_anonymous_sql_reads_only_on_loopback_by_default(
    host: str, setting: str, allowed: bool
) -> None:
    env = {"AGENTLEDGER_HOST": host, "AGENTLEDGER_SQL_ANONYMOUS_READ": setting}
    assert Settings.from_env(env).anonymous_sql_read is allowed
