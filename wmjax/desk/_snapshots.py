"""Historical microstructure snapshots for the advisor's offline replay: a
`microstructure_state_v1` every `step_s` seconds from a LOBSTER day, with the mid path that
followed each one (the exogenous path both policies of a replay face).

Fields come from `wmjax.features.microstructure_state` (one code path for real and simulated
books) at the last book row at or before each snapshot time:

- spread_bps: the quoted spread over the mid;
- depth_top5_usd: five times the mean touch size (bid and ask) in USD; a level-1 file has only
  the touch, and the advisor's book model spreads its top-five depth evenly over five levels;
- order_flow_imbalance: level-1 OFI (Cont, Kukanov & Stoikov 2014) over the last 60 s divided
  by the sum of the absolute bid and ask depth changes it is made of (in [-1, 1]; +1 when all
  the flow added demand or removed supply);
- fill_hazard: half the trade rate over the last 60 s, per second (the trades that reach one
  side of the book, the rate a passive order at the touch is reached at);
- latency_ms_estimate: a given constant (not in market data);
- liquidity_regime: from the spread (calm below `calm_max_spread_bps`, stressed above
  `stressed_min_spread_bps`), causal by construction;
- event_ts: the time of that book row (its age at the snapshot is the time since the last book
  event, so a quiet book gives a stale state).

The paths, in bps of the snapshot's mid and signed against the order's side (positive = the
price moved away from us): the mid at the end of each of `n_sub` sub-steps of the decision
interval, at the order's latency, and at the end of the next interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import positive, positive_int, require
from wmjax.features import (
    FeatureConfig,
    clock_window_sum,
    microstructure_state,
    ofi_sides,
    stream_from_lobster,
)

#: Hours New York local time (EDT, the LOBSTER sample's June day) is behind UTC.
NEW_YORK_SUMMER_UTC_OFFSET_H = 4.0
_OFI_WINDOW_S = 60.0
_FEATURES = FeatureConfig(event_windows=(10,), clock_windows_s=(_OFI_WINDOW_S,))


@jax.jit
def _flow_ratio(stream):
    """OFI over the window / the sum of its parts' absolute values, level 1, per row."""
    e_bid, e_ask = ofi_sides(stream)
    gross = (jnp.abs(e_bid) + jnp.abs(e_ask))[:, 0].astype(jnp.float32)
    net = (e_bid - e_ask)[:, 0].astype(jnp.float32)
    sums = clock_window_sum(jnp.stack([net, gross], axis=1), stream.times_s, (_OFI_WINDOW_S,))
    return jnp.where(sums[:, 0, 1] > 0, sums[:, 0, 0] / jnp.maximum(sums[:, 0, 1], 1.0), 0.0)


@dataclass(frozen=True)
class SnapshotConfig:
    """How snapshots are built: every `step_s` seconds, a decision interval of `interval_s`
    split into `n_sub` sub-steps, the order's `side` (+1 buy, -1 sell), the latency to assume,
    the spread thresholds of the regimes, and the exchange's offset from UTC (hours)."""

    step_s: float = 60.0
    interval_s: float = 60.0
    n_sub: int = 12
    side: float = 1.0
    latency_ms: float = 1.0
    calm_max_spread_bps: float = 5.0
    stressed_min_spread_bps: float = 7.5
    utc_offset_h: float = NEW_YORK_SUMMER_UTC_OFFSET_H

    def __post_init__(self):
        positive("step_s", self.step_s)
        positive("interval_s", self.interval_s)
        positive_int("n_sub", self.n_sub)
        require(self.side in (1, -1), f"side must be +1 or -1, got {self.side}")
        positive("latency_ms", self.latency_ms, allow_zero=True)
        require(
            0 < self.calm_max_spread_bps <= self.stressed_min_spread_bps,
            "regime thresholds: 0 < calm_max_spread_bps <= stressed_min_spread_bps",
        )


@dataclass
class Snapshots:
    """K snapshots of one day (host arrays, leading axis K) and their states as dicts.

    `x_bps` (K, n_sub), `x_lat_bps` (K,), `x_next_bps` (K,): the paths (module docstring);
    `times_s` (K,) snapshot times (seconds after midnight); `now` the snapshot times as UTC
    datetimes (when each decision is made); `mid_usd` (K,) the mid at each snapshot.
    """

    states: list
    now: list
    times_s: np.ndarray
    mid_usd: np.ndarray
    x_bps: np.ndarray
    x_lat_bps: np.ndarray
    x_next_bps: np.ndarray
    config: SnapshotConfig

    def __len__(self) -> int:
        return len(self.states)

    def regimes(self) -> np.ndarray:
        return np.asarray([s["liquidity_regime"] for s in self.states])


