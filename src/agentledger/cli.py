"""The ``agentledger`` command: one click group of thin commands over the library."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from agentledger.analytics.cost import GROUPINGS as COST_GROUPINGS
from agentledger.config import CONFIG_ENV, ConfigError, Settings, mask_url
from agentledger.storage.store import Store, StoreError

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
@click.version_option(package_name="agentledger")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Settings file (default: ${CONFIG_ENV}, else ./agentledger.toml if present).",
)
def cli(config_file: Path | None) -> None:
    """AgentLedger: traces, decision audit trails, cost and lineage for AI agents."""
    if config_file is not None:
        os.environ[CONFIG_ENV] = str(config_file)  # also read by the processes `up` starts


def _serve_options(func: F) -> F:
    options = [
        click.option(
            "--data-dir", type=click.Path(path_type=Path), help="Embedded store directory."
        ),
        click.option("--host", help="Address to listen on (default 127.0.0.1)."),
        click.option("--otlp-http-port", type=int, help="OTLP/HTTP port (default 4318)."),
        click.option("--otlp-grpc-port", type=int, help="OTLP/gRPC port (default 4317)."),
        click.option("--sql-port", type=int, help="ClickHouse-compatible SQL port (default 8123)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings.from_env(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@_serve_options
def serve(**options: Any) -> None:
    """Run the OTLP receivers, the SQL endpoint and the job scheduler in one process."""
    from agentledger.server import serve as run

    settings = _settings(**options)
    click.echo(_addresses(settings))
    try:
        run(settings)
    except (ConfigError, StoreError) as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@_serve_options
@click.option("--dashboard-port", type=int, help="Streamlit dashboard port (default 8501).")
@click.option("--demo", is_flag=True, help="Also run a simulated support agent sending traffic.")
@click.option("--demo-rate", type=float, default=2.0, show_default=True, help="Demo tickets/s.")
def up(demo: bool, demo_rate: float, **options: Any) -> None:
    """Run serve plus the dashboards (and with --demo, demo traffic); print every address."""
    from agentledger.dashboards import dashboard_command

    env = dict(os.environ)
    for name in ("ADMIN_PASSWORD", "READER_PASSWORD"):
        env.setdefault(f"AGENTLEDGER_{name}", secrets.token_urlsafe(12))
    demo_key = ""
    if demo and not env.get("AGENTLEDGER_API_KEYS"):
        demo_key = "demo-" + secrets.token_urlsafe(12)
        env["AGENTLEDGER_API_KEYS"] = f"default:{demo_key}"
    try:
        settings = Settings.from_env(env, **{k: v for k, v in options.items() if v is not None})
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    sql_base = f"http://{settings.host}:{settings.sql_port}"
    serve_argv = [sys.executable, "-m", "agentledger.cli", "serve", *_argv(options)]
    children = [subprocess.Popen(serve_argv, env=env)]
    # The dashboards read through the SQL endpoint (or the configured server) as the reader.
    dashboard_env = dict(env)
    dashboard_env["AGENTLEDGER_CLICKHOUSE_URL"] = settings.clickhouse_url or (
        f"http://reader:{settings.reader_password}@{settings.host}:{settings.sql_port}"
    )
    children.append(subprocess.Popen(dashboard_command(settings), env=dashboard_env))
    click.echo(_addresses(settings))
    click.echo(f"Dashboards:     http://{settings.host}:{settings.dashboard_port}/")
    click.echo(
        f"SQL users:      admin / {settings.admin_password}   reader / {settings.reader_password}"
    )
    click.echo(f"                e.g. curl -u reader:PASSWORD '{sql_base}/?query=SELECT+1'")
    if demo:
        key = demo_key or next(iter(settings.tenant_keys()), "")
        click.echo(f"Demo API key:   {key}  (tenant: {settings.tenant_keys().get(key, '?')})")
        demo_argv = [
            sys.executable,
            "-m",
            "agentledger.cli",
            "demo",
            "--rate",
            str(demo_rate),
            "--duration",
            "0",
            "--endpoint",
            f"http://{settings.host}:{settings.otlp_http_port}",
            "--api-key",
            key,
            "--wait-ready",
        ]
        children.append(subprocess.Popen(demo_argv, env=env))
    click.echo("Press Ctrl+C to stop.")
    _wait_all(children)


def _argv(options: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    for name, value in options.items():
        if value is not None and name != "dashboard_port":
            argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


def _wait_all(children: list[subprocess.Popen[bytes]]) -> None:
    """Wait while serve and the dashboards run; on Ctrl+C, SIGTERM or a child's exit, stop all
    children (a plain SIGTERM would otherwise end ``up`` and leave them running)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(child.poll() is None for child in children[:2]):
            try:
                children[0].wait(timeout=1)
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        pass
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


