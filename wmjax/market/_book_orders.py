"""Own orders on the price-level book: latency, queue position, partial fills, cancels.

Own orders sit in a fixed-capacity table (`OwnOrders`, M slots). Each is submitted at `now_s`
and reaches the book `latency_us` later (draw it with `sample_latency_us` of a
`LatencyScenario`); a cancel request likewise takes effect after its own latency. Until then
the book the order meets may differ from the one it was decided on.

On arrival a market order (or the marketable part of a limit order) walks the opposite side and
takes real liquidity out of the book. A limit order then joins the back of the queue at its
price: `queue_ahead_shares` is the volume resting there. As in the open-source backtesters
(hftbacktest's queue models), resting own orders are *virtual*: they are not added to the
book's volume, which keeps the exogenous flow exactly the same whatever the policy does (common
random numbers). Exogenous events then move the order forward:

* a trade at its price first consumes the queue ahead, then fills the order;
* a trade at a worse price (the aggressor walked through its price) or an opposite limit order
  at or through its price fills it outright;
* a cancellation of c shares at its price takes c * f(ahead) / (f(ahead) + f(behind)) from the
  queue ahead, f(x) = x**n (the power-law rule of hftbacktest's `PowerProbQueueModel`; n =
  `queue_power`). With n = 1 (proportional rule, the default) the new front is monotone in the
  old one, so an order that arrives later is never ahead of one that arrived earlier.

Times are float32 seconds on the caller's clock: keep it relative to a recent origin (e.g. the
start of the decision interval) so that microsecond latencies are resolved.
"""

from __future__ import annotations

from enum import IntEnum

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive_int
from wmjax.market._book import BookState, apply_delta, market_order


class BookEvent(IntEnum):
    """Kinds of order-flow event the simulated book handles."""

    LIMIT = 0  # rest `size` at `price` on `side`
    CANCEL = 1  # remove `size` at `price` on `side`
    MARKET = 2  # hit `side` (`Side.ASK` for a buy) with `size`


class OrderStatus(IntEnum):
    """State of one own-order slot."""

    EMPTY = 0
    IN_FLIGHT = 1  # submitted, not yet at the book
    RESTING = 2  # in the queue
    DONE = 3  # filled, cancelled, or a market order's unfilled rest dropped


@struct.dataclass
class OwnOrders:
    """M own-order slots (arrays (M,)); `side` is the order's own side (`Side.BID` = buy).

    `queue_ahead_shares` is the visible volume ahead of the order at its price;
    `filled_shares` and `notional_ticks` (sum of fill price x shares) accumulate over its life.
    `overflow` is set when a submission found no empty slot (it is then dropped).
    """

    status: jax.Array  # int32 OrderStatus
    side: jax.Array  # int32 Side
    is_market: jax.Array  # bool
    price_ticks: jax.Array  # int32 (limit price; ignored for market orders)
    remaining_shares: jax.Array  # float32
    filled_shares: jax.Array  # float32
    notional_ticks: jax.Array  # float32, sum of fill price (ticks) x shares
    queue_ahead_shares: jax.Array  # float32
    arrival_s: jax.Array  # float32, when the order reaches the book
    cancel_s: jax.Array  # float32, when its cancel reaches the book (inf: none)
    queue_power: jax.Array  # () float32, n of the cancellation rule
    overflow: jax.Array  # () bool


def no_orders(capacity: int, queue_power: float = 1.0) -> OwnOrders:
    """An empty table of `capacity` own-order slots with cancellation exponent `queue_power`."""
    m = positive_int("capacity", capacity)
    zf = jnp.zeros(m, jnp.float32)
    zi = jnp.zeros(m, jnp.int32)
    return OwnOrders(
        status=zi,
        side=zi,
        is_market=jnp.zeros(m, bool),
        price_ticks=zi,
        remaining_shares=zf,
        filled_shares=zf,
        notional_ticks=zf,
        queue_ahead_shares=zf,
        arrival_s=zf,
        cancel_s=jnp.full(m, jnp.inf, jnp.float32),
        queue_power=jnp.asarray(queue_power, jnp.float32),
        overflow=jnp.asarray(False),
    )


