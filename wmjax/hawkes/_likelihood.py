"""Intensity, compensator and exact log-likelihood of an exponential-kernel Hawkes process, O(N).

The excitation that event k sees, A_ij(k) = sum_{l: m_l = j, t_l < t_k} exp(-beta_ij (t_k - t_l)),
obeys the linear recurrence A(k) = exp(-beta dt_k) * (A(k-1) + e_{m_{k-1}}). It is evaluated with
`jax.lax.associative_scan` (O(N) work, O(log N) depth), so the likelihood and its gradient need
no sequential loop over events and no O(N^2) double sum (Ogata 1978; Ozaki 1979 for the
recursion).

Ties: real trade data has identical timestamps. Events at the same time do not excite each
other: the intensity at t_k counts only events strictly before t_k. Each tied event still
contributes its own log-intensity term. (To treat a sweep of several fills as one market order,
merge them before fitting; `wmjax.data` does that for LOBSTER executions.)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from wmjax.hawkes._events import HawkesEvents
from wmjax.hawkes._params import HawkesParams


def _combine(earlier, later):
    decay_a, add_a = earlier
    decay_b, add_b = later
    return decay_a * decay_b, add_a * decay_b + add_b


def _first_of_tie(times) -> jnp.ndarray:
    """Index of the first event sharing each event's timestamp (k itself when untied)."""
    idx = jnp.arange(times.shape[0])
    starts = jnp.concatenate([jnp.ones(1, bool), times[1:] > times[:-1]])
    return jax.lax.cummax(jnp.where(starts, idx, 0))


def _one_hot_marks(events: HawkesEvents, d: int) -> jnp.ndarray:
    """(capacity, 1, d) indicator of each valid event's mark, broadcastable over rows i."""
    hit = (jnp.arange(d)[None, :] == events.marks[:, None]) & events.mask[:, None]
    return hit[:, None, :]


def _excitation_through_ties(params: HawkesParams, events: HawkesEvents) -> jnp.ndarray:
    """(capacity, d, d) A_ij at each event from all earlier-indexed events (ties included)."""
    dt = jnp.diff(events.times, prepend=events.times[:1])
    decay = jnp.exp(-params.beta[None] * dt[:, None, None])
    previous = jnp.roll(_one_hot_marks(events, params.dim), 1, axis=0).at[0].set(False)
    _, excitation = jax.lax.associative_scan(_combine, (decay, decay * previous))
    return excitation


@jax.jit
def excitation_before(params: HawkesParams, events: HawkesEvents) -> jnp.ndarray:
    """(capacity, d, d) A_ij at each event time from events strictly earlier (ties excluded)."""
    return _excitation_through_ties(params, events)[_first_of_tie(events.times)]


@jax.jit
def intensity_at_events(params: HawkesParams, events: HawkesEvents) -> jnp.ndarray:
    """(capacity, d) intensity lambda_i(t_k-) of every dimension just before each event, 1/s."""
    excitation = excitation_before(params, events)
    return params.mu + jnp.sum(params.alpha * params.beta * excitation, axis=-1)


@jax.jit
def compensator(params: HawkesParams, events: HawkesEvents, t_s) -> jnp.ndarray:
    """(d,) integrated intensity Lambda_i(t) = int_0^t lambda_i, counting events before t_s."""
    before = events.mask & (events.times < t_s)
    elapsed = jnp.maximum(t_s - events.times, 0.0)
    beta_col = params.beta[:, events.marks].T  # (N, d): beta[i, m_k]
    alpha_col = params.alpha[:, events.marks].T
    kernel_mass = alpha_col * -jnp.expm1(-beta_col * elapsed[:, None])
    return params.mu * t_s + jnp.sum(jnp.where(before[:, None], kernel_mass, 0.0), axis=0)


@jax.jit
def log_likelihood(params: HawkesParams, events: HawkesEvents, horizon_s) -> jnp.ndarray:
    """Exact log-likelihood of the events on [0, horizon_s]: sum_k log lambda_{m_k}(t_k) -
    sum_i Lambda_i(T). O(N d^2) work; differentiable in `params`. Padding slots are ignored.
    Use float64 (x64) for fitting: float32 loses digits in sums over many events.
    """
    lam = intensity_at_events(params, events)
    lam_own = jnp.take_along_axis(lam, events.marks[:, None], axis=1)[:, 0]
    log_terms = jnp.where(events.mask, jnp.log(jnp.where(events.mask, lam_own, 1.0)), 0.0)
    return jnp.sum(log_terms) - jnp.sum(compensator(params, events, horizon_s))


@jax.jit
def intensity(params: HawkesParams, events: HawkesEvents, grid_s) -> jnp.ndarray:
    """(G, d) intensity lambda_i(t) in 1/s at the grid times (left limits: an event exactly at
    t is not yet counted). `grid_s` must be sorted or not; each point is evaluated on its own."""
    state_after = _excitation_through_ties(params, events) + _one_hot_marks(events, params.dim)
    last = jnp.searchsorted(events.times, grid_s, side="left") - 1  # last event strictly before
    last = jnp.minimum(last, events.count - 1)
    has_past = last >= 0
    last = jnp.maximum(last, 0)
    elapsed = grid_s - events.times[last]
    exc = state_after[last] * jnp.exp(-params.beta[None] * elapsed[:, None, None])
    exc = jnp.where(has_past[:, None, None], exc, 0.0)
    return params.mu + jnp.sum(params.alpha * params.beta * exc, axis=-1)


@jax.jit
def compensator_at_events(params: HawkesParams, events: HawkesEvents) -> jnp.ndarray:
    """(capacity, d) Lambda_i(t_k) for every dimension at each event time (events before t_k).

    Lambda_i(t_k) = mu_i t_k + sum_j alpha_ij (N_j(t_k-) - A_ij(k)), using the same recursion.
    """
    hits = _one_hot_marks(events, params.dim)[:, 0, :].astype(params.mu.dtype)
    counts_before = (jnp.cumsum(hits, axis=0) - hits)[_first_of_tie(events.times)]
    excitation = excitation_before(params, events)
    return params.mu * events.times[:, None] + jnp.sum(
        params.alpha * (counts_before[:, None, :] - excitation), axis=-1
    )
