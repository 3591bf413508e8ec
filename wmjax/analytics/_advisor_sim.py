"""The advisor's market: one decision interval of a child-order market calibrated to a
`microstructure_state_v1`, and candidate actions evaluated on its simulated paths.

Calibration (all in bps of the arrival mid, signed so that positive is against our side):
the mid moves as a Brownian motion with the stock's daily volatility (per second: sigma_day /
sqrt(23400)) and a drift of `ofi_drift_spreads` spreads per interval per unit of order-flow
imbalance (order flow predicts short-term moves: Cont, Kukanov & Stoikov 2014); a market order
arrives after the state's latency, pays half the spread and walks the book, whose top five
levels hold `depth_top5_usd` over about five spreads (average walking cost
0.5 * 5 * spread * q / depth); a limit order rests `offset` behind the touch and fills when a
hazard clock of rate fill_hazard * exp(-offset / spread) rings or when the mid moves through it
(the fills that precede adverse moves), the clock slowing as the order grows against the
touch's depth (rate * depth_1 / (depth_1 + q), depth_1 = depth_top5_usd / 5); what has not filled
at the end is crossed.

A candidate executes `rate` of the interval's market volume; the part of the parent's slice
(target participation) it leaves, or takes ahead, is done in the next interval at market, so a
faster rate trades impact against drift and price risk. Objective: mean + risk_aversion * std
of the slice's cost over the paths.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int, require

REGIMES = ("calm", "normal", "stressed")
TIERS = ("low", "normal", "high")
ORDER_TYPES = ("limit", "market")
TRADING_DAY_S = 23400.0
BOOK_LEVELS = 5


@dataclass(frozen=True)
class AdvisorConfig:
    """Static settings of the advisor (hashable).

    Attributes:
        side: +1 buy, -1 sell (the parent order's side).
        target_participation: the parent schedule's participation rate (a slice per interval).
        rate_multiples: candidate rates as multiples of the target.
        offset_spreads: candidate limit offsets behind the touch, in spreads.
        adv_usd: the symbol's average daily traded value, USD.
        daily_volatility: daily volatility, fraction of the price.
        interval_s: decision interval, seconds.
        ofi_drift_spreads: expected move over the interval per unit imbalance, in spreads.
        risk_aversion: lambda on the std of the slice cost (bps per bps).
        n_paths, n_sub: simulated paths per candidate and sub-steps per interval.
        base_budget: participation budget per regime (calm, normal, stressed) before friction.
        reference_friction_bps: friction (half spread + walking cost of a slice) at which the
            budget is the full base budget; above it the budget shrinks in proportion.
        min_friction_scale: floor of that shrinkage.
        hysteresis_steps: consecutive states a new tier or regime must persist to take effect
            (the policy file's `hysteresis_steps` overrides it).
    """

    side: float = 1.0
    target_participation: float = 0.1
    rate_multiples: tuple = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
    offset_spreads: tuple = (0.0, 0.5, 1.0)
    adv_usd: float = 5e8
    daily_volatility: float = 0.02
    interval_s: float = 60.0
    ofi_drift_spreads: float = 0.5
    risk_aversion: float = 0.5
    n_paths: int = 256
    n_sub: int = 12
    base_budget: tuple = (0.25, 0.15, 0.05)
    reference_friction_bps: float = 5.0
    min_friction_scale: float = 0.25
    hysteresis_steps: int = 3

    def __post_init__(self):
        require(self.side in (1.0, -1.0, 1, -1), f"side must be +1 or -1, got {self.side}")
        t = float(positive("target_participation", self.target_participation))
        require(t <= 1.0, "target_participation must be <= 1")
        positive("rate_multiples", np.asarray(self.rate_multiples, float))
        positive("offset_spreads", np.asarray(self.offset_spreads, float), allow_zero=True)
        for name in ("adv_usd", "daily_volatility", "interval_s", "reference_friction_bps"):
            positive(name, getattr(self, name))
        positive("ofi_drift_spreads", self.ofi_drift_spreads, allow_zero=True)
        positive("risk_aversion", self.risk_aversion, allow_zero=True)
        positive_int("n_paths", self.n_paths, minimum=2)
        positive_int("n_sub", self.n_sub)
        positive_int("hysteresis_steps", self.hysteresis_steps)
        b = positive("base_budget", np.asarray(self.base_budget, float))
        require(b.shape == (3,) and np.all(b <= 1), "base_budget: three rates in (0, 1]")

    def candidates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rate, is_limit, offset in spreads) of every candidate action, float32 arrays."""
        rates = [m * self.target_participation for m in self.rate_multiples]
        rows = [(min(r, 1.0), 0.0, 0.0) for r in rates]  # market orders
        rows += [(min(r, 1.0), 1.0, o) for r, o in itertools.product(rates, self.offset_spreads)]
        arr = np.asarray(rows, np.float32)
        return arr[:, 0], arr[:, 1], arr[:, 2]


@struct.dataclass
class StateArrays:
    """A `microstructure_state_v1` as arrays (leading axes: a batch of states)."""

    spread_bps: jax.Array
    depth_top5_usd: jax.Array
    order_flow_imbalance: jax.Array
    latency_ms: jax.Array
    fill_hazard: jax.Array
    regime: jax.Array  # int32 index into REGIMES


@struct.dataclass
class LimitArrays:
    """An `execution_limits_v1` as arrays: caps the advice is intersected with."""

    max_participation_rate: jax.Array
    allow_limit: jax.Array
    allow_market: jax.Array
    max_quote_offset_bps: jax.Array
    regime_caps: jax.Array  # (3,) participation cap per regime (1 where none)


def evaluate_candidates(key, state: StateArrays, cfg: AdvisorConfig):
    """Cost of every candidate on `cfg.n_paths` paths of the state's market (one state).

    Returns (mean_bps, std_bps, adverse_rate) each (n_candidates,): the slice's cost, bps of
    the arrival mid, and the share of limit fills the mid moved through by the interval's end.
    """
    rate, is_limit, offset_spreads = (jnp.asarray(a) for a in cfg.candidates())
    spread = state.spread_bps
    h = cfg.interval_s
    dt = h / cfg.n_sub
    sigma_s = cfg.daily_volatility * 1e4 / np.sqrt(TRADING_DAY_S)
    mu = cfg.ofi_drift_spreads * state.order_flow_imbalance * cfg.side * spread / h
    k_move, k_clock = jax.random.split(key)
    z = jax.random.normal(k_move, (cfg.n_paths, cfg.n_sub + 2), jnp.float32)
    x = jnp.cumsum(mu * dt + sigma_s * np.sqrt(dt) * z[:, : cfg.n_sub], axis=1)  # (P, n_sub)
    lat_s = state.latency_ms * 1e-3
    x_lat = mu * lat_s + sigma_s * jnp.sqrt(lat_s) * z[:, cfg.n_sub]
    x_next = x[:, -1] + mu * h + sigma_s * np.sqrt(h) * z[:, cfg.n_sub + 1]
    u = jax.random.uniform(k_clock, (cfg.n_paths,), jnp.float32, 1e-12, 1.0)
    cost, filled, adverse = slice_costs(
        x, x_lat, x_next, u, state, cfg, rate, is_limit, offset_spreads
    )
    adverse_rate = jnp.sum(adverse, axis=1) / jnp.maximum(jnp.sum(filled, axis=1), 1)
    adverse_rate = jnp.where(is_limit > 0, adverse_rate, 0.0)
    return jnp.mean(cost, axis=1), jnp.std(cost, axis=1, ddof=1), adverse_rate


def slice_costs(
    x, x_lat, x_next, u, state: StateArrays, cfg: AdvisorConfig, rate, is_limit, offset_spreads
):
    """The slice's cost on given mid paths (simulated, or historical in a replay), bps of the
    arrival mid, signed against our side (see the module docstring).

    Args:
        x: (P, n_sub) mid move at the end of each sub-step of the interval, bps.
        x_lat: (P,) mid move when a market order arrives (after the latency), bps.
        x_next: (P,) mid move at the end of the next interval (where the rest is crossed), bps.
        u: (P,) uniforms in (0, 1] driving the limit order's fill clock.
        rate, is_limit, offset_spreads: (C,) the actions.
    Returns (cost (C, P), limit filled (C, P) bool, adverse fill (C, P) bool).
    """
    spread = state.spread_bps
    half = 0.5 * spread
    h = cfg.interval_s
    dt = h / x.shape[1]
    x_end = x[:, -1]
    volume_usd = cfg.adv_usd * h / TRADING_DAY_S
    slice_usd = cfg.target_participation * volume_usd
    slope = 0.5 * BOOK_LEVELS * spread / state.depth_top5_usd  # bps per USD, average cost
    q = rate * volume_usd  # (C,)
    walk = slope * q
    market_now = x_lat[None, :] + half + walk[:, None]  # (C, P)
    distance = half + offset_spreads * spread  # (C,)
    touch_usd = state.depth_top5_usd / BOOK_LEVELS
    hazard = state.fill_hazard * jnp.exp(-offset_spreads) * touch_usd / (touch_usd + q)
    t_clock = -jnp.log(u)[None, :] / jnp.maximum(hazard, 1e-12)[:, None]  # (C, P)
    crossed = x[None, :, :] <= -distance[:, None, None]  # (C, P, n_sub)
    first = jnp.argmax(crossed, axis=-1)
    t_cross = jnp.where(jnp.any(crossed, axis=-1), (first + 1) * dt, jnp.inf)
    filled = jnp.minimum(t_clock, t_cross) <= h
    limit_now = jnp.where(filled, -distance[:, None], x_end[None, :] + half + walk[:, None])
    now = jnp.where(is_limit[:, None] > 0, limit_now, market_now)
    carry = (x_next + half + slope * slice_usd)[None, :]
    frac = (rate / cfg.target_participation)[:, None]
    cost = frac * now + (1.0 - frac) * carry
    adverse = filled & (x_end[None, :] < -distance[:, None])
    return cost, filled, adverse


def regime_budget(state: StateArrays, regime, cfg: AdvisorConfig):
    """Friction-aware participation and turnover budgets (in the manner of FR-LUX: trading
    budgets conditioned on the regime and shrunk by what trading costs now): budget =
    base_budget[regime] * clip(reference_friction / friction, min_scale, 1), friction = half
    spread + the book-walking cost of a target slice; turnover budget = budget * interval
    volume (USD). Returns (participation_budget, turnover_budget_usd)."""
    volume_usd = cfg.adv_usd * cfg.interval_s / TRADING_DAY_S
    slope = 0.5 * BOOK_LEVELS * state.spread_bps / state.depth_top5_usd
    friction = 0.5 * state.spread_bps + slope * cfg.target_participation * volume_usd
    scale = jnp.clip(cfg.reference_friction_bps / friction, cfg.min_friction_scale, 1.0)
    budget = jnp.asarray(cfg.base_budget, jnp.float32)[regime] * scale
    return budget, budget * volume_usd


@struct.dataclass
class Decision:
    """The advisor's choice for one state (arrays), before and after the limits."""

    rate: jax.Array
    is_limit: jax.Array
    offset_bps: jax.Array
    adverse_selection_risk: jax.Array
    raw_tier: jax.Array
    cap: jax.Array
    budget: jax.Array
    turnover_budget_usd: jax.Array
    free_rate: jax.Array
    free_is_limit: jax.Array
    free_offset_bps: jax.Array


def decide(key, state: StateArrays, limits: LimitArrays, confirmed_regime, cfg: AdvisorConfig):
    """Evaluate the candidates and choose the best one inside the limits (one state).

    The cap on participation is the least of the policy maximum, the policy caps of the state's
    regime and of the confirmed (hysteresis) regime, and the controller's budget; only
    candidates of allowed order types, offsets within the policy maximum and rates within the
    cap compete; if no rate fits, the slowest allowed candidate is taken at the cap. The output
    is clipped to the limits once more, so it can only be tighter than them.
    """
    rate, is_limit, offset_spreads = (jnp.asarray(a) for a in cfg.candidates())
    mean, std, adverse = evaluate_candidates(key, state, cfg)
    objective = mean + cfg.risk_aversion * std
    budget, turnover = regime_budget(state, confirmed_regime, cfg)
    cap = jnp.minimum(
        jnp.minimum(limits.max_participation_rate, budget),
        jnp.minimum(limits.regime_caps[state.regime], limits.regime_caps[confirmed_regime]),
    )
    offset_bps = offset_spreads * state.spread_bps
    type_ok = jnp.where(is_limit > 0, limits.allow_limit > 0, limits.allow_market > 0)
    shape_ok = type_ok & (offset_bps <= limits.max_quote_offset_bps)
    fits = shape_ok & (rate <= cap)
    slowest = shape_ok & (rate == jnp.min(rate))
    mask = jnp.where(jnp.any(fits), fits, slowest)
    best = jnp.argmin(jnp.where(mask, objective, jnp.inf))
    free = jnp.argmin(objective)
    out_rate = jnp.minimum(rate[best], cap)
    ratio = out_rate / cfg.target_participation
    raw_tier = jnp.where(ratio < 0.75, 0, jnp.where(ratio <= 1.5, 1, 2))
    return Decision(
        rate=out_rate,
        is_limit=is_limit[best],
        offset_bps=jnp.minimum(offset_bps[best], limits.max_quote_offset_bps),
        adverse_selection_risk=adverse[best],
        raw_tier=raw_tier,
        cap=cap,
        budget=budget,
        turnover_budget_usd=turnover,
        free_rate=rate[free],
        free_is_limit=is_limit[free],
        free_offset_bps=offset_bps[free],
    )
