"""Offline replay of execution decisions on historical snapshots: the baseline policy and the
bounded advisor, each through the kill switch and the desk's risk layer, on the same snapshots
and the same exogenous paths (the day's own mid path after each snapshot, and one shared
uniform per snapshot for the passive-fill clock: common random numbers).

Each snapshot is one decision interval of a parent order that works `target_participation` of
the market's volume: the applied advice's rate is traded now (a market order, or a limit order
that fills on the clock or when the mid moves through it, else is crossed at the interval's
end) and the rest of the slice is crossed at the end of the next interval
(`wmjax.analytics._advisor_sim.slice_costs`). The order's session (position, filled shares,
cumulative shortfall in bps of the parent's notional) evolves with its own fills, and is what
the risk layer reads at the next decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import jax
import numpy as np

from wmjax.analytics import (
    ORDER_TYPES,
    AdvisorConfig,
    AdvisorMemory,
    advise,
    baseline_advice,
    state_arrays,
)
from wmjax.analytics._advisor_sim import TRADING_DAY_S, slice_costs
from wmjax.desk._pipeline import choose
from wmjax.desk._risk import RiskLimits, apply_controls

ARMS = ("baseline", "advisor")
BASELINE_ARM_REASON = "baseline arm of the replay"
#: Provenance fields every applied advice must carry (must-show 3).
PROVENANCE_FIELDS = (
    "inputs",
    "inputs_hash",
    "state_age_ms",
    "limits_version",
    "simulator_version",
    "fallback",
    "fallback_reason",
    "override_reasons",
    "risk_controls",
    "risk_limits_version",
    "applied",
)

DEFAULT_POLICY = {
    "schema_version": "execution_limits_v1",
    "version": "desk-replay-policy-1",
    "max_participation_rate": 0.3,
    "allowed_order_types": ["limit", "market"],
    "max_quote_offset_bps": 10.0,
    "max_state_age_ms": 5000,
    "hysteresis_steps": 3,
    "per_regime_caps": {"stressed": {"max_participation_rate": 0.15}},
    "baseline": {
        "urgency_tier": "normal",
        "max_participation_rate": 0.1,
        "preferred_order_type": "limit",
        "quote_offset_bps": 0.0,
    },
}


@dataclass
class ArmResult:
    """One arm on K snapshots: per-snapshot cost (bps of the snapshot mid, + a cost), traded
    rate, whether a limit order was used and filled passively, shortfall (USD), whether the
    applied advice broke a limit (or the position went over it); the applied advice dicts;
    the session at the end."""

    cost_bps: np.ndarray
    rate: np.ndarray
    is_limit: np.ndarray
    passive_fill: np.ndarray
    shortfall_usd: np.ndarray
    breach: np.ndarray
    advice: list = field(repr=False)
    session: dict = field(default_factory=dict)


@partial(jax.jit, static_argnames=("cfg",))
def _cost(x, x_lat, x_next, u, states, rate, is_limit, offset_spreads, cfg):
    def one(x, x_lat, x_next, u, s, r, lim, off):
        c, f, _ = slice_costs(
            x[None], x_lat[None], x_next[None], u[None], s, cfg, r[None], lim[None], off[None]
        )
        return c[0, 0], f[0, 0]

    return jax.vmap(one)(x, x_lat, x_next, u, states, rate, is_limit, offset_spreads)


def advice_stream(snapshots, policy: dict, config: AdvisorConfig, key, enabled: bool = True):
    """(advisor arm, baseline arm) advice per snapshot before the risk layer: the advisor run
    over the snapshots in order (its hysteresis memory carried), through the kill switch; the
    baseline is the policy's baseline for the same state."""
    memory = AdvisorMemory()
    adv, base = [], []
    for k, (state, now) in enumerate(zip(snapshots.states, snapshots.now, strict=True)):
        shadow, memory = advise(
            state, policy, now=now, memory=memory, key=jax.random.fold_in(key, k), config=config
        )
        adv.append(choose(shadow, state, policy, enabled))
        age = shadow["provenance"]["state_age_ms"]
        b = baseline_advice(policy, state, BASELINE_ARM_REASON, age)
        b["provenance"]["applied"] = "baseline"
        base.append(b)
    return adv, base


