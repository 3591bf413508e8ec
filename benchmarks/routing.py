"""Dark-pool routing throughput: paths per second of a routed TWAP execution on B venue sets
(lit market + K dark pools), per router, against the same TWAP on the lit market alone
(`ImpactMarket`) run side by side; compile time measured apart from run time.

    python benchmarks/routing.py [--venues 3] [--sets 16] [--paths 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
from _common import compile_and_run_s

from wmjax.execution import RolloutConfig, order, rollout, schedule_policy, twap
from wmjax.market import ImpactMarket, VenuesMarket, impact_params
from wmjax.models import DarkPoolRouter, RouterParams, explore_venues, random_venue_sets
from wmjax.strategies import (
    GreedyRoute,
    SplitRoute,
    greedy_route_policy,
    kaplan_meier_tails,
    split_route_policy,
    venue_set_rollouts,
)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--venues", type=int, default=3)
    p.add_argument("--sets", type=int, default=16)
    p.add_argument("--paths", type=int, default=256)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    k, b, n = args.venues, args.sets, args.steps
    lit = impact_params(n, sigma=0.5, epsilon=0.01, eta=1e-7)
    parent = order(10_000, 0.1, "buy")
    config = RolloutConfig(n_paths=args.paths, n_steps=n)
    market = VenuesMarket(k)
    venues = random_venue_sets(jax.random.key(0), b, lit, k)
    history, feats = explore_venues(jax.random.key(1), venues, 10, 300)
    fractions = jnp.broadcast_to(twap(n), (b, n))
    router = DarkPoolRouter()
    variables = router.init(jax.random.key(2), k)
    per_set = lambda x: jnp.broadcast_to(x, (b, *jnp.shape(x)))  # noqa: E731
    runs = {
        "uniform (split policy)": (
            split_route_policy, SplitRoute(fractions, jnp.full((b, k), 1 / k))),
        "greedy Kaplan-Meier": (
            greedy_route_policy,
            GreedyRoute(fractions, jax.vmap(lambda h: kaplan_meier_tails(h, 20.0))(history))),
        "learned router": (
            router, RouterParams(jax.tree.map(per_set, variables), feats, fractions)),
    }  # fmt: skip
    total = b * args.paths
    key = jax.random.key(3)
    print(f"routing: {k} pools, {b} venue sets x {args.paths} paths x {n} steps "
          f"= {total} paths; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    lit_fn = lambda: rollout(  # noqa: E731
        key, ImpactMarket(), lit, schedule_policy, twap(n), parent,
        RolloutConfig(n_paths=total, n_steps=n),
    ).is_bps  # fmt: skip
    compile_s, lit_s = compile_and_run_s(lit_fn, args.repeats)
    print(f"{'lit market alone (ImpactMarket)':32s} {total / lit_s:12,.0f} paths/s   "
          f"compile {compile_s:6.2f} s")  # fmt: skip
    for name, (policy, params) in runs.items():

        def fn(policy=policy, params=params):
            return venue_set_rollouts(key, market, venues, policy, params, parent, config).is_bps

        compile_s, run_s = compile_and_run_s(fn, args.repeats)
        print(f"{name:32s} {total / run_s:12,.0f} paths/s   compile {compile_s:6.2f} s   "
              f"{run_s / lit_s:5.2f}x the lit market's time")  # fmt: skip


if __name__ == "__main__":
    main()
