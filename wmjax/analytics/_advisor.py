"""The bounded execution advisor: `microstructure_state_v1` in, `execution_advice_v1` out.

The advice comes from the simulator (`_advisor_sim`: candidate actions on paths of a market
calibrated to the state), is intersected with a policy file (`execution_limits_v1`: maximum
participation, allowed order types, maximum quote offset, per-regime caps) so it can only be
tighter, falls back to the policy's baseline (also intersected) with a reason when the state is
missing or older than `max_state_age_ms`, and publishes urgency tier and regime changes only
after they persist for `hysteresis_steps` consecutive states. Every advice carries its
provenance: the input state itself, its SHA-256 and age, the limits file's version (its
`version` field, else its hash), the simulator version, and which fallback or clip applied.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import InputError
from wmjax.analytics._advisor_sim import (
    ORDER_TYPES,
    REGIMES,
    TIERS,
    AdvisorConfig,
    LimitArrays,
    StateArrays,
    decide,
)
from wmjax.analytics._schema import parse_timestamp, validate
from wmjax.analytics._tca import simulator_version

#: A future timestamp within this many milliseconds is clock skew, not an error.
CLOCK_SKEW_MS = 1000.0


@dataclass
class AdvisorMemory:
    """What the advisor remembers between states: the published tier and regime, and a pending
    change with the number of consecutive states that have shown it."""

    tier: str | None = None
    tier_pending: str | None = None
    tier_count: int = 0
    regime: str | None = None
    regime_pending: str | None = None
    regime_count: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> AdvisorMemory:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"memory: unknown field(s) {unknown}")
        return cls(**d)


def hysteresis(current, pending, count: int, observed, steps: int):
    """(published, pending, count) after observing `observed`: a value different from the
    published one takes effect only after `steps` consecutive observations."""
    if current is None or observed == current:
        return observed, None, 0
    count = count + 1 if observed == pending else 1
    if count >= steps:
        return observed, None, 0
    return current, observed, count


def state_arrays(states) -> StateArrays:
    """Validated state dicts (one or a list) as stacked float32 `StateArrays`."""
    states = [states] if isinstance(states, dict) else list(states)
    col = lambda k: np.asarray([s[k] for s in states], np.float32)  # noqa: E731
    return StateArrays(
        spread_bps=jnp.asarray(col("spread_bps")),
        depth_top5_usd=jnp.asarray(col("depth_top5_usd")),
        order_flow_imbalance=jnp.asarray(col("order_flow_imbalance")),
        latency_ms=jnp.asarray(col("latency_ms_estimate")),
        fill_hazard=jnp.asarray(col("fill_hazard")),
        regime=jnp.asarray([REGIMES.index(s["liquidity_regime"]) for s in states], jnp.int32),
    )


def limit_arrays(limits) -> LimitArrays:
    """Validated limit dicts (one or a list) as stacked `LimitArrays` (no regime cap: 1)."""
    limits = [limits] if isinstance(limits, dict) else list(limits)
    caps = [
        [
            lim.get("per_regime_caps", {}).get(r, {}).get("max_participation_rate", 1.0)
            for r in REGIMES
        ]
        for lim in limits
    ]
    f32 = lambda xs: jnp.asarray(np.asarray(xs, np.float32))  # noqa: E731
    return LimitArrays(
        max_participation_rate=f32([lim["max_participation_rate"] for lim in limits]),
        allow_limit=f32([float("limit" in lim["allowed_order_types"]) for lim in limits]),
        allow_market=f32([float("market" in lim["allowed_order_types"]) for lim in limits]),
        max_quote_offset_bps=f32([lim["max_quote_offset_bps"] for lim in limits]),
        regime_caps=f32(caps),
    )


@partial(jax.jit, static_argnames=("config",))
def _decide_batch(key, states, limits, confirmed, config):
    keys = jax.random.split(key, states.spread_bps.shape[0])
    return jax.vmap(lambda k, s, lim, c: decide(k, s, lim, c, config))(
        keys, states, limits, confirmed
    )


def advise_batch(key, states, limits, config: AdvisorConfig = AdvisorConfig(), confirmed=None):  # noqa: B008
    """The simulator's bounded choice for a batch of states and limit files at once (one jit,
    vmapped): `states` and `limits` are lists of validated dicts or stacked `StateArrays` /
    `LimitArrays`; `confirmed` the published regimes (int32; default the states' own).
    Returns a `Decision` of arrays with a leading batch axis."""
    if not isinstance(states, StateArrays):
        states = state_arrays([validate(s, "microstructure_state_v1", "state") for s in states])
    if not isinstance(limits, LimitArrays):
        limits = limit_arrays([validate(lim, "execution_limits_v1", "policy") for lim in limits])
    confirmed = states.regime if confirmed is None else jnp.asarray(confirmed, jnp.int32)
    return _decide_batch(key, states, limits, confirmed, config)


def content_hash(obj) -> str:
    """ "sha256:<hex>" of the canonical JSON of `obj` (sorted keys, no spaces)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def limits_version(limits: dict) -> str:
    """The policy file's `version` field, else the hash of its content."""
    return str(limits["version"]) if "version" in limits else content_hash(limits)


def _inputs(state: dict | None, limits: dict, age_ms: float | None) -> dict:
    return {
        "inputs": state,
        "inputs_hash": None if state is None else content_hash(state),
        "state_age_ms": None if age_ms is None else float(age_ms),
        "limits_version": limits_version(limits),
    }


def baseline_advice(
    limits: dict, state: dict | None, reason: str, age_ms: float | None = None, memory=None
) -> dict:
    """The policy's baseline advice (intersected with the limits) with `reason` as its fallback
    reason and full provenance: what the advisor gives for a missing or stale state, and what a
    desk applies when the advisor is switched off."""
    validate(limits, "execution_limits_v1", "policy")
    if state is not None:
        validate(state, "microstructure_state_v1", "state")
    regime = None if state is None else state["liquidity_regime"]
    ts = None if state is None else state["event_ts"]
    advice = _baseline(limits, regime, reason, ts, memory or AdvisorMemory())
    advice["provenance"].update(_inputs(state, limits, age_ms))
    return _finish(advice, None if state is None else state["symbol"])


def _baseline(limits: dict, regime: str | None, reason: str, event_ts, memory) -> dict:
    base = limits["baseline"]
    caps = limits.get("per_regime_caps", {})
    regimes = REGIMES if regime is None else (regime,)
    regime_cap = min(caps.get(r, {}).get("max_participation_rate", 1.0) for r in regimes)
    cap = min(limits["max_participation_rate"], regime_cap)
    reasons = []
    rate = base["max_participation_rate"]
    if rate > cap:
        reasons.append(f"baseline participation {rate:g} capped to {cap:g} by the limits")
        rate = cap
    kind = base["preferred_order_type"]
    if kind not in limits["allowed_order_types"]:
        reasons.append(f"baseline order type {kind} is not allowed")
        kind = limits["allowed_order_types"][0]
    offset = min(base["quote_offset_bps"], limits["max_quote_offset_bps"])
    if offset < base["quote_offset_bps"]:
        reasons.append("baseline quote offset capped by the limits")
    return {
        "urgency_tier": base["urgency_tier"],
        "max_participation_rate": float(rate),
        "preferred_order_type": kind,
        "quote_offset_bps": float(offset),
        "adverse_selection_risk": 0.0,
        "provenance": {
            "inputs_event_ts": event_ts,
            "simulator_version": simulator_version(),
            "fallback": True,
            "fallback_reason": reason,
            "override": bool(reasons),
            "override_reasons": reasons,
            "regime": regime or memory.regime or "stressed",
        },
    }


def advise(
    state: dict | None,
    limits: dict,
    *,
    now: datetime | None = None,
    memory: AdvisorMemory | None = None,
    key=None,
    config: AdvisorConfig = AdvisorConfig(),  # noqa: B008 (frozen)
) -> tuple[dict, AdvisorMemory]:
    """Advice for the next child orders and the advisor's updated memory.

    Args:
        state: a `microstructure_state_v1` dict, or None when no state arrived (baseline).
        limits: an `execution_limits_v1` dict (the policy file).
        now: the current time (timezone-aware; default: the clock) to judge staleness.
        memory: the previous call's memory (hysteresis); None for a fresh advisor.
        key: `jax.random.key` for the simulated paths (default key(0)).
    Raises InputError naming the field when `state` or `limits` violates its schema.
    """
    validate(limits, "execution_limits_v1", "policy")
    memory = AdvisorMemory() if memory is None else memory
    now = datetime.now(UTC) if now is None else now
    if now.tzinfo is None:
        raise InputError("now must be timezone-aware (e.g. datetime.now(UTC))")
    steps = int(limits.get("hysteresis_steps", config.hysteresis_steps))
    if state is None:
        reason = "missing: no microstructure state was given"
        return baseline_advice(limits, None, reason, None, memory), memory
    validate(state, "microstructure_state_v1", "state")
    ts = state["event_ts"]
    age_ms = (now - parse_timestamp(ts, "state.event_ts")).total_seconds() * 1e3
    if age_ms > limits["max_state_age_ms"]:
        reason = f"stale: the state is {age_ms:.0f} ms old (limit {limits['max_state_age_ms']:g})"
        return baseline_advice(limits, state, reason, age_ms, memory), memory
    if age_ms < -CLOCK_SKEW_MS:
        reason = f"stale: the state's event_ts is {-age_ms:.0f} ms in the future"
        return baseline_advice(limits, state, reason, age_ms, memory), memory
    regime, r_pending, r_count = hysteresis(
        memory.regime, memory.regime_pending, memory.regime_count, state["liquidity_regime"], steps
    )
    key = jax.random.key(0) if key is None else key
    d = advise_batch(key, [state], [limits], config, confirmed=[REGIMES.index(regime)])
    d = jax.tree.map(lambda x: np.asarray(x)[0], d)
    raw_tier = TIERS[int(d.raw_tier)]
    tier, t_pending, t_count = hysteresis(
        memory.tier, memory.tier_pending, memory.tier_count, raw_tier, steps
    )
    kind = ORDER_TYPES[0] if d.is_limit > 0 else ORDER_TYPES[1]
    reasons = []
    if float(d.free_rate) > float(d.rate) + 1e-7:
        reasons.append(
            f"participation {float(d.free_rate):.4g} tightened to {float(d.rate):.4g} (cap: "
            f"limits and the {regime} regime budget {float(d.budget):.4g})"
        )
    free_kind = ORDER_TYPES[0] if d.free_is_limit > 0 else ORDER_TYPES[1]
    if free_kind != kind:
        reasons.append(f"order type {free_kind} replaced by {kind} (limits)")
    if free_kind == kind == "limit" and float(d.free_offset_bps) > float(d.offset_bps) + 1e-6:
        reasons.append("quote offset capped by the limits")
    advice = {
        "urgency_tier": tier,
        "max_participation_rate": float(d.rate),
        "preferred_order_type": kind,
        "quote_offset_bps": float(d.offset_bps) if kind == "limit" else 0.0,
        "adverse_selection_risk": float(np.clip(d.adverse_selection_risk, 0.0, 1.0)),
        "provenance": {
            "inputs_event_ts": ts,
            "simulator_version": simulator_version(),
            "fallback": False,
            "fallback_reason": None,
            "override": bool(reasons),
            "override_reasons": reasons,
            "regime": regime,
            "observed_regime": state["liquidity_regime"],
            "raw_urgency_tier": raw_tier,
            "participation_budget": float(d.budget),
            "turnover_budget_usd": float(d.turnover_budget_usd),
            **_inputs(state, limits, age_ms),
        },
    }
    new_memory = AdvisorMemory(tier, t_pending, t_count, regime, r_pending, r_count)
    return _finish(advice, state["symbol"]), new_memory


def _finish(advice: dict, symbol) -> dict:
    out = {"schema_version": "execution_advice_v1", "symbol": symbol, **advice}
    return validate(out, "execution_advice_v1", "advice")
