"""Drift on a real chDB store: planted shifts are found and steady features are not, metrics agree
with scipy on the same raw samples within histogram error, versions compare, results are stored,
the job never redoes a window, the Evidently report names the features, and the quality proxies
are checked against hand-built decisions and spans."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial import distance

from agentledger.analytics.drift import (
    DriftResult,
    Thresholds,
    drift_against_baseline,
    drift_between_versions,
    drift_between_windows,
    drift_results_as_dicts,
    parse_window,
    quality_proxies,
    run_drift_job,
)
from agentledger.analytics.drift_report import write_drift_report
from agentledger.analytics.drift_stats import PSI_BINS, PSI_FLOOR
from agentledger.collector.logs import OBSERVATION_SCHEMA
from agentledger.collector.spans import SCHEMA as SPAN_SCHEMA
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.http_store import HttpStore
from agentledger.storage.store import Store, query_rows

from ..conftest import Server

NOW = datetime.now(UTC).replace(microsecond=0)
REFERENCE = (NOW - timedelta(days=8), NOW - timedelta(days=1))
CURRENT = (NOW - timedelta(days=1), NOW - timedelta(hours=1))
TENANT = "drift-t"

Sample = NDArray[Any]


def observations(
    tenant: str,
    model: str,
    version: str,
    feature: str,
    values: Sample,
    window: tuple[datetime, datetime],
    rng: np.random.Generator,
) -> pa.Table:
    """One row per value at random times inside ``window``; strings are categories."""
    start = int(window[0].timestamp() * 1e9)
    end = int(window[1].timestamp() * 1e9)
    categorical = values.dtype.kind in "US"
    n = len(values)
    return pa.table(
        {
            "Timestamp": pa.array(rng.integers(start, end, n), OBSERVATION_SCHEMA.field(0).type),
            "TenantId": [tenant] * n,
            "ModelName": [model] * n,
            "ModelVersion": [version] * n,
            "Feature": [feature] * n,
            "Value": np.zeros(n) if categorical else values.astype(np.float64),
            "Category": values.astype(str) if categorical else [""] * n,
            "TraceId": [uuid.uuid4().hex for _ in range(n)],
            "SpanId": [""] * n,
            "DecisionId": [""] * n,
        },
        schema=OBSERVATION_SCHEMA,
    )


@dataclass
class Planted:
    """The raw samples inserted, by feature: (reference, current)."""

    scorer: dict[str, tuple[Sample, Sample]]
    ranker: dict[str, tuple[Sample, Sample]]


def _insert_planted(store: Store) -> Planted:
    rng = np.random.default_rng(20261124)
    countries = np.array(["DE", "FR", "US", "JP"])
    channels = np.array(["chat", "email", "phone"])
    scorer = {
        "amount": (rng.normal(100, 15, 3000), rng.normal(110, 15, 2000)),
        "latency_ms": (rng.lognormal(3, 0.5, 3000), rng.lognormal(3, 0.5, 2000)),
        "tokens": (rng.poisson(200, 3000).astype(float), rng.poisson(200, 2000).astype(float)),
        "country": (
            rng.choice(countries, 3000, p=[0.5, 0.3, 0.15, 0.05]),
            rng.choice(countries[:3], 2000, p=[0.3, 0.3, 0.4]),
        ),
        "channel": (rng.choice(channels, 3000), rng.choice(channels, 2000)),
        "rare": (rng.normal(0, 1, 100), rng.normal(0, 1, 5)),
    }
    versions = (NOW - timedelta(days=3), NOW - timedelta(hours=1))
    ranker = {
        "score": (rng.beta(2, 5, 2500), rng.beta(3, 4, 2500)),
        "length": (rng.gamma(4, 50, 2500), rng.gamma(4, 50, 2500)),
    }
    for feature, (ref, cur) in scorer.items():
        store.insert_arrow(
            "model_observations",
            observations(TENANT, "scorer", "1.0", feature, ref, REFERENCE, rng),
        )
        store.insert_arrow(
            "model_observations", observations(TENANT, "scorer", "1.1", feature, cur, CURRENT, rng)
        )
    for feature, (ref, cur) in ranker.items():
        for version, values in (("v1", ref), ("v2", cur)):
            store.insert_arrow(
                "model_observations",
                observations(TENANT, "ranker", version, feature, values, versions, rng),
            )
    return Planted(scorer, ranker)


@pytest.fixture(scope="module")
def planted(store: ChdbStore) -> Planted:
    return _insert_planted(store)


@pytest.fixture(scope="module")
def scorer(store: ChdbStore, planted: Planted) -> dict[str, DriftResult]:
    results = drift_between_windows(
        store, REFERENCE, CURRENT, model="scorer", tenant=TENANT, save=False
    )
    return {r.feature: r for r in results}


def decile_psi_js(reference: Sample, current: Sample) -> tuple[float, float]:
    edges = np.unique(np.quantile(reference, np.arange(1, PSI_BINS) / PSI_BINS))
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    p, q = ref / ref.sum(), cur / cur.sum()
    js = float(distance.jensenshannon(p, q))
    p, q = np.where(p == 0, PSI_FLOOR, p), np.where(q == 0, PSI_FLOOR, q)
    return float(np.sum((q - p) * np.log(q / p))), js


def test_the_planted_shifts_are_found_and_steady_features_are_not(
    scorer: dict[str, DriftResult],
) -> None:
    assert set(scorer) == {"amount", "latency_ms", "tokens", "country", "channel", "rare"}
    assert scorer["amount"].drifted
    assert {"psi", "js", "ks_pvalue"} <= set(scorer["amount"].drifted_by)
    assert scorer["country"].drifted
    assert {"psi", "chi2_pvalue"} <= set(scorer["country"].drifted_by)
    for steady in ("latency_ms", "tokens", "channel"):
        assert not scorer[steady].drifted, scorer[steady]
        assert scorer[steady].status == "ok"
    assert {r.kind for r in scorer.values()} == {"numeric", "categorical"}
    assert scorer["country"].kind == "categorical"
    # Versions are pooled: the current window holds 1.1, the reference 1.0.
    assert {r.model_version for r in scorer.values()} == {""}


@pytest.mark.parametrize("feature", ["amount", "latency_ms", "tokens"])
def test_numeric_metrics_agree_with_scipy_on_the_raw_samples(
    scorer: dict[str, DriftResult], planted: Planted, feature: str
) -> None:
    reference, current = planted.scorer[feature]
    result = scorer[feature]
    assert (result.n_reference, result.n_current) == (len(reference), len(current))
    ks = stats.ks_2samp(reference, current, method="asymp")
    assert result.ks_statistic == pytest.approx(ks.statistic, abs=2e-3)
    assert result.ks_pvalue is not None
    assert np.log10(result.ks_pvalue) == pytest.approx(np.log10(ks.pvalue), rel=0.05, abs=0.05)
    wasserstein = stats.wasserstein_distance(reference, current)
    assert result.wasserstein == pytest.approx(wasserstein, rel=0.01)
    expected_psi, expected_js = decile_psi_js(reference, current)
    assert result.psi == pytest.approx(expected_psi, rel=0.05, abs=2e-3)
    assert result.js == pytest.approx(expected_js, rel=0.05, abs=2e-3)
    assert (result.chi2, result.chi2_pvalue) == (None, None)


@pytest.mark.parametrize("feature", ["country", "channel"])
def test_categorical_metrics_are_scipys_on_the_counts(
    scorer: dict[str, DriftResult], planted: Planted, feature: str
) -> None:
    reference, current = planted.scorer[feature]
    categories = np.union1d(reference, current)
    ref = np.array([(reference == c).sum() for c in categories])
    cur = np.array([(current == c).sum() for c in categories])
    expected = stats.chi2_contingency(np.vstack([ref, cur]))
    result = scorer[feature]
    assert result.chi2 == pytest.approx(expected.statistic, rel=1e-9)
    assert result.chi2_pvalue == pytest.approx(expected.pvalue, rel=1e-6)
    p = np.where(ref == 0, PSI_FLOOR, ref / ref.sum())
    q = np.where(cur == 0, PSI_FLOOR, cur / cur.sum())
    assert result.psi == pytest.approx(np.sum((q - p) * np.log(q / p)), rel=1e-9)
    assert result.js == pytest.approx(distance.jensenshannon(ref / ref.sum(), cur / cur.sum()))
    assert (result.ks_statistic, result.wasserstein) == (None, None)


def test_too_few_observations_are_reported_but_never_drifted(
    scorer: dict[str, DriftResult],
) -> None:
    rare = scorer["rare"]
    assert (rare.status, rare.n_reference, rare.n_current, rare.drifted) == (
        "insufficient_data",
        100,
        5,
        False,
    )
    assert (rare.psi, rare.js, rare.ks_statistic, rare.ks_pvalue, rare.wasserstein) == (None,) * 5


def test_thresholds_decide_the_verdict(store: ChdbStore, planted: Planted) -> None:
    lenient = Thresholds(psi=50, js=0.8, ks_pvalue=1e-300, chi2_pvalue=1e-300)
    results = drift_between_windows(
        store, REFERENCE, CURRENT, model="scorer", tenant=TENANT, thresholds=lenient, save=False
    )
    assert not any(r.drifted for r in results)
    strict = Thresholds(psi=1e-6, js=1e-6, min_samples=5)
    results = drift_between_windows(
        store, REFERENCE, CURRENT, model="scorer", tenant=TENANT, thresholds=strict, save=False
    )
    assert all(r.drifted and r.status == "ok" for r in results)
    with pytest.raises(ValueError, match="between 0 and 1"):
        Thresholds(ks_pvalue=1.5)
    with pytest.raises(ValueError, match="min_samples"):
        Thresholds(min_samples=1)


def test_versions_of_one_model_are_compared(store: ChdbStore, planted: Planted) -> None:
    results = {
        r.feature: r
        for r in drift_between_versions(store, "ranker", "v1", "v2", tenant=TENANT, save=False)
    }
    assert set(results) == {"score", "length"}
    for result in results.values():
        assert (result.model, result.reference_version, result.model_version) == (
            "ranker",
            "v1",
            "v2",
        )
        assert (result.n_reference, result.n_current) == (2500, 2500)
    assert results["score"].drifted and not results["length"].drifted
    reference, current = planted.ranker["score"]
    ks = stats.ks_2samp(reference, current)
    assert results["score"].ks_statistic == pytest.approx(ks.statistic, abs=2e-3)
    with pytest.raises(ValueError, match="same"):
        drift_between_versions(store, "ranker", "v1", "v1")


def test_versions_can_be_compared_window_by_window_too(store: ChdbStore, planted: Planted) -> None:
    results = drift_between_windows(
        store, REFERENCE, CURRENT, model="scorer", tenant=TENANT, by_version=True, save=False
    )
    # 1.0 only has reference observations and 1.1 only current ones: nothing to compare.
    assert {(r.model_version, r.status) for r in results} == {
        ("1.0", "insufficient_data"),
        ("1.1", "insufficient_data"),
    }


def test_results_are_stored_in_drift_results(store: ChdbStore, planted: Planted) -> None:
    results = drift_between_windows(store, REFERENCE, CURRENT, model="scorer", tenant=TENANT)
    rows = query_rows(
        store,
        "SELECT Feature, toString(Kind) AS Kind, NReference, NCurrent, Psi, KsPValue, Chi2,"
        " Status, Drifted, DriftedBy, PsiThreshold, Source, CurrentEnd"
        " FROM drift_results FINAL WHERE TenantId = {t:String} AND ModelName = 'scorer'"
        " AND Source = 'manual' ORDER BY Feature",
        {"t": TENANT},
    )
    by_feature = {r.feature: r for r in results}
    assert [row["Feature"] for row in rows] == sorted(by_feature)
    for row in rows:
        result = by_feature[row["Feature"]]
        assert row["Kind"] == result.kind
        assert (row["NReference"], row["NCurrent"]) == (result.n_reference, result.n_current)
        assert row["Psi"] == result.psi and row["Chi2"] == result.chi2
        assert row["KsPValue"] == result.ks_pvalue
        assert (row["Status"], bool(row["Drifted"])) == (result.status, result.drifted)
        assert row["DriftedBy"] == list(result.drifted_by)
        assert row["PsiThreshold"] == 0.2
        assert row["CurrentEnd"] == CURRENT[1]
    # The same comparison again replaces its rows.
    drift_between_windows(store, REFERENCE, CURRENT, model="scorer", tenant=TENANT)
    again = query_rows(
        store,
        "SELECT count() AS n FROM drift_results FINAL WHERE TenantId = {t:String}"
        " AND ModelName = 'scorer' AND Source = 'manual'",
        {"t": TENANT},
    )
    assert again[0]["n"] == len(rows)


def test_json_rows_have_the_cli_fields(scorer: dict[str, DriftResult]) -> None:
    rows = json.loads(json.dumps(drift_results_as_dicts(list(scorer.values()))))
    amount = next(row for row in rows if row["feature"] == "amount")
    for key in ("model", "feature", "psi", "js", "ks_statistic", "ks_pvalue", "wasserstein"):
        assert key in amount
    assert (amount["model"], amount["n_reference"], amount["n_current"], amount["drifted"]) == (
        "scorer",
        3000,
        2000,
        True,
    )
    assert amount["current_end"] == CURRENT[1].isoformat()


def test_bad_windows_are_refused_with_a_clear_message(store: ChdbStore) -> None:
    with pytest.raises(ValueError, match="overlap"):
        drift_between_windows(store, REFERENCE, (NOW - timedelta(days=2), NOW))
    with pytest.raises(ValueError, match="start before it ends"):
        drift_between_windows(store, (NOW, NOW - timedelta(days=1)), CURRENT)
    with pytest.raises(ValueError, match=r"START\.\.END"):
        parse_window("2026-11-01")
    with pytest.raises(ValueError, match="ISO"):
        parse_window("yesterday..today")
    assert parse_window("2026-11-01..2026-11-08T12:00") == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 8, 12, tzinfo=UTC),
    )


def test_a_rolling_baseline_is_the_time_right_before(store: ChdbStore, planted: Planted) -> None:
    results = drift_against_baseline(
        store, CURRENT, baseline=timedelta(days=7), model="scorer", tenant=TENANT, save=False
    )
    amount = next(r for r in results if r.feature == "amount")
    assert amount.reference == (CURRENT[0] - timedelta(days=7), CURRENT[0])
    assert amount.drifted and amount.n_reference == 3000


def test_the_job_does_each_hour_once(store: ChdbStore) -> None:
    rng = np.random.default_rng(1)
    hour = (NOW - timedelta(days=2)).replace(minute=0, second=0)
    last = (hour - timedelta(hours=1), hour)
    # Inside both hours' 7-day baselines.
    earlier = (last[0] - timedelta(days=6), last[0])
    for values, window in ((rng.normal(0, 1, 400), earlier), (rng.normal(3, 1, 200), last)):
        store.insert_arrow(
            "model_observations", observations("job-t", "jobber", "1", "x", values, window, rng)
        )

    def job_rows() -> list[dict[str, Any]]:
        return query_rows(
            store,
            "SELECT CurrentStart, CurrentEnd, ReferenceStart, NReference, NCurrent, Status,"
            " Drifted FROM drift_results FINAL WHERE TenantId = 'job-t' AND Source = 'job'"
            " ORDER BY CurrentStart",
        )

    first = run_drift_job(store, now=hour + timedelta(minutes=5))
    assert (first.window_start, first.window_end) == last
    assert first.rows >= 1
    assert job_rows() == [
        {
            "CurrentStart": last[0],
            "CurrentEnd": last[1],
            "ReferenceStart": last[0] - timedelta(days=7),
            "NReference": 400,
            "NCurrent": 200,
            "Status": "ok",
            "Drifted": True,
        }
    ]
    total = query_rows(store, "SELECT count() AS n FROM drift_results WHERE Source = 'job'")

    again = run_drift_job(store, now=hour + timedelta(minutes=50))
    assert again.rows == 0
    assert query_rows(store, "SELECT count() AS n FROM drift_results WHERE Source = 'job'") == total

    later = run_drift_job(store, now=hour + timedelta(hours=1, minutes=5))
    assert (later.window_start, later.window_end) == (hour, hour + timedelta(hours=1))
    rows = job_rows()
    assert [row["CurrentStart"] for row in rows] == [last[0], hour]
    assert (rows[1]["NReference"], rows[1]["NCurrent"], rows[1]["Status"]) == (
        600,
        0,
        "insufficient_data",
    )

    # A run recorded in job_runs (how the scheduler records it) moves the watermark too.
    recorded_end = hour + timedelta(hours=5)
    store.command(
        "INSERT INTO job_runs (RunId, Job, WindowStart, WindowEnd, StartedAt, FinishedAt, Status,"
        " Rows, DurationMs, Error) VALUES (generateUUIDv4(), 'drift', {we:DateTime64(3, 'UTC')},"
        " {we:DateTime64(3, 'UTC')}, now64(3), now64(3), 'ok', 0, 1, '')",
        {"we": recorded_end.strftime("%Y-%m-%d %H:%M:%S")},
    )
    resumed = run_drift_job(store, now=recorded_end + timedelta(hours=1, minutes=1))
    assert (resumed.window_start, resumed.window_end) == (
        recorded_end,
        recorded_end + timedelta(hours=1),
    )


def test_the_evidently_report_names_every_feature(
    store: ChdbStore, planted: Planted, tmp_path: Path
) -> None:
    out = write_drift_report(
        store, "scorer", REFERENCE, CURRENT, tmp_path / "scorer.html", 500, tenant=TENANT
    )
    html = out.read_text()
    assert out == tmp_path / "scorer.html"
    for feature in ("amount", "latency_ms", "tokens", "country", "channel", "rare"):
        assert f'"column_name": "{feature}"' in html
    assert "Drift Summary" in html
    by_version = write_drift_report(
        store,
        "ranker",
        None,
        None,
        tmp_path / "ranker.html",
        300,
        reference_version="v1",
        current_version="v2",
    )
    assert '"column_name": "score"' in by_version.read_text()
    with pytest.raises(ValueError, match="no feature observed in both"):
        write_drift_report(store, "no-such-model", REFERENCE, CURRENT, tmp_path / "x.html")
    with pytest.raises(ValueError, match="both"):
        write_drift_report(store, "scorer", REFERENCE, None, tmp_path / "x.html")


# --- quality proxies -----------------------------------------------------------------------


BUCKET = (NOW - timedelta(hours=5)).replace(minute=0, second=0)


def _decisions() -> pa.Table:
    fail = '[{"policy_id":"limit","verdict":"pass"},{"policy_id":"fraud","verdict":"fail"}]'
    rows = [
        # (minutes after BUCKET, model, type, chosen, confidence, policy checks)
        (5, "gpt-q", "refund", "approve", 0.9, fail),
        (15, "gpt-q", "refund", "escalate", 0.7, '[{"policy_id":"limit","verdict":"FAILED"}]'),
        (25, "gpt-q", "refund", "deny", None, '[{"policy_id":"limit","verdict":"pass"}]'),
        (35, "gpt-q", "escalation", "tier-2", 0.5, "[]"),
        (65, "gpt-q", "refund", "escalate", 0.2, "[]"),
        (75, "gpt-q", "refund", "approve", 0.4, "[]"),
        (20, "other-q", "refund", "approve", 0.1, "[]"),
    ]
    minutes, models, types, chosen, confidence, checks = zip(*rows, strict=True)
    return pa.table(
        {
            "Timestamp": pa.array(
                [BUCKET + timedelta(minutes=m) for m in minutes], pa.timestamp("ns", tz="UTC")
            ),
            "TenantId": ["qp-t"] * len(rows),
            "DecisionId": [uuid.uuid4().hex for _ in rows],
            "ModelName": models,
            "DecisionType": types,
            "Chosen": chosen,
            "Confidence": pa.array(confidence, pa.float64()),
            "PolicyChecks": checks,
        }
    )


def _spans() -> pa.Table:
    columns: dict[str, list[object]] = {name: [] for name in SPAN_SCHEMA.names}
    for minutes, model, output_tokens in ((10, "gpt-q", 100), (20, "gpt-q", 200),
                                          (30, "gpt-q", 300), (70, "claude-q", 50)):  # fmt: skip
        values = {
            "Timestamp": int((BUCKET + timedelta(minutes=minutes)).timestamp() * 1e9),
            "TraceId": uuid.uuid4().hex,
            "SpanId": uuid.uuid4().hex[:16],
            "SpanName": f"chat {model}",
            "SpanKind": "Client",
            "ServiceName": "quality",
            "SpanAttributes": [
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.request.model", model),
                ("gen_ai.usage.input_tokens", "10"),
                ("gen_ai.usage.output_tokens", str(output_tokens)),
            ],
            "ResourceAttributes": [],
            "Duration": 1000,
            "StatusCode": "Unset",
            "TenantId": "qp-t",
        }
        for spec in SPAN_SCHEMA:
            nested = pa.types.is_list(spec.type) or pa.types.is_map(spec.type)
            columns[spec.name].append(values.get(spec.name, [] if nested else ""))
    return pa.table(columns, schema=SPAN_SCHEMA)


@pytest.fixture(scope="module")
def quality(store: ChdbStore) -> ChdbStore:
    store.insert_arrow("decisions", _decisions())
    store.insert_arrow("otel_traces", _spans())
    return store


def test_quality_proxies_per_bucket_and_model(quality: ChdbStore) -> None:
    rows = quality_proxies(quality, BUCKET - timedelta(hours=1), timedelta(hours=1), tenant="qp-t")
    next_bucket = BUCKET + timedelta(hours=1)
    assert [(row["bucket"], row["model"]) for row in rows] == [
        (BUCKET, "gpt-q"),
        (BUCKET, "other-q"),
        (next_bucket, "claude-q"),
        (next_bucket, "gpt-q"),
    ]
    first, other, claude, later = rows
    assert first["decisions"] == 4
    assert first["mean_confidence"] == pytest.approx(0.7)  # the decision without one is skipped
    assert first["policy_failure_rate"] == pytest.approx(2 / 3)  # of the 3 checked decisions
    assert first["escalation_rate"] == pytest.approx(0.5)  # chosen escalate, type escalation
    assert (first["model_calls"], first["mean_output_tokens"]) == (3, pytest.approx(200))
    assert (other["decisions"], other["model_calls"], other["mean_output_tokens"]) == (1, 0, None)
    assert claude == {
        "bucket": next_bucket,
        "model": "claude-q",
        "decisions": 0,
        "mean_confidence": None,
        "policy_failure_rate": None,
        "escalation_rate": None,
        "model_calls": 1,
        "mean_output_tokens": 50.0,
    }
    assert later["mean_confidence"] == pytest.approx(0.3)
    assert later["policy_failure_rate"] is None  # no decision was checked
    assert later["escalation_rate"] == pytest.approx(0.5)

    only = quality_proxies(
        quality, BUCKET - timedelta(hours=1), timedelta(minutes=30), "gpt-q", tenant="qp-t"
    )
    assert {row["model"] for row in only} == {"gpt-q"}
    assert sum(row["decisions"] for row in only) == 6
    assert sum(row["model_calls"] for row in only) == 3
    with pytest.raises(ValueError, match="bucket"):
        quality_proxies(quality, BUCKET, timedelta(0))


# --- through the ClickHouse-compatible endpoint, as the CLI runs it ---------------------------


@pytest.fixture(scope="module")
def remote(server: Server) -> Iterator[HttpStore]:
    store = HttpStore(f"http://admin:{server.admin_password}@127.0.0.1:{server.sql_port}")
    yield store
    store.close()


def test_drift_and_report_run_over_clickhouse_connect(remote: HttpStore, tmp_path: Path) -> None:
    planted = _insert_planted(remote)
    results = {
        r.feature: r
        for r in drift_between_windows(remote, REFERENCE, CURRENT, model="scorer", tenant=TENANT)
    }
    assert results["amount"].drifted and not results["latency_ms"].drifted
    reference, current = planted.scorer["amount"]
    ks = stats.ks_2samp(reference, current)
    assert results["amount"].ks_statistic == pytest.approx(ks.statistic, abs=2e-3)
    stored = query_rows(remote, "SELECT count() AS n FROM drift_results FINAL")
    assert stored[0]["n"] == len(results)
    out = write_drift_report(
        remote, "scorer", REFERENCE, CURRENT, tmp_path / "remote.html", 200, tenant=TENANT
    )
    assert '"column_name": "latency_ms"' in out.read_text()
    assert quality_proxies(remote, NOW - timedelta(days=1), tenant="nobody") == []


def test_the_cli_prints_json_rows_and_writes_the_report(
    server: Server, remote: HttpStore, tmp_path: Path
) -> None:
    if not query_rows(remote, "SELECT count() AS n FROM model_observations")[0]["n"]:
        _insert_planted(remote)
    windows = [f"{start.isoformat()}..{end.isoformat()}" for start, end in (REFERENCE, CURRENT)]
    args = ["drift", "--reference", windows[0], "--current", windows[1], "--model", "scorer"]
    shown = server.cli(*args, "--tenant", TENANT, "--no-save", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    rows = {row["feature"]: row for row in json.loads(shown.stdout)}
    assert rows["amount"]["drifted"] is True and rows["latency_ms"]["drifted"] is False
    assert {"psi", "js", "ks_statistic", "ks_pvalue", "wasserstein", "n_reference"} <= set(
        rows["amount"]
    )
    out = tmp_path / "cli.html"
    report = server.cli("drift", "report", "--model", "scorer", "--out", str(out),
                        "--reference", windows[0], "--current", windows[1],
                        "--sample-rows", "200", "--tenant", TENANT)  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert "latency_ms" in out.read_text()
    bad = server.cli("drift", "--current", windows[1], "--baseline", "a week")
    assert bad.returncode == 2 and "not a duration" in bad.stderr
    ran = server.cli("jobs", "run", "drift")
    assert ran.returncode == 0 and "drift:" in ran.stdout, ran.stderr
