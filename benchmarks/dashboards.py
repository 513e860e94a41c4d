"""Dashboards at scale: N agent spans (10 per trace, two tenants, six days) with one decision and
two KPI events per trace, model observations (from the spans, by the materialized view), cost
rollups, lineage and drift results, all generated inside ClickHouse. Then every panel query of
every page is timed through the SQL endpoint as the read-only user (p50/p95 of several runs,
target p95 < 300 ms; one untimed warm-up run first), and every page is rendered in headless
Chromium (target < 2 s): loaded by URL (a full reload of the app) and reached from the menu.

The decisions of the last two hours are sealed by the real audit chain (so the Decisions page's
chain check re-hashes real records); older ones are generated in SQL with consistent links.

python benchmarks/dashboards.py [--spans 10000000 | --scale 0.01] [--runs 7] [--no-browser]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agentledger.analytics.cost import run_cost_job
from agentledger.analytics.drift import run_drift_job
from agentledger.analytics.kpi_rollup import run_kpi_attribution_job
from agentledger.analytics.lineage import run_lineage_job
from agentledger.analytics.prices import seed_default_prices
from agentledger.audit import AuditChain
from agentledger.dashboards import APP_PATH
from agentledger.dashboards.filters import Filters
from agentledger.dashboards.navigation import PAGES
from agentledger.dashboards.panels import PANELS
from agentledger.dashboards.timerange import window_for
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.http_store import HttpStore
from agentledger.storage.migrate import migrate
from agentledger.storage.store import Store, query_rows

FULL_SPANS = 10_000_000
SPANS_PER_TRACE = 10
DAYS_MS = 6 * 86_400_000
SEALED = timedelta(hours=2)
TARGET_QUERY_MS = 300.0
TARGET_PAGE_S = 2.0
TENANT = "acme"

_SPAN_ID = "leftPad(lower(hex(cityHash64(n, toUInt64({k})))), 16, '0')"
_TRACE_ID = (
    "concat(leftPad(lower(hex(cityHash64(n, 'a'))), 16, '0'),"
    " leftPad(lower(hex(cityHash64(n, 'b'))), 16, '0'))"
)
_AT = "now64(9) - toIntervalMillisecond(toUInt64(n * {ms_per_trace:Float64}))"
_TENANT = "if(n % 10 = 0, 'globex', 'acme')"
_SERVICE = "['support-bot', 'billing-bot', 'search-api'][1 + n % 3]"
_AGENT = "['support', 'billing', 'triage', 'research'][1 + n % 4]"
_MODEL = "['gpt-4o-mini', 'claude-3-5-haiku', 'gpt-4.1'][1 + n % 3]"
_DECISION_ID = f"toString(reinterpretAsUUID(reverse(unhex({_TRACE_ID}))))"

_SPANS = f"""
INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName,
    ResourceAttributes, SpanAttributes, Duration, StatusCode, TenantId)
SELECT {_AT} + toIntervalMillisecond(k * 20), {_TRACE_ID}, {_SPAN_ID.format(k="k")},
       if(k = 0, '', {_SPAN_ID.format(k=0)}),
       ['invoke_agent', 'retrieval knowledge_base', 'chat', 'execute_tool order_lookup',
        'chat o4-mini', 'action issue_refund', 'execute_tool payments_refund', 'action send_email',
        'chat', 'execute_tool crm_update'][k + 1],
       if(k IN (2, 4, 8), 'Client', 'Internal'), {_SERVICE},
       map('service.name', {_SERVICE}, 'deployment.environment', 'prod'),
       multiIf(
         k = 0, map('gen_ai.operation.name', 'invoke_agent', 'gen_ai.agent.name', {_AGENT},
                    'gen_ai.agent.version', toString(1 + n % 2),
                    'agentledger.decision.id', {_DECISION_ID}),
         k = 1, map('gen_ai.operation.name', 'retrieval', 'gen_ai.agent.name', {_AGENT},
                    'retrieval.documents.0.document.id', concat('doc-', toString(n % 2000))),
         k IN (2, 8), map('gen_ai.operation.name', 'chat', 'gen_ai.request.model', {_MODEL},
                    'gen_ai.agent.name', {_AGENT},
                    'gen_ai.usage.input_tokens', toString(600 + n % 700),
                    'gen_ai.usage.output_tokens', toString(40 + n % 200)),
         k = 4, map('gen_ai.operation.name', 'chat', 'gen_ai.request.model', 'o4-mini',
                    'gen_ai.agent.name', {_AGENT},
                    'gen_ai.usage.input_tokens', '1200', 'gen_ai.usage.output_tokens', '300'),
         k IN (3, 6, 9), map('gen_ai.operation.name', 'execute_tool',
                    'gen_ai.agent.name', {_AGENT}, 'gen_ai.tool.name',
                    ['order_lookup', 'payments_refund', 'crm_update'][intDiv(k, 3)]),
         map('agentledger.action.name', if(k = 5, 'issue_refund', 'send_email'),
             'gen_ai.agent.name', {_AGENT})),
       (20 + k * 7 + (n * 37) % 400) * 1000000,
       if(k = 3 AND n % 33 = 0, 'Error', 'Unset'),
       {_TENANT}
