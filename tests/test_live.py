"""Live sessions without a server: staleness, kill switch, crashed strategy, malformed state,
restart from persisted events, the controls hook, provenance, the band against the rollout
engine, replays (LOBSTER, fills) and the metrics. Intervals are driven by hand (no sleeping)."""

import hashlib
import json

import jax
import numpy as np
import pytest
from _shared import LOBSTER, shared_file

from wmjax.analytics import named_strategy_params, strategy_policy
from wmjax.desk import RiskLimits
from wmjax.execution import RolloutConfig, rollout
from wmjax.live import (
    DEFAULT_LIMITS,
    LiveSession,
    SessionConfig,
    desk_controls,
    is_so_far_bps,
    make_feed,
    pretrade_band,
)
from wmjax.live._metrics import LiveMetrics
from wmjax.live._store import SessionStore
from wmjax.market import ImpactMarket

N = 8  # intervals of every test session: one compile of the band, advisor and market step
T0 = 1.8e9  # wall clock of the first interval, seconds since the epoch


def config(**kw):
    base = {"n_steps": N, "horizon_s": 480.0, "band_paths": 64, "speed": 60.0}
    return SessionConfig(**{**base, **kw})


def limits(**kw):
    return json.dumps({**DEFAULT_LIMITS, **kw}, sort_keys=True)


def run(session, steps, t0=T0, dt=1.0):
    events = []
    for _ in range(steps):
        events += session.step(t0 + session.k * dt)
    return events


def of(events, kind):
    return [e for e in events if e["type"] == kind]


def test_is_so_far_closed_form():
    # buy 100 at arrival 10: 40 @ 10.5, then 60 @ 9.5 -> (20 - 30) / 1000 * 1e4 = -100 bps
    got = is_so_far_bps([40.0, 60.0], [10.5, 9.5], 10.0, 100.0, 1.0)
    np.testing.assert_allclose(got, [200.0, -100.0])
    # half filled, final mid 11: opportunity cost 50 * (11 - 10) = 50 on top of 40 * 0.5 = 20
    got = is_so_far_bps([40.0, 10.0], [10.5, 10.0], 10.0, 100.0, 1.0, final_mid=11.0)
    np.testing.assert_allclose(got[-1], (20.0 + 50.0) / 1000 * 1e4)


def test_band_ends_at_the_rollout_engines_is():
    cfg = config()
    feed = make_feed(cfg)
    band = pretrade_band(feed, feed.order, "twap", 64)
    sp = jax.tree.map(lambda x: x[0], named_strategy_params(("twap",), feed.order, feed.params))
    paths = rollout(
        jax.random.key(1),
        ImpactMarket(),
        feed.params,
        strategy_policy,
        sp,
        feed.order,
        RolloutConfig(n_paths=64, n_steps=N, shard=False),
    )
    np.testing.assert_allclose(band.samples_bps[:, -1], paths.is_bps, rtol=1e-4, atol=1e-3)
    assert np.all(band.p05_bps <= band.p50_bps) and np.all(band.p50_bps <= band.p95_bps)


def test_stale_state_falls_back_within_the_timeout_and_alerts():
    s = LiveSession("s", config(limits=limits(max_state_age_ms=500.0)))
    first = run(s, 1)
    assert not of(first, "advice")[0]["advice"]["provenance"]["fallback"]
    s.stall_state(T0 + 0.1, 10.0)
    assert s.watch(T0 + 0.4) == []  # 400 ms old: still fresh
    events = s.watch(T0 + 0.6)  # 600 ms > 500 ms: baseline at once, not at the next interval
    prov = of(events, "advice")[0]["advice"]["provenance"]
    assert prov["fallback"] and prov["fallback_reason"].startswith("stale")
    assert of(events, "alert")[0]["kind"] == "stale"
    step = s.step(T0 + 1.0)
    child = of(step, "child")[0]
    assert child["ceiling"] <= DEFAULT_LIMITS["baseline"]["max_participation_rate"]
    assert "stale" in of(step, "tick")[0]["alerts"]
    resumed = s.step(T0 + 12.0)  # the stall is over: fresh state, alert cleared
    assert next(a for a in of(resumed, "alert") if a["kind"] == "stale")["active"] is False


