"""The model market of the market-making literature, as a vmapped init/step simulator.

The mid is arithmetic Brownian motion, S_{k+1} = S_k + sigma·sqrt(dt)·Z_k, plus a jump of
`jump` (epsilon, price units) in the direction of every market order (adverse selection,
Cartea, Jaimungal & Penalva 2015 §10.4). Buy and sell market orders arrive as Poisson processes of
rate `mo_rate` per side (per unit time); in a step of length dt one arrives with probability
mo_rate·dt. A market order fills our resting quote at depth delta (price units from the mid)
with probability min(1, exp(-decay_k·delta)), so the fill intensity at depth delta is
A·exp(-k·delta) as in Avellaneda & Stoikov (2008), with A = mo_rate and k = decay_k. Fills are one
unit each.

Exogenous draws (mid noise, arrivals, fill uniforms) come from the step key only, never from
the quotes: two strategies run on the same key face the same market orders (common random
numbers). A strategy is a function `(params, QuoteObservation) -> Quotes`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import InputError, is_concrete, positive, positive_int, require


@struct.dataclass
class QuoteMarketParams:
    """Parameters of the model market (floats; vmap or differentiate over any of them).

    Attributes:
        mid0: initial mid, price units.
        sigma: volatility of the mid, price units per sqrt(unit time).
        mo_rate: market orders per unit time on each side (A).
        decay_k: fill-probability decay per price unit of depth (k, kappa).
        jump: mid move in the market order's direction per market order (epsilon), price units.
    """

    mid0: jax.Array
    sigma: jax.Array
    mo_rate: jax.Array
    decay_k: jax.Array
    jump: jax.Array


def quote_market_params(
    mid0: float = 100.0,
    sigma: float = 2.0,
    mo_rate: float = 140.0,
    decay_k: float = 1.5,
    jump: float = 0.0,
) -> QuoteMarketParams:
    """Checked params; the defaults are Avellaneda & Stoikov's (2008) simulation (s = 100,
    sigma = 2, A = 140, k = 1.5)."""
    for name, value in (("mid0", mid0), ("sigma", sigma), ("mo_rate", mo_rate)):
        positive(name, value)
    positive("decay_k", decay_k)
    positive("jump", jump, allow_zero=True)
    return QuoteMarketParams(*(jnp.float32(v) for v in (mid0, sigma, mo_rate, decay_k, jump)))


@struct.dataclass
class QuoteConfig:
    """Static shape of a run: `n_steps` steps of length `dt` (horizon T = n_steps·dt)."""

    n_steps: int = struct.field(pytree_node=False)
    dt: float = struct.field(pytree_node=False)

    @property
    def horizon(self) -> float:
        return self.n_steps * self.dt


def quote_config(n_steps: int = 200, dt: float = 0.005) -> QuoteConfig:
    """Checked config; the defaults are Avellaneda & Stoikov's (T = 1, dt = 0.005)."""
    positive_int("n_steps", n_steps)
    positive("dt", dt)
    return QuoteConfig(n_steps=int(n_steps), dt=float(dt))


@struct.dataclass
class QuoteObservation:
    """What a market maker sees before quoting: mid (price units), inventory (units), cash
    (price units), time left to the horizon and the step index."""

    mid: jax.Array
    inventory: jax.Array
    cash: jax.Array
    time_left: jax.Array
    step: jax.Array


@struct.dataclass
class Quotes:
    """Depths from the mid (price units) and whether each side is quoted."""

    bid_depth: jax.Array
    ask_depth: jax.Array
    bid_on: jax.Array
    ask_on: jax.Array


@struct.dataclass
class QuotePaths:
    """Per-path results (leading axis n_paths).

    Attributes:
        pnl: cash + inventory·mid at the horizon, price units.
        final_inventory: units.
        inventory: (n_paths, n_steps + 1) inventory before each step and at the end.
        mark_to_market: (n_paths, n_steps + 1) cash + inventory·mid, price units.
        spread: (n_paths, n_steps) quoted ask - bid where both sides are quoted, else NaN.
        fills: (n_paths,) number of fills.
        inventory_penalty: (n_paths,) sum of inventory² · dt (the running penalty's integral).
        adverse_selection: (n_paths,) sum over our fills of the mid move against us in the
            step of the fill (positive is adverse), price units.
        killed: (n_paths,) whether the kill switch fired.
    """

    pnl: jax.Array
    final_inventory: jax.Array
    inventory: jax.Array
    mark_to_market: jax.Array
    spread: jax.Array
    fills: jax.Array
    inventory_penalty: jax.Array
    adverse_selection: jax.Array
    killed: jax.Array


Strategy = Callable[[Any, QuoteObservation], Quotes]


@struct.dataclass
class RiskLimits:
    """Deterministic controls applied on top of any strategy (they can only remove quotes).

    Attributes:
        position_limit: no quote that could take |inventory| above this (units).
        loss_limit: kill switch: when the mark-to-market P&L at the start of a step is
            <= -loss_limit (price units), the inventory is flattened at the mid less
            `flatten_cost` per unit and quoting stops for the rest of the horizon.
        flatten_cost: price units per unit paid to flatten (half-spread plus impact).
    """

    position_limit: jax.Array
    loss_limit: jax.Array
    flatten_cost: jax.Array


