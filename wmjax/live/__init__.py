"""The live face of execution: sessions that work a parent order in (simulated) real time
against a simulated market or a replayed day, with the bounded advisor's provenance, alerts,
SQLite persistence, Prometheus metrics and a browser dashboard (`wmjax dashboard`)."""

from wmjax.live._alerts import AlertRules, Alerts
from wmjax.live._band import Band, is_so_far_bps, pretrade_band
from wmjax.live._config import DEFAULT_LIMITS, SessionConfig, make_feed
from wmjax.live._feeds import FillsFeed, LobsterFeed, SimulatedFeed, Tick
from wmjax.live._provenance import desk_controls, identity_controls
from wmjax.live._session import LiveSession

__all__ = [
    "DEFAULT_LIMITS",
    "AlertRules",
    "Alerts",
    "Band",
    "FillsFeed",
    "LiveSession",
    "LobsterFeed",
    "SessionConfig",
    "SimulatedFeed",
    "Tick",
    "desk_controls",
    "identity_controls",
    "is_so_far_bps",
    "make_feed",
    "pretrade_band",
]
