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

from wmjax._checks import positive_int
from wmjax.calibrate._inputs import (
    event_arrays,
    fit_layout,
    parse_beta_structure,
    require_enough,
    warn_late_start,
)
from wmjax.hawkes import EventLayout, layout_log_likelihood, spectral_radius

MU_SCALE, ALPHA_SCALE, BETA_SCALE = 1.0, 1.5, 2.0
#: Names of the reported quantities, in summary order.
SITES = ("mu", "alpha", "beta", "branching_ratio")


@dataclasses.dataclass(frozen=True)
class BayesResult:
    """Posterior draws and their summary.

    samples: site -> array with a leading (num_chains * num_samples) axis: mu (S, d), alpha and
    beta (S, d, d), branching_ratio (S,). summary: site -> {"mean", "sd", "q5", "q95", "r_hat",
    "ess"} arrays of the site's shape. num_divergences counts divergent transitions after warmup.
    """

    samples: dict
    summary: dict
    num_chains: int
    num_samples: int
    num_divergences: int
    n_events: int
    horizon_s: float


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


def fit_bayes(
    events,
    horizon_s,
    dim: int | None = None,
    *,
    num_warmup: int = 500,
    num_samples: int = 500,
    num_chains: int = 4,
    key=None,
    beta_structure: str = "full",
    chain_method: str = "vectorized",
    progress_bar: bool = False,
) -> BayesResult:
    """Posterior of mu, alpha, beta and the branching ratio by NUTS (see the module docstring
    for the priors). events: `HawkesEvents` or a `(times_s, marks)` pair; key: a jax PRNG key
    (default key(0)). chain_method: "vectorized" (chains run side by side; best on CPU),
    "sequential" or "parallel". Runs in float64. Raises InputError for bad input.
    """
    structure = parse_beta_structure(beta_structure)
    num_warmup = positive_int("num_warmup", num_warmup)
    num_samples = positive_int("num_samples", num_samples, minimum=4)  # split r_hat needs 4
    num_chains = positive_int("num_chains", num_chains)
    times, marks, horizon, dim = event_arrays(events, horizon_s, dim)
    warn_late_start(times, horizon)
    shape = structure.shape(dim)
    require_enough(times.size, dim + dim * dim + shape[0] * shape[1], "fit_bayes")
    counts = np.bincount(marks, minlength=dim).astype(np.float64)
    key = jax.random.key(0) if key is None else key
    with jax.enable_x64(True):
        data = fit_layout(times, marks, horizon, dim)
        model = functools.partial(_model, dim=dim, beta_shape=shape)
        kernel = NUTS(model, init_strategy=init_to_uniform(radius=1.0))
        mcmc = MCMC(
            kernel,
            num_warmup=num_warmup,
            num_samples=num_samples,
            num_chains=num_chains,
            chain_method=chain_method,
            progress_bar=progress_bar,
            jit_model_args=True,
        )
        mcmc.run(
            key,
            data,
            jnp.log(jnp.asarray(counts / horizon)),
            jnp.log(4.0 * counts.sum() / horizon),
            extra_fields=("diverging",),
        )
        grouped = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
        divergences = int(np.sum(np.asarray(mcmc.get_extra_fields()["diverging"])))
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
    )
