"""The order flow run on a book over a horizon: `simulate_flow` and its per-event `FlowPath`."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, is_concrete, positive, positive_int
from wmjax.market._book import BookState, Side, best_prices
from wmjax.market._book_core import BookEvent, apply_event, quotes
from wmjax.market._flow import FlowEvents, FlowParams, check_flow, flow_event, sample_flow


@struct.dataclass
class FlowPath:
    """Per-event record of a simulated horizon (arrays (capacity,); padding repeats the state).

    best_bid_ticks / best_ask_ticks after each event (the last known price when a side is
    empty); trade_sign +1 for a market buy, -1 for a market sell, 0 otherwise; traded_shares;
    the book event each flow event became: side (`Side`: the side a limit order or cancel
    rests on, the side a market order hits), price_ticks and size_shares (0 for padding and
    no-op cancels).
    """

    times_s: jax.Array
    flow_type: jax.Array
    best_bid_ticks: jax.Array
    best_ask_ticks: jax.Array
    trade_sign: jax.Array
    traded_shares: jax.Array
    valid: jax.Array
    side: jax.Array
    price_ticks: jax.Array
    size_shares: jax.Array


@struct.dataclass
class _EventInputs:
    flow_type: jax.Array
    offset_ticks: jax.Array
    cancel_u: jax.Array
    cancel_fraction: jax.Array
    size_shares: jax.Array
    valid: jax.Array


def _simulate(key, params: FlowParams, book: BookState, horizon_s, capacity: int):
    return _run_flow(params, book, sample_flow(key, params, horizon_s, capacity))


def _run_flow(params: FlowParams, book: BookState, events: FlowEvents):
    """The drawn `events` applied in order to `book`: (final book, FlowPath, overflow)."""
    bid, ask, _, _ = best_prices(book)
    anchor = jnp.stack([bid, ask])

    def step(carry, ev):
        book, anchor = carry
        kind, side, price, size = flow_event(
            params,
            book,
            anchor,
            ev.flow_type,
            ev.offset_ticks,
            ev.cancel_u,
            ev.cancel_fraction,
            ev.size_shares,
        )
        size = jnp.where(ev.valid, size, 0)
        new, fills = apply_event(book, kind, side, price, size)
        anchor = quotes(new, anchor)
        traded = jnp.sum(fills)
        sign = jnp.where(kind == BookEvent.MARKET, jnp.where(side == Side.ASK, 1, -1), 0)
        rec = (anchor[0], anchor[1], jnp.where(traded > 0, sign, 0), traded, side, price, size)
        return (new, anchor), rec

    inputs = _EventInputs(
        flow_type=events.flow_type,
        offset_ticks=events.offset_ticks,
        cancel_u=events.cancel_u,
        cancel_fraction=events.cancel_fraction,
        size_shares=events.size_shares,
        valid=events.mask,
    )
    (book, _), outs = jax.lax.scan(step, (book, anchor), inputs)
    bids, asks, signs, traded, sides, prices, sizes = outs
    path = FlowPath(
        times_s=events.times_s,
        flow_type=events.flow_type,
        best_bid_ticks=bids,
        best_ask_ticks=asks,
        trade_sign=signs,
        traded_shares=traded,
        valid=events.mask,
        side=sides,
        price_ticks=prices,
        size_shares=sizes,
    )
    return book, path, events.overflow


_simulate_jit = jax.jit(_simulate, static_argnames="capacity")


def simulate_flow(
    key, params: FlowParams, book: BookState, horizon_s, capacity: int, *, throw: bool = True
) -> tuple[BookState, FlowPath]:
    """Run the order flow of [0, horizon_s] on `book` in one jitted scan.

    Returns the final book and a `FlowPath`. With `throw=True` (concrete inputs) more events
    than `capacity` raise InputError saying what to increase; otherwise only `path.valid` says
    how many ran (use under vmap). The book keeps its `levels` best price levels per side: a
    level that would be the (levels+1)-th, far from the touch, is dropped and reported in
    `book.overflow` and `book.dropped_shares` (shares stay conserved); give the book more
    levels to keep more depth.
    """
    capacity = positive_int("capacity", capacity)
    if is_concrete(horizon_s):
        positive("horizon_s", horizon_s)
    if is_concrete(params.offset_weights):
        check_flow(params)
    final, path, overflow = _simulate_jit(key, params, book, horizon_s, capacity)
    if throw and is_concrete(overflow) and bool(np.any(np.asarray(overflow))):
        raise InputError(
            f"capacity={capacity} is too small for the flow in [0, {horizon_s}] s; increase it "
            "(about 2x the expected event count) or pass throw=False"
        )
    return final, path