def submit_order(
    own: OwnOrders, side, size_shares, now_s, latency_us, price_ticks=0, is_market=False
) -> tuple[OwnOrders, jax.Array]:
    """Send an order of `size_shares` on own `side`; it reaches the book at now + latency.

    Returns `(own, slot)`; with no empty slot the order is dropped, `overflow` is set and slot is
    -1. A non-positive size is ignored (slot -1).
    """
    free = own.status == OrderStatus.EMPTY
    size = jnp.asarray(size_shares, jnp.float32)
    ok = jnp.any(free) & (size > 0)
    slot = jnp.argmax(free)
    hit = (jnp.arange(free.shape[0]) == slot) & ok
    arrival = jnp.asarray(now_s, jnp.float32) + jnp.asarray(latency_us, jnp.float32) * 1e-6

    def put(field, value):
        return jnp.where(hit, jnp.asarray(value, field.dtype), field)

    own = own.replace(
        status=put(own.status, OrderStatus.IN_FLIGHT),
        side=put(own.side, side),
        is_market=put(own.is_market, is_market),
        price_ticks=put(own.price_ticks, price_ticks),
        remaining_shares=put(own.remaining_shares, size),
        filled_shares=put(own.filled_shares, 0.0),
        notional_ticks=put(own.notional_ticks, 0.0),
        queue_ahead_shares=put(own.queue_ahead_shares, 0.0),
        arrival_s=put(own.arrival_s, arrival),
        cancel_s=put(own.cancel_s, jnp.inf),
        overflow=own.overflow | (~jnp.any(free) & (size > 0)),
    )
    return own, jnp.where(ok, slot, -1)


def cancel_own(own: OwnOrders, slot, now_s, latency_us) -> OwnOrders:
    """Request the cancel of order `slot`; it takes effect at now + latency (fills before count)."""
    at = jnp.asarray(now_s, jnp.float32) + jnp.asarray(latency_us, jnp.float32) * 1e-6
    hit = jnp.arange(own.status.shape[0]) == slot
    return own.replace(cancel_s=jnp.where(hit, jnp.minimum(own.cancel_s, at), own.cancel_s))


def _level_volume(book: BookState, side, price) -> jax.Array:
    """Shares resting at `price` on `side` (0 when there is no such level); vmaps over orders."""
    at = (book.price_ticks[side] == price) & (book.size_shares[side] > 0)
    return jnp.sum(jnp.where(at, book.size_shares[side], 0)).astype(jnp.float32)


def _arrive(book: BookState, own: OwnOrders, now_s) -> tuple[BookState, OwnOrders]:
    """Orders whose arrival time has come reach the book, one slot after the other."""

    def one(book, i):
        arriving = (own.status[i] == OrderStatus.IN_FLIGHT) & (own.arrival_s[i] <= now_s)
        side = own.side[i]
        opposite = 1 - side
        price = own.price_ticks[i]
        limit = jnp.where(
            own.is_market[i], jnp.where(side == 0, jnp.iinfo(jnp.int32).max, 0), price
        )
        size = jnp.where(arriving, jnp.round(own.remaining_shares[i]), 0.0)
        new_book, fills, _ = market_order(book, opposite, size.astype(jnp.int32), limit)
        filled = jnp.sum(fills).astype(jnp.float32)
        notional = jnp.sum(fills * book.price_ticks[opposite]).astype(jnp.float32)
        left = own.remaining_shares[i] - filled
        rests = arriving & ~own.is_market[i] & (left > 0)
        ahead = _level_volume(new_book, side, price)
        out = {
            "filled": jnp.where(arriving, filled, 0.0),
            "notional": jnp.where(arriving, notional, 0.0),
            "status": jnp.where(
                arriving,
                jnp.where(rests, OrderStatus.RESTING, OrderStatus.DONE),
                own.status[i],
            ),
            "ahead": jnp.where(rests, ahead, own.queue_ahead_shares[i]),
        }
        return new_book, out

    book, out = jax.lax.scan(one, book, jnp.arange(own.status.shape[0]))
    own = own.replace(
        status=out["status"].astype(jnp.int32),
        remaining_shares=own.remaining_shares - out["filled"],
        filled_shares=own.filled_shares + out["filled"],
        notional_ticks=own.notional_ticks + out["notional"],
        queue_ahead_shares=out["ahead"],
    )
    return book, own


def _cancel_arrivals(own: OwnOrders, now_s) -> OwnOrders:
    live = (own.status == OrderStatus.IN_FLIGHT) | (own.status == OrderStatus.RESTING)
    gone = live & (own.cancel_s <= now_s)
    return own.replace(status=jnp.where(gone, OrderStatus.DONE, own.status))


