"""Business outcomes per agent, agent version, model and decision type, what they cost, and
whether one agent version moved a KPI.

A KPI event is attributed through its decision and trace by the rules of
:mod:`~agentledger.analytics.kpi_rollup`, whose ``kpi_attribution`` job stores the attribution:
events before its watermark are read from there, later ones attributed at query time the same
way. ClickHouse does the joins and sums; Python runs the significance test on the per-version
summaries (and, for continuous KPIs, on a capped sample of the values).

Tests: a KPI whose values are all 0 or 1 is a rate; the two versions' rates are compared with a
chi-square test on the 2x2 table (no continuity correction, so it equals the two-proportion
z-test), or Fisher's exact test when an expected count is below 5; the effect size is Cohen's h
and the interval is the normal-approximation (Wald) interval of the difference in rates. Any
other KPI is continuous: Mann-Whitney U on the values (rank-based, no normality assumed), effect
size the rank-biserial correlation (+1: every B value above every A value), and the interval the
normal-approximation (Welch) interval of the difference in means, from exact means and variances.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Final, Literal, get_args

from scipy import stats

from agentledger.analytics.cost import ns_text
from agentledger.analytics.kpi_rollup import (
    ATTRIBUTED_COLUMNS,
    attributed_sql,
    attribution_watermark,
    window_events,
    window_params,
)
from agentledger.storage.store import Store, query_rows

__all__ = [
    "KPI_GROUPINGS",
    "KpiGrouping",
    "TwoSampleTest",
    "VersionComparison",
    "compare_rates",
    "compare_samples",
    "compare_versions",
    "cost_per_kpi",
    "group_columns",
    "kpi_outcomes",
]

KpiGrouping = Literal["agent", "agent_version", "model", "decision_type"]
KPI_GROUPINGS: Final[tuple[KpiGrouping, ...]] = get_args(KpiGrouping)
_KEYS: Final[dict[KpiGrouping, dict[str, str]]] = {
    "agent": {"agent": "Agent"},
    "agent_version": {"agent": "Agent", "agent_version": "AgentVersion"},
    "model": {"model": "Model"},
    "decision_type": {"decision_type": "DecisionType"},
}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

_STORED: Final = (
    "SELECT {columns} FROM kpi_attributions"
    " WHERE KpiName = {{kpi:String}}"
    " AND Timestamp >= {{since:DateTime64(9)}} AND Timestamp < {{mid:DateTime64(9)}}"
    " AND ({{tenant:String}} = '' OR TenantId = {{tenant:String}})"
    " AND ({{service:String}} = '' OR ServiceName = {{service:String}})"
    " AND ({{agent:String}} = '' OR Agent = {{agent:String}})"
)


def _attributed(
    store: Store,
    kpi: str,
    since: datetime | None,
    until: datetime | None,
    tenant: str | None,
    service: str | None,
    agent: str | None,
    *,
    fresh: bool,
    priced: bool = False,
    as_of: datetime | None = None,
) -> tuple[str, dict[str, object]]:
    """SQL (and its parameters) for every event of ``kpi`` in ``[since, until)`` with what it is
    attributed to (:data:`~agentledger.analytics.kpi_rollup.ATTRIBUTED_COLUMNS`): the events
    before the job's watermark from ``kpi_attributions``, with ``fresh`` the rest attributed now
    (everything, when the job has not run or ``as_of`` restates cost with another catalog)."""
    if not kpi:
        raise ValueError("name the KPI (its agentledger.kpi.name)")
    since, until = since or _EPOCH, until or datetime.now(UTC)
    if since >= until:
        raise ValueError("since must be before until")
    mark = None if as_of is not None else attribution_watermark(store)
    middle = min(max(mark or since, since), until)
    params = window_params(middle, until, as_of) | {
        "kpi": kpi,
        "tenant": tenant or "",
        "service": service or "",
        "agent": agent or "",
        "since": ns_text(since),
        "mid": ns_text(middle),
    }
    stored = _STORED.format(columns=", ".join(ATTRIBUTED_COLUMNS))
    parts = [stored] if middle > since else []
    if fresh and middle < until and window_events(store, params):
        parts.append(attributed_sql(priced))
    return " UNION ALL ".join(f"SELECT * FROM ({part})" for part in parts or [stored]), params


def group_columns(by: KpiGrouping) -> tuple[str, ...]:
    """The key columns of a :func:`kpi_outcomes` or :func:`cost_per_kpi` row grouped ``by``."""
    if by not in _KEYS:
        raise ValueError(f"cannot group KPIs by {by!r}; choose one of: {', '.join(KPI_GROUPINGS)}")
    return tuple(_KEYS[by])


def _grouping(by: KpiGrouping) -> tuple[str, str]:
    keys = {name: _KEYS[by][name] for name in group_columns(by)}
    return ", ".join(f"{column} AS {name}" for name, column in keys.items()), ", ".join(keys)


def kpi_outcomes(
    store: Store,
    kpi: str,
    by: KpiGrouping = "agent",
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
    *,
    service: str | None = None,
    agent: str | None = None,
    fresh: bool = True,
) -> list[dict[str, object]]:
    """Per group: ``events``, ``total``, ``mean``, ``stddev`` of the KPI's values, and whether
    they are all 0/1 (``binary``: the mean is then a rate). ``service`` keeps the events its
    service reported, ``agent`` those attributed to that agent. ``fresh=False`` reads only what
    the ``kpi_attribution`` job stored (fast; events after its last run are left out)."""
    select, names = _grouping(by)
    rows, params = _attributed(store, kpi, since, until, tenant, service, agent, fresh=fresh)
    return query_rows(
        store,
        f"SELECT {select}, count() AS events, sum(Value) AS total, avg(Value) AS mean,"
        " stddevSampStable(Value) AS stddev, countIf(Value NOT IN (0, 1)) = 0 AS binary"
        f" FROM ({rows}) GROUP BY {names} ORDER BY events DESC, {names}",
        params,
    )


def cost_per_kpi(
    store: Store,
    kpi: str,
    since: datetime | None = None,
    by: KpiGrouping = "agent",
    until: datetime | None = None,
    tenant: str | None = None,
    as_of: datetime | None = None,
    *,
    service: str | None = None,
    agent: str | None = None,
    fresh: bool = True,
) -> list[dict[str, object]]:
    """Per group: the KPI's value sum, the cost of the traces its events are attributed to
    (each trace counted once per group) and ``cost_per_unit`` = cost / value sum (None when the
    sum is 0), e.g. dollars per resolved ticket or per dollar of upsell. Traces are priced by
    the ``kpi_attribution`` job with the catalog of its run; ``as_of`` prices them all now with
    the catalog as it stood then (a restatement, slower). ``events_without_trace`` counts events
    whose trace is not stored (expired or never sent): their cost is missing from ``cost_usd``.
    ``service``, ``agent`` and ``fresh`` as for :func:`kpi_outcomes`."""
    select, names = _grouping(by)
    rows, params = _attributed(
        store, kpi, since, until, tenant, service, agent, fresh=fresh, priced=True, as_of=as_of
    )
    return query_rows(
        store,
        f"""
