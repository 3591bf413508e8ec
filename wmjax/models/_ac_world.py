"""The Almgren-Chriss world model: time-varying sigma_k, eta_k, gamma_k and a schedule policy.

Two parts over one parameter PyTree:
- heads: per-interval market features (log relative volume, time of day, P(stressed), the day's
  volatility, liquidity and permanent-impact levels) -> log sigma_k, log eta_k, log gamma_k;
  fitted by regression on markets whose true expected paths are known (`expected_paths`,
  `expected_gamma_path`).
- trajectory policy: [sigma path, eta path, lambda, Q, T] -> a static schedule. It predicts in
  the closed form's own coordinates: AC 2000 (eq. 18) holds x_k = sinh(kappa (T - t_k)) /
  sinh(kappa T), a sinh of the phase left, kappa tau per interval. The policy keeps that shape
  and learns each interval's phase, phi_j = kappa tau exp(c_j), with kappa at the paths' rms
  sigma and mean eta; x_k = sinh(sum_{j>k} phi_j) / sinh(sum_j phi_j). Every decreasing
  schedule has such phases; the flat limits are local in them (low urgency trades in
  proportion to phi_j, high urgency decays at the local rate), so c_j = g(u) . (the log
  deviations of sigma and eta at j and its neighbours) + c(d, u) - c(0, u): per-interval gains
  g of the urgency u = log(lambda sigma^2 T^2 / eta) plus an MLP of all deviations d. On flat
  paths c = 0 and the policy *is* the closed form; elsewhere it is trained by differentiating
  E[IS] + lambda Var[IS] (bps; lambda in 1 / bps) through `RegimeImpactMarket` with
  `wmjax.execution.rollout` and `train`.
- planning: the policy's schedule is refined by `plan_steps` conjugate-gradient steps
  (`refine_ac_trades`) on the first-order conditions of the model's own objective E + lambda V
  on the paths it is given (in pre-trade, the heads' sigma_k, eta_k and gamma_k): planning in the
  learned model, unrolled, so training differentiates through it. The net is the warm start; with
  exact paths n_steps - 1 steps reach the tridiagonal optimum whatever the start. A permanent
  impact path enters the policy as AC 2000's eta~_k = eta_k - gamma_k tau / 2 (exact for a flat
  gamma) and the planning steps add the rest (the (gamma_{k+1} - gamma_k) / 2 diagonal).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from wmjax._checks import positive, positive_int, require
from wmjax.execution import (
    RolloutConfig,
    TrainResult,
    ac_kappa,
    mean_variance,
    refine_ac_trades,
    rollout,
    schedule_policy,
    trades_from_holdings,
    train,
)
from wmjax.market import (
    RegimeImpactMarket,
    RegimeParams,
    expected_gamma_path,
    expected_paths,
)
from wmjax.models._ac_problems import ARRIVAL_PRICE, PathDistribution, problem_markets
from wmjax.models._weights import WEIGHTS, load_params, save_params


class _Correction(nn.Module):
    """[d_sigma (n), d_eta (n), urgency] -> log phase corrections (n): local gains of the
    urgency on the deviations at j - 1, j, j + 1, plus an MLP of everything."""

    n_out: int
    hidden: int

    @nn.compact
    def __call__(self, x):
        n = self.n_out
        d_sigma, d_eta, ctx = x[:n], x[n : 2 * n], x[2 * n :]
        zeros = nn.initializers.zeros
        gains = nn.Dense(6 * n, kernel_init=zeros)(nn.tanh(nn.Dense(16)(ctx))).reshape(6, n)
        pad = lambda v: jnp.pad(v, 1)  # noqa: E731
        local = jnp.stack(
            [
                d_sigma,
                d_eta,
                pad(d_sigma)[:-2],  # the interval before
                pad(d_eta)[:-2],
                pad(d_sigma)[2:],  # the interval after
                pad(d_eta)[2:],
            ]
        )
        h = nn.tanh(nn.Dense(self.hidden)(x))
        h = nn.tanh(nn.Dense(self.hidden)(h))
        return nn.Dense(n, kernel_init=zeros)(h) + jnp.sum(gains * local, axis=0)


class _Heads(nn.Module):
    hidden: int

    @nn.compact
    def __call__(self, x):
        x = nn.tanh(nn.Dense(self.hidden)(x))
        return nn.Dense(3)(nn.tanh(nn.Dense(self.hidden)(x)))


def _sinh_holdings(phases: jax.Array) -> jax.Array:
    """Holdings (n + 1,) from 1 to 0: sinh(Psi_k) / sinh(Psi_0), Psi_k = sum_{j>=k} phases_j,
    written with exp and expm1 so that it neither overflows (Psi ~ 50) nor loses the low-urgency
    limit Psi_k / Psi_0."""
    psi = jnp.concatenate([jnp.cumsum(phases[::-1])[::-1], jnp.zeros(1, phases.dtype)])
    return jnp.exp(psi - psi[0]) * jnp.expm1(-2.0 * psi) / jnp.expm1(-2.0 * psi[0])


@struct.dataclass
class ACWorldParams:
    """policy: the sigma / eta correction; heads: the market-feature heads; gamma_policy: the
    permanent-impact correction (zero on flat gamma paths; flax variables each)."""

    policy: dict
    heads: dict
    gamma_policy: dict


def _lambda_currency(risk_aversion_bps, quantity_shares, arrival_price):
    # E_bps + lam Var_bps = c (E + lam c Var) with c = 1e4 / (Q S0): lambda per currency unit
    return risk_aversion_bps * 1e4 / (quantity_shares * arrival_price)


@dataclass(frozen=True)
class AlmgrenChrissWorldModel:
    """Heads for sigma_k, eta_k, gamma_k and the schedule policy for `n_steps` intervals, refined by
    `plan_steps` planning steps (0: the policy alone)."""

    n_steps: int = 10
    hidden: int = 64
    plan_steps: int = 4

    def init(self, key: jax.Array) -> ACWorldParams:
        k_policy, k_heads, k_gamma = jax.random.split(key, 3)
        n = self.n_steps
        return ACWorldParams(
            policy=_Correction(n, self.hidden).init(k_policy, jnp.zeros(2 * n + 1)),
            heads=_Heads(self.hidden).init(k_heads, jnp.zeros(N_FEATURES)),
            gamma_policy=_Correction(n, self.hidden).init(k_gamma, jnp.zeros(3 * n + 1)),
        )

    def schedule(
        self,
        params,
        sigma_path,
        eta_path,
        risk_aversion_bps,
        quantity_shares,
        horizon_days,
        arrival_price=ARRIVAL_PRICE,
        gamma_path=0.0,
    ) -> jax.Array:
        """Trade fractions (n_steps,) summing to 1 for one order; paths in price units
        (`gamma_path`: permanent impact per share, a scalar or (n_steps,))."""
        n = self.n_steps
        tau = horizon_days / n
        sigma_bar = jnp.sqrt(jnp.mean(sigma_path**2))
        eta_in = eta_path
        gamma_path = jnp.broadcast_to(gamma_path, eta_path.shape)
        eta_path = eta_path - 0.5 * tau * gamma_path
        eta_bar = jnp.mean(eta_path)
        lam = _lambda_currency(risk_aversion_bps, quantity_shares, arrival_price)
        # floored: lambda = 0 is TWAP, the limit of small phases
        phase = jnp.maximum(ac_kappa(tau, sigma_bar, eta_bar, lam) * tau, 1e-6)
        urgency = jnp.log(jnp.maximum(lam * sigma_bar**2 * horizon_days**2 / eta_bar, 1e-8))
        dev = jnp.concatenate([jnp.log(sigma_path / sigma_bar), jnp.log(eta_path / eta_bar)])
        net = _Correction(n, self.hidden)
        ctx = urgency[None] / 4.0
        corr = net.apply(params.policy, jnp.concatenate([dev, ctx])) - net.apply(
            params.policy, jnp.concatenate([jnp.zeros_like(dev), ctx])
        )
        # the permanent-impact drift (gamma_{k+1} - gamma_k) / 2 on the conditions' diagonal,
        # relative to eta~ / tau (x10: order one); exactly 0 for a flat gamma
        drift = jnp.pad(5.0 * tau * jnp.diff(gamma_path) / eta_bar, (0, 1))
        g_in = jnp.concatenate([dev[n:], dev[:n], ctx])
        corr = (
            corr
            + net.apply(params.gamma_policy, jnp.concatenate([drift, g_in]))
            - net.apply(params.gamma_policy, jnp.concatenate([jnp.zeros_like(drift), g_in]))
        )
        fractions = trades_from_holdings(_sinh_holdings(phase * jnp.exp(corr)))
        return refine_ac_trades(
            fractions, sigma_path, eta_in, lam, horizon_days, self.plan_steps, gamma_path
        ).astype(fractions.dtype)

    def fit_paths(self, params, features: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Heads: (n_steps, 8) `ac_market_features` -> sigma_k, eta_k, gamma_k (price units)."""
        out = _Heads(self.hidden).apply(params.heads, features)
        return (
            jnp.exp(out[..., 0] + features[..., 3]),
            1e-7 * jnp.exp(out[..., 1] + features[..., 4]),
            1e-8 * jnp.exp(out[..., 2] + features[..., 7]),
        )


