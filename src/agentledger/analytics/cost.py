"""Token cost, priced from the versioned catalog when it is computed, never at ingest.

Every span with token usage is priced as a request of its own, in ClickHouse: its model
(response model, else request model) is matched against the catalog as it stood at ``as_of`` for
the span's UTC day, tenant and provider (see :mod:`agentledger.analytics.prices` for which row
wins), and a request above the row's ``TierAboveInputTokens`` is priced at the tier. Token
accounting follows the OTel GenAI conventions: input tokens include cache reads and cache writes,
output tokens include reasoning tokens, so

    cost = (input - cache_read - cache_write) * input_price + cache_read * cached_price
         + cache_write * cache_write_price
         + (output - reasoning) * output_price + reasoning * reasoning_price

with each part clamped so nothing is counted twice or negative. Usage no row matches (or with no
model name) is reported as unpriced tokens, never as $0 spend.

The cost job rolls priced spans up per tenant, UTC day, service, agent, agent version, model and
provider, so totals over long ranges are fast; a restatement (``as_of``), per-trace and
per-decision cost are priced from the spans themselves, so they cover the span retention.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal, get_args

from agentledger.analytics.job_result import JobResult
from agentledger.analytics.prices import CATALOG_SQL, ms_text, price_version
from agentledger.storage.store import Store, query_rows

__all__ = [
    "GROUPINGS",
    "USAGE_KEYS",
    "Grouping",
    "cost_totals",
    "ns_text",
    "priced_usage_sql",
    "run_cost_job",
    "span_window_params",
]

Grouping = Literal[
    "model",
    "agent",
    "agent_version",
    "tenant",
    "day",
    "service",
    "provider",
    "decision",
    "trace",
    "span",
]
GROUPINGS: Final[tuple[Grouping, ...]] = get_args(Grouping)

# The columns of each grouping (rollups and priced usage share them) and their output names.
_KEYS: Final[dict[Grouping, tuple[str, ...]]] = {
    "model": ("ModelName",),
    "agent": ("AgentName",),
    "agent_version": ("AgentName", "AgentVersion"),
    "tenant": ("TenantId",),
    "day": ("Day",),
    "service": ("ServiceName",),
    "provider": ("Provider",),
    "trace": ("TraceId",),
    "span": ("TraceId", "SpanId"),
    "decision": ("DecisionId",),
}
_OUTPUT_NAMES: Final = {
    "ModelName": "model",
    "AgentName": "agent",
    "AgentVersion": "agent_version",
    "TenantId": "tenant",
    "Day": "day",
    "ServiceName": "service",
    "Provider": "provider",
    "TraceId": "trace",
    "SpanId": "span",
    "DecisionId": "decision",
}
_FROM_SPANS_ONLY: Final = ("trace", "span", "decision")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# Deprecated gen_ai.system values and other conventions' provider names -> OTel GenAI names.
_PROVIDER_ALIASES: Final = {
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "google": "gcp.gen_ai",
    "az.ai.inference": "azure.ai.inference",
    "az.ai.openai": "azure.ai.openai",
    "mistralai": "mistral_ai",
    "bedrock": "aws.bedrock",
    "xai": "x_ai",
}


def _normalized_provider(column: str) -> str:
    """SQL mapping a provider name in ``column`` to its OTel GenAI name."""
    return (
        f"transform(toString({column}), "
        f"[{', '.join(repr(k) for k in _PROVIDER_ALIASES)}], "
        f"[{', '.join(repr(v) for v in _PROVIDER_ALIASES.values())}], toString({column}))"
    )


_MODEL = "if(ResponseModel != '', ResponseModel, RequestModel)"

# What spans can be grouped by: name -> expression over otel_traces.
USAGE_KEYS: Final[dict[str, str]] = {
    "TenantId": "TenantId",
    "Day": "toDate(Timestamp, 'UTC')",
    "Hour": "toStartOfHour(Timestamp, 'UTC')",
    "ServiceName": "ServiceName",
    "AgentName": "AgentName",
    "AgentVersion": "AgentVersion",
    "ModelName": _MODEL,
    "Provider": _normalized_provider("GenAiProvider"),
    "TraceId": "TraceId",
    "SpanId": "SpanId",
    "DecisionId": "DecisionId",
}

_SPAN_PROVIDER: Final = _normalized_provider("k.PProvider")

# Tier thresholds of the catalog, ascending: a span's band is how many it exceeds.
_THRESHOLDS = f"""(SELECT arraySort(groupUniqArray(version.6))
    FROM ({CATALOG_SQL}) WHERE version.6 > 0) AS thresholds"""


def priced_usage_sql(keys: Sequence[str], where: str = "") -> str:
    """SQL for the token usage of spans in ``[{start}, {end})`` (DateTime64(9) parameters),
    priced with the catalog as of ``{as_of}`` (DateTime64(3)), one row per value of ``keys``
    (names of :data:`USAGE_KEYS`): the keys, ``Spans``, the token sums, ``CostUsd``,
    ``UnpricedTokens``, ``UnpricedSpans`` and ``PricePattern``. ``where`` adds a condition on
    ``otel_traces``.

    Spans are summed per group, price key (tenant, UTC day, model, provider) and tier band
    before pricing: cost is linear in the tokens once the price row and tier are known, so the
    engine prices a few thousand sums instead of every span.
    """
    unknown = [key for key in keys if key not in USAGE_KEYS]
    if unknown or not keys:
        raise ValueError(f"cannot group usage by {unknown or keys}; known: {list(USAGE_KEYS)}")
    names = ", ".join(keys)
    selected = ", ".join(f"{USAGE_KEYS[key]} AS {key}" for key in keys)
    outer = ", ".join(f"u.{key} AS {key}" for key in keys)
    spans = f"""otel_traces
    WHERE Timestamp >= {{start:DateTime64(9)}} AND Timestamp < {{end:DateTime64(9)}}
      AND (InputTokens > 0 OR OutputTokens > 0) {where}"""
    return f"""