def _addresses(settings: Settings) -> str:
    lines = [
        f"OTLP/HTTP:      http://{settings.host}:{settings.otlp_http_port}"
        "  (/v1/traces, /v1/metrics, /v1/logs)",
        f"OTLP/gRPC:      {settings.host}:{settings.otlp_grpc_port}  (traces, metrics, logs)",
    ]
    if settings.clickhouse_url:
        lines.append(f"Storage:        {mask_url(settings.clickhouse_url)}")
    else:
        lines.append(f"SQL (ClickHouse HTTP): http://{settings.host}:{settings.sql_port}")
        lines.append(f"Data directory: {settings.data_dir}")
    return "\n".join(lines)


@cli.command()
@click.option("--rate", type=float, default=2.0, show_default=True, help="Tickets per second.")
@click.option(
    "--duration", type=float, default=60.0, show_default=True, help="Seconds; 0 = forever."
)
@click.option("--endpoint", help="OTLP/HTTP base URL (default AGENTLEDGER_ENDPOINT).")
@click.option("--api-key", help="Ingest API key (default AGENTLEDGER_API_KEY).")
@click.option("--wait-ready", is_flag=True, help="Wait for the collector's /readyz first.")
@click.option(
    "--drift-at",
    type=float,
    metavar="S",
    help="Seconds after the start: switch to new model snapshots and document versions.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the simulation.")
def demo(
    rate: float,
    duration: float,
    endpoint: str | None,
    api_key: str | None,
    wait_ready: bool,
    drift_at: float | None,
    seed: int,
) -> None:
    """Drive the simulated support agent (no network, simulated LLM)."""
    from agentledger.demo import run_demo

    if wait_ready:
        _wait_for(
            f"{(endpoint or os.environ.get('AGENTLEDGER_ENDPOINT', 'http://127.0.0.1:4318')).rstrip('/')}/readyz"
        )
    if drift_at is not None:
        click.echo(f"demo: drift (model snapshots, documents) at {drift_at:g}s")
    handled = run_demo(
        rate, duration, endpoint=endpoint, api_key=api_key, seed=seed, drift_at=drift_at
    )
    click.echo(f"demo: handled {handled} tickets")


def _wait_for(url: str, timeout: float = 120.0) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise click.ClickException(f"{url} did not become ready within {timeout:.0f}s")


@contextmanager
def _store(data_dir: Path | None = None) -> Iterator[Store]:
    """The CLI's store: ``AGENTLEDGER_CLICKHOUSE_URL`` if set, else the embedded data directory
    (which only works while no server holds it)."""
    settings = _settings(data_dir=data_dir)
    from agentledger.server import open_store

    try:
        store = open_store(settings)
    except StoreError as exc:
        raise click.ClickException(
            f"{exc}\nSet AGENTLEDGER_CLICKHOUSE_URL (e.g. http://admin:PASSWORD@127.0.0.1:8123) "
            "to reach a running server."
        ) from None
    try:
        yield store
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


@cli.group()
def config() -> None:
    """The effective configuration (agentledger.toml, then AGENTLEDGER_* variables, then flags)."""


@config.command("show")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def config_show(fmt: str) -> None:
    """Every option, its effective value (secrets masked) and where it came from."""
    from agentledger.config import config_file_path, effective_config

    try:
        rows = effective_config()
        source = config_file_path()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "table":
        click.echo(f"settings file: {source or '(none)'}", err=True)
    _print_rows(rows, fmt)


@cli.group()
def db() -> None:
    """Schema management, retention, backup and restore."""


@db.command("migrate")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Embedded store directory.")
@click.option("--cluster", help="Create replicated tables ON CLUSTER this name (default: none).")
@click.option("--print", "print_only", is_flag=True, help="Print the DDL instead of running it.")
def db_migrate(data_dir: Path | None, cluster: str | None, print_only: bool) -> None:
    """Apply pending schema migrations (idempotent, forward-only)."""
    from agentledger.analytics.prices import seed_default_prices
    from agentledger.storage.migrate import migrate_settings, migration_script

    settings = _settings(data_dir=data_dir, cluster=cluster)
    if print_only:
        script = migration_script(
            settings.ttl_days, settings.audit_ttl_days, cluster=settings.cluster,
            database=settings.database, retention=settings.retention_days(),
        )  # fmt: skip
        click.echo(script)
        return
    from agentledger.server import create_database

    create_database(settings)
    with _store(data_dir) as store:
        try:
            applied = migrate_settings(store, settings)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        seed_default_prices(store)
    names = ", ".join(m.label for m in applied) or "nothing (up to date)"
    click.echo(f"applied: {names}")


