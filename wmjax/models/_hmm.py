"""A Gaussian hidden-Markov model fitted by EM (Baum-Welch) with the scaled forward-backward
recursion (Rabiner 1989, "A tutorial on hidden Markov models", sections III and V.A).

Scaling: at each step the emission likelihoods are divided by their maximum (log-space shift
m_t) and the forward variables are normalised to sum to one (the c_t of Rabiner's eq. 91), so
log p(x_1..T) = sum_t (log c_t + m_t) never under- or overflows. Both recursions are `lax.scan`;
many sequences are `vmap`ped; the whole EM loop is one jitted `lax.while_loop` in float64.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, positive, positive_int, require


@struct.dataclass
class GaussianHMM:
    """initial: (S,) state probabilities at t = 1; transition: (S, S), rows sum to 1;
    means: (S, D); covs: (S, D, D) emission covariances."""

    initial: jax.Array
    transition: jax.Array
    means: jax.Array
    covs: jax.Array

    @property
    def n_states(self) -> int:
        return int(self.means.shape[-2])


@struct.dataclass
class Posteriors:
    """Output of `forward_backward` for one sequence of length T.

    log_likelihood: log p(x_1..T); smoothed: (T, S) p(z_t | x_1..T); filtered: (T, S)
    p(z_t | x_1..t); transitions: (S, S) sum_t p(z_t = i, z_t+1 = j | x_1..T).
    """

    log_likelihood: jax.Array
    smoothed: jax.Array
    filtered: jax.Array
    transitions: jax.Array


def log_emissions(hmm: GaussianHMM, x) -> jax.Array:
    """(T, S) log N(x_t; mean_s, cov_s) for x of shape (T, D)."""
    chol = jnp.linalg.cholesky(hmm.covs)  # (S, D, D)
    diff = x[:, None, :] - hmm.means[None]  # (T, S, D)
    sol = jax.vmap(lambda c, d: jax.scipy.linalg.solve_triangular(c, d.T, lower=True).T, (0, 1), 1)(
        chol, diff
    )
    log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), -1)
    dim = x.shape[-1]
    return -0.5 * (jnp.sum(sol**2, -1) + log_det + dim * jnp.log(2.0 * jnp.pi))


def forward_backward(hmm: GaussianHMM, x) -> Posteriors:
    """Scaled forward-backward on one sequence x of shape (T, D) (jit/vmap-able)."""
    log_b = log_emissions(hmm, x)
    shift = jnp.max(log_b, axis=-1)
    b = jnp.exp(log_b - shift[:, None])  # (T, S), max 1 per row
    a = hmm.transition

    def forward(alpha_prev, b_t):
        alpha = (alpha_prev @ a) * b_t
        c = alpha.sum()
        return alpha / c, (alpha / c, c)

    alpha0 = hmm.initial * b[0]
    c0 = alpha0.sum()
    alpha0 = alpha0 / c0
    alpha_last, (alphas, cs) = jax.lax.scan(forward, alpha0, b[1:])
    alphas = jnp.concatenate([alpha0[None], alphas])
    cs = jnp.concatenate([c0[None], cs])

    def backward(beta_next, inputs):
        alpha_t, b_next, c_next = inputs
        weighted = b_next * beta_next / c_next
        xi = alpha_t[:, None] * a * weighted[None, :]
        beta = a @ weighted
        return beta, (beta, xi)

    ones = jnp.ones_like(alpha_last)
    _, (betas, xis) = jax.lax.scan(backward, ones, (alphas[:-1], b[1:], cs[1:]), reverse=True)
    betas = jnp.concatenate([betas, ones[None]])
    smoothed = alphas * betas
    return Posteriors(
        log_likelihood=jnp.sum(jnp.log(cs) + shift),
        smoothed=smoothed / smoothed.sum(-1, keepdims=True),
        filtered=alphas,
        transitions=xis.sum(0),
    )


def _m_step(post: Posteriors, x, reg):
    """Closed-form maximisation over a batch (N, T, D) of sequences; `reg` is added to the
    covariance diagonals so a state with few points stays positive definite."""
    g = post.smoothed  # (N, T, S)
    weight = g.sum((0, 1))  # (S,)
    initial = g[:, 0].mean(0)
    counts = post.transitions.sum(0)
    transition = counts / counts.sum(-1, keepdims=True)
    means = jnp.einsum("nts,ntd->sd", g, x) / weight[:, None]
    diff = x[:, :, None, :] - means  # (N, T, S, D)
    covs = jnp.einsum("nts,ntsd,ntse->sde", g, diff, diff) / weight[:, None, None]
    covs = covs + reg * jnp.eye(x.shape[-1])
    return GaussianHMM(initial, transition, means, covs)


def _em(hmm: GaussianHMM, x, n_iter: int, tol, reg):
    """EM until the mean log-likelihood per observation improves by less than `tol`."""
    n_obs = x.shape[0] * x.shape[1]

    def e_step(h):
        return jax.vmap(forward_backward, (None, 0))(h, x)

    def cond(state):
        i, _, history = state
        gain = history[i - 1] - history[jnp.maximum(i - 2, 0)]
        return (i < n_iter) & ((i < 2) | (gain > tol))

    def body(state):
        i, h, history = state
        post = e_step(h)
        history = history.at[i].set(post.log_likelihood.sum() / n_obs)
        return i + 1, _m_step(post, x, reg), history

    history = jnp.full(n_iter, jnp.nan, x.dtype)
    n_done, hmm, history = jax.lax.while_loop(cond, body, (0, hmm, history))
    final = e_step(hmm).log_likelihood.sum()
    return hmm, history, n_done, final


_em_jit = jax.jit(_em, static_argnames=("n_iter",))
_posteriors_jit = jax.jit(jax.vmap(forward_backward, (None, 0)))


@struct.dataclass
class HMMFit:
    """A fitted HMM (float64): `history` is the mean log-likelihood per observation before each
    EM update (NaN after `n_iter_done`); `log_likelihood` the total at the returned params."""

    hmm: GaussianHMM
    history: np.ndarray
    n_iter_done: int
    log_likelihood: float


def _initial_hmm(key, x: np.ndarray, n_states: int) -> GaussianHMM:
    """Means at random distinct observations, the pooled covariance in every state, and
    transitions that stay with probability 0.9."""
    flat = x.reshape(-1, x.shape[-1])
    idx = np.asarray(jax.random.choice(key, flat.shape[0], (n_states,), replace=False))
    cov = np.cov(flat.T).reshape(x.shape[-1], x.shape[-1]) + 1e-6 * np.eye(x.shape[-1])
    stay = 0.9 if n_states > 1 else 1.0
    trans = np.full((n_states, n_states), (1 - stay) / max(n_states - 1, 1))
    np.fill_diagonal(trans, stay)
    return GaussianHMM(
        initial=jnp.full(n_states, 1.0 / n_states),
        transition=jnp.asarray(trans),
        means=jnp.asarray(flat[idx]),
        covs=jnp.asarray(np.broadcast_to(cov, (n_states, *cov.shape)).copy()),
    )


def fit_hmm(
    key,
    x,
    n_states: int,
    *,
    n_iter: int = 200,
    n_restarts: int = 3,
    tol: float = 1e-7,
    covariance_floor: float = 1e-4,
) -> HMMFit:
    """Fit a Gaussian HMM with `n_states` states to sequences x (N, T, D) or one (T, D) by EM;
    the best of `n_restarts` random starts by final log-likelihood. Runs in float64."""
    s = positive_int("n_states", n_states)
    n_iter = positive_int("n_iter", n_iter, minimum=2)
    restarts = positive_int("n_restarts", n_restarts)
    positive("tol", tol, allow_zero=True)
    positive("covariance_floor", covariance_floor)
    arr = finite_array("x", x, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    require(arr.ndim == 3, f"x must have shape (N, T, D) or (T, D), got {arr.shape}")
    require(arr.shape[1] >= 2, f"x needs at least 2 time steps, got {arr.shape[1]}")
    require(arr.shape[0] * arr.shape[1] > s, f"x has too few observations for {s} states")
    best = None
    with jax.enable_x64(True):
        xj = jnp.asarray(arr)
        for k in jax.random.split(key, restarts):
            hmm, hist, done, final = _em_jit(
                _initial_hmm(k, arr, s), xj, n_iter, jnp.float64(tol), jnp.float64(covariance_floor)
            )
            fit = HMMFit(jax.tree.map(np.asarray, hmm), np.asarray(hist), int(done), float(final))
            if np.isfinite(fit.log_likelihood) and (
                best is None or fit.log_likelihood > best.log_likelihood
            ):
                best = fit
    require(best is not None, "EM diverged from every start; rescale x or raise covariance_floor")
    return best


def hmm_posteriors(hmm: GaussianHMM, x) -> Posteriors:
    """Posteriors of sequences x (N, T, D) (a leading axis N on every field), float64."""
    arr = finite_array("x", x, ndim=3, dtype=np.float64)
    with jax.enable_x64(True):
        h = jax.tree.map(lambda v: jnp.asarray(v, jnp.float64), hmm)
        return jax.tree.map(np.asarray, _posteriors_jit(h, jnp.asarray(arr)))


def match_states(states, labels, n: int) -> np.ndarray:
    """The permutation state -> label (an (n,) int array) that maximises agreement between
    `states` and `labels` (both in 0..n-1) on training data, by enumerating all n! maps (n <= 7).
    """
    n = positive_int("n", n)
    require(n <= 7, f"match_states enumerates permutations: n must be <= 7, got {n}")
    joint = np.zeros((n, n))
    np.add.at(joint, (np.asarray(states).ravel(), np.asarray(labels).ravel()), 1)
    rows = np.arange(n)
    best = max(itertools.permutations(range(n)), key=lambda p: joint[rows, list(p)].sum())
    return np.asarray(best, np.int32)