WITH {_THRESHOLDS},
usage AS (
    SELECT {selected}, TenantId AS PTenant, toDate(Timestamp, 'UTC') AS PDay,
           {_MODEL} AS PModel, GenAiProvider AS PProvider,
           arrayCount(t -> InputTokens > t, thresholds) AS Band,
           count() AS USpans,
           sum(InputTokens) AS UInput,
           sum(least(CachedInputTokens, InputTokens)) AS UCached,
           sum(least(CacheWriteInputTokens, InputTokens - least(CachedInputTokens, InputTokens)))
               AS UWrite,
           sum(OutputTokens) AS UOutput,
           sum(least(ReasoningTokens, OutputTokens)) AS UReasoning
    FROM {spans}
    GROUP BY {names}, PTenant, PDay, PModel, PProvider, Band
),
prices AS (
    SELECT k.PTenant AS PTenant, k.PDay AS PDay, k.PModel AS PModel, k.PProvider AS PProvider,
           argMax(tuple(c.ModelPattern, c.version),
                  (c.TenantId != '', c.Source = 'user', length(c.ModelPattern), c.ValidFrom,
                   c.VersionAt)) AS best,
           best.1 AS PricePattern,
           indexOf(thresholds, best.2.6) AS TierBand,
           (best.2.1, best.2.2, best.2.3, best.2.4, best.2.5) AS base,
           (best.2.7, best.2.8, best.2.9, best.2.10, best.2.11) AS tier
    FROM (
        SELECT DISTINCT TenantId AS PTenant, toDate(Timestamp, 'UTC') AS PDay,
               {_MODEL} AS PModel, GenAiProvider AS PProvider
        FROM {spans}
    ) AS k
    CROSS JOIN ({CATALOG_SQL}) AS c
    WHERE k.PModel != '' AND match(k.PModel, c.ModelPattern) AND c.ValidFrom <= k.PDay
      AND (c.TenantId = '' OR c.TenantId = k.PTenant)
      AND (c.Provider = '' OR k.PProvider = '' OR c.Provider = {_SPAN_PROVIDER})
    GROUP BY PTenant, PDay, PModel, PProvider
)
SELECT {names},
       sum(USpans) AS Spans, sum(UInput) AS InputTokens, sum(UCached) AS CachedInputTokens,
       sum(UWrite) AS CacheWriteInputTokens, sum(UOutput) AS OutputTokens,
       sum(UReasoning) AS ReasoningTokens, sum(UCost) AS CostUsd,
       sum(if(Priced, 0, UInput + UOutput)) AS UnpricedTokens,
       sum(if(Priced, 0, USpans)) AS UnpricedSpans,
       any(PricePattern) AS PricePattern
