"""Goodness of fit by time rescaling: compensator increments between events of the same
dimension are i.i.d. Exp(1) under the true model (Brown, Barbieri, Ventura, Kass & Frank 2002,
"The time-rescaling theorem and its application to neural spike train data analysis")."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.hawkes._events import HawkesEvents
from wmjax.hawkes._likelihood import compensator_at_events
from wmjax.hawkes._params import HawkesParams


@jax.jit
def residuals(params: HawkesParams, events: HawkesEvents) -> jnp.ndarray:
    """(capacity,) rescaled waiting time of each event: Lambda_m(t_k) - Lambda_m(t_prev), where
    m is its mark and t_prev the previous event of dimension m (0 for the first). Padding slots
    are 0; select the valid ones with `events.mask` and group by `events.marks`.
    """
    lam = compensator_at_events(params, events)  # (N, d)
    idx = jnp.arange(events.capacity)
    same = (events.marks[:, None] == jnp.arange(params.dim)[None, :]) & events.mask[:, None]
    # Index of the latest event of each dimension up to and including k (-1 if none).
    latest = jax.lax.cummax(jnp.where(same, idx[:, None], -1), axis=0)
    previous = jnp.concatenate([jnp.full((1, params.dim), -1), latest[:-1]], axis=0)
    prev_own = jnp.take_along_axis(previous, events.marks[:, None], axis=1)[:, 0]
    own_now = jnp.take_along_axis(lam, events.marks[:, None], axis=1)[:, 0]
    own_prev = jnp.where(
        prev_own >= 0,
        jnp.take_along_axis(lam[jnp.maximum(prev_own, 0)], events.marks[:, None], axis=1)[:, 0],
        0.0,
    )
    return jnp.where(events.mask, own_now - own_prev, 0.0)


def _kolmogorov_pvalue(statistic: float, n: int) -> float:
    """P(D_n > statistic) for the one-sample KS test, with Stephens' (1970) small-sample
    correction of the asymptotic Kolmogorov series: x = (sqrt(n) + 0.12 + 0.11/sqrt(n)) D,
    p = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 x^2)."""
    root_n = np.sqrt(n)
    x = (root_n + 0.12 + 0.11 / root_n) * statistic
    if x < 0.2:
        return 1.0
    k = np.arange(1, 101)
    return float(np.clip(2 * np.sum((-1.0) ** (k - 1) * np.exp(-2 * k**2 * x**2)), 0.0, 1.0))


def ks_exponential(samples) -> tuple[float, float]:
    """One-sample Kolmogorov-Smirnov test of `samples` against Exp(1): (statistic, p-value)."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = x.size
    if n == 0:
        return float("nan"), float("nan")
    cdf = -np.expm1(-x)
    i = np.arange(1, n + 1)
    statistic = float(max(np.max(i / n - cdf), np.max(cdf - (i - 1) / n)))
    return statistic, _kolmogorov_pvalue(statistic, n)


def ks_test(params: HawkesParams, events: HawkesEvents) -> np.ndarray:
    """(d,) KS p-values of the time-rescaled residuals of each dimension against Exp(1).

    A dimension with no events gets NaN. Small p-values (say < 1e-3) reject the model.
    """
    res = np.asarray(residuals(params, events))
    marks = np.asarray(events.marks)
    valid = np.asarray(events.mask)
    return np.array([ks_exponential(res[valid & (marks == i)])[1] for i in range(params.dim)])
