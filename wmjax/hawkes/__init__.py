"""Multivariate exponential-kernel Hawkes processes: exact simulation into fixed-capacity
buffers, intensity and compensator, exact O(N) log-likelihood, time-rescaling diagnostics."""

from wmjax.hawkes._events import HawkesEvents, events_from_arrays
from wmjax.hawkes._likelihood import (
    EventLayout,
    compensator,
    compensator_at_events,
    event_layout,
    intensity,
    intensity_at_events,
    layout_log_likelihood,
    log_likelihood,
)
from wmjax.hawkes._params import (
    HawkesParams,
    check_params,
    expected_count,
    spectral_radius,
    stationary_intensity,
)
from wmjax.hawkes._residuals import ks_exponential, ks_test, residuals
from wmjax.hawkes._simulate import simulate
from wmjax.hawkes._sizes import EmpiricalSizes, LogNormalSizes, sample_sizes

__all__ = [
    "EmpiricalSizes",
    "EventLayout",
    "HawkesEvents",
    "HawkesParams",
    "LogNormalSizes",
    "check_params",
    "compensator",
    "compensator_at_events",
    "event_layout",
    "events_from_arrays",
    "expected_count",
    "intensity",
    "intensity_at_events",
    "ks_exponential",
    "ks_test",
    "layout_log_likelihood",
    "log_likelihood",
    "residuals",
    "sample_sizes",
    "simulate",
    "spectral_radius",
    "stationary_intensity",
]
