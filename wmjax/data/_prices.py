"""Daily close files: `Date,TICKER1,TICKER2,...` CSV (optionally .gz), one row per trading day.

Dates are ISO (YYYY-MM-DD) and strictly increasing; prices are positive dollars (adjusted
closes). A bad cell is reported with its file, line and column; a missing price is an error
(this reader does not fill gaps: a backtest on filled prices would trade on stale quotes).
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
from flax import struct

from wmjax._checks import InputError


@struct.dataclass
class DailyPrices:
    """Daily closes of a universe (host numpy arrays).

    Attributes:
        dates: (n_days,) numpy datetime64[D], increasing.
        closes: (n_days, n_assets) float64 prices, dollars.
        tickers: the column names, in file order.
    """

    dates: np.ndarray
    closes: np.ndarray
    tickers: tuple[str, ...] = struct.field(pytree_node=False)

    @property
    def log_prices(self) -> np.ndarray:
        return np.log(self.closes)


def load_prices(path: str | Path) -> DailyPrices:
    """Read a `Date,TICKER1,...` daily close CSV (plain or .gz); InputError names the file, line
    and field of any bad cell."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"prices file {path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read it as a (gzipped) CSV text file: {err}") from err
    if not rows or len(rows[0]) < 3 or rows[0][0].strip().lower() != "date":
        raise InputError(
            f"{path}, line 1: the header must be Date,TICKER1,TICKER2,... with at least two "
            f"tickers, got {rows[0] if rows else 'an empty file'}"
        )
    tickers = tuple(t.strip() for t in rows[0][1:])
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    if len(body) < 2:
        raise InputError(f"{path}: needs at least two rows of prices, got {len(body)}")
    dates = np.empty(len(body), "datetime64[D]")
    closes = np.empty((len(body), len(tickers)))
    for i, row in enumerate(body):
        line = i + 2
        if len(row) != len(tickers) + 1:
            raise InputError(
                f"{path}, line {line}: expected {len(tickers) + 1} fields, got {len(row)}"
            )
        try:
            dates[i] = np.datetime64(row[0].strip(), "D")
        except ValueError as err:
            raise InputError(
                f"{path}, line {line}, field Date: {row[0]!r} is not YYYY-MM-DD"
            ) from err
        for j, cell in enumerate(row[1:]):
            try:
                value = float(cell)
            except ValueError:
                value = np.nan
            if not (np.isfinite(value) and value > 0):
                raise InputError(
                    f"{path}, line {line}, field {tickers[j]}: price {cell!r} must be a "
                    "positive number (no gaps are filled)"
                )
            closes[i, j] = value
    bad = np.nonzero(np.diff(dates) <= np.timedelta64(0, "D"))[0]
    if bad.size:
        raise InputError(
            f"{path}, line {bad[0] + 3}: date {dates[bad[0] + 1]} does not come after "
            f"{dates[bad[0]]} (rows must be in increasing date order)"
        )
    return DailyPrices(dates=dates, closes=closes, tickers=tickers)
