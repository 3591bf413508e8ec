"""The desk's evaluation report for a set of strategies on one market: execution quality per
strategy (`execution_metrics`, with SEs) and the accuracy of the learned models' forecasts
against the simulator on the same paths (`prediction_metrics`).

Every strategy runs on the same keys (common random numbers) on `RecordingMarket(market)`, and
once more with no trading for the counterfactual mids. With `n_post` > 0 the horizon is extended
by idle intervals (the last interval's volume and volatility repeated) so that reversion after
completion is measured; POV strategies are then left out (their completion time is random).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import positive_int, require
from wmjax.analytics._evaluation import (
    execution_metrics,
    idle_policy,
    mean_se,
    prediction_metrics,
)
from wmjax.analytics._strategies import Strategy, StrategyParams, strategy_policy
from wmjax.execution import Order, RolloutConfig, rollout
from wmjax.market import ImpactMarket, ImpactParams, RecordingMarket
from wmjax.models import Plan


def _extend(params: ImpactParams, n_post: int) -> ImpactParams:
    pad = lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], n_post)])  # noqa: E731
    return params.replace(volume_frac=pad(params.volume_frac), vol_mult=pad(params.vol_mult))


def evaluation_report(
    order: Order,
    market_params: ImpactParams,
    strategies: list[Strategy],
    n_paths: int = 2000,
    key=None,
    *,
    n_post: int = 0,
    world_model=None,
    world_params=None,
) -> dict:
    """{"strategies": {name: execution metrics}, "prediction": {...}, "volume_profile_mae",
    "dark_fill_rate": None (no dark venue in the impact market)} for trade-list or POV
    `strategies` (`strategy_policy`). With `world_model` (an `ExecutionWorldModel` and its
    params) the report adds its shortfall-prediction bias and per-interval impact RMSE per
    strategy against the simulated paths."""
    n_paths = positive_int("n_paths", n_paths)
    n_post = positive_int("n_post", n_post, minimum=0)
    key = jax.random.key(0) if key is None else key
    n = market_params.n_steps
    if n_post:
        strategies = [s for s in strategies if float(s.params.pov_rate) == 0.0]
        require(strategies, "with n_post > 0 pass trade-list strategies (POV is left out)")
    for s in strategies:
        require(s.policy is strategy_policy, f"strategy {s.name} must use strategy_policy")
    params = _extend(market_params, n_post) if n_post else market_params
    run_order = order.replace(horizon_days=order.horizon_days * (n + n_post) / n)
    config = RolloutConfig(n_paths=n_paths, n_steps=n + n_post, shard=False)
    market = RecordingMarket(ImpactMarket())
    side = float(order.side)
    base = rollout(key, market, params, idle_policy, None, run_order, config)
    s0 = float(market_params.arrival_price)
    sigma_bps = float(market_params.sigma) / s0 * 1e4
    adv = float(market_params.daily_volume_shares)
    report, prediction = {}, {}
    for s in strategies:
        sp = StrategyParams(
            jnp.concatenate([s.params.fractions, jnp.zeros(n_post)]), s.params.pov_rate
        )
        paths = rollout(key, market, params, strategy_policy, sp, run_order, config)
        report[s.name] = execution_metrics(
            paths,
            side,
            baseline=base,
            daily_sigma_bps=sigma_bps,
            adv_shares=adv,
            completion_step=n if n_post else None,
        )
        if world_model is not None:
            plan = Plan(s.params.fractions, s.params.pov_rate, jnp.float32(1.0))
            pred = world_model.imagine(world_params, plan, market_params, order)
            is_bps = np.asarray(paths.is_bps)
            traded = np.asarray(paths.shares)[:, :n] > 0
            impact = np.where(
                traded,
                np.asarray(paths.exec_price)[:, :n] - np.asarray(paths.final_state.mids)[:, :n],
                0.0,
            ) * (side / np.asarray(paths.arrival_price)[:, None] * 1e4)
            prediction[s.name] = {
                "predicted_is_bps": float(pred["is_mean_bps"]),
                "shortfall_bias_bps": mean_se(float(pred["is_mean_bps"]) - is_bps),
                "impact_rmse_bps": prediction_metrics(pred["impact_bps"], impact.mean(0))["rmse"],
            }
    volumes = np.asarray(base.final_state.volumes)[:, :n]
    realised = volumes / volumes.sum(-1, keepdims=True)
    expected = np.asarray(market_params.volume_frac) / float(np.sum(market_params.volume_frac))
    return {
        "strategies": report,
        "prediction": prediction,
        "volume_profile_mae": mean_se(np.abs(realised - expected).mean(-1)),
        "dark_fill_rate": None,
        "n_paths": n_paths,
        "n_post": n_post,
    }
