"""The desk's risk layer (must-show 4): over random limits, budgets, sessions and advisor
outputs it only ever tightens (participation never rises, the order type never changes and is
only removed by a halt, offsets only shrink, the tier only falls), it is monotone in the budget
used and the position, deterministic, and matches hand-computed cases; the kill switch applies
the baseline while the advisor's advice still flows as telemetry."""

import copy
import math
from datetime import UTC, datetime, timedelta

import jax
import numpy as np
import pytest

from wmjax import InputError
from wmjax.analytics import TIERS, AdvisorConfig, baseline_advice, validate
from wmjax.desk import (
    KILL_SWITCH_REASON,
    RiskLimits,
    advisor_enabled,
    apply_controls,
    desk_advice,
)

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
STATE = {
    "schema_version": "microstructure_state_v1",
    "symbol": "AMZN",
    "event_ts": (NOW - timedelta(milliseconds=100)).isoformat(),
    "spread_bps": 2.0,
    "depth_top5_usd": 2e6,
    "order_flow_imbalance": 0.1,
    "latency_ms_estimate": 1.0,
    "fill_hazard": 0.05,
    "liquidity_regime": "normal",
}
POLICY = {
    "schema_version": "execution_limits_v1",
    "version": "test-policy-7",
    "max_participation_rate": 0.2,
    "allowed_order_types": ["limit", "market"],
    "max_quote_offset_bps": 5.0,
    "max_state_age_ms": 2000,
    "baseline": {
        "urgency_tier": "normal",
        "max_participation_rate": 0.05,
        "preferred_order_type": "limit",
        "quote_offset_bps": 1.0,
    },
}
TRIALS = 3000


def _template():
    return baseline_advice(POLICY, STATE, "test template", 100.0)


def _random_case(rng, template):
    advice = copy.deepcopy(template)
    advice.update(
        urgency_tier=TIERS[rng.integers(3)],
        max_participation_rate=float(rng.uniform(0, 1)),
        preferred_order_type=("limit", "market")[rng.integers(2)],
        quote_offset_bps=float(rng.uniform(0, 20)),
        adverse_selection_risk=float(rng.uniform(0, 1)),
    )
    types = [("limit",), ("market",), ("limit", "market")][rng.integers(3)]
    limits = RiskLimits(
        max_position_shares=float(np.exp(rng.uniform(np.log(1e2), np.log(1e6)))),
        is_risk_budget_bps=float(rng.uniform(1, 50)),
        tighten_from=float(rng.uniform(0, 0.99)),
        floor_scale=float(rng.uniform(0, 1)),
        position_warn_fraction=float(rng.uniform(0, 0.99)),
        max_participation_rate=float(rng.uniform(0, 1)) if rng.random() < 0.5 else 1.0,
        max_quote_offset_bps=float(rng.uniform(0, 20)) if rng.random() < 0.5 else math.inf,
        allowed_order_types=types,
    )
    session = {
        "position_shares": float(rng.uniform(-1.5, 1.5) * limits.max_position_shares),
        "filled_shares": float(rng.uniform(0, 1e4)),
        "is_risk_used_bps": float(rng.uniform(-10, 2) * limits.is_risk_budget_bps),
    }
    if rng.random() < 0.7:
        session["side"] = float(rng.choice([-1.0, 1.0]))
    if rng.random() < 0.5:
        session["order_shares"] = session["filled_shares"] + float(rng.uniform(-100, 1e4))
    if rng.random() < 0.5:
        session["interval_volume_shares"] = float(np.exp(rng.uniform(0, np.log(1e6))))
    return advice, session, limits


@pytest.fixture(scope="module")
def cases():
    rng = np.random.default_rng(0)
    template = _template()
    return [_random_case(rng, template) for _ in range(TRIALS)]


def test_controls_only_tighten(cases):
    """Must-show 4: 3,000 random (advice, session, limits) cases."""
    for advice, session, limits in cases:
        before = copy.deepcopy(advice)
        out, reasons = apply_controls(advice, session, limits)
        assert advice == before  # the input is not modified
        validate(out, "execution_advice_v1")
        assert 0 <= out["max_participation_rate"] <= advice["max_participation_rate"]
        assert out["max_participation_rate"] <= limits.max_participation_rate
        assert out["preferred_order_type"] == advice["preferred_order_type"]
        if advice["preferred_order_type"] not in limits.allowed_order_types:
            assert out["max_participation_rate"] == 0  # removed: halted
        assert out["quote_offset_bps"] <= advice["quote_offset_bps"]
        assert out["quote_offset_bps"] <= limits.max_quote_offset_bps
        assert TIERS.index(out["urgency_tier"]) <= TIERS.index(advice["urgency_tier"])
        assert out["adverse_selection_risk"] == advice["adverse_selection_risk"]
        assert out["provenance"]["risk_controls"] == reasons
        assert out["provenance"]["override"] == (advice["provenance"]["override"] or bool(reasons))
        if out["max_participation_rate"] < advice["max_participation_rate"]:
            assert reasons  # every tightening says why
        assert apply_controls(advice, session, limits) == (out, reasons)  # deterministic


def test_controls_are_monotone_in_budget_used_and_position(cases):
    for advice, session, limits in cases[:1000]:
        rate = apply_controls(advice, session, limits)[0]["max_participation_rate"]
        more_used = {**session, "is_risk_used_bps": session["is_risk_used_bps"] + 5.0}
        assert apply_controls(advice, more_used, limits)[0]["max_participation_rate"] <= rate
        side = session.get("side", 1.0)
        bigger = {**session, "position_shares": session["position_shares"] + side * 50.0}
        if side * session["position_shares"] >= 0:
            assert apply_controls(advice, bigger, limits)[0]["max_participation_rate"] <= rate


