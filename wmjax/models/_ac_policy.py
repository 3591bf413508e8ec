"""A learned Almgren-Chriss model: one flax network that schedules any order.

In the spirit of the closed form, whose feedback rule trades the fraction
1 - sinh(kappa (T - t_k)) / sinh(kappa (T - t_{k-1})) of what remains (Almgren & Chriss 2000,
eq. 18), the network maps the order (lambda, Q, T), the market's (sigma, eta) and the clock to the
fraction of the remaining shares to trade now; the last interval trades the rest. Trained once
across a distribution of (sigma, eta, lambda, Q, T) on E[IS] + lambda Var[IS], it serves orders
it has not seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from wmjax._checks import positive, positive_int, require
from wmjax.execution import (
    Observation,
    Order,
    RolloutConfig,
    TrainResult,
    ac_kappa,
    ac_optimal_moments,
    mean_variance,
    rollout,
    train,
)
from wmjax.market import ImpactMarket, ImpactParams, impact_params


class _MLP(nn.Module):
    hidden: int

    @nn.compact
    def __call__(self, x):
        x = nn.tanh(nn.Dense(self.hidden)(x))
        x = nn.tanh(nn.Dense(self.hidden)(x))
        return nn.Dense(1)(x)[..., 0]


@dataclass(frozen=True)
class ScheduleNet:
    """Policy: shares to trade = sigmoid(MLP(features)) * remaining; the last step finishes.

    Features: logs of lambda, sigma, eta, Q and T relative to `reference` values (so inputs are
    of order one), the fraction of time left and 1 / intervals left. Hashable: pass it to
    `rollout` as the policy, with the flax params from `init`.
    """

    hidden: int = 32
    reference: tuple[float, float, float, float, float] = (1e-6, 1.0, 2.5e-6, 3e5, 2.0)

    def init(self, key: jax.Array):
        """Flax params of the network."""
        return _MLP(self.hidden).init(key, jnp.zeros(7, jnp.float32))

    def features(self, obs: Observation) -> jax.Array:
        lam_ref, sigma_ref, eta_ref, q_ref, t_ref = self.reference
        o = obs.order
        logs = jnp.log(
            jnp.stack(
                [
                    jnp.maximum(o.risk_aversion, 1e-12) / lam_ref,
                    obs.market.sigma / sigma_ref,
                    obs.market.eta / eta_ref,
                    o.quantity_shares / q_ref,
                    o.horizon_days / t_ref,
                ]
            )
        )
        steps_left = (obs.n_steps - obs.step).astype(jnp.float32)
        clock = jnp.stack([obs.time_left_days / o.horizon_days, 1.0 / steps_left])
        return jnp.concatenate([logs, clock])

    def __call__(self, params, obs: Observation) -> jax.Array:
        frac = jax.nn.sigmoid(_MLP(self.hidden).apply(params, self.features(obs)))
        last = obs.step == obs.n_steps - 1
        return jnp.where(last, obs.remaining_shares, frac * obs.remaining_shares)


@dataclass(frozen=True)
class OrderDistribution:
    """Log-uniform ranges (low, high) for training and testing a `ScheduleNet` on linear impact."""

    sigma: tuple[float, float] = (0.5, 1.5)
    eta: tuple[float, float] = (1e-6, 5e-6)
    risk_aversion: tuple[float, float] = (1e-7, 3e-6)
    quantity_shares: tuple[float, float] = (1e5, 1e6)
    horizon_days: tuple[float, float] = (1.0, 5.0)

    def sample(self, key: jax.Array, n: int) -> dict[str, jax.Array]:
        """n draws of each quantity, float32 arrays (n,)."""
        out = {}
        for name, k in zip(
            ("sigma", "eta", "risk_aversion", "quantity_shares", "horizon_days"),
            jax.random.split(key, 5),
            strict=True,
        ):
            lo, hi = getattr(self, name)
            u = jax.random.uniform(k, (n,), jnp.float32)
            out[name] = jnp.exp(jnp.log(lo) + u * (jnp.log(hi) - jnp.log(lo)))
        return out


def _problems(draws: dict, n_steps: int) -> tuple[ImpactParams, Order]:
    base = impact_params(n_steps)
    n = draws["sigma"].shape[0]
    params = jax.tree.map(lambda leaf: jnp.broadcast_to(leaf, (n, *jnp.shape(leaf))), base)
    params = params.replace(sigma=draws["sigma"], eta=draws["eta"])
    orders = Order(
        quantity_shares=draws["quantity_shares"],
        horizon_days=draws["horizon_days"],
        side=jnp.ones(n, jnp.float32),
        risk_aversion=draws["risk_aversion"],
    )
    return params, orders


def _optimal_objective(draws, n_steps):
    # the closed-form optimum, used only as each order's scale so all orders weigh alike
    x, t, lam = draws["quantity_shares"], draws["horizon_days"], draws["risk_aversion"]
    kappa = ac_kappa(t / n_steps, draws["sigma"], draws["eta"], lam)
    e, v = ac_optimal_moments(kappa, x, t, n_steps, draws["sigma"], draws["eta"])
    return e + lam * v


def train_schedule_net(
    key: jax.Array,
    net: ScheduleNet = ScheduleNet(),
    distribution: OrderDistribution | None = None,
    *,
    n_steps: int = 10,
    n_orders: int = 32,
    n_paths: int = 16,
    n_updates: int = 600,
    learning_rate: float = 3e-3,
    callback=None,
) -> TrainResult:
    """Train `net` on linear impact across `distribution`: each update draws `n_orders` orders
    and markets, runs `n_paths` antithetic paths of each through `rollout`, and minimises the
    mean over orders of (E[IS] + lambda Var[IS]) / (the closed-form optimum, as a scale). Fresh keys
    every update (stochastic gradient; the sample variance is unbiased)."""
    positive_int("n_orders", n_orders)
    positive_int("n_updates", n_updates)
    positive("learning_rate", learning_rate)
    require(n_paths % 2 == 0, f"n_paths must be even (antithetic), got {n_paths}")
    config = RolloutConfig(n_paths=n_paths, n_steps=n_steps, antithetic=True, shard=False)
    market = ImpactMarket()
    distribution = distribution or OrderDistribution()

    def loss(params, k):
        k_draw, k_paths = jax.random.split(k)
        draws = distribution.sample(k_draw, n_orders)
        market_params, orders = _problems(draws, n_steps)

        def one(mp, o, kk):
            paths = rollout(kk, market, mp, net, params, o, config)
            return mean_variance(paths.is_currency, o.risk_aversion)

        objs = jax.vmap(one)(market_params, orders, jax.random.split(k_paths, n_orders))
        return jnp.mean(objs / _optimal_objective(draws, n_steps))

    k_init, k_train = jax.random.split(key)
    schedule = optax.cosine_decay_schedule(learning_rate, n_updates, alpha=0.05)
    return train(
        loss, net.init(k_init), optax.adam(schedule), k_train, n_updates, callback=callback
    )


def schedule_net_trades(net: ScheduleNet, params, draws: dict, n_steps: int) -> np.ndarray:
    """The trade lists (shares, (n, n_steps)) the net chooses for each drawn order; they do not
    depend on prices, so one path each suffices."""
    market_params, orders = _problems(draws, n_steps)
    config = RolloutConfig(n_paths=1, n_steps=n_steps, shard=False)

    def one(mp, o):
        return rollout(jax.random.key(0), ImpactMarket(), mp, net, params, o, config).shares[0]

    return np.asarray(jax.jit(jax.vmap(one))(market_params, orders))
