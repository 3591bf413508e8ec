"""Kalman-filter volume forecasts (Chen, Feng & Palomar 2016, "Forecasting intraday trading
volume: a Kalman filter approach").

log volume of bin i on day t:  y = eta_t + phi_i + mu_{t,i} + v,   v ~ N(0, r)
    daily level   eta: AR(1) across days, eta' = a_eta eta + w_eta, constant within a day;
    seasonal      phi_i: the bin's mean log volume;
    dynamics      mu: AR(1) from bin to bin, mu' = a_mu mu + w_mu.

The paper fits the parameters by EM; here they are moment estimates on the days before the
test period: phi the bin means; eta an AR(1) of the daily mean log volume; mu an AR(1) plus noise
from differences of the within-day lag-1..3 autocovariances of log volume - phi (differences
cancel the level). One `lax.scan` then filters every bin of every day in order; day d is
forecast from the filter up to its open (static) or up to bin k (dynamic).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import require
from wmjax.calibrate._volume_profile import check_volume, dynamic_beliefs, static_beliefs


@struct.dataclass
class KalmanVolumeParams:
    """Parameters of the log-volume state space (float32 PyTree)."""

    phi: jax.Array  # (n_bins,) seasonal mean log volume
    a_eta: jax.Array
    var_eta: jax.Array
    a_mu: jax.Array
    var_mu: jax.Array
    var_obs: jax.Array


def fit_kalman_volume(log_volume: jax.Array) -> KalmanVolumeParams:
    """Moment estimates from (n_days, n_bins) log volumes (the fitting days only)."""
    phi = jnp.mean(log_volume, axis=0)
    level = jnp.mean(log_volume - phi, axis=1)
    x, y = level[:-1], level[1:]
    a_eta = jnp.clip(jnp.sum(x * y) / jnp.sum(x * x), 0.0, 0.999)
    var_eta = jnp.maximum(jnp.var(y - a_eta * x), 1e-6)
    # within a day eta is constant, so the within-day autocovariances of y - phi are
    # var(eta) + s a^k (k >= 1) for an AR(1) mu of variance s: differences remove var(eta)
    resid = log_volume - phi

    def autocov(lag):
        return jnp.mean(resid[:, lag:] * resid[:, : resid.shape[1] - lag])

    g0, g1, g2, g3 = (autocov(k) for k in range(4))
    d1, d2 = g1 - g2, g2 - g3
    a_mu = jnp.clip(d2 / jnp.where(jnp.abs(d1) > 1e-9, d1, 1e-9), 0.01, 0.99)
    stationary_mu = jnp.maximum(d1 / (a_mu * (1.0 - a_mu)), 1e-6)
    level_var = g1 - a_mu * stationary_mu
    return KalmanVolumeParams(
        phi=phi,
        a_eta=a_eta,
        var_eta=var_eta,
        a_mu=a_mu,
        var_mu=jnp.maximum(stationary_mu * (1.0 - a_mu**2), 1e-6),
        var_obs=jnp.maximum(g0 - level_var - stationary_mu, 1e-4),
    )


def kalman_filter_volume(params: KalmanVolumeParams, log_volume: jax.Array):
    """Predicted states (eta, mu) at the start of every bin of every day, given everything
    before it: (n_days, n_bins, 2). One `lax.scan` over the flattened bins."""
    n_days, n_bins = log_volume.shape
    bins = jnp.tile(jnp.arange(n_bins), n_days)
    h = jnp.ones(2)

    def body(carry, inputs):
        mean, cov = carry
        y, i = inputs
        new_day = i == 0
        a = jnp.stack([jnp.where(new_day, params.a_eta, 1.0), params.a_mu])
        q = jnp.stack([jnp.where(new_day, params.var_eta, 0.0), params.var_mu])
        mean = a * mean
        cov = a[:, None] * cov * a[None, :] + jnp.diag(q)
        predicted = mean
        innovation = y - params.phi[i] - h @ mean
        s = h @ cov @ h + params.var_obs
        gain = cov @ h / s
        mean = mean + gain * innovation
        cov = cov - jnp.outer(gain, h @ cov)
        return (mean, cov), predicted

    init = (jnp.zeros(2), jnp.diag(jnp.stack([params.var_eta, params.var_mu])))
    _, predicted = jax.lax.scan(body, init, (log_volume.reshape(-1), bins))
    return predicted.reshape(n_days, n_bins, 2)


def kalman_beliefs(
    volume, test_days, window: int = 21, dynamic: bool = False, fit_until: int | None = None
) -> jax.Array:
    """(c) Beliefs (see `wmjax.calibrate.rolling_mean_beliefs`) from the Kalman filter, its
    parameters fitted on the days before `fit_until` (default: the first test day; the filter
    itself only ever uses bins before the one it forecasts)."""
    vol, idx = check_volume(volume, test_days, window)
    log_v = jnp.log(jnp.maximum(vol, 1.0))
    first = int(idx.min()) if fit_until is None else int(fit_until)
    require(3 <= first <= vol.shape[0], f"fit_until must leave >= 3 days to fit on, got {first}")
    return _kalman_rows(log_v, idx, first, dynamic)


@partial(jax.jit, static_argnames=("first", "dynamic"))
def _kalman_rows(log_v, idx, first: int, dynamic: bool):
    params = fit_kalman_volume(log_v[:first])
    predicted = kalman_filter_volume(params, log_v)[idx]  # (n_test, n_bins, 2)
    n = log_v.shape[1]
    steps = jnp.arange(n)[None, :] - jnp.arange(n)[:, None]  # bins ahead of the row's bin
    mu_ahead = predicted[..., 1:2] * params.a_mu ** jnp.maximum(steps, 0).astype(jnp.float32)
    rows = jnp.exp(params.phi + predicted[..., 0:1] + mu_ahead)
    if dynamic:
        return dynamic_beliefs(rows, jnp.exp(log_v[idx]))
    return static_beliefs(rows[:, 0, :])
