"""Multivariate exponential-kernel Hawkes processes: exact simulation into fixed-capacity
buffers, intensity and compensator, exact O(N) log-likelihood, time-rescaling diagnostics."""

from wmjax.hawkes._events import HawkesEvents, events_from_arrays
from wmjax.hawkes._likelihood import (
    compensator,
    compensator_at_events,
    intensity,
    intensity_at_events,
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
    "HawkesEvents",
    "HawkesParams",
    "LogNormalSizes",
    "check_params",
    "compensator",
    "compensator_at_events",
    "events_from_arrays",
    "expected_count",
    "intensity",
    "intensity_at_events",
    "ks_exponential",
    "ks_test",
    "log_likelihood",
    "residuals",
    "sample_sizes",
    "simulate",
    "spectral_radius",
    "stationary_intensity",
]
