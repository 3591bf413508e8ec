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

from wmjax._checks import InputError, positive, positive_int, require
from wmjax.calibrate._inputs import (
    BetaStructure,
    batch_layouts,
    event_arrays,
    fit_layout,
    parse_beta_structure,
    require_enough,
    warn_late_start,
)
from wmjax.calibrate._lbfgs import lbfgs
from wmjax.calibrate._starts import (
    N_STARTS,
    SCREEN_ITER,
    random_starts,
    starts_per_batch,
)
from wmjax.hawkes import (
    EventLayout,
    HawkesParams,
    layout_log_likelihood,
    spectral_radius,
)
from wmjax.hawkes._likelihood import layout_hessian

#: Decay candidates for the default start, in units of the mean event rate N / T.
_BETA_GRID = (0.5, 2.0, 8.0, 32.0, 128.0, 512.0)


@dataclasses.dataclass(frozen=True)
class FitResult:
    """An MLE fit. `params` are float64; `std_errors` has the same fields and shapes (a shared
    decay's SE is repeated in every entry it fills; NaN where the Hessian is not positive
    definite). `grad_norm` is the max-abs gradient of the mean negative log-likelihood per event
    in log-parameters at the end; `converged` means it fell below `tol` within `max_iter`.
    `start_log_likelihoods`: the log-likelihood L-BFGS reached from each start within the
    screening iterations (the kept, best one: at the end of its run; -inf where a run failed),
    sorted from best; `optimum_spread` their range.
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
    start_log_likelihoods: np.ndarray | None = None

    @property
    def optimum_spread(self) -> float:
        """Best minus worst finite optimum over the starts, log-likelihood units (0: all agree)."""
        values = np.asarray(self.start_log_likelihoods, float)
        finite = np.where(np.isfinite(values), values, np.nan)
        return np.nanmax(finite, axis=-1) - np.nanmin(finite, axis=-1)

    def starts_at_best(self, tolerance: float = 1e-3):
        """How many starts reached the kept optimum (within `tolerance` log-likelihood units)."""
        values = np.asarray(self.start_log_likelihoods, float)
        return np.sum(values >= np.max(values, axis=-1, keepdims=True) - tolerance, axis=-1)

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
            f"{self._starts_note()}"
        )

    def _starts_note(self) -> str:
        n = np.size(self.start_log_likelihoods)
        if n <= 1:
            return ""
        return (
            f"; {int(self.starts_at_best())} of {n} starts reached this optimum, the others "
            f"were up to {self.optimum_spread:.4g} log-likelihood units lower after screening"
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


def _minimise(
    theta0, data: EventLayout, dim: int, beta_shape, max_iter: int, tol, n_events, stationary
):
    """L-BFGS on the mean negative log-likelihood in log-parameters, one while_loop. With
    `stationary` the loss is +inf where the spectral radius of alpha is >= 1, so the line search
    never accepts a non-stationary point (the support restriction `fit_bayes` uses too)."""

    def loss(theta):
        mu, alpha, beta = _split(jnp.exp(theta), dim, beta_shape)
        value = -layout_log_likelihood(mu, alpha, beta, data) / n_events
        if not stationary:
            return value
        rho = spectral_radius(jax.lax.stop_gradient(alpha))
        return jnp.where(rho < 1.0, value, jnp.inf)

    return lbfgs(loss, theta0, max_iter, tol)


def _fit(
    data: EventLayout,
    counts,
    theta0,
    use_default,
    key,
    *,
    dim,
    beta_shape,
    max_iter,
    tol,
    stationary,
    n_starts,
):
    n_events = jnp.sum(counts)
    start = jax.lax.cond(
        use_default,
        lambda: _default_start(data, counts, data.horizon_s, beta_shape),
        lambda: theta0,
    )
    starts = start[None]
    if n_starts > 1:
        extra = random_starts(key, counts, data.horizon_s, beta_shape, n_starts - 1)
        starts = jnp.concatenate([starts, extra])

    def run(theta, n_iter):
        theta, n_iter, grad_norm = _minimise(
            theta, data, dim, beta_shape, n_iter, tol, n_events, stationary
        )
        loglik = layout_log_likelihood(*_split(jnp.exp(theta), dim, beta_shape), data)
        return theta, n_iter, grad_norm, jnp.where(jnp.isfinite(loglik), loglik, -jnp.inf)

    if n_starts == 1:
        theta, n_iter, grad_norm, loglik = run(start, max_iter)
        logliks = loglik[None]
    else:
        # Screen: every start for a few iterations side by side, then the best one to the end
        # (a vmapped while_loop costs its slowest member, and a start pressed against the
        # stationarity boundary would run to max_iter).
        screen = min(SCREEN_ITER, max_iter)
        batch = starts_per_batch(data.marks.shape[0], dim, n_starts)
        thetas, counts_, _, logliks = jax.lax.map(
            lambda t: run(t, screen), starts, batch_size=batch
        )
        best = jnp.argmax(logliks)
        theta, n_iter, grad_norm, loglik = run(thetas[best], max_iter - screen + 1)
        n_iter = n_iter + counts_[best]
        logliks = logliks.at[best].set(loglik)
    natural = jnp.exp(theta)
    alpha = _split(natural, dim, beta_shape)[1]
    return natural, loglik, n_iter, grad_norm, spectral_radius(alpha), logliks


def _standard_errors(natural, data: EventLayout, *, dim, beta_shape):
    """sqrt(diag(H^-1)) of the negative log-likelihood's Hessian H in the natural parameters
    (the observed Fisher information); NaN everywhere if H is not positive definite. H comes
    from `layout_hessian`, in memory O(N d) rather than O(N d^2 n_params)."""
    hess = -layout_hessian(*_split(natural, dim, beta_shape), data)
    return jnp.sqrt(jnp.diag(inverse_spd(hess)))


def inverse_spd(matrix) -> jnp.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky; NaN if it is not one."""
    chol = jnp.linalg.cholesky(matrix)  # NaN when not positive definite
    inv_chol = jax.scipy.linalg.solve_triangular(chol, jnp.eye(matrix.shape[0]), lower=True)
    return inv_chol.T @ inv_chol


