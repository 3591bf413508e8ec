"""Trading rules on an OU spread: the Avellaneda & Lee (2010) bands as a scanned state machine,
Bertram's (2010) optimal symmetric thresholds for a given cost, and the first-passage view of
Elliott, van der Hoek & Malcolm (2005).

Positions are on the spread: +1 long (bought when the spread is cheap, s very negative), -1
short, 0 flat. A position chosen at the close of day t earns the spread's move from t to t + 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

# Avellaneda & Lee (2010), section 5: open at |s| > 1.25, close a short at s < 0.75 and a long
# at s > -0.50.
AL_OPEN = 1.25
AL_CLOSE_SHORT = 0.75
AL_CLOSE_LONG = -0.50


@struct.dataclass
class Bands:
    """Thresholds of a band rule on a standardised spread s (scalars or batched).

    Open short when s > open_short, long when s < -open_long; close a short when s < close_short,
    a long when s > close_long. Closing is checked first, so one day may close and reopen
    the other way (Bertram's symmetric cycle)."""

    open_short: jax.Array
    open_long: jax.Array
    close_short: jax.Array
    close_long: jax.Array


def al_bands() -> Bands:
    """The Avellaneda & Lee (2010) bands: 1.25 / 1.25 to open, 0.75 / -0.50 to close."""
    f = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
    return Bands(f(AL_OPEN), f(AL_OPEN), f(AL_CLOSE_SHORT), f(AL_CLOSE_LONG))


def symmetric_bands(entry) -> Bands:
    """Bertram's symmetric rule in s units: long below -entry, short above +entry, each held
    until the spread reaches the opposite band."""
    entry = jnp.asarray(entry, jnp.float32)
    return Bands(entry, entry, -entry, entry)


def band_step(position, s, can_open, bands: Bands):
    """Next position from today's s-score: close on the close band, then open on the open band
    where `can_open` (e.g. the mean-reversion filter) holds."""
    close = ((position < 0) & (s < bands.close_short)) | ((position > 0) & (s > bands.close_long))
    position = jnp.where(close, 0, position)
    open_short = (position == 0) & can_open & (s > bands.open_short)
    open_long = (position == 0) & can_open & (s < -bands.open_long)
    return jnp.where(open_short, -1, jnp.where(open_long, 1, position)).astype(jnp.int32)


def band_positions(s, can_open, bands: Bands, max_hold_days=jnp.inf) -> jax.Array:
    """Positions (..., T) int32 of the band state machine over s paths (..., T), starting flat;
    `can_open`, the bands and `max_hold_days` broadcast against s. A trade held
    `max_hold_days` days is closed and not reopened that day (a time stop). One `lax.scan` over
    time, run time-major so each step reads one contiguous slice of every path."""

    def body(carry, inputs):
        pos, held = carry
        s_t, ok_t, bands_t, max_t = inputs
        stop = (pos != 0) & (held >= max_t)
        new = band_step(jnp.where(stop, 0, pos), s_t, ok_t & ~stop, bands_t)
        held = jnp.where(new == 0, 0, jnp.where((new == pos) & ~stop, held + 1, 1))
        return (new, held), new

    s = jnp.asarray(s)
    inputs = jax.tree.map(
        lambda a: jnp.moveaxis(jnp.broadcast_to(a, s.shape), -1, 0),
        (s, can_open, bands, max_hold_days),
    )
    init = (jnp.zeros(s.shape[:-1], jnp.int32), jnp.zeros(s.shape[:-1], jnp.int32))
    _, pos = jax.lax.scan(body, init, inputs)
    return jnp.moveaxis(pos, 0, -1)


def _bertram_gap(m, cost):
    # first-order condition of (2m - c) / E[T], E[T] = 2 pi erfi(m) (alpha = eta = 1):
    # erfi(m) sqrt(pi) e^{-m^2} = 2 D(m) = 2m - c, with D Dawson's function
    return m - jax.scipy.special.dawsn(m) - cost / 2


def bertram_symmetric_entry(cost, alpha=1.0, eta=1.0, n_iter: int = 60):
    """Bertram (2010) optimal symmetric entry level m* (enter at -m*, exit at +m*) maximising
    the expected return per unit time (2m - c) / E[T] of the OU dX = -alpha X dt + eta dW, with
    E[T] = (pi / alpha)(erfi(m sqrt(alpha)/eta) - erfi(-m sqrt(alpha)/eta)) the expected cycle
    time (Bertram 2010, Physica A 389, eq. 9 and 14). Solved in the standardised units
    x sqrt(alpha)/eta, where m - D(m) = c/2 (D: Dawson's function) is increasing in m, by
    bisection; `cost` c per cycle in the units of X. Pure; vmap over costs and OU params."""
    scale = jnp.sqrt(alpha) / eta
    c_std = jnp.asarray(cost) * scale
    lo = jnp.zeros_like(c_std)
    hi = jnp.maximum(c_std, 0.0) + 3.0

    def body(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        up = _bertram_gap(mid, c_std) > 0
        return jnp.where(up, lo, mid), jnp.where(up, mid, hi)

    lo, hi = jax.lax.fori_loop(0, n_iter, body, (lo, hi))
    return 0.5 * (lo + hi) / scale


def bertram_entry_interpolated(cost, alpha=1.0, eta=1.0, n_nodes: int = 256):
    """`bertram_symmetric_entry` by interpolation in log cost of a table of `n_nodes` exact
    solutions on standardised costs 1e-5 .. 50 (relative error ~1e-4), for use on millions of
    (pair, day) costs at once; below the table the small-cost limit m* = (3c/4)^(1/3)
    (m - D(m) ~ 2m^3/3 for small m)."""
    scale = jnp.sqrt(alpha) / eta
    grid = jnp.geomspace(1e-5, 50.0, n_nodes)
    table = bertram_symmetric_entry(grid)
    c = jnp.maximum(jnp.asarray(cost) * scale, 1e-12)
    m = jnp.interp(jnp.log(c), jnp.log(grid), table)
    return jnp.where(c < grid[0], (0.75 * c) ** (1 / 3), m) / scale


def first_passage_cdf(t, c):
    """P(T <= t) for the first passage to 0 from c > 0 of the standardised OU
    dY = -Y dt + sqrt(2) dW (time in units of 1/kappa): 2 Phi(-c e^{-t} / sqrt(1 - e^{-2t}))
    by the reflection principle for an OU started above its mean (Elliott, van der Hoek &
    Malcolm 2005, Pairs trading, Quantitative Finance 5(3), section 3)."""
    t = jnp.asarray(t)
    z = c * jnp.exp(-t) / jnp.sqrt(-jnp.expm1(-2 * t))
    return jax.scipy.special.erfc(z / jnp.sqrt(2.0))


def first_passage_density(t, c):
    """Density of the first passage from c to 0 (standardised units, see `first_passage_cdf`):
    sqrt(2/pi) c e^{-t} (1 - e^{-2t})^{-3/2} exp(-c^2 e^{-2t} / (2 (1 - e^{-2t})))."""
    t = jnp.asarray(t)
    q = -jnp.expm1(-2 * t)
    return (
        jnp.sqrt(2 / jnp.pi)
        * c
        * jnp.exp(-t)
        / q**1.5
        * jnp.exp(-(c**2) * jnp.exp(-2 * t) / (2 * q))
    )


def first_passage_mode(c):
    """Most likely first-passage time from c to 0 (standardised units), the closed form of
    Elliott, van der Hoek & Malcolm (2005): 1/2 ln(1 + (sqrt((c^2-3)^2 + 4c^2) + c^2 - 3) / 2)."""
    c2 = jnp.asarray(c) ** 2
    return 0.5 * jnp.log1p(0.5 * (jnp.sqrt((c2 - 3) ** 2 + 4 * c2) + c2 - 3))


def first_passage_quantile(q, c):
    """Time by which the first passage from c to 0 has happened with probability q: inverting
    the closed-form CDF, t = 1/2 ln(1 + c^2 / z^2) with z = -Phi^{-1}(q / 2)."""
    z = -jax.scipy.special.ndtri(jnp.asarray(q) / 2)
    return 0.5 * jnp.log1p(jnp.asarray(c) ** 2 / z**2)


def first_passage_mean(c, n_nodes: int = 256):
    """Mean first-passage time from c to 0 (standardised units) by Gauss-Legendre quadrature
    of E[T] = int_0^inf P(T > t) dt = int_0^1 erf(c u / sqrt(2 (1 - u^2))) du / u (u = e^{-t})."""
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    u = jnp.asarray(0.5 * (nodes + 1))
    w = jnp.asarray(0.5 * weights)
    c = jnp.asarray(c)[..., None]
    return (w * jax.scipy.special.erf(c * u / jnp.sqrt(2 * (1 - u * u))) / u).sum(-1)