FROM (
    SELECT {outer}, u.USpans AS USpans, u.UInput AS UInput, u.UCached AS UCached,
           u.UWrite AS UWrite, u.UOutput AS UOutput, u.UReasoning AS UReasoning,
           p.PricePattern AS PricePattern, p.PricePattern != '' AS Priced,
           if(p.TierBand > 0 AND u.Band >= p.TierBand, p.tier, p.base) AS rate,
           if(Priced,
              ((UInput - UCached - UWrite) * rate.1 + UCached * rate.3 + UWrite * rate.4
               + (UOutput - UReasoning) * rate.2 + UReasoning * rate.5) / 1e6,
              0) AS UCost
    FROM usage AS u
    LEFT JOIN prices AS p
        ON u.PTenant = p.PTenant AND u.PDay = p.PDay AND u.PModel = p.PModel
       AND u.PProvider = p.PProvider
)
GROUP BY {names}
"""


def span_window_params(
    start: datetime | None, end: datetime | None, as_of: datetime | None = None
) -> dict[str, object]:
    """Parameters for :func:`priced_usage_sql`: the span window (default: everything stored up
    to now) and the catalog moment (default: now)."""
    return {
        "start": ns_text(start or _EPOCH),
        "end": ns_text(end or _now()),
        "as_of": ms_text(as_of),
    }


_ROLLUP_KEYS: Final = (
    "Day",
    "TenantId",
    "ServiceName",
    "AgentName",
    "AgentVersion",
    "ModelName",
    "Provider",
)
_TOKENS: Final = (
    "InputTokens",
    "CachedInputTokens",
    "CacheWriteInputTokens",
    "OutputTokens",
    "ReasoningTokens",
)
_ROLLUP_COLUMNS: Final = (
    *_ROLLUP_KEYS,
    "Spans",
    *_TOKENS,
    "CostUsd",
    "UnpricedTokens",
    "UnpricedSpans",
    "PricePattern",
)

# Rows of one run share ComputedAt. A newer row replaces an older one of the same key (FINAL);
# older rows of the days a run wrote whose key the run did not write are deleted.
_ROLLUP = f"""
INSERT INTO cost_rollups ({", ".join(_ROLLUP_COLUMNS)}, PriceVersion, ComputedAt)
SELECT {", ".join(_ROLLUP_COLUMNS)}, {{version:String}}, {{computed_at:DateTime64(3)}}
FROM ({priced_usage_sql(_ROLLUP_KEYS)})
"""


_STALE = f"""
 WHERE Day IN {{days:Array(Date)}} AND ComputedAt < {{at:DateTime64(3)}}
   AND ({", ".join(_ROLLUP_KEYS)}) NOT IN (
       SELECT {", ".join(_ROLLUP_KEYS)} FROM cost_rollups WHERE ComputedAt = {{at:DateTime64(3)}})
