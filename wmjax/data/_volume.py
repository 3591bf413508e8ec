"""Intraday volume files: `bar_start,volume` bins (any width) and QuantConnect Lean hourly bars.

Bins CSV: a header whose first column starts with `bar_start` (e.g. `bar_start_ET`) and whose
second is `volume`; one row per bin, `YYYY-MM-DD HH:MM[:SS],volume_shares`, rows in time order.
The bin grid is the set of bin start times seen on the most common day length; a day lacking any
of them (a half day, a missing bin) is kept with NaN in the missing bins and `complete = False`:
forecasters leave such days out of their fitting windows and the VWAP evaluation skips them as
test days (a day-long order has no full-day benchmark on them).

Lean hourly CSV (no header, in a `.zip` or plain): `yyyyMMdd HH:mm,open,high,low,close,volume`,
prices in dollars x 10,000, unadjusted. Seven bars per full day (09:00 .. 15:00).
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
from flax import struct

from wmjax._checks import InputError


@struct.dataclass
class VolumeBins:
    """Intraday volume on a fixed bin grid (host numpy arrays).

    Attributes:
        days: (n_days,) dates as `YYYY-MM-DD` strings, in order.
        bin_start_s: (n_bins,) start of each bin, seconds after midnight.
        volume_shares: (n_days, n_bins) volume per bin, shares; NaN where a bin is missing.
        complete: (n_days,) True where every bin of the grid is present.
    """

    days: np.ndarray
    bin_start_s: np.ndarray
    volume_shares: np.ndarray
    complete: np.ndarray

    @property
    def n_bins(self) -> int:
        return int(self.bin_start_s.shape[0])


@struct.dataclass
class HourlyBars:
    """Hourly OHLCV bars per day (host numpy arrays, NaN where a bar is missing).

    Attributes:
        days: (n_days,) dates `YYYY-MM-DD`.
        bar_start_s: (n_bars,) bar labels, seconds after midnight (09:00 = 09:30-10:00 in Lean).
        open, high, low, close: (n_days, n_bars) prices, dollars.
        volume_shares: (n_days, n_bars) shares.
        complete: (n_days,) True where the day has every bar.
    """

    days: np.ndarray
    bar_start_s: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume_shares: np.ndarray
    complete: np.ndarray


def _parse_stamp(text: str, fmts: tuple[str, ...], where: str) -> datetime:
    for fmt in fmts:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise InputError(f"{where}: field bar_start {text!r} is not a time like {fmts[0]!r}")


def _number(text: str, field: str, where: str, *, allow_zero: bool = True) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise InputError(f"{where}: field {field} {text!r} is not a number") from err
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise InputError(f"{where}: field {field} must be a finite number >= 0, got {text!r}")
    return value


def _grid(stamps: list[datetime], values: list, n_fields: int, where: str):
    """Day x bin arrays from time-stamped rows; the grid is the most common day's bins."""
    by_day: dict[str, dict[int, list]] = {}
    for stamp, value in zip(stamps, values, strict=True):
        day = stamp.strftime("%Y-%m-%d")
        second = stamp.hour * 3600 + stamp.minute * 60 + stamp.second
        by_day.setdefault(day, {})[second] = value
    if not by_day:
        raise InputError(f"{where}: no data rows")
    lengths = Counter(len(bins) for bins in by_day.values())
    full = max(lengths, key=lambda n: (lengths[n], n))
    grid = sorted(
        {s for bins in by_day.values() if len(bins) == full for s in bins}, key=lambda s: s
    )
    index = {s: i for i, s in enumerate(grid)}
    days = sorted(by_day)
    out = np.full((len(days), len(grid), n_fields), np.nan)
    for d, day in enumerate(days):
        for second, value in by_day[day].items():
            if second in index:  # bins off the grid (odd timestamps) are not part of any day
                out[d, index[second]] = value
    complete = ~np.isnan(out).any(axis=(1, 2))
    return np.asarray(days), np.asarray(grid, float), out, complete


def load_volume_bins(path: str | Path) -> VolumeBins:
    """Read a `bar_start,volume` CSV of intraday bins; see the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"volume file {path} does not exist")
    stamps, values = [], []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if (
            header is None
            or len(header) < 2
            or not header[0].strip().lower().startswith("bar_start")
            or header[1].strip().lower() != "volume"
        ):
            raise InputError(
                f"{path}, line 1: expected the header bar_start,volume (e.g. bar_start_ET,volume),"
                f" got {header}"
            )
        previous = None
        for line_no, row in enumerate(reader, start=2):
            where = f"{path}, line {line_no}"
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) < 2:
                raise InputError(f"{where}: expected 2 fields (bar_start,volume), got {row}")
            stamp = _parse_stamp(row[0], ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"), where)
            if previous is not None and stamp <= previous:
                raise InputError(f"{where}: field bar_start {row[0]!r} is not after the row above")
            previous = stamp
            stamps.append(stamp)
            values.append(_number(row[1], "volume", where))
    days, grid, out, complete = _grid(stamps, values, 1, str(path))
    if len(grid) < 2:
        raise InputError(f"{path}: need at least 2 bins per day, found {len(grid)}")
    return VolumeBins(days, grid, out[..., 0], complete)


def load_lean_hourly(path: str | Path) -> HourlyBars:
    """Read Lean hourly bars from a `.zip` (its one CSV) or a plain CSV (see the module doc)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"hourly bars file {path} does not exist")
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".csv")]
            if len(names) != 1:
                raise InputError(f"{path}: expected one .csv inside the zip, found {names}")
            text = archive.read(names[0]).decode()
    else:
        text = path.read_text()
    stamps, values = [], []
    fields = ("open", "high", "low", "close", "volume")
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        where = f"{path}, line {line_no}"
        if not row:
            continue
        if len(row) != 6:
            raise InputError(f"{where}: expected 6 fields (time,open,high,low,close,volume)")
        stamps.append(_parse_stamp(row[0], ("%Y%m%d %H:%M",), where))
        values.append([_number(v, f, where) for v, f in zip(row[1:], fields, strict=True)])
    days, grid, out, complete = _grid(stamps, values, 5, str(path))
    prices = out[..., :4] / 1e4
    return HourlyBars(
        days,
        grid,
        prices[..., 0],
        prices[..., 1],
        prices[..., 2],
        prices[..., 3],
        out[..., 4],
        complete,
    )
