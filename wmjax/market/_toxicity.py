"""Order-flow toxicity as a market maker sees it, updated online: VPIN on a volume clock.

VPIN (Easley, López de Prado & O'Hara 2012, "Flow toxicity and liquidity in a high-frequency
world", Review of Financial Studies 25(5)) cuts the traded volume into buckets of equal volume
V and averages the order imbalance |V_buy - V_sell| / V over the last n buckets. Here it is
carried through a simulation one interval at a time: an interval's volume fills the open bucket
and the rest opens the next one, its buy share split in proportion (the rule of the batch
version, `wmjax.features.vpin`, which gives the same numbers on the same tape). The ring keeps
the signed imbalances V_buy - V_sell of the last `window` buckets, so the signed order
imbalance (which side is toxic) is available as well as VPIN.

The Hawkes-intensity imbalance is the other score: with a Hawkes model of buy (dimension 0) and
sell (1) market orders, exponential kernels alpha_ij·beta_ij·exp(-beta_ij·t) (Bacry, Mastromatteo
& Muzy 2015), the filtered intensities lambda_i(t) = mu_i + sum_j alpha_ij·beta_ij·E_ij(t), E_ij
the decayed count of past j-events at rate beta_ij, give (lambda_buy - lambda_sell) /
(lambda_buy + lambda_sell) in [-1, 1]: which side the flow is excited towards now, without a
volume clock. Counts of an interval are placed at its middle. On the book the flow is itself a
Hawkes process whose excitation the market carries, so its filtered intensities are exact at
each decision (`flow_hawkes_imbalance`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive_int
from wmjax._numerics import divide_where
from wmjax.hawkes import HawkesParams
from wmjax.market import _flow as flow


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
    share = divide_where(volume > 0, buy_volume, volume)
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


def hawkes_excitation(dim: int = 2, dtype=jnp.float32) -> jax.Array:
    """No past events: the (dim, dim) decayed counts E_ij are zero."""
    return jnp.zeros((dim, dim), dtype)


def hawkes_excitation_update(excitation, model: HawkesParams, counts, dt) -> jax.Array:
    """E after an interval of `dt` (the model's time unit) with `counts` (dim,) events in it."""
    beta = jnp.asarray(model.beta, excitation.dtype)
    counts = jnp.asarray(counts, excitation.dtype)
    return excitation * jnp.exp(-beta * dt) + counts[None, :] * jnp.exp(-0.5 * beta * dt)


def hawkes_imbalance(excitation, model: HawkesParams) -> tuple[jax.Array, jax.Array]:
    """(imbalance, intensities): (lambda_0 - lambda_1) / (lambda_0 + lambda_1) and the (dim,)
    filtered intensities (events per time unit) for decayed counts `excitation`."""
    dtype = excitation.dtype
    alpha, beta = jnp.asarray(model.alpha, dtype), jnp.asarray(model.beta, dtype)
    lam = jnp.asarray(model.mu, dtype) + (alpha * beta * excitation).sum(axis=1)
    return (lam[0] - lam[1]) / (lam[0] + lam[1]), lam


def flow_hawkes_imbalance(params: flow.FlowParams, state: flow.FlowState):
    """(imbalance, (2,) intensities) of the book's own flow: the market-buy and market-sell
    intensities lambda_i = mu_i + the excitation the flow carries (`FlowState`, events/s, at
    the end of the last interval: what is known at a decision), with the calibrated `params`;
    imbalance = (lambda_buy - lambda_sell) / (lambda_buy + lambda_sell)."""
    types = jnp.asarray([flow.FlowType.MARKET_BUY, flow.FlowType.MARKET_SELL])
    lam = params.hawkes.mu[types] + state.excitation_per_s.sum(axis=0)[types]
    lam = lam.astype(jnp.float32)
    return (lam[0] - lam[1]) / jnp.maximum(lam[0] + lam[1], 1e-30), lam
