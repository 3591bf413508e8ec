"""Hawkes models beyond one exponential per pair: sums of exponentials, an approximate power
law, a time-varying baseline and size marks, with their exact O(N) log-likelihood.

    lambda_i(t) = mu_i(t) + sum_{t_l < t} g_l sum_p alpha_{i m_l p} beta_{i m_l p}
                                                   exp(-beta_{i m_l p} (t - t_l))
    g_l = exp(eta_{m_l} * log_size_l)   (size marks; g = 1 without them)

alpha_ijp is the mean number of type-i events an event of type j (of reference size) triggers
through exponential p; sum_p alpha_ijp is the branching matrix. Decays are "free" (one per pair
and exponential, (d, d, P)), "shared" (P decays common to all pairs, (1, 1, P)) or "fixed": a
geometric grid that is not fitted, only the weights alpha are, which approximates a power-law
kernel by a sum of exponentials (Bochud & Challet 2007; Bacry & Muzy 2014; Hardiman,
Bercot & Bouchaud 2013). mu_i(t) is piecewise constant in time of day (`_baseline`).

The excitation A_ijp(k) = sum_{l < k} g_l [m_l = j] exp(-beta_ijp (t_k - t_l)) follows the
linear recurrence A(k) = exp(-beta dt_k) (A(k-1) + g_{k-1} e_{m_{k-1}}) (Ogata 1978), evaluated
by an associative scan in O(N P d^2) work (O(N P d) with shared decays: the state is then per
source only). Events are split into independent segments (trading days, or blocks of one day),
each started empty on its own interval [start_s, end_s] in clock seconds; the log-likelihood is
the sum over segments (`vmap`). Ties are treated as in `wmjax.hawkes.log_likelihood`: events at
one timestamp do not excite each other.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, positive_int, require
from wmjax.hawkes._baseline import baseline_at, baseline_integral
from wmjax.hawkes._likelihood import _first_of_tie

DECAY_KINDS = ("free", "shared", "fixed")


@dataclasses.dataclass(frozen=True)
class HawkesModel:
    """Static structure of a model (hashable, a jit static argument).

    dim: d dimensions; n_exp: P exponentials per pair (0: Poisson); decays: "free", "shared"
    or "fixed" (then `fixed_decays` holds the P decays in 1/s); breaks_s: interior breaks of the
    piecewise-constant baseline in clock seconds (empty: constant); marks: scale each event's
    excitation by exp(eta * log_size).
    """

    dim: int
    n_exp: int = 1
    decays: str = "free"
    fixed_decays: tuple[float, ...] = ()
    breaks_s: tuple[float, ...] = ()
    marks: bool = False

    def __post_init__(self):
        positive_int("dim", self.dim)
        positive_int("n_exp", self.n_exp, minimum=0)
        require(self.decays in DECAY_KINDS, f"decays must be one of {DECAY_KINDS}")
        if self.decays == "fixed":
            require(
                len(self.fixed_decays) == self.n_exp and min(self.fixed_decays, default=1) > 0,
                f"decays='fixed' needs fixed_decays: n_exp={self.n_exp} decays > 0 in 1/s",
            )
        require(list(self.breaks_s) == sorted(self.breaks_s), "breaks_s must be increasing")

    @property
    def n_pieces(self) -> int:
        return len(self.breaks_s) + 1

    @property
    def beta_shape(self) -> tuple[int, int, int]:
        return (self.dim, self.dim, self.n_exp) if self.decays == "free" else (1, 1, self.n_exp)


def power_law_decays(n_exp: int, fastest_per_s: float, slowest_per_s: float) -> tuple:
    """A geometric grid of `n_exp` decays from `fastest_per_s` down to `slowest_per_s` (1/s),
    for `HawkesModel(decays="fixed")`: a sum of exponentials on it with weights ~ beta^gamma
    approximates a power-law kernel between the two time scales (Bochud & Challet 2007)."""
    grid = np.geomspace(fastest_per_s, slowest_per_s, positive_int("n_exp", n_exp))
    return tuple(float(x) for x in grid)


@struct.dataclass
class ModelParams:
    """mu: (d, K) baseline per dimension and piece, events/s; alpha: (d, d, P) branching
    weights (alpha[i, j, p]: type-i events triggered by one type-j event through exponential p);
    beta: (d, d, P) or (1, 1, P) decays, 1/s; eta: (d,) size power per exciting dimension."""

    mu: jnp.ndarray
    alpha: jnp.ndarray
    beta: jnp.ndarray
    eta: jnp.ndarray

    def branching_matrix(self) -> jnp.ndarray:
        """(d, d) sum_p alpha_ijp (at the reference size, log_size = 0)."""
        return jnp.sum(self.alpha, axis=-1)


@struct.dataclass
class SegmentedEvents:
    """Events of S independent segments, padded to a common capacity.

    times_s: (S, cap) clock seconds, sorted within a segment (padding = end_s); marks: (S, cap)
    int32, -1 for padding; log_size: (S, cap) log(size / reference size) (0 without sizes);
    start_s, end_s: (S,) each segment's interval.
    """

    times_s: jnp.ndarray
    marks: jnp.ndarray
    log_size: jnp.ndarray
    start_s: jnp.ndarray
    end_s: jnp.ndarray

    @property
    def n_events(self) -> int:
        return int(np.sum(np.asarray(self.marks) >= 0))


def segment_events(segments, dim: int) -> SegmentedEvents:
    """`SegmentedEvents` from a list of dicts with keys times_s, marks, start_s, end_s and
    optionally log_size (arrays of one segment). The arrays stay numpy float64 (clock times
    need it: float32 resolves only ~4 ms at 35,000 s); evaluate with x64 enabled. Raises
    InputError on unsorted times, times outside their segment, or marks outside 0..dim-1."""
    require(len(segments) > 0, "segments must hold at least one segment")
    cap = max(1, max(np.size(s["times_s"]) for s in segments))
    rows = {k: [] for k in ("times_s", "marks", "log_size", "start_s", "end_s")}
    for n, seg in enumerate(segments):
        t = finite_array(f"segments[{n}]['times_s']", seg["times_s"], ndim=1)
        m = np.asarray(seg["marks"]).astype(np.int64)
        size = finite_array(f"segments[{n}]['log_size']", seg.get("log_size", np.zeros(t.size)))
        lo, hi = float(seg["start_s"]), float(seg["end_s"])
        require(m.shape == t.shape == size.shape, f"segment {n}: arrays differ in length")
        require(bool(np.all(np.diff(t) >= 0)), f"segment {n}: times_s must be sorted")
        require(
            t.size == 0 or (t[0] >= lo and t[-1] <= hi and lo < hi),
            f"segment {n}: times must lie in [start_s={lo}, end_s={hi}]",
        )
        require(bool(np.all((m >= 0) & (m < dim))), f"segment {n}: marks must be in 0..{dim - 1}")
        pad = cap - t.size
        rows["times_s"].append(np.concatenate([t, np.full(pad, hi)]))
        rows["marks"].append(np.concatenate([m, np.full(pad, -1)]))
        rows["log_size"].append(np.concatenate([size, np.zeros(pad)]))
        rows["start_s"].append(lo)
        rows["end_s"].append(hi)
    return SegmentedEvents(
        times_s=np.stack(rows["times_s"]).astype(np.float64),
        marks=np.stack(rows["marks"]).astype(np.int32),
        log_size=np.stack(rows["log_size"]).astype(np.float64),
        start_s=np.asarray(rows["start_s"], np.float64),
        end_s=np.asarray(rows["end_s"], np.float64),
    )


def _excitation(params: ModelParams, times, marks, log_size):
    """(N, R, d, P) A at each event from strictly earlier events, and the (N,) weights g."""
    d = params.mu.shape[0]
    valid = marks >= 0
    g = jnp.where(valid, jnp.exp(params.eta[jnp.maximum(marks, 0)] * log_size), 0.0)
    hit = (marks[:, None] == jnp.arange(d)).astype(times.dtype) * g[:, None]  # (N, d)
    impulse = jnp.concatenate([jnp.zeros_like(hit[:1]), hit[:-1]])[:, None, :, None]
    dt = jnp.diff(times, prepend=times[:1])
    decay = jnp.exp(-params.beta[None] * dt[:, None, None, None])  # (N, R, d|1, P)
    decay = jnp.broadcast_to(decay, (times.shape[0], params.beta.shape[0], d, params.beta.shape[2]))

    state = _linear_recurrence(decay, decay * impulse)
    return state[_first_of_tie(times)], g


def _linear_recurrence(a, b) -> jnp.ndarray:
    """x_k = a_k x_{k-1} + b_k from x_{-1} = 0, along axis 0, by two short scans: the N steps
    are cut into C chunks of B ~ sqrt(N); one B-step scan runs every chunk from zero (keeping
    the running product of a), one C-step scan carries the chunk ends across chunks. Cheap to
    compile and to differentiate (no O(log N) unrolled tree)."""
    n = a.shape[0]
    size = int(max(8, 2 ** np.ceil(0.5 * np.log2(max(n, 2)))))
    chunks = -(-n // size)
    pad = chunks * size - n
    a = jnp.concatenate([a, jnp.ones((pad, *a.shape[1:]), a.dtype)])
    b = jnp.concatenate([b, jnp.zeros((pad, *b.shape[1:]), b.dtype)])
    a = jnp.swapaxes(a.reshape(chunks, size, *a.shape[1:]), 0, 1)  # (B, C, ...)
    b = jnp.swapaxes(b.reshape(chunks, size, *b.shape[1:]), 0, 1)

    def inner(carry, ab):
        prod, x = carry
        prod, x = prod * ab[0], ab[0] * x + ab[1]
        return (prod, x), (prod, x)

    zero = jnp.zeros(a.shape[1:], a.dtype)
    (prod_end, x_end), (prod, local) = jax.lax.scan(inner, (jnp.ones_like(zero), zero), (a, b))

    def outer(incoming, ends):
        return ends[0] * incoming + ends[1], incoming

    _, incoming = jax.lax.scan(outer, zero[0], (prod_end, x_end))  # (C, ...) before chunk c
    x = local + prod * incoming[None]
    return jnp.swapaxes(x, 0, 1).reshape(chunks * size, *a.shape[2:])[:n]


def _kernel_parts(params: ModelParams, model: HawkesModel, times, marks, log_size, end):
    """Per-event pieces of one segment's likelihood, shared by it and the EM fit
    (`wmjax.calibrate._hawkes_em`): own (N, d) one-hot of each mark (padding all 0), base (N, d)
    mu_i(t_k), exc (N, d, d, P) alpha_ijp beta_ijp A_ijp(k), state (N, R, d, P) A itself, g (N,)
    mark weights, and exposure (d, d, P) = sum_k [m_k = j] g_k (1 - exp(-beta_ijp (end -
    t_k))), so that the kernels' part of the compensator over [start, end] is sum alpha * exposure.
    Without exponentials (n_exp = 0) exc, state and exposure are None."""
    d = model.dim
    own = (marks[:, None] == jnp.arange(d)).astype(times.dtype)
    base = baseline_at(params.mu, model.breaks_s, times)
    if model.n_exp == 0:
        return own, base, None, None, jnp.ones_like(times), None
    state, g = _excitation(params, times, marks, log_size)
    exc = params.alpha * params.beta * state
    beta = jnp.broadcast_to(params.beta, params.alpha.shape)
    beta_col = jnp.einsum("nj,ijp->nip", own, beta)  # beta[i, m_k, p]
    tail = -jnp.expm1(-beta_col * (end - times)[:, None, None])
    exposure = jnp.einsum("nj,nip->ijp", own * g[:, None], tail)
    return own, base, exc, state, g, exposure


def _segment_terms(params: ModelParams, model: HawkesModel, times, marks, log_size, start, end):
    """(log-intensity sum, compensator total, (N,) own compensator Lambda_{m_k}(t_k))."""
    valid = marks >= 0
    own, lam, exc, state, g, exposure = _kernel_parts(params, model, times, marks, log_size, end)
    comp_at = baseline_integral(params.mu, model.breaks_s, start, times)  # (N, d)
    total = jnp.sum(baseline_integral(params.mu, model.breaks_s, start, end))
    if model.n_exp > 0:
        lam = lam + jnp.sum(exc, axis=(-1, -2))
        weighted = own * g[:, None]
        before = (jnp.cumsum(weighted, axis=0) - weighted)[_first_of_tie(times)]  # (N, d)
        comp_at = comp_at + jnp.sum(params.alpha * (before[:, None, :, None] - state), (-1, -2))
        total = total + jnp.sum(params.alpha * exposure)
    own_lam = jnp.sum(own * lam, axis=-1)
    log_terms = jnp.sum(jnp.where(valid, jnp.log(jnp.where(valid, own_lam, 1.0)), 0.0))
    return log_terms, total, jnp.sum(own * comp_at, axis=-1)


def model_log_likelihood(params: ModelParams, model: HawkesModel, data: SegmentedEvents):
    """Exact log-likelihood, summed over segments: sum_k log lambda_{m_k}(t_k) - sum_i
    Lambda_i over each segment. O(N P d^2); differentiable in `params`; use float64."""

    def one(t, m, s, lo, hi):
        log_terms, total, _ = _segment_terms(params, model, t, m, s, lo, hi)
        return log_terms - total

    return jnp.sum(jax.vmap(one)(data.times_s, data.marks, data.log_size, data.start_s, data.end_s))


@functools.partial(jax.jit, static_argnames="model")  # eagerly, each scan op would compile
def model_compensator_at_events(params: ModelParams, model: HawkesModel, data: SegmentedEvents):
    """(S, cap) Lambda_{m_k}(t_k): each event's own-dimension compensator from its segment's
    start, counting strictly earlier events (0 in padding)."""

    def one(t, m, s, lo, hi):
        return jnp.where(m >= 0, _segment_terms(params, model, t, m, s, lo, hi)[2], 0.0)

    return jax.vmap(one)(data.times_s, data.marks, data.log_size, data.start_s, data.end_s)


def model_residuals(params: ModelParams, model: HawkesModel, data: SegmentedEvents) -> list:
    """Time-rescaled residuals per dimension (a list of d arrays), pooled over segments: the
    compensator increment between consecutive events of one dimension, from the segment's
    start for the first; i.i.d. Exp(1) under the right model (Brown et al. 2002)."""
    comp = np.asarray(model_compensator_at_events(params, model, data))
    marks = np.asarray(data.marks)
    out = []
    for i in range(model.dim):
        pieces = [np.diff(c[m == i], prepend=0.0) for c, m in zip(comp, marks, strict=True)]
        out.append(np.concatenate(pieces))
    return out
