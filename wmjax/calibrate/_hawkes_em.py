"""EM for Hawkes models whose decays are not fitted (a power-law grid of fixed decays), an
alternative to L-BFGS for `fit_hawkes_model` and a cheap warm start for it.

With the decays fixed, the complete-data likelihood (which event triggered which) separates,
and both steps have closed forms (Veen & Schoenberg 2008, "Estimation of space-time branching
process models in seismology using an EM-type algorithm"; Lewis & Mohler 2011). With
lambda_k = mu_{m_k}(t_k) + sum_jp alpha_{m_k jp} beta_p A_jp(k) at event k (A from the O(N)
recursion of `wmjax.hawkes._kernels`):

    mu_i(piece)  <- sum_{k: m_k = i, t_k in piece} mu_i(t_k) / lambda_k  /  length of the piece
    alpha_ijp    <- sum_{k: m_k = i} alpha_ijp beta_p A_jp(k) / lambda_k
                    /  sum_{l: m_l = j} g_l (1 - exp(-beta_p (end - t_l)))

summed over segments. Each iteration costs one likelihood evaluation, needs no gradient and no
line search, and never decreases the likelihood.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import positive_int, require
from wmjax.calibrate._hawkes_models import (
    ModelFit,
    _as64,
    _candidate_starts,
    _sizes,
    _to_natural,
    _unpack,
)
from wmjax.hawkes._baseline import baseline_integral
from wmjax.hawkes._kernels import HawkesModel, ModelParams, SegmentedEvents, _kernel_parts


def _segment_sums(params: ModelParams, model: HawkesModel, times, marks, log_size, start, end):
    """E-step sums of one segment: (log-likelihood, mu numerator (d, K), mu exposure (K,),
    alpha numerator (d, d, P), alpha exposure (d, d, P))."""
    n_pieces = model.n_pieces
    valid = marks >= 0
    own, base, exc, _, _, alpha_len = _kernel_parts(params, model, times, marks, log_size, end)
    lam = base + jnp.sum(exc, axis=(-1, -2))
    own_lam = jnp.where(valid, jnp.sum(own * lam, axis=-1), 1.0)
    weight = own * (1.0 / own_lam)[:, None]  # (N, d): 1 / lambda_k in column m_k
    piece = jnp.searchsorted(jnp.asarray(model.breaks_s, times.dtype), times, side="right")
    in_piece = (piece[:, None] == jnp.arange(n_pieces)).astype(times.dtype)  # (N, K)
    mu_num = jnp.einsum("ni,nk->ik", weight * base, in_piece)
    mu_len = baseline_integral(jnp.eye(n_pieces, dtype=times.dtype), model.breaks_s, start, end)
    alpha_num = jnp.einsum("ni,nijp->ijp", weight, exc)
    compensator = jnp.sum(mu_len @ params.mu.T) + jnp.sum(params.alpha * alpha_len)
    loglik = jnp.sum(jnp.where(valid, jnp.log(own_lam), 0.0)) - compensator
    return loglik, mu_num, mu_len, alpha_num, alpha_len


@functools.partial(jax.jit, static_argnames=("model", "max_iter"))
def _em(params: ModelParams, data: SegmentedEvents, tol, *, model: HawkesModel, max_iter: int):
    def sums(p):
        parts = jax.vmap(functools.partial(_segment_sums, p, model))(
            data.times_s, data.marks, data.log_size, data.start_s, data.end_s
        )
        return jax.tree.map(lambda x: jnp.sum(x, axis=0), parts)

    def update(p):
        loglik, mu_num, mu_len, alpha_num, alpha_len = sums(p)
        mu = mu_num / jnp.maximum(mu_len, jnp.finfo(mu_len.dtype).tiny)[None]
        alpha = alpha_num / jnp.maximum(alpha_len, jnp.finfo(alpha_len.dtype).tiny)
        return loglik, p.replace(mu=mu, alpha=alpha)

    def step(carry):
        k, p, _, trace = carry
        loglik, new = update(p)
        change = jnp.max(jnp.abs(jnp.log(new.alpha / p.alpha))) + jnp.max(
            jnp.abs(jnp.log(new.mu / p.mu))
        )
        return k + 1, new, change, trace.at[k].set(loglik)

    def keep_going(carry):
        k, _, change, _ = carry
        return (k < max_iter) & (change > tol)

    trace = jnp.full(max_iter, jnp.nan, data.times_s.dtype)
    k, p, change, trace = jax.lax.while_loop(
        keep_going, step, (0, params, jnp.asarray(jnp.inf, data.times_s.dtype), trace)
    )
    return p, k, change, trace, sums(p)[0]


def fit_hawkes_em(
    model: HawkesModel,
    data: SegmentedEvents,
    *,
    init: ModelParams | None = None,
    max_iter: int = 500,
    tol: float = 1e-7,
) -> tuple[ModelFit, np.ndarray]:
    """Fit mu and alpha of a fixed-decay model (`HawkesModel(decays="fixed")`, no marks) by EM
    in float64, from `init` or the data-driven start of `fit_hawkes_model`.

    Stops when no log mu or log alpha moves by more than `tol` in one iteration, or after
    `max_iter` iterations. Returns the `ModelFit` (standard errors NaN: use it as `init` of
    `fit_hawkes_model` for them) and the log-likelihood before each iteration (non-decreasing).
    """
    require(
        model.decays == "fixed" and not model.marks and model.n_exp > 0,
        "fit_hawkes_em needs a model with decays='fixed', n_exp >= 1 and marks=False; "
        "use fit_hawkes_model for the others",
    )
    max_iter = positive_int("max_iter", max_iter)
    n_events = data.n_events
    n_params = sum(_sizes(model).values())
    require(n_events > n_params, f"{n_events} events cannot fit {n_params} parameters")
    with jax.enable_x64(True):
        data = _as64(data)
        if init is None:
            theta = jnp.asarray(_candidate_starts(model, data)[0])
            init = _unpack(_to_natural(theta, model), model)
        params, n_iter, change, trace, loglik = _em(
            _as64(init), data, tol, model=model, max_iter=max_iter
        )
        params = jax.tree.map(np.asarray, params)
    ll = float(loglik)
    nan = jax.tree.map(lambda x: np.full_like(x, np.nan), params)
    fit = ModelFit(
        model=model,
        params=params,
        std_errors=nan,
        log_likelihood=ll,
        n_events=n_events,
        n_params=n_params,
        aic=2 * n_params - 2 * ll,
        bic=n_params * np.log(n_events) - 2 * ll,
        optima_spread=0.0,
        n_iter=int(n_iter),
        converged=bool(change <= tol),
        grad_norm=float("nan"),
    )
    trace = np.asarray(trace)
    return fit, trace[np.isfinite(trace)]
