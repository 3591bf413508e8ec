"""The model market of the market-making literature, as a vmapped init/step simulator.

The mid is arithmetic Brownian motion, S_{k+1} = S_k + sigma·sqrt(dt)·Z_k, plus a jump of
`jump` (epsilon, price units) in the direction of every market order (adverse selection,
Cartea, Jaimungal & Penalva 2015 §10.4). Buy and sell market orders arrive as Poisson processes of
rate `mo_rate` per side (per unit time); in a step of length dt one arrives with probability
mo_rate·dt. A market order fills our resting quote at depth delta (price units from the mid)
with probability min(1, exp(-decay_k·delta)), so the fill intensity at depth delta is
A·exp(-k·delta) as in Avellaneda & Stoikov (2008), with A = mo_rate and k = decay_k. Fills are one
unit each.

Toxic flow (optional, off by default): information events start at rate `info_start_rate` and
end at rate `info_end_rate` (per unit time), each on a side s = ±1 with equal odds; while one
lasts, informed market orders add `informed_rate` per unit time to side s and the mid drifts by
s·`info_drift` per unit time (the information coming out), in the manner of the sequential-trade
models behind PIN and VPIN (Easley, Kiefer, O'Hara & Paperman 1996; Easley, López de Prado &
O'Hara 2012). The market maker sees the public tape's VPIN and signed order imbalance on a volume
clock of `vpin_bucket` orders (`wmjax.market.vpin_update`) and the Hawkes-intensity imbalance
of the tape under a given (fitted) Hawkes model of the market orders
(`wmjax.market.hawkes_imbalance`), never the information state.

`QuoteMarket` is this market on the `Market` protocol: a strategy `(params, QuoteObservation)
-> Quotes` runs on it through `wmjax.execution.rollout` (`wmjax.strategies.simulate_quotes`).
Exogenous draws (mid noise, arrivals, fill uniforms) come from the step key only, never from
the quotes: two strategies run on the same key face the same market orders (common random
numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int, require


@struct.dataclass
class QuoteMarketParams:
    """Parameters of the model market (floats; vmap or differentiate over any of them).

    Attributes:
        mid0: initial mid, price units.
        sigma: volatility of the mid, price units per sqrt(unit time).
        mo_rate: market orders per unit time on each side (A).
        decay_k: fill-probability decay per price unit of depth (k, kappa).
        jump: mid move in the market order's direction per market order (epsilon), price units.
        informed_rate: extra market orders per unit time on the informed side during an event.
        info_start_rate, info_end_rate: rates (per unit time) at which an information event
            starts (when none is on) and ends.
        info_drift: mid drift during an event, price units per unit time, in its direction.
    """

    mid0: jax.Array
    sigma: jax.Array
    mo_rate: jax.Array
    decay_k: jax.Array
    jump: jax.Array
    informed_rate: jax.Array
    info_start_rate: jax.Array
    info_end_rate: jax.Array
    info_drift: jax.Array


def quote_market_params(
    mid0: float = 100.0,
    sigma: float = 2.0,
    mo_rate: float = 140.0,
    decay_k: float = 1.5,
    jump: float = 0.0,
    informed_rate: float = 0.0,
    info_start_rate: float = 0.0,
    info_end_rate: float = 0.0,
    info_drift: float = 0.0,
) -> QuoteMarketParams:
    """Checked params; the defaults are Avellaneda & Stoikov's (2008) simulation (s = 100,
    sigma = 2, A = 140, k = 1.5) without toxic flow."""
    for name, value in (("mid0", mid0), ("sigma", sigma), ("mo_rate", mo_rate)):
        positive(name, value)
    positive("decay_k", decay_k)
    toxic = (informed_rate, info_start_rate, info_end_rate, info_drift)
    for name, value in zip(
        ("jump", "informed_rate", "info_start_rate", "info_end_rate", "info_drift"),
        (jump, *toxic),
        strict=True,
    ):
        positive(name, value, allow_zero=True)
    values = (mid0, sigma, mo_rate, decay_k, jump, *toxic)
    return QuoteMarketParams(*(jnp.float32(v) for v in values))


@struct.dataclass
class QuoteConfig:
    """Static shape of a run: `n_steps` steps of length `dt` (horizon T = n_steps·dt); the
    observed VPIN uses buckets of `vpin_bucket` market orders and a window of `vpin_window`
    buckets."""

    n_steps: int = struct.field(pytree_node=False)
    dt: float = struct.field(pytree_node=False)
    vpin_bucket: float = struct.field(pytree_node=False, default=10.0)
    vpin_window: int = struct.field(pytree_node=False, default=10)

    @property
    def horizon(self) -> float:
        return self.n_steps * self.dt


def quote_config(
    n_steps: int = 200, dt: float = 0.005, vpin_bucket: float = 10.0, vpin_window: int = 10
) -> QuoteConfig:
    """Checked config; the defaults are Avellaneda & Stoikov's (T = 1, dt = 0.005)."""
    positive_int("n_steps", n_steps)
    positive("dt", dt)
    # A step brings at most one market order per side: a bucket of >= 2 closes at most once.
    require(float(vpin_bucket) >= 2, f"vpin_bucket must be >= 2 orders, got {vpin_bucket}")
    positive_int("vpin_window", vpin_window)
    return QuoteConfig(int(n_steps), float(dt), float(vpin_bucket), int(vpin_window))


