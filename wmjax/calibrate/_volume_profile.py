"""Intraday volume-profile forecasts, rolling out of sample: the historical curve and
Bialkowski, Darolles & Le Fol (2008).

Every forecaster takes `volume` (n_days, n_bins), shares, of complete days in time order (days
with missing bins or half days are dropped before: they have no full-day share to fit or to
score) and `test_days` (n_test,) indices, and forecasts day d from days d - window .. d - 1
only. The result is a belief tensor (n_test, n_bins, n_bins): row k is the forecast share of the
day's volume in every bin made at the start of bin k, with bins < k (already printed) at their
realised volume; rows sum to 1. A static forecast has every row equal to row 0 (the open).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import finite_array, positive_int, require

_FLOOR = 1e-6  # a forecast share never reaches zero (MAPE and log-losses need it positive)


def check_volume(volume, test_days, window: int) -> tuple[jax.Array, jax.Array]:
    """Checked float32 (n_days, n_bins) volume and int32 test-day indices with a full window."""
    vol = finite_array("volume (days x bins, shares)", volume, ndim=2)
    require(bool(np.all(vol >= 0)), "volume must be >= 0 shares in every bin")
    require(bool(np.all(vol.sum(axis=1) > 0)), "every day needs some volume (a day sums to 0)")
    w = positive_int("window (days)", window, minimum=2)
    idx = np.asarray(test_days)
    require(idx.ndim == 1 and idx.size >= 1, "test_days must be a non-empty 1-D index array")
    require(
        bool(np.all((idx >= w) & (idx < vol.shape[0]))),
        f"every test day needs {w} earlier days (index >= {w}) and must exist "
        f"(< {vol.shape[0]}); start the test period later or shorten the window",
    )
    return jnp.asarray(vol, jnp.float32), jnp.asarray(idx, jnp.int32)


def _windows(volume: jax.Array, test_days: jax.Array, window: int) -> jax.Array:
    """(n_test, window, n_bins) volumes of the `window` days before each test day."""
    offsets = jnp.arange(-window, 0)
    return volume[test_days[:, None] + offsets[None, :]]


def static_beliefs(curve: jax.Array) -> jax.Array:
    """(…, n_bins) forecast shares -> (…, n_bins, n_bins) beliefs that never update."""
    curve = curve / jnp.sum(curve, axis=-1, keepdims=True)
    return jnp.broadcast_to(curve[..., None, :], (*curve.shape, curve.shape[-1]))


def dynamic_beliefs(forecast_rows: jax.Array, realised: jax.Array) -> jax.Array:
    """Beliefs from per-bin forecasts: row k keeps the realised volume of bins < k and the
    forecast (row k of `forecast_rows`, any positive scale consistent with `realised`) of bins
    >= k, normalised to shares. Shapes (…, n_bins, n_bins) and (…, n_bins)."""
    n = realised.shape[-1]
    past = jnp.arange(n)[None, :] < jnp.arange(n)[:, None]
    rows = jnp.where(past, realised[..., None, :], jnp.maximum(forecast_rows, _FLOOR))
    return rows / jnp.sum(rows, axis=-1, keepdims=True)


def rolling_mean_beliefs(volume, test_days, window: int = 21) -> jax.Array:
    """(a) The historical curve: the mean share of each bin over the last `window` days."""
    vol, idx = check_volume(volume, test_days, window)
    return _rolling_mean(vol, idx, window)


@partial(jax.jit, static_argnames=("window",))
def _rolling_mean(vol, idx, window: int):
    hist = _windows(vol, idx, window)
    return static_beliefs(jnp.mean(hist / jnp.sum(hist, axis=-1, keepdims=True), axis=1))


def _ar1(series: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Least-squares AR(1) with intercept, e_t = c + phi e_{t-1}; returns (c, phi)."""
    x, y = series[:-1], series[1:]
    dx = x - x.mean()
    phi = jnp.sum(dx * (y - y.mean())) / jnp.maximum(jnp.sum(dx**2), 1e-12)
    phi = jnp.clip(phi, -0.99, 0.99)
    return y.mean() - phi * x.mean(), phi


def _bdf_day(hist: jax.Array, today: jax.Array, n_factors: int) -> jax.Array:
    """BDF forecasts for one day: (n_bins, n_bins) rows k = turnover forecasts given bins < k."""
    scale = jnp.mean(hist)  # turnover proxy: volume / the window's mean bin volume
    x = hist / scale
    u, s, vt = jnp.linalg.svd(x, full_matrices=False)
    common = (u[:, :n_factors] * s[:n_factors]) @ vt[:n_factors]
    common_forecast = jnp.mean(common, axis=0)
    specific = (x - common).reshape(-1)
    c, phi = _ar1(specific)
    realised_specific = today / scale - common_forecast
    n = today.shape[0]
    # specific component entering bin k: the last day's last bin, then today's printed bins
    start = jnp.concatenate([specific[-1:], realised_specific[:-1]])
    horizon = jnp.arange(n)[None, :] - jnp.arange(n)[:, None] + 1  # steps ahead of bin k-1
    # e_{k-1+h} = c (1 - phi^h) / (1 - phi) + phi^h e_{k-1}
    powers = phi ** jnp.maximum(horizon, 0).astype(jnp.float32)
    ahead = c * (1.0 - powers) / (1.0 - phi) + powers * start[:, None]
    return (common_forecast[None, :] + ahead) * scale


def bdf_beliefs(
    volume, test_days, window: int = 21, n_factors: int = 1, dynamic: bool = False
) -> jax.Array:
    """(b) Bialkowski, Darolles & Le Fol (2008): turnover = common component (the first
    `n_factors` principal components of the window's days x bins matrix, forecast by each bin's
    mean over the window) + specific component (AR(1) with intercept over the window's bins in
    time order). Static: forecast at the open from the previous close; dynamic: the AR(1) is
    updated with each printed bin."""
    vol, idx = check_volume(volume, test_days, window)
    positive_int("n_factors", n_factors)
    return _bdf(vol, idx, window, n_factors, dynamic)


@partial(jax.jit, static_argnames=("window", "n_factors", "dynamic"))
def _bdf(vol, idx, window: int, n_factors: int, dynamic: bool):
    hist = _windows(vol, idx, window)
    today = vol[idx]
    rows = jax.vmap(lambda h, t: _bdf_day(h, t, n_factors))(hist, today)
    if dynamic:
        return dynamic_beliefs(rows, today)
    return static_beliefs(jnp.maximum(rows[:, 0, :], _FLOOR))
