"""VPIN, the volume-synchronised probability of informed trading, with bulk volume
classification (Easley, López de Prado & O'Hara 2012, "Flow toxicity and liquidity in a
high-frequency world", Review of Financial Studies 25(5), 1457-1493).

Trades are aggregated into time bars; bulk volume classification calls a share V·Z(dP/sigma)
of a bar's volume V buyer-initiated, Z the standard normal CDF, dP the bar's price change and
sigma the standard deviation of dP over bars. The volume is then cut into buckets of equal
volume V_B (a bar that straddles a boundary is split, its buy share kept), and
VPIN_tau = sum over the last n buckets of |V_buy - V_sell| / (n·V_B).

All functions are jnp and jit-able; the bucket buffer has a static capacity, a count and an
overflow flag. The online version a simulator carries step by step is
`wmjax.market.vpin_update` (same bucket rule, same numbers).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import is_concrete, positive, positive_int, require
from wmjax._numerics import divide_where


@struct.dataclass
class Vpin:
    """Buckets of equal volume and their VPIN (arrays of the static capacity `max_buckets`).

    Attributes:
        buy_volume, sell_volume: per bucket (shares); 0 beyond `count`.
        vpin: VPIN over the window ending at each bucket; 0 where not `valid`.
        valid: the bucket is full and the window before it is full too.
        count: full buckets (the last, partly filled bucket is not counted).
        overflow: there was volume for more than `max_buckets` buckets (the rest is dropped).
    """

    buy_volume: jax.Array
    sell_volume: jax.Array
    vpin: jax.Array
    valid: jax.Array
    count: jax.Array
    overflow: jax.Array


def time_bars(times_s, size_shares, price, bar_s: float, n_bars: int):
    """(volume, price change) of `n_bars` bars of `bar_s` seconds from trades (time-ordered,
    times from the start of the first bar). A bar's price is the last trade price in it, carried
    forward over empty bars; the first bar's change is from the first trade's price."""
    n_bars = positive_int("n_bars", n_bars)
    size = jnp.asarray(size_shares, jnp.float32)
    return _time_bars(jnp.asarray(times_s), size, jnp.asarray(price, jnp.float32), bar_s, n_bars)


@partial(jax.jit, static_argnums=4)
def _time_bars(times, size, price, bar_s, n_bars):
    index = jnp.clip((times / bar_s).astype(jnp.int32), 0, n_bars - 1)
    volume = jnp.zeros(n_bars, size.dtype).at[index].add(size)
    last = jax.lax.cummax(jnp.full(n_bars, -1).at[index].max(jnp.arange(times.shape[0])))
    closes = jnp.where(last >= 0, price[jnp.maximum(last, 0)], price[0])
    return volume, jnp.diff(closes, prepend=price[0])


def bulk_volume_classification(volume, price_change, sigma=None) -> jax.Array:
    """Buy volume per bar, V·Z(dP/sigma) (Easley, López de Prado & O'Hara 2012, eq. 3);
    `sigma` defaults to the standard deviation of `price_change` over the bars (ddof 1). With
    sigma = 0 (no price moves) every bar is split half and half."""
    dp = jnp.asarray(price_change)
    sigma = jnp.std(dp, ddof=1) if sigma is None else jnp.asarray(sigma, dp.dtype)
    z = divide_where(sigma > 0, dp, sigma)
    return jnp.asarray(volume) * jax.scipy.stats.norm.cdf(z)


def vpin(volume, buy_volume, bucket_volume, window_buckets: int = 50, max_buckets: int = 1000):
    """Volume buckets and VPIN from per-bar (or per-trade) volume and buy volume.

    The cumulative buy volume is piecewise linear in the cumulative volume (a bar's buy share
    is spread evenly over its volume), so a bucket's buy volume is its increase between the
    bucket's edges k·V_B and (k+1)·V_B, however many bars the bucket spans.
    """
    window_buckets = positive_int("window_buckets", window_buckets)
    max_buckets = positive_int("max_buckets", max_buckets)
    if is_concrete(bucket_volume):
        positive("bucket_volume", bucket_volume)
    volume = jnp.asarray(volume, jnp.result_type(float))
    buy_volume = jnp.asarray(buy_volume, volume.dtype)
    if is_concrete(volume, buy_volume):
        require(
            bool(jnp.all(volume >= 0))
            and bool(jnp.all((buy_volume >= -1e-5 * volume) & (buy_volume <= 1.00001 * volume))),
            "volume must be >= 0 and buy_volume between 0 and volume in every bar",
        )
    return _vpin(
        volume, buy_volume, jnp.asarray(bucket_volume, volume.dtype), window_buckets, max_buckets
    )


@partial(jax.jit, static_argnums=4)  # the window is traced: one program per shape for all windows
def _vpin(volume, buy_volume, bucket_volume, window_buckets, max_buckets):
    zero = jnp.zeros(1, volume.dtype)
    cum = jnp.concatenate([zero, jnp.cumsum(volume)])
    cum_buy = jnp.concatenate([zero, jnp.cumsum(buy_volume)])
    edges = jnp.arange(max_buckets + 1, dtype=volume.dtype) * bucket_volume
    # Bars without volume repeat a knot of `cum`; cum_buy repeats with it, so interp is exact.
    buy = jnp.diff(jnp.interp(edges, cum, cum_buy))
    total = jnp.floor(cum[-1] / bucket_volume).astype(jnp.int32)
    count = jnp.minimum(total, max_buckets)
    full = jnp.arange(max_buckets) < count
    buy = jnp.where(full, buy, 0.0)
    sell = jnp.where(full, bucket_volume - buy, 0.0)
    running = jnp.concatenate([zero, jnp.cumsum(jnp.abs(buy - sell))])
    k = jnp.arange(max_buckets)
    start = jnp.maximum(k + 1 - window_buckets, 0)
    valid = full & (k + 1 >= window_buckets)
    value = (running[k + 1] - running[start]) / (window_buckets * bucket_volume)
    return Vpin(
        buy_volume=buy,
        sell_volume=sell,
        vpin=jnp.where(valid, value, 0.0),
        valid=valid,
        count=count,
        overflow=total > max_buckets,
    )
