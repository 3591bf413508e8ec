"""Price impact as small pure functions of signed trade sizes (shares; buys > 0, sells < 0).

- Linear permanent and temporary impact: Almgren & Chriss (2000), "Optimal execution of
  portfolio transactions", J. Risk 3(2): g(v) = gamma * v, h(v) = epsilon * sign(v) + eta * v.
- Power-law temporary impact, the square-root law at exponent 1/2: Almgren, Thum, Hauptmann &
  Li (2005), "Direct estimation of equity market impact"; Bouchaud, Farmer & Lillo (2009),
  "How markets slowly digest changes in supply and demand": Y * sigma * (|q| / V)^delta.
- Transient impact: a trade's price displacement decays with a propagator kernel G(t);
  exponential resilience G(t) = k * exp(-rho t) is Obizhaeva & Wang (2013), "Optimal trading
  strategy and supply/demand dynamics", J. Financial Markets 16; a power-law kernel
  G(t) = k / (1 + t / t0)^beta is Bouchaud, Gefen, Potters & Wyart (2004), "Fluctuations and
  response in financial markets", and Gatheral (2010), "No-dynamic-arbitrage and market impact".
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

TRANSIENT_KERNELS = ("exponential", "power_law")


def _smooth_abs(x: jax.Array, scale: jax.Array | float = 1e-6) -> jax.Array:
    # |x| with a finite derivative at 0, so gradients through zero trades stay finite.
    return jnp.sqrt(x * x + scale * scale)


def _smooth_sign(x: jax.Array) -> jax.Array:
    return x / _smooth_abs(x)


def linear_permanent_impact(q_shares: jax.Array, gamma: jax.Array) -> jax.Array:
    """Permanent price shift from a trade of `q_shares`: gamma * q (price units; AC 2000 g)."""
    return gamma * q_shares


def linear_temporary_impact(
    q_shares: jax.Array, interval: jax.Array, epsilon: jax.Array, eta: jax.Array
) -> jax.Array:
    """Temporary price concession per share (price units) of trading `q_shares` over `interval`
    (time units): epsilon * sign(q) + eta * q / interval (AC 2000 h(v) with v = q / interval)."""
    return epsilon * _smooth_sign(q_shares) + eta * q_shares / interval


def power_law_temporary_impact(
    q_shares: jax.Array,
    volume_shares: jax.Array,
    sigma: jax.Array,
    coefficient: jax.Array,
    exponent: jax.Array | float = 0.5,
) -> jax.Array:
    """Temporary price concession per share: sign(q) * Y * sigma * (|q| / V)^delta.

    `sigma` is the daily price volatility (price units), `volume_shares` the market volume of the
    interval, `coefficient` Y (about 0.5-1 empirically), `exponent` delta (1/2: square-root law).
    """
    participation = _smooth_abs(q_shares) / volume_shares
    return _smooth_sign(q_shares) * coefficient * sigma * participation**exponent


def propagator(
    kind: str, lag: jax.Array, strength: jax.Array, resilience: jax.Array, exponent: jax.Array
) -> jax.Array:
    """Transient impact kernel G(lag) (price units per share) at time `lag` >= 0 after a trade.

    kind "exponential": strength * exp(-resilience * lag) (Obizhaeva-Wang resilience);
    kind "power_law": strength * (1 + resilience * lag)^(-exponent) (resilience = 1 / t0).
    """
    if kind == "exponential":
        return strength * jnp.exp(-resilience * lag)
    if kind == "power_law":
        return strength * (1.0 + resilience * lag) ** (-exponent)
    raise ValueError(f"kernel must be one of {TRANSIENT_KERNELS}, got {kind!r}")


def transient_execution_offset(
    q_shares: jax.Array, displacement: jax.Array, strength: jax.Array
) -> jax.Array:
    """Average price offset per share of a block trade `q` in a block-shaped book already
    displaced by `displacement`: displacement + strength * q / 2 (Obizhaeva-Wang 2013)."""
    return displacement + 0.5 * strength * q_shares
