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

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive_int
from wmjax.market._book import BookState, market_order
from wmjax.market._book_core import (
    OrderStatus,
    apply_event,
    level_volume,
    queue_update,
)


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
        # money in float: an int32 product overflows past 2**31 (250,000 shares at 10,000 ticks)
        prices = book.price_ticks[opposite].astype(jnp.float32)
        notional = jnp.sum(fills.astype(jnp.float32) * prices)
        left = own.remaining_shares[i] - filled
        rests = arriving & ~own.is_market[i] & (left > 0)
        ahead = level_volume(new_book, side, price)
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


def step_with_orders(book: BookState, own: OwnOrders, now_s, kind, side, price_ticks, size_shares):
    """One exogenous event at `now_s` with own orders in play.

    First own orders and cancels due by `now_s` reach the book, then the event (`BookEvent`
    `kind`, `side`, `price_ticks`, `size_shares`) is applied and resting own orders move forward
    or fill. Returns `(book, own)`. Scalars; vmap over books.
    """
    own = _cancel_arrivals(own, now_s)
    book, own = _arrive(book, own, now_s)
    size = jnp.asarray(size_shares, jnp.int32)
    after, fills = apply_event(book, kind, side, price_ticks, size)
    own = queue_update(own, book, after, kind, side, price_ticks, size, fills)
    return after, own


def advance_orders(book: BookState, own: OwnOrders, now_s) -> tuple[BookState, OwnOrders]:
    """Let own orders and cancels due by `now_s` reach the book with no exogenous event."""
    own = _cancel_arrivals(own, now_s)
    return _arrive(book, own, now_s)
