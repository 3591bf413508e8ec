"""Maximum-likelihood fits of the `wmjax.hawkes.HawkesModel` family (sums of exponentials,
power-law grids, time-varying baselines, size marks) in float64, with standard errors, AIC and
BIC, and out-of-sample scoring.

The mean negative log-likelihood per event is minimised with optax L-BFGS (zoom line search) in
one jitted `while_loop`, over theta = (log mu, log alpha, log beta unless the decays are fixed,
eta). Starts are data-driven: mu at half the observed rate of each dimension, the branching
mass spread evenly over the P exponentials, and decays on a grid of multiples of the event
rate; every candidate is scored by one likelihood evaluation and L-BFGS runs from the
`n_starts` best at once (`vmap`), keeping the highest optimum. Standard errors are sqrt(diag
H^-1) of the negative log-likelihood's Hessian in the natural parameters (Ogata 1978).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import positive_int, require
from wmjax.calibrate._lbfgs import lbfgs
from wmjax.hawkes._kernels import (
    HawkesModel,
    ModelParams,
    SegmentedEvents,
    model_log_likelihood,
)

#: Fastest decay of a start, in multiples of the mean event rate; the others step down by 30x.
_SCALE_GRID = (2.0, 8.0, 32.0, 128.0, 512.0, 2048.0)
_DECAY_STEP = 30.0


@dataclasses.dataclass(frozen=True)
class ModelFit:
    """A fit: `params` and `std_errors` (same shapes; NaN where not fitted or the Hessian is
    not positive definite), the maximised log-likelihood, n_params fitted, aic = 2k - 2LL,
    bic = k log N - 2LL, the spread (max - min) of the optima over the starts, and L-BFGS
    convergence (max |grad| of the mean NLL per event <= tol)."""

    model: HawkesModel
    params: ModelParams
    std_errors: ModelParams
    log_likelihood: float
    n_events: int
    n_params: int
    aic: float
    bic: float
    optima_spread: float
    n_iter: int
    converged: bool
    grad_norm: float


def _sizes(model: HawkesModel) -> dict:
    d, k, p = model.dim, model.n_pieces, model.n_exp
    beta = 0 if model.decays == "fixed" else int(np.prod(model.beta_shape))
    return {"mu": d * k, "alpha": d * d * p, "beta": beta, "eta": d if model.marks else 0}


def _unpack(natural, model: HawkesModel) -> ModelParams:
    """ModelParams from the flat vector of fitted natural parameters."""
    d, sizes = model.dim, _sizes(model)
    cuts = np.cumsum([0, *sizes.values()])
    part = {name: natural[cuts[i] : cuts[i + 1]] for i, name in enumerate(sizes)}
    if model.decays == "fixed":
        beta = jnp.asarray(model.fixed_decays, natural.dtype).reshape(1, 1, -1)
    else:
        beta = part["beta"].reshape(model.beta_shape)
    eta = part["eta"] if model.marks else jnp.zeros(d, natural.dtype)
    return ModelParams(
        mu=part["mu"].reshape(d, model.n_pieces),
        alpha=part["alpha"].reshape(d, d, model.n_exp),
        beta=beta,
        eta=eta,
    )


def _pack(params: ModelParams, model: HawkesModel) -> jnp.ndarray:
    beta = [] if model.decays == "fixed" else [jnp.ravel(params.beta)]
    eta = [jnp.ravel(params.eta)] if model.marks else []
    return jnp.concatenate([jnp.ravel(params.mu), jnp.ravel(params.alpha), *beta, *eta])


def _to_natural(theta, model: HawkesModel):
    """theta is log of the positive parameters, eta (the last d entries with marks) as is."""
    n_eta = _sizes(model)["eta"]
    return jnp.concatenate([jnp.exp(theta[: theta.size - n_eta]), theta[theta.size - n_eta :]])


def _to_theta(natural, model: HawkesModel):
    n_eta = _sizes(model)["eta"]
    return jnp.concatenate(
        [jnp.log(natural[: natural.size - n_eta]), natural[natural.size - n_eta :]]
    )


def _candidate_starts(model: HawkesModel, data: SegmentedEvents):
    """(G, n) log-parameter starts: one per decay scale on the grid (one if decays are fixed)."""
    d, p = model.dim, model.n_exp
    marks = np.asarray(data.marks)
    span = float(np.sum(np.asarray(data.end_s) - np.asarray(data.start_s)))
    counts = np.bincount(marks[marks >= 0], minlength=d).astype(float)
    rate = counts.sum() / span
    scales = _SCALE_GRID if model.decays != "fixed" and p > 0 else (1.0,)
    starts = []
    for scale in scales:
        decays = rate * scale / _DECAY_STEP ** np.arange(p)
        beta = np.broadcast_to(decays, model.beta_shape)
        params = ModelParams(
            mu=np.repeat(0.5 * np.maximum(counts, 1.0)[:, None] / span, model.n_pieces, axis=1),
            alpha=np.full((d, d, p), 0.5 / (d * max(p, 1))),
            beta=beta if model.decays != "fixed" else np.ones((1, 1, p)),
            eta=np.zeros(d),
        )
        starts.append(np.asarray(_to_theta(_pack(params, model), model)))
    return np.stack(starts)


def _nll(natural, model, data):
    return -model_log_likelihood(_unpack(natural, model), model, data)


def _fit_starts(thetas, data, n_events, *, model, max_iter, tol):
    def loss(theta):
        return _nll(_to_natural(theta, model), model, data) / n_events

    def one(theta0):
        theta, n_iter, grad_norm = lbfgs(loss, theta0, max_iter, tol)
        return theta, n_iter, grad_norm, -loss(theta) * n_events

    return jax.vmap(one)(thetas)


def _hessian_se(natural, data, *, model):
    hess = jax.hessian(_nll)(natural, model, data)
    chol = jnp.linalg.cholesky(hess)  # NaN unless positive definite
    inv_chol = jax.scipy.linalg.solve_triangular(chol, jnp.eye(hess.shape[0]), lower=True)
    return jnp.sqrt(jnp.sum(inv_chol**2, axis=0))


_fit_starts_jit = jax.jit(_fit_starts, static_argnames=("model", "max_iter"))
_hessian_se_jit = jax.jit(_hessian_se, static_argnames=("model",))
_score_jit = jax.jit(jax.vmap(_nll, in_axes=(0, None, None)), static_argnames=("model",))
_log_likelihood_jit = jax.jit(model_log_likelihood, static_argnames=("model",))


def _as64(tree):
    """Float leaves as float64 jax arrays (call with x64 enabled)."""
    return jax.tree.map(
        lambda x: (
            jnp.asarray(x, jnp.float64) if np.asarray(x).dtype.kind == "f" else jnp.asarray(x)
        ),
        tree,
    )


def fit_hawkes_model(
    model: HawkesModel,
    data: SegmentedEvents,
    *,
    init: ModelParams | None = None,
    n_starts: int = 2,
    max_iter: int = 300,
    tol: float = 1e-6,
    std_errors: bool = True,
) -> ModelFit:
    """Fit `model` to `data` (all segments) by maximum likelihood in float64.

    init: a warm start (e.g. a simpler model's fit mapped onto this one); otherwise the
    `n_starts` best-scoring data-driven starts are refined at once and the best kept.
    """
    n_starts = positive_int("n_starts", n_starts)
    max_iter = positive_int("max_iter", max_iter)
    n_events = data.n_events
    n_params = sum(_sizes(model).values())
    require(n_events > n_params, f"{n_events} events cannot fit {n_params} parameters")
    with jax.enable_x64(True):
        data = _as64(data)
        if init is not None:
            init = _as64(init)
            thetas = _to_theta(_pack(init, model), model)[None]
        else:
            thetas = jnp.asarray(_candidate_starts(model, data))
            scores = np.asarray(
                _score_jit(jax.vmap(_to_natural, (0, None))(thetas, model), model, data)
            )
            order = np.argsort(np.where(np.isfinite(scores), scores, np.inf))
            thetas = thetas[order[: min(n_starts, len(order))]]
        theta, n_iter, grad_norm, loglik = _fit_starts_jit(
            thetas, data, float(n_events), model=model, max_iter=max_iter, tol=tol
        )
        loglik = np.where(np.isfinite(np.asarray(loglik)), np.asarray(loglik), -np.inf)
        best = int(np.argmax(loglik))
        natural = _to_natural(theta[best], model)
        errors = jnp.full(natural.shape, jnp.nan)
        if std_errors:
            errors = _hessian_se_jit(natural, data, model=model)
        params = jax.tree.map(np.asarray, _unpack(natural, model))
        ses = jax.tree.map(np.asarray, _unpack(errors, model))
        if model.decays == "fixed":
            ses = ses.replace(beta=np.full_like(ses.beta, np.nan))
        if not model.marks:
            ses = ses.replace(eta=np.full_like(ses.eta, np.nan))
    ll = float(loglik[best])
    return ModelFit(
        model=model,
        params=params,
        std_errors=ses,
        log_likelihood=ll,
        n_events=n_events,
        n_params=n_params,
        aic=2 * n_params - 2 * ll,
        bic=n_params * np.log(n_events) - 2 * ll,
        optima_spread=float(np.ptp(loglik[np.isfinite(loglik)])) if len(loglik) > 1 else 0.0,
        n_iter=int(np.asarray(n_iter)[best]),
        converged=bool(np.asarray(grad_norm)[best] <= tol),
        grad_norm=float(np.asarray(grad_norm)[best]),
    )


def score_hawkes_model(fit: ModelFit, data: SegmentedEvents) -> float:
    """Log-likelihood of held-out `data` under a fitted model (float64)."""
    with jax.enable_x64(True):
        return float(_log_likelihood_jit(_as64(fit.params), fit.model, _as64(data)))
