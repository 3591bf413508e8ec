"""VWAP schedules from volume forecasts, their closed forms, and their replay on real days.

Closed forms (a day of n bins, market volume V_k, our trades n_k with sum n_k = X):
- impact cost sum_k eta n_k^2 / V_k is minimised by n_k = X V_k / sum V at cost eta X^2 / sum V
  (Lagrange: 2 eta n_k / V_k equal across bins);
- with the mid a random walk of volatility sigma (price units per sqrt(day)) and bins of tau
  days, the slippage against the market VWAP of a schedule with cumulative fractions U, when the
  market's cumulative volume fractions are W, is sigma sqrt(tau) sum_j z_j (W_j - U_j), so
  E[slippage^2] = sigma^2 tau E sum_j (W_j - U_j)^2 (j over bins 0 .. n-2), minimised by the
  static U_j = E[W_j] (Konishi 2002, "Optimal slice of a VWAP trade"; Humphery-Jenks 2011).

The adaptive policy plays a belief tensor (row k: forecast shares of the day's volume in every
bin, made at the start of bin k; see `wmjax.calibrate.rolling_mean_beliefs`): the risk-neutral
trade is the remaining quantity times bin k's share of the forecast remaining volume; the
risk-averse one also pays to close the gap to the forecast cumulative curve, minimising
    eta n^2 / V_k + eta (R - n)^2 / V_rest + lambda sigma^2 tau (D + n - X T_k)^2
(this bin's impact, the rest spread optimally, the next bin's tracking variance) over n.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, positive, require
from wmjax.execution._order import Order, RolloutConfig
from wmjax.execution._rollout import Observation, Paths, rollout
from wmjax.market import ImpactMarket, impact_params


def impact_optimal_trades(volume_shares, quantity_shares: float, eta: float):
    """(n_k, cost): the trades minimising sum eta n_k^2 / V_k with sum n_k = X, and the minimum
    eta X^2 / sum V (price units x shares)."""
    v = positive("volume_shares", volume_shares)
    x = float(positive("quantity_shares", quantity_shares))
    e = float(positive("eta", eta, allow_zero=True))
    return x * v / v.sum(), e * x**2 / v.sum()


def impact_cost(trades, volume_shares, eta) -> jax.Array:
    """sum_k eta n_k^2 / V_k (price units x shares)."""
    return eta * jnp.sum(jnp.square(trades) / volume_shares, axis=-1)


def tracking_variance(fractions, volume_fractions, sigma, interval_days) -> jax.Array:
    """E[slippage^2] (price units^2 per share) of a static schedule against the market VWAP:
    sigma^2 tau E sum_j (W_j - U_j)^2, the mean over the leading axes of `volume_fractions`
    (samples of the day's volume shares per bin, (..., n_bins))."""
    u = jnp.cumsum(fractions, axis=-1)[..., :-1]
    w = jnp.cumsum(volume_fractions, axis=-1)[..., :-1]
    return sigma**2 * interval_days * jnp.mean(jnp.sum(jnp.square(w - u), axis=-1))


@struct.dataclass
class VWAPPlan:
    """Policy params of `vwap_plan_policy` (a PyTree; vmap over days).

    Attributes:
        beliefs: (n_bins, n_bins) row k: forecast shares of the day's volume per bin, made at
            the start of bin k (rows sum to 1; equal rows: a static schedule).
        daily_volume_shares: forecast daily volume (shares), to turn shares into volumes.
        eta: impact coefficient of cost eta n^2 / V (price units).
        sigma: mid volatility, price units per sqrt(day).
        risk_aversion: lambda, per (price units x shares); 0: risk-neutral re-forecast VWAP.
        track: True where lambda is infinite: trade to the forecast cumulative curve (the
            tracking schedule, impact ignored).
    """

    beliefs: jax.Array
    daily_volume_shares: jax.Array
    eta: jax.Array
    sigma: jax.Array
    risk_aversion: jax.Array
    track: jax.Array


def vwap_plan(beliefs, daily_volume_shares, eta=0.0, sigma=0.0, risk_aversion=0.0) -> VWAPPlan:
    """A checked float32 `VWAPPlan` (beliefs (..., n_bins, n_bins), rows summing to 1)."""
    b = finite_array("beliefs", beliefs)
    require(b.ndim >= 2 and b.shape[-1] == b.shape[-2], "beliefs must be (..., n_bins, n_bins)")
    require(bool((b >= 0).all()), "beliefs must be >= 0 (shares of the day's volume)")
    require(bool(abs(b.sum(-1) - 1).max() < 1e-3), "every row of beliefs must sum to 1")
    positive("daily_volume_shares", daily_volume_shares)
    for name, value in (("eta", eta), ("sigma", sigma)):
        positive(name, value, allow_zero=True)
    lam, track = _split_risk_aversion(risk_aversion)
    f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    return VWAPPlan(
        f32(b), f32(daily_volume_shares), f32(eta), f32(sigma), f32(lam), jnp.asarray(track)
    )


def _split_risk_aversion(value) -> tuple[np.ndarray, np.ndarray]:
    """(finite lambda, 0 where infinite; the infinite flag) of a checked lambda >= 0."""
    lam = np.asarray(value, np.float64)
    require(
        bool(np.all((lam >= 0) & ~np.isnan(lam))),
        f"risk_aversion must be >= 0 (inf: track the forecast curve), got {value!r}",
    )
    track = np.isinf(lam)
    return np.where(track, 0.0, lam), track


def vwap_plan_policy(plan: VWAPPlan, obs: Observation) -> jax.Array:
    """Shares to trade in bin `obs.step` from the belief made at its start (see module doc)."""
    k = obs.step
    row = plan.beliefs[k]
    bins = jnp.arange(row.shape[0])
    rest_share = jnp.sum(jnp.where(bins > k, row, 0.0))
    remaining = obs.remaining_shares
    x = obs.order.quantity_shares
    volume_now = jnp.maximum(row[k] * plan.daily_volume_shares, 1.0)
    volume_rest = jnp.maximum(rest_share * plan.daily_volume_shares, 1.0)
    neutral = remaining * row[k] / jnp.maximum(row[k] + rest_share, 1e-12)
    target = x * (1.0 - rest_share)  # forecast cumulative shares through bin k
    done = x - remaining
    penalty = plan.risk_aversion * plan.sigma**2 * obs.market.interval_days
    averse = (plan.eta * remaining / volume_rest + penalty * (target - done)) / (
        plan.eta / volume_now + plan.eta / volume_rest + penalty
    )
    # lambda = inf: track the forecast cumulative curve exactly (impact ignored)
    averse = jnp.where(plan.track, target - done, averse)
    trade = jnp.where(plan.track | (penalty > 0), averse, neutral)
    trade = jnp.clip(trade, 0.0, remaining)
    return jnp.where(k == obs.n_steps - 1, remaining, trade)


def _no_trade(_params, obs: Observation) -> jax.Array:
    return jnp.zeros_like(obs.remaining_shares)


@struct.dataclass
class VWAPResult:
    """Per-path results against the market VWAP.

    Attributes:
        tracking_bps: (n_paths,) side * (our average price - market VWAP) / arrival, bps
            (positive: worse than VWAP); the market VWAP weights the unimpacted mid at each bin's
            start by the bin's market volume.
        is_bps: (n_paths,) implementation shortfall, bps.
        paths: the rollout's `Paths`.
    """

    tracking_bps: jax.Array
    is_bps: jax.Array
    paths: Paths


def vwap_rollout(key, market, market_params, plan: VWAPPlan, order: Order, config) -> VWAPResult:
    """Play `plan` against `market` (an `ImpactMarket` without permanent impact, so the mid is
    exogenous) and measure each path against the market VWAP on the same keys (a no-trade
    rollout gives the unimpacted mids; common random numbers)."""
    require(isinstance(config, RolloutConfig), "config must be a RolloutConfig")
    paths = rollout(key, market, market_params, vwap_plan_policy, plan, order, config)
    mids = rollout(key, market, market_params, _no_trade, None, order, config)
    volumes = paths.final_state.volumes
    market_vwap = jnp.sum(volumes * mids.exec_price, -1) / jnp.sum(volumes, -1)
    ours = jnp.sum(paths.shares * paths.exec_price, -1) / jnp.sum(paths.shares, -1)
    tracking = order.side * (ours - market_vwap) / paths.arrival_price * 1e4
    return VWAPResult(tracking_bps=tracking, is_bps=paths.is_bps, paths=paths)


@struct.dataclass
class VWAPDays:
    """Per-day results of `replay_vwap_days` (means over the price paths of each day).

    Attributes:
        abs_tracking_bps: (n_days,) mean |tracking error| vs the day's market VWAP, bps.
        tracking_bps: (n_days,) mean signed tracking error, bps.
        is_bps: (n_days,) mean implementation shortfall, bps.
    """

    abs_tracking_bps: jax.Array
    tracking_bps: jax.Array
    is_bps: jax.Array


@partial(jax.jit, static_argnames=("market", "config"))
def _replay(key, market, base, volume, beliefs, adv, order_frac, risk_aversion, track, config):
    eta = base.sqrt_coefficient * base.sigma  # the power-law term with exponent 1: eta n^2 / V

    def one_day(day, day_volume, belief, adv_day):
        total = jnp.sum(day_volume)
        params = base.replace(daily_volume_shares=total, volume_frac=day_volume / total)
        plan = VWAPPlan(belief, adv_day, eta, base.sigma, risk_aversion, track)
        order = Order(order_frac * adv_day, jnp.float32(1.0), jnp.float32(1.0), jnp.float32(0.0))
        res = vwap_rollout(jax.random.fold_in(key, day), market, params, plan, order, config)
        return VWAPDays(
            jnp.mean(jnp.abs(res.tracking_bps)), jnp.mean(res.tracking_bps), jnp.mean(res.is_bps)
        )

    return jax.vmap(one_day)(jnp.arange(volume.shape[0]), volume, beliefs, adv)


def replay_vwap_days(
    key,
    volume_shares,
    beliefs,
    adv_shares,
    *,
    order_frac_adv: float = 0.1,
    sigma_daily: float = 0.02,
    impact_coefficient: float = 0.1,
    risk_aversion: float = 0.0,
    n_paths: int = 256,
) -> VWAPDays:
    """Execute a day-long buy of `order_frac_adv` x ADV on each real day, the market's volume
    being the day's real bin volumes (`volume_shares`, (n_days, n_bins)), with the schedule of
    `beliefs` ((n_days, n_bins, n_bins), see `VWAPPlan`); `adv_shares` (n_days,) is the ADV
    known at each open. The impact-level market has an arithmetic mid from 100 with daily
    volatility `sigma_daily` (fraction of price) and the temporary impact
    Y sigma (n / V) per share (Y = `impact_coefficient`, exponent 1: cost eta n^2 / V with
    eta = Y sigma); `n_paths` price paths per day on the same keys for every schedule and day
    (common random numbers: day i's paths come from fold_in(key, i) whatever the schedule).
    `risk_aversion` is lambda of `vwap_plan` (inf: the tracking schedule). Jitted once per
    (n_days, n_bins, n_paths)."""
    vol = positive("volume_shares", volume_shares, allow_zero=True)
    require(vol.ndim == 2, "volume_shares must be (n_days, n_bins)")
    n_days, n_bins = vol.shape
    plan = vwap_plan(beliefs, adv_shares, risk_aversion=risk_aversion)
    b = plan.beliefs
    require(b.shape == (n_days, n_bins, n_bins), f"beliefs must be ({n_days}, {n_bins}, {n_bins})")
    adv = positive("adv_shares", adv_shares)
    require(adv.shape == (n_days,), f"adv_shares must be ({n_days},)")
    base = impact_params(
        n_bins,
        arrival_price=100.0,
        sigma=100.0 * float(positive("sigma_daily", sigma_daily)),
        sqrt_coefficient=impact_coefficient,
        sqrt_exponent=1.0,
    )
    config = RolloutConfig(n_paths=n_paths, n_steps=n_bins, shard=False)
    return _replay(
        key,
        ImpactMarket(),
        base,
        jnp.asarray(vol, jnp.float32),
        b,
        jnp.asarray(adv, jnp.float32),
        jnp.float32(positive("order_frac_adv", order_frac_adv)),
        plan.risk_aversion,
        plan.track,
        config,
    )