_STATIC = ("dim", "beta_shape", "max_iter", "stationary", "n_starts")
_fit_jit = jax.jit(_fit, static_argnames=_STATIC)
_errors_jit = jax.jit(_standard_errors, static_argnames=("dim", "beta_shape"))


def _fit_batch(data, counts, theta0, use_default, key, **options):
    keys = jax.random.split(key, counts.shape[0])
    return jax.vmap(lambda d, c, k: _fit(d, c, theta0, use_default, k, **options))(
        data, counts, keys
    )


def _errors_batch(natural, data, *, dim, beta_shape):
    return jax.vmap(lambda n, d: _standard_errors(n, d, dim=dim, beta_shape=beta_shape))(
        natural, data
    )


_fit_batch_jit = jax.jit(_fit_batch, static_argnames=_STATIC)
_errors_batch_jit = jax.jit(_errors_batch, static_argnames=("dim", "beta_shape"))


def _start_vector(
    init, dim: int, shape: tuple[int, int], structure: BetaStructure, stationary: bool
) -> np.ndarray:
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
    rho = float(np.max(np.abs(np.linalg.eigvals(alpha))))
    require(
        not stationary or rho < 1,
        f"init.alpha has spectral radius {rho:.4g} >= 1, outside the stationary region the fit "
        "keeps to; start inside it, or pass stationary=False",
    )
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
    stationary: bool = True,
    n_starts: int = N_STARTS,
    seed: int = 0,
) -> FitResult:
    """Fit mu, alpha and beta by maximum likelihood on [0, horizon_s].

    events: `HawkesEvents` (one path) or a `(times_s, marks)` pair; dim: defaults to max mark + 1.
    init: a starting `HawkesParams`; by default mu = N_i / (2T), alpha = 1/(2d) everywhere and a
    decay chosen from a grid of multiples of the mean event rate. beta_structure: "full" (a (d, d)
    decay matrix), "source" (one decay per exciting dimension) or "scalar". Stops when the
    max-abs gradient of the mean negative log-likelihood (in log-parameters) is <= tol, or after
    max_iter L-BFGS iterations. std_errors=False skips the Hessian (d + d^2 + n_beta squared).
    stationary=True (default) restricts alpha to spectral radius < 1 (a fit that presses
    against that boundary does not converge and says so); False lets it leave the region.
    n_starts: L-BFGS from the start above and from n_starts - 1 random starts
    (`random_starts`, drawn from `seed`), 30 iterations each side by side (vmapped in batches
    that fit in 1 GiB), then the best on to convergence; every start's value is in
    `start_log_likelihoods` (the likelihood is multimodal in the decays on real data; the cost
    is n_starts x 30 iterations more than one start). Runs in float64 whatever the global
    setting. Raises InputError for bad input; warns (`LateStartWarning`) when the data seem to
    start long after time 0.
    """
    structure = parse_beta_structure(beta_structure)
    n_starts = positive_int("n_starts", n_starts)
    max_iter = positive_int("max_iter", max_iter)
    tol = float(positive("tol", tol))
    times, marks, horizon, dim = event_arrays(events, horizon_s, dim)
    warn_late_start(times, horizon)
    shape = structure.shape(dim)
    require_enough(times.size, dim + dim * dim + shape[0] * shape[1], "fit_mle")
    counts = np.bincount(marks, minlength=dim).astype(np.float64)
    start = np.zeros(dim + dim * dim + shape[0] * shape[1])
    if init is not None:
        start = _start_vector(init, dim, shape, structure, stationary)
    with jax.enable_x64(True):
        data = fit_layout(times, marks, horizon, dim)
        out = _fit_jit(
            data,
            jnp.asarray(counts),
            jnp.asarray(start),
            jnp.asarray(init is None),
            jax.random.key(seed),
            dim=dim,
            beta_shape=shape,
            max_iter=max_iter,
            tol=tol,
            stationary=bool(stationary),
            n_starts=n_starts,
        )
        errors = None
        if std_errors:
            errors = _errors_jit(out[0], data, dim=dim, beta_shape=shape)
        return _result(out, errors, dim, shape, tol, times.size, horizon, structure)


