"""Several order books of one asset, each with its own Hawkes flow, tied by a common efficient
price, and a latency to each venue: the market of cross-venue latency arbitrage and of smart
order routing on the book world (a `Market` for `wmjax.execution.rollout`).

Venue v is a book of the book world (`BookParams`: its seed book and Hawkes order flow,
`wmjax.market.flow`, carried from interval to interval), run by the book core; the venues are
one code path vmapped over a leading venue axis of the params and the state.

The tie (Hasbrouck 1995, "One security, many markets": each venue's price is a common efficient
price plus a stationary venue-specific deviation). The efficient price E (ticks from the
arrival mid) moves at the end of every decision interval by jumps of +-`jump_ticks` at rate
`jump_rate_per_s` (Poisson counts up and down) plus a Gaussian part of
`sigma_ticks_per_sqrt_s`. Venue v's liquidity providers learn of each move
`reprice_delay_us[v]` later (the latency between venues; 0 for the venue where the price is
discovered) and then shift the venue's whole book by round(tie x (E - mid_v)) ticks. With tie
= 0 the books are independent; with 0 < tie <= 1 each venue's deviation from E mean-reverts,
so the venues' mids are cointegrated (Engle & Granger 1987); tie = 1 re-centres a venue on E
(within half a tick) at each repricing. A venue whose delay exceeds the interval reprices at
the interval's end. After a move, a venue that has not yet repriced shows a stale quote:
the latency arbitrage of Budish, Cramton & Shim (2015).

Our orders: each decision sends one signed marketable order per venue (`VenueOrders.shares`,
> 0 buys, 0 sends nothing); it reaches venue v after a one-way latency drawn from
(`latency_us[v]`, `jitter_us[v]`), after the orders sent earlier to that venue, and walks the
book there at arrival, taking liquidity (its fills are priced level by level, plus
`fee_ticks[v]` a share). The flow, the efficient price and the latencies are drawn from the
step key only (common random numbers across strategies and latency scenarios: a scenario
rescales the same normal draws). At most `max_in_flight` orders per venue travel at once (more
are dropped and counted in `BookStatus.message_overflow`). Cash is kept in ticks relative to
the arrival mid (exact in float32); the P&L marks the inventory at the mean of the venues' mids.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from wmjax._checks import positive, positive_int, require
from wmjax.market import _flow as flow
from wmjax.market._book import BookState, Side, best_prices
from wmjax.market._book_core import BookEvent, apply_event, quotes
from wmjax.market._book_interval import merge_order, mid_ticks
from wmjax.market._book_params import path_seed_book
from wmjax.market._book_status import BookStatus, book_status
from wmjax.market._latency import (
    LATENCY_SAMPLERS,
    LatencyScenario,
    sample_latency_us,
)
from wmjax.market._protocol import Fills
from wmjax.market._venue_types import (
    VenueBooksParams,
    VenueObservation,
    VenueOrders,
    VenueRecord,
    VenueState,
    VenueStats,
)


def shift_book(book: BookState, anchor, shift_ticks):
    """Every resting level (and the last known quotes) moved by `shift_ticks` (int)."""
    s = jnp.asarray(shift_ticks, jnp.int32)
    price = jnp.where(book.size_shares > 0, book.price_ticks + s, book.price_ticks)
    return book.replace(price_ticks=price), anchor + s


def _reprice(book, anchor, target_ticks, tie):
    shift = jnp.round(tie * (target_ticks - mid_ticks(anchor)))
    return shift_book(book, anchor, shift)


def _venue_interval(
    flow_params, book, anchor, events, arrival_s, shares, reprice_s, target, tie, ref, fee, end_s
):
    """One venue's interval [0, end_s]: its flow `events`, a repricing toward `target` at
    `reprice_s` (inf: none) and our orders due by `end_s`, merged by time (ours first at equal
    times). Returns (book, anchor, cash, signed fills, fees, orders still in flight)."""
    n_f = events.times_s.shape[0]
    flow_t = jnp.where(events.mask, events.times_s, jnp.inf)
    due = arrival_s <= end_s
    special_t = jnp.concatenate([reprice_s[None], jnp.where(due, arrival_s, jnp.inf)])
    special_q = jnp.concatenate([jnp.zeros(1, jnp.float32), shares])
    src = merge_order(flow_t, special_t)
    special = src >= n_f
    fi = jnp.minimum(src, n_f - 1)
    si = jnp.maximum(src - n_f, 0)
    xs = (
        special,
        jnp.isfinite(jnp.concatenate([flow_t, special_t])[src]),
        si == 0,
        special_q[si],
        {
            f: getattr(events, f)[fi]
            for f in ("flow_type", "offset_ticks", "cancel_u", "cancel_fraction", "size_shares")
        },
    )

    def item(carry, x):
        book, anchor, cash, filled, fees = carry
        is_special, valid, is_reprice, q, ev = x
        kind_f, side_f, price_f, size_f = flow.flow_event(flow_params, book, anchor, **ev)
        ours = is_special & ~is_reprice
        buy = q > 0
        kind = jnp.where(ours, BookEvent.MARKET, kind_f)
        side = jnp.where(ours, jnp.where(buy, Side.ASK, Side.BID), side_f)
        size = jnp.where(valid, jnp.where(is_special, jnp.round(jnp.abs(q)), size_f), 0)
        after, fills = apply_event(book, kind, side, price_f, size.astype(jnp.int32))
        took = jnp.where(ours, fills.astype(jnp.float32), 0.0)
        sign = jnp.where(buy, 1.0, -1.0)
        paid = jnp.sum(took * (book.price_ticks[side] - ref).astype(jnp.float32))
        n = jnp.sum(took)
        anchor = quotes(after, anchor)
        moved = _reprice(after, anchor, target, tie)
        after, anchor = jax.tree.map(
            lambda a, b: jnp.where(is_reprice & is_special & valid, a, b), moved, (after, anchor)
        )
        carry = (after, anchor, cash - sign * paid - fee * n, filled + sign * n, fees + fee * n)
        return carry, None

    zero = jnp.float32(0.0)
    (book, anchor, cash, filled, fees), _ = jax.lax.scan(item, (book, anchor, zero, zero, zero), xs)
    left = jnp.where(due, jnp.inf, arrival_s - end_s)
    return book, anchor, cash, filled, fees, left


@dataclass(frozen=True)
class VenueBooks:
    """The venues of the module doc as a `Market` (static configuration).

    Attributes:
        events_per_step: capacity of one venue's flow buffer per interval (more: counted,
            dropped).
        max_in_flight: our orders in flight at once per venue (more are dropped and counted).
        trading_day_s: seconds per trading day (the session's horizon is in days).
        latency_method: "lognormal" or "truncnormal".
    """

    events_per_step: int = 16
    max_in_flight: int = 4
    trading_day_s: float = 23400.0
    latency_method: str = "lognormal"

    def __post_init__(self):
        positive_int("events_per_step", self.events_per_step)
        positive_int("max_in_flight", self.max_in_flight)
        positive("trading_day_s", self.trading_day_s)
        require(
            self.latency_method in LATENCY_SAMPLERS,
            f"latency_method must be one of {LATENCY_SAMPLERS}",
        )

    def init(self, key, params: VenueBooksParams, order, n_steps: int) -> VenueState:
        """Each venue's seed book with its levels scaled by independent uniforms(0.5, 1.5), no
        excitation, no orders; the efficient price at the first venue's arrival mid."""
        n = params.n_venues
        book = jax.vmap(path_seed_book)(jax.random.split(key, n), params.book)
        bid, ask, _, _ = best_prices(book)
        anchor = jnp.stack([bid, ask], axis=-1)
        g = jax.vmap(flow.flow_state)(params.book.flow)
        zv = jnp.zeros(n, jnp.float32)
        return VenueState(
            book=book,
            anchor_ticks=anchor,
            flow_state=g,
            arrival_s=jnp.full((n, self.max_in_flight), jnp.inf, jnp.float32),
            order_shares=jnp.zeros((n, self.max_in_flight), jnp.float32),
            efficient_ticks=jnp.float32(0.0),
            step=jnp.int32(0),
            interval_s=jnp.asarray(order.horizon_days, jnp.float32) * self.trading_day_s / n_steps,
            stats=VenueStats(
                mid_ticks(anchor[0]),
                jnp.float32(0.0),
                zv,
                zv,
                zv,
                jnp.float32(0.0),
                jnp.zeros(n, jnp.int32),
            ),
            status=BookStatus.zero(),
            n_steps=n_steps,
        )

    def observe(self, state: VenueState, params: VenueBooksParams) -> VenueObservation:
        q = jax.vmap(quotes)(state.book, state.anchor_ticks).astype(jnp.float32)
        tick = params.book.tick_size[0]
        price = state.book.price_ticks.astype(jnp.float32)
        size = state.book.size_shares.astype(jnp.float32)
        return VenueObservation(
            mid=jnp.mean(0.5 * (q[:, 0] + q[:, 1])) * tick,
            bid_ticks=q[:, 0],
            ask_ticks=q[:, 1],
            bid_depth_shares=size[:, Side.BID],
            ask_depth_shares=size[:, Side.ASK],
            bid_level_ticks=price[:, Side.BID],
            ask_level_ticks=price[:, Side.ASK],
            latency_us=params.latency_us,
            fee_ticks=params.fee_ticks,
            tick_size=tick,
        )

    def step(self, key, state: VenueState, action: VenueOrders, params: VenueBooksParams):
        """One decision interval (module doc). `Fills`: shares = net shares bought over the
        venues, notional = their signed cost in price units (fees included)."""
        k_flow, k_latency, k_price = jax.random.split(key, 3)
        n, dt = params.n_venues, state.interval_s

        def draw(k, mean_us, jitter_us):
            venue = LatencyScenario("venue", mean_us, jitter_us)
            return sample_latency_us(k, venue, (), self.latency_method)

        keys = jax.random.split(k_latency, n)
        latency_s = 1e-6 * jax.vmap(draw)(keys, params.latency_us, params.jitter_us)
        shares = jnp.round(jnp.asarray(action.shares, jnp.float32))
        arrival_s, order_shares, dropped = jax.vmap(_send)(
            state.arrival_s, state.order_shares, latency_s, shares
        )
        events, flow_state, end_s = jax.vmap(
            lambda k, p, f: flow.sample_interval(k, p, f, dt, self.events_per_step)
        )(jax.random.split(k_flow, n), params.book.flow, state.flow_state)
        delay_s = jnp.minimum(params.reprice_delay_us * 1e-6, dt)
        reprice_s = jnp.where(params.reprice_delay_us > 0, delay_s, jnp.inf)
        s = state.stats
        book, anchor, cash, filled, fees, left = jax.vmap(
            _venue_interval, (0, 0, 0, 0, 0, 0, 0, None, None, None, 0, 0)
        )(
            params.book.flow,
            state.book,
            state.anchor_ticks,
            events,
            arrival_s,
            order_shares,
            reprice_s,
            state.efficient_ticks + s.ref_ticks,
            params.tie,
            s.ref_ticks,
            params.fee_ticks,
            end_s,
        )
        # the efficient price moves at the interval's end; venues without delay follow at once
        k_up, k_down, k_gauss = jax.random.split(k_price, 3)
        half = 0.5 * params.jump_rate_per_s * dt
        jumps = _poisson(k_up, half) - _poisson(k_down, half)
        move = params.jump_ticks * jumps.astype(jnp.float32)
        move = move + params.sigma_ticks_per_sqrt_s * jnp.sqrt(dt) * jax.random.normal(k_gauss)
        efficient = state.efficient_ticks + move
        moved = jax.vmap(_reprice, (0, 0, None, None))(
            book, anchor, efficient + s.ref_ticks, params.tie
        )
        at_once = params.reprice_delay_us <= 0
        book, anchor = jax.tree.map(
            lambda a, b: jnp.where(at_once.reshape((n,) + (1,) * (a.ndim - 1)), a, b),
            moved,
            (book, anchor),
        )
        last = state.step == state.n_steps - 1
        late = jnp.sum(jnp.isfinite(left)).astype(jnp.int32)
        market = BookStatus.zero().replace(
            flow_overflow_intervals=jnp.sum(events.overflow).astype(jnp.int32),
            message_overflow=jnp.sum(dropped).astype(jnp.int32),
            late_messages=jnp.where(last, late, 0),
        )
        counters = jax.tree.map(lambda x: jnp.sum(x, 0), book_status(state.book, book))
        status = state.status + counters + market
        d_cash = jnp.sum(cash)
        stats = s.replace(
            cash_ticks=s.cash_ticks + d_cash,
            inventory_shares=s.inventory_shares + filled,
            bought_shares=s.bought_shares + jnp.maximum(filled, 0.0),
            sold_shares=s.sold_shares + jnp.maximum(-filled, 0.0),
            fees_ticks=s.fees_ticks + jnp.sum(fees),
            flow_events=s.flow_events + events.count,
        )
        seen = self.observe(state, params)
        net = jnp.sum(filled)
        tick = params.book.tick_size[0]
        next_state = state.replace(
            book=book,
            anchor_ticks=anchor,
            flow_state=flow_state,
            arrival_s=left,
            order_shares=order_shares,
            efficient_ticks=efficient,
            step=state.step + 1,
            stats=stats,
            status=status,
        )
        return next_state, Fills(
            shares=net,
            notional=(net * s.ref_ticks - d_cash) * tick,
            market_volume_shares=jnp.float32(1.0),
            record=VenueRecord(
                bid_ticks=seen.bid_ticks,
                ask_ticks=seen.ask_ticks,
                efficient_ticks=state.efficient_ticks,
                sent_shares=shares,
                filled_shares=filled,
                cash_ticks=d_cash,
            ),
        )

    def mirror(self, params: VenueBooksParams) -> VenueBooksParams:
        raise NotImplementedError(
            "the venues' Hawkes flows have no antithetic twin; use RolloutConfig(antithetic=False)"
        )


def _poisson(key, rate):
    """A Poisson count of mean `rate` from a key of any PRNG (JAX's Poisson sampler needs a
    threefry key: one is seeded from the key's bits)."""
    seed = jax.random.bits(key, dtype=jnp.uint32)
    return jax.random.poisson(jax.random.key(seed, impl="threefry2x32"), rate)


def _send(arrival_s, order_shares, latency_s, shares):
    """Queue one order (signed `shares`, 0: none) arriving after `latency_s` and never before
    the orders already in flight; returns (arrival_s, order_shares, 1 if dropped, else 0)."""
    free = ~jnp.isfinite(arrival_s)
    last = jnp.max(jnp.where(free, 0.0, arrival_s))
    send = shares != 0
    hit = (jnp.arange(free.shape[0]) == jnp.argmax(free)) & send & jnp.any(free)
    return (
        jnp.where(hit, jnp.maximum(latency_s, last), arrival_s),
        jnp.where(hit, shares, order_shares),
        (send & ~jnp.any(free)).astype(jnp.int32),
    )


def venue_pnl_ticks(state: VenueState) -> jax.Array:
    """Per path (any batch shape): cash + inventory marked at the mean of the venues' mids,
    ticks x shares relative to the arrival mid, fees paid."""
    mids = 0.5 * jnp.sum(state.anchor_ticks, axis=-1).astype(jnp.float32)
    s = state.stats
    mark = jnp.mean(mids, axis=-1) - s.ref_ticks
    return s.cash_ticks + jnp.sum(s.inventory_shares, axis=-1) * mark
