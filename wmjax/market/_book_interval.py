"""One decision interval of the book world: the order flow and our messages as one stream.

The one interval runner of both book markets, parametrised by the number of own sides:
`sides=1` for a parent order (`BookMarket`: K candidate limit orders on the order's side, a
market order in each message, sizes capped by what the order still needs, fills priced in
ticks) and `sides=2` for market making (`MarketMakingBook`: K bids then K asks; a quote at the
price already resting is amended in place and keeps its queue position; cash relative to a
reference mid, the inventory penalty integral and the tape's VPIN).

The interval's flow events (`wmjax.market.flow.sample_interval`) and the messages of ours that
arrive in it (`InFlight`, sent in this or an earlier interval) are merged by time into one
buffer of `events_per_step + max_in_flight` items, and one scan runs it: each item is either a
flow event or one of our arrivals, and both go through the same book core
(`wmjax.market._book_core.apply_event`): our market order is a `BookEvent.MARKET` on the
opposite side. So the arrival is computed once per arriving message, not on every flow event.
At equal times our message goes first. Resting own orders are virtual (see `_book_orders`).
On arrival (unless `keep`) each message cancels the resting orders and posts its new ones;
limit orders are post-only (a price that would cross slides to one tick inside the opposite
quote).

Mark-outs: a fill at time t is recorded with its signed shares (+ bought) and the mid before it
(at most B open at once; more are counted in `markout_missed_shares`) and resolved at
t + `markout_s` with the mid then: the adverse selection is shares x (mid at fill - mid later),
ticks (positive: the mid moved against us); records open at the horizon read the final mid
(`close_markouts`).
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
from wmjax.market._book_status import BookStatus, book_status
from wmjax.market._toxicity import VpinState, vpin_update


@struct.dataclass
class InFlight:
    """Our message batches between send and arrival (Q slots, FIFO as on one session).

    arrival_s: (Q,) seconds from the start of the current interval; inf marks an empty slot.
    market_shares: (Q,) market order sizes (one-sided only); prices_ticks / sizes_shares /
    weights: (Q, N) the N own-order slots' limit prices (priced from the book the policy saw),
    sizes and weights; keep: (Q,) bool, leave the resting orders as they are.
    """

    arrival_s: jax.Array
    market_shares: jax.Array
    prices_ticks: jax.Array
    sizes_shares: jax.Array
    weights: jax.Array
    keep: jax.Array


def no_messages(q: int, n: int) -> InFlight:
    """An empty queue of `q` message slots for `n` own-order slots."""
    zf = jnp.zeros((q, n), jnp.float32)
    return InFlight(
        arrival_s=jnp.full(q, jnp.inf, jnp.float32),
        market_shares=jnp.zeros(q, jnp.float32),
        prices_ticks=jnp.zeros((q, n), jnp.int32),
        sizes_shares=zf,
        weights=zf,
        keep=jnp.zeros(q, bool),
    )


def send(m: InFlight, latency_s, prices, sizes, weights, market=0.0, keep=False):
    """Queue one batch sent now (interval time 0) arriving after `latency_s`, never before an
    earlier batch (FIFO). A batch with nothing in it (no market order, and keep) is not sent.
    Returns (queue, 1 if the batch was dropped because the queue was full, else 0)."""
    market = jnp.asarray(market, jnp.float32)
    keep = jnp.asarray(keep, bool)
    content = (market > 0) | ~keep
    free = ~jnp.isfinite(m.arrival_s)
    last = jnp.max(jnp.where(free, 0.0, m.arrival_s))
    hit = (jnp.arange(free.shape[0]) == jnp.argmax(free)) & content & jnp.any(free)

    def put(field, value):
        mask = hit.reshape(hit.shape + (1,) * (field.ndim - 1))
        return jnp.where(mask, jnp.asarray(value, field.dtype), field)

    m = InFlight(
        arrival_s=put(m.arrival_s, jnp.maximum(latency_s, last)),
        market_shares=put(m.market_shares, market),
        prices_ticks=put(m.prices_ticks, prices),
        sizes_shares=put(m.sizes_shares, sizes),
        weights=put(m.weights, weights),
        keep=put(m.keep, keep),
    )
    return m, (content & ~jnp.any(free)).astype(jnp.int32)


@struct.dataclass
class Carry:
    """Per-path state inside an interval (shares, ticks; `Carry.start` zeroes the counters).

    One-sided: remaining (what the parent order still needs), filled, notional_ticks, passive,
    market, posted. Two-sided: cash (ticks x shares relative to the reference mid), inventory,
    inventory_sq_s (integral of inventory² dt), last_s, bought, sold, tape (VPIN). Both: the
    last interval's features and the mark-outs.
    """

    book: BookState
    anchor: jax.Array
    own: OwnOrders
    weights: jax.Array
    due: jax.Array  # (3, B) mark-outs: due time (s, inf: free), signed shares, mid at the fill
    remaining: jax.Array
    filled: jax.Array
    notional_ticks: jax.Array
    passive: jax.Array
    market: jax.Array
    posted: jax.Array
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
    adverse_share_ticks: jax.Array
    markout_missed_shares: jax.Array
    debt: jax.Array  # our market fills so far minus themselves: 0, with their gradient
    tape: VpinState | None = None

    @classmethod
    def start(cls, book, anchor, own, weights, due, **values) -> Carry:
        """A carry with every counter 0 (`remaining` inf) unless given in `values`."""
        zero = jnp.float32(0.0)
        fields = {f: zero for f in cls.__dataclass_fields__}
        fields.update(remaining=jnp.float32(jnp.inf), tape=None)
        fields.update(book=book, anchor=anchor, own=own, weights=weights, due=due, **values)
        return cls(**fields)


def mid_ticks(anchor) -> jax.Array:
    return 0.5 * jnp.sum(anchor).astype(jnp.float32)


def own_walk(book: BookState, opp, market_shares, debt):
    """Our market order walking side `opp`: (filled shares, notional ticks), as
    `walk_book` in value. `debt` is our earlier market fills minus themselves (value 0, their
    gradient): the walk runs from `debt` shares deep, so the pathwise gradient sees that an
    earlier order that took more leaves less at the best level for a later one (the integer book
    it depleted carries no gradient). It stands for the depletion until the end of the path (the
    flow's refills are not in it)."""
    fills, filled, _ = _walk(book, opp, market_shares + debt)
    prices = book.price_ticks[opp].astype(jnp.float32)
    return filled - debt, jnp.sum(fills * prices) - debt * prices[0]


def resolve_markouts(c: Carry, now_s) -> Carry:
    """Mark-outs due by `now_s` read the mid now: signed shares x (mid at fill - mid now)."""
    due_s, shares, mid = c.due
    due = due_s <= now_s
    return c.replace(
        due=c.due.at[0].set(jnp.where(due, jnp.inf, due_s)),
        markout_shares=c.markout_shares + jnp.sum(jnp.where(due, jnp.abs(shares), 0.0)),
        adverse_share_ticks=c.adverse_share_ticks
        + jnp.sum(jnp.where(due, shares * (mid - mid_ticks(c.anchor)), 0.0)),
    )


def close_markouts(c: Carry, last) -> tuple[jax.Array, jax.Array]:
    """At the horizon (`last`): the open mark-outs read the final mid; returns their
    (shares, adverse share-ticks) to add to the counters (0 before the horizon)."""
    open_ = jnp.isfinite(c.due[0]) & last
    move = c.due[2] - mid_ticks(c.anchor)
    return (
        jnp.sum(jnp.where(open_, jnp.abs(c.due[1]), 0.0)),
        jnp.sum(jnp.where(open_, c.due[1] * move, 0.0)),
    )


def interval_status(
    st: BookStatus, events, book_before, book_after, dropped, left, last
) -> BookStatus:
    """The status after one interval: its flow overflow, the book's counters (`book_status` of
    `book_before` -> `book_after`), messages dropped on send, and at the horizon (`last`) the
    messages still in flight (`left`)."""
    late = jnp.sum(jnp.isfinite(left.arrival_s)).astype(jnp.int32)
    market = BookStatus.zero().replace(
        flow_overflow_intervals=events.overflow.astype(jnp.int32),
        message_overflow=dropped,
        late_messages=jnp.where(last, late, 0),
    )
    return st + book_status(book_before, book_after) + market


def _item(c: Carry, x, flow_params, markout_s, sides, ref, bucket):
    """One item of the merged stream: a flow event or our arriving message."""
    is_msg, valid, t, ev, msg = x
    arriving = is_msg & valid
    c = resolve_markouts(c, jnp.where(valid, t, -jnp.inf))
    if sides == 2:
        now = jnp.where(valid, t, c.last_s)
        c = c.replace(
            inventory_sq_s=c.inventory_sq_s + c.inventory**2 * (now - c.last_s), last_s=now
        )
    book = c.book
    kind_f, side_f, price_f, size_f = flow.flow_event(flow_params, book, c.anchor, **ev)
    kind = jnp.where(is_msg, BookEvent.MARKET, kind_f)
    if sides == 1:
        # our market order: the continuous walk prices it (differentiable), the book takes it
        opp = 1 - c.own.side[0]
        m = jnp.where(arriving, jnp.clip(msg["market_shares"], 0.0, c.remaining), 0.0)
        filled_w, notional_w = own_walk(book, opp, m, c.debt)
        taken = jnp.round(jax.lax.stop_gradient(filled_w)).astype(jnp.int32)
        ev_side = jnp.where(is_msg, opp, side_f)
        price = jnp.where(is_msg, 0, price_f)
        size = jnp.where(valid, jnp.where(is_msg, taken, size_f), 0)
    else:
        ev_side, price = side_f, price_f
        size = jnp.where(valid & ~is_msg, size_f, 0)
    after, fills = apply_event(book, kind, ev_side, price, size)
    own = queue_update(c.own, book, after, kind, ev_side, price, size, fills)
    d = (1 - 2 * own.side).astype(jnp.int32)  # per slot, +1 for bids
    if sides == 1:
        passive = jnp.sum(c.weights * (own.filled_shares - c.own.filled_shares))
        net = d[0] * passive
        remaining = c.remaining - passive - filled_w
        c = c.replace(
            filled=c.filled + passive + filled_w,
            notional_ticks=c.notional_ticks
            + jnp.sum(c.weights * (own.notional_ticks - c.own.notional_ticks))
            + notional_w,
            passive=c.passive + passive,
            market=c.market + filled_w,
            debt=c.debt + filled_w - jax.lax.stop_gradient(filled_w),
        )
    else:
        signed = d.astype(jnp.float32) * c.weights * (own.filled_shares - c.own.filled_shares)
        net = jnp.sum(signed)
        remaining = c.remaining
        c = c.replace(
            cash=c.cash - jnp.sum(signed * (own.price_ticks - ref).astype(jnp.float32)),
            inventory=c.inventory + net,
            bought=c.bought + jnp.sum(jnp.maximum(signed, 0.0)),
            sold=c.sold + jnp.sum(jnp.maximum(-signed, 0.0)),
        )
    # the message's limit part: cancel the resting orders (unless keep), post the new ones
    anchor = quotes(after, c.anchor)
    replace = arriving & ~msg["keep"]
    opposite = anchor[1 - own.side]
    target = msg["prices_ticks"]
    new_price = jnp.where(d * target >= d * opposite, opposite - d, target)
    sizes = jnp.clip(msg["sizes_shares"], 0.0, remaining) if sides == 1 else msg["sizes_shares"]
    live = own.status == OrderStatus.RESTING
    amend = replace & live & (own.price_ticks == new_price) & (sizes > 0)
    if sides == 1:  # a parent order's new limit order always joins the back of the queue
        amend = jnp.zeros_like(amend)
    post = replace & ~amend & (sizes > 0)
    if sides == 1:  # one side for every slot: a scalar side keeps the lookup a plain gather
        ahead = jax.vmap(level_volume, (None, None, 0))(after, own.side[0], new_price)
    else:
        ahead = jax.vmap(level_volume, (None, 0, 0))(after, own.side, new_price)
    status = jnp.where(replace & live & ~amend, OrderStatus.DONE, own.status)
    own = own.replace(
        status=jnp.where(post, OrderStatus.RESTING, status).astype(jnp.int32),
        price_ticks=jnp.where(post, new_price, own.price_ticks).astype(jnp.int32),
        remaining_shares=jnp.where(post | amend, sizes, own.remaining_shares),
        queue_ahead_shares=jnp.where(post, ahead, own.queue_ahead_shares),
    )
    if sides == 1:  # a new parent-order limit order counts its fills from zero
        own = own.replace(
            filled_shares=jnp.where(post, 0.0, own.filled_shares),
            notional_ticks=jnp.where(post, 0.0, own.notional_ticks),
        )
        c = c.replace(posted=c.posted + jnp.where(post[0], sizes[0], 0.0))
    # a fill opens a mark-out against the mid before the trade
    free = ~jnp.isfinite(c.due[0])
    opens = (net != 0) & jnp.any(free)
    slot = (jnp.arange(free.shape[0]) == jnp.argmax(free)) & opens
    due = jnp.stack(
        [
            jnp.where(slot, t + markout_s, c.due[0]),
            jnp.where(slot, net, c.due[1]),
            jnp.where(slot, mid_ticks(c.anchor), c.due[2]),
        ]
    )
    traded = jnp.sum(fills).astype(jnp.float32)
    is_trade = ~is_msg & valid & (kind == BookEvent.MARKET)
    buy = ev_side == Side.ASK  # a market order on the ask side is a buy
    tape = c.tape
    if bucket is not None:
        bought = jnp.where(buy, traded, 0.0)
        tape = jax.tree.map(
            lambda a, b: jnp.where(is_trade, a, b),
            vpin_update(tape, bought, traded - bought, bucket),
            tape,
        )
    d_mid = 0.5 * jnp.sum(anchor - c.anchor).astype(jnp.float32)
    return c.replace(
        book=after,
        anchor=anchor,
        own=own,
        weights=jnp.where(replace, msg["weights"], c.weights),
        due=due,
        remaining=remaining,
        tape=tape,
        volume=c.volume + jnp.where(is_trade, traded, 0.0),
        signed_volume=c.signed_volume
        + jnp.where(is_trade, jnp.where(buy, 1.0, -1.0) * traded, 0.0),
        sq_mid=c.sq_mid + d_mid**2,
        markout_missed_shares=c.markout_missed_shares
        + jnp.where((net != 0) & ~jnp.any(free), jnp.abs(net), 0.0),
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
    c: Carry,
    inflight: InFlight,
    events,
    end_s,
    flow_params,
    markout_s: float,
    *,
    sides: int,
    ref_ticks=0.0,
    vpin_bucket_shares: float | None = None,
    early_exit: bool = False,
):
    """The interval [0, end_s]: its flow `events` and our messages due by `end_s`, merged by time
    and run in one scan over every slot, or (static `early_exit`) in a while loop that stops after
    the last valid item: the same result, faster when most slots are padding (under vmap the
    loop stops at the busiest path's count), but not reverse-differentiable and not allowed
    under `checkify` of `vmap`. `sides` (static, 1 or 2) picks the own-order rules of the module
    doc; `ref_ticks` is the two-sided cash's reference mid, `vpin_bucket_shares` (static) turns
    on the tape's VPIN. Returns (carry, the messages still in flight, re-timed to end_s)."""
    if sides not in (1, 2):
        raise ValueError(f"sides must be 1 or 2, got {sides}")
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
    fields = ("market_shares", "prices_ticks", "sizes_shares", "weights", "keep")
    msg = {f: getattr(inflight, f)[mi] for f in fields}
    valid = jnp.isfinite(times)
    xs = (is_msg, valid, times, ev, msg)

    def item(c, x):
        return _item(c, x, flow_params, markout_s, sides, ref_ticks, vpin_bucket_shares)

    if not early_exit:
        c, _ = jax.lax.scan(lambda c, x: (item(c, x), None), c, xs)
    else:
        # valid items come first (sorted by time, padding at inf) and padding items are exact
        # no-ops, so stopping after the last valid one equals the scan over every slot
        n_valid = jnp.sum(valid.astype(jnp.int32))

        def body(state):
            i, c = state
            return i + 1, item(c, jax.tree.map(lambda a: a[i], xs))

        _, c = jax.lax.while_loop(lambda state: state[0] < n_valid, body, (jnp.int32(0), c))
    c = resolve_markouts(c, end_s)
    if sides == 2:
        c = c.replace(inventory_sq_s=c.inventory_sq_s + c.inventory**2 * (end_s - c.last_s))
    c = c.replace(due=c.due.at[0].add(-end_s))
    left = inflight.replace(arrival_s=jnp.where(due, jnp.inf, inflight.arrival_s - end_s))
    return c, left
