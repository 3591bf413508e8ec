"""Fills files: one historical parent order's executions, for counterfactuals and TCA.

CSV with a header naming the columns `time,side,shares,price` (any order, extra columns
ignored), one execution per row:

- time: seconds after midnight (34200.5) or a clock time (09:30:00.5);
- side: buy or sell (also B/S, +1/-1); every row must have the order's side;
- shares: executed shares (> 0); price: execution price (> 0, the price units of the market).

What the rows cannot say about the order comes from options or from a JSON sidecar (the same
path with `.json` instead of `.csv`, or `sidecar=`), options winning: `arrival_price` (the mid
when the order arrived, > 0), `start` and `end` (the order's window, same time format),
optionally `quantity_shares` (the order's size; default: the sum of the fills), `end_price`
(the mid at `end`, for the opportunity cost of unfilled shares) and `symbol`.

For best-execution reports a file may also give, per fill, the optional columns `venue` (the
execution venue, e.g. a MIC), `liquidity` (passive or aggressive; also maker/taker,
add/remove) and `bid`, `ask` (the best quotes when it executed), and in the sidecar `strategy`,
`date` (YYYY-MM-DD), `order_type` (market or limit), `market_vwap` (the market's VWAP over the
order's window) and `order_id`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date
from pathlib import Path

import numpy as np
from flax import struct

from wmjax._checks import InputError
from wmjax.data._text import read_text

FILLS_COLUMNS = ("time", "side", "shares", "price")
OPTIONAL_COLUMNS = ("venue", "liquidity", "bid", "ask")
_LIQUIDITY = {
    "passive": "passive",
    "maker": "passive",
    "add": "passive",
    "p": "passive",
    "aggressive": "aggressive",
    "taker": "aggressive",
    "remove": "aggressive",
    "a": "aggressive",
}
_SIDES = {"buy": 1, "b": 1, "+1": 1, "1": 1, "sell": -1, "s": -1, "-1": -1}


@struct.dataclass
class HistoricalFills:
    """One parent order's executions (host numpy arrays, rows in time order).

    Attributes:
        times_s: (n,) execution times, seconds after midnight.
        shares: (n,) executed shares; prices: (n,) execution prices.
        side: +1 buy, -1 sell.
        arrival_price: mid at arrival; start_s, end_s: the order's window.
        quantity_shares: the order's size (>= the filled shares).
        end_price: mid at the end (NaN if unknown: unfilled shares then cost nothing).
        symbol: the instrument, if given.
    """

    times_s: np.ndarray
    shares: np.ndarray
    prices: np.ndarray
    side: int = struct.field(pytree_node=False)
    arrival_price: float = struct.field(pytree_node=False)
    start_s: float = struct.field(pytree_node=False)
    end_s: float = struct.field(pytree_node=False)
    quantity_shares: float = struct.field(pytree_node=False)
    end_price: float = struct.field(pytree_node=False, default=math.nan)
    symbol: str = struct.field(pytree_node=False, default="")
    bid_prices: np.ndarray | None = None  # (n,) best bid at each fill, if given
    ask_prices: np.ndarray | None = None  # (n,) best ask at each fill, if given
    venues: tuple = struct.field(pytree_node=False, default=())  # per fill, if given
    liquidity: tuple = struct.field(pytree_node=False, default=())  # passive/aggressive
    strategy: str = struct.field(pytree_node=False, default="")
    date: str = struct.field(pytree_node=False, default="")
    order_type: str = struct.field(pytree_node=False, default="")
    market_vwap: float = struct.field(pytree_node=False, default=math.nan)
    order_id: str = struct.field(pytree_node=False, default="")

    @property
    def filled_shares(self) -> float:
        return float(np.sum(self.shares))


def parse_time_s(value, where: str) -> float:
    """Seconds after midnight from a number or a clock time HH:MM[:SS[.fff]]."""
    text = str(value).strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) not in (2, 3) or any(p < 0 for p in parts):
                raise ValueError(text)
            seconds = parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) == 3 else 0.0)
        else:
            seconds = float(text)
    except ValueError as err:
        raise InputError(
            f"{where}: time {text!r} is neither seconds after midnight nor HH:MM:SS"
        ) from err
    if not math.isfinite(seconds) or not 0 <= seconds <= 86400:
        raise InputError(f"{where}: time {text!r} is not within a day (0..86400 s)")
    return seconds


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError) as err:
        raise InputError(f"{where} must be a number, got {text!r}") from err
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{where} must be a finite number > 0, got {text!r}")
    return value


def _sidecar(path: Path, sidecar) -> dict:
    candidate = Path(sidecar) if sidecar is not None else path.with_suffix(".json")
    if sidecar is None and not candidate.is_file():
        return {}
    if not candidate.is_file():
        raise InputError(f"sidecar {candidate} does not exist")
    try:
        meta = json.loads(read_text(candidate, "sidecar"))
    except json.JSONDecodeError as err:
        raise InputError(f"sidecar {candidate} is not valid JSON: {err}") from err
    if not isinstance(meta, dict):
        raise InputError(f"sidecar {candidate} must hold a JSON object")
    known = {"arrival_price", "start", "end", "quantity_shares", "end_price", "symbol"}
    known |= {"strategy", "date", "order_type", "market_vwap", "order_id"}
    unknown = sorted(set(meta) - known)
    if unknown:
        raise InputError(f"sidecar {candidate}: unknown field(s) {unknown}; known: {sorted(known)}")
    return meta


def load_fills(
    path,
    *,
    arrival_price: float | None = None,
    start=None,
    end=None,
    quantity_shares: float | None = None,
    end_price: float | None = None,
    sidecar=None,
    max_price_deviation: float | None = 0.5,
) -> HistoricalFills:
    """Read a fills CSV (see the module docstring) into `HistoricalFills`.

    Bad rows raise `InputError` naming the file, the 1-based line and the field; a missing
    arrival price, start or end (neither option nor sidecar) names the option to pass. A fill
    price more than `max_price_deviation` (a fraction, default 50 %) away from the arrival
    price is refused as implausible (a typo, or another instrument's or currency's price); pass
    None to accept it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"fills file {path} does not exist")
    meta = _sidecar(path, sidecar)
    given = {
        "arrival_price": arrival_price,
        "start": start,
        "end": end,
        "quantity_shares": quantity_shares,
        "end_price": end_price,
    }
    meta.update({k: v for k, v in given.items() if v is not None})
    for need, option in (
        ("arrival_price", "--arrival-price"),
        ("start", "--start"),
        ("end", "--end"),
    ):
        if meta.get(need) is None:
            raise InputError(
                f"{path}: the order's {need} is missing; pass {option} or put it in the sidecar "
                f"{path.with_suffix('.json')}"
            )
    reader = csv.reader(io.StringIO(read_text(path, "fills file"), newline=""))
    header = next(reader, None)
    if header is None:
        raise InputError(f"{path} is empty; expected a header {','.join(FILLS_COLUMNS)}")
    names = [h.strip().lower() for h in header]
    missing = [c for c in FILLS_COLUMNS if c not in names]
    if missing:
        raise InputError(
            f"{path} line 1: header {header} lacks column(s) {missing}; expected "
            f"{','.join(FILLS_COLUMNS)}"
        )
    col = {c: names.index(c) for c in FILLS_COLUMNS + OPTIONAL_COLUMNS if c in names}
    times, sides, shares, prices, lines = [], [], [], [], []
    extra = {c: [] for c in OPTIONAL_COLUMNS if c in col}
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        where = f"{path} line {line}"
        if len(row) < len(names):
            raise InputError(f"{where}: expected {len(names)} columns, got {len(row)}")
        times.append(parse_time_s(row[col["time"]], f"{where} field time"))
        side = _SIDES.get(row[col["side"]].strip().lower())
        if side is None:
            raise InputError(f"{where} field side: {row[col['side']]!r} is not buy or sell")
        sides.append(side)
        shares.append(_number(row[col["shares"]], f"{where} field shares"))
        prices.append(_number(row[col["price"]], f"{where} field price"))
        lines.append(line)
        for c, values in extra.items():
            values.append(_optional_field(c, row[col[c]], f"{where} field {c}"))
    if not times:
        raise InputError(f"{path} has no fills (only a header)")
    if len(set(sides)) != 1:
        first = sides.index(-sides[0]) + 2
        raise InputError(
            f"{path} line {first} field side: a parent order has one side; this row trades the "
            "other way"
        )
    arrival = _number(meta["arrival_price"], f"{path} arrival_price")
    if max_price_deviation is not None:
        band = float(max_price_deviation)
        off = np.abs(np.asarray(prices) / arrival - 1.0)
        bad = np.flatnonzero(off > band)
        if bad.size:
            i = int(bad[0])
            raise InputError(
                f"{path} line {lines[i]} field price: {prices[i]:g} is {100 * off[i]:.0f}% away "
                f"from the arrival price {arrival:g} (more than {100 * band:.0f}%): check the "
                "price units and the arrival price, or accept it with --allow-implausible-prices "
                "(max_price_deviation=None)"
            )
    start_s = parse_time_s(meta["start"], f"{path} start")
    end_s = parse_time_s(meta["end"], f"{path} end")
    if end_s <= start_s:
        raise InputError(f"{path}: end ({end_s} s) must be after start ({start_s} s)")
    t = np.asarray(times)
    outside = np.flatnonzero((t < start_s) | (t > end_s))
    if outside.size:
        raise InputError(
            f"{path} line {outside[0] + 2} field time: {t[outside[0]]} s is outside the order's "
            f"window [{start_s}, {end_s}]"
        )
    order = np.argsort(t, kind="stable")
    filled = float(np.sum(shares))
    qty = _number(meta.get("quantity_shares", filled), f"{path} quantity_shares")
    if qty < filled * (1 - 1e-9):
        raise InputError(f"{path}: quantity_shares {qty} is less than the {filled} shares filled")
    return HistoricalFills(
        times_s=t[order],
        shares=np.asarray(shares)[order],
        prices=np.asarray(prices)[order],
        side=sides[0],
        arrival_price=arrival,
        start_s=start_s,
        end_s=end_s,
        quantity_shares=qty,
        end_price=(
            math.nan
            if meta.get("end_price") is None
            else _number(meta["end_price"], f"{path} end_price")
        ),
        symbol=str(meta.get("symbol", "")),
        bid_prices=np.asarray(extra["bid"])[order] if "bid" in extra else None,
        ask_prices=np.asarray(extra["ask"])[order] if "ask" in extra else None,
        venues=tuple(np.asarray(extra["venue"], object)[order]) if "venue" in extra else (),
        liquidity=(
            tuple(np.asarray(extra["liquidity"], object)[order]) if "liquidity" in extra else ()
        ),
        **_order_meta(path, meta),
    )


def _optional_field(column: str, text: str, where: str):
    text = text.strip()
    if column in ("bid", "ask"):
        return _number(text, where)
    if column == "liquidity":
        kind = _LIQUIDITY.get(text.lower())
        if kind is None:
            raise InputError(f"{where}: {text!r} is not passive or aggressive (maker/taker)")
        return kind
    if not text:
        raise InputError(f"{where} is empty")
    return text


def _order_meta(path: Path, meta: dict) -> dict:
    """The sidecar's optional order attributes for best-execution reports, checked."""
    out = {k: str(meta.get(k, "")) for k in ("strategy", "date", "order_id")}
    kind = str(meta.get("order_type", "")).lower()
    if kind not in ("", "market", "limit"):
        raise InputError(f"{path} order_type: {kind!r} is not market or limit")
    if out["date"]:
        try:
            date.fromisoformat(out["date"])
        except ValueError as err:
            raise InputError(f"{path} date: {out['date']!r} is not YYYY-MM-DD") from err
    vwap = meta.get("market_vwap")
    out["market_vwap"] = math.nan if vwap is None else _number(vwap, f"{path} market_vwap")
    return {**out, "order_type": kind}
