"""Simulator-backed TCA and drift (must-show 4): the monitor fires on a synthetic drift (the
real market's impact and spread tripled while the simulator keeps its calibration) and stays
quiet without one, at the configured threshold and window count; the contract record, the
Prometheus text, the vectorised and incremental alerts agree, and the tca CLI."""

import json

import jax
import numpy as np
import pytest
from _shared import shared_file

from wmjax import InputError
from wmjax.analytics import (
    METRICS,
    DriftMonitor,
    desk_market_params,
    drift_alerts,
    named_strategy_params,
    strategy_policy,
    tca_divergence,
)
from wmjax.execution import RolloutConfig, order, rollout
from wmjax.market import ImpactMarket

N = 5
WINDOWS, PER_WINDOW = 40, 20
THRESHOLD_BPS, CONSECUTIVE = 5.0, 3
BASE = desk_market_params(N, 0.25, daily_volume_shares=4e6, daily_volatility=0.005)
DRIFTED = BASE.replace(sqrt_coefficient=BASE.sqrt_coefficient * 3, epsilon=BASE.epsilon * 3)
ORDER = order(2e5, 0.25, "buy")


@pytest.fixture(scope="module")
def divergences():
    vwap = jax.tree.map(lambda x: x[0], named_strategy_params(("vwap",), ORDER, BASE))

    def run(seed, params, n):
        cfg = RolloutConfig(n_paths=n, n_steps=N, shard=False)
        paths = rollout(
            jax.random.key(seed), ImpactMarket(), params, strategy_policy, vwap, ORDER, cfg
        )
        return np.asarray(paths.is_bps, float)

    n = PER_WINDOW * 500  # one path count for all three runs: one compilation
    simulated = run(1, BASE, n).reshape(PER_WINDOW, 500)
    quiet = run(2, BASE, n)[: WINDOWS * PER_WINDOW].reshape(WINDOWS, PER_WINDOW)
    drifted = run(3, DRIFTED, n)[: WINDOWS * PER_WINDOW].reshape(WINDOWS, PER_WINDOW)
    records = {
        name: [tca_divergence(w, simulated, "test") for w in windows]
        for name, windows in (("quiet", quiet), ("drift", drifted))
    }
    return simulated, records


def _alerts(records, threshold=THRESHOLD_BPS, consecutive=CONSECUTIVE):
    monitor = DriftMonitor(threshold, consecutive)
    return np.array([monitor.update(r) for r in records]), monitor


def test_monitor_fires_on_drift_and_stays_quiet_without(divergences):
    _, records = divergences
    quiet, _ = _alerts(records["quiet"])
    drift, monitor = _alerts(records["drift"])
    print(
        f"drift alerts: quiet {quiet.sum()}/{WINDOWS} windows, drift {drift.sum()}/{WINDOWS}"
        f" (first at window {int(np.argmax(drift))})"
    )
    assert not quiet.any()
    assert drift.any() and np.argmax(drift) <= 10
    # the same series with a window count it cannot reach stays quiet: the count is honoured
    assert not _alerts(records["drift"], consecutive=WINDOWS + 1)[0].any()
    # and the vectorised rule agrees with the incremental monitor
    for name, alerts in (("quiet", quiet), ("drift", drift)):
        d = [r["divergence_bps"] for r in records[name]]
        np.testing.assert_array_equal(drift_alerts(d, THRESHOLD_BPS, CONSECUTIVE), alerts)
    assert monitor.metrics()["execution_adverse_selection_flag_total"] > 0


def test_contract_record(divergences):
    simulated, records = divergences
    r = records["quiet"][0]
    assert set(r) == {
        "schema_version",
        "expected_shortfall_bps_p50",
        "expected_shortfall_bps_p95",
        "realized_shortfall_bps",
        "divergence_bps",
        "simulator_version",
    }
    assert r["schema_version"] == "tca_divergence_v1"
    window = simulated.mean(axis=0)
    assert r["expected_shortfall_bps_p50"] == pytest.approx(np.median(window))
    # oracles by construction: a window that realised its simulated median plus 3 bps diverges
    # by exactly 3 bps, and one at the simulated p95 is not flagged as adverse
    p50, p95 = np.median(window), np.quantile(window, 0.95)
    shifted = tca_divergence(np.full(PER_WINDOW, p50 + 3.0), simulated, "test")
    assert shifted["divergence_bps"] == pytest.approx(3.0, abs=1e-9)
    assert shifted["expected_shortfall_bps_p95"] == pytest.approx(p95)
    with pytest.raises(InputError, match="realised_is_bps has 2 orders"):
        tca_divergence([1.0, 2.0], simulated)
    with pytest.raises(InputError, match="threshold_bps"):
        DriftMonitor(threshold_bps=-1)


def test_drift_alerts_rule_by_hand():
    d = [6, -7, 1, 8, 9, -10, 2, 11]
    np.testing.assert_array_equal(
        drift_alerts(d, 5.0, 2), [False, True, False, False, True, True, False, False]
    )


def test_prometheus_text():
    m = DriftMonitor(5.0, 2)
    rec = {
        "divergence_bps": 7.0,
        "realized_shortfall_bps": 20.0,
        "expected_shortfall_bps_p50": 13.0,
        "expected_shortfall_bps_p95": 18.0,
    }
    m.update(rec, notional=1e6, overrides=2)
    m.update(rec, notional=1e6, overrides=1)
    text = m.prometheus({"symbol": 'A"B'})
    values = {}
    for name, (kind, _) in METRICS.items():
        assert f"# TYPE {name} {kind}\n" in text
        prefix = name + '{symbol="A\\"B"} '
        line = [x for x in text.splitlines() if x.startswith(prefix)]
        assert len(line) == 1, name
        values[name] = float(line[0][len(prefix) :])
    assert values["execution_policy_override_total"] == 3
    assert values["execution_adverse_selection_flag_total"] == 2
    assert values["execution_shortfall_notional"] == pytest.approx(2000.0)
    assert values["tca_drift_alert"] == 1


def test_tca_cli(tmp_path, capsys):
    from wmjax.cli._main import main

    data = str(shared_file("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv"))
    fills = tmp_path / "f.csv"
    fills.write_text("time,side,shares,price\n36030,sell,500,223.90\n36300,sell,300,223.62\n")
    fills.with_suffix(".json").write_text(
        json.dumps({"arrival_price": 224.0, "start": 36000, "end": 37800, "symbol": "AMZN"})
    )
    metrics = tmp_path / "m.prom"
    assert (
        main(
            [
                "tca",
                str(fills),
                str(fills),
                "--market",
                data,
                "--periods",
                str(N),
                "--paths",
                "200",
                "--consecutive",
                "1",
                "--threshold-bps",
                "0.001",
                "--metrics-out",
                str(metrics),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert [w["drift_alert"] for w in out["windows"]] == [True, True]
    assert 'tca_drift_alert{symbol="AMZN"} 1' in metrics.read_text()