SELECT {names}, sum(Total) AS kpi_value, sum(Events) AS events,
       countIf(Traced) AS traces, round(sum(CostUsd), 6) AS cost_usd,
       sum(UnpricedTokens) AS unpriced_tokens,
       sumIf(Events, NOT Traced) AS events_without_trace,
       if(kpi_value = 0, NULL, cost_usd / kpi_value) AS cost_per_unit
FROM (
    SELECT {select}, TraceId, any(Traced) AS Traced, sum(Value) AS Total, count() AS Events,
           any(TraceCostUsd) AS CostUsd, any(TraceUnpricedTokens) AS UnpricedTokens
    FROM ({rows})
    GROUP BY {names}, TraceId
)
GROUP BY {names}
ORDER BY kpi_value DESC, {names}
""",
        params,
    )


@dataclass(frozen=True)
class TwoSampleTest:
    """A two-sample comparison of B against A (``difference`` = B - A)."""

    test: str
    statistic: float
    p_value: float
    difference: float
    ci_low: float
    ci_high: float
    effect_size: float
    effect_size_name: str


def compare_rates(
    n_a: int, successes_a: int, n_b: int, successes_b: int, confidence: float = 0.95
) -> TwoSampleTest:
    """Rates of two groups: chi-square (Fisher's exact test when an expected count is < 5),
    Cohen's h, and the Wald interval of the difference in rates."""
    if min(n_a, n_b) < 1 or not (0 <= successes_a <= n_a and 0 <= successes_b <= n_b):
        raise ValueError("each group needs at least one event and 0 <= successes <= events")
    rate_a, rate_b = successes_a / n_a, successes_b / n_b
    table = [[successes_a, n_a - successes_a], [successes_b, n_b - successes_b]]
    successes, total = successes_a + successes_b, n_a + n_b
    if successes in (0, total):  # no variation at all: nothing to test
        test, statistic, p_value = "chi-square", 0.0, 1.0
    elif min(n_a, n_b) * min(successes, total - successes) / total < 5:
        test = "fisher-exact"
        statistic, p_value = (float(v) for v in stats.fisher_exact(table))
    else:
        test = "chi-square"
        chi2 = stats.chi2_contingency(table, correction=False)
        statistic, p_value = float(chi2.statistic), float(chi2.pvalue)
    se = math.sqrt(rate_a * (1 - rate_a) / n_a + rate_b * (1 - rate_b) / n_b)
    low, high = _interval(rate_b - rate_a, se, confidence)
    h = 2 * math.asin(math.sqrt(rate_b)) - 2 * math.asin(math.sqrt(rate_a))
    return TwoSampleTest(test, statistic, p_value, rate_b - rate_a, low, high, h, "cohens_h")


def compare_samples(
    a: Sequence[float],
    b: Sequence[float],
    moments_a: tuple[int, float, float] | None = None,
    moments_b: tuple[int, float, float] | None = None,
    confidence: float = 0.95,
) -> TwoSampleTest:
    """Values of two groups: Mann-Whitney U (two-sided) on the samples, the rank-biserial
    correlation, and the Welch interval of the difference in means. ``moments_*`` (count, mean,
    sample variance) give exact means and variances when the samples are capped."""
    if min(len(a), len(b)) < 2:
        raise ValueError("each group needs at least two values to compare")
    n_a, mean_a, var_a = moments_a or _moments(a)
    n_b, mean_b, var_b = moments_b or _moments(b)
    u = stats.mannwhitneyu(b, a, alternative="two-sided")
    rank_biserial = 2 * float(u.statistic) / (len(a) * len(b)) - 1
    se = math.sqrt(var_a / n_a + var_b / n_b)
    low, high = _interval(mean_b - mean_a, se, confidence)
    return TwoSampleTest(
        "mann-whitney-u",
        float(u.statistic),
        float(u.pvalue),
        mean_b - mean_a,
        low,
        high,
        rank_biserial,
        "rank_biserial",
    )


def _moments(values: Sequence[float]) -> tuple[int, float, float]:
    n = len(values)
    mean = math.fsum(values) / n
    return n, mean, math.fsum((v - mean) ** 2 for v in values) / (n - 1)


def _interval(estimate: float, se: float, confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1, e.g. 0.95")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return estimate - z * se, estimate + z * se


@dataclass(frozen=True)
class VersionComparison:
    """Did ``version_b`` of ``agent`` move ``kpi`` compared with ``version_a``?"""

    kpi: str
    agent: str
    version_a: str
    version_b: str
    kind: Literal["rate", "continuous"]
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    result: TwoSampleTest
    alpha: float
    confidence: float
    sampled: bool

    @property
    def significant(self) -> bool:
        return self.result.p_value < self.alpha

    def summary(self) -> str:
        """One sentence for a dashboard, e.g. "v2 raised resolved rate by 4.0 points vs v1
        (62.0% -> 66.0%), p=0.01, 95% CI 1.1 to 6.9 points"."""
        r, rate = self.result, self.kind == "rate"
        p = _p_text(r.p_value)
        if rate:
            before, after = f"{self.mean_a:.1%}", f"{self.mean_b:.1%}"
            change = f"{abs(r.difference) * 100:.1f} points"
            ci = f"{r.ci_low * 100:.1f} to {r.ci_high * 100:.1f} points"
            what = f"{self.kpi} rate"
        else:
            before, after = f"{self.mean_a:.4g}", f"{self.mean_b:.4g}"
            change = f"{abs(r.difference):.4g} on average"
            ci = f"{r.ci_low:.4g} to {r.ci_high:.4g}"
            what = self.kpi
        if not self.significant:
            return (
                f"No significant difference in {what} between {self.version_a} and "
                f"{self.version_b} of {self.agent} ({before} vs {after}, {p}, {r.test})"
            )
        verb = "raised" if r.difference > 0 else "lowered"
        return (
            f"{self.version_b} {verb} {what} by {change} vs {self.version_a} of {self.agent} "
            f"({before} -> {after}), {p}, {self.confidence:.0%} CI {ci} ({r.test})"
        )

    def as_dict(self) -> dict[str, object]:
        """Every field, the test's fields flattened, plus ``significant`` and ``summary``."""
        fields = {k: v for k, v in asdict(self).items() if k != "result"}
        return (
            fields
            | asdict(self.result)
            | {
                "significant": self.significant,
                "summary": self.summary(),
            }
        )


def _p_text(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.2g}"


def compare_versions(
    store: Store,
    kpi: str,
    agent: str,
    version_a: str,
    version_b: str,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
    alpha: float = 0.05,
    confidence: float = 0.95,
    max_samples: int = 50_000,
    *,
    service: str | None = None,
    fresh: bool = True,
) -> VersionComparison:
    """Compare ``kpi`` between two versions of ``agent`` over events in ``[since, until)``: a
    rate test for 0/1 KPIs, Mann-Whitney U otherwise (on at most ``max_samples`` values per
    version, a deterministic hash sample; means and variances stay exact). ``service`` and
    ``fresh`` as for :func:`kpi_outcomes`."""
    if version_a == version_b:
        raise ValueError("pick two different versions to compare")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1, e.g. 0.05")
    if max_samples < 2:
        raise ValueError("max_samples must be at least 2")
    rows, params = _attributed(store, kpi, since, until, tenant, service, agent, fresh=fresh)
    params |= {"versions": [version_a, version_b], "cap": max_samples}
    chosen = " WHERE AgentVersion IN {versions:Array(String)}"
    summary = {
        row["version"]: row
        for row in query_rows(
            store,
            "SELECT AgentVersion AS version, count() AS n, sum(Value) AS total,"
            " avg(Value) AS mean, varSampStable(Value) AS variance,"
            " countIf(Value NOT IN (0, 1)) AS non_binary"
            f" FROM ({rows}){chosen} GROUP BY version",
            params,
        )
    }
    for version in (version_a, version_b):
        if version not in summary:
            raise ValueError(f"no {kpi!r} events attributed to version {version!r} of {agent!r}")
    a, b = summary[version_a], summary[version_b]
    n_a, n_b = int(a["n"]), int(b["n"])
    if a["non_binary"] == 0 and b["non_binary"] == 0:
        result = compare_rates(n_a, int(a["total"]), n_b, int(b["total"]), confidence)
        kind: Literal["rate", "continuous"] = "rate"
    else:
        samples: dict[str, list[float]] = {version_a: [], version_b: []}
        for row in query_rows(
            store,
            f"SELECT AgentVersion AS version, Value FROM ({rows}){chosen}"
            " ORDER BY cityHash64(DecisionId, TraceId, Value) LIMIT {cap:UInt64} BY version",
            params,
        ):
            samples[row["version"]].append(float(row["Value"]))
        result = compare_samples(
            samples[version_a],
            samples[version_b],
            (n_a, float(a["mean"]), float(a["variance"] or 0.0)),
            (n_b, float(b["mean"]), float(b["variance"] or 0.0)),
            confidence,
        )
        kind = "continuous"
    return VersionComparison(
        kpi=kpi,
        agent=agent,
        version_a=version_a,
        version_b=version_b,
        kind=kind,
        n_a=n_a,
        n_b=n_b,
        mean_a=float(a["mean"]),
        mean_b=float(b["mean"]),
        result=result,
        alpha=alpha,
        confidence=confidence,
        sampled=max(n_a, n_b) > max_samples,
    )
