"""Stat-arb walk-forward backtest: every pair of the 20-stock file (190 pairs) over all its
yearly blocks (1991-2022, 32 years) in one vmapped, jitted call, against the same jitted
function called once per pair (a Python loop over pairs), on the same machine in the same run.

    python benchmarks/statarb.py [--prices ../shared/data/prices/sp500_20_stocks_daily.csv.gz]
        [--repeats 3] [--loop-pairs 20]

Prints compile time, warm run time (best of --repeats), pair-days per second and the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import jax

from wmjax.data import load_prices
from wmjax.strategies import WalkForwardConfig, all_pairs, calendar_layout, walk_forward

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "prices"


def timed(fn):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prices", default=str(DEFAULT / "sp500_20_stocks_daily.csv.gz"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-pairs", type=int, default=20, help="pairs timed in the loop")
    args = parser.parse_args(argv)
    prices = load_prices(args.prices)
    config = WalkForwardConfig()
    layout = calendar_layout(prices.dates, 1, config)
    pairs = all_pairs(len(prices.tickers))
    lp = prices.log_prices
    days = int(layout.block_days.sum())

    first = timed(lambda: walk_forward(lp, layout, config, pairs))
    warm = min(timed(lambda: walk_forward(lp, layout, config, pairs)) for _ in range(args.repeats))
    # one pair at a time through the same jitted function (compiled once for one pair)
    one_first = timed(lambda: walk_forward(lp, layout, config, pairs[:1]))
    loop_pairs = pairs[: args.loop_pairs]
    loop = min(
        timed(lambda: [walk_forward(lp, layout, config, p[None]) for p in loop_pairs])
        for _ in range(args.repeats)
    )
    loop_all = loop / len(loop_pairs) * len(pairs)
    out = {
        "pairs": len(pairs),
        "years": int(layout.label.size),
        "trade_days": days,
        "compile_plus_first_run_s": first,
        "warm_run_s": warm,
        "pair_days_per_s": len(pairs) * days / warm,
        "single_pair_compile_s": one_first,
        "loop_over_pairs_s (extrapolated to all pairs)": loop_all,
        "vmap_speedup": loop_all / warm,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average": os.getloadavg(),
        "jax": jax.__version__,
    }
    for key, value in out.items():
        print(f"{key}: {value}")
    return out


if __name__ == "__main__":
    main()