def risk_limits(
    position_limit: float = jnp.inf, loss_limit: float = jnp.inf, flatten_cost: float = 0.0
) -> RiskLimits:
    """Checked limits; the defaults (infinite) switch both controls off."""
    for name, value in (("position_limit", position_limit), ("loss_limit", loss_limit)):
        require(float(value) > 0, f"{name} must be > 0 (inf for no limit), got {value}")
    positive("flatten_cost", flatten_cost, allow_zero=True)
    return RiskLimits(*(jnp.float32(v) for v in (position_limit, loss_limit, flatten_cost)))


def _one_path(key, params, strategy, strategy_params, config: QuoteConfig, limits: RiskLimits):
    dt = config.dt

    def body(carry, step):
        mid, q, cash, killed = carry
        kill = ~killed & (cash + q * mid <= -limits.loss_limit)
        cash = jnp.where(kill, cash + q * mid - jnp.abs(q) * limits.flatten_cost, cash)
        q = jnp.where(kill, 0.0, q)
        killed = killed | kill
        obs = QuoteObservation(
            mid=mid, inventory=q, cash=cash, time_left=config.horizon - step * dt, step=step
        )
        quotes = strategy(strategy_params, obs)
        quotes = quotes.replace(
            bid_on=quotes.bid_on & ~killed & (q + 1 <= limits.position_limit),
            ask_on=quotes.ask_on & ~killed & (q - 1 >= -limits.position_limit),
        )
        bid_depth = jnp.asarray(quotes.bid_depth, mid.dtype)
        ask_depth = jnp.asarray(quotes.ask_depth, mid.dtype)
        k_mid, k_order = jax.random.split(jax.random.fold_in(key, step))
        z = jax.random.normal(k_mid, dtype=mid.dtype)
        # One uniform per side: a market order arrives when u < A·dt and fills our quote when
        # u < A·exp(-k·delta)·dt, so fills at delta >= 0 are a subset of arrivals.
        u = jax.random.uniform(
            k_order, (2,), dtype=mid.dtype
        )  # (buy market order, sell market order)
        arrive = u < params.mo_rate * dt
        rate_dt = params.mo_rate * dt * jnp.exp(-params.decay_k * jnp.stack([ask_depth, bid_depth]))
        sold = quotes.ask_on & (u[0] < rate_dt[0])
        bought = quotes.bid_on & (u[1] < rate_dt[1])
        cash = cash + jnp.where(sold, mid + ask_depth, 0.0)
        cash = cash - jnp.where(bought, mid - bid_depth, 0.0)
        q_next = q - sold.astype(q.dtype) + bought.astype(q.dtype)
        jump = params.jump * (arrive[0].astype(mid.dtype) - arrive[1].astype(mid.dtype))
        mid_next = mid + params.sigma * jnp.sqrt(dt) * z + jump
        move = mid_next - mid
        adverse = jnp.where(sold, move, 0.0) - jnp.where(bought, move, 0.0)
        spread = jnp.where(quotes.bid_on & quotes.ask_on, ask_depth + bid_depth, jnp.nan)
        out = (q, cash + q * mid, spread, sold.astype(jnp.int32) + bought, adverse)
        return (mid_next, q_next, cash, killed), out

    mid0 = jnp.asarray(params.mid0)
    zero = jnp.zeros((), mid0.dtype)
    carry0 = (mid0, zero, zero, jnp.bool_(False))
    steps = jnp.arange(config.n_steps, dtype=jnp.int32)
    (mid, q, cash, killed), outs = jax.lax.scan(body, carry0, steps)
    inv, mtm, spread, fills, adverse = outs
    pnl = cash + q * mid
    return QuotePaths(
        pnl=pnl,
        final_inventory=q,
        inventory=jnp.append(inv, q),
        mark_to_market=jnp.append(mtm, pnl),
        spread=spread,
        fills=fills.sum(),
        inventory_penalty=(inv**2).sum() * dt,
        adverse_selection=adverse.sum(),
        killed=killed,
    )


def simulate_quotes(
    key: jax.Array,
    params: QuoteMarketParams,
    strategy: Strategy,
    strategy_params: Any,
    config: QuoteConfig,
    n_paths: int,
    limits: RiskLimits | None = None,
) -> QuotePaths:
    """Run `strategy` on `n_paths` independent paths of the model market (path p uses
    `fold_in(key, p)`), under `limits` if given; jit-able with `strategy`, `config` and
    `n_paths` static."""
    limits = risk_limits() if limits is None else limits
    if not isinstance(n_paths, int) or n_paths < 1:
        raise InputError(f"n_paths must be an integer >= 1, got {n_paths!r}")
    if is_concrete(params.mo_rate):
        require(
            float(params.mo_rate) * config.dt <= 1.0,
            f"mo_rate * dt = {float(params.mo_rate) * config.dt:.3g} is the probability of a "
            "market order per side and step; use a smaller dt (more steps) so that it is <= 1",
        )
    keys = jax.vmap(lambda p: jax.random.fold_in(key, p))(jnp.arange(n_paths))
    return jax.vmap(lambda k: _one_path(k, params, strategy, strategy_params, config, limits))(keys)


def max_drawdown(mark_to_market: jax.Array) -> jax.Array:
    """Largest fall of the running mark-to-market from its running peak, per path (price units;
    last axis is time)."""
    peak = jax.lax.cummax(mark_to_market, axis=mark_to_market.ndim - 1)
    return (peak - mark_to_market).max(axis=-1)
