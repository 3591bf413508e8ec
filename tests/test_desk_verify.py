"""The advisor's verification plan on the AMZN LOBSTER day (must-shows 3 and 5): snapshots
agree with the raw book; every advice applied in the replay carries its provenance, checked
field by field against independent recomputation; with the advisor switched off both arms are
identical on the same paths (common random numbers: deltas exactly 0); overrides are
deterministic; `wmjax verify-advisor` prints the promotion table and fails cleanly."""

import hashlib
import json
from datetime import date, datetime

import jax
import numpy as np
import pytest
from _shared import shared_file

import wmjax
from wmjax.analytics import AdvisorConfig
from wmjax.cli._common import load_lobster_day
from wmjax.cli._main import main
from wmjax.desk import (
    DEFAULT_POLICY,
    PROVENANCE_FIELDS,
    RiskLimits,
    SnapshotConfig,
    VerifyConfig,
    advice_stream,
    crn_uniforms,
    daily_value_usd,
    lobster_snapshots,
    run_arm,
    verify_advisor,
)

MESSAGES = "AMZN_2012-06-21_34200000_57600000_message_1.csv"
STEP_S = 300.0  # coarse: 77 snapshots over the day


@pytest.fixture(scope="module")
def day():
    data = load_lobster_day(shared_file("lobster", MESSAGES))
    snaps = lobster_snapshots(data, "AMZN", date(2012, 6, 21), SnapshotConfig(step_s=STEP_S))
    # what `wmjax verify-advisor --paths 16 --adv-usd 5e8` builds, and the advisor tests use:
    # one compilation for all of them
    advisor = AdvisorConfig(n_paths=16)
    return data, snaps, advisor


def test_snapshots_agree_with_the_raw_book(day):
    data, snaps, _ = day
    assert len(snaps) == 77
    traded = np.isin(data.event_type, (4, 5))  # the day's value, hand-summed row by row
    rows = zip(data.size_shares[traded], data.price_raw[traded], strict=True)
    value = sum(int(q) * int(p) for q, p in rows)
    span = data.times_s[-1] - data.times_s[0]
    assert daily_value_usd(data) == pytest.approx(value / 1e4 * 23400 / span, rel=1e-9)
    for k in (0, 30, 76):
        t = snaps.times_s[k]
        r = np.searchsorted(data.times_s, t, side="right") - 1
        bid, ask = data.bid_price_ticks[r, 0], data.ask_price_ticks[r, 0]
        mid = (bid + ask) / 2
        assert snaps.states[k]["spread_bps"] == pytest.approx((ask - bid) / mid * 1e4, rel=1e-6)
        r2 = np.searchsorted(data.times_s, t + 2 * 60.0, side="right") - 1
        mid2 = (data.bid_price_ticks[r2, 0] + data.ask_price_ticks[r2, 0]) / 2
        assert snaps.x_next_bps[k] == pytest.approx((mid2 / mid - 1) * 1e4, abs=1e-6)
    for state, now in zip(snaps.states, snaps.now, strict=True):
        assert datetime.fromisoformat(state["event_ts"]) <= now  # no look-ahead
        assert -1 <= state["order_flow_imbalance"] <= 1


