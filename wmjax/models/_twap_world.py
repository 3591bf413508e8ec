"""The TWAP world model: a 2-layer GRU volatility predictor over intraday bars with a pace
multiplier in [0.5, 1.5] around TWAP, trained on E[IS] + lambda Var[IS] of real days.

Bars give no quotes, so the seed's spread and imbalance inputs become their bar proxies: the
log high/low range (Parkinson 1980 variance, a spread-and-volatility proxy) and the close
location value (C - L) / (H - L) - 1/2 (buying or selling pressure within the bar). Step k sees
the opening features (overnight gap, yesterday's range, volume and realised volatility) and the
bars before k only; it predicts bar k's log Parkinson variance and sets bar k's multiplier
(`wmjax.execution.paced_fractions`). The pace head starts at zero, i.e. at TWAP.
"""

from __future__ import annotations

from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive_int, require
from wmjax.data import HourlyBars
from wmjax.execution import bars_is_bps, mean_variance, paced_fractions
from wmjax.models._early_stop import fit_early_stopped

TRAILING_DAYS = 20
PACE_MIN, PACE_MAX = 0.5, 1.5


@struct.dataclass
class BarDays:
    """Model inputs and execution data for a set of complete days (leading axis: days).

    Attributes:
        bar_features: (d, n, 4) per bar: return, log range, log volume vs trailing, CLV (x100
            for the first two).
        opening: (d, 4) overnight gap, yesterday's range, log volume vs trailing, realised vol.
        log_variance: (d, n) log Parkinson variance of each bar (the predictor's target).
        prices: (d, n) typical prices (H + L + C) / 3; arrival: (d,) the day's open.
        volume_shares: (d, n); adv_shares: (d,) trailing ADV; sigma_daily: (d,) trailing
            close-to-close volatility (fraction of price).
    """

    bar_features: jax.Array
    opening: jax.Array
    log_variance: jax.Array
    prices: jax.Array
    arrival: jax.Array
    volume_shares: jax.Array
    adv_shares: jax.Array
    sigma_daily: jax.Array

    def take(self, index) -> BarDays:
        return jax.tree.map(lambda a: a[index], self)


def bar_days(bars: HourlyBars) -> tuple[BarDays, np.ndarray]:
    """Inputs for every complete day with `TRAILING_DAYS` complete days before it; returns them
    and the days' dates. Trailing statistics use earlier days only."""
    keep = np.asarray(bars.complete)
    o, h, lo, c, v = (
        np.asarray(a)[keep]
        for a in (bars.open, bars.high, bars.low, bars.close, bars.volume_shares)
    )
    dates = np.asarray(bars.days)[keep]
    require(len(dates) > TRAILING_DAYS + 1, f"need > {TRAILING_DAYS + 1} complete days of bars")
    v = np.maximum(v, 1.0)
    rng = np.log(np.maximum(h, 1e-12) / np.maximum(lo, 1e-12))
    ret = np.log(c / o)
    clv = np.where(h > lo, (c - lo) / np.where(h > lo, h - lo, 1.0) - 0.5, 0.0)
    cs_v = np.concatenate([np.zeros((1, v.shape[1])), np.cumsum(v, 0)])
    days = np.arange(TRAILING_DAYS, len(dates))
    trailing_v = (cs_v[days] - cs_v[days - TRAILING_DAYS]) / TRAILING_DAYS  # (d, n) per bar
    daily_ret = np.log(c[:, -1] / np.concatenate([o[:1, 0], c[:-1, -1]]))
    cs_r2 = np.concatenate([[0.0], np.cumsum(daily_ret**2)])
    sigma = np.sqrt((cs_r2[days] - cs_r2[days - TRAILING_DAYS]) / TRAILING_DAYS)
    prev = days - 1
    vol_ratio = np.log(v[days] / trailing_v)
    features = np.stack([100 * ret[days], 100 * rng[days], vol_ratio, clv[days]], -1)
    opening = np.stack(
        [
            100 * np.log(o[days, 0] / c[prev, -1]),
            100 * np.log(h[prev].max(1) / lo[prev].min(1)),
            np.log(v[prev].sum(1) / trailing_v.sum(1)),
            100 * np.sqrt(np.sum(ret[prev] ** 2, 1)),
        ],
        -1,
    )
    parkinson = rng[days] ** 2 / (4 * np.log(2.0))
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    return (
        BarDays(
            bar_features=f32(features),
            opening=f32(opening),
            log_variance=f32(np.log(parkinson + 1e-10)),
            prices=f32((h[days] + lo[days] + c[days]) / 3.0),
            arrival=f32(o[days, 0]),
            volume_shares=f32(v[days]),
            adv_shares=f32(trailing_v.sum(1)),
            sigma_daily=f32(sigma),
        ),
        dates[days],
    )