N_FEATURES = 8


def ac_market_features(params: RegimeParams) -> jax.Array:
    """What a desk knows before trading, per interval (n_steps, 8): log(volume share * n),
    time (fraction of the horizon), P(stressed) under the regime chain, log sigma, log eta, the
    regime model's log volatility and log liquidity-cost multipliers of the stressed state
    relative to the calm one, and log gamma (the day's permanent-impact level)."""
    n = params.n_steps
    *_, p_stressed = expected_paths(params)
    base = params.base
    t = (jnp.arange(n) + 0.5) / n
    rel_volume = jnp.log(base.volume_frac * n / jnp.sum(base.volume_frac))
    ones = jnp.ones(n)
    stress_sigma = jnp.log(params.regime_sigma_mult[1] / params.regime_sigma_mult[0])
    stress_eta = jnp.log(params.regime_eta_mult[1] / params.regime_eta_mult[0])
    return jnp.stack(
        [
            rel_volume,
            t,
            p_stressed,
            ones * jnp.log(base.sigma),
            ones * jnp.log(base.eta * 1e7),
            ones * stress_sigma,
            ones * stress_eta,
            ones * jnp.log(jnp.maximum(base.gamma, 1e-12) * 1e8),
        ],
        axis=-1,
    )


def batch_schedules(model: AlmgrenChrissWorldModel, params, problems: dict) -> jax.Array:
    """Fractions (n, n_steps) for a batch of problems (vmapped `schedule`; without a
    "gamma_path", no permanent impact)."""
    gamma = problems.get("gamma_path", jnp.zeros_like(problems["eta_path"]))
    return jax.vmap(model.schedule, in_axes=(None, 0, 0, 0, 0, 0, None, 0))(
        params,
        problems["sigma_path"],
        problems["eta_path"],
        problems["risk_aversion_bps"],
        problems["quantity_shares"],
        problems["horizon_days"],
        ARRIVAL_PRICE,
        gamma,
    )


