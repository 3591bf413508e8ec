"""`calibrate_flow`: `FlowParams` fitted to a LOBSTER file (the fit lives in
`wmjax.calibrate.fit_flow`; this turns its arrays into the market's parameters)."""

from __future__ import annotations

import numpy as np
from flax import struct

from wmjax.calibrate import FlowCalibration, fit_flow
from wmjax.market._flow import FlowParams


@struct.dataclass
class FlowFit:
    """`calibrate_flow` output: the parameters and the data they came from."""

    params: FlowParams
    horizon_s: float = struct.field(pytree_node=False)
    event_counts: np.ndarray = struct.field(pytree_node=False)
    hawkes_fit: object = struct.field(pytree_node=False)


def flow_params_from(fit: FlowCalibration) -> FlowParams:
    """Checked `FlowParams` from a `wmjax.calibrate.fit_flow` result."""
    return FlowParams.create(
        fit.hawkes,
        fit.offset_weights,
        fit.sizes,
        fit.min_offset_ticks,
        fit.cancel_best_share,
        fit.cancel_fractions,
        fit.cancel_fraction_weights,
    )


def calibrate_flow(
    data, *, max_depth: int = 30, max_improvement: int = 30, window_s: float | None = None
) -> FlowFit:
    """Fit `FlowParams` to a LOBSTER message file with its order-book file (see
    `wmjax.calibrate.fit_flow` for what is fitted and how)."""
    fit = fit_flow(data, max_depth=max_depth, max_improvement=max_improvement, window_s=window_s)
    return FlowFit(
        params=flow_params_from(fit),
        horizon_s=fit.horizon_s,
        event_counts=fit.event_counts,
        hawkes_fit=fit.mle,
    )
