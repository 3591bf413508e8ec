"""Latency matters at the right scale (issue 16, must-show 2): the same limit-order strategy on
the same keys, in the four latency scenarios and at three decision intervals.

The strategy (`--strategy`), the same in every cell: "hold", one limit order for the whole
parent order at our best quote, sent at the first decision and kept (`book_schedule(...,
aggression=0, keep=True)`); or "requote", the unfilled rest cancelled and re-posted at the touch
at every decision (`keep=False`; up to 8 messages in flight, so that retail's 50 ms at 10 ms
decisions fits). Whatever has not filled after `--decisions` intervals is bought by the
clean-up. Per cell: the passive fill rate (passive shares / quantity) and the adverse selection
of the passive fills (d x (mid at the fill - mid 100 ms later), ticks, share-weighted per path,
then averaged over paths with a fill; mark-outs still open at the horizon read the final mid),
each with its standard error over paths, and the run's status counters (`status_dict`).

    python experiments/book_latency.py --paths 1000 --intervals-ms 1,10,1000 --out out/latency
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from wmjax.execution import RolloutConfig, book_paths, book_schedule, book_schedule_policy, order
from wmjax.market import BookMarket, book_key, book_params, status_dict

SCENARIOS = ("co-lo", "proximity", "cloud", "retail")
STRATEGIES = ("hold", "requote")


def latency_paths(
    interval_s, latency, n_paths, n_decisions, quantity_shares=100.0, seed=0, strategy="hold"
):
    """Per path: (passive fill rate, mark-out shares, adverse selection x shares in ticks) of
    the `strategy`'s limit orders, and the run's status dict (counters summed over paths)."""
    # a flow buffer for the interval: ~40 events/s with bursts, at least 8 slots
    capacity = max(8, int(np.ceil(interval_s * 40 * 3 + 16)))
    market = BookMarket(events_per_step=capacity, max_in_flight=8)
    parent = order(quantity_shares, n_decisions * interval_s / market.trading_day_s, "buy")
    keep = {"hold": True, "requote": False}[strategy]
    sched = book_schedule(market, np.zeros(n_decisions), aggression=0.0, keep=keep)
    config = RolloutConfig(n_paths=n_paths, n_steps=n_decisions)
    out = book_paths(
        book_key(seed), market, book_params(latency), book_schedule_policy, sched, parent, config
    )
    fill = np.asarray(out.stats.passive_shares, np.float64) / quantity_shares
    shares = np.asarray(out.stats.markout_shares, np.float64)
    adverse = np.asarray(out.stats.adverse_share_ticks, np.float64)
    return fill, shares, adverse, status_dict(out.status)


def summarise(fill, shares, adverse, status) -> dict:
    """Means and standard errors over paths (adverse selection over the paths with a fill),
    and the status counters."""
    seen = shares > 0
    per_path = adverse[seen] / shares[seen]
    n = max(int(seen.sum()), 2)
    return {
        "fill_rate": float(fill.mean()),
        "fill_rate_se": float(fill.std(ddof=1) / np.sqrt(fill.size)),
        "adverse_ticks": float(per_path.mean()) if seen.any() else float("nan"),
        "adverse_ticks_se": float(per_path.std(ddof=1) / np.sqrt(n)) if seen.any() else 0.0,
        "paths_with_fills": int(seen.sum()),
        "status": status,
    }


def paired_gap(first, last) -> dict:
    """Retail minus co-lo on the same keys, in paired standard errors: fill rate, and adverse
    selection on the paths where both filled."""
    d_fill = last[0] - first[0]
    both = (first[1] > 0) & (last[1] > 0)
    d_adv = last[2][both] / last[1][both] - first[2][both] / first[1][both]

    def in_se(x):
        return float(x.mean() / max(x.std(ddof=1) / np.sqrt(x.size), 1e-12)) if x.size > 1 else 0.0

    return {"fill_rate_gap_se": in_se(d_fill), "adverse_gap_se": in_se(d_adv)}


def latency_table(intervals_s, n_paths, n_decisions, seed=0, strategy="hold") -> dict:
    table = {}
    for dt in intervals_s:
        runs = {
            s: latency_paths(dt, s, n_paths, n_decisions, seed=seed, strategy=strategy)
            for s in SCENARIOS
        }
        row = {s: summarise(*r) for s, r in runs.items()}
        row["retail_vs_co-lo"] = paired_gap(runs["co-lo"], runs["retail"])
        table[f"{dt * 1e3:g} ms"] = row
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=256)
    ap.add_argument("--decisions", type=int, default=100, help="decision intervals per path")
    ap.add_argument("--intervals-ms", default="1,10,1000")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--strategy", choices=STRATEGIES, default="hold")
    ap.add_argument("--out", default="out/book_latency")
    args = ap.parse_args(argv)
    intervals = [float(x) * 1e-3 for x in args.intervals_ms.split(",") if x]
    table = latency_table(intervals, args.paths, args.decisions, args.seed, args.strategy)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "book_latency.json").write_text(json.dumps(table, indent=1))
    print(f"| interval | scenario | fill rate | adverse selection, ticks | status | "
          f"({args.strategy}, {args.paths} paths)")  # fmt: skip
    print("|---|---|---|---|---|")
    for dt, row in table.items():
        gap = row["retail_vs_co-lo"]
        print(
            f"| {dt} | retail - co-lo, paired SE | {gap['fill_rate_gap_se']:+.1f} SE | "
            f"{gap['adverse_gap_se']:+.1f} SE | |"
        )
        for s in SCENARIOS:
            c = row[s]
            print(
                f"| {dt} | {s} | {c['fill_rate']:.3f} ± {c['fill_rate_se']:.3f} | "
                f"{c['adverse_ticks']:.3f} ± {c['adverse_ticks_se']:.3f} | "
                f"{c['status']['result']} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
