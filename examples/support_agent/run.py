"""Run the packaged demo support agent against a running AgentLedger.

The agent itself lives in ``agentledger.demo`` (so ``agentledger up --demo`` ships it); this
script is the smallest way to drive it from your own checkout. It reads ``AGENTLEDGER_ENDPOINT``
and ``AGENTLEDGER_API_KEY`` like any instrumented agent.
"""

from __future__ import annotations

import argparse

from agentledger.demo import run_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=5.0, help="tickets per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds; 0 = forever")
    parser.add_argument("--drift-at", type=float, help="seconds after the start to inject drift")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    handled = run_demo(args.rate, args.duration, seed=args.seed, drift_at=args.drift_at)
    print(f"handled {handled} tickets")


if __name__ == "__main__":
    main()