def daily_value_usd(data) -> float:
    """The day's traded value (visible and hidden executions), USD, scaled to a 6.5-hour
    session if the file covers less: the advisor's `adv_usd` for a replay of this day."""
    trades = np.isin(data.event_type, (4, 5))
    value = float(np.sum(data.size_shares[trades] * data.price_raw[trades].astype(np.float64)))
    span = float(data.times_s[-1] - data.times_s[0])
    return value / 1e4 * 23400.0 / max(span, 1.0)


def _utc(day: date, seconds: float, offset_h: float) -> datetime:
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return midnight + timedelta(seconds=float(seconds) + offset_h * 3600.0)


def lobster_snapshots(data, symbol: str, day: date, config: SnapshotConfig = SnapshotConfig()):
    """`Snapshots` of a `wmjax.data.LobsterData` day (with its order book) every
    `config.step_s` seconds, from one step after the first event up to where the next interval
    still ends inside the day."""
    cfg = config
    stream = stream_from_lobster(data, levels=1)
    feats = microstructure_state(stream, _FEATURES)
    flow = np.clip(np.asarray(_flow_ratio(stream), np.float64), -1.0, 1.0)
    times = np.asarray(data.times_s, np.float64)
    mid_ticks = np.asarray(feats.mid_ticks, np.float64)
    tick_usd = data.tick / 1e4
    spread_ticks = np.asarray(feats.spread_ticks, np.float64)
    touch = np.asarray(feats.book_size_shares[:, :, 0], np.float64).mean(axis=1)
    trade_rate = np.asarray(feats.trade_rate_per_s[:, 0], np.float64)

    h = cfg.interval_s
    last = times[-1] - 2.0 * h
    grid = np.arange(times[0] + cfg.step_s, last + 1e-9, cfg.step_s)
    require(grid.size > 0, f"the day is too short for step_s={cfg.step_s}, interval_s={h}")

    def mid_at(t):
        rows = np.searchsorted(times, t, side="right") - 1
        return mid_ticks[np.maximum(rows, 0)]

    rows = np.searchsorted(times, grid, side="right") - 1
    mid0 = mid_ticks[rows]
    sub = grid[:, None] + h * np.arange(1, cfg.n_sub + 1)[None, :] / cfg.n_sub

    def to_bps(m):  # signed move from the snapshot's mid, bps
        ref = mid0.reshape(-1, *[1] * (m.ndim - 1))
        return cfg.side * (m / ref - 1.0) * 1e4

    states, nows = [], []
    for t, r in zip(grid, rows, strict=True):
        mean_touch = max(touch[r], 1.0)
        spread_bps = float(spread_ticks[r] / mid_ticks[r] * 1e4)
        regime = (
            "calm"
            if spread_bps <= cfg.calm_max_spread_bps
            else "stressed"
            if spread_bps > cfg.stressed_min_spread_bps
            else "normal"
        )
        states.append(
            {
                "schema_version": "microstructure_state_v1",
                "symbol": symbol,
                "event_ts": _utc(day, times[r], cfg.utc_offset_h).isoformat(),
                "spread_bps": spread_bps,
                "depth_top5_usd": float(5.0 * mean_touch * mid_ticks[r] * tick_usd),
                "order_flow_imbalance": float(flow[r]),
                "latency_ms_estimate": float(cfg.latency_ms),
                "fill_hazard": float(min(0.5 * trade_rate[r], 1000.0)),
                "liquidity_regime": regime,
            }
        )
        nows.append(_utc(day, t, cfg.utc_offset_h))
    return Snapshots(
        states=states,
        now=nows,
        times_s=grid,
        mid_usd=mid0 * tick_usd,
        x_bps=to_bps(mid_at(sub)),
        x_lat_bps=to_bps(mid_at(grid + cfg.latency_ms * 1e-3)),
        x_next_bps=to_bps(mid_at(grid + 2.0 * h)),
        config=cfg,
    )
