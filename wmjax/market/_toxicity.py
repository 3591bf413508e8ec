"""Order-flow toxicity as a market maker sees it, updated online: VPIN on a volume clock.

VPIN (Easley, López de Prado & O'Hara 2012, "Flow toxicity and liquidity in a high-frequency
world", Review of Financial Studies 25(5)) cuts the traded volume into buckets of equal volume
V and averages the order imbalance |V_buy - V_sell| / V over the last n buckets. Here it is
carried through a simulation one interval at a time: an interval's volume fills the open bucket
and the rest opens the next one, its buy share split in proportion (the rule of the batch
version, `wmjax.features.vpin`, which gives the same numbers on the same tape). The ring keeps
the signed imbalances V_buy - V_sell of the last `window` buckets, so the signed order
imbalance (which side is toxic) is available as well as VPIN.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive_int


@struct.dataclass
class VpinState:
    """Online VPIN state.

    Attributes:
        fill: volume in the open bucket (< bucket volume).
        buy: buy volume in the open bucket.
        signed: (window,) V_buy - V_sell of the last closed buckets (a ring, oldest overwritten).
        closed: number of buckets closed so far (int32).
    """

    fill: jax.Array
    buy: jax.Array
    signed: jax.Array
    closed: jax.Array


def vpin_state(window_buckets: int, dtype=jnp.float32) -> VpinState:
    """An empty state for VPIN over `window_buckets` buckets (static)."""
    window_buckets = positive_int("window_buckets", window_buckets)
    zero = jnp.zeros((), dtype)
    return VpinState(zero, zero, jnp.zeros(window_buckets, dtype), jnp.zeros((), jnp.int32))


def vpin_update(state: VpinState, buy_volume, sell_volume, bucket_volume) -> VpinState:
    """Add one interval's buy and sell volume; the caller guarantees buy + sell <=
    `bucket_volume`, so at most one bucket closes per interval."""
    volume = buy_volume + sell_volume
    share = jnp.where(volume > 0, buy_volume / jnp.where(volume > 0, volume, 1), 0.0)
    take = jnp.minimum(volume, bucket_volume - state.fill)
    fill, buy = state.fill + take, state.buy + share * take
    closes = fill >= bucket_volume
    slot = state.closed % state.signed.shape[0]
    signed = jnp.where(closes, state.signed.at[slot].set(2 * buy - fill), state.signed)
    rest = volume - take
    return VpinState(
        fill=jnp.where(closes, rest, fill),
        buy=jnp.where(closes, share * rest, buy),
        signed=signed,
        closed=state.closed + closes.astype(jnp.int32),
    )


def vpin_value(state: VpinState, bucket_volume) -> tuple[jax.Array, jax.Array]:
    """(VPIN, signed order imbalance) over the closed buckets in the ring: the mean of
    |V_buy - V_sell| / V and of (V_buy - V_sell) / V; both 0 before the first bucket closes."""
    window = state.signed.shape[0]
    n = jnp.minimum(state.closed, window)
    used = jnp.arange(window) < n
    denominator = jnp.maximum(n, 1) * bucket_volume
    vpin = jnp.where(used, jnp.abs(state.signed), 0.0).sum() / denominator
    imbalance = jnp.where(used, state.signed, 0.0).sum() / denominator
    return vpin, imbalance
