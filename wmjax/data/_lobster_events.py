"""LOBSTER messages as event streams: one rule for sweeps, used by every translation.

The sweep rule (`merge_sweeps`): an aggressive order that executes against several resting
orders appears in LOBSTER as several executions with the same timestamp. Executions with the
same timestamp AND the same aggressor side are one market order, placed at the first of them,
its size their sum; executions on opposite sides at one timestamp stay two orders. Which
executions enter is the caller's choice, and the only difference between the translations:
`trades_from_lobster` (market orders for a Hawkes fit) takes visible and hidden ones, since
both are trades; `flow_events_from_lobster` (the book's order flow) takes the visible ones only,
since a hidden execution does not change the visible book.

Aggressor side: a resting SELL order executed (direction -1) is a buyer-initiated trade.
"""

from __future__ import annotations

import numpy as np

from wmjax.data._lobster import Direction, EventType, LobsterData

# the book's flow types (`wmjax.market.FlowType` uses the same numbers)
LIMIT_BUY, LIMIT_SELL, CANCEL_BID, CANCEL_ASK, MARKET_BUY, MARKET_SELL = range(6)


def merge_sweeps(times_s, buyer_initiated, sizes_shares, is_execution):
    """Apply the sweep rule to a time-ordered message stream.

    Arrays (n,): times, aggressor side (bool; ignored where not an execution), sizes, and which
    rows are executions that enter. Returns (keep (n,) bool: the rows that stay, one per
    market order and every non-execution row; sizes (n,) with each kept execution's size the
    sum of its sweep).
    """
    times = np.asarray(times_s, np.float64)
    side = np.asarray(buyer_initiated, bool)
    sizes = np.asarray(sizes_shares, np.float64)
    execution = np.asarray(is_execution, bool)
    idx = np.flatnonzero(execution)
    keep = np.ones(times.shape, bool)
    merged = sizes.copy()
    if idx.size:
        key = np.stack([times[idx], side[idx]], axis=1)
        _, first, group = np.unique(key, axis=0, return_index=True, return_inverse=True)
        group = np.asarray(group).ravel()
        total = np.bincount(group, weights=sizes[idx])
        keep[idx] = False
        keep[idx[first]] = True
        merged[idx[first]] = total
    return keep, merged


def trades_from_lobster(data: LobsterData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Market orders from LOBSTER executions (visible and hidden), as a 2-D Hawkes data set:
    mark 0 = buyer-initiated, 1 = seller-initiated, sweeps merged (module doc). Returns
    (times_s after the file's first message, marks, sizes_shares), sorted by time, then mark."""
    kind = np.asarray(data.event_type)
    is_trade = (kind == EventType.EXECUTION) | (kind == EventType.HIDDEN_EXECUTION)
    start = float(data.times_s[0]) if data.rows else 0.0
    buyer = np.asarray(data.direction) == Direction.SELL
    keep, sizes = merge_sweeps(data.times_s, buyer, data.size_shares, is_trade)
    rows = keep & is_trade
    times = np.asarray(data.times_s, np.float64)[rows] - start
    marks = np.where(buyer[rows], 0, 1)
    order = np.lexsort((marks, times))
    return times[order], marks[order].astype(np.int64), sizes[rows][order]


def flow_events_from_lobster(data: LobsterData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times_s since the file's first message, flow marks, sizes_shares) of a LOBSTER file.

    Marks are the book's flow types (0 limit buy, 1 limit sell, 2 cancel on the bid, 3 cancel on
    the ask, 4 market buy, 5 market sell): submissions are limit orders, cancellations and
    deletions cancels, visible executions market orders after the sweep rule (module doc).
    Hidden executions, crosses and halts are left out (no visible change).
    """
    kind = np.asarray(data.event_type)
    buy = np.asarray(data.direction) == Direction.BUY
    marks = np.full(kind.shape, -1)
    marks[(kind == EventType.SUBMISSION) & buy] = LIMIT_BUY
    marks[(kind == EventType.SUBMISSION) & ~buy] = LIMIT_SELL
    cancel = (kind == EventType.CANCELLATION) | (kind == EventType.DELETION)
    marks[cancel & buy] = CANCEL_BID
    marks[cancel & ~buy] = CANCEL_ASK
    execution = kind == EventType.EXECUTION
    marks[execution & buy] = MARKET_SELL
    marks[execution & ~buy] = MARKET_BUY
    keep, sizes = merge_sweeps(data.times_s, ~buy, data.size_shares, execution)
    keep &= marks >= 0
    origin = float(np.asarray(data.times_s)[0])
    times = np.asarray(data.times_s, np.float64)[keep] - origin
    return times, marks[keep].astype(np.int32), sizes[keep]
