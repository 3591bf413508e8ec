"""Checked event data for the fitters: host arrays, float64 times, dimension and horizon."""

from __future__ import annotations

import warnings
from enum import StrEnum

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import InputError, positive, require
from wmjax.hawkes import EventLayout, HawkesEvents, event_layout, events_from_arrays
from wmjax.hawkes._likelihood import check_events_in_horizon


class BetaStructure(StrEnum):
    """Which decays are free: a (d, d) matrix, one per source dimension (column), or one."""

    FULL = "full"
    SOURCE = "source"
    SCALAR = "scalar"

    def shape(self, dim: int) -> tuple[int, int]:
        """Shape of the free decays: (d, d), (1, d) or (1, 1) (broadcast to (d, d))."""
        return {"full": (dim, dim), "source": (1, dim), "scalar": (1, 1)}[self.value]


def parse_beta_structure(value) -> BetaStructure:
    try:
        return BetaStructure(value)
    except ValueError:
        names = ", ".join(repr(s.value) for s in BetaStructure)
        raise InputError(f"beta_structure must be one of {names}, got {value!r}") from None


def event_arrays(events, horizon_s, dim: int | None) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(times float64, marks int, horizon, dim) from `HawkesEvents` or a `(times, marks)` pair.

    `dim=None` takes max(mark) + 1. Raises InputError for an overflowed buffer, unsorted or
    out-of-range times, marks outside 0..dim-1, or a dimension with no events.
    """
    horizon = float(positive("horizon_s", horizon_s))
    if isinstance(events, HawkesEvents):
        require(
            not bool(np.any(np.asarray(events.overflow))),
            "events overflowed their buffer (the data is incomplete); simulate with a larger "
            "capacity",
        )
        require(np.ndim(events.times) == 1, "fit one path at a time: events.times must be 1-D")
        count = int(events.count)
        times, marks = np.asarray(events.times)[:count], np.asarray(events.marks)[:count]
    elif isinstance(events, tuple | list) and len(events) == 2:
        times, marks = np.asarray(events[0]), np.asarray(events[1])
    else:
        raise InputError("events must be HawkesEvents or a (times_s, marks) pair of arrays")
    require(np.size(times) > 0, "no events to fit: the data set is empty")
    if dim is None:
        marks_num = np.asarray(marks, float)
        require(
            bool(np.all(np.isfinite(marks_num))) and marks_num.min() >= 0,
            "marks must be integers >= 0",
        )
        dim = int(marks_num.max()) + 1
    require(isinstance(dim, int | np.integer) and dim >= 1, f"dim must be an int >= 1, got {dim}")
    checked = events_from_arrays(times, marks, horizon, int(dim), dtype=jnp.float32)
    marks_out = np.asarray(checked.marks).astype(np.int64)
    counts = np.bincount(marks_out, minlength=dim)
    empty = np.flatnonzero(counts == 0)
    require(
        empty.size == 0,
        f"dimension {empty[:1].tolist()} has no events; a Hawkes fit needs events in every "
        f"dimension (pass the right dim, or drop the empty dimension)",
    )
    return np.asarray(times, np.float64), marks_out, horizon, int(dim)


class LateStartWarning(UserWarning):
    """The events begin long after time 0: the fit would read the empty stretch as a quiet
    period (e.g. clock times in seconds after midnight); shift the times to start at 0."""


def late_start_gap(times: np.ndarray, horizon: float) -> float | None:
    """The first event's time when it is suspiciously late (over 10 % of the horizon and over 20
    mean inter-event gaps, odds about exp(-20) for a steady process), else None."""
    if times.size < 2:
        return None
    first = float(times[0])
    gap = (float(times[-1]) - first) / (times.size - 1)
    return first if first > 0.1 * horizon and first > 20 * gap else None


def warn_late_start(times: np.ndarray, horizon: float, option: str = "shift times_s") -> None:
    """Warn (`LateStartWarning`) when `late_start_gap` flags the data."""
    first = late_start_gap(times, horizon)
    if first is not None:
        warnings.warn(
            f"the first event is at {first:g} s, {100 * first / horizon:.0f}% into the horizon, "
            f"though events arrive every {(times[-1] - first) / (times.size - 1):.3g} s on "
            f"average: if the data start later than 0 (clock times?), {option} so that they "
            "start at 0",
            LateStartWarning,
            stacklevel=3,
        )


def require_enough(n_events: int, n_params: int, what: str) -> None:
    """At least 5 events per free parameter (and 10 in all), else a clear InputError."""
    needed = max(10, 5 * n_params)
    require(
        n_events >= needed,
        f"{what} needs at least {needed} events for {n_params} free parameters, got {n_events}; "
        "use more data, a longer horizon, or fewer free decays (beta_structure='scalar')",
    )


def fit_layout(times: np.ndarray, marks: np.ndarray, horizon: float, dim: int) -> EventLayout:
    """Checked float64 event arrays laid out once for repeated likelihood evaluations (call
    inside `jax.enable_x64(True)`)."""
    events = events_from_arrays(times, marks, horizon, dim, dtype=jnp.float64)
    return event_layout(events, jnp.asarray(horizon, jnp.float64))


def batch_layouts(events, horizon_s, dim: int, n_params: int, what: str):
    """Checked layouts of B data sets of equal capacity for the batched fitters (call inside
    `jax.enable_x64(True)`): (EventLayout with a leading B axis, (B, d) event counts, (B,)
    horizons in seconds). InputError for a missing batch axis, overflowed buffers, events
    outside a horizon, marks out of range, too few events or an empty dimension."""
    require(
        isinstance(events, HawkesEvents) and np.ndim(events.times) == 2,
        "events must be HawkesEvents with a leading data-set axis, times of shape (B, capacity)",
    )
    require(
        not bool(np.any(np.asarray(events.overflow))),
        "some data sets overflowed their buffer (incomplete data); simulate with a larger capacity",
    )
    n_sets = np.shape(events.times)[0]
    horizon = np.broadcast_to(positive("horizon_s", horizon_s), (n_sets,)).astype(np.float64)
    check_events_in_horizon(events, horizon[:, None])
    marks = np.where(np.asarray(events.mask), np.asarray(events.marks), dim)
    require(
        bool(np.all((marks >= 0) & (marks <= dim))), f"marks must be in 0..{dim - 1} (dim={dim})"
    )
    counts = np.stack([np.bincount(m, minlength=dim + 1)[:dim] for m in marks]).astype(float)
    require_enough(int(counts.sum(axis=1).min()), n_params, f"{what} (smallest data set)")
    require(
        bool(np.all(counts > 0)),
        "every data set needs events in every dimension; drop or regenerate the empty ones",
    )
    ev = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64) if x.dtype.kind == "f" else x, events)
    return jax.vmap(event_layout)(ev, jnp.asarray(horizon)), counts, horizon
