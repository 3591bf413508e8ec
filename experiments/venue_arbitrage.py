"""Cross-venue latency arbitrage on two Hawkes books tied by a common efficient price
(`wmjax.market.VenueBooks`): P&L per session, the spread seen and the latency-adjusted spread
earned, for the four latency scenarios on the same keys; and how the tie correlates the venues.
Writes venue_arbitrage.json.

    python experiments/venue_arbitrage.py --paths 500
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from wmjax.market import LATENCY_PRESETS, VenueBooks, book_key, venue_books_params
from wmjax.strategies import (
    arbitrage_rule,
    arbitrage_summary,
    cross_venue_arbitrage,
    paired_difference,
    venue_paths,
    venue_tie_summary,
)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="wmjax-out/venue_arbitrage", help="output folder")
    parser.add_argument("--paths", type=int, default=64, help="sessions per run")
    parser.add_argument("--session-s", type=float, default=2.0, help="seconds per session")
    parser.add_argument("--steps", type=int, default=50, help="decisions per session")
    parser.add_argument("--delay-us", type=float, default=2000.0, help="venue 1's repricing delay")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    market = VenueBooks()
    key = book_key(args.seed)

    def run(params, rule):
        return venue_paths(
            key,
            market,
            params,
            cross_venue_arbitrage,
            rule,
            args.session_s,
            args.steps,
            args.paths,
        )

    params = venue_books_params(reprice_delay_us=(0.0, args.delay_us))
    scenarios = {}
    for name in LATENCY_PRESETS:
        summary = arbitrage_summary(run(params.with_latency(name), arbitrage_rule()), params)
        scenarios[name] = summary
    base = scenarios["co-lo"]["pnl"]
    for name, summary in scenarios.items():
        diff, se = paired_difference(base, summary.pop("pnl"))
        summary["minus_colo"] = diff
        summary["minus_colo_se"] = se
        print(name, {k: v for k, v in summary.items() if k != "status"})
    never = arbitrage_rule(threshold_ticks=1e6)
    ties = {}
    for tie in (0.0, 0.1, 0.2, 0.5, 1.0):
        tied = venue_books_params(tie=tie, reprice_delay_us=0.0)
        ties[tie] = venue_tie_summary(run(tied, never), lag_steps=max(args.steps // 10, 1))
        print("tie", tie, ties[tie])
    result = {
        "config": vars(args),
        "scenarios": scenarios,
        "ties": {str(t): v for t, v in ties.items()},
    }
    (out / "venue_arbitrage.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
