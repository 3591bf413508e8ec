"""Parameters of a multivariate Hawkes process with exponential kernels, and their checks.

    lambda_i(t) = mu_i + sum_j sum_{t_k^j < t} alpha_ij * beta_ij * exp(-beta_ij (t - t_k^j))

`alpha[i, j]` is the branching matrix: the expected number of type-i events triggered by one
type-j event (the kernel's integral). `beta[i, j]` is the decay rate of that kernel in 1/s.
The process is stationary when the spectral radius of `alpha` is below 1 (Hawkes 1971).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.scipy.linalg import expm

from wmjax._checks import finite_array, is_concrete, require


@struct.dataclass
class HawkesParams:
    """mu: (d,) baseline intensities in events/s; alpha: (d, d) branching matrix (dimensionless,
    alpha[i, j] = effect of a type-j event on type i); beta: (d, d) decay rates in 1/s.

    A PyTree: `vmap` and `grad` go through it. Build with `HawkesParams.create`, which checks it.
    """

    mu: jnp.ndarray
    alpha: jnp.ndarray
    beta: jnp.ndarray

    @property
    def dim(self) -> int:
        return self.mu.shape[-1]

    @classmethod
    def create(cls, mu, alpha, beta, *, allow_explosive: bool = False, dtype=jnp.float32):
        """Checked parameters. `mu` may be a scalar (1-D); `beta` may be a scalar or (d, d).

        Raises InputError unless mu > 0, alpha >= 0, beta > 0, all finite, shapes agree, and the
        spectral radius of alpha is < 1 (pass `allow_explosive=True` for a finite-horizon
        explosive process).
        """
        mu_arr = np.atleast_1d(finite_array("mu", mu))
        require(mu_arr.ndim == 1, f"mu must be a scalar or a vector, got shape {mu_arr.shape}")
        d = mu_arr.shape[0]
        alpha_arr = finite_array("alpha", alpha)
        alpha_arr = alpha_arr.reshape(1, 1) if alpha_arr.ndim == 0 and d == 1 else alpha_arr
        beta_arr = finite_array("beta", beta)
        beta_arr = np.full((d, d), beta_arr) if beta_arr.ndim == 0 else beta_arr
        params = cls(
            mu=jnp.asarray(mu_arr, dtype),
            alpha=jnp.asarray(alpha_arr, dtype),
            beta=jnp.asarray(beta_arr, dtype),
        )
        check_params(params, allow_explosive=allow_explosive)
        return params


def spectral_radius(alpha) -> jnp.ndarray:
    """Largest absolute eigenvalue of the branching matrix (the branching ratio)."""
    return jnp.max(jnp.abs(jnp.linalg.eigvals(jnp.asarray(alpha))))


def check_params(params: HawkesParams, *, allow_explosive: bool = False) -> None:
    """Raise InputError naming the argument if `params` is unusable; no-op on traced values."""
    if not is_concrete(params.mu, params.alpha, params.beta):
        return
    mu = finite_array("mu", params.mu)
    alpha = finite_array("alpha", params.alpha)
    beta = finite_array("beta", params.beta)
    require(mu.ndim == 1 and mu.size > 0, f"mu must be a (d,) vector, got shape {mu.shape}")
    d = mu.shape[0]
    require(alpha.shape == (d, d), f"alpha must be ({d}, {d}) to match mu, got {alpha.shape}")
    require(beta.shape == (d, d), f"beta must be ({d}, {d}) or a scalar, got {beta.shape}")
    require(bool(np.all(mu > 0)), f"mu must be > 0 in every dimension, got {mu}")
    require(bool(np.all(alpha >= 0)), f"alpha must be >= 0 (a branching matrix), got {alpha}")
    require(bool(np.all(beta > 0)), f"beta must be > 0 (decay rates in 1/s), got {beta}")
    rho = float(np.max(np.abs(np.linalg.eigvals(alpha))))
    require(
        allow_explosive or rho < 1,
        f"alpha has spectral radius {rho:.4g} >= 1, so the process is not stationary: scale alpha "
        "down, or pass allow_explosive=True to simulate a finite-horizon explosive process",
    )


def stationary_intensity(params: HawkesParams) -> jnp.ndarray:
    """Mean intensity of the stationary process, (I - alpha)^-1 mu, in events/s per dimension."""
    eye = jnp.eye(params.dim, dtype=params.mu.dtype)
    return jnp.linalg.solve(eye - params.alpha, params.mu)


def expected_count(params: HawkesParams, horizon_s) -> jnp.ndarray:
    """E[N_i(T)] per dimension for the process started empty at time 0, exactly.

    The mean excitation S_ij(t) = E[sum_k alpha_ij beta_ij exp(-beta_ij (t - t_k^j))] and the
    mean count N_i(t) solve the linear ODE dS_ij/dt = -beta_ij S_ij + alpha_ij beta_ij r_j,
    dN_i/dt = r_i with r = mu + S.sum(1) (the mean intensity), which is integrated exactly with a
    matrix exponential. For d = 1 this is mu T/(1-a) - mu a (1 - exp(-beta (1-a) T)) /
    (beta (1-a)^2).
    """
    d = params.dim

    def rhs(z):  # z = (vec S, N, 1): affine dynamics written as a linear map on z
        s = z[: d * d].reshape(d, d)
        rate = params.mu * z[-1] + s.sum(axis=1)
        ds = -params.beta * s + params.alpha * params.beta * rate[None, :]
        return jnp.concatenate([ds.reshape(-1), rate, jnp.zeros(1, z.dtype)])

    z0 = jnp.zeros(d * d + d + 1, params.mu.dtype).at[-1].set(1.0)
    generator = jax.jacfwd(rhs)(z0)
    return (expm(generator * horizon_s) @ z0)[d * d : d * d + d]
