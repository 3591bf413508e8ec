"""Provenance helpers of live advice: the override reason (the `reason` label of
`execution_policy_override_total`) and the controls hooks (none, or the desk's risk layer)."""

from __future__ import annotations

from wmjax.desk import KILL_SWITCH_REASON, RiskLimits, apply_controls


def override_reason(advice: dict) -> str | None:
    """The metric label of what overrode the advisor's free choice (None: nothing)."""
    prov = advice["provenance"]
    if prov["fallback"]:
        reason = prov["fallback_reason"] or ""
        kind = reason.split(":")[0]
        return "advisor_disabled" if reason == KILL_SWITCH_REASON else f"fallback_{kind}"
    if prov.get("controls_reasons"):
        return "controls"
    return "limits_clip" if prov["override"] else None


def identity_controls(advice: dict, view: dict) -> tuple[dict, list]:
    """The default controls hook: no risk layer, nothing tightened."""
    return advice, []


def desk_controls(limits: RiskLimits = RiskLimits()):  # noqa: B008 (frozen)
    """The desk's risk layer (`wmjax.desk.apply_controls`) as a live controls hook: the session
    view becomes the desk's session (position = side x filled shares, the IS so far, floored at
    0, is the risk used)."""

    def controls(advice: dict, view: dict) -> tuple[dict, list]:
        session = {
            "position_shares": view["side"] * view["filled_shares"],
            "filled_shares": view["filled_shares"],
            "is_risk_used_bps": max(float(view["is_so_far_bps"]), 0.0),
            "side": view["side"],
            "order_shares": view["quantity_shares"],
        }
        return apply_controls(advice, session, limits)

    return controls
