"""Maximum-likelihood fit of a multivariate exponential Hawkes process: mu, alpha AND beta.

The negative log-likelihood per event is minimised over theta = log(mu, alpha, beta) (positivity
by reparametrisation) with optax L-BFGS and its zoom line search (strong Wolfe conditions), the
whole optimisation one jitted `lax.while_loop` in float64. Standard errors come from the inverse
Hessian of the negative log-likelihood in the natural parameters (the observed Fisher
information; Ogata 1978 for the asymptotic normality of the Hawkes MLE).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from wmjax._checks import InputError, positive, positive_int
from wmjax.calibrate._inputs import (
    BetaStructure,
    event_arrays,
    fit_layout,
    parse_beta_structure,
    require_enough,
)
from wmjax.hawkes import EventLayout, HawkesParams, layout_log_likelihood

#: Decay candidates for the default start, in units of the mean event rate N / T.
_BETA_GRID = (0.5, 2.0, 8.0, 32.0, 128.0, 512.0)


@dataclasses.dataclass(frozen=True)
class FitResult:
    """An MLE fit. `params` are float64; `std_errors` has the same fields and shapes (a shared
    decay's SE is repeated in every entry it fills; NaN where the Hessian is not positive
    definite). `grad_norm` is the max-abs gradient of the mean negative log-likelihood per event
    in log-parameters at the end; `converged` means it fell below `tol` within `max_iter`.
    """

    params: HawkesParams
    std_errors: HawkesParams
    log_likelihood: float
    branching_ratio: float
    n_iter: int
    converged: bool
    grad_norm: float
    n_events: int
    horizon_s: float
    beta_structure: str

    @property
    def report(self) -> str:
        """A readable convergence report."""
        status = "converged" if self.converged else "NOT converged (raise max_iter or check data)"
        ses = np.concatenate([np.ravel(x) for x in jax.tree.leaves(self.std_errors)])
        se_note = ""
        if np.all(np.isnan(ses)):
            se_note = "; no standard errors (skipped, or Hessian not positive definite)"
        elif not np.all(np.isfinite(ses)):
            se_note = "; some standard errors NaN"
        return (
            f"L-BFGS {status} after {self.n_iter} iterations: log-likelihood "
            f"{self.log_likelihood:.6f} on {self.n_events} events over {self.horizon_s:g} s, "
            f"max |grad| {self.grad_norm:.2e} (per event, log-params), branching ratio "
            f"{self.branching_ratio:.4f}, beta '{self.beta_structure}'{se_note}"
        )


def _split(vector, dim: int, beta_shape: tuple[int, int]):
    """mu (d,), alpha (d, d), beta (beta_shape) from a flat parameter vector."""
    n_alpha = dim * dim
    mu = vector[:dim]
    alpha = vector[dim : dim + n_alpha].reshape(dim, dim)
    beta = vector[dim + n_alpha :].reshape(beta_shape)
    return mu, alpha, beta


def _default_start(data: EventLayout, counts, horizon_s: float, beta_shape) -> jnp.ndarray:
    """log-parameters: mu = N_i / (2T), alpha = 1/(2d), and the decay, a multiple of the mean
    event rate, that scores best on a coarse grid (one likelihood evaluation per candidate)."""
    dim = counts.shape[0]
    mu = jnp.log(0.5 * counts / horizon_s)
    alpha = jnp.full(dim * dim, jnp.log(0.5 / dim))
    rate = jnp.sum(counts) / horizon_s

    def score(log_beta):
        theta = jnp.concatenate([mu, alpha, jnp.full(beta_shape[0] * beta_shape[1], log_beta)])
        return layout_log_likelihood(*_split(jnp.exp(theta), dim, beta_shape), data)

    grid = jnp.log(rate * jnp.asarray(_BETA_GRID))
    scores = jax.lax.map(score, grid)
    best = grid[jnp.argmax(jnp.where(jnp.isfinite(scores), scores, -jnp.inf))]
    return jnp.concatenate([mu, alpha, jnp.full(beta_shape[0] * beta_shape[1], best)])


def _minimise(theta0, data: EventLayout, dim: int, beta_shape, max_iter: int, tol, n_events):
    """L-BFGS on the mean negative log-likelihood in log-parameters, one while_loop."""

    def loss(theta):
        return -layout_log_likelihood(*_split(jnp.exp(theta), dim, beta_shape), data) / n_events

    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss)

    def step(carry):
        theta, state = carry
        value, grad = value_and_grad(theta, state=state)
        updates, state = solver.update(grad, state, theta, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(theta, updates), state

    def keep_going(carry):
        _, state = carry
        count = optax.tree.get(state, "count")
        grad = optax.tree.get(state, "grad")
        value = optax.tree.get(state, "value")
        small = jnp.max(jnp.abs(grad)) <= tol
        return (count == 0) | ((count < max_iter) & ~small & jnp.isfinite(value))

    theta, state = jax.lax.while_loop(keep_going, step, (theta0, solver.init(theta0)))
    grad = optax.tree.get(state, "grad")
    return theta, optax.tree.get(state, "count"), jnp.max(jnp.abs(grad))


def _fit(data: EventLayout, counts, theta0, use_default, *, dim, beta_shape, max_iter, tol):
    n_events = jnp.sum(counts)
    start = jax.lax.cond(
        use_default,
        lambda: _default_start(data, counts, data.horizon_s, beta_shape),
        lambda: theta0,
    )
    theta, n_iter, grad_norm = _minimise(start, data, dim, beta_shape, max_iter, tol, n_events)
    natural = jnp.exp(theta)
    loglik = layout_log_likelihood(*_split(natural, dim, beta_shape), data)
    return natural, loglik, n_iter, grad_norm


def _hessian(natural, data: EventLayout, *, dim, beta_shape):
    """Hessian of the negative log-likelihood in the natural parameters."""
    return jax.hessian(lambda v: -layout_log_likelihood(*_split(v, dim, beta_shape), data))(natural)


_fit_jit = jax.jit(_fit, static_argnames=("dim", "beta_shape", "max_iter"))
_hessian_jit = jax.jit(_hessian, static_argnames=("dim", "beta_shape"))


def _start_vector(init, dim: int, shape: tuple[int, int], structure: BetaStructure) -> np.ndarray:
    """log-parameters from a user's `HawkesParams` start (its beta reduced to the structure)."""
    mu = np.asarray(init.mu, np.float64).reshape(-1)
    alpha = np.asarray(init.alpha, np.float64)
    beta = np.asarray(init.beta, np.float64)
    if mu.shape != (dim,) or alpha.shape != (dim, dim) or beta.shape != (dim, dim):
        raise InputError(
            f"init must be {dim}-dimensional HawkesParams (mu ({dim},), alpha and beta "
            f"({dim}, {dim})), got mu {mu.shape}, alpha {alpha.shape}, beta {beta.shape}"
        )
    if structure is BetaStructure.SOURCE:
        beta = beta.mean(axis=0, keepdims=True)
    elif structure is BetaStructure.SCALAR:
        beta = beta.mean(keepdims=True)
    # A zero entry in alpha has no logarithm; start it small instead.
    alpha = np.maximum(alpha, 1e-6)
    return np.log(np.concatenate([mu, alpha.ravel(), beta.ravel()]))