FROM (SELECT intDiv(number, {SPANS_PER_TRACE}) AS n, number % {SPANS_PER_TRACE} AS k
      FROM numbers({{spans:UInt64}}))
"""

# Older decisions: Seq per tenant in time order, and consistent links (PrevHash = the previous
# record's Hash) so the chain check walks them; their content hashes are stand-ins.
_DECISIONS = f"""
INSERT INTO decisions (Timestamp, TenantId, Seq, DecisionId, TraceId, SpanId, ServiceName,
    AgentName, AgentVersion, DecisionType, Options, Chosen, Confidence, Inputs, PolicyChecks,
    ApprovedBy, Rationale, ModelName, PrevHash, Hash)
SELECT Timestamp, TenantId, Seq, DecisionId, TraceId, SpanId, ServiceName, AgentName,
       AgentVersion, DecisionType, Options, Chosen, Confidence, Inputs, PolicyChecks, ApprovedBy,
       Rationale, ModelName,
       if(Seq = 1, repeat('0', 64), lower(hex(SHA256(concat(TenantId, toString(Seq - 1)))))),
       lower(hex(SHA256(concat(TenantId, toString(Seq)))))
FROM (
    SELECT {_AT} + toIntervalMillisecond(190) AS Timestamp, {_TENANT} AS TenantId,
           row_number() OVER (PARTITION BY TenantId ORDER BY n DESC) AS Seq,
           {_DECISION_ID} AS DecisionId, {_TRACE_ID} AS TraceId,
           {_SPAN_ID.format(k=0)} AS SpanId, {_SERVICE} AS ServiceName, {_AGENT} AS AgentName,
           toString(1 + n % 2) AS AgentVersion, 'refund' AS DecisionType,
           ['approve', 'deny', 'escalate'] AS Options,
           ['approve', 'deny', 'escalate'][1 + n % 3] AS Chosen, (n % 100) / 100 AS Confidence,
           [concat('document:doc-', toString(n % 2000), '@v1')] AS Inputs,
           '[{{"policy_id": "refund-limit-500", "verdict": "pass"}}]' AS PolicyChecks,
           if(n % 5 = 0, 'human:lead@example.com', '') AS ApprovedBy,
           'policy allows it' AS Rationale, {_MODEL} AS ModelName
    FROM (SELECT number AS n FROM numbers({{traces:UInt64}}))
    WHERE n >= {{sealed:UInt64}}
)
"""

_RECENT = """
SELECT toUnixTimestamp64Nano(Timestamp) + 190000000 AS ts, TenantId, TraceId, SpanId,
       ServiceName, AgentName, AgentVersion,
       SpanAttributes['agentledger.decision.id'] AS DecisionId, n
FROM (SELECT Timestamp, TenantId, TraceId, SpanId, ServiceName, AgentName, AgentVersion,
             SpanAttributes,
             toUInt64(dateDiff('millisecond', Timestamp, now64(9)) / {ms_per_trace:Float64}) AS n
      FROM otel_traces WHERE ParentSpanId = '' AND Timestamp >= now64(9) - INTERVAL 2 HOUR)
ORDER BY ts
"""

_KPIS = f"""
INSERT INTO kpi_events (Timestamp, TenantId, KpiName, Value, Unit, EntityId, DecisionId, TraceId,
    ServiceName)
