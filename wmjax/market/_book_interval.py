"""One decision interval of the book market: the order flow and our messages as one stream.

The interval's flow events (`wmjax.market.flow.sample_interval`) and the messages of ours that
arrive in it (`InFlight`, sent in this or an earlier interval) are merged by time into one
buffer of `events_per_step + max_in_flight` items, and one scan runs it: each item is either a
flow event or one of our arrivals, and both go through the same book core
(`wmjax.market._book_core.apply_event`): our market order is a `BookEvent.MARKET` on the
opposite side. So the arrival is computed once per arriving message, not on every flow event.
At equal times our message goes first. Resting own orders are virtual (see `_book_orders`).

Mark-outs: a passive fill at time t is recorded (at most `markout_slots` at once; more are
counted in `markout_missed_shares`) and resolved at t + `markout_s` with the mid then, giving
the adverse selection d * (mid at fill - mid later) in ticks (positive: the mid moved against
us); records open at the horizon are resolved with the final mid.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from wmjax.market import _flow as flow
from wmjax.market._book import BookState, Side
from wmjax.market._book import walk_book as _walk
from wmjax.market._book_core import (
    BookEvent,
    OrderStatus,
    apply_event,
    level_volume,
    queue_update,
    quotes,
)
from wmjax.market._book_orders import OwnOrders


@struct.dataclass
class InFlight:
    """Our message batches between send and arrival (Q slots, FIFO as on one session).

    arrival_s: (Q,) seconds from the start of the current interval; inf marks an empty slot.
    market_shares / limit_shares: (Q,) sizes sent; prices_ticks / weights: (Q, K) the limit
    candidates priced from the book the policy saw, and their weights; keep: (Q,) bool.
    """

    arrival_s: jax.Array
    market_shares: jax.Array
    limit_shares: jax.Array
    prices_ticks: jax.Array
    weights: jax.Array
    keep: jax.Array


def no_messages(q: int, k: int) -> InFlight:
    zf = jnp.zeros(q, jnp.float32)
    return InFlight(
        arrival_s=jnp.full(q, jnp.inf, jnp.float32),
        market_shares=zf,
        limit_shares=zf,
        prices_ticks=jnp.zeros((q, k), jnp.int32),
        weights=jnp.zeros((q, k), jnp.float32),
        keep=jnp.zeros(q, bool),
    )


def send(m: InFlight, latency_s, market, limit, prices, weights, keep):
    """Queue one batch sent now (interval time 0) arriving after `latency_s`, never before an
    earlier batch (FIFO). A batch with nothing in it (no market order, and keep) is not sent.
    Returns (queue, 1 if the batch was dropped because the queue was full, else 0)."""
    content = (market > 0) | ~keep
    free = ~jnp.isfinite(m.arrival_s)
    last = jnp.max(jnp.where(free, 0.0, m.arrival_s))
    ok = content & jnp.any(free)
    hit = (jnp.arange(free.shape[0]) == jnp.argmax(free)) & ok

    def put(field, value):
        mask = hit.reshape(hit.shape + (1,) * (field.ndim - 1))
        return jnp.where(mask, jnp.asarray(value, field.dtype), field)

    m = InFlight(
        arrival_s=put(m.arrival_s, jnp.maximum(latency_s, last)),
        market_shares=put(m.market_shares, market),
        limit_shares=put(m.limit_shares, limit),
        prices_ticks=put(m.prices_ticks, prices),
        weights=put(m.weights, weights),
        keep=put(m.keep, keep),
    )
    return m, (content & ~jnp.any(free)).astype(jnp.int32)


@struct.dataclass
class Carry:
    """Per-path state inside an interval (counters are this interval's, in shares / ticks)."""

    book: BookState
    anchor: jax.Array
    own: OwnOrders
    weights: jax.Array
    remaining: jax.Array
    due_s: jax.Array  # (B,) mark-out due times (inf: free slot)
    due_shares: jax.Array  # (B,)
    due_mid: jax.Array  # (B,) mid at the fill, ticks
    filled: jax.Array
    notional_ticks: jax.Array
    passive: jax.Array
    market: jax.Array
    posted: jax.Array
    volume: jax.Array
    signed_volume: jax.Array
    sq_mid: jax.Array
    markout_shares: jax.Array
    adverse_share_ticks: jax.Array
    markout_missed_shares: jax.Array
    level_overflow: jax.Array  # int32


COUNTERS = (
    "filled",
    "notional_ticks",
    "passive",
    "market",
    "posted",
    "volume",
    "signed_volume",
    "sq_mid",
    "markout_shares",
    "adverse_share_ticks",
    "markout_missed_shares",
)


def _mid(anchor) -> jax.Array:
    return 0.5 * jnp.sum(anchor).astype(jnp.float32)


def resolve_markouts(c: Carry, now_s, d) -> Carry:
    """Mark-outs due by `now_s` read the current mid."""
    due = c.due_s <= now_s
    move = d * (c.due_mid - _mid(c.anchor))
    return c.replace(
        due_s=jnp.where(due, jnp.inf, c.due_s),
        markout_shares=c.markout_shares + jnp.sum(jnp.where(due, c.due_shares, 0.0)),
        adverse_share_ticks=c.adverse_share_ticks
        + jnp.sum(jnp.where(due, c.due_shares * move, 0.0)),
    )


def _item(c: Carry, x, side, flow_params, markout_s):
    """One item of the merged stream: a flow event or our arriving message."""
    is_msg, valid, t, ev, msg = x
    opp = 1 - side
    d = (1 - 2 * side).astype(jnp.int32)
    c = resolve_markouts(c, jnp.where(valid, t, -jnp.inf), d)
    book = c.book
    kind_f, side_f, price_f, size_f = flow.flow_event(flow_params, book, c.anchor, **ev)
    # our market order: the continuous walk prices it (differentiable), the integer book takes it
    arriving = is_msg & valid
    m = jnp.where(arriving, jnp.clip(msg["market_shares"], 0.0, c.remaining), 0.0)
    fills_w, filled_w, _ = _walk(book, opp, m)
    taken = jnp.round(jax.lax.stop_gradient(filled_w)).astype(jnp.int32)
    notional_w = jnp.sum(fills_w * book.price_ticks[opp].astype(jnp.float32))
    kind = jnp.where(is_msg, BookEvent.MARKET, kind_f)
    ev_side = jnp.where(is_msg, opp, side_f)
    price = jnp.where(is_msg, 0, price_f)
    size = jnp.where(valid, jnp.where(is_msg, taken, size_f), 0)
    after, fills = apply_event(book, kind, ev_side, price, size)
    own = queue_update(c.own, book, after, kind, ev_side, price, size, fills)
    w = c.weights
    d_fill = jnp.sum(w * (own.filled_shares - c.own.filled_shares))
    d_notional = jnp.sum(w * (own.notional_ticks - c.own.notional_ticks))
    remaining = c.remaining - d_fill - filled_w
    # the message's limit part: cancel the resting orders (unless keep), post the new ones
    anchor = quotes(after, c.anchor)
    keep = msg["keep"]
    replace = arriving & ~keep
    inside = anchor[opp] - d
    target = msg["prices_ticks"]
    post_price = jnp.where(d * target >= d * anchor[opp], inside, target)
    post_size = jnp.clip(msg["limit_shares"], 0.0, remaining)
    post = replace & (post_size > 0)
    ahead = jax.vmap(level_volume, (None, None, 0))(after, side, post_price)
    live = own.status == OrderStatus.RESTING
    status = jnp.where(replace & live, OrderStatus.DONE, own.status)
    own = own.replace(
        status=jnp.where(post, OrderStatus.RESTING, status).astype(jnp.int32),
        side=jnp.where(post, side, own.side).astype(jnp.int32),
        price_ticks=jnp.where(post, post_price, own.price_ticks).astype(jnp.int32),
        remaining_shares=jnp.where(post, post_size, own.remaining_shares),
        filled_shares=jnp.where(post, 0.0, own.filled_shares),
        notional_ticks=jnp.where(post, 0.0, own.notional_ticks),
        queue_ahead_shares=jnp.where(post, ahead, own.queue_ahead_shares),
    )
    # a passive fill opens a mark-out against the mid before the trade
    free = ~jnp.isfinite(c.due_s)
    opens = (d_fill > 0) & jnp.any(free)
    slot = (jnp.arange(free.shape[0]) == jnp.argmax(free)) & opens
    traded = jnp.sum(fills).astype(jnp.float32)
    is_trade = ~is_msg & (kind == BookEvent.MARKET)
    sign = jnp.where(ev_side == Side.ASK, 1.0, -1.0)
    d_mid = 0.5 * jnp.sum(anchor - c.anchor).astype(jnp.float32)
    return c.replace(
        book=after,
        anchor=anchor,
        own=own,
        weights=jnp.where(replace, msg["weights"], c.weights),
        remaining=remaining,
        due_s=jnp.where(slot, t + markout_s, c.due_s),
        due_shares=jnp.where(slot, d_fill, c.due_shares),
        due_mid=jnp.where(slot, _mid(c.anchor), c.due_mid),
        filled=c.filled + d_fill + filled_w,
        notional_ticks=c.notional_ticks + d_notional + notional_w,
        passive=c.passive + d_fill,
        market=c.market + filled_w,
        posted=c.posted + jnp.where(post, post_size, 0.0),
        volume=c.volume + jnp.where(is_trade, traded, 0.0),
        signed_volume=c.signed_volume + jnp.where(is_trade, sign * traded, 0.0),
        sq_mid=c.sq_mid + d_mid**2,
        markout_missed_shares=c.markout_missed_shares
        + jnp.where((d_fill > 0) & ~jnp.any(free), d_fill, 0.0),
        level_overflow=c.level_overflow + (after.dropped_shares > book.dropped_shares),
    )


def merge_order(flow_times, msg_times):
    """Source index of each slot of the time-merged stream (messages first at equal times)."""
    n_f, n_m = flow_times.shape[0], msg_times.shape[0]
    rank_f = jnp.arange(n_f) + jnp.sum(msg_times[None, :] <= flow_times[:, None], axis=1)
    earlier = (msg_times[None, :] < msg_times[:, None]) | (
        (msg_times[None, :] == msg_times[:, None])
        & (jnp.arange(n_m)[None, :] < jnp.arange(n_m)[:, None])
    )
    rank_m = jnp.sum(flow_times[None, :] < msg_times[:, None], axis=1) + jnp.sum(earlier, axis=1)
    ranks = jnp.concatenate([rank_f, rank_m])
    return jnp.zeros(n_f + n_m, jnp.int32).at[ranks].set(jnp.arange(n_f + n_m, dtype=jnp.int32))


def run_interval(
    c: Carry, inflight: InFlight, events, end_s, side, flow_params, markout_s, early_exit=False
):
    """The interval [0, end_s]: its flow `events` and our messages due by `end_s`, merged by time
    and run in one scan over every slot, or (static `early_exit`) in a while loop that stops after
    the last valid item: the same result, faster when most slots are padding (under vmap the
    loop stops at the busiest path's count), but not reverse-differentiable and not allowed
    under `checkify` of `vmap`. Returns (carry, the messages still in flight, re-timed to
    end_s)."""
    n_f = events.times_s.shape[0]
    flow_t = jnp.where(events.mask, events.times_s, jnp.inf)
    due = inflight.arrival_s <= end_s
    msg_t = jnp.where(due, inflight.arrival_s, jnp.inf)
    src = merge_order(flow_t, msg_t)
    is_msg = src >= n_f
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
        "market_shares": inflight.market_shares[mi],
        "limit_shares": inflight.limit_shares[mi],
        "prices_ticks": inflight.prices_ticks[mi],
        "weights": inflight.weights[mi],
        "keep": inflight.keep[mi],
    }
    valid = jnp.isfinite(times)
    xs = (is_msg, valid, times, ev, msg)
    if not early_exit:
        c, _ = jax.lax.scan(lambda c, x: (_item(c, x, side, flow_params, markout_s), None), c, xs)
    else:
        # valid items come first (sorted by time, padding at inf) and padding items are exact
        # no-ops, so stopping after the last valid one equals the scan over every slot
        n_valid = jnp.sum(valid.astype(jnp.int32))

        def body(state):
            i, c = state
            x = jax.tree.map(lambda a: a[i], xs)
            return i + 1, _item(c, x, side, flow_params, markout_s)

        _, c = jax.lax.while_loop(lambda state: state[0] < n_valid, body, (jnp.int32(0), c))
    d = (1 - 2 * side).astype(jnp.int32)
    c = resolve_markouts(c, end_s, d)
    c = c.replace(due_s=c.due_s - end_s)
    left = inflight.replace(arrival_s=jnp.where(due, jnp.inf, inflight.arrival_s - end_s))
    return c, left
