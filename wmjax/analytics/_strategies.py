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
    ac_holdings,
    pov,
    pov_policy,
    schedule,
    schedule_policy,
    trades_from_holdings,
    twap,
)

STANDARD_NAMES = ("twap", "vwap", "ac_optimal", "aggressive")


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
    """Shares to trade: POV at `pov_rate` when it is > 0, the trade list `fractions` otherwise.

    POV keeps to its rate to the end: it does not dump what remains into the last interval
    (which would trade far above the rate), so when the market's volume is too small it ends
    incomplete and its IS charges the rest at the final mid (`completion_prob` says how often).
    """
    planned = schedule_policy(params.fractions, obs)
    following = pov_policy(POVParams(params.pov_rate, jnp.float32(0.0)), obs)
    return jnp.where(params.pov_rate > 0, following, planned)


@dataclass(frozen=True)
class Strategy:
    """A named strategy: `policy(params, obs) -> shares`. Standard ones use `strategy_policy`."""

    name: str
    policy: Any
    params: Any


def schedule_strategy(name: str, fractions) -> Strategy:
    """A trade-list strategy (fractions of the order per interval, summing to 1)."""
    return Strategy(name, strategy_policy, StrategyParams(schedule(fractions), jnp.float32(0.0)))


def pov_strategy(name: str, rate: float, n_steps: int) -> Strategy:
    """A percentage-of-volume strategy at `rate` (0 < rate <= 1), held to the end (it may end
    incomplete; see `strategy_policy`)."""
    p = pov(rate)
    return Strategy(name, strategy_policy, StrategyParams(twap(n_steps), p.rate))


def parse_strategy_name(name: str) -> tuple[str, float]:
    """("twap" | "vwap" | "ac_optimal" | "aggressive" | "pov", rate) from a name such as
    "pov_10" (POV at 10 %); InputError for anything else."""
    if name in STANDARD_NAMES:
        return name, 0.0
    if name.startswith("pov_"):
        try:
            rate = float(name[4:]) / 100.0
        except ValueError:
            rate = -1.0
        if 0.0 < rate <= 1.0:
            return "pov", rate
    raise InputError(
        f"unknown strategy {name!r}; use one of {STANDARD_NAMES} or pov_<percent> (e.g. pov_10)"
    )


def _ac_fractions(order, market_params) -> jax.Array:
    """The Almgren-Chriss (2000) optimal trade list as fractions, in jnp (vmap-able over orders).

    kappa from AC 2000 eq. (19), cosh(kappa tau) = 1 + kappa_tilde^2 tau^2 / 2, written as
    kappa tau = log1p(a + sqrt(a (a + 2))) with a = kappa_tilde^2 tau^2 / 2 so float32 keeps
    small kappa. The AC lambda (1 / currency) matching the order's mean + lambda_std * std
    criterion is lambda_std / (2 std_TWAP): at an optimum of E + lambda_std sqrt(V) the trade-off
    dE/dV is lambda_std / (2 sqrt(V)). eta is the market's, or where it has none the power-law
    impact linearised at the TWAP rate; kappa = 0 (TWAP) where eta_tilde <= 0.
    """
    n = market_params.volume_frac.shape[-1]
    q = order.quantity_shares
    horizon = order.horizon_days
    tau = horizon / n
    sigma = market_params.sigma
    k = jnp.arange(1, n, dtype=jnp.float32)
    std_twap = sigma * jnp.sqrt(tau * jnp.sum((q * (1.0 - k / n)) ** 2))
    lam = order.risk_aversion / (2.0 * jnp.maximum(std_twap, 1e-12))
    volume = market_params.daily_volume_shares * jnp.mean(market_params.volume_frac)
    linearised = (
        market_params.sqrt_coefficient
        * sigma
        * (q / n / volume) ** market_params.sqrt_exponent
        / (q / horizon)
    )
    eta = jnp.where(market_params.eta > 0, market_params.eta, linearised)
    eta_tilde = eta - 0.5 * market_params.gamma * tau
    ok = eta_tilde > 0
    a = 0.5 * lam * sigma**2 / jnp.where(ok, eta_tilde, 1.0) * tau**2
    kappa = jnp.where(ok, jnp.log1p(a + jnp.sqrt(a * (a + 2.0))) / tau, 0.0)
    return trades_from_holdings(ac_holdings(kappa, 1.0, horizon, n))


def named_strategy_params(
    names: tuple, order, market_params, aggressive_decay: float = 1.0
) -> StrategyParams:
    """`StrategyParams` stacked on a leading axis for the standard strategies `names` (see
    `parse_strategy_name`), built in jnp so it runs under jit and vmap over orders and markets.

    twap: equal shares; vwap: the expected volume profile `volume_frac`; ac_optimal:
    `_ac_fractions`; aggressive: fractions proportional to exp(-decay * k); pov_X: X % of the
    interval's volume in every interval (no catch-up at the end).
    """
    n = market_params.volume_frac.shape[-1]
    flat = jnp.full(n, 1.0 / n, jnp.float32)
    front = jnp.exp(-aggressive_decay * jnp.arange(n, dtype=jnp.float32))
    fractions, rates = [], []
    for name in names:
        kind, rate = parse_strategy_name(name)
        fractions.append(
            {
                "twap": flat,
                "pov": flat,
                "vwap": market_params.volume_frac / jnp.sum(market_params.volume_frac),
                "aggressive": front / jnp.sum(front),
                "ac_optimal": _ac_fractions(order, market_params),
            }[kind]
        )
        rates.append(rate)
    return StrategyParams(jnp.stack(fractions), jnp.asarray(rates, jnp.float32))


def standard_strategies(
    order, market_params, *, pov_rates=(0.1,), aggressive_decay: float = 1.0
) -> list[Strategy]:
    """TWAP, VWAP, AC-optimal (the order's risk aversion, see `_ac_fractions`), POV at each of
    `pov_rates`, and aggressive (front-loaded, exp(-decay * k)) for `order` on `market_params`."""
    names = ["twap", "vwap", "ac_optimal"]
    for rate in pov_rates:
        r = float(positive("pov rate", rate))
        require(r <= 1.0, f"pov rate must be <= 1, got {r}")
        names.append(f"pov_{100 * r:g}")
    names.append("aggressive")
    params = named_strategy_params(tuple(names), order, market_params, aggressive_decay)
    return [
        Strategy(name, strategy_policy, jax.tree.map(lambda x, i=i: x[i], params))
        for i, name in enumerate(names)
    ]


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