class TWAPWorldModel(nn.Module):
    """(opening (4,), bar_features (n, 4)) -> (predicted log variance (n,), pace logit (n,))."""

    hidden: int = 16
    log_var_offset: float = 0.0  # the training days' mean log variance

    @nn.compact
    def __call__(self, opening, bar_features):
        n = bar_features.shape[0]
        seen = jnp.concatenate([jnp.zeros_like(bar_features[:1]), bar_features[:-1]], 0)
        position = jnp.eye(n)
        x = jnp.concatenate([seen, position, jnp.broadcast_to(opening, (n, opening.shape[0]))], -1)
        for layer in range(2):
            cell = nn.GRUCell(self.hidden, name=f"gru{layer}")
            scan = nn.scan(
                lambda c, carry, xt: c(carry, xt),
                variable_broadcast="params",
                split_rngs={"params": False},
            )
            _, x = scan(cell, jnp.zeros(self.hidden), x)
        log_var = self.log_var_offset + nn.Dense(1, name="variance_head")(x)[:, 0]
        head_in = jnp.concatenate([x, log_var[:, None]], -1)
        pace = nn.Dense(1, kernel_init=nn.initializers.zeros, name="pace_head")(head_in)[:, 0]
        return log_var, pace


@struct.dataclass
class TWAPSetup:
    """Execution settings: order size (fraction of ADV), impact coefficient Y, lambda (1/bps)."""

    order_frac_adv: float = struct.field(pytree_node=False, default=0.1)
    impact_coefficient: float = struct.field(pytree_node=False, default=0.1)
    risk_aversion: float = struct.field(pytree_node=False, default=1e-3)


def paced_is_bps(multipliers, days: BarDays, setup: TWAPSetup) -> jax.Array:
    """(d,) IS in bps of the paced schedule on each day's real bars."""
    return bars_is_bps(
        paced_fractions(multipliers),
        days.prices,
        days.arrival,
        days.volume_shares,
        setup.order_frac_adv * days.adv_shares,
        setup.impact_coefficient,
        days.sigma_daily,
    )


@partial(jax.jit, static_argnums=0)
def twap_model_outputs(model, params, days: BarDays):
    """(predicted log variance (d, n), multipliers (d, n) in [PACE_MIN, PACE_MAX])."""
    apply = jax.vmap(lambda o, f: model.apply(params, o, f))
    log_var, pace = apply(days.opening, days.bar_features)
    return log_var, PACE_MIN + (PACE_MAX - PACE_MIN) * jax.nn.sigmoid(pace)


def twap_loss(model, params, days: BarDays, setup: TWAPSetup) -> jax.Array:
    """MSE of the log-variance forecast + E[IS] + lambda Var[IS] over the days (bps)."""
    log_var, mult = twap_model_outputs(model, params, days)
    mse = jnp.mean(jnp.square(log_var - days.log_variance))
    return mse + mean_variance(paced_is_bps(mult, days, setup), setup.risk_aversion)


def _setup_loss(model, params, batch) -> jax.Array:
    days, setup = batch
    return twap_loss(model, params, days, setup)


def inverse_variance_multipliers(log_var_pred, reference_log_var) -> jax.Array:
    """The volatility-paced rule: pace proportional to the inverse forecast variance,
    m_k = exp(reference - log var_k) clipped to [PACE_MIN, PACE_MAX]."""
    return jnp.clip(jnp.exp(reference_log_var - log_var_pred), PACE_MIN, PACE_MAX)


def fit_twap_world_model(
    key,
    days: BarDays,
    setup: TWAPSetup | None = None,
    *,
    hidden: int = 16,
    n_steps: int = 300,
    lr: float = 3e-3,
    validation_frac: float = 0.2,
    check_every: int = 10,
):
    """Train on the earlier days (full batch, Adam) and keep the params with the lowest loss on
    the later `validation_frac` of them (early stopping held out in time). Returns
    (model, params, best validation loss)."""
    setup = TWAPSetup() if setup is None else setup
    model = TWAPWorldModel(positive_int("hidden", hidden), float(jnp.mean(days.log_variance)))
    n_days = days.arrival.shape[0]
    n_val = max(2, round(validation_frac * n_days))
    require(n_days - n_val >= 10, f"need >= {n_val + 10} training days, got {n_days}")
    fit, val = days.take(slice(0, n_days - n_val)), days.take(slice(n_days - n_val, None))
    params = model.init(key, fit.opening[0], fit.bar_features[0])
    params, best = fit_early_stopped(
        _setup_loss,
        model,
        params,
        (fit, setup),
        (val, setup),
        lr=lr,
        n_steps=n_steps,
        check_every=check_every,
    )
    return model, params, best