@db.command("status")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Embedded store directory.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def db_status(data_dir: Path | None, fmt: str) -> None:
    """Applied and pending migrations; exit 1 if any is pending or was edited after applying."""
    from agentledger.storage.migrate import migration_status

    with _store(data_dir) as store:
        states = migration_status(store)
    _print_rows([dataclasses.asdict(state) for state in states], fmt)
    if any(state.status != "applied" for state in states):
        sys.exit(1)


@db.command("retention")
@click.option("--table", help="The table to change (omit both options to list retention).")
@click.option("--days", type=int, help="Keep this many days of --table.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Embedded store directory.")
def db_retention(table: str | None, days: int | None, data_dir: Path | None) -> None:
    """Show each table's retention, or change one table's (rows older are dropped now)."""
    from agentledger.storage.retention import retention_days, set_retention

    if (table is None) != (days is None):
        raise click.UsageError("--table and --days go together")
    settings = _settings(data_dir=data_dir)
    with _store(data_dir) as store:
        if table is not None and days is not None:
            try:
                set_retention(store, table, days, cluster=settings.cluster)
            except ValueError as exc:
                raise click.ClickException(str(exc)) from None
        current = retention_days(store)
    _print_rows([{"table": name, "days": n} for name, n in sorted(current.items())], "table")


@db.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(path_type=Path), help="Embedded store directory.")
def db_backup(directory: Path, data_dir: Path | None) -> None:
    """Copy every table into DIRECTORY (consistent while serve keeps writing)."""
    from agentledger.storage.backup import backup

    with _store(data_dir) as store:
        try:
            info = backup(store, directory)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(
        f"backed up {sum(info.rows.values())} rows of {len(info.rows)} tables "
        f"(schema {info.schema_version:04d}) to {info.path}"
    )


@db.command("restore")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--replace", is_flag=True, help="Empty tables that already hold rows first.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Embedded store directory.")
def db_restore(directory: Path, replace: bool, data_dir: Path | None) -> None:
    """Load a backup made by `db backup`, then apply newer migrations."""
    from agentledger.storage.backup import restore

    settings = _settings(data_dir=data_dir)
    with _store(data_dir) as store:
        try:
            info = restore(
                store, directory, ttl_days=settings.ttl_days,
                audit_ttl_days=settings.audit_ttl_days, replace=replace,
            )  # fmt: skip
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"restored {sum(info.rows.values())} rows of {len(info.rows)} tables")


@cli.group()
def prices() -> None:
    """The model price catalog."""


@prices.command("set")
@click.option("--model-pattern", required=True, help="Regex matched against the model name.")
@click.option("--input-per-mtok", type=float, required=True, help="USD per million input tokens.")
@click.option("--output-per-mtok", type=float, required=True, help="USD per million output tokens.")
@click.option("--cached-input-per-mtok", type=float, help="USD per million cache-read tokens.")
@click.option("--cache-write-per-mtok", type=float, help="USD per million cache-write tokens.")
@click.option("--reasoning-per-mtok", type=float, help="USD per million reasoning tokens.")
@click.option("--tier-above-input-tokens", type=int, help="Long-context tier: above this input.")
@click.option("--tier-input-per-mtok", type=float, help="Tier input price.")
@click.option("--tier-output-per-mtok", type=float, help="Tier output price.")
@click.option("--tier-cached-input-per-mtok", type=float, help="Tier cache-read price.")
@click.option("--tier-cache-write-per-mtok", type=float, help="Tier cache-write price.")
@click.option("--tier-reasoning-per-mtok", type=float, help="Tier reasoning price.")
@click.option("--provider", default="", help="Only for this provider (default: any).")
@click.option("--tenant", default="", help="Only for this tenant (default: all).")
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]), help="First day it applies.")
@click.option("--checked-at", type=click.DateTime(["%Y-%m-%d"]), help="When it was verified.")
def prices_set(valid_from: datetime | None, checked_at: datetime | None, **fields: Any) -> None:
    """Add a price version (nothing is overwritten: cost can be restated with --as-of)."""
    from agentledger.analytics.prices import Price, Tier, set_price

    tier_fields = {k[5:]: v for k, v in fields.items() if k.startswith("tier_") and v is not None}
    tier = None
    if tier_fields:
        missing = {"above_input_tokens", "input_per_mtok", "output_per_mtok"} - set(tier_fields)
        if missing:
            names = ", ".join(f"--tier-{name.replace('_', '-')}" for name in sorted(missing))
            raise click.UsageError(f"a price tier also needs {names}")
        tier = Tier(**tier_fields)
    plain = {k: v for k, v in fields.items() if not k.startswith("tier_")}
    price = Price(
        **plain,
        tier=tier,
        valid_from=valid_from.date() if valid_from else date(1970, 1, 1),
        checked_at=checked_at.date() if checked_at else None,
    )
    with _store() as store:
        try:
            set_price(store, price)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"price set for {price.model_pattern} from {price.valid_from}")


