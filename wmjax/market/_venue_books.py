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
import numpy as np
from flax import struct

from wmjax._checks import InputError, positive, positive_int, require
from wmjax.market import _flow as flow
from wmjax.market._book import BookState, Side, best_prices
from wmjax.market._book_core import BookEvent, apply_event, quotes
from wmjax.market._book_interval import merge_order, mid_ticks
from wmjax.market._book_params import BookParams, book_params, path_seed_book
from wmjax.market._book_status import BookStatus, book_status
from wmjax.market._latency import (
    LATENCY_SAMPLERS,
    LatencyScenario,
    latency_scenario,
    sample_latency_us,
)
from wmjax.market._protocol import Fills


@struct.dataclass
class VenueBooksParams:
    """V venues of one asset (a PyTree; vmap over it). Per-venue arrays have a leading axis V.

    Attributes:
        book: `BookParams` stacked over venues (seed book, flow, tick size); its `latency` is
            not used (see `latency_us`).
        latency_us, jitter_us: (V,) our one-way latency to each venue (lognormal), us.
        reprice_delay_us: (V,) delay after an efficient-price move before the venue reprices
            (the latency between venues), us.
        tie: () share of its gap to the efficient price a venue closes when it reprices, [0, 1].
        jump_rate_per_s, jump_ticks: efficient-price jumps (+-jump_ticks, equal odds).
        sigma_ticks_per_sqrt_s: Gaussian part of the efficient price, ticks per sqrt(s).
        fee_ticks: (V,) taker fee per share, ticks.
    """

    book: BookParams
    latency_us: jax.Array
    jitter_us: jax.Array
    reprice_delay_us: jax.Array
    tie: jax.Array
    jump_rate_per_s: jax.Array
    jump_ticks: jax.Array
    sigma_ticks_per_sqrt_s: jax.Array
    fee_ticks: jax.Array

    @property
    def n_venues(self) -> int:
        return int(self.latency_us.shape[-1])

    def with_latency(self, scenario: str | LatencyScenario) -> VenueBooksParams:
        """The same venues with our latency to every venue from `scenario` (a preset name)."""
        s = latency_scenario(scenario)
        ones = jnp.ones_like(self.latency_us)
        return self.replace(
            latency_us=ones * jnp.float32(s.one_way_latency_us),
            jitter_us=ones * jnp.float32(s.jitter_us),
        )


def _per_venue(name: str, value, n: int) -> jax.Array:
    arr = np.broadcast_to(np.asarray(value, np.float64), (n,)) if np.ndim(value) == 0 else value
    arr = np.asarray(arr, np.float64)
    require(arr.shape == (n,), f"{name} needs one value per venue ({n}), got shape {arr.shape}")
    positive(name, arr, allow_zero=True)
    return jnp.asarray(arr, jnp.float32)


def venue_books_params(
    n_venues: int = 2,
    *,
    latency: str | LatencyScenario = "co-lo",
    reprice_delay_us=(0.0, 2000.0),
    tie: float = 1.0,
    jump_rate_per_s: float = 5.0,
    jump_ticks: float = 2.0,
    sigma_ticks_per_sqrt_s: float = 0.0,
    fee_ticks=0.1,
    book: BookParams | list[BookParams] | None = None,
) -> VenueBooksParams:
    """Checked params: `n_venues` copies of `book` (default `book_params()`; or one per venue,
    same static structure), our latency to every venue from the `latency` preset, venue 0
    repricing at once and venue 1 two milliseconds late (`reprice_delay_us`, one per venue),
    the efficient price jumping 2 ticks 5 times a second, fees of 0.1 tick a share."""
    n = positive_int("n_venues", n_venues, minimum=2)
    books = book if isinstance(book, list | tuple) else [book or book_params()] * n
    require(len(books) == n, f"book needs one BookParams per venue ({n}), got {len(books)}")
    try:
        stacked = jax.tree.map(lambda *x: jnp.stack(x), *books)
    except ValueError as e:
        raise InputError(f"the venues' BookParams differ in structure: {e}") from None
    delay = _per_venue("reprice_delay_us", reprice_delay_us, n)
    require(0.0 <= float(tie) <= 1.0, f"tie must be in [0, 1], got {tie}")
    for name, value in (
        ("jump_rate_per_s", jump_rate_per_s),
        ("jump_ticks", jump_ticks),
        ("sigma_ticks_per_sqrt_s", sigma_ticks_per_sqrt_s),
    ):
        positive(name, value, allow_zero=True)
    f32 = jnp.float32
    params = VenueBooksParams(
        book=stacked,
        latency_us=jnp.zeros(n, jnp.float32),
        jitter_us=jnp.zeros(n, jnp.float32),
        reprice_delay_us=delay,
        tie=f32(tie),
        jump_rate_per_s=f32(jump_rate_per_s),
        jump_ticks=f32(jump_ticks),
        sigma_ticks_per_sqrt_s=f32(sigma_ticks_per_sqrt_s),
        fee_ticks=_per_venue("fee_ticks", fee_ticks, n),
    )
    return params.with_latency(latency)


