"""Replaying LOBSTER messages through the price-level book and checking against its book file.

Two checks against LOBSTER's order-book file (row i = the book just after message i):

* free-running (`replay_free_running`): the book is seeded from row 0 only and every later
  message is applied in one jitted `lax.scan`; row i matches when the book's K visible levels
  equal row i exactly. It runs until the first message whose effect depends on a level the file
  never showed (see below); from there the replayed book is missing that level.
* one-step (`replay_one_step`): message i is applied to the book exactly as row i-1 shows it,
  all rows at once (`vmap` over rows), checking the meaning of every event.

Determinable rows (one-step). Row i (i >= 1) is *determinable* when its K visible levels follow
from row i-1 and message i alone, that is unless message i removes a visible level (a cancel,
deletion or execution that takes all the shares at a shown price) on a side that shows all K
levels in row i-1: the level that then comes into view from beyond the K shown is unknown. Every
other event is determinable: an insertion pushes the K-th level out of view (known), an event
beyond the K-th level of a full side changes nothing in view, a side showing fewer than K levels
has nothing beyond them, and hidden executions, crosses and halts (types 5-7) change nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, positive_int, require
from wmjax.data import EventType, LobsterData
from wmjax.market._book import BookState, Side, apply_delta, book_from_levels
from wmjax.market._book_status import BookStatus, book_status


@struct.dataclass
class Messages:
    """Order-book messages as (N,) int32 arrays: `EventType`, `Side`, price and size."""

    event_type: jax.Array
    side: jax.Array
    price_ticks: jax.Array
    size_shares: jax.Array


@struct.dataclass
class ReplayResult:
    """Outcome of a replay check over the rows 1..N-1 of a LOBSTER file (row 0 seeds the book).

    `matches` and `determinable` are (N-1,) bool for rows 1..N-1; `first_departure_row` is the
    first determinable (0-based, file) row that does not match, or -1. `status` is the book's
    `BookStatus` over the replay (one-step: summed over the rows), as `wmjax.market.status_dict`
    writes it for `--json`.
    """

    rows: int = struct.field(pytree_node=False)
    determinable_rows: int = struct.field(pytree_node=False)
    matching_rows: int = struct.field(pytree_node=False)
    first_departure_row: int = struct.field(pytree_node=False)
    matches: np.ndarray
    determinable: np.ndarray
    status: BookStatus

    @property
    def match_rate(self) -> float:
        """Matching rows / determinable rows."""
        return self.matching_rows / max(self.determinable_rows, 1)


def messages_from_lobster(data: LobsterData) -> Messages:
    """The book messages of a `LobsterData` (direction +1 -> `Side.BID`, -1 -> `Side.ASK`)."""
    return Messages(
        event_type=jnp.asarray(data.event_type, jnp.int32),
        side=jnp.asarray(np.where(data.direction > 0, Side.BID, Side.ASK), jnp.int32),
        price_ticks=jnp.asarray(data.price_ticks, jnp.int32),
        size_shares=jnp.asarray(data.size_shares, jnp.int32),
    )


def apply_message(state: BookState, event_type, side, price_ticks, size_shares) -> BookState:
    """Apply one LOBSTER event: 1 adds, 2 and 3 cancel, 4 trades, 5-7 change nothing visible."""
    kind = jnp.asarray(event_type, jnp.int32)
    size = jnp.asarray(size_shares, jnp.int32)
    reduces = (kind >= EventType.CANCELLATION) & (kind <= EventType.EXECUTION)
    delta = jnp.where(kind == EventType.SUBMISSION, size, jnp.where(reduces, -size, 0))
    return apply_delta(state, side, price_ticks, delta, kind == EventType.EXECUTION)


def _apply(state: BookState, msg: Messages) -> BookState:
    return apply_message(state, msg.event_type, msg.side, msg.price_ticks, msg.size_shares)


def _replay_scan(book: BookState, messages: Messages) -> tuple[BookState, BookState]:
    def step(state, msg):
        state = _apply(state, msg)
        return state, (state.price_ticks, state.size_shares)

    return jax.lax.scan(step, book, messages)


#: `replay(book, messages) -> (final_state, (prices (N, 2, L), sizes (N, 2, L)))`: the messages
#: applied in order in one jitted scan; vmap it over days or tickers (equal N: pad with type-5
#: messages of size 0, which change nothing). `book_status(book, final_state)` is its status.
replay = jax.jit(_replay_scan)


def _replay_final(book: BookState, messages: Messages) -> BookState:
    return jax.lax.scan(lambda state, msg: (_apply(state, msg), None), book, messages)[0]


#: `replay_final(book, messages) -> final_state`: like `replay` without the per-row books
#: (constant memory: for long files and many books at once); status: `book_status(book, final)`.
replay_final = jax.jit(_replay_final)


def determinable_rows(data: LobsterData) -> np.ndarray:
    """(N - 1,) bool: row i >= 1 follows from row i - 1 and message i (module doc), computed
    from the file alone: False where message i cancels, deletes or executes at least all the
    shares of a level shown in row i - 1 on a side that shows all K levels."""
    price, size = book_rows(data)
    k = data.levels
    kind = np.asarray(data.event_type)[1:]
    side = np.where(np.asarray(data.direction)[1:] > 0, Side.BID, Side.ASK)
    rows = np.arange(kind.size)
    prev_price, prev_size = price[:-1][rows, side], size[:-1][rows, side]  # (N-1, K)
    at = (prev_price == np.asarray(data.price_ticks)[1:, None]) & (prev_size > 0)
    shown = np.sum(np.where(at, prev_size, 0), axis=1)
    reduces = (kind >= EventType.CANCELLATION) & (kind <= EventType.EXECUTION)
    removes = reduces & at.any(axis=1) & (np.asarray(data.size_shares)[1:] >= shown)
    return ~(removes & (prev_size[:, k - 1] > 0))


def _one_step(prev_price, prev_size, messages: Messages):
    """Apply each message to its own previous row; returns the new (price, size) and the
    status summed over the rows."""

    def single(price, size, msg):
        zero = jnp.zeros((), jnp.int32)
        book = BookState(
            price_ticks=price,
            size_shares=size,
            added_shares=jnp.sum(size),
            traded_shares=zero,
            cancelled_shares=zero,
            dropped_shares=zero,
            rejected=zero,
            unmatched=zero,
            overflow=jnp.asarray(False),
            overflow_events=zero,
        )
        new = apply_message(book, msg.event_type, msg.side, msg.price_ticks, msg.size_shares)
        return new.price_ticks, new.size_shares, book_status(book, new)

    price, size, status = jax.vmap(single)(prev_price, prev_size, messages)
    return price, size, jax.tree.map(jnp.sum, status)


_one_step_jit = jax.jit(_one_step)


def book_rows(data: LobsterData) -> tuple[np.ndarray, np.ndarray]:
    """The order-book file as (N, 2, K) int32 price and size arrays (axis 1 = `Side`)."""
    require(
        data.levels > 0,
        "this check needs the order-book file: pass orderbook_file to load_lobster",
    )
    price = np.stack([data.bid_price_ticks, data.ask_price_ticks], axis=1)
    size = np.stack([data.bid_size_shares, data.ask_size_shares], axis=1)
    return price.astype(np.int32), size.astype(np.int32)


def _tail(messages: Messages) -> Messages:
    return jax.tree.map(lambda x: x[1:], messages)


def _result(matches: np.ndarray, determinable: np.ndarray, status: BookStatus) -> ReplayResult:
    bad = np.flatnonzero(~matches & determinable)
    return ReplayResult(
        rows=int(matches.size),
        determinable_rows=int(determinable.sum()),
        matching_rows=int((matches & determinable).sum()),
        first_departure_row=int(bad[0] + 1) if bad.size else -1,
        matches=matches,
        determinable=determinable,
        status=status,
    )


def _same(price, size, ref_price, ref_size) -> np.ndarray:
    price, size = np.asarray(price), np.asarray(size)
    return np.all((size == ref_size) & ((price == ref_price) | (size == 0)), axis=(-2, -1))


def replay_one_step(data: LobsterData) -> ReplayResult:
    """One-step check of every message of `data` against its order-book file (see module doc).

    `matching_rows` counts determinable rows (`determinable_rows`, from the file alone) that
    match; `match_rate` is their share.
    """
    price, size = book_rows(data)
    require(data.rows >= 2, f"the file needs at least 2 rows to replay, got {data.rows}")
    new_price, new_size, status = _one_step_jit(
        jnp.asarray(price[:-1]), jnp.asarray(size[:-1]), _tail(messages_from_lobster(data))
    )
    matches = _same(new_price, new_size, price[1:], size[1:])
    return _result(matches, determinable_rows(data), status)


def replay_free_running(data: LobsterData, levels: int | None = None) -> ReplayResult:
    """Seed the book from row 0 and replay all later messages; compare every row.

    `levels` is the book's slots per side (default: the file's K; more slots keep levels that
    scrolled out of view, but the file never shows what lies beyond K). All rows count as
    determinable here; `first_departure_row` says where the replay first differs.
    """
    price, size = book_rows(data)
    k = data.levels
    levels = k if levels is None else positive_int("levels", levels)
    if levels < k:
        raise InputError(f"levels must be >= the file's {k} levels, got {levels}")
    seed = book_from_levels(price[0, 1], size[0, 1], price[0, 0], size[0, 0], levels)
    final, (new_price, new_size) = replay(seed, _tail(messages_from_lobster(data)))
    new_price, new_size = np.asarray(new_price)[..., :k], np.asarray(new_size)[..., :k]
    matches = _same(new_price, new_size, price[1:], size[1:])
    return _result(matches, np.ones_like(matches), book_status(seed, final))
