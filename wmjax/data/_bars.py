"""OHLCV bars: QuantConnect Lean bar files (CSV or a zip holding one CSV) and bars built from
trades (e.g. the executions of a LOBSTER message file).

Lean bar format (QuantConnect Lean, `Data/equity/usa/hour`): no header, one bar per line,
`yyyyMMdd HH:mm,open,high,low,close,volume`, prices in dollars x 10,000, unadjusted.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from flax import struct

from wmjax._checks import InputError, positive, require

LEAN_FIELDS = ("time", "open", "high", "low", "close", "volume")
_LEAN_PRICE_SCALE = 10_000.0


@struct.dataclass
class Bars:
    """N bars in time order (numpy arrays). `time` is the bar start (datetime64[s]); prices in
    dollars; `volume_shares` in shares."""

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume_shares: np.ndarray
    source: str = struct.field(pytree_node=False, default="")

    @property
    def n(self) -> int:
        return int(self.close.shape[0])


def _read_text(path: Path) -> tuple[str, str]:
    """(text, name shown in errors); a zip must hold exactly one file."""
    if not path.is_file():
        raise FileNotFoundError(f"bar file {path} does not exist")
    if path.suffix.lower() != ".zip":
        return path.read_text(errors="replace"), str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            require(len(names) == 1, f"{path}: the zip must hold one CSV, found {names}")
            return io.TextIOWrapper(zf.open(names[0]), errors="replace").read(), (
                f"{path}:{names[0]}"
            )
    except zipfile.BadZipFile as err:
        raise InputError(f"{path}: not a readable zip file ({err})") from None


def _parse_time(text: str) -> np.datetime64:
    d, _, hm = text.strip().partition(" ")
    if len(d) != 8 or not d.isdigit() or len(hm) != 5 or hm[2] != ":":
        raise ValueError(text)
    return np.datetime64(f"{d[:4]}-{d[4:6]}-{d[6:]}T{hm}", "s")


def load_lean_bars(path) -> Bars:
    """Read a Lean bar file (`.csv`, or `.zip` holding one CSV). Bad rows raise `InputError`
    naming the file, line and field."""
    path = Path(path)
    text, name = _read_text(path)
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    require(bool(lines), f"{name}: the file is empty")
    times = np.empty(len(lines), "datetime64[s]")
    values = np.empty((len(lines), 5))
    for i, line in enumerate(lines):
        cells = line.split(",")
        if len(cells) != len(LEAN_FIELDS):
            raise InputError(
                f"{name}, line {i + 1}: expected {len(LEAN_FIELDS)} fields "
                f"({','.join(LEAN_FIELDS)}), got {len(cells)} ({line[:80]!r})"
            )
        for j, (field, cell) in enumerate(zip(LEAN_FIELDS, cells, strict=True)):
            try:
                if j == 0:
                    times[i] = _parse_time(cell)
                else:
                    values[i, j - 1] = float(cell)
            except ValueError:
                fmt = "yyyyMMdd HH:mm" if j == 0 else "a number"
                raise InputError(
                    f"{name}, line {i + 1}, field {field}: expected {fmt}, got {cell!r}"
                ) from None
    o, h, lo, c, v = (values[:, k] for k in range(5))
    _check_bars(name, times, o, h, lo, c, v)
    s = _LEAN_PRICE_SCALE
    return Bars(times, o / s, h / s, lo / s, c / s, v, source=name)


def _check_bars(name, times, o, h, lo, c, v) -> None:
    checks = (
        ("open", ~(np.isfinite(o) & (o > 0)), "price must be > 0"),
        ("high", ~(np.isfinite(h) & (h >= np.maximum(o, c))), "high must be >= open and close"),
        (
            "low",
            ~(np.isfinite(lo) & (lo > 0) & (lo <= np.minimum(o, c))),
            "low must be > 0 and <= open and close",
        ),
        ("close", ~(np.isfinite(c) & (c > 0)), "price must be > 0"),
        ("volume", ~(np.isfinite(v) & (v >= 0)), "volume must be >= 0"),
        (
            "time",
            np.diff(times, prepend=times[:1] - 1) <= np.timedelta64(0, "s"),
            "times must increase",
        ),
    )
    for field, bad, what in checks:
        if np.any(bad):
            i = int(np.argmax(bad))
            raise InputError(f"{name}, line {i + 1}, field {field}: {what}")


def bars_from_trades(times_s, prices, sizes_shares, *, bar_s: float, day: str, source="") -> Bars:
    """OHLCV bars of `bar_s` seconds from trades at `times_s` (seconds after midnight of `day`,
    an ISO date), prices in dollars and sizes in shares; bars without trades are left out."""
    t = np.asarray(times_s, float)
    p = positive("prices", prices)
    q = positive("sizes_shares", sizes_shares, allow_zero=True)
    step = float(positive("bar_s", bar_s))
    require(
        t.shape == p.shape == q.shape and t.ndim == 1,
        "times_s, prices and sizes_shares must be 1-D arrays of one length",
    )
    require(t.size > 0, "no trades to build bars from")
    require(bool(np.all(np.diff(t) >= 0)), "times_s must be non-decreasing")
    bucket = np.floor(t / step).astype(np.int64)
    starts, first = np.unique(bucket, return_index=True)
    last = np.r_[first[1:], t.size] - 1
    high = np.maximum.reduceat(p, first)
    low = np.minimum.reduceat(p, first)
    volume = np.add.reduceat(q, first)
    base = np.datetime64(day, "s")
    times = base + (starts * step).astype("timedelta64[s]")
    return Bars(times, p[first], high, low, p[last], volume, source=source)
