"""Level overflow against the book's slots per side: how often the default Hawkes flow pushes a
level beyond the book's last slot, and what more slots cost, side by side in one process.

For each variant "slots/seeded" the default `BookMarket` runs the TWAP-limit baseline on
`book_params("co-lo", levels=slots, seed_levels=seeded)` (the same keys for every variant);
reported: level-overflow events per path, the share of paths with any, dropped shares per path,
seconds per rollout (best of `--repeats`, variants interleaved) and the compile time apart.

    python benchmarks/book_levels.py                       # 10/10 (the old default), 12/10, 16/10
    python benchmarks/book_levels.py --levels 10/10,16/10,16/16 --json
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from wmjax.execution import RolloutConfig, book_baselines, book_paths, book_schedule_policy
from wmjax.execution import order as parent_order
from wmjax.market import BookMarket, book_key, book_params


def level_cases(levels, n_paths: int, n_decisions: int, interval_s: float, repeats: int):
    market = BookMarket()
    horizon_s = n_decisions * interval_s
    parent = parent_order(1000.0, horizon_s / market.trading_day_s, "buy")
    sched = book_baselines(
        market, n_decisions, horizon_s=horizon_s, risk_aversion=0.1,
        sigma_bps_per_sqrt_s=1.0, eta_bps_s=1.0,
    )["twap_limit"]  # fmt: skip
    config = RolloutConfig(n_paths=n_paths, n_steps=n_decisions)
    params = {n: book_params("co-lo", levels=n[0], seed_levels=n[1]) for n in levels}

    def run(n, seed):
        return book_paths(
            book_key(seed), market, params[n], book_schedule_policy, sched, parent, config,
            throw=False,
        )  # fmt: skip

    first, best, outs = {}, {}, {}
    for n in levels:
        start = time.perf_counter()
        outs[n] = jax.block_until_ready(run(n, 0))
        first[n] = time.perf_counter() - start
        best[n] = np.inf
    for i in range(repeats):  # interleaved, so that the load is shared alike
        for n in levels:
            start = time.perf_counter()
            jax.block_until_ready(run(n, 1 + i))
            best[n] = min(best[n], time.perf_counter() - start)
    base = best[levels[0]]
    rows = []
    for n in levels:
        st = outs[n].status
        events = np.asarray(st.level_overflow_events)
        rows.append(
            {
                "levels": n[0],
                "seed_levels": n[1],
                "paths": n_paths,
                "decisions": n_decisions,
                "interval_s": interval_s,
                "level_overflow_events_per_path": float(events.mean()),
                "paths_with_level_overflow": float((events > 0).mean()),
                "dropped_shares_per_path": float(np.asarray(st.dropped_shares).mean()),
                "flow_events_per_path": float(np.asarray(outs[n].stats.flow_events).mean()),
                "seconds": best[n],
                "time_ratio": best[n] / base,
                "compile_s": first[n] - best[n],
            }
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="10/10,12/10,16/10", help="slots/seeded per side")
    parser.add_argument("--paths", type=int, default=512)
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--interval-ms", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    levels = [tuple(int(v) for v in x.split("/")) for x in args.levels.split(",")]
    rows = level_cases(levels, args.paths, args.decisions, args.interval_ms / 1e3, args.repeats)
    if args.json:
        print(json.dumps({"cases": rows}))
        return 0
    print(
        f"{'slots/seeded':>12} {'overflow/path':>13} {'paths with':>10} {'dropped/path':>12} "
        f"{'s/rollout':>9} {'ratio':>6} {'compile s':>9}"
    )
    for r in rows:
        print(
            f"{r['levels']:>7}/{r['seed_levels']:<4} {r['level_overflow_events_per_path']:>13.4f} "
            f"{r['paths_with_level_overflow']:>10.4f} {r['dropped_shares_per_path']:>12.1f} "
            f"{r['seconds']:>9.3f} {r['time_ratio']:>6.2f} {r['compile_s']:>9.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
