"""`wmjax evaluate` and pretrade's market context / AC world model strategy, in-process."""

import json

import numpy as np
import pytest

from wmjax.cli._main import main


def test_evaluate_json_and_table(capsys, tmp_path):
    args = ["evaluate", "--paths", "64", "--horizon", "0.5", "--out", str(tmp_path)]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["strategies"]) == {"twap", "vwap", "ac_optimal", "pov_10", "aggressive"}
    twap = out["strategies"]["twap"]
    assert twap["is_vs_arrival_bps"]["se"] > 0 and "timing_alpha_bps" in twap
    bias = out["prediction"]["twap"]["shortfall_bias_bps"]
    assert abs(bias["mean"]) < 4 * bias["se"] + 5.0
    assert (tmp_path / "evaluate_is.png").is_file()
    assert main([*args, "--no-plots"]) == 0
    assert "Execution quality" in capsys.readouterr().out


def test_evaluate_bad_input_is_one_line(capsys):
    assert main(["evaluate", "--shares", "-5", "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "quantity_shares" in err[0]


@pytest.mark.slow
def test_pretrade_adds_market_context_and_the_ac_world_schedule(capsys):
    args = ["pretrade", "--side", "buy", "--shares", "2e5", "--adv", "5e6", "--horizon", "0.5"]
    opts = ["--periods", "10", "--paths", "200", "--sensitivity-paths", "20", "--no-plots"]
    runs = {}
    for regime in ("calm", "stressed"):
        assert main([*args, *opts, "--regime", regime, "--json"]) == 0
        runs[regime] = json.loads(capsys.readouterr().out)
    out = runs["stressed"]
    assert "ac_world" in out["strategies"]
    ctx = out["market_context"]
    assert ctx["regime"] == "stressed" and len(ctx["sigma_path"]) == 10
    # the regime model's multipliers (default scaling: volatile sigma x2, eta x4/3; calm sigma
    # x0.6, eta x0.75) reach the simulation and the context: the same strategies cost more
    # and risk more in the stressed regime (common random numbers: same seed)
    calm = runs["calm"]
    assert ctx["regime_sigma_mult"] == pytest.approx(2.0)
    assert calm["market_context"]["regime_sigma_mult"] == pytest.approx(0.6)
    # at the open the chain is in the named regime: the market's own expected sigma_0 is
    # 2 / 0.6 times the calm one; the heads (trained on stress ratios 1-2) see it in part
    cold_ctx = calm["market_context"]
    assert ctx["sigma_exact"][0] == pytest.approx(2.0 / 0.6 * cold_ctx["sigma_exact"][0], rel=1e-4)
    assert ctx["sigma_path"][0] > 1.5 * cold_ctx["sigma_path"][0]
    # the predicted cost: the industry formulas (deterministic in sigma) and the simulated
    # impact of the aggressive strategy (little price risk: its mean is resolved on 200 paths)
    for formula, field in (("athl_2005", "J_bps"), ("istar_kissell", "total_bps")):
        assert out["industry"][formula][field] > 1.1 * calm["industry"][formula][field]
    hot, cold = out["strategies"]["aggressive"], calm["strategies"]["aggressive"]
    se = np.hypot(hot["std_bps"], cold["std_bps"]) / np.sqrt(200)
    assert hot["mean_bps"] > cold["mean_bps"] + 3 * se
    for name in ("twap", "vwap"):
        assert out["strategies"][name]["std_bps"] > 2.5 * calm["strategies"][name]["std_bps"]
    assert main([*args, *opts, "--regime", "volatile"]) == 2
    assert "regime" in capsys.readouterr().err
