"""Markets a live session trades against, one decision interval at a time.

A feed shows, before each interval, what the desk sees (`Tick`: mid, the interval's market
volume, spread, top-of-book depth, order-flow imbalance, liquidity regime) and executes the
interval's child order (`execute` -> shares filled and their average price).

* `SimulatedFeed`: the impact-level market (`wmjax.market.ImpactMarket`) with ATHL 2005 impact
  (`wmjax.analytics.desk_market_params`), stepped by one jitted `step` compiled once per
  configuration. Step k's randomness is `fold_in(step_key, k)` exactly as in
  `wmjax.execution.rollout`, so the live path is one draw of the pre-trade band's distribution
  and a restarted session re-creates the same market by replaying its persisted child orders.
* `LobsterFeed`: a LOBSTER day (message + level-1 book file) cut into intervals; a child order
  pays the replayed mid, half the spread and ATHL's temporary impact Y sigma (q / V)^(3/5)
  (Almgren, Thum, Hauptmann & Li 2005); the replayed prices cannot react to us (no permanent
  impact).
* `FillsFeed`: a historical fills file; the executions are the child orders (shadow mode: the
  advice is computed and recorded but cannot change what happened).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import InputError, positive, positive_int, require
from wmjax.analytics import desk_market_params, simulator_version
from wmjax.analytics._industry import ATHL_2005
from wmjax.data import EventType, HistoricalFills, LobsterData
from wmjax.execution import order as make_order
from wmjax.market import ImpactMarket, power_law_temporary_impact

TRADING_DAY_S = 23400.0
MARKET = ImpactMarket()


@dataclass(frozen=True)
class Tick:
    """What the desk sees before interval `step` (market time `time_s`, seconds after midnight)."""

    step: int
    time_s: float
    mid: float
    volume_shares: float
    spread_bps: float
    depth_top5_usd: float
    order_flow_imbalance: float
    regime: str


def regime_of(move_sigmas: float) -> str:
    """Liquidity regime from the last interval's absolute mid move in interval sigmas."""
    return "calm" if move_sigmas < 0.5 else ("normal" if move_sigmas < 1.5 else "stressed")


@partial(jax.jit, static_argnames=("n_steps",))
def _sim_init(key, params, order, n_steps):
    k_init, k_steps = jax.random.split(key)
    return MARKET.init(k_init, params, order, n_steps), k_steps


@jax.jit
def _sim_step(k_steps, step, state, shares, params):
    obs = MARKET.observe(state, params)
    state, fills = MARKET.step(jax.random.fold_in(k_steps, step), state, shares, params)
    return state, fills, obs.mid, MARKET.observe(state, params).mid


@jax.jit
def _sim_observe(state, params):
    obs = MARKET.observe(state, params)
    return obs.mid, obs.volume_shares


