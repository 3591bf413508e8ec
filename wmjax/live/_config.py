"""A live session's settings (`SessionConfig`, JSON in and out with clear errors) and the feed
they name: simulated, or replayed from a LOBSTER message file or a fills CSV."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from wmjax._checks import InputError, positive, positive_int, require
from wmjax.analytics import parse_strategy_name
from wmjax.data import load_fills, load_lobster
from wmjax.execution import order as make_order
from wmjax.live._alerts import AlertRules
from wmjax.live._band import ADVISOR
from wmjax.live._feeds import FillsFeed, LobsterFeed, SimulatedFeed

#: The limits a session uses unless given its own `execution_limits_v1` policy file.
DEFAULT_LIMITS = {
    "schema_version": "execution_limits_v1",
    "max_participation_rate": 0.2,
    "allowed_order_types": ["limit", "market"],
    "max_quote_offset_bps": 5.0,
    "max_state_age_ms": 2000.0,
    "hysteresis_steps": 2,
    "per_regime_caps": {"stressed": {"max_participation_rate": 0.1}},
    "baseline": {
        "urgency_tier": "normal",
        "max_participation_rate": 0.1,
        "preferred_order_type": "limit",
        "quote_offset_bps": 1.0,
    },
}


@dataclass(frozen=True)
class SessionConfig:
    """One live order.

    Attributes:
        symbol, strategy: the instrument; twap | vwap | ac_optimal | aggressive | pov_X | advisor.
        quantity_shares, side, n_steps, horizon_s: the parent order and its decision intervals
            (market seconds; a fills replay takes its window and size from the file).
        speed: market seconds per wall-clock second.
        seed: the simulated market's key; price, daily_volume_shares, daily_volatility,
            spread_bps: its desk inputs (`wmjax.analytics.desk_market_params`).
        replay: a LOBSTER message file (its `_orderbook_` file beside it) or a fills CSV.
        target_participation: the advisor's target (its POV base schedule).
        band_paths, advisor_paths: simulated paths of the pre-trade band and of the advisor.
        limits: an `execution_limits_v1` policy as canonical JSON text (`from_dict` takes a
            dict too; default `DEFAULT_LIMITS`).
        threshold_bps, consecutive: the divergence alert (see `AlertRules`).
        crash_strategy_at_step: fault injection: the strategy raises from this interval on.
    """

    symbol: str = "SIM"
    strategy: str = "twap"
    quantity_shares: float = 20_000.0
    side: str = "buy"
    n_steps: int = 30
    horizon_s: float = 1800.0
    speed: float = 60.0
    seed: int = 0
    price: float = 50.0
    daily_volume_shares: float = 5e6
    daily_volatility: float = 0.02
    spread_bps: float = 2.0
    replay: str | None = None
    target_participation: float = 0.05
    band_paths: int = 512
    advisor_paths: int = 64
    limits: str | None = None  # canonical JSON of the limits dict (hashable)
    threshold_bps: float = 10.0
    consecutive: int = 3
    crash_strategy_at_step: int | None = None

    def __post_init__(self):
        require(
            isinstance(self.symbol, str) and 0 < len(self.symbol) <= 32,
            "symbol: 1 to 32 characters",
        )
        if self.strategy != ADVISOR:
            parse_strategy_name(self.strategy)
        require(self.side in ("buy", "sell"), f"side must be buy or sell, got {self.side!r}")
        for name in (
            "quantity_shares",
            "horizon_s",
            "speed",
            "price",
            "daily_volume_shares",
            "daily_volatility",
            "target_participation",
            "threshold_bps",
        ):
            positive(name, getattr(self, name))
        require(self.target_participation <= 1, "target_participation must be <= 1")
        for name in ("n_steps", "band_paths", "advisor_paths", "consecutive"):
            positive_int(name, getattr(self, name), minimum=2 if "paths" in name else 1)
        positive("spread_bps", self.spread_bps, allow_zero=True)

    @classmethod
    def from_dict(cls, d) -> SessionConfig:
        """From a JSON object; unknown or mistyped fields raise InputError naming them."""
        if not isinstance(d, dict):
            raise InputError(f"session config: expected a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"session config: unknown field(s) {unknown}; known: {sorted(known)}")
        d = dict(d)
        if isinstance(d.get("limits"), dict):
            d["limits"] = json.dumps(d["limits"], sort_keys=True)
        try:
            return cls(**d)
        except TypeError as e:
            raise InputError(f"session config: {e}") from None

    def to_dict(self) -> dict:
        return asdict(self)

    def limits_dict(self) -> dict:
        return DEFAULT_LIMITS if self.limits is None else json.loads(self.limits)

    def alert_rules(self) -> AlertRules:
        return AlertRules(threshold_bps=self.threshold_bps, consecutive=self.consecutive)


def make_feed(config: SessionConfig):
    """The feed `config` names, with its parent order attached as `feed.order`."""
    side = 1.0 if config.side == "buy" else -1.0
    if config.replay is None:
        return SimulatedFeed(
            symbol=config.symbol,
            quantity_shares=config.quantity_shares,
            side=side,
            n_steps=config.n_steps,
            horizon_s=config.horizon_s,
            seed=config.seed,
            price=config.price,
            daily_volume_shares=config.daily_volume_shares,
            daily_volatility=config.daily_volatility,
            spread_bps=config.spread_bps,
        )
    path = Path(config.replay)
    if not path.is_file():
        raise InputError(f"--replay {path}: no such file")
    if "_message_" in path.name:
        book = path.with_name(path.name.replace("_message_", "_orderbook_"))
        if not book.is_file():
            raise InputError(f"--replay {path}: its order-book file {book.name} is not beside it")
        feed = LobsterFeed(
            load_lobster(path, book),
            symbol=path.name.split("_")[0] if config.symbol == "SIM" else config.symbol,
            side=side,
            n_steps=config.n_steps,
            source=path.name,
        )
        quantity = config.quantity_shares
    else:
        feed = FillsFeed(load_fills(path), n_steps=config.n_steps, source=path.name)
        quantity, side = feed.quantity_shares, feed.side
    feed.order = make_order(quantity, feed.horizon_days, side)
    return feed