def fit_mle(
    events,
    horizon_s,
    dim: int | None = None,
    *,
    init: HawkesParams | None = None,
    beta_structure: str = "full",
    max_iter: int = 200,
    tol: float = 1e-6,
    std_errors: bool = True,
) -> FitResult:
    """Fit mu, alpha and beta by maximum likelihood on [0, horizon_s].

    events: `HawkesEvents` (one path) or a `(times_s, marks)` pair; dim: defaults to max mark + 1.
    init: a starting `HawkesParams`; by default mu = N_i / (2T), alpha = 1/(2d) everywhere and a
    decay chosen from a grid of multiples of the mean event rate. beta_structure: "full" (a (d, d)
    decay matrix), "source" (one decay per exciting dimension) or "scalar". Stops when the
    max-abs gradient of the mean negative log-likelihood (in log-parameters) is <= tol, or after
    max_iter L-BFGS iterations. std_errors=False skips the Hessian (d + d^2 + n_beta squared).
    Runs in float64 whatever the global setting. Raises InputError for bad input.
    """
    structure = parse_beta_structure(beta_structure)
    max_iter = positive_int("max_iter", max_iter)
    tol = float(positive("tol", tol))
    times, marks, horizon, dim = event_arrays(events, horizon_s, dim)
    shape = structure.shape(dim)
    require_enough(times.size, dim + dim * dim + shape[0] * shape[1], "fit_mle")
    counts = np.bincount(marks, minlength=dim).astype(np.float64)
    start = np.zeros(dim + dim * dim + shape[0] * shape[1])
    if init is not None:
        start = _start_vector(init, dim, shape, structure)
    with jax.enable_x64(True):
        data = fit_layout(times, marks, horizon, dim)
        natural, loglik, n_iter, grad_norm = _fit_jit(
            data,
            jnp.asarray(counts),
            jnp.asarray(start),
            jnp.asarray(init is None),
            dim=dim,
            beta_shape=shape,
            max_iter=max_iter,
            tol=tol,
        )
        natural = np.asarray(natural)
        loglik, n_iter, grad_norm = float(loglik), int(n_iter), float(grad_norm)
        errors = np.full(natural.shape, np.nan)
        if std_errors:
            hess = np.asarray(_hessian_jit(jnp.asarray(natural), data, dim=dim, beta_shape=shape))
            errors = _standard_errors(hess)
    mu, alpha, beta = _split(natural, dim, shape)
    se_mu, se_alpha, se_beta = _split(errors, dim, shape)
    full = (dim, dim)
    params = HawkesParams(mu=mu, alpha=alpha, beta=np.broadcast_to(beta, full).copy())
    ses = HawkesParams(mu=se_mu, alpha=se_alpha, beta=np.broadcast_to(se_beta, full).copy())
    return FitResult(
        params=params,
        std_errors=ses,
        log_likelihood=loglik,
        branching_ratio=float(np.max(np.abs(np.linalg.eigvals(alpha)))),
        n_iter=n_iter,
        converged=bool(grad_norm <= tol),
        grad_norm=grad_norm,
        n_events=int(times.size),
        horizon_s=horizon,
        beta_structure=structure.value,
    )


def _standard_errors(hessian: np.ndarray) -> np.ndarray:
    """sqrt(diag(H^-1)), NaN everywhere if H is not positive definite or not finite."""
    if not np.all(np.isfinite(hessian)):
        return np.full(hessian.shape[0], np.nan)
    try:
        chol = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return np.full(hessian.shape[0], np.nan)
    inv_chol = np.linalg.inv(chol)
    return np.sqrt(np.sum(inv_chol**2, axis=0))
