"""The limit order book as a `Market` for `wmjax.execution.rollout`.

One decision interval on one path (the step key alone draws everything exogenous: the
interval's Hawkes order flow and the latency of our message, so two policies on the same key
meet the same flow):

1. At the start the policy has seen `BookObservation` and sends one message batch
   (`BookAction`): a market order, a new limit order at one of `offsets_ticks` from its own
   best quote (priced from the book it saw), and the cancel of its resting limit order (unless
   `keep`; a batch with nothing in it is not sent). Its latency is drawn per message from the
   `LatencyScenario`; messages of one session arrive in order (FIFO), at their own time, in
   this interval or a later one (`max_in_flight` may be in flight; more are dropped and
   counted in `BookStatus.message_overflow`; still in flight at the horizon: `late_messages`).
2. The interval's order flow continues the Hawkes process of the previous interval (its
   excitation is carried in `flow_state`, so K intervals are exactly the process over their
   union; at most `events_per_step` events, more are dropped and counted). The clock is
   `order.horizon_days / n_steps` (1 ms to minutes), or the event clock: the policy acts after
   every `decision_events` flow events.
3. Flow events and our arrivals run as one time-ordered stream (`_book_interval`): on arrival
   the old limit order is cancelled, the market order walks the book (taking its liquidity),
   and the limit order joins the back of the queue at its price. Limit orders are post-only: a
   price that would cross the book on arrival slides to one tick inside the opposite quote.
   Resting own orders are virtual (hftbacktest's rule, see `wmjax.market._book_orders`): queue
   position and fills follow the exogenous trades and cancellations, and the flow itself never
   depends on them. Sizes are capped on arrival by what is still unfilled.
4. Passive fills open mark-outs: the mid `markout_s` later gives the adverse selection
   (`BookStats.adverse_share_ticks`).

Clean-up at the horizon: after the last interval the resting limit order is cancelled and what
is still unfilled is sent as a market order that walks the final book; shares beyond the visible
depth pay the deepest visible price plus `beyond_depth_penalty_ticks`. Its cost counts in the
fills of the last step, so every path completes and its IS includes the clean-up.

Relaxation (opt-in, `temperature > 0`): the level choice is the only discrete action. With
temperature T the K candidate limit orders all rest at once (possible exactly because they are
virtual) and their fills are averaged with weights softmax(offset_logits / T); with T = 0 (exact)
the weights are the one-hot argmax. Fill sizes are min(size, available), piecewise linear in the
sizes, and a market order's cost is the piecewise-linear walk of the book, so the relaxed IS is
differentiable almost everywhere in the policy's outputs; integer book updates caused by our own
market orders are piecewise constant (their derivative, zero, is taken as is). As T -> 0 the
relaxed rollout becomes the exact one.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive_int
from wmjax.market import _flow as flow
from wmjax.market._book import BookState, Side, best_prices, market_order
from wmjax.market._book_core import OrderStatus
from wmjax.market._book_core import quotes as _quotes
from wmjax.market._book_interval import (
    Carry,
    InFlight,
    close_markouts,
    interval_status,
    no_messages,
    own_walk,
    run_interval,
    send,
)
from wmjax.market._book_orders import OwnOrders, no_orders
from wmjax.market._book_params import BookParams, path_seed_book
from wmjax.market._book_shared import (
    candidate_weights,
    check_market_config,
    market_view,
    realised_volatility_ticks,
)
from wmjax.market._book_status import BookStatus
from wmjax.market._latency import (
    sample_latency_us,
)
from wmjax.market._protocol import Fills


@struct.dataclass
class BookAction:
    """One decision's message batch (shares are in the parent order's direction, >= 0).

    Attributes:
        market_shares: size of the market order (0: none).
        limit_shares: size of the new limit order (0: none, so the old one is just cancelled).
        offset_logits: (K,) preference over `BookMarket.offsets_ticks`; exact: the argmax level,
            relaxed: softmax(logits / temperature).
        keep: > 0.5 keeps the resting limit order where it is (no cancel, no new limit order).
    """

    market_shares: jax.Array
    limit_shares: jax.Array
    offset_logits: jax.Array
    keep: jax.Array


@struct.dataclass
class BookObservation:
    """What a policy sees before it acts (one path).

    Attributes:
        mid: mid price, price units (the last known quote stands in for an empty side).
        spread_ticks: best ask - best bid, ticks.
        bid_depth_shares / ask_depth_shares: (DEPTH_LEVELS,) shares at the best levels.
        imbalance: (bid - ask) / (bid + ask) shares at the best level, in [-1, 1].
        trade_imbalance: (buy - sell initiated) / total traded shares in the last interval.
        volume_shares: market volume traded in the last interval (a prior before the first).
        volatility_ticks: realised mid volatility of the last interval, sqrt(sum dmid^2), ticks.
        queue_ahead_shares: shares ahead of our resting limit order (0: none).
        resting_shares: unfilled shares of our resting limit order.
        resting_price_ticks: its price, ticks (relaxed: the weighted mean of the resting
            candidates' prices; 0 when none rests), so a policy can tell whether it still
            sits at the touch.
        in_flight_messages: our message batches sent and not yet arrived.
        tick_size: price units per tick.
        latency_us: the scenario's mean one-way latency of our messages, microseconds.
    """

    mid: jax.Array
    spread_ticks: jax.Array
    bid_depth_shares: jax.Array
    ask_depth_shares: jax.Array
    imbalance: jax.Array
    trade_imbalance: jax.Array
    volume_shares: jax.Array
    volatility_ticks: jax.Array
    queue_ahead_shares: jax.Array
    resting_shares: jax.Array
    resting_price_ticks: jax.Array
    in_flight_messages: jax.Array
    tick_size: jax.Array
    latency_us: jax.Array


@struct.dataclass
class BookStats:
    """Cumulative per-path counters of the parent order (shares in its direction).

    `adverse_share_ticks / markout_shares` is the mean adverse selection of our passive fills:
    d * (mid at the fill - mid `BookMarket.markout_s` later), ticks (positive: against us).
    """

    passive_shares: jax.Array  # filled by our limit orders
    market_shares: jax.Array  # filled by our market orders before the horizon
    cleanup_shares: jax.Array  # filled by the clean-up at the horizon
    beyond_depth_shares: jax.Array  # clean-up shares beyond the visible depth (penalised)
    limit_posted_shares: jax.Array  # limit order shares that reached the book
    market_volume_shares: jax.Array  # traded by the exogenous flow (policy-free for limit-only)
    flow_overflow: jax.Array  # int32: intervals whose order flow exceeded `events_per_step`
    flow_events: jax.Array  # int32: order-flow events run
    markout_shares: jax.Array  # passive fill shares whose mark-out was measured
    adverse_share_ticks: jax.Array  # sum of shares x adverse mid move, shares x ticks
    markout_missed_shares: jax.Array  # passive fills not measured (all mark-out slots busy)
    elapsed_s: jax.Array  # time simulated (the event clock's intervals vary)


@struct.dataclass
class BookMarketState:
    """State of one path: the book, our resting limit orders (K virtual candidates and their
    weights), what the parent order still needs, last-interval features and counters."""

    book: BookState
    anchor_ticks: jax.Array  # (2,) last known best bid / ask
    own: OwnOrders  # K slots, one per candidate offset
    weights: jax.Array  # (K,) weight of each candidate's fills
    remaining_shares: jax.Array
    side: jax.Array  # int32 own book side: Side.BID for a buy
    step: jax.Array
    interval_s: jax.Array
    volume_shares: jax.Array
    trade_imbalance: jax.Array
    volatility_ticks: jax.Array
    stats: BookStats
    status: BookStatus
    flow_state: flow.FlowState  # the Hawkes excitation carried from interval to interval
    in_flight: InFlight  # our messages sent but not yet at the book
    markouts: jax.Array  # (3, B) open mark-outs: due (s from now), signed shares, mid (ticks)
    n_steps: int = struct.field(pytree_node=False)


def _direction(side) -> jax.Array:
    return (1 - 2 * side).astype(jnp.int32)  # +1 for own bids (a buy)


@dataclass(frozen=True)
class BookMarket:
    """The Hawkes-driven order book as a market (static configuration; `wmjax.market.Market`).

    Attributes:
        events_per_step: capacity of the order-flow buffer of one interval.
        offsets_ticks: candidate limit prices, ticks behind our own best quote (0: join it,
            -1: improve it by one tick, 1: one tick behind).
        trading_day_s: seconds in a trading day (the order's horizon is in days).
        latency_method: latency sampler, "lognormal" or "truncnormal".
        queue_power: n of the power-law cancellation rule for our queue position.
        decision_events: 0 for the clock of `order.horizon_days / n_steps` per decision (from
            1 ms to minutes); n > 0 for the event clock: the policy acts after every n-th flow
            event (the horizon is then n * n_steps events, whatever their time).
        max_in_flight: capacity of the queue of our messages sent but not yet arrived.
        markout_s: the adverse-selection horizon after a passive fill, seconds.
        markout_slots: mark-outs open at once per path (more are counted as missed).
        early_exit: run each interval's merged stream only up to its last valid item (a while
            loop) instead of a scan over all `events_per_step + max_in_flight` slots: the same
            paths bit for bit, 1.5x faster at 10 ms decisions where most slots are padding, but
            not reverse-differentiable (exact rollouts only, temperature 0) and not allowed under
            `checkify` of a vmap (`book_paths(..., throw=True)` inside an outer `jit`).
    """

    events_per_step: int = 128
    offsets_ticks: tuple[int, ...] = (-1, 0, 1, 2)
    trading_day_s: float = 23400.0
    latency_method: str = "lognormal"
    queue_power: float = 1.0
    decision_events: int = 0
    max_in_flight: int = 4
    markout_s: float = 0.1
    markout_slots: int = 4
    early_exit: bool = False

    def __post_init__(self):
        check_market_config(self)
        positive_int("decision_events", self.decision_events, minimum=0)

    @property
    def n_offsets(self) -> int:
        return len(self.offsets_ticks)

    @property
    def flow_capacity(self) -> int:
        """Flow events per interval buffer: `decision_events` on the event clock."""
        return self.decision_events or self.events_per_step

    # -- the protocol -------------------------------------------------------------------------

    def init(self, key, params: BookParams, order, n_steps: int) -> BookMarketState:
        """The seed book with each level's size scaled by an independent uniform(0.5, 1.5)
        drawn from `key` (so paths start from different depth profiles); the flow starts empty
        (no excitation), as `wmjax.hawkes.simulate` does."""
        side = jnp.where(jnp.asarray(order.side) > 0, Side.BID, Side.ASK).astype(jnp.int32)
        book = path_seed_book(key, params)
        bid, ask, _, _ = best_prices(book)
        interval_s = jnp.asarray(order.horizon_days, jnp.float32) * self.trading_day_s / n_steps
        zero = jnp.float32(0.0)
        k = self.n_offsets
        b = self.markout_slots
        return BookMarketState(
            book=book,
            anchor_ticks=jnp.stack([bid, ask]),
            own=no_orders(k, self.queue_power).replace(side=jnp.full(k, side, jnp.int32)),
            weights=jnp.zeros(k, jnp.float32),
            remaining_shares=jnp.asarray(order.quantity_shares, jnp.float32),
            side=side,
            step=jnp.int32(0),
            interval_s=interval_s,
            volume_shares=params.prior_volume_rate_shares_per_s * interval_s,
            trade_imbalance=zero,
            volatility_ticks=zero,
            stats=BookStats(*([zero] * 6), jnp.int32(0), jnp.int32(0), *([zero] * 4)),
            status=BookStatus.zero(),
            flow_state=flow.flow_state(params.flow),
            in_flight=no_messages(self.max_in_flight, k),
            markouts=jnp.stack([jnp.full(b, jnp.inf), jnp.zeros(b), jnp.zeros(b)]).astype(
                jnp.float32
            ),
            n_steps=n_steps,
        )

    def observe(self, state: BookMarketState, params: BookParams) -> BookObservation:
        live = (state.own.status == OrderStatus.RESTING).astype(jnp.float32) * state.weights
        return BookObservation(
            **market_view(state, params),
            queue_ahead_shares=jnp.sum(live * state.own.queue_ahead_shares),
            resting_shares=jnp.sum(live * state.own.remaining_shares),
            resting_price_ticks=jnp.sum(live * state.own.price_ticks.astype(jnp.float32)),
            in_flight_messages=jnp.sum(jnp.isfinite(state.in_flight.arrival_s)).astype(jnp.float32),
        )

    def step(self, key, state: BookMarketState, action: BookAction, params: BookParams):
        """One decision interval (see the module doc); the flow continues from `flow_state`."""
        k_flow, k_latency = jax.random.split(key)
        d = _direction(state.side)
        quotes = _quotes(state.book, state.anchor_ticks)
        prices = quotes[state.side] - d * jnp.asarray(self.offsets_ticks, jnp.int32)
        limit = jnp.maximum(jnp.asarray(action.limit_shares, jnp.float32), 0.0)
        latency_s = sample_latency_us(k_latency, params.latency, (), self.latency_method) * 1e-6
        in_flight, dropped = send(
            state.in_flight,
            latency_s,
            prices,
            jnp.full(self.n_offsets, limit),
            candidate_weights(action.offset_logits, params.temperature, self.n_offsets),
            market=jnp.maximum(jnp.asarray(action.market_shares, jnp.float32), 0.0),
            keep=jnp.asarray(action.keep) > 0.5,
        )
        horizon = jnp.inf if self.decision_events else state.interval_s
        events, flow_state, end_s = flow.sample_interval(
            k_flow, params.flow, state.flow_state, horizon, self.flow_capacity
        )
        carry = Carry.start(
            state.book,
            state.anchor_ticks,
            state.own,
            state.weights,
            state.markouts,
            remaining=state.remaining_shares,
            debt=state.stats.market_shares - jax.lax.stop_gradient(state.stats.market_shares),
        )
        carry, in_flight = run_interval(
            carry,
            in_flight,
            events,
            end_s,
            params.flow,
            self.markout_s,
            sides=1,
            early_exit=self.early_exit,
        )
        last = state.step == state.n_steps - 1
        cleanup, beyond, notional_cleanup, book = _clean_up(
            carry, state.side, params.beyond_depth_penalty_ticks
        )
        cleanup = jnp.where(last, cleanup, 0.0)
        beyond = jnp.where(last, beyond, 0.0)
        book = jax.tree.map(lambda a, b: jnp.where(last, a, b), book, carry.book)
        own = carry.own.replace(
            status=jnp.where(last, OrderStatus.DONE, carry.own.status).astype(jnp.int32)
        )
        open_shares, open_adverse = close_markouts(carry, last)
        filled = carry.filled + cleanup
        notional = (
            carry.notional_ticks + jnp.where(last, notional_cleanup, 0.0)
        ) * params.tick_size
        s = state.stats
        stats = BookStats(
            passive_shares=s.passive_shares + carry.passive,
            market_shares=s.market_shares + carry.market,
            cleanup_shares=s.cleanup_shares + cleanup,
            beyond_depth_shares=s.beyond_depth_shares + beyond,
            limit_posted_shares=s.limit_posted_shares + carry.posted,
            market_volume_shares=s.market_volume_shares + carry.volume,
            flow_overflow=s.flow_overflow + events.overflow.astype(jnp.int32),
            flow_events=s.flow_events + events.count,
            markout_shares=s.markout_shares + carry.markout_shares + open_shares,
            adverse_share_ticks=s.adverse_share_ticks + carry.adverse_share_ticks + open_adverse,
            markout_missed_shares=s.markout_missed_shares + carry.markout_missed_shares,
            elapsed_s=s.elapsed_s + end_s,
        )
        next_state = state.replace(
            book=book,
            anchor_ticks=_quotes(book, carry.anchor),
            own=own,
            weights=carry.weights,
            remaining_shares=carry.remaining - cleanup,
            step=state.step + 1,
            volume_shares=carry.volume,
            trade_imbalance=carry.signed_volume / jnp.maximum(carry.volume, 1.0),
            volatility_ticks=realised_volatility_ticks(carry.sq_mid),
            stats=stats,
            status=interval_status(
                state.status, events, state.book, book, dropped, in_flight, last
            ),
            flow_state=flow_state,
            in_flight=in_flight,
            markouts=carry.due.at[0].set(jnp.where(last, jnp.inf, carry.due[0])),
        )
        return next_state, Fills(
            shares=filled, notional=notional, market_volume_shares=jnp.maximum(carry.volume, 1.0)
        )

    def mirror(self, params: BookParams) -> BookParams:
        raise NotImplementedError(
            "the order book's Hawkes flow has no antithetic twin; use RolloutConfig(antithetic="
            "False) with BookMarket"
        )


def _clean_up(c: Carry, side, penalty_ticks):
    """The horizon's market order for what remains: (shares, beyond-depth shares, notional in
    ticks, book after it). Shares beyond the visible depth pay the deepest visible price (the
    last known quote if the side is empty) plus `penalty_ticks`, against us."""
    opp = 1 - side
    d = _direction(side)
    filled, notional = own_walk(c.book, opp, c.remaining, c.debt)
    prices = c.book.price_ticks[opp].astype(jnp.float32)
    sizes = c.book.size_shares[opp]
    deepest = jnp.where(
        jnp.any(sizes > 0),
        prices[jnp.maximum(jnp.sum(sizes > 0) - 1, 0)],
        c.anchor[opp].astype(jnp.float32),
    )
    beyond = jnp.maximum(c.remaining - filled, 0.0)
    notional = notional + beyond * (deepest + d * penalty_ticks)
    taken = jnp.round(jax.lax.stop_gradient(filled)).astype(jnp.int32)
    book, _, _ = market_order(c.book, opp, taken)
    return c.remaining, beyond, notional, book
