"""Strategies on common paths: per-strategy IS summaries from one vmapped rollout per policy.

Every strategy of a group runs on the same key, so all strategies face the same exogenous
market draws (common random numbers; see `wmjax.execution.rollout`). The functions here are
traced inside the public entry points' single `jax.jit`; they are not jitted themselves.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from wmjax.execution import rollout


@struct.dataclass
class StrategySummary:
    """IS statistics of one strategy over paths (leading axes: whatever was vmapped).

    Attributes:
        mean_bps, std_bps, p05_bps, p50_bps, p95_bps: IS over paths, basis points.
        completion_prob: share of paths that filled the whole order by the horizon.
        on_time_prob: share of paths that filled it without exceeding `max_participation` of the
            market's volume in any interval (no forced catch-up at the end).
        participation: (n_steps,) mean participation (our fills / market volume) per interval.
        peak_participation_p95: p95 over paths of the largest participation in any interval
            (what the strategy actually used, catch-up included).
        holdings_frac: (n_steps + 1,) mean fraction of the order still to execute per step.
    """

    mean_bps: jax.Array
    std_bps: jax.Array
    p05_bps: jax.Array
    p50_bps: jax.Array
    p95_bps: jax.Array
    completion_prob: jax.Array
    on_time_prob: jax.Array
    participation: jax.Array
    peak_participation_p95: jax.Array
    holdings_frac: jax.Array


def summarize(paths, order, max_participation) -> StrategySummary:
    """Summary of one strategy's `Paths` (leading axis: paths)."""
    is_bps = paths.is_bps
    q = jnp.quantile(is_bps, jnp.array([0.05, 0.5, 0.95]))
    done = paths.completion >= 1.0 - 1e-4
    within = jnp.all(paths.participation <= max_participation + 1e-6, axis=-1)
    return StrategySummary(
        mean_bps=jnp.mean(is_bps),
        std_bps=jnp.std(is_bps, ddof=1),
        p05_bps=q[0],
        p50_bps=q[1],
        p95_bps=q[2],
        completion_prob=jnp.mean(done),
        on_time_prob=jnp.mean(done & within),
        participation=jnp.mean(paths.participation, axis=0),
        peak_participation_p95=jnp.quantile(jnp.max(paths.participation, axis=-1), 0.95),
        holdings_frac=jnp.mean(paths.holdings, axis=0) / order.quantity_shares,
    )


def run_group(key, market, market_params, policy, stacked_params, order, config, max_part):
    """Every strategy of one group (params stacked on axis 0) on the same `config.n_paths` paths;
    returns (StrategySummary with a leading strategy axis, IS samples (n_strategies, n_paths))."""

    def one(p):
        paths = rollout(key, market, market_params, policy, p, order, config)
        return summarize(paths, order, max_part), paths.is_bps

    return jax.vmap(one)(stacked_params)