def train_ac_world_model(
    key: jax.Array,
    model: AlmgrenChrissWorldModel = AlmgrenChrissWorldModel(),
    distribution: PathDistribution | None = None,
    *,
    n_orders: int = 32,
    n_paths: int = 64,
    n_updates: int = 400,
    learning_rate: float = 3e-3,
    init_params: ACWorldParams | None = None,
    train_policy: bool = True,
    clip_norm: float = 1.0,
    callback=None,
) -> TrainResult:
    """Train the policy on E[IS_bps] + lambda Var[IS_bps] through `RegimeImpactMarket`: each
    update draws `n_orders` problems, runs `n_paths` antithetic paths of each through
    `rollout` and minimises the mean objective over orders relative to the constant-parameter
    closed form's (a scale only). Starts from `init_params` (default: fresh); trains the sigma /
    eta correction and the gamma correction, or the gamma correction alone (`train_policy`
    False: the model on flat-gamma problems stays exactly as it was). Updates are clipped to
    global gradient norm `clip_norm`, and `train` skips an update whose gradient is not finite
    (a long run at 1e-3 once diverged to a NaN loss without them).
    The heads are left as they were (`train_ac_heads`)."""
    distribution = distribution or PathDistribution(n_steps=model.n_steps)
    require(distribution.n_steps == model.n_steps, "distribution.n_steps must equal model.n_steps")
    positive_int("n_orders", n_orders)
    positive("learning_rate", learning_rate)
    require(n_paths % 2 == 0, f"n_paths must be even (antithetic), got {n_paths}")
    positive("clip_norm", clip_norm)
    config = RolloutConfig(n_paths=n_paths, n_steps=model.n_steps, antithetic=True, shard=False)
    market = RegimeImpactMarket()
    closed_form = replace(model, plan_steps=0)

    k_init, k_train = jax.random.split(key)
    init = model.init(k_init) if init_params is None else init_params

    def loss(trained, k):
        k_draw, k_paths = jax.random.split(k)
        problems = distribution.sample(k_draw, n_orders)
        markets, orders = problem_markets(problems, model.n_steps)
        params = init.replace(**trained)
        fractions = batch_schedules(model, params, problems)
        # the closed form at the mean parameters (the correction is 0 on flat paths)
        closed = batch_schedules(closed_form, model.init(jax.random.key(0)), problems)

        def one(mp, o, f, f0, kk):
            run = lambda fr: mean_variance(  # noqa: E731
                rollout(kk, market, mp, schedule_policy, fr, o, config).is_bps, o.risk_aversion
            )
            return run(f) / jax.lax.stop_gradient(run(f0))

        keys = jax.random.split(k_paths, n_orders)
        return jnp.mean(jax.vmap(one)(markets, orders, fractions, closed, keys))

    trained = {"gamma_policy": init.gamma_policy}
    if train_policy:
        trained["policy"] = init.policy
    sched = optax.cosine_decay_schedule(learning_rate, n_updates, alpha=0.05)
    optimizer = optax.chain(optax.clip_by_global_norm(clip_norm), optax.adam(sched))
    result = train(loss, trained, optimizer, k_train, n_updates, callback=callback)
    return replace(result, params=init.replace(**result.params))


