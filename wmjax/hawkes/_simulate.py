"""Exact simulation of a multivariate exponential-kernel Hawkes process into a fixed buffer.

Between events the intensity of dimension i is mu_i plus d exponentially decaying excitation
terms S_ij(t). By superposition, the next event is the first to fire among d + d*d independent
clocks: d Poisson clocks (rate mu_i) and d*d clocks of intensity S_ij exp(-beta_ij s). A clock of
decaying intensity c exp(-beta s) fires at s = -log(1 - beta E / c) / beta for E ~ Exp(1) if
beta E < c, else never (Dassios & Zhao 2013, "Exact simulation of Hawkes process with
exponentially decaying intensity"). Every scan step therefore yields exactly one event: no
thinning, no rejection. Times are in the dtype of the parameters (float32 by default; use
float64 parameters for horizons much longer than 1e4 / beta seconds).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from wmjax._checks import InputError, is_concrete, positive, positive_int
from wmjax.hawkes._events import HawkesEvents
from wmjax.hawkes._params import HawkesParams, check_params


def _next_event(params: HawkesParams, excitation, exp_draws):
    """Waiting time (s) and mark of the next event given the excitation state S (d, d)."""
    d = params.dim
    wait_base = exp_draws[:d] / params.mu
    e = exp_draws[d:].reshape(d, d)
    ratio = params.beta * e / jnp.maximum(excitation, jnp.finfo(excitation.dtype).tiny)
    fires = ratio < 1
    wait_exc = jnp.where(fires, -jnp.log1p(-jnp.where(fires, ratio, 0.0)) / params.beta, jnp.inf)
    waits = jnp.concatenate([wait_base, wait_exc.reshape(-1)])
    first = jnp.argmin(waits)
    mark = jnp.where(first < d, first, (first - d) // d)
    return waits[first], mark.astype(jnp.int32)


def _simulate(key, params: HawkesParams, horizon_s, capacity: int) -> HawkesEvents:
    d = params.dim
    dtype = params.mu.dtype
    draws = jax.random.exponential(key, (capacity + 1, d + d * d), dtype)
    jump = params.alpha * params.beta  # S jumps by alpha[:, m] * beta[:, m] on column m

    def step(carry, exp_draws):
        t, excitation = carry
        wait, mark = _next_event(params, excitation, exp_draws)
        decay = jnp.exp(-params.beta * wait)
        excitation = excitation * decay + jnp.where(jnp.arange(d) == mark, jump, 0.0)
        t = t + wait
        return (t, excitation), (t, mark)

    init = (jnp.zeros((), dtype), jnp.zeros((d, d), dtype))
    _, (times, marks) = jax.lax.scan(step, init, draws)
    inside = times <= horizon_s
    n_inside = jnp.sum(inside)  # times increase, so the events inside form a prefix
    count = jnp.minimum(n_inside, capacity).astype(jnp.int32)
    valid = jnp.arange(capacity) < count
    return HawkesEvents(
        times=jnp.where(valid, times[:capacity], jnp.asarray(horizon_s, dtype)),
        marks=jnp.where(valid, marks[:capacity], 0),
        count=count,
        overflow=n_inside > capacity,
    )


_simulate_jit = jax.jit(_simulate, static_argnames="capacity")


def simulate(
    key,
    params: HawkesParams,
    horizon_s,
    capacity: int,
    *,
    throw: bool = True,
    allow_explosive: bool = False,
):
    """Simulate events on [0, horizon_s] exactly; returns `HawkesEvents` of `capacity` slots.

    Jitted once per (capacity, d, dtype); vmappable over keys and params. With `throw=True`
    (default) an overflow raises InputError saying how much to increase `capacity`; under
    `vmap`/`jit` (traced results) or with `throw=False` the `overflow` flag reports it instead.
    A good capacity is a few times `expected_count(params, horizon_s).sum()`. Parameters with
    spectral radius >= 1 are refused unless `allow_explosive=True`.
    """
    capacity = positive_int("capacity", capacity)
    check_params(params, allow_explosive=allow_explosive)
    if is_concrete(horizon_s):
        positive("horizon_s", horizon_s)
    events = _simulate_jit(key, params, horizon_s, capacity)
    if throw and is_concrete(events.overflow) and bool(jnp.any(events.overflow)):
        raise InputError(
            f"capacity={capacity} is too small: the process had more events than that in "
            f"[0, {horizon_s}] s; increase capacity (or pass throw=False to get the flag)"
        )
    return events