def _apply_event(book: BookState, kind, side, price, size):
    """The exogenous event on the book; returns (book, fills (L,) on the hit side or zeros)."""
    kind = jnp.asarray(kind, jnp.int32)
    delta = jnp.where(kind == BookEvent.LIMIT, size, -size)
    after_delta = apply_delta(book, side, price, jnp.where(kind == BookEvent.MARKET, 0, delta))
    after_market, fills, _ = market_order(book, side, jnp.where(kind == BookEvent.MARKET, size, 0))
    is_market = kind == BookEvent.MARKET
    new = jax.tree.map(lambda a, b: jnp.where(is_market, a, b), after_market, after_delta)
    return new, jnp.where(is_market, fills, 0)


def _queue_update(
    own: OwnOrders, before: BookState, after: BookState, kind, side, price, size, fills
):
    """Move resting own orders forward after one exogenous event (see the module doc)."""
    kind = jnp.asarray(kind, jnp.int32)
    resting = own.status == OrderStatus.RESTING
    d = 1 - 2 * own.side  # +1 for own bids
    same_side = own.side == side
    # trades on the own side: volume at our price and volume at worse prices (walked through)
    lvl_price = before.price_ticks[side]
    fills_f = fills.astype(jnp.float32)
    at_price = jnp.sum(jnp.where(lvl_price[None, :] == own.price_ticks[:, None], fills_f, 0.0), 1)
    worse = jnp.sum(
        jnp.where(
            d[:, None] * lvl_price[None, :] < d[:, None] * own.price_ticks[:, None], fills_f, 0.0
        ),
        1,
    )
    trade = same_side & (kind == BookEvent.MARKET)
    # an opposite limit order at or through our price would have traded with us
    crossing = (~same_side) & (kind == BookEvent.LIMIT) & (d * price <= d * own.price_ticks)
    through = jnp.where(trade, worse, 0.0) + jnp.where(crossing, size, 0.0)
    traded_here = jnp.where(trade, at_price, 0.0)
    fill = jnp.maximum(traded_here - own.queue_ahead_shares, 0.0) + through
    fill = jnp.where(resting, jnp.minimum(fill, own.remaining_shares), 0.0)
    ahead = jnp.maximum(own.queue_ahead_shares - traded_here, 0.0)
    # cancellations at our price: power-law share from the front
    cancel = same_side & (kind == BookEvent.CANCEL) & (price == own.price_ticks)
    vol_before = jax.vmap(_level_volume, (None, 0, 0))(before, own.side, own.price_ticks)
    vol_after = jax.vmap(_level_volume, (None, 0, 0))(after, own.side, own.price_ticks)
    removed = vol_before - vol_after
    behind = jnp.maximum(vol_before - ahead, 0.0)
    n = own.queue_power
    fa, fb = ahead**n, behind**n
    share = jnp.where(fa + fb > 0, fa / jnp.maximum(fa + fb, 1e-30), 0.0)
    ahead = jnp.where(cancel, ahead - removed * share, ahead)
    ahead = jnp.clip(ahead, 0.0, vol_after)
    remaining = own.remaining_shares - fill
    return own.replace(
        remaining_shares=remaining,
        filled_shares=own.filled_shares + fill,
        notional_ticks=own.notional_ticks + fill * own.price_ticks.astype(jnp.float32),
        queue_ahead_shares=jnp.where(resting, ahead, own.queue_ahead_shares),
        status=jnp.where(resting & (remaining <= 0), OrderStatus.DONE, own.status),
    )


def step_with_orders(book: BookState, own: OwnOrders, now_s, kind, side, price_ticks, size_shares):
    """One exogenous event at `now_s` with own orders in play.

    First own orders and cancels due by `now_s` reach the book, then the event (`BookEvent`
    `kind`, `side`, `price_ticks`, `size_shares`) is applied and resting own orders move forward
    or fill. Returns `(book, own)`. Scalars; vmap over books.
    """
    own = _cancel_arrivals(own, now_s)
    book, own = _arrive(book, own, now_s)
    size = jnp.asarray(size_shares, jnp.int32)
    after, fills = _apply_event(book, kind, side, price_ticks, size)
    own = _queue_update(own, book, after, kind, side, price_ticks, size, fills)
    return after, own


def advance_orders(book: BookState, own: OwnOrders, now_s) -> tuple[BookState, OwnOrders]:
    """Let own orders and cancels due by `now_s` reach the book with no exogenous event."""
    own = _cancel_arrivals(own, now_s)
    return _arrive(book, own, now_s)
