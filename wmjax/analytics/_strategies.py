"""Strategies a desk compares, as one batchable policy so they run side by side on common paths.

Every standard strategy (TWAP, VWAP, Almgren-Chriss optimal, POV, aggressive) is a
`StrategyParams`: a trade list of fractions, or a participation rate. One policy function,
`strategy_policy`, plays any of them, so a stack of strategies is a PyTree with a leading
strategy axis and runs as one `vmap` on the same keys (common random numbers). A trained policy
(any `policy(params, obs)`) joins as a `Strategy` of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, positive, require
from wmjax.execution import (
    Observation,
    POVParams,
    ac_optimal,
    aggressive,
    pov,
    pov_policy,
    schedule_policy,
    twap,
    vwap,
)


@struct.dataclass
class StrategyParams:
    """A standard strategy as policy params.

    Attributes:
        fractions: (n_steps,) trade list as fractions of the order (used when `pov_rate` is 0).
        pov_rate: participation rate of the market's volume per interval; 0 for a trade list.
    """

    fractions: jax.Array
    pov_rate: jax.Array


def strategy_policy(params: StrategyParams, obs: Observation) -> jax.Array:
    """Shares to trade: POV at `pov_rate` (finishing in the last interval) when it is > 0, the
    trade list `fractions` otherwise."""
    planned = schedule_policy(params.fractions, obs)
    following = pov_policy(POVParams(params.pov_rate, jnp.float32(1.0)), obs)
    return jnp.where(params.pov_rate > 0, following, planned)


@dataclass(frozen=True)
class Strategy:
    """A named strategy: `policy(params, obs) -> shares`. Standard ones use `strategy_policy`."""

    name: str
    policy: Any
    params: Any


def schedule_strategy(name: str, fractions) -> Strategy:
    """A trade-list strategy (fractions of the order per interval, summing to 1)."""
    fr = jnp.asarray(fractions, jnp.float32)
    return Strategy(name, strategy_policy, StrategyParams(fr, jnp.float32(0.0)))


def pov_strategy(name: str, rate: float, n_steps: int) -> Strategy:
    """A percentage-of-volume strategy at `rate` (0 < rate <= 1) that finishes at the end."""
    p = pov(rate)
    return Strategy(name, strategy_policy, StrategyParams(twap(n_steps), p.rate))


def ac_risk_aversion(risk_aversion_std: float, std_currency: float) -> float:
    """The Almgren-Chriss lambda (1 / currency) matching a mean + lambda_std * std criterion.

    At an optimum of E + lambda_std * sqrt(V) the trade-off dE/dV is lambda_std / (2 sqrt(V)), so
    the AC 2000 mean-variance problem with lambda = lambda_std / (2 std) has the same first-order
    condition; `std_currency` is the std of the cost at the reference (TWAP) schedule.
    """
    return float(risk_aversion_std) / (2.0 * max(float(std_currency), 1e-12))


def effective_eta(market_params, order) -> float:
    """Linear temporary impact (price units per share/day) for the AC schedule: the market's
    `eta`, or, where it has none, the power-law impact linearised at the TWAP trading rate."""
    eta = float(market_params.eta)
    if eta > 0:
        return eta
    n = market_params.n_steps
    tau = float(order.horizon_days) / n
    q = float(order.quantity_shares) / n
    volume = float(market_params.daily_volume_shares) * float(np.mean(market_params.volume_frac))
    y = float(market_params.sqrt_coefficient)
    cost = y * float(market_params.sigma) * (q / volume) ** float(market_params.sqrt_exponent)
    return max(cost / (q / tau), 1e-12)


def standard_strategies(
    order, market_params, *, pov_rates=(0.1,), aggressive_decay: float = 1.0
) -> list[Strategy]:
    """TWAP, VWAP, AC-optimal, POV at each of `pov_rates`, and aggressive (front-loaded with
    fractions proportional to exp(-decay * k)) for `order` on `market_params`.

    The AC schedule uses the order's risk aversion converted by `ac_risk_aversion` against the
    TWAP schedule's closed-form std, and the market's sigma, eta (see `effective_eta`), gamma.
    """
    n = market_params.n_steps
    require(len(pov_rates) >= 0, "pov_rates must be a sequence of rates")
    horizon = float(order.horizon_days)
    sigma = float(market_params.sigma)
    gamma = float(market_params.gamma)
    eta = effective_eta(market_params, order)
    tau = horizon / n
    # std of TWAP's cost under arithmetic Brownian prices: sigma * sqrt(tau * sum x_k^2)
    x = float(order.quantity_shares) * (1.0 - np.arange(1, n + 1) / n)
    std_twap = sigma * np.sqrt(tau * np.sum(x[:-1] ** 2)) if n > 1 else 0.0
    lam = ac_risk_aversion(float(order.risk_aversion), std_twap)
    try:
        ac = ac_optimal(n, horizon, sigma, eta, gamma, lam)
    except InputError:  # eta_tilde <= 0 or overflow: fall back to the risk-neutral line
        ac = twap(n)
    out = [
        schedule_strategy("twap", twap(n)),
        schedule_strategy("vwap", vwap(np.asarray(market_params.volume_frac))),
        schedule_strategy("ac_optimal", ac),
    ]
    for rate in pov_rates:
        positive("pov rate", rate)
        out.append(pov_strategy(f"pov_{round(100 * float(rate)):g}", float(rate), n))
    out.append(schedule_strategy("aggressive", aggressive(n, aggressive_decay)))
    return out


def group_strategies(strategies) -> list[tuple[Any, list[int], Any]]:
    """Group strategies that share a policy and a params structure; returns (policy, indices,
    stacked params) per group, so each group runs as one vmap over its strategy axis."""
    require(len(strategies) >= 1, "strategies must hold at least one Strategy")
    groups: dict = {}
    for i, s in enumerate(strategies):
        require(isinstance(s, Strategy), f"strategies[{i}] must be a Strategy, got {type(s)}")
        leaves, treedef = jax.tree.flatten(s.params)
        sig = (s.policy, treedef, tuple(np.shape(leaf) for leaf in leaves))
        groups.setdefault(sig, []).append(i)
    out = []
    for (policy, _, _), idx in groups.items():
        stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *(strategies[i].params for i in idx))
        out.append((policy, idx, stacked))
    return out
