"""The Hawkes-driven order flow of the book (`wmjax.market.flow`): parameters, the interval
sampler with its carried state, one drawn event as a book event, a whole horizon on a book, and
calibration to LOBSTER."""

from wmjax.market._flow import (
    DECAY_STRUCTURES,
    N_TYPES,
    FlowEvents,
    FlowParams,
    FlowState,
    FlowType,
    check_flow,
    flow_event,
    flow_state,
    power_law_depths,
    sample_flow,
    sample_interval,
    smallest_decay_structure,
)
from wmjax.market._flow_fit import FlowFit, calibrate_flow, flow_params_from
from wmjax.market._flow_sim import FlowPath, simulate_flow

__all__ = [
    "DECAY_STRUCTURES",
    "N_TYPES",
    "FlowEvents",
    "FlowFit",
    "FlowParams",
    "FlowPath",
    "FlowState",
    "FlowType",
    "calibrate_flow",
    "check_flow",
    "flow_event",
    "flow_params_from",
    "flow_state",
    "power_law_depths",
    "sample_flow",
    "sample_interval",
    "simulate_flow",
    "smallest_decay_structure",
]
