"""Exact simulation of a multivariate exponential-kernel Hawkes process into a fixed buffer.

Between events every excitation term decays exponentially, so the next event is the first to
fire among independent clocks (superposition): a Poisson clock of rate sum(mu), and one clock
per *decay group*, the kernels (i, j) that share a decay rate b. A group's intensity
sum_i L_i exp(-b s) keeps its proportions while it decays, so when it fires the mark is i with
probability L_i / sum(L). Each clock keeps its residual R ~ Exp(1) in compensator units: it
fires after s = R / sum(mu), or s = -log(1 - b R / c) / b if b R < c = sum(L), else never
(Dassios & Zhao 2013, "Exact simulation of Hawkes process with exponentially decaying
intensity"). The clocks that did not fire subtract the compensator they used up; by the
memoryless property what is left is again Exp(1), independent of the past whatever the
intensity becomes, so only the clock that fired draws a new exponential (the modified next
reaction method, Anderson 2007, J. Chem. Phys. 127, 214107): one random number per event in
1-D, two (wait, mark) in d > 1. Every scan step yields exactly one event: no thinning, no
rejection. A scalar beta is one group; a general (d, d) beta is up to d*d groups.

Times are in the dtype of the parameters (float32 by default; use float64 parameters for
horizons much longer than 1e4 / beta seconds).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import InputError, is_concrete, positive, positive_int
from wmjax.hawkes._events import HawkesEvents
from wmjax.hawkes._params import HawkesParams, check_params

_BLOCK_STEPS = 64  # scan steps per block of random draws


def _decay_groups(params: HawkesParams) -> tuple[int, ...]:
    """Group index of each kernel (i, j), row-major; kernels with equal beta share a group.

    Static structure for jit: known for concrete parameters, else every kernel on its own.
    """
    d = params.dim
    if not is_concrete(params.beta):
        return tuple(range(d * d))
    _, groups = np.unique(np.asarray(params.beta).ravel(), return_inverse=True)
    return tuple(int(g) for g in groups)


def _pick_mark(mu, level, fired, uniform):
    """Mark of the event: i with probability proportional to the firing clock's weights (mu
    for the baseline clock, the group's levels L_i for an excitation clock)."""
    weights = jnp.sum(jnp.where(fired[:, None], jnp.concatenate([mu[None], level]), 0.0), axis=0)
    cdf = jnp.cumsum(weights)
    return jnp.minimum(jnp.sum(cdf < uniform * cdf[-1]), mu.shape[0] - 1).astype(jnp.int32)


