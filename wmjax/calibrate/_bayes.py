"""Bayesian calibration of a multivariate exponential Hawkes process with numpyro NUTS.

The likelihood is the exact Hawkes log-likelihood, added with `numpyro.factor`. Priors (weakly
informative, scaled by the data; N_i events of type i over T seconds, N = sum N_i):

    mu_i     ~ LogNormal(log(N_i / (2T)), 1)        baseline near half the observed rate
    alpha_ij ~ LogNormal(log(1 / (2d)), 1.5)        branching ratio ~0.5 a priori, wide
    beta     ~ LogNormal(log(4 N / T), 2)           decays a few times the event rate, very wide
    truncated to the stationary region: spectral radius of alpha < 1.

The truncation is in the support: the model adds -inf to the log density where the spectral
radius is >= 1, so NUTS treats such proposals as divergent and never accepts them; every returned
sample is stationary. Each site is sampled as a standard normal z and transformed
(non-centred), which keeps the geometry NUTS sees close to isotropic. r_hat and the effective
sample size come from `numpyro.diagnostics` (split-chain Gelman-Rubin, Geyer's ESS).

Start and metric (`start="mle"`, the default): with many events the posterior is close to the
Gaussian of the Laplace approximation, so the sampler is started where it already is. L-BFGS
finds the MLE (`fit_mle`'s optimiser, `n_starts` starts), the Hessian of the potential in z at
that point comes from `layout_hessian` (chunked, O(N d) memory) by the chain rule, and NUTS runs
with its inverse as a fixed dense inverse mass matrix: the whitened posterior is nearly
isotropic, trajectories are a few leapfrog steps long and draws nearly independent, so warmup
only tunes the step size. Each chain starts at a draw from that Gaussian (a stationary one;
else at the MLE), so r_hat still compares chains from different points. Where the Hessian is not
positive definite, or with `start="prior"`, chains start at z uniform in (-1, 1) and a diagonal
mass matrix is adapted during warmup (numpyro's windowed adaptation).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.diagnostics import summary as numpyro_summary
from numpyro.infer import MCMC, NUTS, init_to_uniform

from wmjax._checks import positive_int, require
from wmjax.calibrate._inputs import (
    event_arrays,
    fit_layout,
    parse_beta_structure,
    require_enough,
    warn_late_start,
)
from wmjax.calibrate._mle import _fit_jit, inverse_spd
from wmjax.calibrate._starts import N_STARTS
from wmjax.hawkes import EventLayout, layout_log_likelihood, spectral_radius
from wmjax.hawkes._likelihood import layout_hessian

MU_SCALE, ALPHA_SCALE, BETA_SCALE = 1.0, 1.5, 2.0
#: Names of the reported quantities, in summary order.
SITES = ("mu", "alpha", "beta", "branching_ratio")
#: The sampled (non-centred) sites, in the order of the flat parameter vector (mu, alpha, beta).
_Z_SITES = ("z_mu", "z_alpha", "z_beta")
_STARTS = ("mle", "prior")
_CHAIN_METHODS = ("auto", "vectorized", "parallel", "sequential")


def _chain_method(method: str, num_chains: int) -> str:
    """numpyro's chain method for `method`: "auto" runs the chains in parallel, one per device,
    when there are devices enough (on a CPU, `XLA_FLAGS=--xla_force_host_platform_device_count=2`
    gives one per core: the recursion is sequential, so two chains on two cores take the wall
    time of one), else vectorised side by side on one device."""
    require(
        method in _CHAIN_METHODS,
        f"chain_method must be one of {', '.join(_CHAIN_METHODS)}, got {method!r}",
    )
    if method != "auto":
        return method
    return "parallel" if 1 < num_chains <= jax.local_device_count() else "vectorized"


@dataclasses.dataclass(frozen=True)
class BayesResult:
    """Posterior draws and their summary.

    samples: site -> array with a leading (num_chains * num_samples) axis: mu (S, d), alpha and
    beta (S, d, d), branching_ratio (S,). summary: site -> {"mean", "sd", "q5", "q95", "r_hat",
    "ess"} arrays of the site's shape. num_divergences counts divergent transitions after warmup;
    mean_steps is the mean number of leapfrog steps (gradient evaluations) per draw after warmup.
    """

    samples: dict
    summary: dict
    num_chains: int
    num_samples: int
    num_divergences: int
    n_events: int
    horizon_s: float
    mean_steps: float = float("nan")


def _model(data: EventLayout, log_rate, log_beta0, dim: int, beta_shape: tuple[int, int]):
    z_mu = numpyro.sample("z_mu", dist.Normal(0.0, 1.0).expand([dim]).to_event(1))
    z_alpha = numpyro.sample("z_alpha", dist.Normal(0.0, 1.0).expand([dim, dim]).to_event(2))
    z_beta = numpyro.sample("z_beta", dist.Normal(0.0, 1.0).expand(list(beta_shape)).to_event(2))
    mu = numpyro.deterministic("mu", jnp.exp(log_rate + jnp.log(0.5) + MU_SCALE * z_mu))
    alpha = numpyro.deterministic("alpha", jnp.exp(jnp.log(0.5 / dim) + ALPHA_SCALE * z_alpha))
    beta = jnp.exp(log_beta0 + BETA_SCALE * z_beta)
    numpyro.deterministic("beta", jnp.broadcast_to(beta, (dim, dim)))
    # power iteration (no host eigvals on a GPU); the indicator needs no gradient
    rho = numpyro.deterministic("branching_ratio", spectral_radius(jax.lax.stop_gradient(alpha)))
    numpyro.factor("stationary", jnp.where(rho < 1.0, 0.0, -jnp.inf))
    numpyro.factor("log_likelihood", layout_log_likelihood(mu, alpha, beta, data))


def _location_scale(log_rate, log_beta0, dim: int, n_beta: int):
    """(P,) location and scale of log(mu, alpha, beta) = location + scale * z in `_model`."""
    location = jnp.concatenate(
        [log_rate + jnp.log(0.5), jnp.full(dim * dim, jnp.log(0.5 / dim)), jnp.full(n_beta, 0.0)]
    )
    location = location.at[dim + dim * dim :].add(log_beta0)
    scale = jnp.concatenate(
        [jnp.full(dim, MU_SCALE), jnp.full(dim * dim, ALPHA_SCALE), jnp.full(n_beta, BETA_SCALE)]
    )
    return location, scale


def _laplace(natural, data, log_rate, log_beta0, dim: int, beta_shape: tuple[int, int]):
    """z of the natural parameters (mu, alpha, beta flat) and the inverse of the potential's
    Hessian in z there (NaN when that Hessian is not positive definite). With theta =
    exp(location + scale z) and U(z) = -loglik(theta) + |z|^2 / 2 (standard normal z):
    d2U/dz2 = -J H J - diag(g theta scale^2) + I, J = diag(theta scale), g and H the
    likelihood's gradient and Hessian in theta (`layout_hessian`: O(N d) memory)."""
    location, scale = _location_scale(log_rate, log_beta0, dim, beta_shape[0] * beta_shape[1])
    z = (jnp.log(natural) - location) / scale
    mu, alpha, beta = natural[:dim], natural[dim : dim + dim * dim], natural[dim + dim * dim :]
    parts = (mu, alpha.reshape(dim, dim), beta.reshape(beta_shape))
    grad = jax.grad(lambda p: layout_log_likelihood(*p, data))(parts)
    grad = jnp.concatenate([g.ravel() for g in grad])
    jac = natural * scale
    hess = -jac[:, None] * layout_hessian(*parts, data) * jac[None, :]
    hess = hess + jnp.diag(1.0 - grad * natural * scale**2)
    return z, inverse_spd(hess)


