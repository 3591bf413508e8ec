"""The pre-trade band a live order is drawn against: IS so far after every interval, p5-p95
over simulated paths of the same strategy on the same market (`wmjax.execution.rollout` with the
pre-trade strategies of `wmjax.analytics`, common random numbers).

IS so far after interval k (bps of the arrival notional, positive a cost) is
side * (sum_{j<=k} notional_j - filled_k * arrival) / (quantity * arrival) * 1e4, plus at the
last interval the opportunity cost side * unfilled * (final mid - arrival) of what did not fill,
so its last value is the order's implementation shortfall (Perold 1988).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from wmjax._checks import require
from wmjax.analytics import named_strategy_params, parse_strategy_name, strategy_policy
from wmjax.execution import RolloutConfig, rollout
from wmjax.market import ImpactMarket

#: The bounded advisor works a POV schedule at the advisor's target participation.
ADVISOR = "advisor"


def base_strategy(name: str, target_participation: float) -> str:
    """The standard strategy behind `name` ("advisor" -> pov at the target participation)."""
    if name == ADVISOR:
        return f"pov_{100 * target_participation:g}"
    parse_strategy_name(name)
    return name


def is_so_far_bps(shares, prices, arrival, quantity, side, final_mid=None) -> np.ndarray:
    """IS so far after each interval (see the module doc); (..., n_steps) arrays of filled shares
    and average prices; `final_mid` adds the opportunity cost of the unfilled rest at the end."""
    shares = np.asarray(shares, float)
    notional = np.cumsum(shares * np.asarray(prices, float), axis=-1)
    filled = np.cumsum(shares, axis=-1)
    arrival = np.asarray(arrival, float)[..., None]
    out = side * (notional - filled * arrival)
    if final_mid is not None:
        unfilled = quantity - filled[..., -1]
        out[..., -1] += side * unfilled * (np.asarray(final_mid, float) - arrival[..., 0])
    return out / (quantity * arrival) * 1e4


@dataclass(frozen=True)
class Band:
    """IS-so-far quantiles per interval and the path samples behind them (bps)."""

    p05_bps: np.ndarray
    p50_bps: np.ndarray
    p95_bps: np.ndarray
    samples_bps: np.ndarray  # (n_paths, n_steps)
    strategy: str

    def at(self, step: int) -> dict:
        return {
            "p05_bps": float(self.p05_bps[step]),
            "p50_bps": float(self.p50_bps[step]),
            "p95_bps": float(self.p95_bps[step]),
        }


def pretrade_band(feed, order, strategy: str, n_paths: int = 512, seed: int = 1) -> Band:
    """The band of `strategy` (a standard name or pov_X) for `order` on the feed's market
    params (`feed.params`, `ImpactParams`); the paths use a key independent of the live one."""
    require(n_paths >= 2, "band n_paths must be >= 2")
    return _band(feed.params, order, strategy, int(n_paths), int(seed))


def _band(params, order, strategy, n_paths, seed) -> Band:
    key = (strategy, n_paths, seed, _digest(params), _digest(order))
    if key not in _CACHE:
        _CACHE[key] = _compute(params, order, strategy, n_paths, seed)
    return _CACHE[key]


def _digest(tree) -> tuple:
    return tuple(np.asarray(x).tobytes() for x in jax.tree.leaves(tree))


_CACHE: dict = {}


def _compute(params, order, strategy, n_paths, seed) -> Band:
    sp = named_strategy_params((strategy,), order, params)
    sp = jax.tree.map(lambda x: x[0], sp)
    config = RolloutConfig(n_paths=n_paths, n_steps=params.n_steps, shard=False)
    paths = rollout(
        jax.random.key(seed), ImpactMarket(), params, strategy_policy, sp, order, config
    )
    samples = is_so_far_bps(
        paths.shares,
        paths.exec_price,
        paths.arrival_price,
        float(order.quantity_shares),
        float(order.side),
        paths.final_mid,
    )
    q = np.quantile(samples, [0.05, 0.5, 0.95], axis=0)
    return Band(q[0], q[1], q[2], samples, strategy)