@struct.dataclass
class QuoteObservation:
    """What a market maker sees before quoting: mid (price units), inventory (units), cash
    (price units), time left to the horizon, the step index, and the tape's toxicity so far:
    VPIN, the signed order imbalance (buy - sell) / volume over the last buckets and the
    Hawkes-intensity imbalance (lambda_buy - lambda_sell) / (lambda_buy + lambda_sell)."""

    mid: jax.Array
    inventory: jax.Array
    cash: jax.Array
    time_left: jax.Array
    step: jax.Array
    vpin: jax.Array
    order_imbalance: jax.Array
    hawkes_imbalance: jax.Array


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
        vpin: (n_paths, n_steps) the VPIN the maker saw before each step.
        hawkes_imbalance: (n_paths, n_steps) the Hawkes-intensity imbalance it saw.
        informed: (n_paths, n_steps) int8 information state in each step (-1, 0, +1).
        buy_orders, sell_orders: (n_paths, n_steps) int8 market orders of each step (the tape).
        mid: (n_paths, n_steps + 1) mid before each step and at the end, price units.
        net_fills: (n_paths, n_steps) int8 our units bought minus sold in each step.
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
    vpin: jax.Array
    hawkes_imbalance: jax.Array
    informed: jax.Array
    buy_orders: jax.Array
    sell_orders: jax.Array
    mid: jax.Array
    net_fills: jax.Array


Strategy = Callable[[Any, QuoteObservation], Quotes]


@struct.dataclass
class RiskLimits:
    """Deterministic controls applied on top of any strategy (they can only remove quotes).

    Every leaf is finite (the rollout refuses NaN and inf params): a control that is off has
    its flag False and its limit 0, not an infinite limit.

    Attributes:
        position_limit: no quote that could take |inventory| above this (units), when
            `has_position_limit`.
        loss_limit: kill switch, when `has_loss_limit`: when the mark-to-market P&L at the
            start of a step is <= -loss_limit (price units), the inventory is flattened at the
            mid less `flatten_cost` per unit and quoting stops for the rest of the horizon.
        flatten_cost: price units per unit paid to flatten (half-spread plus impact).
        has_position_limit, has_loss_limit: whether each control is on.
    """

    position_limit: jax.Array
    loss_limit: jax.Array
    flatten_cost: jax.Array
    has_position_limit: jax.Array
    has_loss_limit: jax.Array

    def allows_buy(self, inventory) -> jax.Array:
        """Whether one more unit bought keeps the inventory within the limit (always, with none)."""
        return ~self.has_position_limit | (inventory + 1 <= self.position_limit)

    def allows_sell(self, inventory) -> jax.Array:
        """Whether one more unit sold keeps the inventory within the limit (always, with none)."""
        return ~self.has_position_limit | (inventory - 1 >= -self.position_limit)

    def loss_hit(self, mark_to_market) -> jax.Array:
        """Whether the kill switch fires at this mark-to-market (never, with no loss limit)."""
        return self.has_loss_limit & (mark_to_market <= -self.loss_limit)


def risk_limits(
    position_limit: float = jnp.inf, loss_limit: float = jnp.inf, flatten_cost: float = 0.0
) -> RiskLimits:
    """Checked limits; inf (the default) switches a control off (stored as a False flag)."""
    on = {}
    for name, value in (("position_limit", position_limit), ("loss_limit", loss_limit)):
        value = float(value)
        require(not np.isnan(value) and value > 0, f"{name} must be > 0 (inf: none), got {value}")
        on[name] = np.isfinite(value)
    positive("flatten_cost", flatten_cost, allow_zero=True)
    return RiskLimits(
        position_limit=jnp.float32(position_limit if on["position_limit"] else 0.0),
        loss_limit=jnp.float32(loss_limit if on["loss_limit"] else 0.0),
        flatten_cost=jnp.float32(flatten_cost),
        has_position_limit=jnp.bool_(on["position_limit"]),
        has_loss_limit=jnp.bool_(on["loss_limit"]),
    )


def markout(paths: QuotePaths, horizon_steps: int) -> jax.Array:
    """Adverse selection per path at a horizon: the sum over our fills of the mid's move against
    us from the fill's step to `horizon_steps` steps later (the horizon's mid at most), price
    units; `horizon_steps` = 1 is `paths.adverse_selection`."""
    horizon_steps = positive_int("horizon_steps", horizon_steps)
    mid = paths.mid
    n_steps = mid.shape[-1] - 1
    later = mid[..., jnp.minimum(jnp.arange(n_steps) + horizon_steps, n_steps)]
    return -(paths.net_fills * (later - mid[..., :-1])).sum(axis=-1)


def max_drawdown(mark_to_market: jax.Array) -> jax.Array:
    """Largest fall of the running mark-to-market from its running peak, per path (price units;
    last axis is time)."""
    peak = jax.lax.cummax(mark_to_market, axis=mark_to_market.ndim - 1)
    return (peak - mark_to_market).max(axis=-1)