@prices.command("list")
@click.option("--as-of", help="The catalog as it stood then (ISO date/time or 7d).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def prices_list(as_of: str | None, fmt: str) -> None:
    """Show the catalog, user overrides first."""
    from agentledger.analytics.prices import list_prices

    with _store() as store:
        _print_rows(list_prices(store, _parse_since(as_of, "--as-of")), fmt)


@cli.command()
@click.option("--by", type=click.Choice(COST_GROUPINGS), default="model", show_default=True)
@click.option("--since", help="ISO date/time, or relative: 30m, 24h, 7d (default: everything).")
@click.option("--until", help="End of the period (default: now).")
@click.option("--as-of", help="Restate with the price catalog as it stood then.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--limit", type=int, help="At most this many rows (costliest first).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def cost(by: str, tenant: str | None, limit: int | None, fmt: str, **times: str | None) -> None:
    """Token cost per model, agent, version, tenant, day, service, provider, decision or trace."""
    from agentledger.analytics.cost import cost_totals
    from agentledger.analytics.prices import price_version

    as_of = _parse_since(times["as_of"], "--as-of")
    with _store() as store:
        rows = cost_totals(
            store,
            by,  # type: ignore[arg-type]  # click checked it against COST_GROUPINGS
            _parse_since(times["since"]),
            as_of=as_of,
            until=_parse_since(times["until"], "--until"),
            tenant=tenant,
            limit=limit,
        )
        version = price_version(store, as_of)
    if fmt == "table":
        click.echo(f"priced with catalog {version}", err=True)
    _print_rows(rows, fmt)


@cli.group()
def budgets() -> None:
    """Spend budgets per tenant and agent; the budgets job alerts when a forecast crosses one."""


_BUDGET_SCOPE = [
    click.option("--tenant", default="", help="Tenant (default: every tenant together)."),
    click.option("--agent", default="", help="Agent (default: every agent together)."),
    click.option("--period", type=click.Choice(["day", "month"]), default="month"),
]


def _budget_scope(func: F) -> F:
    for option in reversed(_BUDGET_SCOPE):
        func = option(func)
    return func


@budgets.command("set")
@_budget_scope
@click.option("--usd", type=float, required=True, help="Budget for the period, in USD.")
def budgets_set(tenant: str, agent: str, period: str, usd: float) -> None:
    """Set (or replace) a budget."""
    from agentledger.analytics.budgets import set_budget

    with _store() as store:
        try:
            set_budget(store, tenant, agent, period, usd)  # type: ignore[arg-type]
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    click.echo(f"budget {tenant or '*'}/{agent or '*'}/{period}: ${usd:,.2f}")


@budgets.command("remove")
@_budget_scope
def budgets_remove(tenant: str, agent: str, period: str) -> None:
    """Remove a budget."""
    from agentledger.analytics.budgets import remove_budget

    with _store() as store:
        remove_budget(store, tenant, agent, period)  # type: ignore[arg-type]
    click.echo(f"budget {tenant or '*'}/{agent or '*'}/{period} removed")


@budgets.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def budgets_list(fmt: str) -> None:
    """Budgets with this period's spend and forecast."""
    from agentledger.analytics.budgets import budget_status

    with _store() as store:
        rows = [dataclasses.asdict(status) for status in budget_status(store)]
    _print_rows(rows, fmt)


@cli.group()
def kpi() -> None:
    """Business KPIs attributed to agents, versions, models and decisions."""


_KPI_BY = click.option(
    "--by", type=click.Choice(["agent", "agent_version", "model", "decision_type"]),
    default="agent", show_default=True,
)  # fmt: skip


@kpi.command("outcomes")
@click.argument("name")
@_KPI_BY
@click.option("--since", help="ISO date/time or 30m/24h/7d.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def kpi_outcomes(name: str, by: str, since: str | None, tenant: str | None, fmt: str) -> None:
    """Events, total and mean of KPI NAME per group."""
    from agentledger.analytics.kpi_attribution import kpi_outcomes as outcomes

    with _store() as store:
        rows = outcomes(store, name, by, _parse_since(since), tenant=tenant)  # type: ignore[arg-type]
    _print_rows(rows, fmt)


@kpi.command("cost")
@click.argument("name")
@_KPI_BY
@click.option("--since", help="ISO date/time or 30m/24h/7d.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def kpi_cost(name: str, by: str, since: str | None, tenant: str | None, fmt: str) -> None:
    """Cost per unit of KPI NAME (e.g. dollars per resolved ticket) per group."""
    from agentledger.analytics.kpi_attribution import cost_per_kpi

    with _store() as store:
        rows = cost_per_kpi(store, name, _parse_since(since), by=by, tenant=tenant)  # type: ignore[arg-type]
    _print_rows(rows, fmt)


@kpi.command("compare")
@click.argument("name")
@click.option("--agent", required=True, help="The agent whose versions to compare.")
@click.option("--a", "version_a", required=True, help="Baseline version.")
@click.option("--b", "version_b", required=True, help="Candidate version.")
@click.option("--since", help="ISO date/time or 30m/24h/7d.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def kpi_compare(
    name: str, agent: str, version_a: str, version_b: str, since: str | None,
    tenant: str | None, fmt: str,
) -> None:  # fmt: skip
    """Did version B move KPI NAME? The right test, effect size and confidence interval."""
    from agentledger.analytics.kpi_attribution import compare_versions

    with _store() as store:
        try:
            result = compare_versions(
                store, name, agent, version_a, version_b, _parse_since(since), tenant=tenant
            )
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    click.echo(
        json.dumps(result.as_dict(), default=str, indent=2) if fmt == "json" else result.summary()
    )


@cli.command()
@click.option("--tenant", help="Only this tenant.")
@click.option("--kind", type=click.Choice(["agent", "model", "budget"]), help="Only this kind.")
@click.option("--limit", type=int, default=200, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def anomalies(tenant: str | None, kind: str | None, limit: int, fmt: str) -> None:
    """Open anomalies (latency, errors, tokens, cost per agent and model) and budget alerts."""
    from agentledger.analytics.anomalies import open_anomalies

    with _store() as store:
        _print_rows(open_anomalies(store, tenant, kind, limit), fmt)


@cli.group()
def lineage() -> None:
    """End-to-end lineage: sources, model calls, decisions, actions and KPI outcomes."""


def _walk_options(func: F) -> F:
    for option in reversed(
        [
            click.option("--tenant", help="Only this tenant (needed when a node is in several)."),
            click.option("--since", help="Only edges since (ISO date/time or 30m/24h/7d)."),
            click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table"),
        ]
    ):
        func = option(func)
    return func


def _print_graph(graph: Any, fmt: str) -> None:
    from agentledger.analytics.lineage_export import graph_dict

    if fmt == "json":
        click.echo(json.dumps(graph_dict(graph), default=str, indent=2))
        return
    _print_rows([{"src": e.src, "relation": e.relation, "dst": e.dst} for e in graph.edges], fmt)
    if graph.truncated:
        click.echo("(truncated: raise --max-nodes to see more)", err=True)


@lineage.command("upstream")
@click.argument("node")
@click.option("--depth", type=int, default=10, show_default=True)
@click.option("--max-nodes", type=int, default=5000, show_default=True)
@_walk_options
def lineage_upstream(node: str, since: str | None, fmt: str, **limits: Any) -> None:
    """Everything NODE (e.g. decision:ID) depended on."""
    from agentledger.analytics.lineage import upstream

    with _store() as store:
        graph = _lineage_call(upstream, store, node, since=_parse_since(since), **limits)
    _print_graph(graph, fmt)


@lineage.command("downstream")
@click.argument("node")
@click.option("--depth", type=int, default=10, show_default=True)
@click.option("--max-nodes", type=int, default=5000, show_default=True)
@_walk_options
def lineage_downstream(node: str, since: str | None, fmt: str, **limits: Any) -> None:
    """Everything NODE (e.g. document:faq@v3) reached: decisions, actions, KPI outcomes."""
    from agentledger.analytics.lineage import downstream

    with _store() as store:
        graph = _lineage_call(downstream, store, node, since=_parse_since(since), **limits)
    _print_graph(graph, fmt)


@lineage.command("path")
@click.argument("src")
@click.argument("dst")
@click.option("--max-depth", type=int, default=20, show_default=True)
@_walk_options
def lineage_path(src: str, dst: str, since: str | None, fmt: str, **limits: Any) -> None:
    """One shortest chain of edges from SRC to DST (e.g. a dataset to a KPI)."""
    from agentledger.analytics.lineage import path

    with _store() as store:
        edges = _lineage_call(path, store, src, dst, since=_parse_since(since), **limits)
    if not edges:
        raise click.ClickException(f"no lineage path from {src} to {dst}")
    rows = [{"src": e.src, "relation": e.relation, "dst": e.dst, "time": e.time} for e in edges]
    _print_rows(rows, "json" if fmt == "json" else "table")


@lineage.command("export")
@click.option("--decision", help="The graph around this decision id.")
@click.option("--trace", help="The graph of this trace id.")
@click.option("--node", help="The graph around this node (e.g. document:faq@v3).")
@click.option("--since", help="Only edges since (ISO date/time or 30m/24h/7d).")
@click.option("--tenant", help="Only this tenant.")
@click.option("--depth", type=int, default=10, show_default=True)
@click.option(
    "--format", "fmt", required=True,
    type=click.Choice(["json", "openlineage", "graphml", "csv", "parquet", "html"]),
)  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), required=True, help="File to write.")
def lineage_export(
    decision: str | None, trace: str | None, node: str | None, since: str | None,
    tenant: str | None, depth: int, fmt: str, out: Path,
) -> None:  # fmt: skip
    """Export a lineage graph: OpenLineage RunEvents, GraphML, CSV, Parquet, JSON or HTML."""
    from agentledger.analytics.lineage import graph_for
    from agentledger.analytics.lineage_export import export_lineage

    with _store() as store:
        graph = _lineage_call(
            graph_for, store, decision_id=decision, trace_id=trace, node=node, tenant=tenant,
            since=_parse_since(since), depth=depth,
        )  # fmt: skip
    for written in export_lineage(graph, fmt, out):
        click.echo(f"wrote {written}")


def _lineage_call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.group()
def jobs() -> None:
    """Analytics jobs (they also run on a schedule inside serve)."""


@jobs.command("list")
def jobs_list() -> None:
    """Known jobs and their last run."""
    from agentledger.analytics.jobs import job_status

    with _store() as store:
        rows = job_status(store)
    keep = ("job", "last_status", "last_run", "last_rows")
    _print_rows([{key: row[key] for key in keep} for row in rows], "table")


@jobs.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def jobs_status(fmt: str) -> None:
    """Each job's watermark (where its next window starts), lag, last run and failures."""
    from agentledger.analytics.jobs import job_status

    with _store() as store:
        _print_rows(job_status(store), fmt)


@jobs.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Run one job now (or `all`), from its watermark up to now."""
    from agentledger.analytics.jobs import JOBS, run_job

    if name != "all" and name not in JOBS:
        raise click.ClickException(f"unknown job {name!r}; known jobs: {', '.join(JOBS)}, all")
    names = list(JOBS) if name == "all" else [name]
    with (
        _store() as store,
        click.progressbar(
            names, label="running jobs", item_show_func=lambda job: job, file=sys.stderr
        ) as bar,
    ):
        for job in bar:
            started = time.perf_counter()
            result = run_job(store, job)
            click.echo(
                f"{job}: {result.rows} rows, window "
                f"{result.window_start:%Y-%m-%d %H:%M} .. {result.window_end:%Y-%m-%d %H:%M} "
                f"in {time.perf_counter() - started:.1f}s"
            )


_DRIFT_TABLE = (
    "model", "model_version", "feature", "kind", "status", "n_reference", "n_current",
    "psi", "js", "ks_pvalue", "wasserstein", "chi2_pvalue", "drifted",
)  # fmt: skip


@cli.group(invoke_without_command=True)
@click.option("--reference", help="Reference window START..END (ISO dates or date-times, UTC).")
@click.option("--current", help="Current window START..END (default: the last day).")
@click.option("--baseline", help="Rolling reference: this long before --current (e.g. 7d).")
@click.option("--model", help="Only this model (required with --reference-version).")
@click.option("--reference-version", help="Compare two versions of --model instead of windows.")
@click.option("--current-version", help="The version compared with --reference-version.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--by-version", is_flag=True, help="One result per model version.")
@click.option("--psi", type=float, default=0.2, show_default=True, help="PSI threshold.")
@click.option("--js", type=float, default=0.1, show_default=True, help="Jensen-Shannon threshold.")
@click.option("--ks-pvalue", type=float, default=0.01, show_default=True, help="KS p-value.")
@click.option("--chi2-pvalue", type=float, default=0.01, show_default=True, help="Chi2 p-value.")
@click.option("--min-samples", type=int, default=30, show_default=True, help="Per window.")
@click.option("--no-save", is_flag=True, help="Do not record the results in drift_results.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def drift(ctx: click.Context, /, **options: Any) -> None:
    """Drift of every model feature between two windows or two model versions."""
    if ctx.invoked_subcommand is not None:
        return
    from agentledger.analytics import drift as analysis

    thresholds = analysis.Thresholds(
        psi=options["psi"],
        js=options["js"],
        ks_pvalue=options["ks_pvalue"],
        chi2_pvalue=options["chi2_pvalue"],
        min_samples=options["min_samples"],
    )
    common = {"tenant": options["tenant"], "thresholds": thresholds, "save": not options["no_save"]}
    with _store() as store:
        try:
            if options["reference_version"] or options["current_version"]:
                results = analysis.drift_between_versions(
                    store,
                    options["model"] or "",
                    options["reference_version"] or "",
                    options["current_version"] or "",
                    **common,
                )
            else:
                current = options["current"] or analysis.rolling_windows()[1]
                scope = {**common, "model": options["model"], "by_version": options["by_version"]}
                if options["reference"]:
                    results = analysis.drift_between_windows(
                        store, analysis.parse_window(options["reference"], "--reference"),
                        analysis.parse_window(current, "--current"), **scope,
                    )  # fmt: skip
                else:
                    baseline = _duration(options["baseline"] or "7d", "--baseline")
                    results = analysis.drift_against_baseline(
                        store, analysis.parse_window(current, "--current"),
                        baseline=baseline, **scope,
                    )  # fmt: skip
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    rows = analysis.drift_results_as_dicts(results)
    if options["fmt"] == "table":
        rows = [{key: row.get(key) for key in _DRIFT_TABLE} for row in rows]
    _print_rows(rows, options["fmt"])


@drift.command("report")
@click.option("--model", required=True, help="The model to report on.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="HTML file to write.")
@click.option("--reference", help="Reference window START..END (default: the 7 days before).")
@click.option("--current", help="Current window START..END (default: the last day).")
@click.option("--reference-version", help="Compare versions instead of windows.")
@click.option("--current-version", help="The version compared with --reference-version.")
@click.option("--sample-rows", type=int, default=50_000, show_default=True, help="Per window.")
@click.option("--tenant", help="Only this tenant.")
def drift_report(
    model: str, out: Path, sample_rows: int, tenant: str | None, **windows: Any
) -> None:
    """Write an Evidently data-drift report (HTML) for one model."""
    from agentledger.analytics.drift_report import write_drift_report

    with _store() as store:
        try:
            written = write_drift_report(
                store, model, windows["reference"], windows["current"], out, sample_rows,
                reference_version=windows["reference_version"],
                current_version=windows["current_version"], tenant=tenant,
            )  # fmt: skip
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    click.echo(f"wrote {written}")


@drift.command("quality")
@click.option("--model", help="Only this model (decision ModelName, span response/request model).")
@click.option("--since", default="7d", show_default=True, help="ISO date/time or 30m/24h/7d.")
@click.option("--until", help="End of the period (default: now).")
@click.option("--bucket", default="1h", show_default=True, help="Bucket width: 30m, 1h, 1d...")
@click.option("--tenant", help="Only this tenant.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def drift_quality(
    model: str | None, since: str, until: str | None, bucket: str, tenant: str | None, fmt: str
) -> None:
    """Labels-free quality signs per time bucket and model: decisions, mean confidence, policy
    failure rate, escalation rate, model calls and mean output tokens."""
    from agentledger.analytics.drift import quality_proxies

    start = _parse_since(since)
    if start is None:
        raise click.BadParameter(
            "give a start: an ISO date/time or 30m/24h/7d", param_hint="--since"
        )
    with _store() as store:
        try:
            rows = quality_proxies(
                store, start, _duration(bucket, "--bucket"), model,
                until=_parse_since(until, "--until"), tenant=tenant,
            )  # fmt: skip
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    if fmt == "table":
        rows = [{k: _rounded(v) for k, v in row.items()} for row in rows]
    _print_rows(rows, fmt)


def _rounded(value: Any) -> Any:
    """A float shown with 4 decimals, an empty cell for NULL."""
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else value


@cli.group()
def audit() -> None:
    """The decision audit trail."""


@audit.command("verify")
@click.option("--tenant", help="Only this tenant's chains.")
@click.option("--chain", help="Only chains with this id (a collector's instance id).")
def audit_verify(tenant: str | None, chain: str | None) -> None:
    """Re-hash every decision, chain by chain; exit 1 and name each broken chain's first bad
    record (an edit, a removal, or a fork: two writers sharing one chain id)."""
    from agentledger.audit.verify import verify_chain

    with _store() as store:
        result = verify_chain(store, tenant, chain=chain)
    named = any(report.chain for report in result.chains)  # else one chain per tenant, as before
    for report in result.chains if named else []:
        state = "ok" if report.ok else "BROKEN"
        click.echo(
            f"tenant={report.tenant} chain={report.chain!r}: {report.checked} decisions, "
            f"verified up to Seq {report.last_seq}: {state}"
        )
    for chain_break in result.breaks:
        where = f" chain={chain_break.chain!r}" if named else ""
        click.echo(
            f"BROKEN tenant={chain_break.tenant}{where} seq={chain_break.seq} "
            f"decision={chain_break.decision_id}: {chain_break.reason}",
            err=True,
        )
    if not result.ok:
        sys.exit(1)
    chains = f" in {len(result.chains)} chains" if named else ""
    click.echo(f"ok: {result.checked} decisions verified{chains}")


@cli.group()
def keys() -> None:
    """Managed API keys (stored hashed; serve picks up changes within seconds)."""


@keys.command("create")
@click.option("--tenant", required=True, help="Tenant the key sends data as.")
@click.option(
    "--scope", type=click.Choice(["ingest", "read", "admin"]), required=True, help="What it may do."
)
@click.option("--name", default="", help="A label to recognise the key by.")
def keys_create(tenant: str, scope: str, name: str) -> None:
    """Create a key and print its secret, once."""
    from agentledger.collector.keys import create_key

    with _store() as store:
        try:
            key_id, secret = create_key(store, tenant, scope, name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"key id:  {key_id}  (tenant {tenant.strip()}, scope {scope})")
    click.echo(f"secret:  {secret}")
    click.echo(
        "Store the secret now: it is shown only this once and cannot be recovered.", err=True
    )


@keys.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def keys_list(fmt: str) -> None:
    """Show every key (never secrets), revoked ones included."""
    from agentledger.collector.keys import list_keys

    with _store() as store:
        _print_rows(list_keys(store), fmt)


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id; serve refuses it within AGENTLEDGER_KEY_REFRESH_SECONDS."""
    from agentledger.collector.keys import UnknownKey, revoke_key

    with _store() as store:
        try:
            revoked = revoke_key(store, key_id)
        except UnknownKey as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"revoked {key_id}" if revoked else f"{key_id} was already revoked")


@cli.group()
def conventions() -> None:
    """Which attribute conventions services send, and which keys fill AgentLedger's columns."""


@conventions.command("report")
@click.option(
    "--since",
    default="24h",
    show_default=True,
    help="ISO date/time, or relative: 30m, 24h, 7d.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def conventions_report(since: str, fmt: str) -> None:
    """Per service and convention: the span attribute keys seen, the column each one fills, and
    the keys nothing is derived from (unmapped) or that no known convention defines."""
    from agentledger.analytics.conventions import conventions_report as report

    with _store() as store:
        _print_rows(report(store, _parse_since(since)), fmt)


def _duration(text: str, option: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if not match:
        raise click.BadParameter(
            f"{text!r} is not a duration such as 30m, 24h or 7d", param_hint=option
        )
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def _parse_since(text: str | None, option: str = "--since") -> datetime | None:
    if not text:
        return None
    if re.fullmatch(r"\d+[mhd]", text.strip()):
        return datetime.now(UTC) - _duration(text, option)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO date/time or 30m/24h/7d", param_hint=option
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _print_rows(rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    if not rows:
        click.echo("(no rows)")
        return
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        click.echo("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
