"""Intensity, compensator and exact log-likelihood of an exponential-kernel Hawkes process, O(N).

The excitation that event k sees, A_ij(k) = sum_{l: m_l = j, t_l < t_k} exp(-beta_ij (t_k - t_l)),
obeys the linear recurrence A(k) = exp(-beta dt_k) (A(k-1) + e_{m_{k-1}}) (Ogata 1978; Ozaki
1979). It is evaluated as a chunked scan: the N events are cut into chunks of B ~ sqrt(N)
events; one `lax.scan` of B steps runs the chunks of a super-chunk (about 2^15 events) side by
side from zero, a short scan over their ends gives each chunk its incoming state, and a second
B-step scan from those states yields A at every event; an outer scan carries the state from
one super-chunk to the next. Every factor is a decay <= 1, so nothing overflows; there is no
loop over events and no O(N^2) double sum, and only one super-chunk's (events, d, d) arrays
exist at a time: the likelihood and its gradient keep O(N d) memory (each event needs only
the row of A of its own mark). A(k) depends on beta only through beta_ij entrywise, so its
beta-derivative is one forward-mode pass (a custom JVP), which makes the gradient several
times cheaper than differentiating through the scans, and two nested passes give the
curvature that `layout_hessian` needs.

Ties: real trade data has identical timestamps. Events at the same time do not excite each
other: the intensity at t_k counts only events strictly before t_k. Each tied event still
contributes its own log-intensity term. (To treat a sweep of several fills as one market order,
merge them before fitting; `wmjax.data.lobster_trades` does that for LOBSTER executions.)
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import is_concrete, require, show
from wmjax.hawkes._events import HawkesEvents
from wmjax.hawkes._params import HawkesParams


@struct.dataclass
class EventLayout:
    """Parameter-free arrays of one event buffer, laid out for the chunked recursion.

    Event k = c * B + s sits at [s, c] of the (B, C) arrays and at k of the (B*C,) ones (the
    buffer is padded to B*C). dt: gap to the previous event (0 for the first); prev_mark: mark
    of the previous valid event (-1 for none); span: (C,) time from the last event of the
    previous chunk to the last of this one; marks: (B*C,) with -1 for padding; to_end: T - t_k;
    tie_first: index of the first event sharing each timestamp. has_ties is static: False only
    when known (concrete data without ties), which skips a gather.
    """

    dt: jnp.ndarray
    prev_mark: jnp.ndarray
    span: jnp.ndarray
    marks: jnp.ndarray
    to_end: jnp.ndarray
    tie_first: jnp.ndarray
    horizon_s: jnp.ndarray
    has_ties: bool = struct.field(pytree_node=False, default=True)


#: Events per super-chunk of the streamed recursion: the (events, rows, d) work arrays of one
#: super-chunk are all that exists at a time, so memory does not grow with d^2 N.
_SUPER_EVENTS = 1 << 15


def _chunk_size(n: int) -> int:
    """Events per chunk: a power of two near sqrt(n), so both scan levels are short."""
    return int(min(4096, max(8, 2 ** math.ceil(0.5 * math.log2(max(n, 2))))))


def _super_chunks(n_chunks: int, chunk: int) -> tuple[int, int]:
    """(super-chunks S, chunks per super-chunk C'): S * C' >= n_chunks with little padding."""
    per = max(1, _SUPER_EVENTS // chunk)
    n_super = -(-n_chunks // per)
    return n_super, -(-n_chunks // n_super)


def _first_of_tie(times) -> jnp.ndarray:
    """Index of the first event sharing each event's timestamp (k itself when untied)."""
    idx = jnp.arange(times.shape[0])
    starts = jnp.concatenate([jnp.ones(1, bool), times[1:] > times[:-1]])
    return jax.lax.cummax(jnp.where(starts, idx, 0))


def event_layout(events: HawkesEvents, horizon_s) -> EventLayout:
    """Lay out `events` once for `layout_log_likelihood` (traceable; use it when one data set
    is evaluated many times, as a fit does)."""
    n = events.capacity
    b = _chunk_size(n)
    n_super, per = _super_chunks(max(1, -(-n // b)), b)
    c = n_super * per
    pad = b * c - n
    valid = events.mask
    times = jnp.where(valid, events.times, events.times[jnp.maximum(events.count - 1, 0)])
    times = jnp.concatenate([times, jnp.full(pad, times[-1], times.dtype)])
    marks = jnp.concatenate([jnp.where(valid, events.marks, -1), jnp.full(pad, -1, jnp.int32)])
    prev_mark = jnp.concatenate([jnp.full(1, -1, jnp.int32), marks[:-1]])
    dt = jnp.diff(times, prepend=times[:1])
    last = times[b - 1 :: b]
    has_ties = True
    if is_concrete(events.times, events.count):
        t = np.asarray(events.times)[: int(events.count)]
        has_ties = bool(np.any(t[1:] == t[:-1]))

    def chunked(x):
        return x.reshape(c, b).T

    return EventLayout(
        dt=chunked(dt),
        prev_mark=chunked(prev_mark),
        span=jnp.diff(last, prepend=times[:1]),
        marks=marks,
        to_end=horizon_s - times,
        tie_first=_first_of_tie(times),
        horizon_s=jnp.asarray(horizon_s, times.dtype),
        has_ties=has_ties,
    )


def _super_chunk(beta, carry, layout: EventLayout, index, own_row: bool):
    """(state after the super-chunk, A at its events in event order: (C' B, rows, d), or with
    `own_row` (C' B, d)) of super-chunk `index`, entering with `carry` (rows, d)."""
    b, n_chunks = layout.dt.shape
    per = _super_chunks(n_chunks, b)[1]
    rows, d = beta.shape
    dtype = jnp.result_type(beta.dtype, layout.dt.dtype)

    def step(state, inputs):
        e, hit = inputs
        state = e * (state + hit)
        return state, state

    def through(state, inputs):
        chunk_decay, chunk_end = inputs
        state = chunk_decay * state + chunk_end
        return state, state

    dt = jax.lax.dynamic_slice_in_dim(layout.dt, index * per, per, axis=1)  # (B, C')
    prev = jax.lax.dynamic_slice_in_dim(layout.prev_mark, index * per, per, axis=1)
    span = jax.lax.dynamic_slice_in_dim(layout.span, index * per, per)
    decay = jnp.exp(-beta * dt[..., None, None])  # (B, C', rows, d)
    hits = (prev[..., None, None] == jnp.arange(d)).astype(dtype)
    zero = jnp.zeros((per, rows, d), dtype)
    chunk_end, _ = jax.lax.scan(lambda s, x: (step(s, x)[0], None), zero, (decay, hits))
    last, ends = jax.lax.scan(through, carry, (jnp.exp(-beta * span[:, None, None]), chunk_end))
    incoming = jnp.concatenate([carry[None], ends[:-1]])
    _, state = jax.lax.scan(step, incoming, (decay, hits))  # (B, C', rows, d)
    state = jnp.swapaxes(state, 0, 1).reshape(per * b, rows, d)  # event order
    if own_row:
        if rows == 1:
            state = state[:, 0, :]
        else:
            marks = jax.lax.dynamic_slice_in_dim(layout.marks, index * per * b, per * b)
            own = (marks[:, None] == jnp.arange(rows)).astype(dtype)
            state = jnp.einsum("nr,nrd->nd", own, state)
    return last, state


def _excitation_raw(beta, layout: EventLayout, own_row: bool) -> jnp.ndarray:
    """A_ij(k) from all earlier-indexed events (ties included), in event order: (B*C, rows, d),
    or with `own_row` only the row of event k's own mark, (B*C, d) (row 0 when rows = 1).

    The chunks are streamed in super-chunks of about `_SUPER_EVENTS` events (an outer scan
    carrying the (rows, d) state), so the working memory is O(super-chunk * d^2) and the
    output O(N d) with `own_row`.
    """
    b, n_chunks = layout.dt.shape
    n_super = _super_chunks(n_chunks, b)[0]
    dtype = jnp.result_type(beta.dtype, layout.dt.dtype)

    def body(carry, index):
        return _super_chunk(beta, carry, layout, index, own_row)

    _, out = jax.lax.scan(body, jnp.zeros(beta.shape, dtype), jnp.arange(n_super))
    return out.reshape(-1, *out.shape[2:])


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _excitation(beta, layout: EventLayout, own_row: bool) -> jnp.ndarray:
    return _excitation_raw(beta, layout, own_row)


@_excitation.defjvp
def _excitation_jvp(own_row, primals, tangents):
    # A_ij depends on beta_ij alone, so one forward-mode pass with a tangent of ones gives every
    # dA_ij/dbeta_ij; reverse mode then stores only that slope, never the scans' residuals.
    beta, layout = primals
    value, slope = jax.jvp(
        lambda b: _excitation_raw(b, layout, own_row), (beta,), (jnp.ones_like(beta),)
    )
    if own_row:
        return value, slope * _own_rows(tangents[0], layout.marks)
    return value, slope * tangents[0]


def _own_rows(table, marks) -> jnp.ndarray:
    """(N, d) row m_k of a (rows, d) table for every event (row 0 when rows = 1; 0 for padding)."""
    if table.shape[0] == 1:
        return jnp.broadcast_to(table[0], (marks.shape[0], table.shape[1]))
    own = (marks[:, None] == jnp.arange(table.shape[0])).astype(table.dtype)
    return own @ table


def _ties_before(layout: EventLayout, d: int, dtype) -> jnp.ndarray:
    """(N, d) number of earlier-indexed events of each mark at the same timestamp: what the
    recursion counted (undecayed, dt = 0) but the intensity at t_k must not."""
    hits = (layout.marks[:, None] == jnp.arange(d)).astype(dtype)
    before = jnp.cumsum(hits, axis=0) - hits
    return before - before[layout.tie_first]


def _own_excitation(beta, layout: EventLayout, d: int) -> jnp.ndarray:
    """(N, d) A_{m_k j}(k) from events strictly before t_k (ties excluded)."""
    beta = jnp.broadcast_to(beta, (beta.shape[0], d))
    excitation = _excitation(beta, layout, True)
    if layout.has_ties:
        excitation = excitation - _ties_before(layout, d, excitation.dtype)
    return excitation


def _event_terms(mu, alpha, beta, excitation, marks, to_end) -> jnp.ndarray:
    """sum_k [log lambda_{m_k}(t_k) - sum_i alpha_{i m_k} (1 - exp(-beta_{i m_k} (T - t_k)))]
    over the events given (marks -1: padding, ignored); excitation: (n, d) own-row A.
    The rest of the log-likelihood, -sum(mu) T, does not depend on the events."""
    d = mu.shape[0]
    beta = jnp.broadcast_to(beta, (beta.shape[0], d))
    own_hit = (marks[:, None] == jnp.arange(d)).astype(mu.dtype)  # padding: all 0
    valid = marks >= 0
    boost = jnp.sum(_own_rows(alpha * beta, marks) * excitation, axis=-1)
    own = own_hit @ mu + boost
    log_terms = jnp.sum(jnp.where(valid, jnp.log(jnp.where(valid, own, 1.0)), 0.0))
    alpha_col = own_hit @ alpha.T  # (N, d): alpha[i, m_k]
    beta_col = own_hit @ beta.T  # (N, rows): beta[i, m_k]
    mass = alpha_col * -jnp.expm1(-beta_col * to_end[:, None])
    return log_terms - jnp.sum(mass)


@jax.custom_jvp
def layout_log_likelihood(mu, alpha, beta, layout: EventLayout) -> jnp.ndarray:
    """Exact log-likelihood on [0, T] from a prepared `EventLayout`; mu (d,), alpha (d, d), beta
    (d, d), or (1, d) / (1, 1) for a decay per source / one decay (then the recursion carries
    d times less state). Memory O(N d) for the value and its gradient. Marks enter through
    one-hot products rather than gathers, whose gradients would be slow scatters. The gradient
    is in closed form (`_value_and_grad`, a custom JVP): reverse mode keeps no per-event
    residuals, only the (d, d) gradient."""
    excitation = _own_excitation(beta, layout, mu.shape[0])
    terms = _event_terms(mu, alpha, beta, excitation, layout.marks, layout.to_end)
    return terms - jnp.sum(mu) * layout.horizon_s


def _value_and_grad(mu, alpha, beta, layout: EventLayout):
    """`layout_log_likelihood` and its gradient in (mu, alpha, beta), in closed form, streamed
    over the super-chunks (each one's A and dA/dbeta, by one forward pass carrying the state's
    beta-tangent, are reduced to (d, d) sums at once: working memory O(super-chunk d), no
    per-event array). With lambda_k = mu_{m_k} + sum_j alpha_{m_k j} beta_{m_k j} A_j(k),
    w_k = 1 / lambda_k and the kernel exposure E_ij = sum_{m_k = j} (1 - exp(-beta_ij (T - t_k))):
    dL/dmu_i = sum_{m_k = i} w_k - T, dL/dalpha_ij = beta_ij G_ij - E_ij with G_ij =
    sum_{m_k = i} w_k A_j(k), and dL/dbeta_ij = alpha_ij G_ij + alpha_ij beta_ij
    sum_{m_k = i} w_k dA_j(k)/dbeta_ij - alpha_ij dE_ij/dbeta_ij, summed over the entries a
    shared decay fills."""
    d = mu.shape[0]
    rows_beta = jnp.broadcast_to(beta, (beta.shape[0], d))
    full_beta = jnp.broadcast_to(rows_beta, (d, d))
    boost = alpha * full_beta
    b, n_chunks = layout.dt.shape
    n_super, per = _super_chunks(n_chunks, b)
    ties = _ties_before(layout, d, mu.dtype) if layout.has_ties else None

    def sums(excitation, slope, marks, to_end):
        own = (marks[:, None] == jnp.arange(d)).astype(mu.dtype)  # padding: all 0
        valid = marks >= 0
        lam = jnp.where(valid, own @ mu + jnp.sum((own @ boost) * excitation, axis=-1), 1.0)
        weights = own / lam[:, None]  # (n, d): 1 / lambda_k in column m_k
        elapsed = (own @ full_beta.T) * to_end[:, None]  # beta_{i m_k} (T - t_k)
        return (
            jnp.sum(jnp.where(valid, jnp.log(lam), 0.0)),
            jnp.sum(weights, axis=0),
            weights.T @ excitation,
            weights.T @ slope,
            -jnp.expm1(-elapsed).T @ own,
            (jnp.exp(-elapsed) * to_end[:, None]).T @ own,
        )

    def body(carry, index):
        state, tangent, total = carry
        (last, excitation), (last_dot, slope) = jax.jvp(
            lambda b_, c: _super_chunk(b_, c, layout, index, True),
            (rows_beta, state),
            (jnp.ones_like(rows_beta), tangent),
        )
        marks = jax.lax.dynamic_slice_in_dim(layout.marks, index * per * b, per * b)
        to_end = jax.lax.dynamic_slice_in_dim(layout.to_end, index * per * b, per * b)
        if ties is not None:
            excitation = excitation - jax.lax.dynamic_slice_in_dim(ties, index * per * b, per * b)
        part = sums(excitation, slope, marks, to_end)
        return (last, last_dot, jax.tree.map(jnp.add, total, part)), None

    zero = jnp.zeros_like(rows_beta)
    dd = jnp.zeros((d, d), mu.dtype)
    total = (jnp.zeros((), mu.dtype), jnp.zeros(d, mu.dtype), dd, dd, dd, dd)
    (_, _, total), _ = jax.lax.scan(body, (zero, zero, total), jnp.arange(n_super))
    log_terms, weight_sum, gain, slope_gain, exposure, exposure_slope = total
    value = log_terms - jnp.sum(alpha * exposure) - jnp.sum(mu) * layout.horizon_s
    grad_mu = weight_sum - layout.horizon_s
    grad_alpha = full_beta * gain - exposure
    grad_full = alpha * gain + boost * slope_gain - alpha * exposure_slope
    grad_beta = jnp.sum(grad_full, axis=0, keepdims=True) if beta.shape[0] == 1 else grad_full
    grad_beta = jnp.sum(grad_beta, axis=1, keepdims=True) if beta.shape[1] == 1 else grad_beta
    return value, (grad_mu, grad_alpha, grad_beta)


@layout_log_likelihood.defjvp
def _layout_log_likelihood_jvp(primals, tangents):
    value, grads = _value_and_grad(*primals)
    slope = sum(jnp.sum(g * t) for g, t in zip(grads, tangents[:3], strict=True))
    return value, slope


def layout_hessian(mu, alpha, beta, layout: EventLayout) -> jnp.ndarray:
    """Hessian of `layout_log_likelihood` in the flat vector (mu, alpha.ravel(), beta.ravel()),
    (P, P), in memory O(N d + B P^2) rather than the O(N d^2 P) of forward-over-reverse.

    A(k) depends on beta through a recursion but on beta_ij alone entrywise, so its value, first
    and second beta-derivatives (two nested forward passes with tangents of ones) determine every
    second derivative: each event's terms are a local function of the parameters once A is
    replaced by its second-order Taylor expansion in beta around the point, which has the same
    Hessian there. Those local Hessians are summed over chunks of B events by a scan.
    """
    d = mu.shape[0]
    beta_rows = jnp.broadcast_to(beta, (beta.shape[0], d))
    ones = jnp.ones_like(beta_rows)

    def first(b):
        return jax.jvp(lambda x: _excitation_raw(x, layout, True), (b,), (ones,))

    (value, slope), (_, curvature) = jax.jvp(first, (beta_rows,), (ones,))
    if layout.has_ties:
        value = value - _ties_before(layout, d, value.dtype)
    sizes = (d, d * d, beta.size)

    def local(vector, chunk):
        excitation, slope_k, curvature_k, marks, to_end = chunk
        mu_v, alpha_v, beta_v = jnp.split(vector, np.cumsum(sizes)[:2])
        beta_v = beta_v.reshape(beta.shape)
        shift = _own_rows(jnp.broadcast_to(beta_v - beta, beta_rows.shape), marks)
        taylor = excitation + slope_k * shift + 0.5 * curvature_k * shift**2
        return _event_terms(mu_v, alpha_v.reshape(d, d), beta_v, taylor, marks, to_end)

    b = layout.dt.shape[0]
    chunks = jax.tree.map(
        lambda x: x.reshape(-1, b, *x.shape[1:]),
        (value, slope, curvature, layout.marks, layout.to_end),
    )
    point = jnp.concatenate([mu, alpha.ravel(), beta.ravel()])

    def add(total, chunk):
        return total + jax.hessian(local)(point, chunk), None

    total, _ = jax.lax.scan(add, jnp.zeros((point.size, point.size), point.dtype), chunks)
    return total


@jax.jit
def _log_likelihood(params: HawkesParams, events: HawkesEvents, horizon_s) -> jnp.ndarray:
    layout = event_layout(events, horizon_s)
    return layout_log_likelihood(params.mu, params.alpha, params.beta, layout)


def check_events_in_horizon(events: HawkesEvents, horizon_s) -> None:
    """InputError unless `horizon_s` is finite and > 0 and every valid event time is finite and
    inside [0, horizon_s]; no-op on traced values (inside jit/vmap)."""
    if not is_concrete(events.times, events.count, horizon_s):
        return
    horizon = np.asarray(horizon_s, float)
    require(
        bool(np.all(np.isfinite(horizon)) and np.all(horizon > 0)),
        f"horizon_s must be a finite number of seconds > 0, got {show(horizon)}",
    )
    mask = np.asarray(events.mask)
    times = np.asarray(events.times, float)[mask]
    if times.size == 0:
        return
    require(bool(np.all(np.isfinite(times))), "event times must be finite (no NaN or inf)")
    first, last, end = float(times.min()), float(times.max()), float(np.min(horizon))
    require(first >= 0, f"event times must be >= 0 s, the first is at {first:g} s")
    require(
        last <= end,
        f"events run to {last:g} s, beyond horizon_s={end:g} s: pass the horizon that contains "
        "them (the likelihood of events after the horizon is not defined)",
    )


def log_likelihood(params: HawkesParams, events: HawkesEvents, horizon_s) -> jnp.ndarray:
    """Exact log-likelihood of the events on [0, horizon_s]: sum_k log lambda_{m_k}(t_k) -
    sum_i Lambda_i(T). O(N d^2) work; differentiable in `params`. Padding slots are ignored.
    Use float64 (x64) for fitting: float32 loses digits in sums over many events. Raises
    InputError for a non-finite or non-positive horizon or events outside [0, horizon_s]
    (checked when the inputs are concrete; jitted once).
    """
    check_events_in_horizon(events, horizon_s)
    return _log_likelihood(params, events, horizon_s)


def _one_hot_marks(events: HawkesEvents, d: int) -> jnp.ndarray:
    """(capacity, 1, d) indicator of each valid event's mark, broadcastable over rows i."""
    hit = (jnp.arange(d)[None, :] == events.marks[:, None]) & events.mask[:, None]
    return hit[:, None, :]


def _excitation_through_ties(params: HawkesParams, events: HawkesEvents) -> jnp.ndarray:
    """(capacity, d, d) A_ij at each event from all earlier-indexed events (ties included)."""
    layout = event_layout(events, events.times[-1])
    return _excitation(params.beta, layout, False)[: events.capacity]


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
