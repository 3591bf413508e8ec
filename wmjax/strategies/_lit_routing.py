"""Smart order routing of a marketable buy across lit venues (`wmjax.market.LitVenuesMarket`)
by predicted fill quality, and the naive routers beside it; all are rollout policies.

- `predicted_fill_route`: the router's fill model says a displayed level at venue v is still
  there on arrival with probability exp(-fade·latency_v) (the venue's mean latency); it takes the
  cheapest expected liquidity across all venues' levels (price + fee), a consolidated sweep of
  the expected books, and spreads what the expected books cannot hold in proportion to their
  expected depth. With no fade it is the closed-form best sweep of the displayed books.
- `best_quote_route`: everything to the venue with the best displayed price (+ fee).
- `displayed_size_route`: split in proportion to each venue's displayed size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int
from wmjax._numerics import fill_in_order
from wmjax.execution import Observation, RolloutConfig, order, rollout
from wmjax.market import LitAction, LitVenueParams, LitVenuesMarket


@struct.dataclass
class FillModel:
    """The router's belief: displayed liquidity fades at `fade_per_s` (1/s) while our order
    travels."""

    fade_per_s: jax.Array


def predicted_fill_route(model: FillModel, obs: Observation) -> LitAction:
    """Split by predicted fill quality (module doc)."""
    m, quantity = obs.market, obs.remaining_shares
    keep = jnp.exp(-model.fade_per_s * m.latency_us * 1e-6)
    expected = m.displayed_lots * m.lot_shares * keep[:, None]
    price = (m.ask_ticks + m.fee_ticks[:, None]).ravel()
    order_ = jnp.argsort(price, stable=True)
    size = expected.ravel()[order_]
    take = fill_in_order(quantity, size)
    shares = jnp.zeros_like(size).at[order_].set(take).reshape(expected.shape).sum(axis=1)
    depth = expected.sum(axis=1)
    rest = quantity - shares.sum()
    return LitAction(shares + rest * depth / jnp.maximum(depth.sum(), 1e-9))


def best_quote_route(params, obs: Observation) -> LitAction:
    """All to the venue whose best displayed level (with size) is cheapest, fee included."""
    m = obs.market
    price = jnp.where(m.displayed_lots > 0, m.ask_ticks, jnp.inf).min(axis=1) + m.fee_ticks
    return LitAction(jax.nn.one_hot(jnp.argmin(price), price.shape[0]) * obs.remaining_shares)


def displayed_size_route(params, obs: Observation) -> LitAction:
    """Split in proportion to each venue's displayed lots (all levels)."""
    size = obs.market.displayed_lots.sum(axis=1)
    return LitAction(obs.remaining_shares * size / jnp.maximum(size.sum(), 1e-9))


def routing_costs_bps(
    key, params: LitVenueParams, routers: dict, quantity_shares: float, n_paths: int
) -> dict[str, np.ndarray]:
    """Cost against the arrival mid, bps (positive is a cost), of a marketable buy of
    `quantity_shares` per path for each router (`{name: (policy, policy_params)}`), on the same
    `n_paths` paths of `key` (common random numbers: the same books, latencies and fades).
    One compiled rollout serves every router of the set (the router is a traced index)."""
    positive("quantity_shares", quantity_shares)
    n_paths = positive_int("n_paths", n_paths, minimum=2)
    parent = order(quantity_shares, 1.0 / 23400.0, "buy")
    config = RolloutConfig(n_paths=n_paths, n_steps=1, shard=False)
    market = LitVenuesMarket()
    policy = policy_switch(tuple(p for p, _ in routers.values()))
    each = tuple(pp for _, pp in routers.values())
    return {
        name: np.asarray(
            rollout(key, market, params, policy, (jnp.int32(i), each), parent, config).is_bps
        )
        for i, name in enumerate(routers)
    }


@functools.cache
def policy_switch(policies: tuple) -> Callable:
    """One rollout policy for the set `policies` (hashable, e.g. functions): its params
    `(index, (params of each))` pick the policy by a traced index, so the rollout compiles once
    for the whole set (under vmap over the index every policy runs and one is selected)."""

    def policy(params, obs: Observation) -> LitAction:
        index, each = params
        branches = [functools.partial(p, pp) for p, pp in zip(policies, each, strict=True)]
        return jax.lax.switch(index, branches, obs)

    return policy