"""


def run_cost_job(store: Store, since: datetime | None = None) -> JobResult:
    """Recompute the cost rollups of every UTC day from ``since`` up to now with today's catalog.

    Default ``since``: the day before the latest rolled-up day (late spans), or every stored
    span on the first run. Days whose spans have expired keep their rollups.
    """
    end = _now()
    start = _day_start(since or _resume_point(store) or _EPOCH)
    computed_at = ms_text(_now())
    params = span_window_params(start, end) | {
        "version": price_version(store),
        "computed_at": computed_at,
    }
    store.command(_ROLLUP, params)
    written = query_rows(
        store,
        "SELECT Day, count() AS n FROM cost_rollups"
        " WHERE ComputedAt = {at:DateTime64(3)} AND Day >= {start:Date} GROUP BY Day",
        {"at": computed_at, "start": start.date().isoformat()},
    )
    stale = {"days": [row["Day"].isoformat() for row in written], "at": computed_at}
    if (
        written
        and query_rows(store, f"SELECT count() AS n FROM cost_rollups{_STALE}", stale)[0]["n"]
    ):
        store.command(f"DELETE FROM cost_rollups{_STALE}", stale)
    return JobResult(start, end, sum(int(row["n"]) for row in written))


def cost_totals(
    store: Store,
    by: Grouping,
    since: datetime | None = None,
    as_of: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
    limit: int | None = None,
) -> list[dict[str, object]]:
    """Tokens, cost and unpriced usage per group, most expensive first.

    Without ``as_of``, model/agent/agent_version/tenant/day/service/provider totals come from the
    rollups (whole UTC days from ``since``'s day, priced by the last cost job run). With
    ``as_of``, and always for ``trace``, ``span`` and ``decision``, the spans in
    ``[since, until)`` are priced now with the catalog as it stood at ``as_of``: a restatement.
    A decision's cost is its trace's cost, shared equally by the decisions recorded in that
    trace; decision ``''`` collects the spans of traces without a decision.
    """
    if by not in _KEYS:
        raise ValueError(f"cannot group cost by {by!r}; choose one of: {', '.join(GROUPINGS)}")
    if limit is not None and limit <= 0:
        raise ValueError("limit must be a positive number of rows")
    if since and until and since >= until:
        raise ValueError("since must be before until")
    if as_of is None and by not in _FROM_SPANS_ONLY:
        return _rollup_totals(store, by, since, until, tenant, limit)
    return _span_totals(store, by, since, as_of, until, tenant, limit)


def _measures(spans: str, unpriced_spans: str) -> str:
    tokens = ", ".join(f"sum({column}) AS {_snake(column)}" for column in _TOKENS)
    return (
        f"{spans} AS spans, {tokens}, round(sum(CostUsd), 6) AS cost_usd,"
        f" sum(UnpricedTokens) AS unpriced_tokens, {unpriced_spans} AS unpriced_spans"
    )


def _snake(column: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in column).lstrip("_")


def _select_keys(by: Grouping) -> tuple[str, str]:
    """The SELECT list and the GROUP BY list of a grouping, under its output names."""
    names = [_OUTPUT_NAMES[column] for column in _KEYS[by]]
    select = ", ".join(
        f"{'toString(Day)' if column == 'Day' else column} AS {name}"
        for column, name in zip(_KEYS[by], names, strict=True)
    )
    return select, ", ".join(names)


def _rollup_totals(
    store: Store,
    by: Grouping,
    since: datetime | None,
    until: datetime | None,
    tenant: str | None,
    limit: int | None,
) -> list[dict[str, object]]:
    select, names = _select_keys(by)
    return query_rows(
        store,
        f"SELECT {select}, {_measures('sum(Spans)', 'sum(UnpricedSpans)')}"
        " FROM cost_rollups FINAL"
        " WHERE Day >= toDate({since:DateTime64(9)}, 'UTC')"
        " AND Day <= toDate({until:DateTime64(9)}, 'UTC')"
        " AND ({tenant:String} = '' OR TenantId = {tenant:String})"
        f" GROUP BY {names} ORDER BY cost_usd DESC, {names}{_limit(limit)}",
        {
            "since": ns_text(since or _EPOCH),
            "until": ns_text(until or _now()),
            "tenant": tenant or "",
        },
    )


_TENANT_FILTER: Final = "AND ({tenant:String} = '' OR TenantId = {tenant:String})"


def _span_totals(
    store: Store,
    by: Grouping,
    since: datetime | None,
    as_of: datetime | None,
    until: datetime | None,
    tenant: str | None,
    limit: int | None,
) -> list[dict[str, object]]:
    params = span_window_params(since, until, as_of) | {"tenant": tenant or ""}
    select, names = _select_keys(by)
    measures = _measures("sum(Spans)", "sum(UnpricedSpans)")
    if by == "decision":
        source = _decision_shares_sql()
    else:
        source = priced_usage_sql(_KEYS[by], _TENANT_FILTER)
    return query_rows(
        store,
        f"SELECT {select}, {measures} FROM ({source})"
        f" GROUP BY {names} ORDER BY cost_usd DESC, {names}{_limit(limit)}",
        params,
    )


def _decision_shares_sql() -> str:
    """Per-trace usage shared equally by the trace's decisions (found within a day of the
    window, since a decision may be recorded after its spans)."""
    measures = ("Spans", *_TOKENS, "CostUsd", "UnpricedTokens", "UnpricedSpans")
    shares = ", ".join(f"t.{m} / greatest(d.Decisions, 1) AS {m}" for m in measures)
    return f"""
SELECT d.DecisionId AS DecisionId, {shares}
FROM ({priced_usage_sql(["TenantId", "TraceId"], _TENANT_FILTER)}) AS t
LEFT JOIN (
    SELECT TenantId, TraceId, DecisionId,
           count() OVER (PARTITION BY TenantId, TraceId) AS Decisions
    FROM decisions
    WHERE TraceId != ''
      AND Timestamp >= {{start:DateTime64(9)}} - INTERVAL 1 DAY
      AND Timestamp < {{end:DateTime64(9)}} + INTERVAL 1 DAY
) AS d ON t.TenantId = d.TenantId AND t.TraceId = d.TraceId
"""


def _limit(limit: int | None) -> str:
    return f" LIMIT {int(limit)}" if limit else ""


def _resume_point(store: Store) -> datetime | None:
    rows = query_rows(store, "SELECT max(Day) AS last FROM cost_rollups HAVING count() > 0")
    if not rows:
        return None
    last: date = rows[0]["last"]
    return datetime(last.year, last.month, last.day, tzinfo=UTC) - timedelta(days=1)


def _now() -> datetime:
    return datetime.now(UTC)


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def ns_text(moment: datetime) -> str:
    """``moment`` as a DateTime64(9) parameter in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
