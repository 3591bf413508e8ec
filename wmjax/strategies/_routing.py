"""Routing child orders between the lit market and K dark pools.

- `llp_split`: the stochastic-approximation split of Laruelle, Lehalle & Pagès (2011, "Optimal
  split of orders across liquidity pools: a stochastic algorithm approach", SIAM J. Financial
  Math. 2): maximise Phi(r) = E[sum_i theta_i min(r_i V, D_i)] over the simplex with the
  recursive zero search r <- Proj(r + gamma_n H(r, D)),
  H_i = V (theta_i 1{r_i V < D_i} - mean_j theta_j 1{r_j V < D_j}); 1{r_i V < D_i} is the
  censoring flag (pool i filled us in full), so the split learns from censored fills alone.
  Iterates are Ruppert-Polyak averaged (Polyak & Juditsky 1992).
- Routers as execution policies (any schedule's child order, then a split): `split_route_policy`
  (a fixed split: uniform, lit-only and the SA split), `greedy_route_policy` (Ganchev et al.'s
  greedy on estimated tails, in whole lots).
- `venue_set_rollouts`: one policy on B venue sets at once (vmap of `wmjax.execution.rollout`).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, is_concrete, positive, positive_int, require
from wmjax.execution import Observation, Order, RolloutConfig, rollout, schedule_policy
from wmjax.market._venues import VenueAction
from wmjax.strategies._censored import expected_fill_lots, greedy_allocation


def project_simplex(v: jax.Array) -> jax.Array:
    """Euclidean projection of `v` (K,) onto {r >= 0, sum r = 1} (Duchi et al. 2008, fig. 1)."""
    u = jnp.sort(v)[::-1]
    css = jnp.cumsum(u)
    k = jnp.arange(1, v.shape[-1] + 1, dtype=v.dtype)
    rho = jnp.sum(u - (css - 1.0) / k > 0)
    theta = (css[rho - 1] - 1.0) / rho
    return jnp.maximum(v - theta, 0.0)


@struct.dataclass
class SplitResult:
    """Outcome of `llp_split`: the averaged split (K,), the last iterate (K,), and the running
    average after every iteration (n_iter, K) for learning curves."""

    split: jax.Array
    last: jax.Array
    path: jax.Array


@partial(jax.jit, static_argnames=("burn_in",))
def _llp(capacities, volume, rebates, step0, power, burn_in):
    k = capacities.shape[-1]

    def body(carry, xs):
        r, avg = carry
        t, d = xs
        full = (r * volume)[None, :] < d
        gain = rebates * full
        h = volume * jnp.mean(gain - jnp.mean(gain, axis=-1, keepdims=True), axis=0)
        r = project_simplex(r + step0 / (1.0 + t) ** power * h)
        n_avg = jnp.maximum(t - burn_in + 1.0, 1.0)
        avg = jnp.where(t >= burn_in, avg + (r - avg) / n_avg, r)
        return (r, avg), avg

    r0 = jnp.full(k, 1.0 / k, capacities.dtype)
    steps = jnp.arange(capacities.shape[0], dtype=capacities.dtype)
    (last, avg), path = jax.lax.scan(body, (r0, r0), (steps, capacities))
    return SplitResult(avg, last, path)


def llp_split(
    capacities, volume, rebates=None, *, step0: float = 1.0, power: float = 0.75,
    burn_in: int | None = None,
) -> SplitResult:  # fmt: skip
    """Laruelle-Lehalle-Pagès split of `volume` over K pools from capacity draws `capacities`
    (n_iter, batch, K) or (n_iter, K) (same units as `volume`; iteration n sees the n-th draws:
    common random numbers), rebates theta (K,) (default ones), step gamma_n = step0 /
    (1 + n)^power (1/2 < power <= 1), averaging after `burn_in` iterations (default n_iter / 10).
    """
    d = jnp.asarray(capacities, jnp.float32)
    if d.ndim == 2:
        d = d[:, None, :]
    require(d.ndim == 3, f"capacities must be (n_iter, K) or (n_iter, batch, K), got {d.shape}")
    theta = jnp.ones(d.shape[-1]) if rebates is None else jnp.asarray(rebates, jnp.float32)
    require(theta.shape == (d.shape[-1],), f"rebates must have one entry per pool ({d.shape[-1]})")
    if is_concrete(capacities, volume, theta):  # checked here; under vmap, the caller's job
        finite_array("capacities", capacities)
        positive("rebates", theta)
        positive("volume", volume)
    p = float(positive("power", power))
    require(0.5 < p <= 1.0, f"power must be in (1/2, 1] for convergence, got {p}")
    burn = d.shape[0] // 10 if burn_in is None else positive_int("burn_in", burn_in, minimum=0)
    return _llp(d, jnp.asarray(volume, jnp.float32), theta, jnp.float32(positive("step0", step0)),
                jnp.float32(p), burn)  # fmt: skip


@struct.dataclass
class SplitRoute:
    """A schedule (`fractions` (n_steps,) of the order per interval) whose every child order
    sends `dark_split` (K,) shares of itself to the pools (sum <= 1) and the rest lit."""

    fractions: jax.Array
    dark_split: jax.Array


def split_route_policy(params: SplitRoute, obs: Observation) -> VenueAction:
    child = schedule_policy(params.fractions, obs)
    dark = params.dark_split * child
    return VenueAction(shares=child, dark_shares=dark, expected_fill_shares=jnp.zeros_like(dark))


def uniform_route(fractions, n_venues: int) -> SplitRoute:
    """The child order split evenly over the pools (what does not fill goes lit)."""
    k = positive_int("n_venues", n_venues)
    return SplitRoute(jnp.asarray(fractions, jnp.float32), jnp.full(k, 1.0 / k, jnp.float32))


def lit_only_route(fractions, n_venues: int) -> SplitRoute:
    """Everything lit."""
    k = positive_int("n_venues", n_venues)
    return SplitRoute(jnp.asarray(fractions, jnp.float32), jnp.zeros(k, jnp.float32))


@struct.dataclass
class GreedyRoute:
    """A schedule whose child orders are allocated in whole lots by `greedy_allocation` on
    `tails` (K, S + 1); the part of a lot left over and what the pools do not fill go lit.
    The expected fills it reports are the plug-in sum_{s <= v_i} T_i(s) of its tails."""

    fractions: jax.Array
    tails: jax.Array


def greedy_route_policy(params: GreedyRoute, obs: Observation) -> VenueAction:
    child = schedule_policy(params.fractions, obs)
    lots = jnp.floor(jnp.maximum(child, 0.0) / obs.market.lot_shares)
    alloc = greedy_allocation(params.tails, lots)
    expected = expected_fill_lots(params.tails, alloc) * obs.market.lot_shares
    return VenueAction(child, alloc * obs.market.lot_shares, expected)


@partial(jax.jit, static_argnames=("market", "policy", "config"))
def _venue_set_rollouts(keys, market, venues, policy, params, order, config):
    run = lambda k, v, p: rollout(k, market, v, policy, p, order, config)  # noqa: E731
    return jax.vmap(run)(keys, venues, params)


def venue_set_rollouts(
    key, market, venues, policy, params, order: Order, config: RolloutConfig
):  # fmt: skip
    """`rollout` of `policy` on each of B venue sets: `venues` and `params` carry a leading
    axis B (vmapped together); set b uses paths of fold_in(key, b), the same for every policy
    (common random numbers). Returns `Paths` with leading axes (B, n_paths)."""
    n_sets = int(np.shape(venues.zero_prob)[0])
    keys = jax.vmap(lambda b: jax.random.fold_in(key, b))(jnp.arange(n_sets))
    return _venue_set_rollouts(keys, market, venues, policy, params, order, config)
