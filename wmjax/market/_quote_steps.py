"""The model market of `wmjax.market._quote_market` on the `Market` protocol: one decision step
of a quoting strategy, with the risk controls and the tape's toxicity scores (VPIN, Hawkes-
intensity imbalance), for `wmjax.execution.rollout`."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import is_concrete, require
from wmjax.hawkes import HawkesParams
from wmjax.market._protocol import Fills
from wmjax.market._quote_market import (
    QuoteConfig,
    QuoteMarketParams,
    QuoteObservation,
    Quotes,
    RiskLimits,
)
from wmjax.market._toxicity import (
    VpinState,
    hawkes_excitation,
    hawkes_excitation_update,
    hawkes_imbalance,
    vpin_state,
    vpin_update,
    vpin_value,
)


@struct.dataclass
class QuoteSessionParams:
    """What `QuoteMarket` reads per run: the market's params, the risk controls and the Hawkes
    model of (buy, sell) market orders behind the observed intensity imbalance."""

    market: QuoteMarketParams
    limits: RiskLimits
    flow_model: HawkesParams


@struct.dataclass
class QuoteState:
    """One path: mid (price units), inventory (units), cash (price units), kill switch,
    information state (-1, 0, +1), the tape's VPIN state, the decayed (buy, sell) market-order
    counts of the Hawkes filter and the step index."""

    mid: jax.Array
    inventory: jax.Array
    cash: jax.Array
    killed: jax.Array
    info: jax.Array
    tape: VpinState
    excitation: jax.Array
    step: jax.Array


@struct.dataclass
class QuoteRecord:
    """Per-step figures kept by the rollout (`Paths.records`): quoted `spread` (NaN unless both
    sides are quoted), quote `fills` (int32), `adverse` mid move against our fills, the `vpin`
    and `hawkes_imbalance` the maker saw, the `informed` state (int8), the tape's `buy_orders`
    and `sell_orders` (int8) and our `net_fills` (int8, bought - sold, the kill switch's
    flattening excluded)."""

    spread: jax.Array
    fills: jax.Array
    adverse: jax.Array
    vpin: jax.Array
    hawkes_imbalance: jax.Array
    informed: jax.Array
    buy_orders: jax.Array
    sell_orders: jax.Array
    net_fills: jax.Array


@dataclass(frozen=True)
class QuoteMarket:
    """The model market as a `Market` for `wmjax.execution.rollout` (params:
    `QuoteSessionParams`; action: `Quotes`; observation: `QuoteObservation`).

    `Fills` in a step: shares = units bought - sold (the kill switch's flattening included),
    notional = their signed cost. The risk controls act here, on any strategy: quotes that could
    take |inventory| past the position limit are removed, and when the mark-to-market at the
    end of a step (before the last) is <= -loss_limit the inventory is flattened at that mid
    less `flatten_cost` per unit and quoting stops.
    """

    config: QuoteConfig

    def init(self, key, params: QuoteSessionParams, order, n_steps: int) -> QuoteState:
        require(
            n_steps == self.config.n_steps,
            f"the rollout has {n_steps} steps but the quote config {self.config.n_steps}",
        )
        mid0 = jnp.asarray(params.market.mid0)
        zero = jnp.zeros((), mid0.dtype)
        tape0 = vpin_state(self.config.vpin_window, mid0.dtype)
        excitation = hawkes_excitation(2, mid0.dtype)
        return QuoteState(
            mid0, zero, zero, jnp.bool_(False), jnp.int8(0), tape0, excitation, jnp.int32(0)
        )

    def observe(self, state: QuoteState, params: QuoteSessionParams) -> QuoteObservation:
        vpin, imbalance = vpin_value(state.tape, self.config.vpin_bucket)
        return QuoteObservation(
            mid=state.mid,
            inventory=state.inventory,
            cash=state.cash,
            time_left=self.config.horizon - state.step * self.config.dt,
            step=state.step,
            vpin=vpin,
            order_imbalance=imbalance,
            hawkes_imbalance=hawkes_imbalance(state.excitation, params.flow_model)[0],
        )

    def step(self, key, state: QuoteState, action: Quotes, params: QuoteSessionParams):
        dt, p, limits = self.config.dt, params.market, params.limits
        mid, q, cash, info = state.mid, state.inventory, state.cash, state.info
        quotes = action.replace(
            bid_on=action.bid_on & ~state.killed & limits.allows_buy(q),
            ask_on=action.ask_on & ~state.killed & limits.allows_sell(q),
        )
        bid_depth = jnp.asarray(quotes.bid_depth, mid.dtype)
        ask_depth = jnp.asarray(quotes.ask_depth, mid.dtype)
        k_mid, k_order = jax.random.split(key)
        # The information draws get their own stream so the others match the market without it.
        k_info = jax.random.fold_in(key, 1)
        z = jax.random.normal(k_mid, dtype=mid.dtype)
        # One uniform per side (buy, sell market order): one arrives when u < A·dt and fills our
        # quote when u < A·exp(-k·delta)·dt, so fills at delta >= 0 are a subset of arrivals.
        u = jax.random.uniform(k_order, (2,), dtype=mid.dtype)
        informed = jnp.stack([info > 0, info < 0]).astype(mid.dtype)
        rate = p.mo_rate + p.informed_rate * informed
        arrive = u < rate * dt
        rate_dt = rate * dt * jnp.exp(-p.decay_k * jnp.stack([ask_depth, bid_depth]))
        sold = quotes.ask_on & (u[0] < rate_dt[0])
        bought = quotes.bid_on & (u[1] < rate_dt[1])
        paid = jnp.where(bought, mid - bid_depth, 0.0) - jnp.where(sold, mid + ask_depth, 0.0)
        net = bought.astype(q.dtype) - sold.astype(q.dtype)
        jump = p.jump * (arrive[0].astype(mid.dtype) - arrive[1].astype(mid.dtype))
        drift = p.info_drift * info.astype(mid.dtype) * dt
        mid_next = mid + p.sigma * jnp.sqrt(dt) * z + jump + drift
        move = mid_next - mid
        u_switch, u_side = jax.random.uniform(k_info, (2,), dtype=mid.dtype)
        start = (info == 0) & (u_switch < p.info_start_rate * dt)
        end = (info != 0) & (u_switch < p.info_end_rate * dt)
        info_next = jnp.where(start, jnp.where(u_side < 0.5, 1, -1), jnp.where(end, 0, info))
        # the kill switch reads the mark at the next step's mid, before that step's quotes
        q_next, cash_next = q + net, cash - paid
        live = state.step < self.config.n_steps - 1
        kill = live & ~state.killed & limits.loss_hit(cash_next + q_next * mid_next)
        flat_paid = jnp.where(kill, -q_next * mid_next + jnp.abs(q_next) * limits.flatten_cost, 0.0)
        flat_shares = jnp.where(kill, -q_next, 0.0)
        record = QuoteRecord(
            spread=jnp.where(quotes.bid_on & quotes.ask_on, ask_depth + bid_depth, jnp.nan),
            fills=sold.astype(jnp.int32) + bought,
            adverse=jnp.where(sold, move, 0.0) - jnp.where(bought, move, 0.0),
            vpin=vpin_value(state.tape, self.config.vpin_bucket)[0],
            hawkes_imbalance=hawkes_imbalance(state.excitation, params.flow_model)[0],
            informed=info,
            buy_orders=arrive[0].astype(jnp.int8),
            sell_orders=arrive[1].astype(jnp.int8),
            net_fills=net.astype(jnp.int8),
        )
        tape = vpin_update(
            state.tape,
            arrive[0].astype(mid.dtype),
            arrive[1].astype(mid.dtype),
            self.config.vpin_bucket,
        )
        next_state = QuoteState(
            mid=mid_next,
            inventory=q_next + flat_shares,
            cash=cash_next - flat_paid,
            killed=state.killed | kill,
            info=info_next.astype(jnp.int8),
            tape=tape,
            excitation=hawkes_excitation_update(
                state.excitation, params.flow_model, arrive.astype(mid.dtype), dt
            ),
            step=state.step + 1,
        )
        fills = Fills(
            shares=net + flat_shares,
            notional=paid + flat_paid,
            market_volume_shares=jnp.maximum(arrive.sum().astype(mid.dtype), 1.0),
            record=record,
        )
        return next_state, fills

    def mirror(self, params: QuoteSessionParams) -> QuoteSessionParams:
        raise NotImplementedError(
            "the model market's arrivals have no antithetic twin; use "
            "RolloutConfig(antithetic=False)"
        )


def check_quote_run(params: QuoteMarketParams, config: QuoteConfig) -> None:
    """InputError when a step could hold more than one market order per side."""
    if is_concrete(params.mo_rate, params.informed_rate):
        most = (float(params.mo_rate) + float(params.informed_rate)) * config.dt
        require(
            most <= 1.0,
            f"(mo_rate + informed_rate) * dt = {most:.3g} is the probability of a market order "
            "per side and step; use a smaller dt (more steps) so that it is <= 1",
        )


def poisson_flow_model(params: QuoteMarketParams) -> HawkesParams:
    """The market's own flow without information events as a Hawkes model: rate `mo_rate` per
    side, no excitation (its intensity imbalance is always 0)."""
    rate = jnp.asarray(params.mo_rate, jnp.float32)
    return HawkesParams(jnp.stack([rate, rate]), jnp.zeros((2, 2)), jnp.ones((2, 2)))
