"""Leak-free labels and chronological splits.

A label at row i looks at rows after i only through an explicit end index, and is valid only when
that end lies inside the data. Direction classes are DOWN = 0, FLAT = 1, UP = 2:
- raw sign: the sign of m_{i+k} - m_i (or over a clock horizon);
- smoothed (Zhang, Zohren & Roberts 2019, DeepLOB; Ntakaris et al. 2018, FI-2010): compare the
  mean of the next k mids with the mean of the past k mids (row i included), threshold in bps.
The smoothed label shares the past window with the information at i, so much of it is known at
i; `past_mean_gap_bps` is the one-feature baseline that exposes this. A chronological split keeps
only training rows whose label ends strictly before the test period starts, so the gap between
the last training row and the first test row is at least the horizon.
"""

from __future__ import annotations

from enum import IntEnum

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int


class Move(IntEnum):
    """Direction classes."""

    DOWN = 0
    FLAT = 1
    UP = 2


@struct.dataclass
class Horizon:
    """Where each row's label ends: `end` (N,) last row it reads, `end_s` (N,) the time it looks
    up to (t_i + h for a clock horizon), `valid` (N,) bool (the horizon lies inside the data)."""

    end: jax.Array
    end_s: jax.Array
    valid: jax.Array


def event_horizon(times_s: jax.Array, k: int) -> Horizon:
    """End row i + k (valid when i + k < N)."""
    k = positive_int("k", k)
    n_rows = times_s.shape[0]
    i = jnp.arange(n_rows)
    end = jnp.minimum(i + k, n_rows - 1)
    return Horizon(end=end, end_s=times_s[end], valid=i + k < n_rows)


def clock_horizon(times_s: jax.Array, horizon_s: float) -> Horizon:
    """End at the last row with time <= t_i + horizon_s (valid when t_i + h <= the last time)."""
    positive("horizon_s", horizon_s)
    end = jnp.searchsorted(times_s, times_s + horizon_s, side="right") - 1
    end_s = times_s + horizon_s
    return Horizon(end=end, end_s=end_s, valid=end_s <= times_s[-1])


def mid_change_bps(mid_ticks: jax.Array, horizon: Horizon) -> jax.Array:
    """(N,) (m_end - m_i) / m_i in bps (0 where the label is invalid)."""
    change = (mid_ticks[horizon.end] - mid_ticks) / mid_ticks * 1e4
    return jnp.where(horizon.valid, change, 0.0)


def direction(change: jax.Array, threshold: float = 0.0) -> jax.Array:
    """(N,) int32 Move classes: UP if change > threshold, DOWN if < -threshold, else FLAT."""
    return jnp.where(
        change > threshold, Move.UP, jnp.where(change < -threshold, Move.DOWN, Move.FLAT)
    ).astype(jnp.int32)


def _window_mean(x: jax.Array, k: int) -> jax.Array:
    """(N,) mean of x[i-k+1 .. i] (shorter at the start)."""
    # running sums of deviations from x[0] keep float32 exact enough for mids ~ 1e4 ticks
    s = jnp.concatenate([jnp.zeros((1,), x.dtype), jnp.cumsum(x - x[0])])
    i = jnp.arange(x.shape[0]) + 1
    start = jnp.maximum(i - k, 0)
    return x[0] + (s[i] - s[start]) / (i - start)


def smoothed_change_bps(mid_ticks: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """((N,) smoothed change in bps, (N,) valid): mean of m_{i+1..i+k} against the mean of
    m_{i-k+1..i}, relative to the latter (DeepLOB 2019 eq. 3-4)."""
    k = positive_int("k", k)
    past = _window_mean(mid_ticks, k)
    n = mid_ticks.shape[0]
    fut = jnp.concatenate([past[k:], jnp.full((k,), jnp.nan, past.dtype)])  # mean of i+1..i+k
    i = jnp.arange(n)
    valid = (i >= k - 1) & (i + k < n)
    return jnp.where(valid, (fut - past) / past * 1e4, 0.0), valid


def past_mean_gap_bps(mid_ticks: jax.Array, k: int) -> jax.Array:
    """(N,) the trap baseline's one feature: (m_i - mean of m_{i-k+1..i}) / m_i in bps."""
    return (mid_ticks - _window_mean(mid_ticks, positive_int("k", k))) / mid_ticks * 1e4


@struct.dataclass
class Split:
    """Boolean row masks of a chronological split and the gap it leaves, seconds."""

    train: np.ndarray
    test: np.ndarray
    gap_s: float


def chronological_split(times_s, horizon: Horizon, test_start_s: float) -> Split:
    """Train: valid rows whose label ends before `test_start_s`; test: valid rows at or after it.

    The rows dropped before the test period form the gap (>= the horizon by construction).
    """
    times = np.asarray(times_s, np.float64)
    end_t = np.asarray(horizon.end_s, np.float64)
    valid = np.asarray(horizon.valid)
    train = valid & (end_t < test_start_s) & (times < test_start_s)
    test = valid & (times >= test_start_s)
    gap = float(times[test].min() - times[train].max()) if train.any() and test.any() else np.inf
    return Split(train=train, test=test, gap_s=gap)


def class_balance(labels, mask=None) -> np.ndarray:
    """(3,) fractions of DOWN, FLAT, UP among the rows in `mask` (all rows by default)."""
    labels = np.asarray(labels)
    if mask is not None:
        labels = labels[np.asarray(mask)]
    counts = np.bincount(labels, minlength=len(Move)).astype(float)
    return counts / max(counts.sum(), 1.0)


def clock_grid_rows(
    times_s, step_s: float, start_s: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, grid times) of a clock grid start_s, start_s + step_s, ...: for each grid time the
    last row at or before it, the book as it stood then. The mid change between consecutive
    grid rows is the change over that grid interval. `start_s` defaults to the first time
    rounded up to a whole step."""
    step_s = float(positive("step_s", step_s))
    times = np.asarray(times_s, np.float64)
    start = np.ceil(times[0] / step_s) * step_s if start_s is None else float(start_s)
    grid = np.arange(start, times[-1] + 1e-9, step_s)
    rows = np.searchsorted(times, grid, side="right") - 1
    return rows[rows >= 0], grid[rows >= 0]
