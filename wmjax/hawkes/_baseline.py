"""A time-varying Hawkes baseline mu_i(t), piecewise constant over the day.

Piece k covers [breaks[k-1], breaks[k]) in clock seconds (time of day), with breaks[-1] = -inf
and breaks[K-1] = +inf, so any time falls in exactly one of the K = len(breaks) + 1 pieces and
the integral over any interval is exact. A constant baseline is the case without breaks. The
intraday U-shape of activity is then a deterministic seasonality rather than something slow
cross-excitation has to imitate (Bowsher 2007, "Modelling security market events in continuous
time: intensity based, multivariate point process models", J. Econometrics 141).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def session_breaks(start_s: float, end_s: float, n_pieces: int) -> tuple[float, ...]:
    """Interior breaks of `n_pieces` equal pieces of the session [start_s, end_s] (seconds)."""
    edges = np.linspace(start_s, end_s, n_pieces + 1)[1:-1]
    return tuple(float(x) for x in edges)


def _bounds(breaks: tuple[float, ...], dtype) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(K,) lower and upper edge of every piece, the outer ones infinite."""
    inner = jnp.asarray(breaks, dtype).reshape(-1)
    lower = jnp.concatenate([jnp.full(1, -jnp.inf, dtype), inner])
    upper = jnp.concatenate([inner, jnp.full(1, jnp.inf, dtype)])
    return lower, upper


def baseline_at(mu, breaks: tuple[float, ...], times_s) -> jnp.ndarray:
    """(..., d) baseline intensity mu_i(t) in events/s at `times_s` (...,); mu is (d, K)."""
    piece = jnp.searchsorted(jnp.asarray(breaks, mu.dtype).reshape(-1), times_s, side="right")
    return jnp.moveaxis(mu[:, piece], 0, -1)


def baseline_integral(mu, breaks: tuple[float, ...], start_s, end_s) -> jnp.ndarray:
    """(..., d) integral of mu_i over [start_s, end_s] (broadcast (...,)), in events."""
    lower, upper = _bounds(breaks, mu.dtype)
    start = jnp.asarray(start_s, mu.dtype)[..., None]
    end = jnp.asarray(end_s, mu.dtype)[..., None]
    overlap = jnp.clip(jnp.minimum(end, upper) - jnp.maximum(start, lower), 0.0, None)  # (..., K)
    return overlap @ mu.T
