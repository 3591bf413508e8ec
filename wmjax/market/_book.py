"""A price-level limit order book as fixed-shape arrays, with pure transitions.

Representation: per side, `levels` slots sorted best first (`[..., 0]` is the best bid / ask),
each a price in integer ticks and the shares resting there. A slot with zero shares is empty, and
the non-empty slots always form a prefix, so the book is the LOBSTER order-book row itself. We keep
levels *relative to the best quote* rather than a fixed price window: the best quotes are always in
view however far the price drifts over a day, a level-k data file seeds the book without any
re-centring, and every transition is a handful of vector operations over `levels` slots (no
per-order search, no scatter into a wide grid). A new level that would fall beyond the last slot
is dropped: its shares are counted in `dropped_shares` and `overflow` is set (never silent).

Shares are int32 and conserved: `added = resting + traded + cancelled + dropped`.
"""

from __future__ import annotations

from enum import IntEnum

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, positive_int, require
from wmjax._numerics import fill_in_order


class Side(IntEnum):
    """Book side (row of `BookState.price_ticks`)."""

    BID = 0
    ASK = 1


@struct.dataclass
class BookState:
    """Book with `levels` slots per side; arrays are (..., 2, levels) with axis -2 = `Side`.

    Counters are int32 shares since the book was seeded (the seed counts as added).
    `rejected` counts limit orders that would have crossed the book (refused, never rested);
    `unmatched` counts reductions at a price with no resting level.
    """

    price_ticks: jax.Array  # (2, L) int32
    size_shares: jax.Array  # (2, L) int32, 0 = empty slot
    added_shares: jax.Array  # () int32
    traded_shares: jax.Array  # () int32
    cancelled_shares: jax.Array  # () int32
    dropped_shares: jax.Array  # () int32, shares on levels pushed beyond the last slot
    rejected: jax.Array  # () int32
    unmatched: jax.Array  # () int32
    overflow: jax.Array  # () bool, a level was pushed beyond the last slot
    overflow_events: jax.Array  # () int32, updates (and the seed) that pushed levels beyond it

    @property
    def levels(self) -> int:
        return int(self.price_ticks.shape[-1])


def _direction(side) -> jax.Array:
    """+1 for bids (higher is better), -1 for asks."""
    return 1 - 2 * jnp.asarray(side, jnp.int32)


def book_from_levels(ask_price_ticks, ask_size_shares, bid_price_ticks, bid_size_shares, levels):
    """A `BookState` with `levels` slots seeded from (K,) arrays of one LOBSTER order-book row.

    Empty input levels have size 0. Works on concrete arrays and under jit/vmap (no checks there:
    use `check_book` on concrete states). Each side may give any K levels: fewer than `levels`
    are padded with empty slots, more are dropped into `dropped_shares` (with `overflow`).
    """

    def padded(x):
        x = jnp.asarray(x, jnp.int32)
        return jnp.pad(x, (0, max(levels - x.shape[-1], 0)))

    price = jnp.stack([padded(bid_price_ticks), padded(ask_price_ticks)])
    size = jnp.stack([padded(bid_size_shares), padded(ask_size_shares)])
    total = jnp.sum(size)
    price, size = price[:, :levels], size[:, :levels]
    price = jnp.where(size > 0, price, 0)
    zero = jnp.zeros((), jnp.int32)
    return BookState(
        price_ticks=price,
        size_shares=size,
        added_shares=total.astype(jnp.int32),
        traded_shares=zero,
        cancelled_shares=zero,
        dropped_shares=(total - jnp.sum(size)).astype(jnp.int32),
        rejected=zero,
        unmatched=zero,
        overflow=total > jnp.sum(size),
        overflow_events=(total > jnp.sum(size)).astype(jnp.int32),
    )


def empty_book(levels: int) -> BookState:
    """A book with `levels` empty slots per side."""
    levels = positive_int("levels", levels)
    z = np.zeros(levels, np.int32)
    return book_from_levels(z, z, z, z, levels)


def best_prices(state: BookState) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """(best_bid_ticks, best_ask_ticks, has_bid, has_ask); a missing side's price is 0."""
    has = state.size_shares[..., 0] > 0
    return state.price_ticks[..., 0, 0], state.price_ticks[..., 1, 0], has[..., 0], has[..., 1]


def _shift_up(row: jax.Array, start) -> jax.Array:
    """Remove slot `start` of a (L,) row: later slots move one up, the last becomes 0."""
    idx = jnp.arange(row.shape[-1])
    nxt = jnp.concatenate([row[1:], jnp.zeros((1,), row.dtype)])
    return jnp.where(idx < start, row, nxt)


