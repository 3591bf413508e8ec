"""LOBSTER message and order-book files -> fixed-shape arrays with named fields.

Format (https://lobsterdata.com, sample-file ReadMe): a message file has one row per event and six
columns `time_s, event_type, order_id, size, price, direction`; the matching order-book file has,
row for row, the book just after that event: `4 * levels` columns `ask_price_k, ask_size_k,
bid_price_k, bid_size_k` for k = 1..levels. Prices are dollars x 10000; empty levels carry the
dummy prices +-9999999999 with size 0.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

import numpy as np
from flax import struct

from wmjax._checks import InputError, positive_int
from wmjax.data._text import read_lines

#: LOBSTER prices are dollars x 10000; one cent is 100 of these units.
CENT_TICK = 100
_DUMMY_PRICE = 9999999999
_MESSAGE_COLUMNS = 6


class EventType(IntEnum):
    """LOBSTER event types (message column 2)."""

    SUBMISSION = 1  # new visible limit order
    CANCELLATION = 2  # partial deletion of a limit order
    DELETION = 3  # total deletion of a limit order
    EXECUTION = 4  # execution of a visible limit order
    HIDDEN_EXECUTION = 5  # execution of a hidden order: no visible change
    CROSS = 6  # cross / auction trade: no visible change
    HALT = 7  # trading halt indicator: no visible change


class Direction(IntEnum):
    """Side of the (resting) limit order: LOBSTER's +1 buy, -1 sell."""

    BUY = 1
    SELL = -1


@struct.dataclass
class LobsterData:
    """One LOBSTER message file (N rows) and, optionally, its order-book file (N rows, K levels).

    Fields are numpy arrays (host data; convert with `wmjax.market.messages_from_lobster`).
    `price_ticks` is the price in ticks of `tick` LOBSTER units (one cent by default); visible
    events (types 1-4) must lie on the grid, while hidden and cross executions may trade between
    ticks (e.g. at the midpoint) and are rounded down; `price_raw` keeps every price in LOBSTER
    units (dollars x 10000), and for HALT rows LOBSTER's halt code (-1 halt, 0 quoting resumes,
    1 trading resumes). Book arrays have shape (N, K); an empty level has size 0 and price 0.
    """

    times_s: np.ndarray  # (N,) float64, seconds after midnight
    event_type: np.ndarray  # (N,) int32, EventType values
    order_id: np.ndarray  # (N,) int64
    size_shares: np.ndarray  # (N,) int32
    price_ticks: np.ndarray  # (N,) int32
    price_raw: np.ndarray  # (N,) int64, dollars x 10000
    direction: np.ndarray  # (N,) int32, Direction values
    ask_price_ticks: np.ndarray | None = None  # (N, K) int32
    ask_size_shares: np.ndarray | None = None  # (N, K) int32
    bid_price_ticks: np.ndarray | None = None  # (N, K) int32
    bid_size_shares: np.ndarray | None = None  # (N, K) int32
    levels: int = struct.field(pytree_node=False, default=0)
    tick: int = struct.field(pytree_node=False, default=CENT_TICK)

    @property
    def rows(self) -> int:
        return int(self.times_s.shape[0])


def _read_rows(path: Path, n_columns: int | None) -> tuple[list[str], int]:
    """Non-empty lines of a header-less CSV and their common column count (checked per row)."""
    if not path.is_file():
        raise FileNotFoundError(f"LOBSTER file {path} does not exist")
    lines = read_lines(path, "LOBSTER file")
    if lines and not lines[-1].strip():
        lines = lines[:-1]
    if not lines:
        raise InputError(f"{path}: the file is empty")
    expected = n_columns if n_columns is not None else lines[0].count(",") + 1
    for i, line in enumerate(lines):
        if line.count(",") + 1 != expected:
            raise InputError(
                f"{path}, row {i + 1}: expected {expected} comma-separated columns, got "
                f"{line.count(',') + 1} ({line[:80]!r})"
            )
    return lines, expected


