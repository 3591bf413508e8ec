"""Order-size marks for Hawkes events: each event of dimension i gets a size in shares drawn
from its dimension's distribution, independently of the times."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, require
from wmjax.hawkes._events import HawkesEvents


@struct.dataclass
class LogNormalSizes:
    """Sizes in shares, log-normal per dimension: log(size) ~ N(mean_log[i], sigma_log[i]^2)."""

    mean_log: jnp.ndarray  # (d,)
    sigma_log: jnp.ndarray  # (d,)

    @classmethod
    def from_mean(cls, mean_shares, cv):
        """Log-normal with the given mean size (shares) and coefficient of variation, per dim."""
        mean = positive("mean_shares", np.atleast_1d(mean_shares))
        cv = positive("cv", np.broadcast_to(cv, mean.shape))
        sigma2 = np.log1p(cv**2)
        return cls(mean_log=jnp.asarray(np.log(mean) - sigma2 / 2), sigma_log=jnp.sqrt(sigma2))

    def sample(self, key, marks) -> jnp.ndarray:
        z = jax.random.normal(key, marks.shape)
        return jnp.exp(self.mean_log[marks] + self.sigma_log[marks] * z)


@struct.dataclass
class EmpiricalSizes:
    """Sizes in shares resampled from observed values, per dimension: `values` (d, K) with
    `weights` (d, K) (rows need not be normalised; zero weight pads rows of unequal length)."""

    values: jnp.ndarray
    weights: jnp.ndarray

    @classmethod
    def from_samples(cls, samples_per_dim):
        """From a list (one entry per dimension) of observed sizes in shares."""
        rows = [positive(f"samples_per_dim[{i}]", s) for i, s in enumerate(samples_per_dim)]
        require(all(r.ndim == 1 and r.size for r in rows), "each dimension needs >= 1 size")
        width = max(r.size for r in rows)
        values = np.ones((len(rows), width))
        weights = np.zeros((len(rows), width))
        for i, r in enumerate(rows):
            values[i, : r.size] = r
            weights[i, : r.size] = 1.0
        return cls(values=jnp.asarray(values), weights=jnp.asarray(weights))

    def sample(self, key, marks) -> jnp.ndarray:
        logits = jnp.log(self.weights[marks])
        pick = jax.random.categorical(key, logits, axis=-1)
        return jnp.take_along_axis(self.values[marks], pick[..., None], axis=-1)[..., 0]


def sample_sizes(key, sizes: LogNormalSizes | EmpiricalSizes, events: HawkesEvents):
    """(capacity,) order size in shares of each event (0 in padding slots)."""
    return jnp.where(events.mask, sizes.sample(key, events.marks), 0.0)
