"""The price catalog's pure parts: resolved rows, tier defaults, validation, shipped defaults."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from agentledger.analytics.prices import Price, Tier, default_prices

AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_unset_prices_follow_the_genai_token_accounting() -> None:
    row = Price("^m$", 2.0, 8.0).row("user", AT)
    # cache reads and writes are input tokens, reasoning tokens are output tokens
    assert (row["CachedInputPerMTok"], row["CacheWritePerMTok"]) == (2.0, 2.0)
    assert row["ReasoningPerMTok"] == 8.0
    assert (row["TierAboveInputTokens"], row["CheckedAt"], row["UpdatedAt"]) == (0, AT.date(), AT)


def test_a_tier_scales_unset_cache_and_reasoning_prices_like_its_own() -> None:
    price = Price("^m$", 3.0, 15.0, 0.3, 3.75, tier=Tier(200_000, 6.0, 22.5))
    row = price.row("default", AT)
    assert row["TierAboveInputTokens"] == 200_000
    assert row["TierCachedInputPerMTok"] == pytest.approx(0.6)
    assert row["TierCacheWritePerMTok"] == pytest.approx(7.5)
    assert row["TierReasoningPerMTok"] == pytest.approx(22.5)
    explicit = Price("^m$", 3.0, 15.0, tier=Tier(200_000, 6.0, 22.5, cached_input_per_mtok=1.0))
    assert explicit.row("user", AT)["TierCachedInputPerMTok"] == 1.0


@pytest.mark.parametrize(
    ("price", "message"),
    [
        (Price("gpt-(4", 1.0, 1.0), "not a valid regex"),
        (Price("^m$", -1.0, 1.0), "input_per_mtok must be a non-negative number"),
        (Price("^m$", 1.0, float("nan")), "output_per_mtok"),
        (Price("^m$", 1.0, 1.0, tier=Tier(0, 2.0, 2.0)), "positive number of tokens"),
        (Price("^m$", 1.0, 1.0, tier=Tier(10, 2.0, -2.0)), "tier_output_per_mtok"),
    ],
)
def test_unusable_prices_are_refused(price: Price, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        price.validate()


def test_shipped_defaults_are_usable_and_each_row_is_a_distinct_version() -> None:
    prices = default_prices()
    versions = [(p.provider, p.model_pattern, p.valid_from, p.checked_at) for p in prices]
    assert len(set(versions)) == len(versions)
    for price in prices:
        price.validate()
        assert price.checked_at is not None and price.checked_at >= date(2024, 1, 1)
    providers = {p.provider for p in prices}
    assert {"openai", "anthropic", "mistral_ai"} <= providers
    demo_models = ("gpt-4o-mini", "claude-3-5-haiku", "gpt-4.1", "o4-mini", "gemini-2.5-pro")
    for model in demo_models:
        assert any(re.search(p.model_pattern, model) for p in prices), model
    assert any(p.tier is not None for p in prices)


def test_price_changes_ship_as_new_versions() -> None:
    o3 = sorted(
        (p for p in default_prices() if re.search(p.model_pattern, "o3-2025-04-16")),
        key=lambda p: p.valid_from,
    )
    assert [p.input_per_mtok for p in o3] == [10.0, 2.0]
