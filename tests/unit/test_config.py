from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path

import pytest

from agentledger.config import (
    ConfigError,
    Settings,
    config_file_path,
    effective_config,
    parse_api_keys,
)


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
        ({"AGENTLEDGER_WRITER_THREADS": "0"}, "AGENTLEDGER_WRITER_THREADS"),
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


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agentledger.toml"
    path.write_text(text)
    return path


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        'host = "0.0.0.0"\nsql_port = 9000\nttl_days = 7\n[retention]\notel_traces = 14\n',
    )
    env = {"AGENTLEDGER_CONFIG": str(path), "AGENTLEDGER_SQL_PORT": "9100"}
    settings = Settings.from_env(env, ttl_days=3)
    assert settings.host == "0.0.0.0"  # file only
    assert settings.sql_port == 9100  # environment beats the file
    assert settings.ttl_days == 3  # a flag beats both
    assert settings.retention_days() == {"otel_traces": 14}
    assert settings.otlp_http_port == 4318  # default


def test_default_file_is_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _toml(tmp_path, 'database = "ledger2"\n')
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}).database == "ledger2"
    assert config_file_path({}) == Path("agentledger.toml")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("sql_port = 70000\n", "AGENTLEDGER_SQL_PORT"),
        ('sql_port = "8123"\n', "sql_port"),
        ("hots = '0.0.0.0'\n", "did you mean 'host'"),
        ("ttl_days = 1.5\n", "ttl_days"),
        ("[retention]\notel_traces = 'long'\n", "retention"),
        ("cluster = 'two words'\n", "AGENTLEDGER_CLUSTER"),
        ("host = \n", "not valid TOML"),
    ],
)
def test_invalid_file_values_name_the_option(tmp_path: Path, text: str, named: str) -> None:
    path = _toml(tmp_path, text)
    with pytest.raises(ConfigError, match=named):
        Settings.from_env({"AGENTLEDGER_CONFIG": str(path)})


def test_missing_named_file_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AGENTLEDGER_CONFIG: no such file"):
        Settings.from_env({"AGENTLEDGER_CONFIG": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize("spec", ["otel_traces", "otel_traces=0", "otel traces=3", "x=1.5"])
def test_invalid_retention_names_the_option(spec: str) -> None:
    with pytest.raises(ConfigError, match="AGENTLEDGER_RETENTION"):
        Settings.from_env({"AGENTLEDGER_RETENTION": spec})


def test_effective_config_masks_secrets_and_tells_sources(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'admin_password = "file-secret"\nttl_days = 9\n')
    env = {
        "AGENTLEDGER_CONFIG": str(path),
        "AGENTLEDGER_CLICKHOUSE_URL": "http://writer:url-secret@ch:8123",
        "AGENTLEDGER_API_KEYS": "acme:key-secret",
        "AGENTLEDGER_REDACT_HASH_KEY": "hash-secret-0123456789",
    }
    rows = {row["option"]: row for row in effective_config(env, sql_port=9)}
    assert {row["option"] for row in rows.values()} == {f.name for f in fields(Settings)}
    text = repr(rows)
    for secret in ("file-secret", "url-secret", "key-secret", "hash-secret"):
        assert secret not in text
    assert rows["admin_password"]["value"] == "***"
    assert rows["clickhouse_url"]["value"] == "http://writer:***@ch:8123"
    assert rows["api_keys"]["value"] == "acme:***"
    assert (rows["ttl_days"]["value"], rows["ttl_days"]["source"]) == ("9", f"file {path}")
    assert rows["clickhouse_url"]["source"] == "env"
    assert rows["sql_port"]["source"] == "flag"
    assert (rows["host"]["value"], rows["host"]["source"]) == ("127.0.0.1", "default")
    assert rows["reader_password"]["value"] == ""


def test_config_show_command_prints_masked_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from agentledger.cli import cli

    # --config exports AGENTLEDGER_CONFIG for child processes; monkeypatch restores it after.
    monkeypatch.setenv("AGENTLEDGER_CONFIG", "")

    path = _toml(tmp_path, 'reader_password = "file-secret"\ndatabase = "ledger3"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "show", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "file-secret" not in result.output
    shown = {row["option"]: row["value"] for row in json.loads(result.output)}
    assert shown["database"] == "ledger3" and shown["reader_password"] == "***"

    bad = _toml(tmp_path, "sql_port = -1\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "config", "show"])
    assert result.exit_code == 1 and "AGENTLEDGER_SQL_PORT" in result.output
    assert os.environ["AGENTLEDGER_CONFIG"] == str(bad)


@pytest.mark.parametrize(
    ("raw", "expected"), [("false", False), ("0", False), ("Off", False), ("yes", True)]
)
def test_run_jobs_reads_booleans_from_the_environment(raw: str, expected: bool) -> None:
    assert Settings.from_env({"AGENTLEDGER_RUN_JOBS": raw}).run_jobs is expected
    assert Settings.from_env({}).run_jobs is True


def test_run_jobs_in_the_file_is_a_toml_boolean_and_shown_as_one(tmp_path: Path) -> None:
    env = {"AGENTLEDGER_CONFIG": str(_toml(tmp_path, "run_jobs = false\n"))}
    assert Settings.from_env(env).run_jobs is False
    shown = {row["option"]: row["value"] for row in effective_config(env)}
    assert shown["run_jobs"] == "false"
    with pytest.raises(ConfigError, match="run_jobs: 'no' is not true or false"):
        Settings.from_env({"AGENTLEDGER_CONFIG": str(_toml(tmp_path, "run_jobs = 'no'\n"))})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AGENTLEDGER_RUN_JOBS": "maybe"}, "AGENTLEDGER_RUN_JOBS: 'maybe' is not true or false"),
        ({"AGENTLEDGER_INSTANCE_ID": "two words"}, "AGENTLEDGER_INSTANCE_ID"),
        ({"AGENTLEDGER_INSTANCE_ID": "-leading"}, "AGENTLEDGER_INSTANCE_ID"),
        ({"AGENTLEDGER_INSTANCE_ID": "x" * 65}, "AGENTLEDGER_INSTANCE_ID"),
    ],
)
def test_invalid_run_jobs_and_instance_ids_name_the_option(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_instance_ids_of_letters_digits_and_punctuation_are_kept() -> None:
    settings = Settings.from_env({"AGENTLEDGER_INSTANCE_ID": "collector-1.eu:a_b"})
    assert settings.instance_id == "collector-1.eu:a_b"
