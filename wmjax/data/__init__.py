"""The only place that reads files: LOBSTER messages/order books, event and fills CSVs; the
translation of LOBSTER messages into event streams (one sweep rule, `merge_sweeps`)."""

from wmjax.data._events_csv import (
    load_events_csv,
    lobster_session_s,
    lobster_trades,
    save_events_csv,
)
from wmjax.data._fills import FILLS_COLUMNS, HistoricalFills, load_fills
from wmjax.data._lobster import CENT_TICK, Direction, EventType, LobsterData, load_lobster
from wmjax.data._lobster_events import (
    flow_events_from_lobster,
    merge_sweeps,
    trades_from_lobster,
)

__all__: list[str] = [
    "CENT_TICK",
    "FILLS_COLUMNS",
    "Direction",
    "EventType",
    "HistoricalFills",
    "LobsterData",
    "flow_events_from_lobster",
    "load_events_csv",
    "load_fills",
    "load_lobster",
    "lobster_session_s",
    "lobster_trades",
    "merge_sweeps",
    "save_events_csv",
    "trades_from_lobster",
]
