"""Microstructure state from books and event streams, real or simulated, by one code path: OFI,
imbalance, spread, trade flow, realised vol, own state; leak-free labels, chronological splits.
"""

from wmjax.features._labels import (
    Horizon,
    Move,
    Split,
    chronological_split,
    class_balance,
    clock_grid_rows,
    clock_horizon,
    direction,
    event_horizon,
    mid_change_bps,
    past_mean_gap_bps,
    smoothed_change_bps,
)
from wmjax.features._ofi import (
    clock_window_start,
    clock_window_sum,
    event_window_sum,
    ofi_events,
    ofi_sides,
)
from wmjax.features._state import FeatureConfig, MicrostructureState, microstructure_state, symlog
from wmjax.features._stream import BookStream, stream_from_books, stream_from_lobster
from wmjax.features._vpin import Vpin, bulk_volume_classification, time_bars, vpin

__all__ = [
    "BookStream",
    "FeatureConfig",
    "Horizon",
    "MicrostructureState",
    "Move",
    "Split",
    "Vpin",
    "bulk_volume_classification",
    "chronological_split",
    "class_balance",
    "clock_grid_rows",
    "clock_horizon",
    "clock_window_start",
    "clock_window_sum",
    "direction",
    "event_horizon",
    "event_window_sum",
    "microstructure_state",
    "mid_change_bps",
    "ofi_events",
    "ofi_sides",
    "past_mean_gap_bps",
    "smoothed_change_bps",
    "stream_from_books",
    "stream_from_lobster",
    "symlog",
    "time_bars",
    "vpin",
]
