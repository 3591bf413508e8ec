"""Pre-trade helpers: optimise the free schedule, and compare strategies on the same paths."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from wmjax._checks import positive, positive_int
from wmjax.execution._objectives import mean_std, mean_variance, quantile
from wmjax.execution._order import Order, RolloutConfig
from wmjax.execution._ranking import Ranking, objective_covariance, rank
from wmjax.execution._rollout import Policy, rollout
from wmjax.execution._schedules import free_schedule_policy
from wmjax.execution._train import TrainResult, train

OBJECTIVES = ("mean_variance", "mean_std_bps")


def schedule_objective(kind: str) -> Callable[[Any, Order], jax.Array]:
    """The objective of a rollout's paths: "mean_variance" is E + lambda Var of IS in currency
    (AC 2000's units; lambda = order.risk_aversion); "mean_std_bps" is E + lambda Std of IS in
    bps (lambda in bps per bps)."""
    if kind == "mean_variance":
        return lambda paths, o: mean_variance(paths.is_currency, o.risk_aversion)
    if kind == "mean_std_bps":
        return lambda paths, o: mean_std(paths.is_bps, o.risk_aversion)
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {kind!r}")


def optimize_schedule(
    key: jax.Array,
    market,
    market_params,
    order: Order,
    config: RolloutConfig,
    *,
    objective: str = "mean_variance",
    n_updates: int = 300,
    learning_rate: float = 0.1,
    init_logits=None,
    callback=None,
) -> TrainResult:
    """Gradient-optimise the free schedule (`free_schedule_policy`, TWAP start) on fixed keys
    (common random numbers) with Adam (invariant to the loss's scale) and a cosine-decayed
    learning rate; the result's params are the logits."""
    positive_int("n_updates (iterations)", n_updates)
    positive("learning_rate", learning_rate)
    fn = schedule_objective(objective)

    def loss(logits, k):
        paths = rollout(k, market, market_params, free_schedule_policy, logits, order, config)
        return fn(paths, order)

    logits = jnp.zeros(config.n_steps) if init_logits is None else jnp.asarray(init_logits)
    opt = optax.adam(optax.cosine_decay_schedule(learning_rate, n_updates, alpha=0.01))
    return train(loss, logits, opt, key, n_updates, fresh_keys=False, callback=callback)


def evaluate_strategies(
    key: jax.Array,
    market,
    market_params,
    strategies: dict[str, tuple[Policy, Any]],
    order: Order,
    config: RolloutConfig,
    *,
    objective: str = "mean_variance",
) -> dict[str, dict[str, Any]]:
    """Run every (policy, params) on the same paths (same key: common random numbers).

    Returns per name: mean, std and p95 of IS in bps and in currency, the objective and its
    Monte Carlo standard error `objective_se` (antithetic twins counted as one unit), mean
    completion and participation, the p95 over paths of the largest interval's participation
    (`peak_participation_p95`, what was actually used), the mean holdings trajectory (shares,
    n_steps + 1) and the per-path IS in bps and currency. `rank_strategies` ranks them.
    """
    fn = schedule_objective(objective)
    out = {}
    for name, (policy, params) in strategies.items():
        paths = rollout(key, market, market_params, policy, params, order, config)
        is_bps = np.asarray(paths.is_bps, np.float64)
        is_cur = np.asarray(paths.is_currency, np.float64)
        out[name] = {
            "mean_is_bps": float(is_bps.mean()),
            "std_is_bps": float(is_bps.std(ddof=1)),
            "p95_is_bps": float(quantile(jnp.asarray(is_bps), 0.95)),
            "mean": float(is_cur.mean()),
            "std": float(is_cur.std(ddof=1)),
            "objective": float(fn(paths, order)),
            "completion": float(np.mean(paths.completion)),
            "participation": float(np.mean(paths.participation)),
            "peak_participation_p95": float(
                np.quantile(np.max(np.asarray(paths.participation), axis=-1), 0.95)
            ),
            "trajectory": np.asarray(paths.holdings, np.float64).mean(axis=0),
            "is_bps": is_bps,
            "is_currency": is_cur,
        }
    ranking = rank_strategies(out, order, config, objective=objective)
    for name, se in zip(ranking.names, ranking.objective_se, strict=True):
        out[name]["objective_se"] = float(se)
    return out


def rank_strategies(
    stats: dict, order: Order, config: RolloutConfig, *, objective: str = "mean_variance"
) -> Ranking:
    """Rank the output of `evaluate_strategies` (same objective): each objective's SE, and the
    paired difference between the best and the runner-up with its SE ("not distinguishable"
    within 2 SE). Antithetic twins count as one independent unit."""
    kind, field = {
        "mean_variance": ("mean_variance", "is_currency"),
        "mean_std_bps": ("mean_std", "is_bps"),
    }[objective]
    names = list(stats)
    samples = np.stack([stats[n][field] for n in names])
    lam = float(order.risk_aversion)
    obj, cov = objective_covariance(samples, lam, kind, pair=2 if config.antithetic else 1)
    units = " bps" if field == "is_bps" else ""
    return rank(names, np.asarray(obj), np.asarray(cov), units=units)
