"""The analytics benchmarks of issue 5 in one run, against their targets: drift of 10M
observations across 20 features (< 5 s, and Evidently on the same data), upstream lineage of one
decision in a store of 10M spans (< 200 ms), cost rollup of 10M spans (< 3 s).

    python benchmarks/analytics.py              # full scale, ~10 minutes
    python benchmarks/analytics.py --scale 0.1  # a quick look

Each part generates its data in ClickHouse in a temporary store and prints its own detail first;
``benchmarks/analytics_{drift,lineage,cost}.py`` run one part alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import analytics_cost
import analytics_drift
import analytics_lineage


def _seconds(rows: list[dict[str, Any]], benchmark: str, step: str) -> float:
    for row in rows:
        if row.get("step", "").startswith(step):
            return float(row["value"]) * (1 if row["unit"] == "s" else 0.001)
    raise KeyError(f"{benchmark}: no step {step!r} in {[row.get('step') for row in rows]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Fraction of the 10M rows.")
    scale = parser.parse_args().scale
    rows = max(int(10_000_000 * scale), 10_000)
    drift = analytics_drift.run(rows)
    lineage = analytics_lineage.run(rows)
    cost = analytics_cost.run(rows)
    for name, detail in (("drift", drift), ("lineage", lineage), ("cost", cost)):
        print(f"\n{name}")
        for row in detail:
            print("  " + ", ".join(f"{key}={value}" for key, value in row.items()))
    ours = _seconds(drift, "drift", "drift")
    cost_s = next(float(r["seconds"]) for r in cost if str(r["benchmark"]).startswith("cost job"))
    upstream = min(
        _seconds([r], "lineage", "upstream") for r in lineage if "(median)" in str(r["step"])
    )
    print(f"\n{'benchmark':<58}{'seconds':>10}{'target':>10}")
    print(f"{f'drift, {rows:,} observations x 20 features':<58}{ours:>10.3f}{'< 5':>10}")
    print(
        f"{f'upstream lineage of one decision, {rows:,} spans':<58}{upstream:>10.3f}{'< 0.2':>10}"
    )
    print(f"{f'cost rollup, {rows:,} spans':<58}{cost_s:>10.3f}{'< 3':>10}")


if __name__ == "__main__":
    main()
