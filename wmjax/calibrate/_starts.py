"""Starts of a multi-start Hawkes MLE and the memory a fit needs.

The Hawkes likelihood is multimodal in the decays on real order flow (fast self-excitation next
to slow cross-excitation), so `fit_mle` screens several L-BFGS starts side by side and takes the
best on. The memory model is measured (`resource.getrusage`, benchmarks/README.md).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from wmjax.hawkes import spectral_radius

#: L-BFGS starts of a default fit: the data-driven one and random ones (see `fit_mle`).
N_STARTS = 8
#: L-BFGS iterations of every start before only the best one goes on.
SCREEN_ITER = 30
#: Memory model of a fit (`fit_memory_bytes`), measured by `resource.getrusage`
#: (benchmarks/README.md).
_BYTES_PER_EVENT_DIM = 120
_LAYOUT_BYTES_PER_EVENT = 40
_FIXED_BYTES = 650 * 2**20
#: Memory the screening of several starts may use at once.
_SCREEN_BYTES = 2**30


def fit_memory_bytes(n_events: int, dim: int, n_starts: int = 1) -> int:
    """Estimated peak memory of `fit_mle` (fit and standard errors), bytes: per event and
    dimension a measured constant for the layout, the excitation, its beta-slope and the
    gradient's temporaries, times the starts that run side by side (`starts_per_batch`), plus
    a fixed allowance for jax, XLA and the compiled program."""
    side_by_side = starts_per_batch(n_events, dim, n_starts)
    per_event = _BYTES_PER_EVENT_DIM * dim * side_by_side + _LAYOUT_BYTES_PER_EVENT
    return int(_FIXED_BYTES + n_events * per_event)


def starts_per_batch(n_events: int, dim: int, n_starts: int) -> int:
    """Starts vmapped together in the screening: as many as fit in `_SCREEN_BYTES`."""
    fits = _SCREEN_BYTES // max(1, _BYTES_PER_EVENT_DIM * dim * n_events)
    return int(min(n_starts, max(1, fits)))


def random_starts(key, counts, horizon_s, beta_shape, n_starts: int) -> jnp.ndarray:
    """(n_starts, P) random log-parameter starts around the data's scale: mu = N_i / (2T) times a
    log-normal factor, alpha log-normal around 1/(2d) shrunk to spectral radius <= 0.8, and every
    free decay log-uniform over [1e-2, 1e4] times the mean event rate (real order flow mixes
    millisecond and minute time scales)."""
    dim = counts.shape[0]
    n_beta = beta_shape[0] * beta_shape[1]
    k_mu, k_alpha, k_beta = jax.random.split(key, 3)
    rate = jnp.sum(counts) / horizon_s
    log_mu = jnp.log(0.5 * counts / horizon_s) + 0.5 * jax.random.normal(k_mu, (n_starts, dim))
    alpha = (0.5 / dim) * jnp.exp(jax.random.normal(k_alpha, (n_starts, dim, dim)))
    rho = jax.vmap(spectral_radius)(alpha)
    alpha = alpha * jnp.minimum(1.0, 0.8 / rho)[:, None, None]
    log_beta = jnp.log(rate) + jax.random.uniform(
        k_beta, (n_starts, n_beta), minval=jnp.log(1e-2), maxval=jnp.log(1e4)
    )
    return jnp.concatenate([log_mu, jnp.log(alpha).reshape(n_starts, -1), log_beta], axis=1)