def test_no_tightening_without_a_reason(cases):
    """A fresh session under loose limits leaves the advice as it is (no needless halts)."""
    fresh = {"position_shares": 0.0, "filled_shares": 0.0, "is_risk_used_bps": 0.0}
    for advice, session, _ in cases[:500]:
        for extra in ({}, {"side": session.get("side", 1.0), "interval_volume_shares": 1e3}):
            out, reasons = apply_controls(advice, fresh | extra, RiskLimits())
            assert out["max_participation_rate"] == advice["max_participation_rate"]
            assert reasons == [] and out["urgency_tier"] == advice["urgency_tier"]


def test_hand_computed_case():
    advice = {**_template(), "max_participation_rate": 0.2, "urgency_tier": "high"}
    limits = RiskLimits(
        max_position_shares=1000, is_risk_budget_bps=25, tighten_from=0.5, floor_scale=0.25
    )
    session = {
        "position_shares": 600.0,
        "filled_shares": 600.0,
        "is_risk_used_bps": 20.0,  # u = 0.8: scale 1 - 0.6 * 0.75 = 0.55
        "side": 1.0,
        "order_shares": 1000.0,
        "interval_volume_shares": 1000.0,
    }
    out, reasons = apply_controls(advice, session, limits)
    assert out["max_participation_rate"] == pytest.approx(0.2 * 0.55)
    assert out["urgency_tier"] == "normal" and len(reasons) == 2
    # position 900 of 1000 (warn 0.8): x (1 - 0.9) / 0.2 = 0.5; 100 shares left of the order
    # at 1000 shares of volume: at most 0.1
    session |= {"position_shares": 900.0, "filled_shares": 980.0}
    out, reasons = apply_controls(advice, session, limits)
    assert out["max_participation_rate"] == pytest.approx(20 / 1000)
    assert any("20 shares left" in r for r in reasons)
    assert limits.budget_scale(30.0) == 0.25 and limits.budget_scale(10.0) == 1.0
    at_limit = {**session, "position_shares": 1000.0, "order_shares": 1e4}
    out, reasons = apply_controls(advice, at_limit, limits)
    assert out["max_participation_rate"] == 0 and reasons[-1].startswith("halted: position")
    # a sell that reduces a long position at the limit is not held back by the position limit
    reducing = {**at_limit, "side": -1.0, "is_risk_used_bps": 0.0}
    assert apply_controls(advice, reducing, limits)[0]["max_participation_rate"] == 0.2
    assert out["provenance"]["risk_limits_version"] == limits.version
    assert out["provenance"]["position_used_fraction"] == 1.0


def test_bad_inputs_name_the_field():
    advice = _template()
    with pytest.raises(InputError, match=r"session\.is_risk_used_bps is required"):
        apply_controls(advice, {"position_shares": 0.0, "filled_shares": 0.0}, RiskLimits())
    session = {"position_shares": 0.0, "filled_shares": 0.0, "is_risk_used_bps": float("nan")}
    with pytest.raises(InputError, match=r"session\.is_risk_used_bps must be a finite number"):
        apply_controls(advice, session, RiskLimits())
    with pytest.raises(InputError, match=r"session\.side must be"):
        apply_controls(advice, {**session, "is_risk_used_bps": 0.0, "side": 2.0}, RiskLimits())
    with pytest.raises(InputError, match="is_risk_budget_bps"):
        RiskLimits(is_risk_budget_bps=0.0)
    with pytest.raises(InputError, match=r"advice\.max_participation_rate"):
        apply_controls(
            {**advice, "max_participation_rate": 2.0},
            {**session, "is_risk_used_bps": 0.0},
            RiskLimits(),
        )


def test_kill_switch(monkeypatch):
    assert advisor_enabled({}) and advisor_enabled({"EXECUTION_ADVISOR_ENABLED": "True"})
    assert not advisor_enabled({"EXECUTION_ADVISOR_ENABLED": "false"})
    with pytest.raises(InputError, match="EXECUTION_ADVISOR_ENABLED"):
        advisor_enabled({"EXECUTION_ADVISOR_ENABLED": "maybe"})
    monkeypatch.setenv("EXECUTION_ADVISOR_ENABLED", "false")
    session = {"position_shares": 0.0, "filled_shares": 0.0, "is_risk_used_bps": 0.0}
    cfg = AdvisorConfig(n_paths=16)
    applied, telemetry, _ = desk_advice(
        STATE, POLICY, session, RiskLimits(), now=NOW, key=jax.random.key(0), config=cfg
    )
    prov = applied["provenance"]
    assert prov["fallback_reason"] == KILL_SWITCH_REASON and prov["applied"] == "baseline"
    assert applied["max_participation_rate"] == POLICY["baseline"]["max_participation_rate"]
    shadow = telemetry["shadow_advice"]  # the advisor still ran: telemetry flows
    assert not telemetry["advisor_enabled"] and not shadow["provenance"]["fallback"]
    assert prov["inputs_hash"] == shadow["provenance"]["inputs_hash"]
    assert prov["limits_version"] == "test-policy-7"
    monkeypatch.setenv("EXECUTION_ADVISOR_ENABLED", "true")
    applied, telemetry, _ = desk_advice(
        STATE, POLICY, session, RiskLimits(), now=NOW, key=jax.random.key(0), config=cfg
    )
    assert applied["provenance"]["applied"] == "advisor"
    shadow_rate = telemetry["shadow_advice"]["max_participation_rate"]
    assert applied["max_participation_rate"] == shadow_rate
