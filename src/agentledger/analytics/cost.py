"""Token cost: rolled up in ClickHouse by tenant, day, service, agent and model, priced from the
catalog at rollup time. Usage with no matching price is counted as unpriced, never as $0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from agentledger.analytics.job_result import JobResult
from agentledger.storage.store import Store, query_rows

__all__ = ["GROUPINGS", "cost_totals", "run_cost_job"]

GROUPINGS = {
    "model": "ModelName",
    "agent": "AgentName",
    "tenant": "TenantId",
    "day": "Day",
    "service": "ServiceName",
}
Grouping = Literal["model", "agent", "tenant", "day", "service"]

# Whole days are recomputed, because a rollup row replaces the previous one for its day.
_ROLLUP = """
INSERT INTO cost_rollups (Day, TenantId, ServiceName, AgentName, ModelName, Provider, Spans,
    InputTokens, OutputTokens, CachedInputTokens, CostUsd, UnpricedTokens, PricePattern, ComputedAt)
WITH usage AS (
    SELECT TenantId, toDate(Timestamp) AS Day, ServiceName, AgentName,
           if(ResponseModel != '', ResponseModel, RequestModel) AS ModelName,
           GenAiProvider AS Provider,
           count() AS Spans,
           sum(InputTokens) AS InTok,
           sum(OutputTokens) AS OutTok,
           sum(least(CachedInputTokens, InputTokens)) AS CachedTok
    FROM otel_traces
    WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
      AND (InputTokens > 0 OR OutputTokens > 0)
    GROUP BY TenantId, Day, ServiceName, AgentName, ModelName, Provider
),
matched AS (
    SELECT u.TenantId AS TenantId, u.Day AS Day, u.ServiceName AS ServiceName,
           u.AgentName AS AgentName, u.ModelName AS ModelName, u.Provider AS Provider,
           argMax(
               (p.ModelPattern, p.InputPerMTok, p.OutputPerMTok, p.CachedInputPerMTok),
               (p.TenantId != '', p.Source = 'user', p.ValidFrom, length(p.ModelPattern))
           ) AS price
    FROM usage AS u CROSS JOIN (SELECT * FROM model_prices FINAL) AS p
    WHERE match(u.ModelName, p.ModelPattern) AND p.ValidFrom <= u.Day
      AND (p.TenantId = '' OR p.TenantId = u.TenantId)
      AND (p.Provider = '' OR u.Provider = '' OR p.Provider = u.Provider)
    GROUP BY TenantId, Day, ServiceName, AgentName, ModelName, Provider
)
SELECT u.Day, u.TenantId, u.ServiceName, u.AgentName, u.ModelName, u.Provider, u.Spans,
       u.InTok, u.OutTok, u.CachedTok,
       if(m.price.1 = '', 0,
          ((u.InTok - u.CachedTok) * m.price.2 + u.CachedTok * m.price.4
           + u.OutTok * m.price.3) / 1e6),
       if(m.price.1 = '', u.InTok + u.OutTok, 0),
       m.price.1,
       now64(3)
FROM usage AS u
LEFT JOIN matched AS m
    ON u.TenantId = m.TenantId AND u.Day = m.Day AND u.ServiceName = m.ServiceName
   AND u.AgentName = m.AgentName AND u.ModelName = m.ModelName AND u.Provider = m.Provider
"""


def run_cost_job(store: Store, since: datetime | None = None) -> JobResult:
    """Recompute the cost rollups of every day from ``since`` (default: the day before the last
    run's window end, to catch late spans; everything on the first run) up to now."""
    end = datetime.now(UTC)
    start = _day_start(since or _resume_point(store) or datetime(1970, 1, 1, tzinfo=UTC))
    before = _rollup_count(store)
    store.command(_ROLLUP, {"start": _ns_text(start), "end": _ns_text(end)})
    return JobResult(start, end, max(_rollup_count(store) - before, 0))


def cost_totals(
    store: Store, by: Grouping, since: datetime | None = None
) -> list[dict[str, object]]:
    """Totals per group from the rollups: tokens, cost and unpriced tokens."""
    column = GROUPINGS[by]
    key = f"toString({column})" if by == "day" else column
    return query_rows(
        store,
        f"SELECT {key} AS {by}, sum(Spans) AS spans, sum(InputTokens) AS input_tokens,"
        " sum(OutputTokens) AS output_tokens, sum(CachedInputTokens) AS cached_input_tokens,"
        " round(sum(CostUsd), 6) AS cost_usd, sum(UnpricedTokens) AS unpriced_tokens"
        " FROM cost_rollups FINAL WHERE Day >= toDate({since:DateTime64(3)})"
        f" GROUP BY {by} ORDER BY cost_usd DESC, {by}",
        {"since": _ns_text(since or datetime(1970, 1, 1, tzinfo=UTC))},
    )


def _resume_point(store: Store) -> datetime | None:
    rows = query_rows(
        store,
        "SELECT max(WindowEnd) AS last FROM job_runs WHERE Job = 'cost' AND Status = 'ok'"
        " HAVING count() > 0",
    )
    if not rows:
        return None
    last: datetime = rows[0]["last"]
    return (last if last.tzinfo else last.replace(tzinfo=UTC)) - timedelta(days=1)


def _rollup_count(store: Store) -> int:
    return int(query_rows(store, "SELECT count() AS n FROM cost_rollups")[0]["n"])


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _ns_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