def test_missing_state_stream_uses_the_baseline():
    s = LiveSession("m", config())
    s.stall_state(T0 - 1.0, 100.0)
    events = s.step(T0)
    prov = of(events, "advice")[0]["advice"]["provenance"]
    assert prov["fallback_reason"].startswith("missing") and prov["inputs"] is None
    assert of(events, "alert")[0]["kind"] == "stale" and of(events, "fill")


def test_kill_switch_falls_back_with_telemetry_flowing(monkeypatch):
    monkeypatch.setenv("EXECUTION_ADVISOR_ENABLED", "false")
    s = LiveSession("k", config(strategy="advisor"))
    events = run(s, 3)
    advices = of(events, "advice")
    assert all(a["override_reason"] == "advisor_disabled" for a in advices)
    assert all(a["advice"]["provenance"]["advisor_enabled"] is False for a in advices)
    ticks = of(events, "tick")
    assert len(ticks) == 3 and len(of(events, "fill")) == 3
    base = DEFAULT_LIMITS["baseline"]["max_participation_rate"]
    assert all(0 < t["participation"] <= base + 1e-6 for t in ticks)


def test_crashed_strategy_does_not_stop_the_order():
    s = LiveSession("c", config(crash_strategy_at_step=2))
    events = run(s, N)
    alerts = [a for a in of(events, "alert") if a["kind"] == "strategy_error"]
    assert len(alerts) == 1 and "injected strategy crash" in alerts[0]["message"]
    assert of(events, "override")[0]["reason"] == "strategy_error"
    ticks = of(events, "tick")
    assert len(ticks) == N and s.done
    base = DEFAULT_LIMITS["baseline"]["max_participation_rate"]
    assert all(t["participation"] <= base + 1e-6 for t in ticks[2:])


def test_malformed_state_message_is_rejected_and_the_last_good_one_kept():
    s = LiveSession("x", config())
    run(s, 1)
    good = s.state
    error, events = s.push_state({**good, "spread_bps": "wide"})
    assert "spread_bps" in error and events[0]["kind"] == "malformed"
    assert s.state is good
    error, _ = s.push_state([1, 2])
    assert "JSON object" in error
    error, events = s.push_state({**good, "spread_bps": 3.0})
    assert error is None and events[0]["active"] is False and s.state["spread_bps"] == 3.0


def test_restart_resumes_from_the_store_without_losing_fills(tmp_path):
    cfg = config(seed=3)
    whole = LiveSession("w", cfg)
    expected = of(run(whole, N), "fill")
    store = SessionStore(tmp_path / "s.sqlite")
    first = LiveSession("r", cfg)
    store.add_session("r", cfg.to_dict())
    store.append("r", run(first, 5))
    store.close()  # the server dies here
    store = SessionStore(tmp_path / "s.sqlite")
    ((sid, saved, status),) = store.sessions()
    resumed = LiveSession(sid, SessionConfig.from_dict(saved))
    resumed.resume(store.events(sid))
    assert resumed.k == 5 and status == "running"
    store.append(sid, run(resumed, N - 5))
    fills = store.events(sid, ("fill",))
    assert [f["step"] for f in fills] == list(range(N))
    np.testing.assert_allclose([f["shares"] for f in fills], [f["shares"] for f in expected])
    np.testing.assert_allclose(
        [f["price"] for f in fills], [f["price"] for f in expected], rtol=1e-6
    )
    assert resumed.filled == pytest.approx(whole.filled)


