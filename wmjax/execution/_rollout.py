"""The rollout engine: any policy against any market, scanned over steps, vmapped over paths.

Per path, the key splits into an init key and a step key; the exogenous randomness of step k
comes from `fold_in(step_key, k)` only, never from the policy's actions, so strategies run on
the same key face the same market (common random numbers). With several devices the paths are
sharded over a `paths` mesh axis; results are identical to one device.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from wmjax._checks import InputError, finite_tree, is_concrete, require
from wmjax.execution._order import Order, RolloutConfig, check_order

PATHS_AXIS = "paths"


@struct.dataclass
class Observation:
    """What a policy sees at a decision step.

    Attributes:
        market: the market's own observation (has `mid`).
        order: the parent order.
        step: index of the decision interval, 0 .. n_steps - 1.
        n_steps: number of decision intervals (static).
        remaining_shares: shares still to execute.
        time_left_days: time to the horizon at the start of the step.
    """

    market: Any
    order: Order
    step: jax.Array
    remaining_shares: jax.Array
    time_left_days: jax.Array
    n_steps: int = struct.field(pytree_node=False)


Policy = Callable[[Any, Observation], Any]


@struct.dataclass
class Paths:
    """Per-path results of a rollout; leading axis n_paths.

    Attributes:
        shares: (n_paths, n_steps) shares filled per interval, in the order's direction.
        exec_price: (n_paths, n_steps) average execution price per interval (mid where nothing
            filled), price units.
        holdings: (n_paths, n_steps + 1) shares still to execute before each step and at the end.
        participation: (n_paths, n_steps) our fills / market volume per interval.
        arrival_price: (n_paths,) mid at arrival, price units.
        final_mid: (n_paths,) mid at the horizon, price units.
        filled_shares: (n_paths,) total shares filled.
        completion: (n_paths,) filled / quantity.
        is_currency: (n_paths,) implementation shortfall, price units * shares: the cost against
            the arrival price, side * (notional - filled * arrival), plus the opportunity cost
            side * unfilled * (final mid - arrival) of what did not fill. Positive is a cost.
        is_bps: (n_paths,) is_currency / (quantity * arrival price) * 1e4.
        notional: (n_paths, n_steps) price units * shares paid per interval, in the order's
            direction (a buy's cost is positive).
        mid: (n_paths, n_steps + 1) the observed mid before each step and at the horizon.
        final_state: the market's own state at the horizon, per path (e.g. the book's fill
            statistics).
        records: the markets' per-interval `Fills.record`, stacked to (n_paths, n_steps, ...)
            (None when the market keeps none).
    """

    shares: jax.Array
    exec_price: jax.Array
    holdings: jax.Array
    participation: jax.Array
    arrival_price: jax.Array
    final_mid: jax.Array
    filled_shares: jax.Array
    completion: jax.Array
    is_currency: jax.Array
    is_bps: jax.Array
    notional: jax.Array
    mid: jax.Array
    final_state: Any
    records: Any = None


def _one_path(key, market, market_params, policy, policy_params, order, n_steps) -> Paths:
    k_init, k_steps = jax.random.split(key)
    state0 = market.init(k_init, market_params, order, n_steps)
    arrival = market.observe(state0, market_params).mid
    interval = order.horizon_days / n_steps

    def body(carry, step):
        state, remaining = carry
        market_obs = market.observe(state, market_params)
        obs = Observation(
            market=market_obs,
            order=order,
            step=step,
            remaining_shares=remaining,
            time_left_days=order.horizon_days - step * interval,
            n_steps=n_steps,
        )
        action = policy(policy_params, obs)
        state, fills = market.step(jax.random.fold_in(k_steps, step), state, action, market_params)
        filled = jnp.abs(fills.shares) > 0
        price = jnp.where(
            filled, fills.notional / jnp.where(filled, fills.shares, 1.0), market_obs.mid
        )
        out = (
            fills.shares,
            fills.notional,
            price,
            fills.shares / fills.market_volume_shares,
            remaining,
            market_obs.mid,
            fills.record,
        )
        return (state, remaining - fills.shares), out

    steps = jnp.arange(n_steps, dtype=jnp.int32)
    (state, remaining), outs = jax.lax.scan(body, (state0, order.quantity_shares), steps)
    shares, notional, price, participation, before, mids, records = outs
    final_mid = market.observe(state, market_params).mid
    filled = jnp.sum(shares)
    is_currency = order.side * (
        jnp.sum(notional) - filled * arrival + remaining * (final_mid - arrival)
    )
    return Paths(
        shares=shares,
        exec_price=price,
        holdings=jnp.append(before, remaining),
        participation=participation,
        arrival_price=arrival,
        final_mid=final_mid,
        filled_shares=filled,
        completion=filled / order.quantity_shares,
        is_currency=is_currency,
        is_bps=is_currency / (order.quantity_shares * arrival) * 1e4,
        notional=notional,
        mid=jnp.append(mids, final_mid),
        final_state=state,
        records=records,
    )


def _path_keys(key, config: RolloutConfig):
    n_keys = config.n_paths // 2 if config.antithetic else config.n_paths
    keys = jax.random.split(key, n_keys)
    devices = jax.devices()
    if config.shard and len(devices) > 1 and n_keys % len(devices) == 0:
        mesh = Mesh(np.array(devices), (PATHS_AXIS,))
        keys = jax.lax.with_sharding_constraint(
            keys, NamedSharding(mesh, PartitionSpec(PATHS_AXIS))
        )
    return keys


@partial(jax.jit, static_argnames=("market", "policy", "config"))
def _rollout(key, market, market_params, policy, policy_params, order, config) -> Paths:
    keys = _path_keys(key, config)
    run = jax.vmap(
        lambda k, p: _one_path(k, market, p, policy, policy_params, order, config.n_steps),
        in_axes=(0, None),
    )
    if not config.antithetic:
        return run(keys, market_params)
    plain, mirrored = run(keys, market_params), run(keys, market.mirror(market_params))
    # interleave so paths 2i and 2i + 1 are twins
    return jax.tree.map(
        lambda a, b: jnp.stack([a, b], axis=1).reshape((2 * a.shape[0], *a.shape[1:])),
        plain,
        mirrored,
    )


def rollout(
    key: jax.Array,
    market,
    market_params,
    policy: Policy,
    policy_params,
    order: Order,
    config: RolloutConfig,
) -> Paths:
    """Run `policy(policy_params, obs) -> action` against `market` on `config.n_paths` paths of
    `config.n_steps` decision intervals each; returns per-path `Paths`.

    Jit-compiled once per (market, policy, config); differentiable with respect to
    `policy_params` and `market_params` where the market is. `market` and `policy` must be
    hashable (a frozen dataclass, a function). Every path uses its own key from `key`. Raises
    InputError for NaN or inf in the (concrete) params, and, through the schedule policies, for
    a trade list whose length is not `config.n_steps`.
    """
    require(isinstance(config, RolloutConfig), "config must be a RolloutConfig")
    check_order(order)
    n_param_steps = getattr(market_params, "n_steps", config.n_steps)
    require(
        n_param_steps == config.n_steps,
        f"market_params are built for {n_param_steps} steps but config.n_steps is "
        f"{config.n_steps}; build them with the same number of periods",
    )
    n_keys = config.n_paths // 2 if config.antithetic else config.n_paths
    n_dev = len(jax.devices())
    if config.shard and n_dev > 1 and n_keys % n_dev:
        raise InputError(
            f"n_paths={config.n_paths} cannot be split over {n_dev} devices; use a multiple of "
            f"{n_dev * (2 if config.antithetic else 1)} or RolloutConfig(shard=False)"
        )
    if is_concrete(key) and not jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):
        require(jnp.asarray(key).shape == (2,), "key must be a jax.random.key (or PRNGKey)")
    finite_tree("policy_params", policy_params)
    finite_tree("market_params", market_params)
    return _rollout(key, market, market_params, policy, policy_params, order, config)
