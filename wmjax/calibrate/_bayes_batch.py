"""NUTS on many data sets at once, for simulation studies (replicated coverage checks).

The model and priors are `fit_bayes`'s (`wmjax.calibrate._bayes._model`). The data enter the
sampler as a model argument of numpyro's functional NUTS kernel (`numpyro.infer.hmc.hmc` with
`potential_fn_gen`), so one compiled sampler serves every data set: it is `vmap`ped over
(data set, chain) pairs and `lax.scan`ned over iterations, inside one jit. Step size and a
diagonal mass matrix are adapted per chain during warmup, as `fit_bayes` does (numpyro's
defaults: target acceptance 0.8, tree depth 10). Chains start at z uniform in (-0.3, 0.3) of
the non-centred sites, around the prior medians: there every alpha_ij <= 0.5 e^0.45 / d, so the
spectral radius is below 0.8 for any d and every start is stationary.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.diagnostics import effective_sample_size, hpdi, split_gelman_rubin
from numpyro.infer.hmc import hmc
from numpyro.infer.util import constrain_fn, potential_energy

from wmjax._checks import positive_int
from wmjax.calibrate._bayes import SITES, _model
from wmjax.calibrate._inputs import batch_layouts, parse_beta_structure

_START_RADIUS = 0.3


@dataclasses.dataclass(frozen=True)
class BayesBatchResult:
    """Posterior summaries of B data sets. summary: site -> {"mean", "sd", "q5", "q95",
    "r_hat", "ess"} arrays of shape (B, *site shape), with q5-q95 the 90 % highest-density
    interval as in `fit_bayes`; num_divergences: (B,) divergent transitions after warmup;
    n_events: (B,) events per data set."""

    summary: dict
    num_chains: int
    num_samples: int
    num_divergences: np.ndarray
    n_events: np.ndarray


def fit_bayes_batch(
    events,
    horizon_s,
    dim: int,
    *,
    num_warmup: int = 500,
    num_samples: int = 500,
    num_chains: int = 2,
    key=None,
    beta_structure: str = "full",
) -> BayesBatchResult:
    """`fit_bayes` on B data sets of equal capacity in one jitted call (no Python loop).

    events: `HawkesEvents` with a leading data-set axis (e.g. `jax.vmap(simulate)` over keys;
    no buffer may have overflowed); horizon_s: a number or (B,) seconds; key: a jax PRNG key
    (default key(0)). Runs in float64. Raises InputError for bad input.
    """
    structure = parse_beta_structure(beta_structure)
    num_warmup = positive_int("num_warmup", num_warmup)
    num_samples = positive_int("num_samples", num_samples, minimum=4)  # split r_hat needs 4
    num_chains = positive_int("num_chains", num_chains)
    dim = positive_int("dim", dim)
    shape = structure.shape(dim)
    n_params = dim + dim * dim + shape[0] * shape[1]
    key = jax.random.key(0) if key is None else key
    with jax.enable_x64(True):
        data, counts, horizon = batch_layouts(events, horizon_s, dim, n_params, "fit_bayes_batch")
        draws, diverging = _sample(
            key,
            data,
            jnp.log(counts / horizon[:, None]),
            jnp.log(4.0 * counts.sum(axis=1) / horizon),
            dim=dim,
            beta_shape=shape,
            num_warmup=num_warmup,
            num_samples=num_samples,
            num_chains=num_chains,
        )
        draws = {k: np.asarray(v) for k, v in draws.items()}  # (B, chains, samples, ...)
    return BayesBatchResult(
        summary={site: _summary(draws[site]) for site in SITES},
        num_chains=num_chains,
        num_samples=num_samples,
        num_divergences=np.asarray(diverging).sum(axis=1),
        n_events=counts.sum(axis=1).astype(int),
    )


@functools.partial(
    jax.jit, static_argnames=("dim", "beta_shape", "num_warmup", "num_samples", "num_chains")
)
def _sample(
    key, data, log_rate, log_beta0, *, dim, beta_shape, num_warmup, num_samples, num_chains
):
    model = functools.partial(_model, dim=dim, beta_shape=beta_shape)
    sizes = {"z_mu": (dim,), "z_alpha": (dim, dim), "z_beta": beta_shape}

    def potential_fn_gen(*args):
        return lambda z: potential_energy(model, args, {}, z)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_fn_gen, algo="NUTS")

    def one_chain(k, *args):
        k_start, k_run = jax.random.split(k)
        starts = jax.random.split(k_start, len(sizes))
        z0 = {
            name: jax.random.uniform(ks, s, jnp.float64, -_START_RADIUS, _START_RADIUS)
            for (name, s), ks in zip(sizes.items(), starts, strict=True)
        }
        state = init_kernel(z0, num_warmup, model_args=args, rng_key=k_run)

        def step(state, _):
            state = sample_kernel(state, model_args=args)
            return state, (state.z, state.diverging)

        _, (z, diverging) = jax.lax.scan(step, state, None, length=num_warmup + num_samples)
        z = jax.tree.map(lambda x: x[num_warmup:], z)
        sites = jax.vmap(lambda zi: constrain_fn(model, args, {}, zi, return_deterministic=True))(z)
        return {s: sites[s] for s in SITES}, jnp.sum(diverging[num_warmup:])

    keys = jax.random.split(key, (log_rate.shape[0], num_chains))
    chains = jax.vmap(one_chain, in_axes=(0, None, None, None))
    return jax.vmap(chains)(keys, data, log_rate, log_beta0)


def _summary(x: np.ndarray) -> dict:
    """Per data set summary of draws (B, chains, samples, ...): mean, sd, 90 % HPDI, r_hat, ESS."""
    by_chain = np.moveaxis(x, 0, 2)  # (chains, samples, B, ...)
    flat = by_chain.reshape(-1, *by_chain.shape[2:])
    low, high = hpdi(flat, prob=0.9, axis=0)
    return {
        "mean": flat.mean(axis=0),
        "sd": flat.std(axis=0, ddof=1),
        "q5": low,
        "q95": high,
        "r_hat": split_gelman_rubin(by_chain),
        "ess": effective_sample_size(by_chain),
    }
