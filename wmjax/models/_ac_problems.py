"""Problems for the Almgren-Chriss world model: held-out and training (sigma path, eta path,
gamma path, lambda, Q, T), their deterministic-path markets, and intraday markets for the heads
(U-shaped volume, regime chains) whose expected paths are known exactly."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.execution import Order
from wmjax.market import RegimeParams, impact_params, u_shaped_profile

ARRIVAL_PRICE = 50.0


@dataclass(frozen=True)
class PathDistribution:
    """Training and test problems: U-shaped sigma_k, eta_k and gamma_k paths, a stressed block.

    sigma_k = sigma exp(a (4 (t_k - c)^2 - 1/3) + s 1[k in block]), eta_k likewise with its own
    amplitude (of either sign) and the block's liquidity shock, gamma_k = r_k 2 eta_k / tau,
    a share r_k = r exp(b (4 (t_k - c)^2 - 1/3)) of the liquidity cost (r log-uniform in
    `gamma_ratio`, b of either sign up to `gamma_amplitude`; AC 2000's eta~_k = eta_k (1 - r_k)
    stays positive; (0, 0): no permanent impact, the problems of before gamma_k); lambda
    (1 / bps), Q (shares), T (days) log-uniform. The gamma draws come from their own keys: the
    other paths do not depend on them.
    """

    n_steps: int = 10
    sigma: tuple[float, float] = (0.5, 1.5)
    eta: tuple[float, float] = (1e-7, 5e-7)
    risk_aversion_bps: tuple[float, float] = (3e-5, 3e-2)
    quantity_shares: tuple[float, float] = (1e5, 1e6)
    horizon_days: tuple[float, float] = (0.25, 2.0)
    sigma_amplitude: float = 1.0
    eta_amplitude: float = 0.8
    stress: float = 0.5
    gamma_ratio: tuple[float, float] = (0.01, 0.15)
    gamma_amplitude: float = 0.5

    def sample(self, key: jax.Array, n: int) -> dict:
        """n problems: {"sigma_path", "eta_path", "gamma_path" (n, n_steps),
        "risk_aversion_bps", "quantity_shares", "horizon_days" (n,)}."""
        ks = jax.random.split(key, 10)

        def logu(k, lo_hi):
            lo, hi = np.log(lo_hi[0]), np.log(lo_hi[1])
            return jnp.exp(lo + jax.random.uniform(k, (n,)) * (hi - lo))

        t = (jnp.arange(self.n_steps) + 0.5) / self.n_steps
        centre = jax.random.uniform(ks[0], (n, 1), minval=0.3, maxval=0.7)
        shape = 4.0 * (t - centre) ** 2 - 1.0 / 3.0
        amp_s = jax.random.uniform(ks[1], (n, 1), maxval=self.sigma_amplitude)
        amp_e = jax.random.uniform(
            ks[2], (n, 1), minval=-self.eta_amplitude, maxval=self.eta_amplitude
        )
        start = jax.random.randint(ks[3], (n, 1), 0, self.n_steps)
        length = jax.random.randint(ks[4], (n, 1), 0, self.n_steps // 2 + 1)
        k = jnp.arange(self.n_steps)
        block = ((k >= start) & (k < start + length)).astype(jnp.float32)
        shock = jax.random.uniform(ks[5], (n, 2, 1), maxval=self.stress)
        k_level, k_amp = jax.random.split(jax.random.fold_in(key, 12))
        amp_g = jax.random.uniform(
            k_amp, (n, 1), minval=-self.gamma_amplitude, maxval=self.gamma_amplitude
        )
        eta = logu(ks[7], self.eta)[:, None] * jnp.exp(amp_e * shape + shock[:, 1] * block)
        horizon = logu(jax.random.fold_in(key, 11), self.horizon_days)
        gamma = (
            (logu(k_level, self.gamma_ratio) * 2.0 * self.n_steps / horizon)[:, None]
            * jnp.exp(amp_g * shape)
            * eta
            if self.gamma_ratio[1] > 0
            else jnp.zeros((n, self.n_steps))
        )
        return {
            "gamma_path": gamma,
            "sigma_path": logu(ks[6], self.sigma)[:, None]
            * jnp.exp(amp_s * shape + shock[:, 0] * block),
            "eta_path": eta,
            "risk_aversion_bps": logu(ks[8], self.risk_aversion_bps),
            "quantity_shares": logu(ks[9], self.quantity_shares),
            "horizon_days": horizon,
        }


def problem_markets(problems: dict, n_steps: int) -> tuple[RegimeParams, Order]:
    """Batched deterministic-path markets (linear impact, permanent gamma_k where the problems
    have a "gamma_path", no regime switches) and buy orders."""
    n = problems["sigma_path"].shape[0]
    base = impact_params(n_steps, arrival_price=ARRIVAL_PRICE)
    sigma_bar = jnp.sqrt(jnp.mean(problems["sigma_path"] ** 2, axis=-1))
    eta_bar = jnp.mean(problems["eta_path"], axis=-1)
    gamma = problems.get("gamma_path", jnp.zeros_like(problems["eta_path"]))
    gamma_bar = jnp.mean(gamma, axis=-1)
    bases = jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), base).replace(
        sigma=sigma_bar,
        vol_mult=problems["sigma_path"] / sigma_bar[:, None],
        eta=eta_bar,
        gamma=gamma_bar,
    )
    ones2 = jnp.ones((n, 2), jnp.float32)
    markets = RegimeParams(
        base=bases,
        eta_mult=problems["eta_path"] / eta_bar[:, None],
        gamma_mult=jnp.where(
            gamma_bar[:, None] > 0, gamma / jnp.maximum(gamma_bar, 1e-30)[:, None], 1.0
        ),
        regime_sigma_mult=ones2,
        regime_eta_mult=ones2,
        switch_prob=jnp.zeros((n, 2), jnp.float32),
        initial_regime=jnp.zeros(n, jnp.float32),
    )
    orders = Order(
        quantity_shares=problems["quantity_shares"],
        horizon_days=problems["horizon_days"],
        side=jnp.ones(n, jnp.float32),
        risk_aversion=problems["risk_aversion_bps"],
    )
    return markets, orders


def intraday_markets(key, n: int, n_steps: int) -> RegimeParams:
    """n markets for the heads: U-shaped volume of random curvature, volatility multipliers
    sqrt(share / mean) (`volatility_multipliers`), liquidity cost (share / mean)^(-1/2),
    permanent impact gamma (share / mean)^(-p) (p uniform in 0-1/2, gamma log-uniform in
    3e-8-3e-7), and a random regime chain (stress x1-2 volatility, x1-3 liquidity cost)."""
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel()[-1])
    shares = np.stack([u_shaped_profile(n_steps, 0.0, 1.0, c) for c in rng.uniform(0, 4, n)])
    rel = shares / shares.mean(-1, keepdims=True)
    base = impact_params(n_steps, arrival_price=ARRIVAL_PRICE)
    f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    bases = jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), base).replace(
        sigma=f32(np.exp(rng.uniform(np.log(0.5), np.log(1.5), n))),
        eta=f32(np.exp(rng.uniform(np.log(1e-7), np.log(5e-7), n))),
        volume_frac=f32(shares),
        vol_mult=f32(np.sqrt(rel)),
        gamma=f32(np.exp(rng.uniform(np.log(3e-8), np.log(3e-7), n))),
    )
    return RegimeParams(
        base=bases,
        eta_mult=f32(rel**-0.5),
        gamma_mult=f32(rel ** -rng.uniform(0.0, 0.5, (n, 1))),
        regime_sigma_mult=f32(np.stack([np.ones(n), rng.uniform(1, 2, n)], -1)),
        regime_eta_mult=f32(np.stack([np.ones(n), rng.uniform(1, 3, n)], -1)),
        switch_prob=f32(rng.uniform(0, 0.3, (n, 2))),
        initial_regime=f32(rng.integers(0, 2, n)),
    )
