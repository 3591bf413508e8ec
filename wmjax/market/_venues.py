"""Venues: one lit market (the impact-level `ImpactMarket`) plus K dark pools.

Each dark pool i holds, in every decision interval, a random quantity of hidden liquidity
L_i lots (`lot_shares` shares each), drawn afresh from the pool's own distribution: a zero bin
(no liquidity at all, probability `zero_prob`) and a tail, either 1 + Poisson(mean) lots or a
discrete power law with P(L >= s) = s^(-alpha) for s >= 1 (L = floor(U^(-1/alpha))). This is the
setting of Ganchev, Kearns, Nevmyvaka & Wortman Vaughan (2010): an allocation of v_i shares
fills min(v_i, available_i) and the trader observes only that (censored when it filled in full).

One interval of `VenuesMarket.step` routes a child order of `shares` shares as follows:

1. dark first: pool i fills min(dark_i, L_i * lot) at mid + side (1 - improvement_frac_i) eps,
   eps the lit half spread (improvement_frac = 1: a midpoint pool, the full half spread saved);
2. adverse selection: the mid then moves against us by `adverse_bps_per_lot_i` bps for every
   lot filled in pool i (information leaks to the pool's informed counterparties);
3. the rest of the child order, shares - sum of dark fills, goes to the lit market at the moved
   mid and pays its half spread and impact (`ImpactMarket.step`).

A part of the child order may instead rest as a limit order at the lit near touch
(`passive_shares`, taken before the dark and lit parts): it fills min(passive, f V E) at
mid - side eps (it earns the half spread and pays no impact), V the interval's market volume,
f `passive_fill_share` and E ~ Exp(1) drawn from the step key only; what does not fill is
cancelled at the interval's end and stays with the parent order (the schedule carries it).
The lit market may be `ImpactMarket` or `RegimeImpactMarket` (a regime chain under the lit
prices; the pools and the limit order are the same in either regime).

The dark liquidity is drawn from the step key only, never from the allocation, so every router
meets the same pools on the same key (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, positive, positive_int, require
from wmjax.market._impact_market import ImpactMarket, ImpactObservation, ImpactParams, ImpactState
from wmjax.market._protocol import Fills
from wmjax.market._regime_market import (
    RegimeImpactMarket,
    RegimeObservation,
    RegimeParams,
    RegimeState,
)

TAIL_KINDS = ("poisson", "power_law")
POISSON_MAX_LOTS = 127
POISSON_MAX_MEAN_LOTS = 50.0
_DARK_STREAM = 1
_PASSIVE_STREAM = 2


@struct.dataclass
class VenueParams:
    """Lit market params plus K dark pools (arrays (K,); a PyTree: vmap over venue sets).

    Attributes:
        lit: `ImpactParams` of the lit market (its `epsilon` is the half spread).
        lot_shares: shares per lot of dark liquidity.
        zero_prob: (K,) probability that a pool has no liquidity in an interval.
        tail_kind: (K,) 0 for a 1 + Poisson tail, 1 for a power-law tail (`TAIL_KINDS`).
        poisson_mean_lots: (K,) mean of the Poisson part of the tail, lots.
        power_exponent: (K,) alpha of the power-law tail, P(L >= s) = s^(-alpha).
        improvement_frac: (K,) share of the half spread a dark fill saves (1: midpoint).
        adverse_bps_per_lot: (K,) mid move against us per lot filled in the pool, bps.
        passive_fill_share: mean share of an interval's market volume a limit order resting
            at the lit near touch can fill (0: limit orders never fill).
    """

    lit: ImpactParams | RegimeParams
    lot_shares: jax.Array
    zero_prob: jax.Array
    tail_kind: jax.Array
    poisson_mean_lots: jax.Array
    power_exponent: jax.Array
    improvement_frac: jax.Array
    adverse_bps_per_lot: jax.Array
    passive_fill_share: jax.Array = 0.0

    @property
    def n_steps(self) -> int:
        return self.lit.n_steps

    @property
    def n_venues(self) -> int:
        return int(np.shape(self.zero_prob)[-1])


def venue_params(
    lit: ImpactParams,
    *,
    zero_prob,
    tail_kind,
    poisson_mean_lots=None,
    power_exponent=None,
    improvement_frac=None,
    adverse_bps_per_lot=None,
    lot_shares: float = 100.0,
    passive_fill_share: float = 0.0,
) -> VenueParams:
    """Checked float32 `VenueParams` for K pools; `tail_kind` holds "poisson" / "power_law"
    names (or 0 / 1). Defaults: Poisson mean 4 lots, alpha 1.5, midpoint pools, no adverse
    selection, limit orders that never fill."""
    require(
        isinstance(lit, ImpactParams | RegimeParams),
        "lit must be ImpactParams or RegimeParams (use impact_params(...) / regime_params(...))",
    )
    zero = finite_array("zero_prob", zero_prob, ndim=1)
    k = zero.size
    require(k >= 1, "zero_prob needs one entry per dark pool (at least one pool)")
    require(bool(np.all((zero >= 0) & (zero < 1))), f"zero_prob must lie in [0, 1), got {zero}")
    kinds = [TAIL_KINDS.index(t) if t in TAIL_KINDS else -1 if isinstance(t, str) else t
             for t in tail_kind]  # fmt: skip
    kind = finite_array("tail_kind", kinds, ndim=1)
    require(
        bool(np.all(np.isin(kind, (0, 1)))),
        f"tail_kind entries must be one of {TAIL_KINDS} (or 0 / 1), got {list(tail_kind)}",
    )

    def per_pool(name, value, default, allow_zero):
        arr = np.full(k, default) if value is None else positive(name, value, allow_zero=allow_zero)
        arr = np.broadcast_to(arr, np.shape(arr) if np.ndim(arr) else (k,))
        require(arr.shape == (k,), f"{name} must have one entry per pool ({k}), got {arr.shape}")
        return jnp.asarray(arr, jnp.float32)

    poisson_mean = per_pool("poisson_mean_lots", poisson_mean_lots, 4.0, False)
    require(
        bool(jnp.all(poisson_mean <= POISSON_MAX_MEAN_LOTS)),
        f"poisson_mean_lots must be <= {POISSON_MAX_MEAN_LOTS} lots; use a larger lot_shares",
    )
    improvement = per_pool("improvement_frac", improvement_frac, 1.0, True)
    require(bool(jnp.all(improvement <= 1)), "improvement_frac must lie in [0, 1]")
    require(kind.shape == (k,), f"tail_kind must have one entry per pool ({k})")
    return VenueParams(
        lit=lit,
        lot_shares=jnp.float32(positive("lot_shares", lot_shares)),
        zero_prob=jnp.asarray(zero, jnp.float32),
        tail_kind=jnp.asarray(kind, jnp.int32),
        poisson_mean_lots=poisson_mean,
        power_exponent=per_pool("power_exponent", power_exponent, 1.5, False),
        improvement_frac=improvement,
        adverse_bps_per_lot=per_pool("adverse_bps_per_lot", adverse_bps_per_lot, 0.0, True),
        passive_fill_share=jnp.float32(
            positive("passive_fill_share", passive_fill_share, allow_zero=True)
        ),
    )


def sample_venues(key, lit: ImpactParams, n_venues: int, lot_shares: float = 100.0) -> VenueParams:
    """K pools drawn from a broad prior (for training and held-out venue sets; vmap over keys):
    zero_prob ~ U(0.1, 0.7), tail Poisson or power law with equal odds, Poisson mean ~ U(1, 8)
    lots, alpha ~ U(0.8, 2.5), improvement_frac 0.5 or 1, adverse ~ U(0, 0.1) bps per lot."""
    k = positive_int("n_venues", n_venues)
    ks = jax.random.split(key, 6)
    u = lambda i, lo, hi: jax.random.uniform(ks[i], (k,), jnp.float32, lo, hi)  # noqa: E731
    return VenueParams(
        lit=lit,
        lot_shares=jnp.float32(lot_shares),
        zero_prob=u(0, 0.1, 0.7),
        tail_kind=jax.random.bernoulli(ks[1], 0.5, (k,)).astype(jnp.int32),
        poisson_mean_lots=u(2, 1.0, 8.0),
        power_exponent=u(3, 0.8, 2.5),
        improvement_frac=jnp.where(jax.random.bernoulli(ks[4], 0.5, (k,)), 1.0, 0.5),
        adverse_bps_per_lot=u(5, 0.0, 0.1),
        passive_fill_share=jnp.float32(0.0),
    )


def sample_liquidity(key, params: VenueParams, shape: tuple[int, ...] = ()) -> jax.Array:
    """(*shape, K) hidden liquidity of each pool for one interval (or `shape` independent
    intervals), whole lots (float32)."""
    k_zero, k_pois, k_pow = jax.random.split(key, 3)
    full = (*shape, params.zero_prob.shape[-1])
    # Poisson by inversion on 0 .. POISSON_MAX_LOTS (fast and exact to float32 for
    # means <= POISSON_MAX_MEAN_LOTS, which `venue_params` enforces)
    k = jnp.arange(POISSON_MAX_LOTS + 1, dtype=jnp.float32)
    lam = params.poisson_mean_lots[:, None]
    cdf = jnp.cumsum(jnp.exp(k * jnp.log(lam) - lam - jax.lax.lgamma(k + 1.0)), axis=-1)
    u = jax.random.uniform(k_pois, full, jnp.float32)
    below = jax.vmap(jnp.searchsorted, in_axes=(0, -1), out_axes=-1)(cdf, u)
    poisson = 1.0 + below.astype(jnp.float32)
    u = jax.random.uniform(k_pow, full, jnp.float32, minval=1e-30, maxval=1.0)
    # floor(U^(-1/alpha)) has P(L >= s) = s^(-alpha); capped far above any allocation
    power = jnp.floor(jnp.minimum(u ** (-1.0 / params.power_exponent), 1e9))
    tail = jnp.where(params.tail_kind == 0, poisson, power)
    return jnp.where(jax.random.uniform(k_zero, full) < params.zero_prob, 0.0, tail)


def liquidity_tails(params: VenueParams, max_lots: int) -> jax.Array:
    """(K, max_lots + 1) true tails T_i(s) = P(L_i >= s) for s = 0 .. max_lots lots."""
    s = jnp.arange(max_lots + 1, dtype=jnp.float32)[None, :]
    lam = params.poisson_mean_lots[:, None]
    # P(1 + N >= s) = P(N >= s - 1) = regularised lower incomplete gamma P(s - 1, lam)
    poisson = jnp.where(s <= 1, 1.0, jax.scipy.special.gammainc(jnp.maximum(s - 1, 1.0), lam))
    power = jnp.where(s <= 1, 1.0, s ** (-params.power_exponent[:, None]))
    tail = jnp.where(params.tail_kind[:, None] == 0, poisson, power)
    return jnp.where(s == 0, 1.0, (1.0 - params.zero_prob[:, None]) * tail)


@struct.dataclass
class VenueAction:
    """One interval's routing: `shares` of the child order in all, `dark_shares` (K,) of them
    sent to the pools first (scaled down if they exceed `shares`); the rest goes lit.
    `expected_fill_shares` (K,) is the router's own forecast of the dark fills (zeros if it
    makes none): the market only records it beside the realised fills, for checking routers'
    predictions; it changes nothing. `passive_shares` of `shares` rest as a limit order at the
    lit near touch for the interval (taken first; the dark and lit parts share the rest)."""

    shares: jax.Array
    dark_shares: jax.Array
    expected_fill_shares: jax.Array
    passive_shares: jax.Array = 0.0


@struct.dataclass
class VenuesState:
    """The lit market's state and, per pool, the shares sent and filled so far on this path,
    and the fills the router expected (the sum of its `expected_fill_shares`)."""

    lit: ImpactState | RegimeState
    sent_shares: jax.Array
    filled_shares: jax.Array
    expected_shares: jax.Array


@struct.dataclass
class VenuesObservation:
    """What a router sees: the lit observation and half spread (price units), its own censored
    record per pool so far (shares sent, shares filled), the lot size, and the interval's
    market volume (shares, as it prints: POV tracks it)."""

    mid: jax.Array
    lit: ImpactObservation | RegimeObservation
    lit_half_spread: jax.Array
    sent_shares: jax.Array
    filled_shares: jax.Array
    lot_shares: jax.Array
    volume_shares: jax.Array


@dataclass(frozen=True)
class VenuesMarket:
    """The lit market plus K dark pools (static configuration; follows `wmjax.market.Market`).

    Attributes:
        n_venues: number of dark pools K (static: the shape of the routing action).
        lit: the lit market (impact-level, `ImpactMarket` or `RegimeImpactMarket`).
    """

    n_venues: int
    lit: ImpactMarket | RegimeImpactMarket = field(default_factory=ImpactMarket)

    def __post_init__(self):
        positive_int("n_venues", self.n_venues)

    def init(self, key, params: VenueParams, order, n_steps: int) -> VenuesState:
        zeros = jnp.zeros(self.n_venues, jnp.float32)
        return VenuesState(self.lit.init(key, params.lit, order, n_steps), zeros, zeros, zeros)

    def observe(self, state: VenuesState, params: VenueParams) -> VenuesObservation:
        lit = self.lit.observe(state.lit, params.lit)
        return VenuesObservation(
            mid=lit.mid,
            lit=lit,
            lit_half_spread=_impact(params.lit).epsilon,
            sent_shares=state.sent_shares,
            filled_shares=state.filled_shares,
            lot_shares=params.lot_shares,
            volume_shares=lit.volume_shares,
        )

    def step(self, key, state: VenuesState, action: VenueAction, params: VenueParams):
        # the lit market gets the step key itself, so routing nothing dark or passive reproduces
        # the lit market alone path by path; the pools and the touch draw from streams off it
        k_dark = jax.random.fold_in(key, _DARK_STREAM)
        available = sample_liquidity(k_dark, params) * params.lot_shares
        shares = jnp.asarray(action.shares, jnp.float32)
        lit_obs = self.lit.observe(state.lit, params.lit)
        mid, side = lit_obs.mid, _impact(state.lit).side
        half_spread = _impact(params.lit).epsilon
        touch = params.passive_fill_share * lit_obs.volume_shares
        touch = touch * jax.random.exponential(jax.random.fold_in(key, _PASSIVE_STREAM))
        passive = jnp.clip(jnp.asarray(action.passive_shares, jnp.float32), 0.0, shares)
        passive_filled = jnp.minimum(passive, touch)
        marketable = shares - passive
        dark = jnp.maximum(jnp.asarray(action.dark_shares, jnp.float32), 0.0)
        total_dark = jnp.sum(dark)
        dark = dark * jnp.minimum(1.0, marketable / jnp.maximum(total_dark, 1e-9))
        filled = jnp.minimum(dark, available)
        dark_price = mid + side * (1.0 - params.improvement_frac) * half_spread
        move = side * mid * 1e-4 * jnp.sum(params.adverse_bps_per_lot * filled / params.lot_shares)
        lit_state = _shift_price(state.lit, move)
        lit_state, lit_fills = self.lit.step(
            key, lit_state, marketable - jnp.sum(filled), params.lit
        )
        next_state = VenuesState(
            lit_state,
            state.sent_shares + dark,
            state.filled_shares + filled,
            state.expected_shares + action.expected_fill_shares,
        )
        return next_state, Fills(
            shares=lit_fills.shares + jnp.sum(filled) + passive_filled,
            notional=lit_fills.notional
            + jnp.sum(filled * dark_price)
            + passive_filled * (mid - side * half_spread),
            market_volume_shares=lit_fills.market_volume_shares,
        )

    def mirror(self, params: VenueParams) -> VenueParams:
        """Antithetic twin: the lit market's price noise negated (dark liquidity unchanged)."""
        return params.replace(lit=self.lit.mirror(params.lit))


def _impact(tree):
    # the `ImpactParams` / `ImpactState` under a lit market's params or state (regime or not)
    if isinstance(tree, RegimeParams):
        return tree.base
    return tree.inner if isinstance(tree, RegimeState) else tree


def _shift_price(lit_state, move):
    if isinstance(lit_state, RegimeState):
        return lit_state.replace(inner=_shift_price(lit_state.inner, move))
    return lit_state.replace(price=lit_state.price + move)