def train_ac_heads(
    key,
    model: AlmgrenChrissWorldModel,
    params: ACWorldParams,
    markets: RegimeParams,
    *,
    n_updates: int = 800,
    learning_rate: float = 3e-3,
) -> ACWorldParams:
    """Fit the heads by least squares in logs on `markets`' exact `expected_paths` and
    `expected_gamma_path` (markets need gamma > 0)."""
    x = jax.vmap(ac_market_features)(markets)
    sigma, eta, _ = jax.vmap(expected_paths)(markets)
    gamma = jax.vmap(expected_gamma_path)(markets)

    def loss(heads, _key):
        s, e, g = model.fit_paths(params.replace(heads=heads), x)
        return jnp.mean(jnp.log(s / sigma) ** 2 + jnp.log(e / eta) ** 2 + jnp.log(g / gamma) ** 2)

    sched = optax.cosine_decay_schedule(learning_rate, n_updates, alpha=0.05)
    fit = train(loss, params.heads, optax.adam(sched), key, n_updates, fresh_keys=False)
    return params.replace(heads=fit.params)


PRETRAINED = WEIGHTS / "ac_world_v1.msgpack"


def save_ac_world(path, params: ACWorldParams) -> None:
    """Write the model's params (flax msgpack)."""
    save_params(path, params)


def load_ac_world(path=None, model: AlmgrenChrissWorldModel = AlmgrenChrissWorldModel()):
    """Read params written by `save_ac_world` (default: the packaged pre-trained
    `ac_world_v1.msgpack`, trained by benchmarks/execution_world.py)."""
    return load_params(PRETRAINED if path is None else path, model.init(jax.random.key(0)))
