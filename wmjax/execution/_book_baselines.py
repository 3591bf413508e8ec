"""Execution on the order book: evaluation with fill statistics, and the baseline strategies.

`book_paths` runs a policy against a `BookMarket` with `rollout` and returns the IS with the
book's per-path fill statistics (passive and clean-up shares) from the final market state. All
baselines are one policy, `book_schedule_policy`, with different `BookSchedule` params, so they
compile once and run on the same paths.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, is_concrete, positive, require
from wmjax.execution._order import Order, RolloutConfig, check_order
from wmjax.execution._rollout import Observation, rollout
from wmjax.execution._schedules import ac_optimal
from wmjax.market._book_market import BookAction, BookMarket, BookParams, BookStats
from wmjax.market._book_status import BookStatus, check_status


@struct.dataclass
class BookPaths:
    """Per-path results on the book (arrays (n_paths,)).

    Attributes:
        is_bps: implementation shortfall, bps of the arrival notional (positive is a cost).
        arrival_price / final_mid: mids at arrival and at the horizon, price units.
        filled_shares: shares filled, clean-up included (the order's quantity unless the
            clean-up itself ran short, which it never does: beyond-depth shares are penalised).
        stats: `BookStats` (passive, market, clean-up shares, flow overflow, mark-outs).
        status: `BookStatus`, the counters of every buffer that can run out (all 0: clean).
    """

    is_bps: jax.Array
    arrival_price: jax.Array
    final_mid: jax.Array
    filled_shares: jax.Array
    stats: BookStats
    status: BookStatus


def check_book_inputs(market, params, order: Order, config: RolloutConfig) -> None:
    """Raise InputError for a bad market, params, order or config (see `book_paths`)."""
    require(isinstance(market, BookMarket), f"market must be a BookMarket, got {type(market)}")
    require(isinstance(params, BookParams), "params must be BookParams (use book_params(...))")
    require(isinstance(config, RolloutConfig), "config must be a RolloutConfig")
    require(not config.antithetic, "the book has no antithetic twin: use antithetic=False")
    check_order(order)
    if is_concrete(order.horizon_days):
        interval_s = float(order.horizon_days) * market.trading_day_s / config.n_steps
        require(
            interval_s >= 1e-3 * (1 - 1e-6),  # 1 ms, up to rounding of the horizon
            f"the decision interval is {interval_s:.3g} s (horizon / n_steps): the horizon must "
            "be at least one step of 1 ms; lengthen order.horizon_days or use fewer steps",
        )


def book_paths(
    key, market, params, policy, policy_params, order: Order, config: RolloutConfig, *, throw=True
) -> BookPaths:
    """Run `policy` on `config.n_paths` books of `config.n_steps` decision intervals.

    The same paths, observations and IS as `rollout(key, market, ...)`, plus `BookStats`.
    Jitted once per (market, policy, config); differentiable in `policy_params` when
    `params.temperature > 0` (see `wmjax.market.BookMarket`). With `throw` a non-zero counter
    of `status` (flow or level overflow, dropped or late messages) raises InputError saying what
    to increase (under an outer `jit`: a `checkify` check); `throw=False` returns the counters.
    """
    check_book_inputs(market, params, order, config)
    paths = rollout(key, market, params, policy, policy_params, order, config)
    out = BookPaths(
        is_bps=paths.is_bps,
        arrival_price=paths.arrival_price,
        final_mid=paths.final_mid,
        filled_shares=paths.filled_shares,
        stats=paths.final_state.stats,
        status=paths.final_state.status,
    )
    if throw:
        check_status(out.status, "book_paths")
    return out


# -- baselines -----------------------------------------------------------------------------------


@struct.dataclass
class BookSchedule:
    """Params of `book_schedule_policy`, which expresses every baseline.

    Attributes:
        trajectory: (n_steps,) target share of the order still to do after each step (the last
            0): what the order is behind this target is sent at each step.
        aggression: 1 sends the shortfall as a market order, 0 as a limit order, in between
            splits it.
        offset_logits: (K,) the limit order's level (see `BookAction`).
        pov_rate: > 0 adds market orders of rate x the last interval's market volume.
        keep: > 0.5 keeps the first step's limit order resting to the end (no replacement).
    """

    trajectory: jax.Array
    aggression: jax.Array
    offset_logits: jax.Array
    pov_rate: jax.Array
    keep: jax.Array


def book_schedule_policy(params: BookSchedule, obs: Observation) -> BookAction:
    """Market order aggression * shortfall (+ POV), limit order (1 - aggression) * shortfall
    at the chosen level; the resting order is replaced every step (or kept after the first
    step with `keep`)."""
    q = obs.order.quantity_shares
    behind = jnp.maximum(obs.remaining_shares - params.trajectory[obs.step] * q, 0.0)
    pov = params.pov_rate * obs.market.volume_shares
    market = jnp.minimum(params.aggression * behind + pov, obs.remaining_shares)
    limit = jnp.maximum(
        jnp.minimum((1.0 - params.aggression) * behind, obs.remaining_shares - market), 0.0
    )
    return BookAction(
        market_shares=market,
        limit_shares=limit,
        offset_logits=params.offset_logits,
        keep=jnp.where(obs.step > 0, params.keep, 0.0),
    )


def _level_logits(market: BookMarket, offset_ticks: int) -> jax.Array:
    require(
        offset_ticks in market.offsets_ticks,
        f"offset_ticks={offset_ticks} is not one of the market's offsets {market.offsets_ticks}",
    )
    return jnp.asarray([10.0 if o == offset_ticks else 0.0 for o in market.offsets_ticks])


def book_schedule(
    market: BookMarket, trajectory, aggression=1.0, offset_ticks=0, pov_rate=0.0, keep=False
) -> BookSchedule:
    """Checked `BookSchedule`: `trajectory` in [0, 1] ending at 0, aggression in [0, 1]."""
    traj = finite_array("trajectory", trajectory, ndim=1)
    require(bool(np.all((traj >= 0) & (traj <= 1))), "trajectory must lie in [0, 1]")
    require(traj[-1] == 0, "trajectory must end at 0 (the order completes)")
    a = float(finite_array("aggression", aggression))
    require(0.0 <= a <= 1.0, f"aggression must be in [0, 1], got {a}")
    positive("pov_rate", pov_rate, allow_zero=True)
    return BookSchedule(
        trajectory=jnp.asarray(traj, jnp.float32),
        aggression=jnp.float32(a),
        offset_logits=_level_logits(market, offset_ticks),
        pov_rate=jnp.float32(pov_rate),
        keep=jnp.float32(1.0 if keep else 0.0),
    )


def book_baselines(
    market: BookMarket,
    n_steps: int,
    *,
    horizon_s: float,
    risk_aversion: float,
    sigma_bps_per_sqrt_s: float,
    eta_bps_s: float,
    pov_rate: float = 0.2,
) -> dict[str, BookSchedule]:
    """The baselines on the book, by name:

    - "twap_market": equal market orders each step;
    - "twap_limit": limit orders at the touch for what TWAP is behind, clean-up at the end;
    - "ac_market": the Almgren-Chriss (2000) optimal trajectory with market orders, for
      risk aversion `risk_aversion` (1 / bps), volatility `sigma_bps_per_sqrt_s` and temporary
      impact `eta_bps_s` (bps per unit rate, the order per second), in units of the order;
    - "pov": market orders of `pov_rate` x the last interval's volume, the rest at the end;
    - "aggressive": the whole order as one market order at the first step;
    - "limit_hold": the whole order as one limit order at the touch, kept to the end, then the
      clean-up (the purely passive strategy).
    """
    linear = 1.0 - np.arange(1, n_steps + 1) / n_steps
    ac = ac_optimal(n_steps, horizon_s, sigma_bps_per_sqrt_s, eta_bps_s, 0.0, risk_aversion)
    ac_traj = np.clip(1.0 - np.cumsum(np.asarray(ac)), 0.0, 1.0)
    ac_traj[-1] = 0.0
    hold = np.ones(n_steps)
    hold[-1] = 0.0
    return {
        "twap_market": book_schedule(market, linear, 1.0),
        "twap_limit": book_schedule(market, linear, 0.0, offset_ticks=0),
        "ac_market": book_schedule(market, ac_traj, 1.0),
        "pov": book_schedule(market, hold, 1.0, pov_rate=pov_rate),
        "aggressive": book_schedule(market, np.zeros(n_steps), 1.0),
        "limit_hold": book_schedule(market, np.zeros(n_steps), 0.0, keep=True),
    }
