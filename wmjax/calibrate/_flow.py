"""Book-flow calibration: the six-type Hawkes order flow and its placement, cancellation and
size distributions, fitted to a LOBSTER file (messages + order book).

The result holds plain arrays (no market types, so this layer stays below `wmjax.market`);
`wmjax.market.calibrate_flow` turns it into `FlowParams`.
"""

from __future__ import annotations

import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int, require
from wmjax.calibrate._mle import FitResult, fit_mle
from wmjax.data import flow_events_from_lobster
from wmjax.hawkes import EmpiricalSizes, HawkesParams

N_TYPES = 6  # limit buy, limit sell, cancel bid, cancel ask, market buy, market sell
_NAMES = ("LIMIT_BUY", "LIMIT_SELL", "CANCEL_BID", "CANCEL_ASK", "MARKET_BUY", "MARKET_SELL")


@struct.dataclass
class FlowCalibration:
    """`fit_flow` output (see `wmjax.market.FlowParams` for the meaning of each field).

    hawkes: fitted `HawkesParams` (6 types, one decay per exciting type: "source" structure).
    offset_weights: (2, W) submission counts per offset from the own best quote, ticks, from
        `min_offset_ticks` up. sizes: empirical sizes per type (shares). cancel_best_share,
        cancel_fractions, cancel_fraction_weights: the cancellation rule.
    horizon_s: the window fitted; event_counts: (6,) events per type in it; mle: the MLE result.
    """

    hawkes: HawkesParams
    offset_weights: np.ndarray
    sizes: EmpiricalSizes
    cancel_best_share: float
    cancel_fractions: np.ndarray
    cancel_fraction_weights: np.ndarray | None
    min_offset_ticks: int = struct.field(pytree_node=False)
    horizon_s: float = struct.field(pytree_node=False)
    event_counts: np.ndarray = struct.field(pytree_node=False)
    mle: FitResult = struct.field(pytree_node=False)


def _empirical(values_per_type: list[np.ndarray]) -> EmpiricalSizes:
    """EmpiricalSizes over the distinct values of each type (weights = counts)."""
    uniq = [np.unique(np.maximum(v, 1.0), return_counts=True) for v in values_per_type]
    width = max(u[0].size for u in uniq)
    values = np.ones((len(uniq), width))
    weights = np.zeros((len(uniq), width))
    for i, (v, c) in enumerate(uniq):
        values[i, : v.size], weights[i, : v.size] = v, c
    return EmpiricalSizes(values=values, weights=weights)


def fit_flow(
    data, *, max_depth: int = 30, max_improvement: int = 30, window_s: float | None = None
) -> FlowCalibration:
    """Fit the book flow to a LOBSTER message file with its order-book file.

    Event times and types (`wmjax.data.flow_events_from_lobster`) of the first `window_s`
    seconds (all by default) give the Hawkes rates and excitation by maximum likelihood
    (`fit_mle`, one decay per exciting type); the offset of each submission from its own best
    quote in the book row before it gives `offset_weights` on -(max_depth-1)..max_improvement
    ticks (others are dropped); the share of cancellations at the best level gives
    `cancel_best_share`, and the share of the best level they removed `cancel_fractions`
    (rounded to 0.01); sizes per type are the empirical ones. A level-1 file holds only the
    events that touch the best quotes, so it shows no placements behind the best (their weights
    are 0) and every cancellation at the best.
    """
    max_depth = positive_int("max_depth", max_depth)
    max_improvement = positive_int("max_improvement", max_improvement, minimum=0)
    require(data.levels > 0, "calibrate_flow needs the order-book file (pass orderbook_file)")
    times, marks, sizes = flow_events_from_lobster(data)
    horizon = float(times[-1]) if window_s is None else float(positive("window_s", window_s))
    require(
        horizon <= times[-1],
        f"window_s={window_s} is longer than the file's {times[-1]:.1f} s of events; shorten it",
    )
    inside = times <= horizon
    times, marks, sizes = times[inside], marks[inside], sizes[inside]
    counts = np.bincount(marks, minlength=N_TYPES)
    missing = [_NAMES[i] for i in range(N_TYPES) if counts[i] == 0]
    require(not missing, f"the data has no events of type {missing} in the window; widen it")
    fit = fit_mle(
        (times, marks), horizon, N_TYPES, beta_structure="source", std_errors=False, n_starts=1
    )
    p = fit.params
    hawkes = HawkesParams.create(np.asarray(p.mu), np.asarray(p.alpha), np.asarray(p.beta))

    kind = np.asarray(data.event_type)[1:]
    buy = np.asarray(data.direction)[1:] > 0
    price = np.asarray(data.price_ticks)[1:]
    ask = np.asarray(data.ask_price_ticks)[:-1, 0]
    bid = np.asarray(data.bid_price_ticks)[:-1, 0]
    has = (np.asarray(data.ask_size_shares)[:-1, 0] > 0) & (
        np.asarray(data.bid_size_shares)[:-1, 0] > 0
    )
    t_msg = np.asarray(data.times_s)[1:] - data.times_s[0]
    sub = (kind == 1) & has & (t_msg <= horizon)
    # share of cancellations at the best level (a level-1 file only shows those: 1.0)
    cancels = ((kind == 2) | (kind == 3)) & has & (t_msg <= horizon)
    at_best = np.where(buy, price == bid, price == ask)
    best_share = float(np.mean(at_best[cancels])) if cancels.any() else 0.0
    level_size = np.where(
        buy, np.asarray(data.bid_size_shares)[:-1, 0], np.asarray(data.ask_size_shares)[:-1, 0]
    )
    seen = cancels & at_best & (level_size > 0)
    fractions = np.minimum(np.asarray(data.size_shares)[1:][seen] / level_size[seen], 1.0)
    fractions, fraction_counts = np.unique(np.round(fractions, 2), return_counts=True)
    fractions = np.maximum(fractions, 0.01)
    offset = np.where(buy, price - bid, ask - price)
    lowest = -(max_depth - 1)
    width = max_depth + max_improvement
    weights = np.zeros((2, width))
    for row, side in enumerate((buy, ~buy)):
        j = offset[sub & side] - lowest
        j = j[(j >= 0) & (j < width)]
        weights[row] = np.bincount(j, minlength=width)[:width]
    return FlowCalibration(
        hawkes=hawkes,
        offset_weights=weights,
        sizes=_empirical([sizes[marks == i] for i in range(N_TYPES)]),
        cancel_best_share=best_share,
        cancel_fractions=fractions if fractions.size else np.ones(1),
        cancel_fraction_weights=fraction_counts.astype(float) if fractions.size else None,
        min_offset_ticks=lowest,
        horizon_s=horizon,
        event_counts=counts,
        mle=fit,
    )
