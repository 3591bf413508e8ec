"""Objectives over per-path implementation shortfall: mean-variance, CVaR and quantiles; the
trading account (inventory, cash, mark-to-market, drawdown) of any rollout."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from wmjax.execution._order import Order
from wmjax.execution._rollout import Paths


def implementation_shortfall_bps(paths: Paths) -> jax.Array:
    """IS per path in basis points of the arrival notional (positive is a cost)."""
    return paths.is_bps


def mean_variance(values: jax.Array, risk_aversion) -> jax.Array:
    """E[x] + lambda * Var[x] over the paths (last axis; unbiased variance)."""
    return jnp.mean(values, axis=-1) + risk_aversion * jnp.var(values, axis=-1, ddof=1)


def mean_std(values: jax.Array, risk_aversion) -> jax.Array:
    """E[x] + lambda * Std[x] over the paths (last axis)."""
    return jnp.mean(values, axis=-1) + risk_aversion * jnp.std(values, axis=-1, ddof=1)


def quantile(values: jax.Array, q: float = 0.95) -> jax.Array:
    """The q-quantile over the paths (last axis), e.g. p95 of IS."""
    return jnp.quantile(values, q, axis=-1)


def cvar(values: jax.Array, alpha: float = 0.95) -> jax.Array:
    """Conditional value at risk: the mean of the worst (largest) 1 - alpha share of the paths
    (Rockafellar & Uryasev 2000); differentiable almost everywhere through the sort."""
    n = values.shape[-1]
    k = max(1, round((1.0 - alpha) * n))
    return jnp.mean(jnp.sort(values, axis=-1)[..., n - k :], axis=-1)


@struct.dataclass
class Account:
    """The trading account of a rollout, per path (leading axis n_paths; price units, shares).

    Attributes:
        inventory_shares: (n_paths, n_steps + 1) signed position before each step and at the end.
        cash: (n_paths, n_steps + 1) cash before each step and at the end (starts at 0).
        mark_to_market: (n_paths, n_steps + 1) cash + inventory x mid.
        pnl: (n_paths,) the final mark-to-market.
        max_drawdown: (n_paths,) largest fall of the mark-to-market from its running peak.
    """

    inventory_shares: jax.Array
    cash: jax.Array
    mark_to_market: jax.Array
    pnl: jax.Array
    max_drawdown: jax.Array


def account(paths: Paths, order: Order) -> Account:
    """Inventory, cash, P&L and drawdown of a rollout from its fills alone: the position is
    side x the running sum of `paths.shares`, the cash minus side x that of `paths.notional`,
    marked at `paths.mid`. For a strategy without a parent order (market making, arbitrage;
    `order` a placeholder buy) this is its whole P&L; for an execution, that of the position."""

    def running(x):
        zero = jnp.zeros_like(x[..., :1])
        return order.side * jnp.concatenate([zero, jnp.cumsum(x, axis=-1)], axis=-1)

    inventory = running(paths.shares)
    cash = -running(paths.notional)
    mark = cash + inventory * paths.mid
    peak = jax.lax.cummax(mark, axis=mark.ndim - 1)
    return Account(
        inventory_shares=inventory,
        cash=cash,
        mark_to_market=mark,
        pnl=mark[..., -1],
        max_drawdown=(peak - mark).max(axis=-1),
    )
