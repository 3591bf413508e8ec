"""A fixed-capacity buffer of Hawkes events, and building one from user arrays."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, positive, require


@struct.dataclass
class HawkesEvents:
    """Events in time order, padded to a fixed capacity.

    times: (capacity,) seconds since 0, non-decreasing; entries at index >= count are padding
        set to the horizon (so the buffer stays sorted) and must be ignored via `mask`.
    marks: (capacity,) int32 dimension index in 0..d-1 (padding 0).
    count: number of valid events. overflow: True when the process had more events in the
        horizon than the buffer holds (the buffer then holds the first `capacity` of them).
    """

    times: jnp.ndarray
    marks: jnp.ndarray
    count: jnp.ndarray
    overflow: jnp.ndarray

    @property
    def capacity(self) -> int:
        return self.times.shape[-1]

    @property
    def mask(self) -> jnp.ndarray:
        """(capacity,) True for the valid events."""
        return jnp.arange(self.capacity) < jnp.asarray(self.count)[..., None]


def events_from_arrays(times, marks, horizon_s, dim: int, *, dtype=jnp.float32) -> HawkesEvents:
    """Checked `HawkesEvents` from arrays of event times (s) and marks (0..dim-1).

    Raises InputError unless times are finite, sorted (non-decreasing) and inside [0, horizon],
    and marks are integers in range. Identical timestamps are allowed (see `log_likelihood` for
    how ties are treated).
    """
    horizon = float(positive("horizon_s", horizon_s))
    t = finite_array("times", times, ndim=1)
    m_float = finite_array("marks", marks, ndim=1)
    require(t.shape == m_float.shape, f"times {t.shape} and marks {m_float.shape} differ in length")
    require(bool(np.all(m_float == np.round(m_float))), "marks must be integers 0..d-1")
    m = m_float.astype(np.int32)
    if t.size:
        bad = np.flatnonzero(np.diff(t) < 0)
        require(
            bad.size == 0,
            f"times must be sorted; times[{bad[0] + 1 if bad.size else 0}] < the time before it",
        )
        require(
            t[0] >= 0 and t[-1] <= horizon,
            f"times must lie in [0, horizon_s={horizon}], got [{t[0]}, {t[-1]}]",
        )
        require(
            m.min() >= 0 and m.max() < dim,
            f"marks must be in 0..{dim - 1} for a {dim}-dimensional process, got "
            f"[{m.min()}, {m.max()}]",
        )
    return HawkesEvents(
        times=jnp.asarray(t, dtype),
        marks=jnp.asarray(m),
        count=jnp.asarray(t.size, jnp.int32),
        overflow=jnp.asarray(False),
    )