def _shift_down(row: jax.Array, start, value) -> jax.Array:
    """Insert `value` at slot `start` of a (L,) row; the last slot falls off."""
    idx = jnp.arange(row.shape[-1])
    prev = jnp.concatenate([jnp.zeros((1,), row.dtype), row[:-1]])
    return jnp.where(idx < start, row, jnp.where(idx == start, value, prev))


def apply_delta(state: BookState, side, price_ticks, delta_shares, is_trade=False) -> BookState:
    """Add `delta_shares` (> 0: a limit order; < 0: a cancel or trade) at `price_ticks` on `side`.

    A positive delta at a new price inserts a level in price order (a crossing one is refused and
    counted in `rejected`); a negative delta takes at most what rests there (removing the level
    when it empties) and counts as traded if `is_trade`, else cancelled; at an absent price it
    does nothing and counts in `unmatched`. Zero does nothing. Scalar arguments; vmap for batches.
    """
    side = jnp.asarray(side, jnp.int32)
    price = jnp.asarray(price_ticks, jnp.int32)
    delta = jnp.asarray(delta_shares, jnp.int32)
    d = _direction(side)
    # selects and one-hot reductions instead of dynamic indexing: under vmap these stay
    # elementwise, where gathers and scatters would not (the replay's inner loop)
    is_bid = side == Side.BID
    prices = jnp.where(is_bid, state.price_ticks[0], state.price_ticks[1])
    sizes = jnp.where(is_bid, state.size_shares[0], state.size_shares[1])
    n = prices.shape[-1]
    idx = jnp.arange(n)
    present = sizes > 0
    pos = jnp.sum(present & (d * prices > d * price))
    at_slot = idx == pos
    size_at = jnp.sum(jnp.where(at_slot, sizes, 0))
    exists = (size_at > 0) & (jnp.sum(jnp.where(at_slot, prices, 0)) == price)
    opp_best = jnp.where(is_bid, state.price_ticks[1, 0], state.price_ticks[0, 0])
    opp_has = jnp.where(is_bid, state.size_shares[1, 0], state.size_shares[0, 0]) > 0
    crosses = opp_has & (d * price >= d * opp_best)

    add = (delta > 0) & ~crosses
    removed = jnp.where(exists & (delta < 0), jnp.minimum(-delta, size_at), 0)
    new_size = size_at + jnp.where(delta > 0, delta, -removed)
    changes = exists & (add | (delta < 0))
    emptied = exists & (new_size <= 0)
    inserting = add & ~exists & (pos < n)
    last_size = sizes[-1]
    pushed_out = inserting & (last_size > 0)
    beyond = add & ~exists & (pos >= n)

    new_prices = jnp.where(
        emptied,
        _shift_up(prices, pos),
        jnp.where(inserting, _shift_down(prices, pos, price), prices),
    )
    new_sizes = jnp.where(
        emptied,
        _shift_up(sizes, pos),
        jnp.where(
            inserting,
            _shift_down(sizes, pos, delta),
            jnp.where(at_slot & changes, new_size, sizes),
        ),
    )
    new_prices = jnp.where(new_sizes > 0, new_prices, 0)
    added = jnp.where(add, delta, 0)
    dropped = jnp.where(pushed_out, last_size, 0) + jnp.where(beyond, delta, 0)
    is_trade = jnp.asarray(is_trade)
    this_row = (jnp.arange(2) == side)[:, None]
    return state.replace(
        price_ticks=jnp.where(this_row, new_prices[None, :], state.price_ticks),
        size_shares=jnp.where(this_row, new_sizes[None, :], state.size_shares),
        added_shares=state.added_shares + added,
        traded_shares=state.traded_shares + jnp.where(is_trade, removed, 0),
        cancelled_shares=state.cancelled_shares + jnp.where(is_trade, 0, removed),
        dropped_shares=state.dropped_shares + dropped,
        rejected=state.rejected + ((delta > 0) & crosses).astype(jnp.int32),
        unmatched=state.unmatched + ((delta < 0) & ~exists).astype(jnp.int32),
        overflow=state.overflow | pushed_out | beyond,
        overflow_events=state.overflow_events + (pushed_out | beyond).astype(jnp.int32),
    )


def limit_order(state: BookState, side, price_ticks, size_shares) -> BookState:
    """Rest `size_shares` (>= 0) at `price_ticks` on `side` (`Side.BID` for a buy)."""
    return apply_delta(state, side, price_ticks, jnp.maximum(size_shares, 0))


def cancel_order(state: BookState, side, price_ticks, size_shares) -> BookState:
    """Remove up to `size_shares` (>= 0) resting at `price_ticks` on `side`."""
    return apply_delta(state, side, price_ticks, -jnp.maximum(size_shares, 0))


