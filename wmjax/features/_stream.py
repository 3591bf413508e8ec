"""One input type for real and simulated books: a `BookStream` of N book rows and their trades.

LOBSTER rows (`stream_from_lobster`) and simulated `BookState` sequences (`stream_from_books`)
both become a `BookStream`; every feature and label in `wmjax.features` is computed from it by
one code path. Row i is the book just after event i (LOBSTER's convention).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, positive_int, require
from wmjax.market import BookState

# LOBSTER event types 4 and 5 (visible and hidden executions); see wmjax.data.EventType
_EXECUTIONS = (4, 5)


@struct.dataclass
class BookStream:
    """N book rows at L levels (best first) with times and signed trades.

    `trade_signed_shares` is > 0 for a buyer-initiated trade (it lifted the ask), < 0 for a
    seller-initiated one, 0 for a row without a trade. The own-state fields (our inventory, time
    left, queue position and latency) are zero for market data and filled in by simulations.
    Times are float32 seconds (after midnight for LOBSTER: about 4 ms resolution at 16:00).
    """

    times_s: jax.Array  # (N,) float32
    bid_price_ticks: jax.Array  # (N, L) int32, 0 where the level is empty
    bid_size_shares: jax.Array  # (N, L) int32
    ask_price_ticks: jax.Array  # (N, L) int32
    ask_size_shares: jax.Array  # (N, L) int32
    trade_signed_shares: jax.Array  # (N,) float32
    inventory_shares: jax.Array  # (N,) float32
    time_left_s: jax.Array  # (N,) float32
    queue_ahead_shares: jax.Array  # (N,) float32
    latency_us: jax.Array  # (N,) float32

    @property
    def rows(self) -> int:
        return int(self.times_s.shape[0])

    @property
    def levels(self) -> int:
        return int(self.bid_price_ticks.shape[-1])


def _stream(times_s, bid_p, bid_q, ask_p, ask_q, trades, own) -> BookStream:
    n = jnp.shape(times_s)[0]
    zeros = jnp.zeros((n,), jnp.float32)
    own = {k: jnp.asarray(v, jnp.float32) for k, v in (own or {}).items()}
    fields = ("inventory_shares", "time_left_s", "queue_ahead_shares", "latency_us")
    unknown = set(own) - set(fields)
    require(not unknown, f"own: unknown field(s) {sorted(unknown)}; use {fields}")
    return BookStream(
        times_s=jnp.asarray(times_s, jnp.float32),
        bid_price_ticks=jnp.asarray(bid_p, jnp.int32),
        bid_size_shares=jnp.asarray(bid_q, jnp.int32),
        ask_price_ticks=jnp.asarray(ask_p, jnp.int32),
        ask_size_shares=jnp.asarray(ask_q, jnp.int32),
        trade_signed_shares=jnp.asarray(trades, jnp.float32),
        **{f: own.get(f, zeros) for f in fields},
    )


def stream_from_lobster(data, levels: int | None = None) -> BookStream:
    """A `BookStream` from a `wmjax.data.LobsterData` with its order-book file.

    `levels` keeps the first levels of the file (default: all). Executions (types 4 and 5) give
    the trades; LOBSTER's direction is that of the resting order, so the aggressor's sign is
    minus it.
    """
    if data.ask_price_ticks is None:
        raise InputError("the LOBSTER data has no order book: pass the order-book file too")
    levels = data.levels if levels is None else positive_int("levels", levels)
    require(levels <= data.levels, f"levels={levels} but the order-book file has {data.levels}")
    is_trade = np.isin(data.event_type, _EXECUTIONS)
    trades = np.where(is_trade, -data.direction * data.size_shares, 0)
    sl = slice(0, levels)
    return _stream(
        data.times_s,
        data.bid_price_ticks[:, sl],
        data.bid_size_shares[:, sl],
        data.ask_price_ticks[:, sl],
        data.ask_size_shares[:, sl],
        trades,
        None,
    )


def stream_from_books(
    times_s, books: BookState, trade_signed_shares, own: dict | None = None
) -> BookStream:
    """A `BookStream` from N stacked `BookState`s (leading axis N), e.g. a simulated path.

    `own` optionally gives (N,) arrays for `inventory_shares`, `time_left_s`,
    `queue_ahead_shares`, `latency_us`. Works under jit.
    """
    price, size = books.price_ticks, books.size_shares
    return _stream(
        times_s,
        price[:, 0],
        size[:, 0],
        price[:, 1],
        size[:, 1],
        trade_signed_shares,
        own,
    )