class SimulatedFeed:
    """The ATHL-calibrated impact market, one interval per `execute` (see the module doc)."""

    kind = "simulate"

    def __init__(
        self,
        *,
        symbol: str,
        quantity_shares: float,
        side: float,
        n_steps: int,
        horizon_s: float,
        seed: int = 0,
        price: float = 50.0,
        daily_volume_shares: float = 5e6,
        daily_volatility: float = 0.02,
        spread_bps: float = 2.0,
        start_s: float = 34200.0,
    ):
        self.symbol = symbol
        self.n_steps = positive_int("n_steps", n_steps)
        self.horizon_days = float(positive("horizon_s", horizon_s)) / TRADING_DAY_S
        self.interval_s = float(horizon_s) / self.n_steps
        self.start_s = float(start_s)
        self.spread_bps = float(spread_bps)
        self.side = float(side)
        self.params = desk_market_params(
            self.n_steps,
            self.horizon_days,
            price=price,
            daily_volume_shares=daily_volume_shares,
            daily_volatility=daily_volatility,
            spread_bps=spread_bps,
        )
        self.order = make_order(quantity_shares, self.horizon_days, side)
        self.arrival_price = float(price)
        self._depth_usd = 0.02 * daily_volume_shares * price
        self._sigma_interval = float(
            daily_volatility * price * np.sqrt(self.horizon_days / n_steps)
        )
        self._state, self._k_steps = _sim_init(
            jax.random.key(seed), self.params, self.order, self.n_steps
        )
        self._prev_mid = self.arrival_price
        self.version = f"{simulator_version()} (ATHL 2005 desk market, seed {seed})"

    def observe(self, step: int) -> Tick:
        mid, volume = (float(x) for x in _sim_observe(self._state, self.params))
        move = abs(mid - self._prev_mid) / max(self._sigma_interval, 1e-12)
        ofi = float(np.clip((mid - self._prev_mid) / (2 * max(self._sigma_interval, 1e-12)), -1, 1))
        return Tick(
            step=step,
            time_s=self.start_s + step * self.interval_s,
            mid=mid,
            volume_shares=volume,
            spread_bps=self.spread_bps,
            depth_top5_usd=self._depth_usd,
            order_flow_imbalance=ofi,
            regime=regime_of(move) if step > 0 else "normal",
        )

    def warm(self) -> None:
        """Compile the market step (a call whose result is discarded: the step is pure)."""
        _sim_step(self._k_steps, jnp.int32(0), self._state, jnp.float32(0.0), self.params)

    def execute(self, step: int, shares: float) -> tuple[float, float, float]:
        """Trade `shares` (>= 0, the order's direction) in interval `step`: (filled, average
        price, mid at the interval's end)."""
        self._state, fills, mid_before, mid_after = _sim_step(
            self._k_steps, np.int32(step), self._state, np.float32(shares), self.params
        )
        self._prev_mid = float(mid_before)
        filled = float(fills.shares)
        price = float(fills.notional) / filled if filled > 0 else float(mid_before)
        return filled, price, float(mid_after)


def _athl_temporary(q_shares, volume_shares, sigma_price):
    return float(
        power_law_temporary_impact(
            jnp.float32(q_shares),
            jnp.float32(max(volume_shares, 1.0)),
            jnp.float32(sigma_price),
            jnp.float32(ATHL_2005["eta"]),
            jnp.float32(ATHL_2005["beta"]),
        )
    )


class LobsterFeed:
    """A LOBSTER day replayed interval by interval (see the module doc). The book file must be
    given (level 1 at least): the mid, spread and depth come from it."""

    kind = "lobster"

    def __init__(self, data: LobsterData, *, symbol: str, side: float, n_steps: int, source=""):
        require(data.levels >= 1, f"{source}: the LOBSTER replay needs the order-book file")
        self.symbol, self.side = symbol, float(side)
        self.n_steps = positive_int("n_steps", n_steps)
        t = data.times_s
        ask = data.ask_price_ticks[:, 0].astype(float)
        bid = data.bid_price_ticks[:, 0].astype(float)
        ok = (ask > 0) & (bid > 0) & (ask > bid)
        require(bool(ok.any()), f"{source}: no two-sided quotes in the book file")
        scale = data.tick / 1e4
        t0, t1 = float(t[ok][0]), float(t[ok][-1])
        self.start_s, self.interval_s = t0, (t1 - t0) / self.n_steps
        edges = t0 + self.interval_s * np.arange(self.n_steps + 1)
        idx = np.clip(np.searchsorted(t, edges, side="right") - 1, 0, len(t) - 1)
        last_ok = np.maximum.accumulate(np.where(ok, np.arange(len(t)), 0))
        at = last_ok[idx]
        self._mid = 0.5 * (ask[at] + bid[at]) * scale
        self._spread_bps = (ask[at] - bid[at]) / (0.5 * (ask[at] + bid[at])) * 1e4
        size = 0.5 * (data.ask_size_shares[at, 0] + data.bid_size_shares[at, 0])
        self._depth_usd = np.maximum(5 * size * self._mid, 1.0)
        execs = np.isin(data.event_type, (EventType.EXECUTION, EventType.HIDDEN_EXECUTION))
        bucket = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, self.n_steps - 1)
        # a resting sell executed is buyer-initiated (LOBSTER direction -1)
        signed = np.where(data.direction < 0, 1.0, -1.0) * data.size_shares * execs
        self._volume = np.bincount(bucket, data.size_shares * execs, self.n_steps)
        flow = np.bincount(bucket, signed, self.n_steps)
        self._ofi = np.clip(flow / np.maximum(self._volume, 1.0), -1, 1)
        moves = np.abs(np.diff(self._mid))
        self._sigma_interval = float(np.sqrt(np.mean(np.diff(self._mid) ** 2)) + 1e-9)
        self._move_sig = np.concatenate([[1.0], moves[:-1] / self._sigma_interval])
        self.arrival_price = float(self._mid[0])
        horizon_days = (t1 - t0) / TRADING_DAY_S
        day_volume = float(self._volume.sum()) / horizon_days
        daily_vol = self._sigma_interval * np.sqrt(self.n_steps / horizon_days) / self._mid[0]
        self.params = desk_market_params(
            self.n_steps,
            min(horizon_days, 1.0),
            price=self.arrival_price,
            daily_volume_shares=max(day_volume, 1.0),
            daily_volatility=float(daily_vol),
            spread_bps=float(np.median(self._spread_bps)),
        )
        self._sigma_day_price = float(daily_vol) * self.arrival_price
        self.horizon_days = horizon_days
        self.version = f"{simulator_version()} (LOBSTER replay {source})"

    def observe(self, step: int) -> Tick:
        return Tick(
            step=step,
            time_s=self.start_s + step * self.interval_s,
            mid=float(self._mid[step]),
            volume_shares=float(self._volume[step]),
            spread_bps=float(self._spread_bps[step]),
            depth_top5_usd=float(self._depth_usd[step]),
            order_flow_imbalance=float(self._ofi[step]),
            regime=regime_of(float(self._move_sig[step])),
        )

    def execute(self, step: int, shares: float) -> tuple[float, float, float]:
        mid = float(self._mid[step])
        half = 0.5 * float(self._spread_bps[step]) * 1e-4 * mid
        temp = _athl_temporary(shares, float(self._volume[step]), self._sigma_day_price)
        return float(shares), mid + self.side * (half + temp), float(self._mid[step + 1])


