"""The limit order book as a `Market` for `wmjax.execution.rollout`.

One decision interval of `interval_s` seconds on one path (the step key alone draws everything
exogenous: the interval's Hawkes order flow and the latency of our messages, so two policies on
the same key meet the same flow):

1. At t = 0 the policy has seen `BookObservation` and sends one message batch (`BookAction`): a
   market order, a new limit order at one of `offsets_ticks` from its own best quote (priced from
   the book it saw), and the cancel of its resting limit order (unless `keep`). The batch
   reaches the book after one latency drawn from the `LatencyScenario`, capped at the interval.
2. The interval's order flow (`wmjax.market.flow`, at most `events_per_step` events; more are
   dropped, masked and counted in `flow_overflow`) runs event by event. Until our messages
   arrive the old limit order still rests and can fill; on arrival the old one is cancelled, the
   market order walks the book (taking its liquidity), and the limit order joins the back of the
   queue at its price. Limit orders are post-only: a price that would cross the book on arrival
   slides to one tick inside the opposite quote. Resting own orders are virtual (hftbacktest's
   rule, see `wmjax.market._book_orders`): queue position and fills follow the exogenous trades
   and cancellations, and the flow itself never depends on them.
3. Sizes are capped on arrival by what is still unfilled, so a buy never ends with more than its
   quantity.

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

import dataclasses
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, positive, positive_int, require
from wmjax.hawkes import EmpiricalSizes, HawkesParams, stationary_intensity
from wmjax.market import _flow as flow
from wmjax.market._book import BookState, Side, best_prices, book_from_levels, market_order
from wmjax.market._book import walk_book as _walk
from wmjax.market._book_orders import (
    BookEvent,
    OrderStatus,
    OwnOrders,
    _apply_event,
    _level_volume,
    _queue_update,
    no_orders,
)
from wmjax.market._latency import (
    LATENCY_SAMPLERS,
    LatencyScenario,
    check_latency_scenario,
    latency_scenario,
    sample_latency_us,
)
from wmjax.market._protocol import Fills

DEPTH_LEVELS = 3  # levels per side in the observation


@struct.dataclass
class BookParams:
    """Parameters of the book market (a PyTree; vmap over it).

    Attributes:
        flow: `FlowParams` of the Hawkes order flow (rates per second).
        seed_book: `BookState` every path starts from (before the warm-up).
        tick_size: price units per tick.
        latency: one-way latency of our messages.
        prior_volume_rate_shares_per_s: market volume rate shown before any interval has printed
            (POV's first interval), shares per second.
        beyond_depth_penalty_ticks: clean-up price, beyond the visible depth, in ticks past the
            deepest visible level.
        temperature: 0 for the exact simulator; > 0 relaxes the level choice (see module doc).
    """

    flow: flow.FlowParams
    seed_book: BookState
    tick_size: jax.Array
    latency: LatencyScenario
    prior_volume_rate_shares_per_s: jax.Array
    beyond_depth_penalty_ticks: jax.Array
    temperature: jax.Array


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
    tick_size: jax.Array
    latency_us: jax.Array


@struct.dataclass
class BookStats:
    """Cumulative per-path counters of the parent order (shares in its direction)."""

    passive_shares: jax.Array  # filled by our limit orders
    market_shares: jax.Array  # filled by our market orders before the horizon
    cleanup_shares: jax.Array  # filled by the clean-up at the horizon
    beyond_depth_shares: jax.Array  # clean-up shares beyond the visible depth (penalised)
    limit_posted_shares: jax.Array  # limit order shares that reached the book
    market_volume_shares: jax.Array  # traded by the exogenous flow (policy-free for limit-only)
    flow_overflow: jax.Array  # int32: intervals whose order flow exceeded `events_per_step`
    flow_events: jax.Array  # int32: order-flow events run


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
    n_steps: int = struct.field(pytree_node=False)


@struct.dataclass
class _Carry:
    book: BookState
    anchor: jax.Array
    own: OwnOrders
    weights: jax.Array
    remaining: jax.Array
    arrived: jax.Array
    filled: jax.Array
    notional_ticks: jax.Array
    passive: jax.Array
    market: jax.Array
    posted: jax.Array
    volume: jax.Array
    signed_volume: jax.Array
    sq_mid: jax.Array


def _quotes(book: BookState, anchor) -> jax.Array:
    """(best bid, best ask) in ticks, the last known one standing in for an empty side."""
    bid, ask, has_bid, has_ask = best_prices(book)
    return jnp.stack([jnp.where(has_bid, bid, anchor[0]), jnp.where(has_ask, ask, anchor[1])])


def _direction(side) -> jax.Array:
    return (1 - 2 * side).astype(jnp.int32)  # +1 for own bids (a buy)


@dataclass(frozen=True)
class BookMarket:
    """The Hawkes-driven order book as a market (static configuration; `wmjax.market.Market`).

    Attributes:
        events_per_step: capacity of the order-flow buffer of one interval (and the warm-up).
        offsets_ticks: candidate limit prices, ticks behind our own best quote (0: join it,
            -1: improve it by one tick, 1: one tick behind).
        trading_day_s: seconds in a trading day (the order's horizon is in days).
        latency_method: latency sampler, "lognormal" or "truncnormal".
        queue_power: n of the power-law cancellation rule for our queue position.
    """

    events_per_step: int = 128
    offsets_ticks: tuple[int, ...] = (-1, 0, 1, 2)
    trading_day_s: float = 23400.0
    latency_method: str = "lognormal"
    queue_power: float = 1.0

    def __post_init__(self):
        positive_int("events_per_step", self.events_per_step)
        require(len(self.offsets_ticks) >= 1, "offsets_ticks needs at least one offset")
        require(
            all(isinstance(o, int) for o in self.offsets_ticks),
            f"offsets_ticks must be integers (ticks), got {self.offsets_ticks}",
        )
        require(
            self.latency_method in LATENCY_SAMPLERS,
            f"latency_method must be one of {LATENCY_SAMPLERS}",
        )
        positive("trading_day_s", self.trading_day_s)
        positive("queue_power", self.queue_power)

    @property
    def n_offsets(self) -> int:
        return len(self.offsets_ticks)

    # -- the protocol -------------------------------------------------------------------------

    def init(self, key, params: BookParams, order, n_steps: int) -> BookMarketState:
        """The seed book with each level's size scaled by an independent uniform(0.5, 1.5)
        drawn from `key` (so paths start from different depth profiles)."""
        side = jnp.where(jnp.asarray(order.side) > 0, Side.BID, Side.ASK).astype(jnp.int32)
        seed = params.seed_book
        scale = jax.random.uniform(key, seed.size_shares.shape, jnp.float32, 0.5, 1.5)
        size = jnp.where(
            seed.size_shares > 0, jnp.maximum(jnp.round(seed.size_shares * scale), 1.0), 0.0
        ).astype(jnp.int32)
        book = seed.replace(
            size_shares=size,
            added_shares=seed.added_shares - jnp.sum(seed.size_shares) + jnp.sum(size),
        )
        bid, ask, _, _ = best_prices(book)
        interval_s = jnp.asarray(order.horizon_days, jnp.float32) * self.trading_day_s / n_steps
        zero = jnp.float32(0.0)
        k = self.n_offsets
        return BookMarketState(
            book=book,
            anchor_ticks=jnp.stack([bid, ask]),
            own=no_orders(k, self.queue_power),
            weights=jnp.zeros(k, jnp.float32),
            remaining_shares=jnp.asarray(order.quantity_shares, jnp.float32),
            side=side,
            step=jnp.int32(0),
            interval_s=interval_s,
            volume_shares=params.prior_volume_rate_shares_per_s * interval_s,
            trade_imbalance=zero,
            volatility_ticks=zero,
            stats=BookStats(zero, zero, zero, zero, zero, zero, jnp.int32(0), jnp.int32(0)),
            n_steps=n_steps,
        )

    def observe(self, state: BookMarketState, params: BookParams) -> BookObservation:
        book = state.book
        quotes = _quotes(book, state.anchor_ticks).astype(jnp.float32)
        depth = book.size_shares[:, :DEPTH_LEVELS].astype(jnp.float32)
        top = depth[:, 0]
        live = (state.own.status == OrderStatus.RESTING).astype(jnp.float32) * state.weights
        return BookObservation(
            mid=0.5 * (quotes[0] + quotes[1]) * params.tick_size,
            spread_ticks=quotes[1] - quotes[0],
            bid_depth_shares=depth[Side.BID],
            ask_depth_shares=depth[Side.ASK],
            imbalance=(top[0] - top[1]) / jnp.maximum(top[0] + top[1], 1.0),
            trade_imbalance=state.trade_imbalance,
            volume_shares=state.volume_shares,
            volatility_ticks=state.volatility_ticks,
            queue_ahead_shares=jnp.sum(live * state.own.queue_ahead_shares),
            resting_shares=jnp.sum(live * state.own.remaining_shares),
            tick_size=params.tick_size,
            latency_us=jnp.asarray(params.latency.one_way_latency_us, jnp.float32),
        )

    def step(self, key, state: BookMarketState, action: BookAction, params: BookParams):
        d = _direction(state.side)
        quotes = _quotes(state.book, state.anchor_ticks)
        prices = quotes[state.side] - d * jnp.asarray(self.offsets_ticks, jnp.int32)
        logits = jnp.asarray(action.offset_logits, jnp.float32)
        t = params.temperature
        soft = jax.nn.softmax(logits / jnp.where(t > 0, t, 1.0))
        hard = jax.nn.one_hot(jnp.argmax(logits), self.n_offsets, dtype=jnp.float32)
        new_weights = jnp.where(t > 0, soft, hard)
        carry = _Carry(
            book=state.book,
            anchor=state.anchor_ticks,
            own=state.own,
            weights=state.weights,
            remaining=state.remaining_shares,
            arrived=jnp.asarray(False),
            **{f: jnp.float32(0.0) for f in _COUNTERS},
        )
        carry, overflow, count = _run_interval(
            self, key, state.side, carry, action, prices, new_weights, params, state.interval_s
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
            flow_overflow=s.flow_overflow + overflow.astype(jnp.int32),
            flow_events=s.flow_events + count,
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
            volatility_ticks=jnp.sqrt(carry.sq_mid),
            stats=stats,
        )
        return next_state, Fills(
            shares=filled, notional=notional, market_volume_shares=jnp.maximum(carry.volume, 1.0)
        )

    def mirror(self, params: BookParams) -> BookParams:
        raise NotImplementedError(
            "the order book's Hawkes flow has no antithetic twin; use RolloutConfig(antithetic="
            "False) with BookMarket"
        )


_COUNTERS = (
    "filled",
    "notional_ticks",
    "passive",
    "market",
    "posted",
    "volume",
    "signed_volume",
    "sq_mid",
)


def _arrive(side, c: _Carry, action: BookAction, prices, new_weights) -> _Carry:
    """Our message batch reaches the book (see the module doc)."""
    opp = 1 - side
    d = _direction(side)
    keep = action.keep > 0.5
    # the old limit orders are cancelled (their fills so far are already counted)
    live = c.own.status == OrderStatus.RESTING
    status = jnp.where(live & ~keep, OrderStatus.DONE, c.own.status)
    # market order: the continuous walk prices it, the integer book takes it
    m = jnp.minimum(jnp.maximum(action.market_shares, 0.0), c.remaining)
    fills, filled, _ = _walk(c.book, opp, m)
    notional = jnp.sum(fills * c.book.price_ticks[opp].astype(jnp.float32))
    taken = jnp.round(jax.lax.stop_gradient(filled)).astype(jnp.int32)
    book, _, _ = market_order(c.book, opp, taken)
    remaining = c.remaining - filled
    # new limit orders, post-only, join the back of the queue
    quotes = _quotes(book, c.anchor)
    inside = quotes[opp] - d
    price = jnp.where(d * prices >= d * quotes[opp], inside, prices)
    size = jnp.minimum(jnp.maximum(action.limit_shares, 0.0), remaining)
    post = ~keep & (size > 0)
    ahead = jax.vmap(_level_volume, (None, None, 0))(book, side, price)
    own = c.own.replace(
        status=jnp.where(post, OrderStatus.RESTING, status).astype(jnp.int32),
        side=jnp.where(post, side, c.own.side).astype(jnp.int32),
        price_ticks=jnp.where(post, price, c.own.price_ticks).astype(jnp.int32),
        remaining_shares=jnp.where(post, size, c.own.remaining_shares),
        filled_shares=jnp.where(post, 0.0, c.own.filled_shares),
        notional_ticks=jnp.where(post, 0.0, c.own.notional_ticks),
        queue_ahead_shares=jnp.where(post, ahead, c.own.queue_ahead_shares),
    )
    return c.replace(
        book=book,
        own=own,
        weights=jnp.where(keep, c.weights, new_weights),
        remaining=remaining,
        arrived=jnp.asarray(True),
        filled=c.filled + filled,
        notional_ticks=c.notional_ticks + notional,
        market=c.market + filled,
        posted=c.posted + jnp.where(post, size, 0.0),
    )


def _event(c: _Carry, ev: dict, valid, params) -> _Carry:
    """One exogenous flow event, `ev` the per-event fields of `FlowEvents` but the time
    (masked when `valid` is False)."""
    kind, side, price, size = flow.flow_event(params, c.book, c.anchor, **ev)
    size = jnp.where(valid, size, 0)
    after, fills = _apply_event(c.book, kind, side, price, size)
    own = _queue_update(c.own, c.book, after, kind, side, price, size, fills)
    w = c.weights
    d_fill = jnp.sum(w * (own.filled_shares - c.own.filled_shares))
    d_notional = jnp.sum(w * (own.notional_ticks - c.own.notional_ticks))
    anchor = _quotes(after, c.anchor)
    traded = jnp.sum(fills).astype(jnp.float32)
    sign = jnp.where(side == Side.ASK, 1.0, -1.0)
    is_trade = kind == BookEvent.MARKET
    d_mid = 0.5 * jnp.sum(anchor - c.anchor).astype(jnp.float32)
    return c.replace(
        book=after,
        anchor=anchor,
        own=own,
        remaining=c.remaining - d_fill,
        filled=c.filled + d_fill,
        notional_ticks=c.notional_ticks + d_notional,
        passive=c.passive + d_fill,
        volume=c.volume + jnp.where(is_trade, traded, 0.0),
        signed_volume=c.signed_volume + jnp.where(is_trade, sign * traded, 0.0),
        sq_mid=c.sq_mid + d_mid**2,
    )


def _run_interval(market, key, side, c: _Carry, action, prices, new_weights, params, interval_s):
    """The interval's flow with our messages arriving after the latency; returns the carry."""
    k_flow, k_latency = jax.random.split(key)
    events = flow.sample_flow(k_flow, params.flow, interval_s, market.events_per_step)
    latency_s = sample_latency_us(k_latency, params.latency, (), market.latency_method) * 1e-6
    latency_s = jnp.minimum(latency_s, interval_s)
    valid = jnp.arange(market.events_per_step) < events.count

    def body(c, x):
        ev, t, ok = x
        # the appended empty slot at t = inf delivers messages later than every event
        due = ~c.arrived & (t >= latency_s)
        arrived = _arrive(side, c, action, prices, new_weights)
        c = jax.tree.map(lambda a, b: jnp.where(due, a, b), arrived, c)
        return _event(c, ev, ok, params.flow), None

    def pad(x, value):
        return jnp.concatenate([x, jnp.full((1,), value, x.dtype)])

    per_event = {
        f.name: pad(getattr(events, f.name), 0)
        for f in dataclasses.fields(events)
        if f.name not in ("times_s", "count", "overflow")
    }
    times = pad(jnp.where(valid, events.times_s, jnp.inf), jnp.inf)
    c, _ = jax.lax.scan(body, c, (per_event, times, pad(valid, False)))
    return c, events.overflow, jnp.sum(valid).astype(jnp.int32)


def _clean_up(c: _Carry, side, penalty_ticks):
    """The horizon's market order for what remains: (shares, beyond-depth shares, notional in
    ticks, book after it). Shares beyond the visible depth pay the deepest visible price (the
    last known quote if the side is empty) plus `penalty_ticks`, against us."""
    opp = 1 - side
    d = _direction(side)
    fills, filled, _ = _walk(c.book, opp, c.remaining)
    prices = c.book.price_ticks[opp].astype(jnp.float32)
    sizes = c.book.size_shares[opp]
    deepest = jnp.where(
        jnp.any(sizes > 0),
        prices[jnp.maximum(jnp.sum(sizes > 0) - 1, 0)],
        c.anchor[opp].astype(jnp.float32),
    )
    beyond = jnp.maximum(c.remaining - filled, 0.0)
    notional = jnp.sum(fills * prices) + beyond * (deepest + d * penalty_ticks)
    taken = jnp.round(jax.lax.stop_gradient(filled)).astype(jnp.int32)
    book, _, _ = market_order(c.book, opp, taken)
    return c.remaining, beyond, notional, book


# -- a default, liquid-stock-like parameter set ---------------------------------------------------


def book_params(
    latency: str | LatencyScenario = "co-lo",
    *,
    levels: int = 10,
    mid_ticks: int = 10_000,
    tick_size: float = 0.01,
    depth_shares: float = 500.0,
    rate_scale: float = 1.0,
    beyond_depth_penalty_ticks: float = 5.0,
    temperature: float = 0.0,
    flow_params: flow.FlowParams | None = None,
) -> BookParams:
    """Checked `BookParams` of a liquid stock: a $100 stock with a one-tick spread, `levels`
    levels of `depth_shares` per side, and a Hawkes flow of about 35 events per second with
    bursts of about 20 ms (decay 50 / s), so that latency matters.

    `latency` is a preset name ("co-lo", "proximity", "cloud", "retail") or a `LatencyScenario`;
    `flow_params` replaces the built-in flow (e.g. `calibrate_flow(...).params`).
    """
    scenario = latency_scenario(latency)
    check_latency_scenario(scenario)
    levels = positive_int("levels", levels)
    positive_int("mid_ticks", mid_ticks, minimum=levels + 1)
    positive("tick_size", tick_size)
    positive("depth_shares", depth_shares)
    positive("rate_scale", rate_scale)
    positive("beyond_depth_penalty_ticks", beyond_depth_penalty_ticks, allow_zero=True)
    positive("temperature", temperature, allow_zero=True)
    if flow_params is None:
        flow_params = default_flow(rate_scale)
    flow.check_flow(flow_params)
    ask = mid_ticks + np.arange(levels)
    bid = mid_ticks - 1 - np.arange(levels)
    size = np.full(levels, int(depth_shares))
    seed = book_from_levels(ask, size, bid, size, levels)
    rates = np.asarray(stationary_intensity(flow_params.hawkes))
    values = np.asarray(flow_params.sizes.values)
    weights = np.asarray(flow_params.sizes.weights)
    mean_size = (values * weights).sum(1) / weights.sum(1)
    market = [flow.FlowType.MARKET_BUY, flow.FlowType.MARKET_SELL]
    f32 = lambda x: jnp.asarray(finite_array("param", x), jnp.float32)  # noqa: E731
    return BookParams(
        flow=flow_params,
        seed_book=seed,
        tick_size=f32(tick_size),
        # one static label for every scenario, so that all four share one compiled program
        latency=LatencyScenario(
            "book", f32(scenario.one_way_latency_us), f32(scenario.jitter_us), False
        ),
        prior_volume_rate_shares_per_s=f32(float((rates[market] * mean_size[market]).sum())),
        beyond_depth_penalty_ticks=f32(beyond_depth_penalty_ticks),
        temperature=f32(temperature),
    )


def default_flow(rate_scale: float = 1.0) -> flow.FlowParams:
    """The built-in order flow (`FlowType` order): per side, limit orders 6/s, cancels 3/s and
    market orders 0.8/s at baseline; self-excitation 0.26 and cross-excitation 0.04 with a 20 ms
    decay (branching ratio 0.5, about 40 events/s in all); placements at the best or up to 4
    ticks behind it (power law), or 1-10 ticks inside it (a third; capped one tick short of the
    opposite quote, so a wide spread closes fast); half the cancels at the best level, each
    taking 20%, 50% or all of a level (weights 4:2:1); sizes of 100-400 shares (market orders
    50-300)."""
    mu = np.array([6.0, 6.0, 3.0, 3.0, 0.8, 0.8]) * rate_scale
    alpha = np.full((6, 6), 0.04) + np.diag([0.26] * 6)
    hawkes = HawkesParams.create(mu, alpha, 50.0)
    behind = flow.power_law_depths(1.0, 5)[0]
    # improving offsets close a wide spread fast; with a one-tick spread they join the best
    offsets = np.concatenate([behind, np.full(10, 0.05 * behind.sum())])
    sizes = EmpiricalSizes(
        values=jnp.asarray(
            np.array([[100.0, 200.0, 300.0, 400.0]] * 4 + [[50.0, 100.0, 200.0, 300.0]] * 2)
        ),
        weights=jnp.asarray(np.array([[4, 3, 2, 1]] * 4 + [[3, 3, 2, 2]] * 2, float)),
    )
    return flow.FlowParams.create(
        hawkes,
        np.stack([offsets, offsets]),
        sizes,
        min_offset_ticks=-4,
        cancel_best_share=0.5,
        cancel_fractions=(0.2, 0.5, 1.0),
        cancel_fraction_weights=(4.0, 2.0, 1.0),
    )
