"""A labelled regime-switching market at three time scales: ticks, minutes and sessions.

A Markov chain over four regimes (`Regime`: trending, reverting, volatile, calm; Hamilton 1989
switching) moves once a minute. Within each minute `ticks_per_minute` tick slots carry a count of
events from a discrete Hawkes-like intensity (Hawkes 1971)

    lambda_k = mu_r + h_k,   n_k ~ Poisson(lambda_k),   h_{k+1} = d h_k + (1 - d) b_r n_k,

whose stationary mean is mu_r / (1 - b_r) (b_r: branching ratio), and a log return in bps

    ret_k = s drift_r / K - kappa_r x_k + m_s vol_r sqrt(n_k / E[n]_r) z_k / sqrt(K),

so the variance follows activity (Clark 1973). s is a sign drawn at the start of each trending
episode, x the deviation from the price at which the current reverting episode began (an
exact-step AR(1), i.e. a discretised OU, only in the reverting regime), and m_s a log-normal
volatility multiplier drawn per session (the session scale). Everything is a pure function of
(key, params): `simulate_regimes` is `lax.scan` over minutes (an inner scan over ticks), `vmap` it
over keys or params for many paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int, require


class Regime(IntEnum):
    """The four market regimes (labels 0..3)."""

    TRENDING = 0
    REVERTING = 1
    VOLATILE = 2
    CALM = 3


REGIME_NAMES: tuple[str, ...] = tuple(r.name.lower() for r in Regime)
N_REGIMES = len(Regime)


@struct.dataclass
class RegimeMarketParams:
    """Parameters of the regime-switching market (a PyTree; per-regime arrays have shape (4,),
    indexed by `Regime`).

    Attributes:
        initial: (4,) probabilities of the first minute's regime.
        transition: (4, 4) per-minute transition probabilities, rows sum to 1.
        drift_bps: (4,) absolute drift per minute, bps (sign drawn per trending episode).
        reversion: (4,) share of the deviation from the episode's anchor removed per minute.
        vol_bps: (4,) volatility of the minute return at the mean activity, bps.
        base_rate: (4,) Hawkes baseline mu_r, events per tick slot.
        branching: (4,) Hawkes branching ratio b_r in [0, 1).
        excitation_decay: d in [0, 1), per tick slot.
        session_vol_sd: standard deviation of the per-session log volatility multiplier.
    """

    initial: jax.Array
    transition: jax.Array
    drift_bps: jax.Array
    reversion: jax.Array
    vol_bps: jax.Array
    base_rate: jax.Array
    branching: jax.Array
    excitation_decay: jax.Array
    session_vol_sd: jax.Array


@dataclass(frozen=True)
class RegimeMarketConfig:
    """Static shapes: `n_sessions` sessions of `minutes_per_session` minutes of
    `ticks_per_minute` tick slots each."""

    n_sessions: int = 4
    minutes_per_session: int = 60
    ticks_per_minute: int = 8

    def __post_init__(self):
        for name in ("n_sessions", "minutes_per_session", "ticks_per_minute"):
            positive_int(name, getattr(self, name))

    @property
    def n_minutes(self) -> int:
        return self.n_sessions * self.minutes_per_session


def regime_market_params(
    *,
    mean_duration_min: float = 30.0,
    drift_bps=(2.0, 0.0, 0.0, 0.0),
    reversion=(0.0, 0.5, 0.0, 0.0),
    vol_bps=(4.0, 4.0, 10.0, 2.0),
    base_rate=(2.0, 2.0, 3.0, 1.5),
    branching=(0.3, 0.3, 0.6, 0.2),
    excitation_decay: float = 0.7,
    session_vol_sd: float = 0.25,
) -> RegimeMarketParams:
    """Checked float32 params; regimes last `mean_duration_min` minutes on average and then move
    to one of the other three with equal probability (uniform initial distribution)."""
    dur = float(positive("mean_duration_min", mean_duration_min))
    require(dur > 1.0, f"mean_duration_min must be > 1 minute, got {dur}")
    stay = 1.0 - 1.0 / dur
    transition = np.full((N_REGIMES, N_REGIMES), (1.0 - stay) / (N_REGIMES - 1))
    np.fill_diagonal(transition, stay)
    arrays = {
        "drift_bps": positive("drift_bps", drift_bps, allow_zero=True),
        "reversion": positive("reversion", reversion, allow_zero=True),
        "vol_bps": positive("vol_bps", vol_bps),
        "base_rate": positive("base_rate", base_rate),
        "branching": positive("branching", branching, allow_zero=True),
    }
    for name, arr in arrays.items():
        require(arr.shape == (N_REGIMES,), f"{name} needs one value per regime (4), got {arr}")
    require(bool(np.all(arrays["reversion"] < 1)), "reversion must be < 1 (share per minute)")
    require(bool(np.all(arrays["branching"] < 1)), "branching must be < 1 (stationary Hawkes)")
    decay = float(positive("excitation_decay", excitation_decay, allow_zero=True))
    require(decay < 1.0, f"excitation_decay must be < 1, got {decay}")
    f32 = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
    return RegimeMarketParams(
        initial=f32(np.full(N_REGIMES, 1.0 / N_REGIMES)),
        transition=f32(transition),
        excitation_decay=f32(decay),
        session_vol_sd=f32(positive("session_vol_sd", session_vol_sd, allow_zero=True)),
        **{k: f32(v) for k, v in arrays.items()},
    )


@struct.dataclass
class RegimePath:
    """One simulated path. labels: (T,) int32 `Regime` of each minute; tick_returns_bps and
    tick_counts: (T, K) log return (bps) and event count of each tick slot."""

    labels: jax.Array
    tick_returns_bps: jax.Array
    tick_counts: jax.Array


def simulate_regimes(key, params: RegimeMarketParams, config: RegimeMarketConfig) -> RegimePath:
    """Simulate one path of `config.n_minutes` minutes (jit/vmap-able; not jitted here)."""
    k_init, k_session, k_steps = jax.random.split(key, 3)
    n_ticks = config.ticks_per_minute
    session_mult = jnp.exp(
        params.session_vol_sd * jax.random.normal(k_session, (config.n_sessions,))
    )
    mean_count = params.base_rate / (1.0 - params.branching)
    tick_reversion = 1.0 - (1.0 - params.reversion) ** (1.0 / n_ticks)
    d = params.excitation_decay

    def minute(carry, t):
        regime, sign, dev, h = carry
        k_reg, k_sign, k_count, k_noise = jax.random.split(jax.random.fold_in(k_steps, t), 4)
        new = jax.random.categorical(k_reg, jnp.log(params.transition[regime]))
        new = jnp.where(t == 0, regime, new)
        entered = (new != regime) | (t == 0)
        sign = jnp.where(entered, jnp.where(jax.random.bernoulli(k_sign), 1.0, -1.0), sign)
        dev = jnp.where(entered | (new != Regime.REVERTING), 0.0, dev)
        vol = params.vol_bps[new] * session_mult[t // config.minutes_per_session]
        u_count = jax.random.uniform(k_count, (n_ticks,))
        z = jax.random.normal(k_noise, (n_ticks,))

        def tick(c, inputs):
            dev, h = c
            u, zk = inputs
            n = _poisson_from_uniform(u, params.base_rate[new] + h)
            ret = (
                sign * params.drift_bps[new] / n_ticks
                - tick_reversion[new] * dev
                + vol * jnp.sqrt(n / mean_count[new] / n_ticks) * zk
            )
            h = d * h + (1.0 - d) * params.branching[new] * n
            return (dev + ret, h), (ret, n)

        (dev, h), (rets, counts) = jax.lax.scan(tick, (dev, h), (u_count, z))
        return (new, sign, dev, h), (new, rets, counts)

    regime0 = jax.random.categorical(k_init, jnp.log(params.initial))
    carry0 = (regime0, jnp.float32(1.0), jnp.float32(0.0), jnp.float32(0.0))
    _, (labels, rets, counts) = jax.lax.scan(minute, carry0, jnp.arange(config.n_minutes))
    return RegimePath(labels.astype(jnp.int32), rets, counts.astype(jnp.int32))


def _poisson_from_uniform(u, rate, max_count: int = 40):
    """Poisson(rate) by inversion of one uniform (counts above `max_count` are capped; at the
    default rates, P(N > 40) < 1e-20). Inversion keeps the draw a fixed function of the key."""
    ks = jnp.arange(max_count + 1, dtype=jnp.float32)
    log_pmf = ks * jnp.log(rate) - rate - jax.lax.lgamma(ks + 1.0)
    return jnp.sum(jnp.cumsum(jnp.exp(log_pmf)) < u).astype(jnp.float32)


@struct.dataclass
class RegimeFeatures:
    """Inputs of the multi-scale detector, for one path or a batch (leading axes).

    tick: (..., T, K, 2) per tick slot: return / 10 bps, log1p(count).
    minute: (..., T, 4) per minute: return / 10 bps, log realised variance (bps^2), log1p(count),
        product of this and the previous minute's return / 100 bps^2 (a reversal signal).
    session: (..., S, 4) per session: the mean of the minute features over the session.
    """

    tick: jax.Array
    minute: jax.Array
    session: jax.Array


def regime_features(path: RegimePath, config: RegimeMarketConfig) -> RegimeFeatures:
    """Features at the three scales from a path's ticks (jit/vmap-able)."""
    rets = path.tick_returns_bps
    counts = path.tick_counts.astype(jnp.float32)
    tick = jnp.stack([rets / 10.0, jnp.log1p(counts)], axis=-1)
    minute = minute_features(rets.sum(-1), jnp.sum(rets**2, -1), counts.sum(-1))
    session = minute.reshape(*minute.shape[:-2], config.n_sessions, -1, minute.shape[-1])
    return RegimeFeatures(tick, minute, session.mean(-2))


def minute_features(returns_bps, realised_var_bps2, counts) -> jax.Array:
    """(..., T, 4) bar features from per-bar return (bps), realised variance (bps^2) and event
    count; the same map serves simulated minutes and real bars."""
    lagged = jnp.concatenate([jnp.zeros_like(returns_bps[..., :1]), returns_bps[..., :-1]], -1)
    return jnp.stack(
        [
            returns_bps / 10.0,
            jnp.log(realised_var_bps2 + 1e-2),
            jnp.log1p(counts),
            returns_bps * lagged / 100.0,
        ],
        axis=-1,
    )


def simulate_regime_batch(key, params: RegimeMarketParams, config: RegimeMarketConfig, n: int):
    """(labels (n, T), RegimeFeatures with a leading axis n): `n` independent paths, vmapped."""
    n = positive_int("n", n)
    paths = jax.vmap(simulate_regimes, in_axes=(0, None, None))(
        jax.random.split(key, n), params, config
    )
    return paths.labels, jax.vmap(regime_features, in_axes=(0, None))(paths, config)
