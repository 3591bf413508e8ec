"""One decision interval of `MarketMakingBook`: the order flow and our quote messages merged by
time into one scan through the book core (as `_book_interval` does for one-sided orders), with
two-sided virtual quotes, relative cash, the inventory penalty, mark-outs and the tape's VPIN."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from wmjax.market import _flow as flow
from wmjax.market._book import BookState, Side
from wmjax.market._book_core import BookEvent, OrderStatus, apply_event, level_volume, queue_update
from wmjax.market._book_core import quotes as _quotes
from wmjax.market._book_interval import merge_order
from wmjax.market._book_orders import OwnOrders
from wmjax.market._toxicity import VpinState, vpin_update


@struct.dataclass
class Flight:
    """Messages sent, not yet arrived (Q slots, FIFO): arrival_s (Q,) from the interval start
    (inf: empty); per slot of the 2K quotes: prices_ticks, sizes_shares, weights (Q, 2K)."""

    arrival_s: jax.Array
    prices_ticks: jax.Array
    sizes_shares: jax.Array
    weights: jax.Array


def send(m: Flight, latency_s, prices, sizes, weights) -> tuple[Flight, jax.Array]:
    free = ~jnp.isfinite(m.arrival_s)
    last = jnp.max(jnp.where(free, 0.0, m.arrival_s))
    hit = (jnp.arange(free.shape[0]) == jnp.argmax(free)) & jnp.any(free)
    row = hit[:, None]
    return Flight(
        arrival_s=jnp.where(hit, jnp.maximum(latency_s, last), m.arrival_s),
        prices_ticks=jnp.where(row, prices, m.prices_ticks),
        sizes_shares=jnp.where(row, sizes, m.sizes_shares),
        weights=jnp.where(row, weights, m.weights),
    ), (~jnp.any(free)).astype(jnp.int32)


@struct.dataclass
class Carry:
    book: BookState
    anchor: jax.Array
    own: OwnOrders
    weights: jax.Array
    tape: VpinState
    due: jax.Array  # (3, B) as MakerState.markouts
    cash: jax.Array
    inventory: jax.Array
    inventory_sq_s: jax.Array
    last_s: jax.Array
    bought: jax.Array
    sold: jax.Array
    volume: jax.Array
    signed_volume: jax.Array
    sq_mid: jax.Array
    markout_shares: jax.Array
    adverse: jax.Array
    missed: jax.Array
    level_overflow: jax.Array


def mid_ticks(anchor) -> jax.Array:
    return 0.5 * jnp.sum(anchor).astype(jnp.float32)


def resolve(c: Carry, now_s) -> Carry:
    """Mark-outs due by `now_s` read the mid now: signed shares x (mid at fill - mid now)."""
    due_s, shares, mid = c.due
    due = due_s <= now_s
    return c.replace(
        due=c.due.at[0].set(jnp.where(due, jnp.inf, due_s)),
        markout_shares=c.markout_shares + jnp.sum(jnp.where(due, jnp.abs(shares), 0.0)),
        adverse=c.adverse + jnp.sum(jnp.where(due, shares * (mid - mid_ticks(c.anchor)), 0.0)),
    )


def _item(c: Carry, x, flow_params, markout_s, bucket, ref):
    is_msg, valid, t, ev, msg = x
    c = resolve(c, jnp.where(valid, t, -jnp.inf))
    now = jnp.where(valid, t, c.last_s)
    c = c.replace(inventory_sq_s=c.inventory_sq_s + c.inventory**2 * (now - c.last_s), last_s=now)
    book = c.book
    kind_f, side, price, size_f = flow.flow_event(flow_params, book, c.anchor, **ev)
    kind = jnp.where(is_msg, BookEvent.MARKET, kind_f)
    size = jnp.where(valid & ~is_msg, size_f, 0)
    after, fills = apply_event(book, kind, side, price, size)
    own = queue_update(c.own, book, after, kind, side, price, size, fills)
    d = (1 - 2 * own.side).astype(jnp.float32)  # +1 for bids
    signed = d * c.weights * (own.filled_shares - c.own.filled_shares)
    net = jnp.sum(signed)
    cash = c.cash - jnp.sum(signed * (own.price_ticks - ref).astype(jnp.float32))
    # our arriving message replaces each side's quotes (an unchanged price keeps its place)
    anchor = _quotes(after, c.anchor)
    arriving = is_msg & valid
    opposite = anchor[1 - own.side]
    target = msg["prices_ticks"]
    new_price = jnp.where(d * target >= d * opposite, opposite - d.astype(jnp.int32), target)
    sizes = msg["sizes_shares"]
    live = own.status == OrderStatus.RESTING
    amend = arriving & live & (own.price_ticks == new_price) & (sizes > 0)
    post = arriving & ~amend & (sizes > 0)
    ahead = jax.vmap(level_volume, (None, 0, 0))(after, own.side, new_price)
    status = jnp.where(arriving & live & ~amend, OrderStatus.DONE, own.status)
    own = own.replace(
        status=jnp.where(post, OrderStatus.RESTING, status).astype(jnp.int32),
        price_ticks=jnp.where(post, new_price, own.price_ticks).astype(jnp.int32),
        remaining_shares=jnp.where(post | amend, sizes, own.remaining_shares),
        queue_ahead_shares=jnp.where(post, ahead, own.queue_ahead_shares),
    )
    # a fill opens a mark-out against the mid before the trade
    due_s = c.due[0]
    free = ~jnp.isfinite(due_s)
    opens = (net != 0) & jnp.any(free)
    slot = (jnp.arange(free.shape[0]) == jnp.argmax(free)) & opens
    due = jnp.stack(
        [
            jnp.where(slot, t + markout_s, due_s),
            jnp.where(slot, net, c.due[1]),
            jnp.where(slot, mid_ticks(c.anchor), c.due[2]),
        ]
    )
    traded = jnp.sum(fills).astype(jnp.float32)
    is_trade = ~is_msg & valid & (kind == BookEvent.MARKET)
    buy = jnp.where(side == Side.ASK, traded, 0.0)
    tape = jax.tree.map(
        lambda a, b: jnp.where(is_trade, a, b),
        vpin_update(c.tape, buy, traded - buy, bucket),
        c.tape,
    )
    return c.replace(
        book=after,
        anchor=anchor,
        own=own,
        weights=jnp.where(arriving, msg["weights"], c.weights),
        tape=tape,
        due=due,
        cash=cash,
        inventory=c.inventory + net,
        bought=c.bought + jnp.sum(jnp.maximum(signed, 0.0)),
        sold=c.sold + jnp.sum(jnp.maximum(-signed, 0.0)),
        volume=c.volume + jnp.where(is_trade, traded, 0.0),
        signed_volume=c.signed_volume + jnp.where(is_trade, 2 * buy - traded, 0.0),
        sq_mid=c.sq_mid + (0.5 * jnp.sum(anchor - c.anchor).astype(jnp.float32)) ** 2,
        missed=c.missed + jnp.where((net != 0) & ~jnp.any(free), jnp.abs(net), 0.0),
        level_overflow=c.level_overflow + (after.dropped_shares > book.dropped_shares),
    )


def run_interval(c: Carry, m: Flight, events, end_s, flow_params, ref, markout_s, bucket):
    """The interval [0, end_s]: flow events and our arrivals merged by time, one scan."""
    n_f = events.times_s.shape[0]
    flow_t = jnp.where(events.mask, events.times_s, jnp.inf)
    due = m.arrival_s <= end_s
    msg_t = jnp.where(due, m.arrival_s, jnp.inf)
    src = merge_order(flow_t, msg_t)
    fi = jnp.minimum(src, n_f - 1)
    mi = jnp.maximum(src - n_f, 0)
    times = jnp.concatenate([flow_t, msg_t])[src]
    ev = {
        "flow_type": events.flow_type[fi],
        "offset_ticks": events.offset_ticks[fi],
        "cancel_u": events.cancel_u[fi],
        "cancel_fraction": events.cancel_fraction[fi],
        "size_shares": events.size_shares[fi],
    }
    msg = {
        "prices_ticks": m.prices_ticks[mi],
        "sizes_shares": m.sizes_shares[mi],
        "weights": m.weights[mi],
    }
    xs = (src >= n_f, jnp.isfinite(times), times, ev, msg)
    c, _ = jax.lax.scan(
        lambda c, x: (_item(c, x, flow_params, markout_s, bucket, ref), None), c, xs
    )
    c = resolve(c, end_s)
    c = c.replace(
        inventory_sq_s=c.inventory_sq_s + c.inventory**2 * (end_s - c.last_s),
        due=c.due.at[0].add(-end_s),
    )
    left = m.replace(arrival_s=jnp.where(due, jnp.inf, m.arrival_s - end_s))
    return c, left
