"""Objectives over per-path implementation shortfall: mean-variance, CVaR and quantiles."""

from __future__ import annotations

import jax
import jax.numpy as jnp

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