def _to_numbers(path: Path, lines: list[str], n_columns: int) -> np.ndarray:
    """(rows, columns) float64 array; on failure the first bad row is named."""
    try:
        return np.array(",".join(lines).split(","), dtype=np.float64).reshape(-1, n_columns)
    except ValueError:
        pass
    for i, line in enumerate(lines):
        try:
            np.array(line.split(","), dtype=np.float64)
        except ValueError:
            raise InputError(f"{path}, row {i + 1}: non-numeric value in {line[:80]!r}") from None
    raise InputError(f"{path}: could not be read as numbers")  # pragma: no cover


def _first_bad(path: Path, bad: np.ndarray, what: str, values: np.ndarray) -> None:
    if np.any(bad):
        i = int(np.argmax(bad))
        raise InputError(f"{path}, row {i + 1}: {what} (got {values[i]!r})")


def _ticks(path: Path, prices: np.ndarray, check: np.ndarray, tick: int) -> np.ndarray:
    _first_bad(
        path,
        check & (np.mod(prices, tick) != 0),
        f"price is not a multiple of the tick ({tick} LOBSTER units); pass tick=",
        prices,
    )
    return (prices // tick).astype(np.int32)


def _load_messages(path: Path, tick: int) -> dict:
    lines, _ = _read_rows(path, _MESSAGE_COLUMNS)
    raw = _to_numbers(path, lines, _MESSAGE_COLUMNS)
    times, kind, oid, size, price, direction = raw.T
    _first_bad(path, ~np.isfinite(raw).all(axis=1), "non-finite value", raw)
    _first_bad(
        path,
        ~np.isin(kind, [int(e) for e in EventType]),
        "unknown event type (LOBSTER types are 1-7)",
        kind,
    )
    _first_bad(path, np.diff(times, prepend=times[0]) < 0, "time goes backwards", times)
    _first_bad(path, (size < 0) | (size != np.round(size)), "size must be an integer >= 0", size)
    _first_bad(path, ~np.isin(direction, [1, -1]), "direction must be 1 or -1", direction)
    visible = kind <= EventType.EXECUTION
    return {
        "times_s": times,
        "event_type": kind.astype(np.int32),
        "order_id": oid.astype(np.int64),
        "size_shares": size.astype(np.int32),
        "price_ticks": _ticks(path, price, visible, tick),
        "price_raw": price.astype(np.int64),
        "direction": direction.astype(np.int32),
    }


def _load_book(path: Path, tick: int, rows: int) -> dict:
    lines, n_columns = _read_rows(path, None)
    if n_columns % 4:
        raise InputError(f"{path}: an order-book file has 4 columns per level, got {n_columns}")
    if len(lines) != rows:
        raise InputError(
            f"{path}: has {len(lines)} rows but the message file has {rows}; they must match"
        )
    raw = _to_numbers(path, lines, n_columns).reshape(rows, n_columns // 4, 4)
    out = {}
    for j, name in enumerate(("ask", "bid")):
        price, size = raw[:, :, 2 * j], raw[:, :, 2 * j + 1]
        empty = np.abs(price) == _DUMMY_PRICE
        _first_bad(
            path,
            (empty & (size != 0)).any(axis=1),
            f"an empty {name} level (dummy price) has non-zero size",
            size,
        )
        _first_bad(path, ((size < 0) & ~empty).any(axis=1), f"negative {name} size", size)
        out[f"{name}_price_ticks"] = np.where(empty, 0, _ticks(path, price, ~empty, tick))
        out[f"{name}_size_shares"] = size.astype(np.int32)
    return out


def load_lobster(
    message_file: str | Path, orderbook_file: str | Path | None = None, *, tick: int = CENT_TICK
) -> LobsterData:
    """Read a LOBSTER message file (and its order-book file) into a `LobsterData`.

    `tick` is the price grid in LOBSTER units (dollars x 10000); prices must be multiples of it.
    Malformed rows, wrong column counts, unknown event types and mismatched row counts raise
    `InputError` naming the file and the (1-based) row.
    """
    tick = positive_int("tick", tick)
    message_file = Path(message_file)
    fields = _load_messages(message_file, tick)
    levels = 0
    if orderbook_file is not None:
        book = _load_book(Path(orderbook_file), tick, len(fields["times_s"]))
        fields.update(book)
        levels = book["ask_price_ticks"].shape[1]
    return LobsterData(**fields, levels=levels, tick=tick)