SELECT {_AT} + toIntervalSecond(30), {_TENANT}, ['csat', 'ticket_resolved'][1 + number % 2],
       if(number % 2 = 0, (n % 5) + 1, n % 4 != 0), ['score', 'ticket'][1 + number % 2],
       concat('ticket-', toString(n)), {_DECISION_ID}, {_TRACE_ID}, {_SERVICE}
FROM (SELECT number, intDiv(number, 2) AS n FROM numbers({{kpis:UInt64}}))
"""

_ANOMALIES = """
INSERT INTO anomalies (Timestamp, TenantId, Kind, Entity, Metric, Value, Baseline, Score,
    Severity, Message, Status, DetectedAt, UpdatedAt)
SELECT toStartOfHour(now64(3)) - toIntervalHour(number), if(number % 10 = 0, 'globex', 'acme'),
       'agent', ['support', 'billing', 'triage', 'research'][1 + number % 4], 'p95_latency_ms',
       900 + number, 300, 5 + number % 3, ['info', 'warning', 'critical'][1 + number % 3],
       'p95 latency above its seasonal baseline', if(number % 3 = 0, 'open', 'resolved'),
       now64(3), now64(3)
FROM numbers(200)
"""


def _timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _seal_recent(store: Store, ms_per_trace: float) -> int:
    """Decisions of the last two hours, sealed by the real audit chain after the older ones."""
    rows = query_rows(store, _RECENT, {"ms_per_trace": ms_per_trace})
    records = [
        {
            "Timestamp": int(r["ts"]),
            "TenantId": r["TenantId"],
            "DecisionId": r["DecisionId"],
            "TraceId": r["TraceId"],
            "SpanId": r["SpanId"],
            "ServiceName": r["ServiceName"],
            "AgentName": r["AgentName"],
            "AgentVersion": r["AgentVersion"],
            "DecisionType": "refund",
            "Options": ["approve", "deny", "escalate"],
            "Chosen": ["approve", "deny", "escalate"][int(r["n"]) % 3],
            "Confidence": (int(r["n"]) % 100) / 100,
            "Inputs": [f"document:doc-{int(r['n']) % 2000}@v1"],
            "PolicyChecks": '[{"policy_id": "refund-limit-500", "verdict": "pass"}]',
            "ApprovedBy": "human:lead@example.com" if int(r["n"]) % 5 == 0 else "",
            "Rationale": "policy allows it",
            "ModelName": "gpt-4o-mini",
            "Attributes": {},
        }
        for r in rows
    ]
    return AuditChain(store).append(records)


def _build(store: Store, spans: int) -> list[tuple[str, float, str]]:
    traces = spans // SPANS_PER_TRACE
    ms_per_trace = DAYS_MS / traces
    sealed = int(SEALED.total_seconds() * 1000 / ms_per_trace) + 1
    common = {"ms_per_trace": ms_per_trace, "traces": traces, "sealed": sealed}
    steps: list[tuple[str, Callable[[], Any], str]] = [
        ("spans (+ model observations by view)", lambda: store.command(_SPANS, common | {"spans": spans}), f"{spans:,} spans"),  # noqa: E501
        ("decisions older than 2 h (SQL)", lambda: store.command(_DECISIONS, common), f"{max(traces - sealed, 0):,}"),  # noqa: E501
        ("decisions of the last 2 h (audit chain)", lambda: _seal_recent(store, ms_per_trace), f"~{min(sealed, traces):,}"),  # noqa: E501
        ("KPI events", lambda: store.command(_KPIS, common | {"kpis": 2 * traces}), f"{2 * traces:,}"),  # noqa: E501
        ("anomalies", lambda: store.command(_ANOMALIES), "200"),
        ("cost job", lambda: run_cost_job(store), "rollups"),
        ("drift job", lambda: run_drift_job(store), "drift_results"),
        (
            "kpi attribution job",
            lambda: run_kpi_attribution_job(store, settle=timedelta(0)),
            "kpi_attributions",
        ),
        ("lineage job", lambda: run_lineage_job(store, settle=timedelta(0)), "lineage_edges"),
    ]  # fmt: skip
    done = []
    for name, action, note in steps:
        seconds = _timed(action)
        print(f"  {name}: {seconds:.1f} s ({note})", flush=True)
        done.append((name, seconds, note))
    return done


def _settle_merges(store: Store, limit: float) -> float:
    """Wait (up to ``limit`` seconds) until ClickHouse runs no merge or mutation, as a store that
    is not being backfilled; seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        busy = query_rows(
            store,
            "SELECT (SELECT count() FROM system.merges)"
            " + (SELECT count() FROM system.mutations WHERE NOT is_done) AS n",
        )[0]["n"]
        if not busy:
            break
        time.sleep(2)
    return time.perf_counter() - start