def test_provenance_is_complete_over_the_whole_replay(day):
    """Must-show 3: every applied advice of both arms over the whole AMZN day."""
    _, snaps, advisor = day
    adv, base = advice_stream(snaps, DEFAULT_POLICY, advisor, jax.random.key(0))
    u = crn_uniforms(len(snaps), 0)
    idx = np.arange(len(snaps))
    limits = RiskLimits(is_risk_budget_bps=2.0)  # tight: the risk layer acts on the way
    applied = [
        a
        for stream in (adv, base)
        for a in run_arm(snaps, stream, idx, DEFAULT_POLICY, limits, advisor, u).advice
    ]
    assert len(applied) == 2 * len(snaps)
    fallbacks = controls = 0
    for k, advice in enumerate(applied):
        state, now = snaps.states[k % len(snaps)], snaps.now[k % len(snaps)]
        p = advice["provenance"]
        assert all(f in p for f in PROVENANCE_FIELDS)
        assert p["inputs"] == state
        text = json.dumps(state, sort_keys=True, separators=(",", ":"))
        assert p["inputs_hash"] == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        age_ms = (now - datetime.fromisoformat(state["event_ts"])).total_seconds() * 1e3
        assert p["state_age_ms"] == pytest.approx(age_ms)
        assert p["limits_version"] == DEFAULT_POLICY["version"]
        assert p["simulator_version"].startswith(f"wmjax {wmjax.__version__}")
        assert p["risk_limits_version"] == limits.version
        stale = age_ms > DEFAULT_POLICY["max_state_age_ms"]
        if k < len(snaps):  # advisor arm: a fallback exactly when the state is stale
            assert p["fallback"] == stale and p["applied"] == "advisor"
            assert (p["fallback_reason"] or "").startswith("stale") == stale
        else:
            assert p["fallback"] and p["applied"] == "baseline"
        fallbacks += p["fallback"]
        controls += bool(p["risk_controls"])
    assert 0 < fallbacks < len(applied) and controls > 0  # both branches were exercised


def test_verification_with_the_advisor_off_is_exactly_the_baseline(day):
    """Kill switch off: the advisor arm applies the baseline; on the same snapshots and paths
    the two arms are then identical, so every delta is exactly 0 (common random numbers)."""
    _, snaps, advisor = day
    cfg = VerifyConfig(order_snapshots=10, bootstrap=20)
    out = verify_advisor(snaps, DEFAULT_POLICY, RiskLimits(), advisor, cfg, enabled=False)
    d = out["replay"]["deltas"]
    assert d["slippage_delta_bps"] == 0 and d["shortfall_delta_usd"] == 0
    assert d["p95_delta_bps"] == 0
    assert out["split_book"]["paired_delta_bps"] == 0
    rows = {c["criterion"]: c["passed"] for c in out["criteria"]}
    assert not rows["improvement overall (paired replay)"]  # no improvement to promote
    assert rows["no increase in risk incidents"] and rows["deterministic overrides"]
    assert rows["provenance complete"] and out["provenance"]["share"] == 1.0
    assert not out["promote"]


def test_verify_advisor_cli(day, capsys, monkeypatch):
    args = ["verify-advisor", "--market", str(shared_file("lobster", MESSAGES))]
    small = [
        "--step-s",
        str(STEP_S),
        "--paths",
        "16",
        "--order-snapshots",
        "10",
        "--adv-usd",
        "5e8",
    ]
    assert main([*args, *small, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["snapshots"] == 77 and out["symbol"] == "AMZN" and out["date"] == "2012-06-21"
    assert [c["criterion"] for c in out["criteria"]] == [
        "improvement overall (paired replay)",
        "stable across regimes",
        "paper split-book not worse",
        "no increase in risk incidents",
        "deterministic overrides",
        "provenance complete",
    ]
    assert out["determinism"]["identical"] and out["provenance"]["share"] == 1.0
    split = out["split_book"]
    assert split["orders"] == 7 and split["advisor_orders"] == 4 and split["baseline_orders"] == 3
    assert main([*args, "--step-s", "1800", "--paths", "16", "--adv-usd", "5e8"]) == 0
    assert "Promotion criteria" in capsys.readouterr().out
    monkeypatch.setenv("EXECUTION_ADVISOR_ENABLED", "false")
    coarse = ["--step-s", "1800", "--paths", "16", "--adv-usd", "5e8", "--order-snapshots", "4"]
    assert main([*args, *coarse, "--json"]) == 0
    off = json.loads(capsys.readouterr().out)
    assert not off["advisor_enabled"] and off["replay"]["deltas"]["slippage_delta_bps"] == 0
    monkeypatch.setenv("EXECUTION_ADVISOR_ENABLED", "perhaps")
    assert main([*args, *coarse]) == 2
    assert "EXECUTION_ADVISOR_ENABLED" in capsys.readouterr().err
    assert main([*args, "--side", "hold"]) == 2
    assert "--side" in capsys.readouterr().err
    assert main([*args, "--policy", "no_such_policy.json"]) == 2
    assert "--policy no_such_policy.json does not exist" in capsys.readouterr().err