def _breach(advice: dict, policy: dict, limits: RiskLimits) -> bool:
    """Is the applied advice looser than the policy file or the desk's limits?"""
    regime = advice["provenance"]["regime"]
    caps = policy.get("per_regime_caps", {})
    cap = min(
        policy["max_participation_rate"],
        caps.get(regime, {}).get("max_participation_rate", 1.0),
        limits.max_participation_rate,
    )
    rate = advice["max_participation_rate"]
    kind_ok = advice["preferred_order_type"] in policy["allowed_order_types"] and (
        advice["preferred_order_type"] in limits.allowed_order_types
    )
    offset_cap = min(policy["max_quote_offset_bps"], limits.max_quote_offset_bps)
    return bool(
        rate > cap + 1e-6
        or (rate > 0 and not kind_ok)
        or advice["quote_offset_bps"] > offset_cap + 1e-6
    )


def run_arm(
    snapshots, advices, idx, policy, limits: RiskLimits, config: AdvisorConfig, u
) -> ArmResult:
    """Work one parent order over the snapshots `idx` (in order) with the pre-control advice
    `advices`: the risk layer reads the order's session before each decision."""
    cfg = config
    volume_usd = cfg.adv_usd * cfg.interval_s / TRADING_DAY_S
    mids = snapshots.mid_usd[idx]
    slice_usd = cfg.target_participation * volume_usd
    parent_usd = slice_usd * len(idx)
    order_shares = float(np.sum(slice_usd / mids))
    sess = {
        "position_shares": 0.0,
        "filled_shares": 0.0,
        "is_risk_used_bps": 0.0,
        "side": float(cfg.side),
        "order_shares": order_shares,
    }
    shortfall_total = 0.0
    rows = []
    for j, k in enumerate(idx):
        sess["interval_volume_shares"] = float(volume_usd / mids[j])
        applied, _ = apply_controls(advices[k], sess, limits)
        kind = applied["preferred_order_type"]
        rate = applied["max_participation_rate"]
        spread = snapshots.states[k]["spread_bps"]
        cost, fill = _cost(
            snapshots.x_bps[k : k + 1].astype(np.float32),
            snapshots.x_lat_bps[k : k + 1].astype(np.float32),
            snapshots.x_next_bps[k : k + 1].astype(np.float32),
            np.asarray(u[k : k + 1], np.float32),
            state_arrays([snapshots.states[k]]),
            np.asarray([rate], np.float32),
            np.asarray([float(kind == ORDER_TYPES[0])], np.float32),
            np.asarray([applied["quote_offset_bps"] / spread], np.float32),
            cfg,
        )
        cost = float(cost[0])
        traded = rate * sess["interval_volume_shares"]
        sess["filled_shares"] += traded
        sess["position_shares"] += cfg.side * traded
        shortfall = cost * 1e-4 * slice_usd
        shortfall_total += shortfall
        sess["is_risk_used_bps"] = shortfall_total / parent_usd * 1e4
        over = abs(sess["position_shares"]) > limits.max_position_shares * (1 + 1e-9)
        rows.append(
            (
                cost,
                rate,
                kind == "limit",
                bool(fill[0]) and kind == "limit",
                shortfall,
                _breach(applied, policy, limits) or over,
                applied,
            )
        )
    cols = list(zip(*rows, strict=True))
    return ArmResult(
        cost_bps=np.asarray(cols[0]),
        rate=np.asarray(cols[1]),
        is_limit=np.asarray(cols[2]),
        passive_fill=np.asarray(cols[3]),
        shortfall_usd=np.asarray(cols[4]),
        breach=np.asarray(cols[5]),
        advice=list(cols[6]),
        session=dict(sess),
    )


def crn_uniforms(n: int, seed: int) -> np.ndarray:
    """One uniform in (0, 1] per snapshot for the passive-fill clock, shared by both arms."""
    return 1.0 - np.random.default_rng(seed).random(n)