@contextmanager
def _endpoint(store: ChdbStore) -> Iterator[str]:
    """The SQL endpoint over ``store`` in this process, as the read-only ``reader``."""
    import socket

    import uvicorn

    from agentledger.storage.sql_endpoint import SqlUser, build_sql_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = build_sql_app(store, {"reader": SqlUser("pw", readonly=True)})
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://reader:pw@127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _panels() -> dict[str, Callable[[Store, Filters], object]]:
    panels = dict(PANELS)
    try:
        from agentledger.dashboards.analytics_data import PANELS as ANALYTICS
    except ImportError:
        print("  (agentledger.dashboards.analytics_data.PANELS not found: its panels are skipped)")
    else:
        panels.update(ANALYTICS)
    return panels


def _time_panels(store: Store, ranges: list[str], runs: int) -> list[dict[str, Any]]:
    results = []
    for key in ranges:
        filters = Filters(window_for(key), tenant=TENANT)
        for name, panel in _panels().items():
            times = []
            error = ""
            for _ in range(runs + 1):
                try:
                    times.append(_timed(lambda p=panel, f=filters: p(store, f)) * 1000)
                except Exception as exc:  # a panel failing is a result to report, not a crash
                    error = f"{type(exc).__name__}: {str(exc)[:80]}"
                    break
            results.append(_summary(name, key, times[1:], error))
            print(f"  {_line(results[-1])}", flush=True)
    return results


def _summary(name: str, key: str, times: list[float], error: str) -> dict[str, Any]:
    if error or not times:
        return {"panel": name, "range": key, "p50": None, "p95": None, "note": error}
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"panel": name, "range": key, "p50": statistics.median(ordered), "p95": p95, "note": ""}


def _line(row: dict[str, Any]) -> str:
    if row["p95"] is None:
        return f"{row['panel']:<34} {row['range']:>4}   failed: {row['note']}"
    verdict = "ok" if row["p95"] < TARGET_QUERY_MS else "SLOW"
    return f"{row['panel']:<34} {row['range']:>4} {row['p50']:>8.1f} {row['p95']:>8.1f}  {verdict}"