def fit_mle_batch(
    events,
    horizon_s,
    dim: int,
    *,
    beta_structure: str = "full",
    max_iter: int = 200,
    tol: float = 1e-6,
    std_errors: bool = True,
    stationary: bool = True,
    n_starts: int = 1,
    seed: int = 0,
) -> FitResult:
    """`fit_mle` on B data sets of equal capacity at once: one jitted `vmap` of the whole fit
    (default start, L-BFGS, Hessian), for simulation studies without a Python loop.

    events: `HawkesEvents` with a leading data-set axis (e.g. `jax.vmap(simulate)` over keys;
    no buffer may have overflowed); horizon_s: a number or (B,) seconds. Returns a `FitResult`
    whose fields are numpy arrays with a leading (B,) axis (params and std_errors too); `report`
    is for single fits. Each data set needs events in every dimension. n_starts and seed as in
    `fit_mle` (one start by default: simulation studies fit well-posed data).
    """
    structure = parse_beta_structure(beta_structure)
    n_starts = positive_int("n_starts", n_starts)
    max_iter = positive_int("max_iter", max_iter)
    tol = float(positive("tol", tol))
    dim = positive_int("dim", dim)
    shape = structure.shape(dim)
    n_params = dim + dim * dim + shape[0] * shape[1]
    with jax.enable_x64(True):
        data, counts, horizon = batch_layouts(events, horizon_s, dim, n_params, "fit_mle_batch")
        out = _fit_batch_jit(
            data,
            jnp.asarray(counts),
            jnp.zeros(n_params),
            jnp.asarray(True),
            jax.random.key(seed),
            dim=dim,
            beta_shape=shape,
            max_iter=max_iter,
            tol=tol,
            stationary=bool(stationary),
            n_starts=n_starts,
        )
        errors = _errors_batch_jit(out[0], data, dim=dim, beta_shape=shape) if std_errors else None
        n_events = counts.sum(axis=1).astype(int)
        return _result(out, errors, dim, shape, tol, n_events, horizon, structure)


def _result(out, errors, dim, shape, tol, n_events, horizon, structure) -> FitResult:
    """A `FitResult` from the jitted fit's outputs (one data set, or a leading batch axis)."""
    natural, loglik, n_iter, grad_norm, rho, starts = (np.asarray(x) for x in out)
    errors = np.full(natural.shape, np.nan) if errors is None else np.asarray(errors)
    batch = natural.shape[:-1]
    full = (*batch, dim, dim)

    def unpack(vector):
        n_a = dim * dim
        mu = vector[..., :dim]
        alpha = vector[..., dim : dim + n_a].reshape(*batch, dim, dim)
        beta = vector[..., dim + n_a :].reshape(*batch, *shape)
        return HawkesParams(mu=mu, alpha=alpha, beta=np.broadcast_to(beta, full).copy())

    scalar = (lambda x, kind: kind(x)) if not batch else (lambda x, kind: x)
    return FitResult(
        params=unpack(natural),
        std_errors=unpack(errors),
        log_likelihood=scalar(loglik, float),
        branching_ratio=scalar(rho, float),
        n_iter=scalar(n_iter, int),
        converged=scalar(grad_norm <= tol, bool),
        grad_norm=scalar(grad_norm, float),
        n_events=scalar(n_events, int),
        horizon_s=scalar(horizon, float),
        beta_structure=structure.value,
        start_log_likelihoods=-np.sort(-starts, axis=-1),
    )
