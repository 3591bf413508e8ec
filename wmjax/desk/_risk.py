"""The desk's risk layer on top of the advisor: a position-limit monitor and an execution risk
budget, both deterministic functions of (advice, session, limits) that can only tighten.

`apply_controls(advice, session, limits)` is the hook a live session calls on every
`execution_advice_v1` before it acts on it. What "tighter" means, field by field:

- `max_participation_rate` never rises: it is multiplied by the risk-budget scale, capped by
  the position headroom and by what is left of the parent order, and by `limits`'s own cap;
- `preferred_order_type` never changes; a type the risk limits do not allow is removed by
  halting the advice (participation 0), since no other type is known to be within the policy;
- `quote_offset_bps` only shrinks (capped by `limits.max_quote_offset_bps`);
- `urgency_tier` only falls (no "high" once the budget is past its tightening point, "low" once
  it is spent).

The execution risk budget (after the loss-budget rules of desk risk management: the more of the
budget an order has used, the slower it may trade): usage u = is_risk_used_bps / budget; the
participation scale is 1 for u <= `tighten_from`, falls linearly to `floor_scale` at u = 1 and
stays there. Position limit: headroom = max_position_shares - |position| when trading adds to
the position (assumed when the session gives no side); participation scales with the headroom
left once more than `position_warn_fraction` of the limit is used, is capped at headroom /
interval volume when the session gives the next interval's volume, and is 0 at the limit.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass

from wmjax._checks import InputError, require
from wmjax.analytics import TIERS, validate

#: Session fields the hook reads (the live session must provide the first three).
SESSION_REQUIRED = ("position_shares", "filled_shares", "is_risk_used_bps")
SESSION_OPTIONAL = ("side", "order_shares", "interval_volume_shares")
_FALSE = ("false", "0", "no", "off")
_TRUE = ("true", "1", "yes", "on", "")


@dataclass(frozen=True)
class RiskLimits:
    """The desk's limits (a frozen, hashable record; units in the names).

    Attributes:
        max_position_shares: absolute position limit in the instrument, shares.
        is_risk_budget_bps: the order's execution risk budget: cumulative implementation
            shortfall it may lose before trading at the floor rate, bps of arrival notional.
        tighten_from: share of the budget used at which participation starts to fall.
        floor_scale: participation scale once the budget is spent (0 halts the order).
        position_warn_fraction: share of the position limit used at which participation
            starts to scale with the headroom left.
        max_participation_rate: the desk's own cap on participation.
        max_quote_offset_bps: the desk's own cap on a limit order's offset behind the touch.
        allowed_order_types: order types the desk allows.
        version: the limits' version, recorded in every advice's provenance.
    """

    max_position_shares: float = 1e6
    is_risk_budget_bps: float = 25.0
    tighten_from: float = 0.5
    floor_scale: float = 0.25
    position_warn_fraction: float = 0.8
    max_participation_rate: float = 1.0
    max_quote_offset_bps: float = math.inf
    allowed_order_types: tuple = ("limit", "market")
    version: str = "risk_limits_v1"

    def __post_init__(self):
        for name in ("max_position_shares", "is_risk_budget_bps"):
            v = getattr(self, name)
            require(
                isinstance(v, int | float) and math.isfinite(v) and v > 0,
                f"RiskLimits.{name} must be a finite number > 0, got {v!r}",
            )
        for name in ("tighten_from", "floor_scale", "position_warn_fraction"):
            v = getattr(self, name)
            require(0 <= v <= 1, f"RiskLimits.{name} must be in [0, 1], got {v!r}")
        require(self.tighten_from < 1, "RiskLimits.tighten_from must be < 1")
        require(self.position_warn_fraction < 1, "RiskLimits.position_warn_fraction must be < 1")
        require(
            0 <= self.max_participation_rate <= 1,
            f"RiskLimits.max_participation_rate must be in [0, 1], got "
            f"{self.max_participation_rate!r}",
        )
        require(self.max_quote_offset_bps >= 0, "RiskLimits.max_quote_offset_bps must be >= 0")
        kinds = tuple(self.allowed_order_types)
        require(
            set(kinds) <= {"limit", "market"},
            f"RiskLimits.allowed_order_types must be limit and/or market, got {kinds}",
        )
        object.__setattr__(self, "allowed_order_types", kinds)

    def budget_scale(self, is_risk_used_bps: float) -> float:
        """Participation scale for the budget used (1, linear down to floor_scale, flat)."""
        u = max(float(is_risk_used_bps), 0.0) / self.is_risk_budget_bps
        if u <= self.tighten_from:
            return 1.0
        if u >= 1.0:
            return self.floor_scale
        frac = (u - self.tighten_from) / (1.0 - self.tighten_from)
        return 1.0 - frac * (1.0 - self.floor_scale)


def advisor_enabled(environ=None) -> bool:
    """The kill switch: False when EXECUTION_ADVISOR_ENABLED is false/0/no/off (any case),
    True when it is unset, empty or true/1/yes/on; anything else is an InputError."""
    env = os.environ if environ is None else environ
    value = str(env.get("EXECUTION_ADVISOR_ENABLED", "")).strip().lower()
    if value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise InputError(
        f"EXECUTION_ADVISOR_ENABLED={value!r}: set it to true or false (or leave it unset)"
    )


def _session_number(session: dict, key: str, default=None) -> float | None:
    if key not in session or session[key] is None:
        if default is None and key in SESSION_REQUIRED:
            raise InputError(f"session.{key} is required (fields: {SESSION_REQUIRED})")
        return default
    v = session[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InputError(f"session.{key} must be a finite number, got {v!r}")
    return float(v)


def _tier_at_most(tier: str, ceiling: str) -> str:
    return TIERS[min(TIERS.index(tier), TIERS.index(ceiling))]


def apply_controls(advice: dict, session: dict, limits: RiskLimits) -> tuple[dict, list[str]]:
    """The advice tightened by the desk's risk limits, and the reasons applied (see the module
    docstring). Deterministic: the same inputs give the same output and reasons. The input
    advice is not modified; the output's provenance records `risk_controls` (the reasons),
    `risk_limits_version`, `participation_before_controls_rate`, and the shares of the risk
    budget and of the position limit used (`risk_budget_used_fraction`,
    `position_used_fraction`: what a dashboard shows against their limits)."""
    validate(advice, "execution_advice_v1", "advice")
    if not isinstance(session, dict):
        raise InputError(f"session must be a dict with {SESSION_REQUIRED}, got {session!r}")
    if not isinstance(limits, RiskLimits):
        raise InputError(f"limits must be a RiskLimits, got {type(limits).__name__}")
    position = _session_number(session, "position_shares")
    used = _session_number(session, "is_risk_used_bps")
    side = _session_number(session, "side", 0.0)
    if side not in (-1.0, 0.0, 1.0):
        raise InputError(f"session.side must be +1 (buy) or -1 (sell), got {session['side']!r}")
    order = _session_number(session, "order_shares", math.inf)
    filled = _session_number(session, "filled_shares")
    volume = _session_number(session, "interval_volume_shares", math.inf)

    out = copy.deepcopy(advice)
    rate0 = rate = float(advice["max_participation_rate"])
    tier = advice["urgency_tier"]
    reasons: list[str] = []

    if rate > limits.max_participation_rate:
        rate = limits.max_participation_rate
        reasons.append(f"participation capped at the desk limit {rate:g}")
    kind = advice["preferred_order_type"]
    if kind not in limits.allowed_order_types:
        rate = 0.0
        reasons.append(f"halted: order type {kind} is not allowed by the desk limits")
    offset = float(advice["quote_offset_bps"])
    if offset > limits.max_quote_offset_bps:
        out["quote_offset_bps"] = float(limits.max_quote_offset_bps)
        reasons.append(f"quote offset capped at {limits.max_quote_offset_bps:g} bps")

    scale = limits.budget_scale(used)
    usage = max(used, 0.0) / limits.is_risk_budget_bps
    if scale < 1.0:
        rate *= scale
        reasons.append(
            f"risk budget {100 * usage:.0f}% used: participation x{scale:.3g}"
            + (" (budget spent)" if usage >= 1 else "")
        )
        ceiling = "low" if usage >= 1 else "normal"
        if TIERS.index(tier) > TIERS.index(ceiling):
            tier = _tier_at_most(tier, ceiling)
            reasons.append(f"urgency tier lowered to {tier} by the risk budget")

    adds = side == 0.0 or side * position >= 0  # trading adds to |position| (or side unknown)
    if adds:
        headroom = limits.max_position_shares - abs(position)
        used_frac = abs(position) / limits.max_position_shares
        if headroom <= 0:
            if rate > 0:
                reasons.append(
                    f"halted: position {position:g} at the limit {limits.max_position_shares:g}"
                )
            rate = 0.0
        else:
            if used_frac > limits.position_warn_fraction:
                pscale = (1.0 - used_frac) / (1.0 - limits.position_warn_fraction)
                rate *= pscale
                reasons.append(
                    f"position {100 * used_frac:.0f}% of limit: participation x{pscale:.3g}"
                )
            if math.isfinite(volume) and rate * volume > headroom:
                rate = headroom / volume
                reasons.append(f"participation capped by the position headroom {headroom:g} shares")
    remaining = max(order - filled, 0.0)
    if remaining <= 0 and rate > 0:
        rate = 0.0
        reasons.append("halted: the parent order is complete (no overfill)")
    elif math.isfinite(volume) and rate * volume > remaining:
        rate = remaining / volume
        reasons.append(f"participation capped by the {remaining:g} shares left of the order")

    rate = min(max(rate, 0.0), rate0)  # only ever tighter than the advice
    out["max_participation_rate"] = float(rate)
    out["urgency_tier"] = tier
    prov = out["provenance"]
    prov["risk_controls"] = list(reasons)
    prov["risk_limits_version"] = limits.version
    prov["participation_before_controls_rate"] = rate0
    prov["risk_budget_used_fraction"] = float(usage)
    prov["position_used_fraction"] = abs(position) / limits.max_position_shares
    if reasons:
        prov["override"] = True
        prov["override_reasons"] = list(prov["override_reasons"]) + reasons
    return out, reasons
