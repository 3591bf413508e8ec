"""The only place that reads files: LOBSTER messages/order books and their translation into
event streams (one sweep rule, `merge_sweeps`), event and fills CSVs, daily closes, intraday
volume bins and hourly bars."""

from wmjax.data._bars import (
    LEAN_FIELDS,
    Bars,
    bars_from_trades,
    load_lean_bars,
)
from wmjax.data._events_csv import (
    load_events_csv,
    lobster_session_s,
    lobster_trades,
    save_events_csv,
)
from wmjax.data._fills import (
    FILLS_COLUMNS,
    OPTIONAL_COLUMNS,
    HistoricalFills,
    load_fills,
)
from wmjax.data._lobster import (
    CENT_TICK,
    Direction,
    EventType,
    LobsterData,
    load_lobster,
)
from wmjax.data._lobster_events import (
    flow_events_from_lobster,
    merge_sweeps,
    trades_from_lobster,
)
from wmjax.data._prices import (
    DailyPrices,
    load_prices,
)
from wmjax.data._taq import (
    TAQ_SESSION_S,
    TaqTrades,
    lee_ready,
    load_taq,
    load_taq_day,
    national_best,
)
from wmjax.data._volume import (
    HourlyBars,
    VolumeBins,
    load_lean_hourly,
    load_volume_bins,
)

__all__ = [
    "CENT_TICK",
    "FILLS_COLUMNS",
    "LEAN_FIELDS",
    "OPTIONAL_COLUMNS",
    "TAQ_SESSION_S",
    "Bars",
    "DailyPrices",
    "Direction",
    "EventType",
    "HistoricalFills",
    "HourlyBars",
    "LobsterData",
    "TaqTrades",
    "VolumeBins",
    "bars_from_trades",
    "flow_events_from_lobster",
    "lee_ready",
    "load_events_csv",
    "load_fills",
    "load_lean_bars",
    "load_lean_hourly",
    "load_lobster",
    "load_prices",
    "load_taq",
    "load_taq_day",
    "load_volume_bins",
    "lobster_session_s",
    "lobster_trades",
    "merge_sweeps",
    "national_best",
    "save_events_csv",
    "trades_from_lobster",
]
