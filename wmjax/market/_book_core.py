"""The book core: the internal API that the flow sampler, the replay and the markets share.

Four verbs on a `BookState` (see `wmjax.market._book`) and on a table of virtual own orders
(`OwnOrders`, see `wmjax.market._book_orders`); all take scalars for one event, are jit-able and
vmap over books:

* `apply_event(book, kind, side, price_ticks, size_shares) -> (book, fills)`: one `BookEvent`
  (a limit order rests, a cancel removes, a market order walks `side`); `fills` (L,) int32 are
  the shares taken per level of the hit side (zeros unless a market order).
* `queue_update(own, before, after, kind, side, price_ticks, size_shares, fills) -> own`: resting
  own orders move forward in their queue or fill after one exogenous event (rules in
  `_book_orders`).
* `level_volume(book, side, price_ticks) -> shares`: visible shares resting at a price, the
  queue a new order joins the back of.
* `quotes(book, anchor_ticks) -> (2,)`: best bid and ask in ticks, the last known ones standing in
  for an empty side (the reference prices of the flow and of our own orders).

Our own messages' arrival (`wmjax.market._book_interval`) and the own-order table's arrival
(`_book_orders.advance_orders`) are built from these: a market order is `apply_event` with
`BookEvent.MARKET`, a new limit order reads `level_volume` for its queue position.
"""

from __future__ import annotations

from enum import IntEnum

import jax
import jax.numpy as jnp

from wmjax._numerics import divide_where
from wmjax.market._book import BookState, apply_delta, best_prices, market_order


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


def quotes(book: BookState, anchor_ticks) -> jax.Array:
    """(best bid, best ask) in ticks, `anchor_ticks` (2,) standing in for an empty side."""
    bid, ask, has_bid, has_ask = best_prices(book)
    return jnp.stack(
        [jnp.where(has_bid, bid, anchor_ticks[0]), jnp.where(has_ask, ask, anchor_ticks[1])]
    )


def level_volume(book: BookState, side, price_ticks) -> jax.Array:
    """Shares (float32) resting at `price_ticks` on `side`, 0 when there is no such level."""
    at = (book.price_ticks[side] == price_ticks) & (book.size_shares[side] > 0)
    return jnp.sum(jnp.where(at, book.size_shares[side], 0)).astype(jnp.float32)


def apply_event(book: BookState, kind, side, price_ticks, size_shares):
    """The event on the book; returns (book, fills (L,) int32 on the hit side, or zeros)."""
    kind = jnp.asarray(kind, jnp.int32)
    is_market = kind == BookEvent.MARKET
    delta = jnp.where(kind == BookEvent.LIMIT, size_shares, -size_shares)
    after_delta = apply_delta(book, side, price_ticks, jnp.where(is_market, 0, delta))
    after_market, fills, _ = market_order(book, side, jnp.where(is_market, size_shares, 0))
    new = jax.tree.map(lambda a, b: jnp.where(is_market, a, b), after_market, after_delta)
    return new, jnp.where(is_market, fills, 0)


def queue_update(own, before: BookState, after: BookState, kind, side, price_ticks, size, fills):
    """Move resting own orders (`OwnOrders`) forward after one exogenous event: trades at their
    price consume the queue ahead then fill them, trades through their price and opposite limit
    orders at or through it fill them outright, cancels at their price shrink the queue ahead by
    the power-law share (see `wmjax.market._book_orders`). Money is float: `notional_ticks` adds
    fill x price in float32."""
    kind = jnp.asarray(kind, jnp.int32)
    resting = own.status == OrderStatus.RESTING
    d = 1 - 2 * own.side  # +1 for own bids
    same_side = own.side == side
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
    crossing = (~same_side) & (kind == BookEvent.LIMIT) & (d * price_ticks <= d * own.price_ticks)
    through = jnp.where(trade, worse, 0.0) + jnp.where(crossing, size, 0.0)
    traded_here = jnp.where(trade, at_price, 0.0)
    fill = jnp.maximum(traded_here - own.queue_ahead_shares, 0.0) + through
    fill = jnp.where(resting, jnp.minimum(fill, own.remaining_shares), 0.0)
    ahead = jnp.maximum(own.queue_ahead_shares - traded_here, 0.0)
    cancel = same_side & (kind == BookEvent.CANCEL) & (price_ticks == own.price_ticks)
    vol_before = jax.vmap(level_volume, (None, 0, 0))(before, own.side, own.price_ticks)
    vol_after = jax.vmap(level_volume, (None, 0, 0))(after, own.side, own.price_ticks)
    removed = vol_before - vol_after
    behind = jnp.maximum(vol_before - ahead, 0.0)
    n = own.queue_power
    fa, fb = ahead**n, behind**n
    share = divide_where(fa + fb > 0, fa, fa + fb)
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