class FillsFeed:
    """A historical fills file replayed in `n_steps` intervals of its window (shadow mode: the
    interval's executions are the child order whatever the strategy asks)."""

    kind = "fills"

    def __init__(self, fills: HistoricalFills, *, n_steps: int, source=""):
        self.symbol = fills.symbol or "FILLS"
        self.side = float(fills.side)
        self.n_steps = positive_int("n_steps", n_steps)
        self.start_s = float(fills.start_s)
        span = float(fills.end_s) - self.start_s
        if span <= 0:
            raise InputError(f"{source}: the order's end must be after its start")
        self.interval_s = span / self.n_steps
        bucket = np.clip(((fills.times_s - self.start_s) // self.interval_s).astype(int), 0, None)
        bucket = np.minimum(bucket, self.n_steps - 1)
        self._shares = np.bincount(bucket, fills.shares, self.n_steps)
        notional = np.bincount(bucket, fills.shares * fills.prices, self.n_steps)
        avg = np.divide(notional, self._shares, out=np.zeros(self.n_steps), where=self._shares > 0)
        last = np.maximum.accumulate(np.where(self._shares > 0, np.arange(self.n_steps), -1))
        self._price = np.where(last >= 0, avg[np.maximum(last, 0)], fills.arrival_price)
        self.arrival_price = float(fills.arrival_price)
        self.quantity_shares = float(fills.quantity_shares)
        self.horizon_days = span / TRADING_DAY_S
        self.params = desk_market_params(
            self.n_steps, min(self.horizon_days, 1.0), price=self.arrival_price
        )
        self.version = f"{simulator_version()} (fills replay {source})"

    def observe(self, step: int) -> Tick:
        mid = self.arrival_price if step == 0 else float(self._price[step - 1])
        # a fills file says nothing of the market's volume: participation is unknown (0)
        return Tick(step, self.start_s + step * self.interval_s, mid, 0.0, 2.0, 1e6, 0.0, "normal")

    def execute(self, step: int, shares: float) -> tuple[float, float, float]:
        price = float(self._price[step])
        return float(self._shares[step]), price, price
