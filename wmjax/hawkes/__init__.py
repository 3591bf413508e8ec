"""Multivariate exponential-kernel Hawkes processes: exact simulation into fixed-capacity
buffers, intensity and compensator, exact O(N) log-likelihood, time-rescaling diagnostics."""

from wmjax.hawkes._baseline import baseline_at, baseline_integral, session_breaks
from wmjax.hawkes._events import HawkesEvents, events_from_arrays
from wmjax.hawkes._kernels import (
    HawkesModel,
    ModelParams,
    SegmentedEvents,
    model_compensator_at_events,
    model_log_likelihood,
    model_residuals,
    power_law_decays,
    segment_events,
)
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
from wmjax.hawkes._simulate import simulate, simulate_batch
from wmjax.hawkes._sizes import EmpiricalSizes, LogNormalSizes, sample_sizes
from wmjax.hawkes._thinning import simulate_model

__all__ = [
    "EmpiricalSizes",
    "EventLayout",
    "HawkesEvents",
    "HawkesModel",
    "HawkesParams",
    "LogNormalSizes",
    "ModelParams",
    "SegmentedEvents",
    "baseline_at",
    "baseline_integral",
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
    "model_compensator_at_events",
    "model_log_likelihood",
    "model_residuals",
    "power_law_decays",
    "residuals",
    "sample_sizes",
    "segment_events",
    "session_breaks",
    "simulate",
    "simulate_batch",
    "simulate_model",
    "spectral_radius",
    "stationary_intensity",
]
