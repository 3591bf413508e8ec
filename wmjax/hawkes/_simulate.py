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
import numpy as np
from flax import struct

from wmjax._checks import InputError, is_concrete, positive, positive_int
from wmjax.hawkes._events import HawkesEvents
from wmjax.hawkes._params import HawkesParams, check_params


@struct.dataclass
class _Clocks:
    """The competing clocks of the exact simulation, for one parameter set.

    Clock 0 is the baseline: rate sum(mu), mark i with probability mu_i / sum(mu). Clocks 1..K
    are excitations with intensity `level_k exp(-decay_k s)` that jump by `jump[k, m]` at an
    event of mark m, and mark i with probability `mark_prob[k, i]`. In general K = d*d, one clock
    per kernel (i, j) with a certain mark i. When every column of beta is constant (the decay
    depends on the source only, e.g. a scalar beta) the d kernels of source j decay together and
    merge into one clock with mark distribution alpha[:, j] / sum(alpha[:, j]): K = d.
    """

    decay: jnp.ndarray  # (K,) 1/s
    jump: jnp.ndarray  # (K, d) intensity added to clock k by an event of mark m, 1/s
    base_rate: jnp.ndarray  # () 1/s
    mark_cdf: jnp.ndarray  # (K + 1, d) cumulative mark probabilities, baseline first


def _clocks(params: HawkesParams, per_source: bool) -> _Clocks:
    d = params.dim
    eye = jnp.eye(d, dtype=params.mu.dtype)
    if per_source:
        branching = params.alpha.sum(axis=0)  # (d,) offspring of a type-j event
        decay = params.beta[0]
        jump = jnp.diag(branching * decay)
        safe = jnp.where(branching > 0, branching, 1.0)
        excite_prob = jnp.where(branching[:, None] > 0, params.alpha.T / safe[:, None], 1.0 / d)
    else:
        decay = params.beta.reshape(-1)
        # clock k = (i, j) jumps on marks m == j by alpha_ij beta_ij and always marks i
        jump = (params.alpha * params.beta)[:, :, None] * eye[None, :, :]
        jump = jump.reshape(d * d, d)
        excite_prob = jnp.repeat(eye, d, axis=0)
    base_prob = params.mu / params.mu.sum()
    mark_prob = jnp.concatenate([base_prob[None], excite_prob], axis=0)
    return _Clocks(decay, jump, params.mu.sum(), jnp.cumsum(mark_prob, axis=1))


def _next_event(clocks: _Clocks, level, exp_draws, uniform):
    """Waiting time (s) and mark of the next event given the clock levels (K,)."""
    wait_base = exp_draws[0] / clocks.base_rate
    ratio = clocks.decay * exp_draws[1:] / jnp.maximum(level, jnp.finfo(level.dtype).tiny)
    fires = ratio < 1
    wait_exc = jnp.where(fires, -jnp.log1p(-jnp.where(fires, ratio, 0.0)) / clocks.decay, jnp.inf)
    waits = jnp.concatenate([wait_base[None], wait_exc])
    first = jnp.argmin(waits)
    mark = jnp.sum(uniform >= clocks.mark_cdf[first, :-1])  # inverse CDF of the clock's marks
    return waits[first], mark.astype(jnp.int32)


def _simulate(key, params: HawkesParams, horizon_s, capacity: int, per_source: bool):
    d = params.dim
    dtype = params.mu.dtype
    clocks = _clocks(params, per_source)
    n_clocks = clocks.decay.shape[0]
    k_wait, k_mark = jax.random.split(key)
    exp_draws = jax.random.exponential(k_wait, (capacity + 1, 1 + n_clocks), dtype)
    # One dimension needs no mark draw; zeros keep the scan's inputs uniform.
    uniforms = (
        jax.random.uniform(k_mark, (capacity + 1,), dtype) if d > 1 else jnp.zeros(capacity + 1)
    )

    def step(carry, draws):
        t, level = carry
        wait, mark = _next_event(clocks, level, *draws)
        level = level * jnp.exp(-clocks.decay * wait) + clocks.jump[:, mark]
        t = t + wait
        return (t, level), (t, mark)

    init = (jnp.zeros((), dtype), jnp.zeros(n_clocks, dtype))
    _, (times, marks) = jax.lax.scan(step, init, (exp_draws, uniforms))
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


_simulate_jit = jax.jit(_simulate, static_argnames=("capacity", "per_source"))


def _decay_per_source(params: HawkesParams) -> bool:
    """True when every column of beta is constant (known only for concrete parameters)."""
    if not is_concrete(params.beta):
        return False
    beta = np.asarray(params.beta)
    return bool(np.all(beta == beta[:1]))


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
    events = _simulate_jit(key, params, horizon_s, capacity, _decay_per_source(params))
    if throw and is_concrete(events.overflow) and bool(jnp.any(events.overflow)):
        raise InputError(
            f"capacity={capacity} is too small: the process had more events than that in "
            f"[0, {horizon_s}] s; increase capacity (or pass throw=False to get the flag)"
        )
    return events