def _render_pages(url: str, loads: int) -> list[dict[str, Any]]:
    """Load every page in headless Chromium; seconds until Streamlit has nothing running."""
    chromedriver = shutil.which("chromedriver")
    if chromedriver is None:
        print("  chromedriver not found: page renders skipped")
        return []
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = _free_port()
    env = dict(os.environ, AGENTLEDGER_CLICKHOUSE_URL=url, AGENTLEDGER_HOST="127.0.0.1")
    env["AGENTLEDGER_OTLP_HTTP_PORT"] = str(_free_port())
    argv = [sys.executable, "-m", "streamlit", "run", str(APP_PATH), "--server.port", str(port)]
    argv += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    app = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    options = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--window-size=1400,2400"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    busy = '[data-testid="stStatusWidget"], [data-testid="stSkeleton"], [data-testid="stSpinner"]'
    errors = '[data-testid="stException"], [data-testid="stAlertContentError"]'

    def rendered(title: str) -> Callable[[Any], bool]:
        def check(d: Any) -> bool:
            headings = [h.text for h in d.find_elements(By.CSS_SELECTOR, "h1")]
            return title in headings and not d.find_elements(By.CSS_SELECTOR, busy)

        return check

    results = []
    try:
        _wait_health(port, app)
        driver.get(f"http://127.0.0.1:{port}/")  # start the server's session machinery
        WebDriverWait(driver, 120).until(rendered("Overview"))
        for spec in PAGES:
            times = []
            for _ in range(loads):
                start = time.perf_counter()
                driver.get(f"http://127.0.0.1:{port}/{spec.url_path}?tenant={TENANT}")
                WebDriverWait(driver, 120).until(rendered(spec.title))
                times.append(time.perf_counter() - start)
            failed = [e.text[:80] for e in driver.find_elements(By.CSS_SELECTOR, errors)]
            results.append(
                {
                    "page": spec.title,
                    "first": times[0],
                    "median": statistics.median(times),
                    "menu": math.nan,
                    "errors": failed,
                }
            )
        for row, spec in zip(results, PAGES, strict=True):
            clicks = []
            for _ in range(loads):
                path, title = ("", "Overview") if spec.url_path else ("traces", "Traces")
                driver.get(f"http://127.0.0.1:{port}/{path}?tenant={TENANT}")
                WebDriverWait(driver, 120).until(rendered(title))
                xpath = f'//a[@data-testid="stSidebarNavLink"][.//span[@label="{spec.title}"]]'
                link = WebDriverWait(driver, 60).until(
                    lambda d, xpath=xpath: d.find_elements(By.XPATH, xpath)
                )[0]
                start = time.perf_counter()
                link.click()
                WebDriverWait(driver, 120).until(rendered(spec.title))
                clicks.append(time.perf_counter() - start)
            row["menu"] = statistics.median(clicks)
            print(
                f"  {spec.title:<10} by URL: first {row['first']:.2f} s, median"
                f" {row['median']:.2f} s; from the menu: median {row['menu']:.2f} s"
                f"{'  ERROR: ' + '; '.join(row['errors']) if row['errors'] else ''}",
                flush=True,
            )
    finally:
        driver.quit()
        app.terminate()
        app.wait(timeout=30)
    return results


def _wait_health(port: int, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("streamlit did not come up")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _print_tables(spans: int, panels: list[dict[str, Any]], pages: list[dict[str, Any]]) -> None:
    print(f"\nDashboards over {spans:,} spans (tenant {TENANT}, through the SQL endpoint)\n")
    print("| panel | range | p50 ms | p95 ms | < 300 ms |")
    print("|---|---|---|---|---|")
    for row in panels:
        if row["p95"] is None:
            print(f"| {row['panel']} | {row['range']} | | | failed: {row['note']} |")
            continue
        ok = "yes" if row["p95"] < TARGET_QUERY_MS else "**no**"
        print(f"| {row['panel']} | {row['range']} | {row['p50']:.1f} | {row['p95']:.1f} | {ok} |")
    if pages:
        print("\n| page | by URL, first s | by URL, median s | from the menu, median s | < 2 s |")
        print("|---|---|---|---|---|")
        for row in pages:
            ok = "yes" if row["median"] < TARGET_PAGE_S and not row["errors"] else "**no**"
            print(
                f"| {row['page']} | {row['first']:.2f} | {row['median']:.2f} |"
                f" {row['menu']:.2f} | {ok} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=FULL_SPANS)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of --spans (quick run)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per panel")
    parser.add_argument("--ranges", default="1h,24h", help="time ranges to time the panels over")
    parser.add_argument("--page-loads", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    if not 0 < args.scale <= 1 or args.spans < SPANS_PER_TRACE * 10:
        parser.error("--scale must be in (0, 1] and --spans at least 100")
    spans = int(args.spans * args.scale) // SPANS_PER_TRACE * SPANS_PER_TRACE
    data_dir = Path(tempfile.mkdtemp(prefix="agentledger-bench-dash-"))
    store = ChdbStore(data_dir)
    try:
        migrate(store)
        seed_default_prices(store)
        print(f"Generating {spans:,} spans and their decisions, KPIs, observations ...")
        _build(store, spans)
        print(f"  waited {_settle_merges(store, 600):.0f} s for background merges to finish")
        with _endpoint(store) as url:
            reader = HttpStore(url)
            print(f"Panel queries, {args.runs} runs each (ms):")
            panels = _time_panels(reader, args.ranges.split(","), args.runs)
            reader.close()
            pages = [] if args.no_browser else _render_pages(url, args.page_loads)
        _print_tables(spans, panels, pages)
    finally:
        store.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\n(run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