@struct.dataclass
class VenueOrders:
    """Signed shares sent to each venue this decision (V,): > 0 buys, < 0 sells, 0 nothing."""

    shares: jax.Array


@struct.dataclass
class VenueObservation:
    """What a trader sees at a decision (books as they are now; its orders arrive later).

    mid: mean of the venues' mids, price units. bid_ticks, ask_ticks: (V,) best quotes;
    bid/ask_depth_shares: (V, L) every level's shares, at bid/ask_level_ticks (V, L) (0 for an
    empty slot); latency_us, fee_ticks: (V,) our mean latency and the fee; tick_size.
    """

    mid: jax.Array
    bid_ticks: jax.Array
    ask_ticks: jax.Array
    bid_depth_shares: jax.Array
    ask_depth_shares: jax.Array
    bid_level_ticks: jax.Array
    ask_level_ticks: jax.Array
    latency_us: jax.Array
    fee_ticks: jax.Array
    tick_size: jax.Array


@struct.dataclass
class VenueStats:
    """Per path: cash (ticks x shares relative to `ref_ticks`, fees paid), inventory, bought and
    sold (V,) shares, our orders' fees (ticks x shares) and the flow events run (V,)."""

    ref_ticks: jax.Array
    cash_ticks: jax.Array
    inventory_shares: jax.Array
    bought_shares: jax.Array
    sold_shares: jax.Array
    fees_ticks: jax.Array
    flow_events: jax.Array


@struct.dataclass
class VenueRecord:
    """Per decision: the quotes seen (V,), the efficient price (ticks from the arrival mid),
    the shares sent (V,) and the signed shares filled (V,) in the interval, the change of cash
    (ticks x shares, fees included)."""

    bid_ticks: jax.Array
    ask_ticks: jax.Array
    efficient_ticks: jax.Array
    sent_shares: jax.Array
    filled_shares: jax.Array
    cash_ticks: jax.Array


@struct.dataclass
class VenueState:
    """One path: per venue (leading axis V) the book, last known quotes, the flow's excitation,
    our orders in flight (arrival s from the interval's start, inf: free; signed shares); the
    efficient price (ticks from `stats.ref_ticks`), the decision index, stats and status."""

    book: BookState
    anchor_ticks: jax.Array
    flow_state: flow.FlowState
    arrival_s: jax.Array
    order_shares: jax.Array
    efficient_ticks: jax.Array
    step: jax.Array
    interval_s: jax.Array
    stats: VenueStats
    status: BookStatus
    n_steps: int = struct.field(pytree_node=False)


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
        venues = LatencyScenario
        latency_s = 1e-6 * jax.vmap(
            lambda k, m, j: sample_latency_us(k, venues("venue", m, j), (), self.latency_method)
        )(jax.random.split(k_latency, n), params.latency_us, params.jitter_us)
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
