"""One decision of the desk: the bounded advisor, the kill switch and the risk layer, in order.

The advisor always runs (its advice is the telemetry: what it would have done), then the
kill switch `EXECUTION_ADVISOR_ENABLED` chooses what is applied: the advisor's advice, or the
policy's baseline (intersected with the limits, fallback reason "kill switch"); finally
`apply_controls` tightens what is applied by the desk's position limit and risk budget.
"""

from __future__ import annotations

import copy
from datetime import datetime

from wmjax.analytics import AdvisorConfig, AdvisorMemory, advise, baseline_advice
from wmjax.desk._risk import RiskLimits, advisor_enabled, apply_controls

KILL_SWITCH_REASON = "kill switch: EXECUTION_ADVISOR_ENABLED=false, the policy's baseline"


def choose(shadow: dict, state: dict | None, policy: dict, enabled: bool) -> dict:
    """What the kill switch lets through: the advisor's advice `shadow` when `enabled`, else
    the policy's baseline for the same state (fallback reason: the kill switch); provenance
    records `advisor_enabled` and `applied` ("advisor" or "baseline")."""
    if enabled:
        chosen = copy.deepcopy(shadow)
    else:
        age = shadow["provenance"]["state_age_ms"]
        chosen = baseline_advice(policy, state, KILL_SWITCH_REASON, age)
    chosen["provenance"]["advisor_enabled"] = bool(enabled)
    chosen["provenance"]["applied"] = "advisor" if enabled else "baseline"
    return chosen


def desk_advice(
    state: dict | None,
    policy: dict,
    session: dict,
    risk_limits: RiskLimits,
    *,
    now: datetime | None = None,
    memory: AdvisorMemory | None = None,
    key=None,
    config: AdvisorConfig = AdvisorConfig(),  # noqa: B008 (frozen)
    enabled: bool | None = None,
) -> tuple[dict, dict, AdvisorMemory]:
    """(applied advice, telemetry, advisor memory) for one state.

    Args:
        state, policy, now, memory, key, config: as for `wmjax.analytics.advise`.
        session: the order's session (see `apply_controls`).
        risk_limits: the desk's `RiskLimits`.
        enabled: the kill switch; None reads EXECUTION_ADVISOR_ENABLED (`advisor_enabled`).
    The applied advice's provenance adds `advisor_enabled` and `applied` ("advisor" or
    "baseline"); telemetry holds the advisor's own advice (`shadow_advice`), what was applied
    and the risk layer's reasons, whether or not the advisor is enabled.
    """
    on = advisor_enabled() if enabled is None else bool(enabled)
    shadow, memory = advise(state, policy, now=now, memory=memory, key=key, config=config)
    applied, reasons = apply_controls(choose(shadow, state, policy, on), session, risk_limits)
    telemetry = {
        "advisor_enabled": on,
        "applied": applied["provenance"]["applied"],
        "shadow_advice": shadow,
        "risk_controls": reasons,
        "applied_participation_rate": applied["max_participation_rate"],
        "shadow_participation_rate": shadow["max_participation_rate"],
    }
    return applied, telemetry, memory
