"""The ``agentledger`` command: one click group of thin commands over the library."""

from __future__ import annotations

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

from agentledger.config import ConfigError, Settings, mask_url
from agentledger.storage.store import Store, StoreError

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
@click.version_option(package_name="agentledger")
def cli() -> None:
    """AgentLedger: traces, decision audit trails, cost and lineage for AI agents."""


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
def db() -> None:
    """Schema management."""


@db.command("migrate")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Embedded store directory.")
def db_migrate(data_dir: Path | None) -> None:
    """Apply pending schema migrations (idempotent)."""
    from agentledger.analytics.prices import seed_default_prices
    from agentledger.storage.migrate import migrate

    settings = _settings(data_dir=data_dir)
    with _store(data_dir) as store:
        applied = migrate(store, settings.ttl_days, settings.audit_ttl_days)
        seed_default_prices(store)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing (up to date)"
    click.echo(f"applied: {names}")


@cli.group()
def prices() -> None:
    """The model price catalog."""


@prices.command("set")
@click.option("--model-pattern", required=True, help="Regex matched against the model name.")
@click.option("--input-per-mtok", type=float, required=True, help="USD per million input tokens.")
@click.option("--output-per-mtok", type=float, required=True, help="USD per million output tokens.")
@click.option("--cached-input-per-mtok", type=float, help="USD per million cached input tokens.")
@click.option("--provider", default="", help="Only for this provider (default: any).")
@click.option("--tenant", default="", help="Only for this tenant (default: all).")
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]), help="First day it applies.")
def prices_set(valid_from: datetime | None, **fields: Any) -> None:
    """Add a price version that overrides the shipped defaults."""
    from agentledger.analytics.prices import Price, set_price

    price = Price(
        model_pattern=fields["model_pattern"],
        input_per_mtok=fields["input_per_mtok"],
        output_per_mtok=fields["output_per_mtok"],
        cached_input_per_mtok=fields["cached_input_per_mtok"],
        provider=fields["provider"],
        tenant=fields["tenant"],
        valid_from=valid_from.date() if valid_from else date(1970, 1, 1),
    )
    with _store() as store:
        try:
            set_price(store, price)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"price set for {price.model_pattern} from {price.valid_from}")


@prices.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def prices_list(fmt: str) -> None:
    """Show the catalog, user overrides first."""
    from agentledger.analytics.prices import list_prices

    with _store() as store:
        _print_rows(list_prices(store), fmt)


@cli.command()
@click.option(
    "--by", type=click.Choice(["model", "agent", "tenant", "day", "service"]), default="model"
)
@click.option("--since", help="ISO date/time, or relative: 30m, 24h, 7d (default: everything).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def cost(by: str, since: str | None, fmt: str) -> None:
    """Token cost totals from the cost rollups."""
    from agentledger.analytics.cost import cost_totals

    with _store() as store:
        _print_rows(cost_totals(store, by, _parse_since(since)), fmt)  # type: ignore[arg-type]


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


@cli.group()
def audit() -> None:
    """The decision audit trail."""


@audit.command("verify")
@click.option("--tenant", help="Only this tenant's chain.")
def audit_verify(tenant: str | None) -> None:
    """Re-hash every decision; exit 1 and name the first bad record if the chain is broken."""
    from agentledger.audit import verify_chain

    with _store() as store:
        result = verify_chain(store, tenant)
    for chain_break in result.breaks:
        click.echo(
            f"BROKEN tenant={chain_break.tenant} seq={chain_break.seq} "
            f"decision={chain_break.decision_id}: {chain_break.reason}",
            err=True,
        )
    if not result.ok:
        sys.exit(1)
    click.echo(f"ok: {result.checked} decisions verified")


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


def _parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    if re.fullmatch(r"\d+[mhd]", text.strip()):
        return datetime.now(UTC) - _duration(text, "--since")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO date/time or 30m/24h/7d", param_hint="--since"
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
