"""Paced TWAP on real bars: a multiplier per bar around the even split, decided causally, and
the implementation shortfall of the resulting trades against the bars' real prices.

At bar k with R shares left and n - k bars to go, the trade is R m_k / (m_k + n - k - 1): TWAP
when m_k = 1, faster when m_k > 1, slower when m_k < 1; the last bar trades what remains, so
every multiplier path completes the order.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def paced_fractions(multipliers: jax.Array) -> jax.Array:
    """(..., n) multipliers (> 0) -> (..., n) fractions of the order per bar (sum 1)."""
    n = multipliers.shape[-1]
    bars_after = (n - 1 - jnp.arange(n)).astype(multipliers.dtype)

    def body(remaining, inputs):
        m, after = inputs
        trade = remaining * m / (m + after)
        return remaining - trade, trade

    def one(m):
        _, trades = jax.lax.scan(body, jnp.ones((), m.dtype), (m, bars_after))
        return trades

    flat = multipliers.reshape(-1, n)
    return jax.vmap(one)(flat).reshape(multipliers.shape)


def bars_is_bps(
    fractions: jax.Array,
    bar_prices: jax.Array,
    arrival_price: jax.Array,
    bar_volume_shares: jax.Array,
    quantity_shares: jax.Array,
    impact_coefficient: float,
    sigma_daily: jax.Array,
) -> jax.Array:
    """Implementation shortfall (bps) of buying `fractions` of `quantity_shares` at each bar's
    price (e.g. the typical price (H + L + C) / 3, a proxy of the bar's VWAP) plus the temporary
    impact Y sigma (n_k / V_k) per share (relative to the price; sigma_daily a fraction).
    Shapes (..., n); arrival, quantity and sigma broadcast over the bar axis."""
    shares = fractions * quantity_shares[..., None]
    impact = impact_coefficient * sigma_daily[..., None] * shares / bar_volume_shares
    paid = bar_prices * (1.0 + impact)
    cost = jnp.sum(fractions * (paid - arrival_price[..., None]), -1)
    return cost / arrival_price * 1e4