def _simulate(key, params: HawkesParams, horizon_s, capacity: int, groups: tuple[int, ...]):
    d = params.dim
    dtype = params.mu.dtype
    n_groups = max(groups) + 1
    member = jnp.asarray(np.eye(n_groups, dtype=bool)[list(groups)].T.reshape(n_groups, d, d))
    decay = jnp.max(jnp.where(member, params.beta, 0.0), axis=(1, 2))  # (G,) 1/s
    jump = jnp.where(member, params.alpha * params.beta, 0.0)  # (G, i, j): added on a j event
    rate = params.mu.sum()

    def step(carry, draws):
        t, level, residual = carry  # level (G, d); residual (1 + G,): baseline, then groups
        fresh, uniform = draws
        total = level.sum(axis=1)
        ratio = decay * residual[1:] / jnp.maximum(total, jnp.finfo(dtype).tiny)
        fires = ratio < 1
        wait_exc = jnp.where(fires, -jnp.log1p(-jnp.where(fires, ratio, 0.0)) / decay, jnp.inf)
        waits = jnp.concatenate([residual[:1] / rate, wait_exc])
        wait = jnp.min(waits)
        hit = jnp.arange(1 + n_groups) == jnp.argmin(waits)
        fade = jnp.exp(-decay * wait)
        used = jnp.concatenate([rate[None] * wait, total * (1.0 - fade) / decay])
        residual = jnp.where(hit, fresh, jnp.maximum(residual - used, 0.0))
        mark = _pick_mark(params.mu, level, hit, uniform) if d > 1 else 0
        level = level * fade[:, None] + jump[:, :, mark]
        t = t + wait
        return (t, level, residual), (t, mark)

    def block(carry, index):
        # Draws are made per block of steps, not for the whole buffer at once: a small working
        # set stays in cache when many paths run side by side.
        k_wait, k_mark = jax.random.split(jax.random.fold_in(key, index))
        fresh = jax.random.exponential(k_wait, (_BLOCK_STEPS,), dtype)
        uniforms = (
            jax.random.uniform(k_mark, (_BLOCK_STEPS,), dtype)
            if d > 1
            else jnp.zeros(_BLOCK_STEPS, dtype)  # one dimension needs no mark draw
        )
        return jax.lax.scan(step, carry, (fresh, uniforms))

    k_init, key = jax.random.split(key)
    first = jax.random.exponential(k_init, (1 + n_groups,), dtype)
    init = (jnp.zeros((), dtype), jnp.zeros((n_groups, d), dtype), first)
    n_blocks = -(-(capacity + 1) // _BLOCK_STEPS)
    _, (times, marks) = jax.lax.scan(block, init, jnp.arange(n_blocks))
    times, marks = times.reshape(-1)[: capacity + 1], marks.reshape(-1)[: capacity + 1]
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


_simulate_jit = jax.jit(_simulate, static_argnames=("capacity", "groups"))


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

    Jitted once per (capacity, d, dtype, pattern of equal decays); vmappable over keys and
    params. With `throw=True` (default) an overflow raises InputError saying how much to
    increase `capacity`; under `vmap`/`jit` (traced results) or with `throw=False` the
    `overflow` flag reports it instead. A good capacity is 1.5-3 times
    `expected_count(params, horizon_s).sum()`. Parameters with spectral radius >= 1 are
    refused unless `allow_explosive=True`.
    """
    capacity = positive_int("capacity", capacity)
    check_params(params, allow_explosive=allow_explosive)
    if is_concrete(horizon_s):
        positive("horizon_s", horizon_s)
    events = _simulate_jit(key, params, horizon_s, capacity, _decay_groups(params))
    if throw and is_concrete(events.overflow) and bool(jnp.any(events.overflow)):
        raise InputError(
            f"capacity={capacity} is too small: the process had more events than that in "
            f"[0, {horizon_s}] s; increase capacity (or pass throw=False to get the flag)"
        )
    return events


@functools.lru_cache(maxsize=32)
def _batch_fn(capacity: int, groups: tuple[int, ...], n_devices: int):
    """vmap(simulate) over keys, jitted once per configuration; with n_devices > 1 the paths
    are split over the local devices (shard_map: one independent program per device)."""

    def paths(keys, params, horizon_s):
        return jax.vmap(lambda k: _simulate(k, params, horizon_s, capacity, groups))(keys)

    if n_devices == 1:
        return jax.jit(paths)
    mesh = jax.sharding.Mesh(np.asarray(jax.local_devices()[:n_devices]), ("paths",))
    spec = jax.sharding.PartitionSpec
    # check_vma=False: each path's scan carry starts from constants, not from the sharded keys
    split = jax.shard_map(
        paths,
        mesh=mesh,
        in_specs=(spec("paths"), spec(), spec()),
        out_specs=spec("paths"),
        check_vma=False,
    )
    return jax.jit(split)


def simulate_batch(
    keys,
    params: HawkesParams,
    horizon_s,
    capacity: int,
    *,
    throw: bool = True,
    allow_explosive: bool = False,
):
    """`simulate` for every key of `keys` (shape (n_paths,)): `HawkesEvents` with a leading
    path axis, equal path by path to `jax.vmap(simulate)` over the same keys.

    The paths are split over the local devices when there are several and n_paths divides
    evenly: on a CPU, XLA runs one vmapped scan on one core, so start the process with
    `XLA_FLAGS=--xla_force_host_platform_device_count=<cores>` to use every core. Raises on
    overflow of any path unless `throw=False` (then read `overflow`, one flag per path).
    """
    capacity = positive_int("capacity", capacity)
    check_params(params, allow_explosive=allow_explosive)
    if is_concrete(horizon_s):
        positive("horizon_s", horizon_s)
    shape = tuple(getattr(keys, "shape", ()))
    n_paths = shape[0] if len(shape) == 1 else 0
    if n_paths < 1:
        raise InputError(
            f"keys must be a 1-D array of typed keys, e.g. jax.random.split(jax.random.key(0), "
            f"n_paths); got shape {shape}"
        )
    n_devices = jax.local_device_count()
    n_devices = n_devices if n_devices > 1 and n_paths % n_devices == 0 else 1
    fn = _batch_fn(capacity, _decay_groups(params), n_devices)
    events = fn(keys, params, jnp.asarray(horizon_s, params.mu.dtype))
    if throw and is_concrete(events.overflow) and bool(jnp.any(events.overflow)):
        raise InputError(
            f"capacity={capacity} is too small for {int(jnp.sum(events.overflow))} of "
            f"{n_paths} paths in [0, {horizon_s}] s; increase capacity (or pass throw=False)"
        )
    return events
