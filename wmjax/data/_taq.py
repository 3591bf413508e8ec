"""Consolidated trades and quotes (TAQ, QuantConnect Lean tick format): signed trades for
Hawkes fits.

Files (one day each, a zip holding one CSV without a header):
`YYYYMMDD_trade.zip`: ms_since_midnight, price (dollars x 10,000), size, exchange, condition,
suspicious; `YYYYMMDD_quote.zip`: ms_since_midnight, bid_price, bid_size, ask_price, ask_size,
exchange, condition, suspicious (a price of 0 leaves that side of that exchange unchanged).

Rules (documented choices):
- Trades: regular session 09:30-16:00 (34,200-57,600 s), prints flagged suspicious dropped,
  every other print kept (exchange and off-exchange, any condition).
- NBBO: each exchange's latest bid and ask (a price > 0 with size 0 withdraws that side), kept
  while at most 1 s old (the feed misses withdrawals: without the limit the market is crossed
  almost all day); the national best bid is the highest, the best offer the lowest.
- Trade sign, Lee & Ready (1991), "Inferring trade direction from intraday data": +1
  (buyer-initiated) above the NBBO midpoint prevailing at the last quote update in an earlier
  millisecond, -1 below it; at the midpoint, or when the NBBO is missing, locked or crossed, the
  tick test: the sign of the last non-zero price change among earlier prints. No quote delay
  (Bessembinder 2003 finds none needed for post-2000 data). Prints that stay unsigned (no
  earlier price change) are dropped and counted.
- Millisecond ties: prints in one millisecond with the same sign are one order swept across
  venues and merged (`ties="merge"`, sizes summed, like the LOBSTER sweep rule); then every
  event gets a time uniform within its millisecond, drawn from numpy's PCG64 with `seed`
  (default 0), so no two events tie. `ties="jitter"` jitters every print without merging.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np

from wmjax._checks import InputError, require
from wmjax.data._bars import _read_text

TAQ_SESSION_S = (34_200.0, 57_600.0)
_PRICE_SCALE = 10_000.0


@dataclasses.dataclass(frozen=True)
class TaqTrades:
    """Signed trades (or merged orders) of one day in time order: times_s (seconds after
    midnight, jittered within the millisecond), sign (+1 buyer-, -1 seller-initiated),
    size_shares, price (dollars); counts of the prints read, signed by the quote rule, by the
    tick test, left unsigned (dropped), and of the events after merging."""

    day: str
    times_s: np.ndarray
    sign: np.ndarray
    size_shares: np.ndarray
    price: np.ndarray
    n_prints: int
    n_quote_signed: int
    n_tick_signed: int
    n_unsigned: int

    def hawkes_segment(self, reference_size: float | None = None) -> dict:
        """A segment for `wmjax.hawkes.segment_events`: marks 0 buy / 1 sell, log_size =
        log(size / reference_size) (default: the day's geometric-mean size), the session."""
        ref = reference_size or float(np.exp(np.mean(np.log(self.size_shares))))
        return dict(
            times_s=self.times_s,
            marks=(self.sign < 0).astype(np.int32),
            log_size=np.log(self.size_shares / ref),
            start_s=TAQ_SESSION_S[0],
            end_s=TAQ_SESSION_S[1],
        )


def _columns(path: Path, n_numeric: int, exchange_col: int, flag_col: int):
    text, name = _read_text(path)
    try:
        numeric = np.loadtxt(io.StringIO(text), delimiter=",", usecols=range(n_numeric), ndmin=2)
        exchange = np.loadtxt(
            io.StringIO(text), delimiter=",", usecols=exchange_col, dtype=str, ndmin=1
        )
        flag = np.loadtxt(io.StringIO(text), delimiter=",", usecols=flag_col, ndmin=1)
    except ValueError as err:
        raise InputError(f"{name}: not a Lean tick file ({err})") from None
    require(numeric.shape[0] > 0, f"{name} holds no rows")
    require(bool(np.all(np.diff(numeric[:, 0]) >= 0)), f"{name}: times are not sorted")
    return numeric, exchange, flag


def _last_index(present: np.ndarray) -> np.ndarray:
    """Index of the last row <= k where `present` (-1 before the first)."""
    return np.maximum.accumulate(np.where(present, np.arange(present.size), -1))


def _forward_fill(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """values[k] from the last row <= k where present (NaN before the first)."""
    last = _last_index(present)
    return np.where(last >= 0, values[np.maximum(last, 0)], np.nan)


def national_best(
    quote_file: str | Path, *, max_quote_age_s: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ms, best_bid, best_ask) after every quote update (dollars; NaN where no exchange
    quotes that side). Suspicious updates are skipped. A venue's bid (ask) counts only while
    its last bid (ask) update is at most `max_quote_age_s` old: the feed lacks many
    withdrawals, and with stale quotes kept the market is crossed 99.7% of the session (IBM,
    2013-10-07); with 1 s it is uncrossed 77% of the time with a median spread of 2 cents
    (52% when the age counts from the venue's last update of either side)."""
    q, exchange, flag = _columns(Path(quote_file), 5, 5, 7)
    keep = flag == 0
    q, exchange = q[keep], exchange[keep]
    ms = q[:, 0]
    best_bid = np.full(q.shape[0], -np.inf)
    best_ask = np.full(q.shape[0], np.inf)
    for venue in np.unique(exchange):  # a loop over ~15 venues, not over rows
        mine = exchange == venue
        for col, best, pick in ((1, best_bid, np.fmax), (3, best_ask, np.fmin)):
            last = _last_index(mine & (q[:, col] > 0))
            row = np.maximum(last, 0)
            fresh = (last >= 0) & (q[row, col + 1] > 0) & (ms - ms[row] <= 1e3 * max_quote_age_s)
            best[:] = pick(best, np.where(fresh, q[row, col] / _PRICE_SCALE, np.nan))
    best_bid[~np.isfinite(best_bid)] = np.nan
    best_ask[~np.isfinite(best_ask)] = np.nan
    return ms, best_bid, best_ask


def lee_ready(trade_ms, price, quote_ms, best_bid, best_ask) -> tuple[np.ndarray, np.ndarray]:
    """(sign, by_quote): +1/-1 by the quote rule against the NBBO prevailing before the trade's
    millisecond, else by the tick test (0 when neither decides); by_quote marks the former."""
    last = np.searchsorted(quote_ms, trade_ms, side="left") - 1
    bid = np.where(last >= 0, best_bid[np.maximum(last, 0)], np.nan)
    ask = np.where(last >= 0, best_ask[np.maximum(last, 0)], np.nan)
    usable = np.isfinite(bid) & np.isfinite(ask) & (bid < ask)
    mid = 0.5 * (bid + ask)
    quote_sign = np.where(usable, np.sign(price - np.where(usable, mid, 0.0)), 0.0)
    change = np.sign(np.diff(price, prepend=price[:1]))
    tick = _forward_fill(change, change != 0)
    tick = np.where(np.isnan(tick), 0.0, tick)
    sign = np.where(quote_sign != 0, quote_sign, tick).astype(np.int64)
    return sign, quote_sign != 0


def load_taq_day(
    trade_file: str | Path, quote_file: str | Path, *, ties: str = "merge", seed: int = 0
) -> TaqTrades:
    """Signed regular-session trades of one day; see the module docstring for the rules."""
    require(ties in ("merge", "jitter"), f"ties must be 'merge' or 'jitter', got {ties!r}")
    t, _, flag = _columns(Path(trade_file), 3, 3, 5)
    t = t[flag == 0]  # suspicious prints neither count nor set a tick
    ms, price, size = t[:, 0], t[:, 1] / _PRICE_SCALE, t[:, 2]
    session = (ms >= TAQ_SESSION_S[0] * 1e3) & (ms < TAQ_SESSION_S[1] * 1e3)
    require(bool(np.any(session)), f"{trade_file}: no regular-session trades")
    quote_ms, bid, ask = national_best(quote_file)
    sign, by_quote = lee_ready(ms, price, quote_ms, bid, ask)
    keep = session & (sign != 0)
    n_quote, n_tick = int((session & by_quote).sum()), int((keep & ~by_quote).sum())
    ms, price, size, sign = ms[keep], price[keep], size[keep], sign[keep]
    if ties == "merge":
        by_key = np.argsort(ms * 2 + (sign > 0), kind="stable")  # one group per (ms, sign)
        ms, price, size_print, sign = ms[by_key], price[by_key], size[by_key], sign[by_key]
        key = ms * 2 + (sign > 0)
        first = np.concatenate([[True], key[1:] != key[:-1]])
        group = np.cumsum(first) - 1
        size = np.bincount(group, weights=size_print)
        order_ms, sign = ms[first], sign[first]
        price = np.bincount(group, weights=price * size_print) / size  # volume-weighted
        ms = order_ms
    jitter = np.random.default_rng(seed).uniform(0.0, 1.0, ms.size)
    times = (ms + jitter) / 1e3
    order = np.argsort(times, kind="stable")
    return TaqTrades(
        day=Path(trade_file).name[:8],
        times_s=times[order],
        sign=sign[order],
        size_shares=size[order],
        price=price[order],
        n_prints=int(session.sum()),
        n_quote_signed=n_quote,
        n_tick_signed=n_tick,
        n_unsigned=int((session & ~keep).sum()),
    )


def load_taq(folder: str | Path, *, ties: str = "merge", seed: int = 0) -> list[TaqTrades]:
    """Every day in a Lean tick folder (`YYYYMMDD_trade.zip` with its `YYYYMMDD_quote.zip`),
    in date order; day n is jittered with seed + n."""
    folder = Path(folder)
    trades = sorted(folder.glob("*_trade.zip"))
    require(bool(trades), f"{folder} holds no YYYYMMDD_trade.zip files")
    days = []
    for n, trade in enumerate(trades):
        quote = trade.with_name(trade.name.replace("_trade", "_quote"))
        require(quote.is_file(), f"{trade} has no quote file {quote.name} beside it")
        days.append(load_taq_day(trade, quote, ties=ties, seed=seed + n))
    return days
