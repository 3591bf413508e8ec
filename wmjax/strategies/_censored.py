"""Dark-pool allocation from censored fills: Kaplan-Meier tails and the greedy allocation of
Ganchev, Kearns, Nevmyvaka & Wortman Vaughan (2010, "Censored exploration and the dark pool
problem", CACM 53(5); UAI 2009).

Sending v lots to a pool whose hidden liquidity is L fills r = min(v, L): when r < v we see L
exactly, when r = v only that L >= v (censored). With T(s) = P(L >= s) the expected fill is
E[min(v, L)] = sum_{s=1..v} T(s), so the expected total fill of an allocation is
sum_i sum_{s <= v_i} T_i(s); as each T_i is non-increasing, giving the V lots one at a time to
the pool with the largest next tail value T_i(v_i + 1) maximises it. Tails are estimated by the
Kaplan-Meier product-limit estimator (Kaplan & Meier 1958) of the censored observations; the
optimistic version keeps the tail flat where fewer than `min_at_risk` observations reach it,
so that pools are explored (Ganchev et al.'s optimistic cut-off).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive_int
from wmjax.market._venues import VenueParams, sample_liquidity


@struct.dataclass
class FillHistory:
    """Censored fill records per pool, as counts over lots 0 .. capacity (arrays (K, S + 1)).

    Attributes:
        exact: exact[i, s] observations of pool i with L = s seen exactly (r < v).
        censored: censored[i, v] observations with only L >= v known (r = v). Anything at or
            beyond the capacity S is recorded as censored at S, which loses nothing about
            T(0 .. S): the buffer never truncates what it estimates.
        markout_bps: (K,) sum of the mid moves against us seen after fills, bps.
        filled_lots: (K,) lots filled in all.
    """

    exact: jax.Array
    censored: jax.Array
    markout_bps: jax.Array
    filled_lots: jax.Array

    @property
    def capacity(self) -> int:
        return self.exact.shape[-1] - 1


def empty_history(n_venues: int, capacity: int) -> FillHistory:
    """No observations for `n_venues` pools, tails estimated on 0 .. `capacity` lots."""
    shape = (positive_int("n_venues", n_venues), positive_int("capacity", capacity) + 1)
    zeros = jnp.zeros(shape, jnp.float32)
    return FillHistory(zeros, zeros, jnp.zeros(shape[0]), jnp.zeros(shape[0]))


def record_fills(history: FillHistory, sent_lots, filled_lots, markout_bps=None) -> FillHistory:
    """Add censored observations: `sent_lots` and `filled_lots` (..., K) lots sent and filled
    (any leading batch axes are summed over; pools sent nothing add nothing); `markout_bps`
    (..., K) the mid moves seen after the fills."""
    cap = history.capacity
    k = history.exact.shape[0]
    sent = jnp.asarray(sent_lots, jnp.float32).reshape(-1, k)
    filled = jnp.asarray(filled_lots, jnp.float32).reshape(-1, k)
    seen = sent > 0
    is_exact = seen & (filled < sent) & (filled < cap)
    level = jnp.clip(filled, 0, cap).astype(jnp.int32)
    one_hot = jax.nn.one_hot(level, cap + 1, dtype=jnp.float32)
    moves = 0.0 if markout_bps is None else jnp.asarray(markout_bps).reshape(-1, k)
    return FillHistory(
        exact=history.exact + jnp.sum(one_hot * is_exact[..., None], axis=0),
        censored=history.censored + jnp.sum(one_hot * (seen & ~is_exact)[..., None], axis=0),
        markout_bps=history.markout_bps + jnp.sum(jnp.where(filled > 0, moves, 0.0), axis=0),
        filled_lots=history.filled_lots + jnp.sum(filled, axis=0),
    )


def at_risk_counts(history: FillHistory) -> jax.Array:
    """(K, S + 1) n_j: observations known to reach j lots and not known to stop above it (L >= j
    seen exactly, or censored at v > j): the Kaplan-Meier risk set."""
    exact_ge = jnp.cumsum(history.exact[:, ::-1], axis=1)[:, ::-1]
    cens_ge = jnp.cumsum(history.censored[:, ::-1], axis=1)[:, ::-1]
    cens_gt = jnp.concatenate([cens_ge[:, 1:], jnp.zeros_like(cens_ge[:, :1])], axis=1)
    return exact_ge + cens_gt


def kaplan_meier_tails(history: FillHistory, min_at_risk: float | None = None) -> jax.Array:
    """(K, S + 1) Kaplan-Meier estimates of T_i(s) = P(L_i >= s), s = 0 .. S lots.

    T(s) = prod_{j < s} (1 - d_j / n_j): d_j observations with L = j seen exactly, n_j those
    known to reach j and not known to stop above it (L >= j seen exactly, or censored at v > j).
    Plain (`min_at_risk=None`): where no observation reaches j, no liquidity is assumed beyond
    (the tail drops to 0). Optimistic: where fewer than `min_at_risk` reach j, the tail stays
    flat (hazard 0).
    """
    d = history.exact
    at_risk = at_risk_counts(history)
    hazard = jnp.where(at_risk > 0, d / jnp.maximum(at_risk, 1.0), 1.0)
    if min_at_risk is not None:
        hazard = jnp.where(at_risk >= min_at_risk, hazard, 0.0)
    survive = jnp.cumprod(1.0 - hazard, axis=1)
    return jnp.concatenate([jnp.ones_like(survive[:, :1]), survive[:, :-1]], axis=1)


def greedy_allocation(tails: jax.Array, units) -> jax.Array:
    """(K,) lots per pool maximising sum_i sum_{s <= v_i} T_i(s) subject to sum_i v_i = units
    (at most K * S; what does not fit is left unallocated), for non-increasing tails (K, S + 1).

    The greedy of Ganchev et al. gives each lot to the pool with the largest T_i(v_i + 1): with
    non-increasing tails that is the set of the `units` largest values T_i(s), s >= 1 (ties to
    the lower pool and the lower s), taken here in one stable sort instead of a loop over lots.
    """
    marginal = tails[:, 1:]
    k, s = marginal.shape
    order = jnp.argsort(-marginal.reshape(-1), stable=True)
    rank = jnp.zeros(k * s, jnp.int32).at[order].set(jnp.arange(k * s, dtype=jnp.int32))
    chosen = rank < jnp.asarray(units, jnp.int32)
    return jnp.sum(chosen.reshape(k, s), axis=1).astype(jnp.float32)


def expected_fill_lots(tails: jax.Array, lots: jax.Array) -> jax.Array:
    """(K,) E[min(v_i, L_i)] = sum_{s=1..v_i} T_i(s) for integer allocations `lots` (K,)."""
    s = jnp.arange(1, tails.shape[-1])
    return jnp.sum(jnp.where(s[None, :] <= lots[:, None], tails[:, 1:], 0.0), axis=1)


def learn_greedy(
    key,
    params: VenueParams,
    units: int,
    n_rounds: int,
    capacity: int,
    *,
    min_at_risk: float | None = 5.0,
    markout_noise_bps: float = 0.0,
) -> tuple[FillHistory, jax.Array]:
    """Ganchev et al.'s online learner: for `n_rounds` rounds allocate `units` lots by
    `greedy_allocation` on the current (optimistic unless `min_at_risk=None`) Kaplan-Meier
    tails, observe the censored fills, update. Liquidity of round t comes from fold_in(key, t)
    only (common random numbers across learners). Each fill's markout (the pool's adverse move
    plus N(0, markout_noise_bps^2) of price noise) is recorded too.

    Returns (the history after the last round, lots filled per round (n_rounds,)). Traceable;
    vmap over keys and venue params.
    """
    positive_int("n_rounds", n_rounds)
    k = params.zero_prob.shape[-1]

    def body(history, t):
        k_liq, k_noise = jax.random.split(jax.random.fold_in(key, t))
        sent = greedy_allocation(kaplan_meier_tails(history, min_at_risk), units)
        filled = jnp.minimum(sent, sample_liquidity(k_liq, params))
        noise = markout_noise_bps * jax.random.normal(k_noise, (k,))
        history = record_fills(history, sent, filled, params.adverse_bps_per_lot * filled + noise)
        return history, jnp.sum(filled)

    return jax.lax.scan(body, empty_history(k, capacity), jnp.arange(n_rounds))
