"""Analytics benchmark: wall time of a pre-trade report and of batched counterfactuals.

1. Pre-trade report of 6 strategies (TWAP, VWAP, AC-optimal, POV 10 %, POV 20 %, aggressive) x
   `--paths` paths (default 10,000) on 13 decision intervals, with and without the 27-scenario
   sensitivity grid; the grid as one vmapped batch against a Python loop of 27 separate calls
   (side by side); the common-random-numbers std ratio of IS differences.
2. Counterfactuals of `--orders` historical orders (default 1,000; sizes, horizons, sides and
   day conditioning all differ) x `--cf-paths` paths (default 1,000) x 5 alternatives on 10
   intervals, in one jit; plus the coverage of the generating strategy's 5-95 % band.
3. The advisor's 10,000-state safety batch (one vmapped call).

Cold times include compilation; warm times are a second call with a new key. Goal (issue 6):
each of 1 and 2 under 10 s on 2 CPU cores. The script exposes one XLA CPU device per core
(XLA_FLAGS, unless already set) so counterfactuals split each chunk's orders over the cores;
CPU seconds (process time, all threads) are reported beside wall time.

    python benchmarks/analytics.py            # full sizes
    python benchmarks/analytics.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

# one XLA CPU device per core, so counterfactual chunks split their orders over both cores
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count()}")

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.analytics import (
    AdvisorConfig,
    advise_batch,
    counterfactual,
    desk_market_params,
    named_strategy_params,
    pretrade,
    strategy_policy,
)
from wmjax.execution import RolloutConfig, order, rollout
from wmjax.market import ImpactMarket

MARKET = ImpactMarket()


CPU_S: dict = {}


def _timed(fn, label: str | None = None):
    cpu, start = time.process_time(), time.perf_counter()
    out = fn()
    jax.block_until_ready(out)
    if label:
        CPU_S[label] = time.process_time() - cpu
    return out, time.perf_counter() - start


def bench_pretrade(paths: int, sens_paths: int) -> dict:
    params = desk_market_params(13, 1.0, daily_volume_shares=5e6, daily_volatility=0.02)
    o = order(2.5e5, 1.0, "buy", risk_aversion=0.5)
    run = lambda seed, grid=True: pretrade(  # noqa: E731
        o,
        MARKET,
        params,
        n_paths=paths,
        key=jax.random.key(seed),
        pov_rates=(0.1, 0.2),
        sensitivity_paths=sens_paths,
        **({} if grid else {"sensitivity": None}),
    )
    rep, cold = _timed(lambda: run(0))
    _, warm = _timed(lambda: run(1), "pretrade_report_warm")
    _, cold_nogrid = _timed(lambda: run(0, False))
    rep2, warm_nogrid = _timed(lambda: run(2, False))
    # the grid as 27 separate calls (same work, a Python loop) against the one vmapped batch
    from wmjax.analytics import SensitivityGrid, scenario_params

    scen = scenario_params(params, SensitivityGrid())
    single = lambda i, seed: pretrade(  # noqa: E731
        o,
        MARKET,
        jax.tree.map(lambda x: x[i], scen),
        n_paths=sens_paths,
        key=jax.random.key(seed),
        pov_rates=(0.1, 0.2),
        sensitivity=None,
    )
    single(0, 0)
    _, loop = _timed(lambda: [single(i, 3) for i in range(27)])
    i, j = rep.strategies.index("twap"), rep.strategies.index("vwap")
    common = np.std(rep.is_samples_bps[i] - rep.is_samples_bps[j])
    independent = np.std(rep.is_samples_bps[i] - rep2.is_samples_bps[j])
    return {
        "strategies": len(rep.strategies),
        "paths": paths,
        "sensitivity_paths": sens_paths,
        "report_cold_s": cold,
        "report_warm_s": warm,
        "no_grid_cold_s": cold_nogrid,
        "no_grid_warm_s": warm_nogrid,
        "grid_as_27_calls_warm_s": loop,
        "crn_std_ratio_twap_vwap": float(common / independent),
        "recommended": rep.recommended,
    }


def _orders(n: int, rng):
    qty = rng.uniform(2e4, 3e5, n)
    horizon = rng.uniform(0.1, 1.0, n)
    side = rng.choice([-1.0, 1.0], n)
    lam = rng.uniform(0.0, 1.0, n)
    return [
        order(float(q), float(h), float(s), float(r))
        for q, h, s, r in zip(qty, horizon, side, lam, strict=True)
    ], horizon


def bench_counterfactual(n_orders: int, paths: int) -> dict:
    rng = np.random.default_rng(0)
    orders, horizon = _orders(n_orders, rng)
    vol = rng.uniform(0.01, 0.03, n_orders)
    adv = rng.uniform(2e6, 2e7, n_orders)
    params = [
        desk_market_params(10, float(h), daily_volume_shares=float(a), daily_volatility=float(v))
        for h, a, v in zip(horizon, adv, vol, strict=True)
    ]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *params)
    stacked_orders = jax.tree.map(lambda *xs: jnp.stack(xs), *orders)

    # "historical" fills: each order executed by VWAP on one simulated day of its own market
    def one_day(k, p, o):
        vw = jax.tree.map(lambda x: x[0], named_strategy_params(("vwap",), o, p))
        cfg = RolloutConfig(n_paths=1, n_steps=10, shard=False)
        return rollout(k, MARKET, p, strategy_policy, vw, o, cfg).is_bps[0]

    keys = jax.random.split(jax.random.key(99), n_orders)
    realised = np.asarray(jax.jit(jax.vmap(one_day))(keys, stacked, stacked_orders))

    def run(seed):
        # chunk 10: 10 orders x 5 alternatives x 1,000 paths per batch stay in cache
        # (6.66 CPU s against 7.22 at chunk 50, 1,000 orders; benchmarks/README.md)
        return counterfactual(
            stacked_orders,
            realised,
            MARKET,
            stacked,
            n_paths=paths,
            key=jax.random.key(seed),
            chunk=10,
        )

    rep, cold = _timed(lambda: run(0))
    rep, warm = _timed(lambda: run(1), "counterfactual_warm")
    j = rep.alternatives.index("vwap")
    return {
        "orders": n_orders,
        "paths": paths,
        "alternatives": len(rep.alternatives),
        "cold_s": cold,
        "warm_s": warm,
        "vwap_band_coverage": float(rep.in_band[:, j].mean()),
        "best_counts": {a: rep.best.count(a) for a in rep.alternatives},
    }


def bench_advisor(n: int) -> dict:
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    from test_analytics_advisor import CONFIG, _random_cases

    states, limits = _random_cases(n)
    run = lambda seed: advise_batch(jax.random.key(seed), states, limits, CONFIG)  # noqa: E731
    _, cold = _timed(lambda: run(0))
    _, warm = _timed(lambda: run(1))
    return {
        "states": n,
        "paths_per_candidate": CONFIG.n_paths,
        "cold_s": cold,
        "warm_s": warm,
        "candidates": len(AdvisorConfig().candidates()[0]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--sensitivity-paths", type=int, default=1000)
    ap.add_argument("--orders", type=int, default=1000)
    ap.add_argument("--cf-paths", type=int, default=1000)
    ap.add_argument("--advisor-states", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    if args.quick:
        args.paths, args.sensitivity_paths, args.orders, args.cf_paths = 500, 100, 20, 100
        args.advisor_states = 200
    out = {
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}, "
        f"jax {jax.__version__}, load average {os.getloadavg()[0]:.1f}",
        "pretrade": bench_pretrade(args.paths, args.sensitivity_paths),
        "counterfactual": bench_counterfactual(args.orders, args.cf_paths),
        "advisor": bench_advisor(args.advisor_states),
        "devices": len(jax.devices()),
    }
    out["cpu_s"] = dict(CPU_S)
    out["load_average_after"] = os.getloadavg()[0]
    for section, rows in out.items():
        if isinstance(rows, dict):
            print(f"[{section}]")
            for k, v in rows.items():
                print(f"  {k:28s} {v:.3f}" if isinstance(v, float) else f"  {k:28s} {v}")
        else:
            print(f"{section}: {rows}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
