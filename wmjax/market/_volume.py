"""Intraday profiles: the U-shaped share of daily volume and the matching volatility multipliers.

Activity is high at the open and the close and low at midday (Admati & Pfleiderer 1988, "A theory
of intraday patterns"). We use the intensity f(u) = (1 + c (2u - 1)^2) / (1 + c / 3) over the
trading day u in [0, 1], which integrates to 1; c is the curvature (open/close vs midday is 1 + c).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from wmjax._checks import finite_array, positive, positive_int, require


def u_shaped_profile(
    n_buckets: int, start_frac: float = 0.0, end_frac: float = 1.0, curvature: float = 2.0
) -> np.ndarray:
    """Share of daily volume traded in each of `n_buckets` equal buckets of [start_frac, end_frac]
    of the trading day; float64 array (n_buckets,) summing to the covered share of the day."""
    n = positive_int("n_buckets", n_buckets)
    start, end = (
        float(finite_array(n, v)) for n, v in (("start_frac", start_frac), ("end_frac", end_frac))
    )
    require(0.0 <= start < end <= 1.0, f"need 0 <= start_frac < end_frac <= 1, got {start}, {end}")
    c = float(positive("curvature", curvature, allow_zero=True))
    edges = np.linspace(start, end, n + 1)
    cumulative = (edges + c * (2.0 * edges - 1.0) ** 3 / 6.0) / (1.0 + c / 3.0)
    return np.diff(cumulative)


def volatility_multipliers(volume_share) -> np.ndarray:
    """Per-bucket volatility multipliers sqrt(share / mean share) (mean square 1), on the view
    that variance follows trading activity (Clark 1973, the mixture-of-distributions hypothesis)."""
    share = positive("volume_share", volume_share)
    return np.sqrt(share / share.mean())


def event_count_profile(times_s, count, horizon_s, n_buckets: int):
    """Share of events in each of `n_buckets` equal buckets of [0, horizon_s]: an intraday volume
    profile from simulated order flow, e.g. the trades of a Hawkes process
    (`wmjax.hawkes.simulate(...)`: pass its `times` and `count`; padding beyond `count` is
    ignored). float32 (n_buckets,) summing to 1 (uniform if there are no events); jit- and
    vmap-able, so each Hawkes path can drive its own `ImpactParams.volume_frac`
    (multiply by the share of the day the horizon covers)."""
    n = positive_int("n_buckets", n_buckets)
    times = jnp.asarray(times_s, jnp.float32)
    valid = jnp.arange(times.shape[-1]) < count
    bucket = jnp.clip(jnp.floor(times / horizon_s * n).astype(jnp.int32), 0, n - 1)
    counts = jnp.zeros(n, jnp.float32).at[bucket].add(valid.astype(jnp.float32))
    total = counts.sum()
    return jnp.where(total > 0, counts / jnp.maximum(total, 1.0), 1.0 / n)