def test_controls_hook_can_only_tighten():
    def halve(advice, view):
        advice["max_participation_rate"] *= 0.5
        return advice, [f"risk budget at step {view['step']}: participation halved"]

    def loosen(advice, view):
        return {**advice, "max_participation_rate": 1.0}, ["loosen"]

    free = of(run(LiveSession("f", config(strategy="advisor")), 1), "advice")[0]["advice"]
    tight = of(LiveSession("t", config(strategy="advisor"), halve).step(T0), "advice")[0]
    assert tight["override_reason"] == "controls"
    rate = tight["advice"]["max_participation_rate"]
    assert rate == pytest.approx(0.5 * free["max_participation_rate"])
    assert "halved" in tight["advice"]["provenance"]["controls_reasons"][0]
    loose = of(LiveSession("l", config(strategy="advisor"), loosen).step(T0), "advice")[0]
    assert loose["advice"]["max_participation_rate"] == free["max_participation_rate"]
    assert "refused" in loose["advice"]["provenance"]["controls_reasons"][0]
    desk = desk_controls(RiskLimits(max_participation_rate=0.01))
    capped = of(LiveSession("d", config(strategy="advisor"), desk).step(T0), "advice")[0]
    assert capped["advice"]["max_participation_rate"] == pytest.approx(
        min(0.01, free["max_participation_rate"])
    )
    assert capped["advice"]["provenance"]["risk_limits_version"] == "risk_limits_v1"


PROVENANCE = (
    "inputs",
    "inputs_hash",
    "state_age_ms",
    "limits_version",
    "advisor_enabled",
    "simulator_version",
    "market_simulator_version",
    "fallback",
    "fallback_reason",
    "override_reasons",
    "controls_reasons",
)


def check_provenance(advice_events, limits_version):
    for e in advice_events:
        prov = e["advice"]["provenance"]
        assert all(k in prov for k in PROVENANCE)
        assert prov["limits_version"] == limits_version
        if prov["inputs"] is not None:
            text = json.dumps(prov["inputs"], sort_keys=True, separators=(",", ":"))
            assert prov["inputs_hash"] == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
            assert prov["state_age_ms"] >= 0


def test_lobster_replay_every_advice_carries_provenance():
    msg = shared_file("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv")
    assert (LOBSTER / msg.name.replace("_message_", "_orderbook_")).is_file()
    s = LiveSession("z", config(replay=str(msg), quantity_shares=5000, n_steps=N))
    assert s.feed.symbol == "AMZN" and 200 < s.feed.arrival_price < 250
    events = run(s, N)
    advices = of(events, "advice")
    assert len(advices) == N and s.done
    check_provenance(advices, s.limits_version)
    ticks = of(events, "tick")
    assert all(t["participation"] <= t["ceiling"] + 1e-6 for t in ticks)


def test_fills_replay_streams_the_files_executions(tmp_path):
    path = tmp_path / "order.csv"
    path.write_text(
        "time,side,shares,price\n34200,buy,100,50.01\n34300,buy,300,50.03\n34600,buy,200,50.02\n"
    )
    path.with_suffix(".json").write_text(
        json.dumps({"arrival_price": 50.0, "start": 34200, "end": 34680, "symbol": "XYZ"})
    )
    # 60-s intervals at $50, as the simulated sessions: the advisor compiled for them serves
    s = LiveSession("h", config(replay=str(path)))
    fills = of(run(s, N), "fill")
    np.testing.assert_allclose([f["shares"] for f in fills], [100, 300, 0, 0, 0, 0, 200, 0])
    assert s.feed.symbol == "XYZ"
    # (100 * 0.01 + 300 * 0.03 + 200 * 0.02) / (600 * 50) * 1e4
    assert s.is_so_far_bps == pytest.approx(14.0 / 30000 * 1e4, rel=1e-4)


def test_metrics_carry_the_seed_names_and_labels():
    m = LiveMetrics()
    s = LiveSession("p", config(symbol="ABC"))
    for e in [*run(s, 2), {"type": "override", "reason": "strategy_error"}]:
        m.observe("ABC", "twap", e)
    text = m.render().decode()
    for name in (
        'execution_slippage_bps{strategy="twap",symbol="ABC"}',
        'execution_shortfall_notional{strategy="twap",symbol="ABC"}',
        'tca_simulator_divergence_bps{symbol="ABC"}',
        'execution_policy_override_total{reason="strategy_error"} 1.0',
    ):
        assert name in text
    assert "# TYPE execution_adverse_selection_flag_total counter" in text


def test_bad_session_config_names_the_field():
    from wmjax._checks import InputError

    with pytest.raises(InputError, match="unknown field"):
        SessionConfig.from_dict({"quantity": 5})
    with pytest.raises(InputError, match="strategy"):
        SessionConfig.from_dict({"strategy": "fast"})