_laplace_jit = jax.jit(_laplace, static_argnames=("dim", "beta_shape"))


def _chain_starts(key, z, inverse_mass, num_chains: int, dim: int, beta_shape):
    """{site: (chains, ...)} starts drawn from N(z, inverse_mass), kept only where alpha is
    stationary (else z itself)."""
    draws = jax.random.multivariate_normal(key, z, inverse_mass, (num_chains,))
    alpha = jnp.exp(
        jnp.log(0.5 / dim) + ALPHA_SCALE * draws[:, dim : dim + dim * dim].reshape(-1, dim, dim)
    )
    ok = jax.vmap(spectral_radius)(alpha) < 1.0
    draws = jnp.where(ok[:, None], draws, z)
    sizes = np.cumsum([dim, dim * dim])
    shapes = ((dim,), (dim, dim), beta_shape)
    return {
        name: part.reshape(num_chains, *shape)
        for name, part, shape in zip(_Z_SITES, jnp.split(draws, sizes, axis=1), shapes, strict=True)
    }


def fit_bayes(
    events,
    horizon_s,
    dim: int | None = None,
    *,
    num_warmup: int = 100,
    num_samples: int = 200,
    num_chains: int = 2,
    key=None,
    beta_structure: str = "full",
    chain_method: str = "auto",
    progress_bar: bool = False,
    start: str = "mle",
    n_starts: int = N_STARTS,
    max_tree_depth: int = 10,
    target_accept_prob: float = 0.8,
) -> BayesResult:
    """Posterior of mu, alpha, beta and the branching ratio by NUTS (see the module docstring
    for the priors, the start and the metric). events: `HawkesEvents` or a `(times_s, marks)`
    pair; key: a jax PRNG key (default key(0)). chain_method: "auto" (one chain per device in
    parallel when there are enough devices, else "vectorized": side by side on one device),
    "vectorized", "sequential" or "parallel". start: "mle" (chains start around the MLE,
    found from `n_starts` L-BFGS starts as in `fit_mle`, the likelihood being multimodal in
    the decays on real data; 1 is enough on well-posed data; with the inverse Hessian as a
    fixed dense metric) or "prior" (around the prior medians, diagonal metric adapted in warmup).
    max_tree_depth, target_accept_prob: numpyro's NUTS settings (with the dense metric trees
    stay at depth 3; depth 2 cuts the ESS per draw about 4x). Runs in float64. Raises
    InputError for bad input.
    """
    structure = parse_beta_structure(beta_structure)
    num_warmup = positive_int("num_warmup", num_warmup)
    num_samples = positive_int("num_samples", num_samples, minimum=4)  # split r_hat needs 4
    num_chains = positive_int("num_chains", num_chains)
    n_starts = positive_int("n_starts", n_starts)
    max_tree_depth = positive_int("max_tree_depth", max_tree_depth)
    require(
        0.0 < target_accept_prob < 1.0,
        f"target_accept_prob must be in (0, 1), got {target_accept_prob!r}",
    )
    require(start in _STARTS, f"start must be one of {', '.join(_STARTS)}, got {start!r}")
    chain_method = _chain_method(chain_method, num_chains)
    times, marks, horizon, dim = event_arrays(events, horizon_s, dim)
    warn_late_start(times, horizon)
    shape = structure.shape(dim)
    n_params = dim + dim * dim + shape[0] * shape[1]
    require_enough(times.size, n_params, "fit_bayes")
    counts = np.bincount(marks, minlength=dim).astype(np.float64)
    key = jax.random.key(0) if key is None else key
    key_mle, key_start, key_run = jax.random.split(key, 3)
    with jax.enable_x64(True):
        data = fit_layout(times, marks, horizon, dim)
        log_rate = jnp.log(jnp.asarray(counts / horizon))
        log_beta0 = jnp.log(4.0 * counts.sum() / horizon)
        model = functools.partial(_model, dim=dim, beta_shape=shape)
        inverse_mass = None
        if start == "mle":
            options = {"max_iter": 200, "tol": 1e-6, "stationary": True, "n_starts": n_starts}
            natural = _fit_jit(
                data, jnp.asarray(counts), jnp.zeros(n_params), jnp.asarray(True), key_mle,
                dim=dim, beta_shape=shape, **options,
            )[0]  # fmt: skip
            z, inverse_mass = _laplace_jit(natural, data, log_rate, log_beta0, dim, shape)
            if not bool(np.all(np.isfinite(np.asarray(inverse_mass)))):
                inverse_mass = None
        init_params = None
        tuning = {"max_tree_depth": max_tree_depth, "target_accept_prob": target_accept_prob}
        if inverse_mass is None:
            kernel = NUTS(model, init_strategy=init_to_uniform(radius=1.0), **tuning)
        else:
            kernel = NUTS(
                model,
                inverse_mass_matrix={_Z_SITES: inverse_mass},
                dense_mass=[_Z_SITES],
                adapt_mass_matrix=False,
                **tuning,
            )
            init_params = _chain_starts(key_start, z, inverse_mass, num_chains, dim, shape)
            if num_chains == 1:
                init_params = {k: v[0] for k, v in init_params.items()}
        mcmc = MCMC(
            kernel,
            num_warmup=num_warmup,
            num_samples=num_samples,
            num_chains=num_chains,
            chain_method=chain_method,
            progress_bar=progress_bar,
            jit_model_args=True,
        )
        fields = ("diverging", "num_steps")
        mcmc.run(key_run, data, log_rate, log_beta0, init_params=init_params, extra_fields=fields)
        grouped = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
        extra = mcmc.get_extra_fields()
        divergences = int(np.sum(np.asarray(extra["diverging"])))
        mean_steps = float(np.mean(np.asarray(extra["num_steps"])))
    stats = numpyro_summary({k: grouped[k] for k in SITES}, prob=0.9, group_by_chain=True)
    names = {"mean": "mean", "std": "sd", "5.0%": "q5", "95.0%": "q95"}
    names |= {"r_hat": "r_hat", "n_eff": "ess"}
    summary = {
        site: {new: np.asarray(stats[site][old]) for old, new in names.items()} for site in SITES
    }
    samples = {k: grouped[k].reshape(-1, *grouped[k].shape[2:]) for k in SITES}
    return BayesResult(
        samples=samples,
        summary=summary,
        num_chains=num_chains,
        num_samples=num_samples,
        num_divergences=divergences,
        n_events=int(times.size),
        horizon_s=horizon,
        mean_steps=mean_steps,
    )
