"""Simulation of the `HawkesModel` family by Ogata's thinning (Ogata 1981, "On Lewis'
simulation method for point processes"), one `lax.scan` step per proposal.

Between events the excitation only decays, so at time t the intensity of everything after t is
bounded by lambda_bar = sum_i max_k mu_ik + sum_ijp alpha beta A(t). A proposal t' = t + Exp(1)
/ lambda_bar is accepted with probability sum_i lambda_i(t') / lambda_bar, its mark drawn with
probability lambda_i(t') / sum lambda(t'); a rejected proposal still moves t to t' (the bound
is recomputed there). Log-sizes of accepted events are i.i.d. N(0, size_sigma^2), independent
of the times. Accepted events are compacted into a fixed-capacity buffer; `overflow` is True
when the buffer or the proposal budget ran out before `end_s`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from wmjax.hawkes._baseline import baseline_at
from wmjax.hawkes._kernels import HawkesModel, ModelParams


@functools.partial(jax.jit, static_argnames=("model", "capacity", "n_proposals"))
def simulate_model(
    key,
    params: ModelParams,
    model: HawkesModel,
    start_s,
    end_s,
    *,
    capacity: int,
    n_proposals: int,
    size_sigma=1.0,
):
    """Simulate one segment [start_s, end_s]; returns (times_s, marks, log_size, count,
    overflow) with (capacity,) arrays (padding: times end_s, marks -1, log_size 0).

    n_proposals bounds the scan (accepted plus rejected); 2-4 times the expected count is
    usually enough, and `overflow` says when it was not. Vmappable over keys and params.
    """
    d = model.dim
    dtype = params.mu.dtype
    beta = jnp.broadcast_to(params.beta, params.alpha.shape)
    mu_max = jnp.sum(jnp.max(params.mu, axis=1))

    def step(carry, k):
        t, state = carry  # state: (d, d, P) excitation sum_l g_l exp(-beta (t - t_l)) [m_l = j]
        k_wait, k_keep, k_mark, k_size = jax.random.split(k, 4)
        bound = mu_max + jnp.sum(params.alpha * beta * state)
        t_new = t + jax.random.exponential(k_wait, dtype=dtype) / bound
        state = state * jnp.exp(-beta * (t_new - t))
        lam = baseline_at(params.mu, model.breaks_s, t_new) + jnp.sum(
            params.alpha * beta * state, axis=(1, 2)
        )
        keep = (jax.random.uniform(k_keep, dtype=dtype) * bound < jnp.sum(lam)) & (t_new <= end_s)
        mark = jax.random.categorical(k_mark, jnp.log(lam)).astype(jnp.int32)
        log_size = size_sigma * jax.random.normal(k_size, dtype=dtype) if model.marks else 0.0
        g = jnp.exp(params.eta[mark] * log_size)
        jump = jnp.where(keep, g, 0.0) * (jnp.arange(d) == mark).astype(dtype)
        state = state + jump[None, :, None]
        return (t_new, state), (t_new, keep, mark, jnp.asarray(log_size, dtype))

    init = (jnp.asarray(start_s, dtype), jnp.zeros(params.alpha.shape, dtype))
    keys = jax.random.split(key, n_proposals)
    (t_last, _), (times, keep, marks, sizes) = jax.lax.scan(step, init, keys)
    slot = jnp.where(keep, jnp.cumsum(keep) - 1, capacity)  # rejected ones go out of range
    count = jnp.sum(keep)
    out_t = jnp.full(capacity, end_s, dtype).at[slot].set(times, mode="drop")
    out_m = jnp.full(capacity, -1, jnp.int32).at[slot].set(marks, mode="drop")
    out_s = jnp.zeros(capacity, dtype).at[slot].set(sizes, mode="drop")
    overflow = (count > capacity) | (t_last <= end_s)
    return out_t, out_m, out_s, jnp.minimum(count, capacity), overflow