def walk_book(state: BookState, side, size_shares, limit_price_ticks=None):
    """Fill `size_shares` (float) against the resting levels of `side`, best first.

    `side` is the side being hit (`Side.ASK` for a buy market order). With `limit_price_ticks`
    only levels at that price or better for the aggressor are taken. Returns
    `(fills (L,) float32 shares per level, filled_shares, average_price_ticks)`; the cost
    `sum(fills * price)` is piecewise-linear in `size_shares` (differentiable almost everywhere).
    The average price is that of the best level when nothing fills.
    """
    side = jnp.asarray(side, jnp.int32)
    is_bid = side == Side.BID
    sizes = jnp.where(is_bid, state.size_shares[0], state.size_shares[1]).astype(jnp.float32)
    prices = jnp.where(is_bid, state.price_ticks[0], state.price_ticks[1])
    if limit_price_ticks is not None:
        d = _direction(side)
        sizes = jnp.where(d * prices >= d * jnp.asarray(limit_price_ticks, jnp.int32), sizes, 0.0)
    fills = fill_in_order(jnp.asarray(size_shares, jnp.float32), sizes)
    filled = jnp.sum(fills)
    pf = prices.astype(jnp.float32)
    avg = jnp.where(filled > 0, jnp.sum(fills * pf) / jnp.maximum(filled, 1e-30), pf[0])
    return fills, filled, avg


def market_order(state: BookState, side, size_shares, limit_price_ticks=None):
    """Execute an integer market order of `size_shares` against `side` (the side hit).

    Returns `(state, fills (L,) int32 per level, average_price_ticks float32)`; the
    emptied levels are removed and the traded shares counted. Pass `limit_price_ticks` for a
    marketable limit order (the rest is not rested here; see `limit_order`).
    """
    side = jnp.asarray(side, jnp.int32)
    fills_f, _, avg = walk_book(state, side, jnp.maximum(size_shares, 0), limit_price_ticks)
    fills = jnp.round(fills_f).astype(jnp.int32)
    is_bid = side == Side.BID
    before = jnp.where(is_bid, state.size_shares[0], state.size_shares[1])
    sizes = before - fills
    prices = jnp.where(is_bid, state.price_ticks[0], state.price_ticks[1])
    gone = jnp.sum((sizes == 0) & (before > 0))
    # shift left by `gone` slots as a one-hot (L, L) selection: elementwise under vmap
    n = sizes.shape[-1]
    take = jnp.arange(n)[None, :] == jnp.arange(n)[:, None] + gone
    new_sizes = jnp.sum(jnp.where(take, sizes[None, :], 0), axis=-1)
    new_prices = jnp.where(new_sizes > 0, jnp.sum(jnp.where(take, prices[None, :], 0), axis=-1), 0)
    this_row = (jnp.arange(2) == side)[:, None]
    state = state.replace(
        price_ticks=jnp.where(this_row, new_prices[None, :], state.price_ticks),
        size_shares=jnp.where(this_row, new_sizes[None, :], state.size_shares),
        traded_shares=state.traded_shares + jnp.sum(fills),
    )
    return state, fills, avg


def invariants(state: BookState) -> dict[str, jax.Array]:
    """Boolean checks (True = holds), usable under jit/vmap.

    `not_crossed`: best bid < best ask when both exist; `non_negative`: no negative size;
    `sorted`: prices strictly improve towards slot 0 on each side; `prefix`: non-empty slots
    come first; `conserved`: added = resting + traded + cancelled + dropped.
    """
    size = state.size_shares
    present = size > 0
    bid, ask, has_bid, has_ask = best_prices(state)
    d = jnp.asarray([1, -1], jnp.int32)[:, None]
    p = state.price_ticks
    better = d * p[..., :-1] > d * p[..., 1:]
    resting = jnp.sum(size, axis=(-2, -1))
    return {
        "not_crossed": ~(has_bid & has_ask) | (bid < ask),
        "non_negative": jnp.all(size >= 0, axis=(-2, -1)),
        "sorted": jnp.all(better | ~present[..., 1:], axis=(-2, -1)),
        "prefix": jnp.all(present[..., :-1] | ~present[..., 1:], axis=(-2, -1)),
        "conserved": state.added_shares
        == resting + state.traded_shares + state.cancelled_shares + state.dropped_shares,
    }


def check_book(state: BookState) -> None:
    """Raise `InputError` naming the first violated invariant of a concrete `BookState`."""
    require(
        state.price_ticks.shape == state.size_shares.shape and state.price_ticks.shape[-2] == 2,
        "book arrays must both have shape (..., 2, levels)",
    )
    for name, ok in invariants(state).items():
        if not bool(np.all(np.asarray(ok))):
            raise InputError(f"book invariant {name!r} is violated")
