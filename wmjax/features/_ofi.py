"""Order-flow imbalance and causal window sums over events and over clock time.

OFI (Cont, Kukanov & Stoikov 2014, eq. 10): each event n contributes
    e_n = q^b_n 1{P^b_n >= P^b_{n-1}} - q^b_{n-1} 1{P^b_n <= P^b_{n-1}}
          - q^a_n 1{P^a_n <= P^a_{n-1}} + q^a_{n-1} 1{P^a_n >= P^a_{n-1}},
and OFI over an interval is the sum of e_n. Multi-level OFI (Xu, Gould & Howison 2019) applies
the same formula to the m-th best level of each side. Every window sum at row i covers rows
<= i only (no look-ahead), by differences of one cumulative sum.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from wmjax.features._stream import BookStream

# an empty ask level sits at +infinity (so that its disappearance counts as ask depth removed)
_FAR_ASK_TICKS = 2**30


def ofi_sides(stream: BookStream) -> tuple[jax.Array, jax.Array]:
    """(bid, ask) (N, L) int32 parts of e_n = bid - ask: the change in depth at each level as
    CKS 2014 count it (bid: demand added; ask: supply added); row 0 is 0."""
    pb = stream.bid_price_ticks
    qb = stream.bid_size_shares
    qa = stream.ask_size_shares
    pa = jnp.where(stream.ask_size_shares > 0, stream.ask_price_ticks, _FAR_ASK_TICKS)
    pb = jnp.where(stream.bid_size_shares > 0, pb, -_FAR_ASK_TICKS)
    bid = qb[1:] * (pb[1:] >= pb[:-1]) - qb[:-1] * (pb[1:] <= pb[:-1])
    ask = qa[1:] * (pa[1:] <= pa[:-1]) - qa[:-1] * (pa[1:] >= pa[:-1])
    pad = jnp.zeros_like(bid[:1])
    return jnp.concatenate([pad, bid]), jnp.concatenate([pad, ask])


def ofi_events(stream: BookStream) -> jax.Array:
    """(N, L) int32 OFI contributions e_n per level, shares; row 0 is 0. Level 0 is CKS 2014's."""
    bid, ask = ofi_sides(stream)
    return bid - ask


def _prefix(x: jax.Array) -> jax.Array:
    """S[k] = sum of x[:k] along axis 0 (exact for integer x: pass shares as int32)."""
    return jnp.concatenate([jnp.zeros_like(x[:1]), jnp.cumsum(x, axis=0)])


def event_window_sum(x: jax.Array, windows: tuple[int, ...]) -> jax.Array:
    """(N, W, ...) sums of x over the last w rows (row i included), for each w in `windows`."""
    s = _prefix(x)
    i = jnp.arange(x.shape[0]) + 1
    return jnp.stack([s[i] - s[jnp.maximum(i - w, 0)] for w in windows], axis=1)


def clock_window_start(times_s: jax.Array, window_s: float) -> jax.Array:
    """(N,) index of the first row with time > t_i - window_s (the window is (t_i - w, t_i])."""
    return jnp.searchsorted(times_s, times_s - window_s, side="right")


def clock_window_sum(x: jax.Array, times_s: jax.Array, windows_s: tuple[float, ...]) -> jax.Array:
    """(N, W, ...) sums of x over rows in (t_i - w, t_i] up to row i, for each w in `windows_s`.

    Rows after i that share t_i are excluded: a window at row i never sees a later row.
    """
    s = _prefix(x)
    i = jnp.arange(x.shape[0]) + 1
    return jnp.stack([s[i] - s[clock_window_start(times_s, w)] for w in windows_s], axis=1)
