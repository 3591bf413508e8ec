"""Transitions of the book world under varied child orders: the data of the action-conditioned
world model (`wmjax.models.BookDynamics`).

`book_transitions` runs a behaviour policy on `BookMarket` with the key convention of
`wmjax.execution.rollout` (per path: an init key and a step key, step k's exogenous draws from
`fold_in(step_key, k)`), so for a deterministic policy it meets exactly the paths `rollout`
meets; it records, per decision, the placement features, our action and what followed: the mid
move, our fills by kind and the cost of the fills against the mid at the decision. The
behaviour's own randomness comes from a separate policy key, independent of the market's.

IS accounting (bps of the arrival notional, what the dreams add up): with m_k the mid at
decision k, a the arrival mid and s_k the shares filled in interval k (clean-up included),
IS = sum_k cost_k + sum_k (s_k / Q) * d (m_k - a) / a * 1e4, where
cost_k = d (notional_k - s_k m_k) / (Q a) * 1e4; the test checks it against `rollout`'s IS.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import struct

from wmjax.execution import Observation, Order, book_schedule_policy
from wmjax.execution._book_baselines import BookSchedule
from wmjax.market import BookAction, BookMarket, BookParams
from wmjax.models._placement import placement_features

#: indices of `placement_features` set by the market (spread, imbalance, trade imbalance,
#: volume, volatility, queue ahead, resting size, own and opposite top depth); the others are
#: the clock, inventory, last-step flag and latency, which the dreams compute exactly
MARKET_FEATURES = (3, 4, 5, 6, 7, 8, 9, 12, 13)


@struct.dataclass
class Transitions:
    """Per path and decision (leading axes (n_paths, n_steps)); sizes are shares / Q.

    Attributes:
        features: (…, 14) `placement_features` at the decision.
        next_features: (…, 14) at the next decision (after the last: at the horizon).
        market_q / limit_q: sizes of the market and limit orders sent.
        level: (…, K) one-hot level of the limit order (`BookMarket.offsets_ticks`).
        mid_move_bps: d (m_{k+1} - m_k) / a * 1e4.
        posted_q / passive_q / market_fill_q / cleanup_q: limit shares that reached the book,
            filled by our limit orders, by our market orders, by the horizon's clean-up.
        cost_bps: d (notional_k - s_k m_k) / (Q a) * 1e4 (see the module doc).
        is_bps: (n_paths,) the path's implementation shortfall.
    """

    features: jax.Array
    next_features: jax.Array
    market_q: jax.Array
    limit_q: jax.Array
    level: jax.Array
    mid_move_bps: jax.Array
    posted_q: jax.Array
    passive_q: jax.Array
    market_fill_q: jax.Array
    cleanup_q: jax.Array
    cost_bps: jax.Array
    is_bps: jax.Array

    @property
    def fill_fraction(self) -> jax.Array:
        """Share of our posted limit shares filled in the interval (0 where none posted)."""
        return jnp.clip(self.passive_q / jnp.maximum(self.posted_q, 1e-9), 0.0, 1.0)


@struct.dataclass
class Explore:
    """Params of `explore_policy`: per path, with probability `random_share` random child
    orders at every decision, else one of the stacked baseline schedules (leading axis B)."""

    schedules: BookSchedule
    random_share: jax.Array


def explore_policy(params: Explore, obs: Observation, path_key) -> BookAction:
    """Random or baseline child orders. Random: a market order of u1 x remaining with
    probability 1/2 (else none), a limit order of u2 x the rest at a uniform level."""
    k_mode, k_pick = jax.random.split(path_key)
    k_step = jax.random.fold_in(path_key, obs.step)
    u = jax.random.uniform(k_step, (3,))
    n_levels = params.schedules.offset_logits.shape[-1]
    level = jax.random.randint(jax.random.fold_in(k_step, 1), (), 0, n_levels)
    remaining = jnp.maximum(obs.remaining_shares, 0.0)
    market = jnp.where(u[0] < 0.5, u[1] * remaining, 0.0)
    random = BookAction(
        market_shares=market,
        limit_shares=u[2] * (remaining - market),
        offset_logits=10.0 * jax.nn.one_hot(level, n_levels),
        keep=jnp.float32(0.0),
    )
    n_schedules = params.schedules.aggression.shape[0]
    pick = jax.random.randint(k_pick, (), 0, n_schedules)
    schedule = jax.tree.map(lambda x: x[pick], params.schedules)
    base = book_schedule_policy(schedule, obs)
    use_random = jax.random.uniform(k_mode) < params.random_share
    return jax.tree.map(lambda a, b: jnp.where(use_random, a, b), random, base)


def stack_schedules(schedules: dict[str, BookSchedule]) -> BookSchedule:
    """Baseline schedules (`wmjax.execution.book_baselines`) stacked on a leading axis."""
    return jax.tree.map(lambda *xs: jnp.stack(xs), *schedules.values())


def scheduled(params: BookSchedule, obs: Observation, path_key) -> BookAction:
    """`book_schedule_policy` in the behaviour signature (it ignores the key)."""
    del path_key
    return book_schedule_policy(params, obs)


@partial(jax.jit, static_argnames=("market", "behaviour", "n_paths", "n_steps"))
def book_transitions(
    key,
    market: BookMarket,
    params: BookParams,
    behaviour,
    behaviour_params,
    order: Order,
    *,
    n_paths: int,
    n_steps: int,
) -> Transitions:
    """Record `n_paths` paths of `n_steps` decisions of `behaviour(params, obs, path_key)` on
    the exact book (the paths of `rollout(key, ...)` for the same deterministic policy)."""
    exact = params.replace(temperature=jnp.float32(0.0))
    keys = jax.random.split(key, n_paths)
    policy_keys = jax.random.split(jax.random.fold_in(key, 0x5EED), n_paths)
    one = partial(_one_path, market, exact, behaviour, behaviour_params, order, n_steps)
    return jax.vmap(one)(keys, policy_keys)


def _one_path(market, params, behaviour, behaviour_params, order, n_steps, key, policy_key):
    k_init, k_steps = jax.random.split(key)
    state0 = market.init(k_init, params, order, n_steps)
    q = order.quantity_shares
    d = jnp.asarray(order.side, jnp.float32)

    def observe(state, step, remaining):
        return Observation(
            market=market.observe(state, params),
            order=order,
            step=step,
            remaining_shares=remaining,
            time_left_days=order.horizon_days * (1.0 - step / n_steps),
            n_steps=n_steps,
        )

    arrival = market.observe(state0, params).mid

    def body(carry, step):
        state, remaining = carry
        obs = observe(state, step, remaining)
        action = behaviour(behaviour_params, obs, policy_key)
        new, fills = market.step(jax.random.fold_in(k_steps, step), state, action, params)
        left = remaining - fills.shares
        nxt = observe(new, step + 1, left)
        s0, s1 = state.stats, new.stats
        rec = (
            placement_features(obs),
            placement_features(nxt),
            jnp.minimum(action.market_shares, remaining) / q,
            action.limit_shares / q,
            jax.nn.one_hot(jnp.argmax(action.offset_logits), market.n_offsets),
            d * (nxt.market.mid - obs.market.mid) / arrival * 1e4,
            (s1.limit_posted_shares - s0.limit_posted_shares) / q,
            (s1.passive_shares - s0.passive_shares) / q,
            (s1.market_shares - s0.market_shares) / q,
            (s1.cleanup_shares - s0.cleanup_shares) / q,
            d * (fills.notional - fills.shares * obs.market.mid) / (q * arrival) * 1e4,
            fills.shares / q * d * (obs.market.mid - arrival) / arrival * 1e4,
        )
        return (new, left), rec

    steps = jnp.arange(n_steps, dtype=jnp.int32)
    _, rec = jax.lax.scan(body, (state0, jnp.asarray(q, jnp.float32)), steps)
    *fields, carry_bps = rec
    return Transitions(*fields, is_bps=jnp.sum(fields[-1] + carry_bps))
