"""`wmjax evaluate` and pretrade's market context / AC world model strategy, in-process."""

import json

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
    assert main([*args, *opts, "--regime", "stressed", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "ac_world" in out["strategies"]
    ctx = out["market_context"]
    assert ctx["regime"] == "stressed" and len(ctx["sigma_path"]) == 10
    assert main([*args, *opts, "--regime", "volatile"]) == 2
    assert "regime" in capsys.readouterr().err
