"""Event files for Hawkes fitting: `time,mark` CSVs, and market orders from LOBSTER executions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wmjax._checks import InputError
from wmjax.data._lobster import LobsterData, load_lobster
from wmjax.data._lobster_events import trades_from_lobster
from wmjax.data._text import read_lines

EVENTS_HEADER = "time,mark"


def load_events_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(times_s float64, marks int64) from a CSV whose header is `time,mark`: event times in
    seconds, non-decreasing and >= 0, and integer marks >= 0 (the dimension of each event).

    Raises InputError naming the file line of the first bad row (line 1 is the header).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"events file {path} does not exist")
    lines = [line.strip() for line in read_lines(path, "events file")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines or lines[0].replace(" ", "") != EVENTS_HEADER:
        first = lines[0][:40] if lines else "an empty file"
        raise InputError(
            f"{path}: the first line must be the header {EVENTS_HEADER!r}, got {first!r}"
        )
    rows = lines[1:]
    if not rows:
        raise InputError(f"{path}: no events after the header")
    values = np.empty((len(rows), 2))
    for i, row in enumerate(rows):
        parts = row.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            values[i] = float(parts[0]), float(parts[1])
        except ValueError:
            raise InputError(
                f"{path}, line {i + 2}: expected two numbers 'time,mark', got {row[:60]!r}"
            ) from None
    times, marks = values[:, 0], values[:, 1]

    def first_bad(bad, what):
        if np.any(bad):
            i = int(np.argmax(bad))
            raise InputError(f"{path}, line {i + 2}: {what}, got {rows[i][:60]!r}")

    first_bad(~np.isfinite(values).all(axis=1), "time and mark must be finite")
    first_bad(times < 0, "time must be >= 0 seconds")
    first_bad((marks < 0) | (marks != np.round(marks)), "mark must be an integer >= 0")
    first_bad(np.diff(times, prepend=times[0]) < 0, "times must be sorted (non-decreasing)")
    return times, marks.astype(np.int64)


def save_events_csv(path: str | Path, times_s, marks) -> Path:
    """Write events as a `time,mark` CSV (times with full float64 precision); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    times = np.asarray(times_s, np.float64)
    marks = np.asarray(marks, np.int64)
    body = "\n".join(f"{t!r},{m}" for t, m in zip(times.tolist(), marks.tolist(), strict=True))
    path.write_text(f"{EVENTS_HEADER}\n{body}\n")
    return path


def lobster_trades(message_file: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times_s, marks, sizes_shares) of the market orders in a LOBSTER message file; see
    `trades_from_lobster` for the buy/sell marks and the sweep rule. The session is the span
    from the file's first to its last message: times count from the first message."""
    return trades_from_lobster(load_lobster(message_file))


def lobster_session_s(data: LobsterData) -> float:
    """Length in seconds of the session a LOBSTER file covers (first to last message)."""
    return float(data.times_s[-1] - data.times_s[0]) if data.rows else 0.0
