"""`wmjax ac`, `wmjax optimize` and `wmjax demo`: JSON shapes, values, and clear errors."""

import json

import numpy as np
import pytest

from wmjax.cli._main import main
from wmjax.execution import almgren_chriss


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_ac_json_matches_the_closed_form(capsys, tmp_path):
    out = run_json(capsys, ["ac", "--json", "--frontier", "--out", str(tmp_path)])
    sol = almgren_chriss(1e6, 5.0, 5, 0.95, 2.5e-6, 2.5e-7, 0.0625, 1e-6)
    assert out["kappa"] == pytest.approx(sol.kappa)
    np.testing.assert_allclose(out["trajectory"], sol.holdings)
    np.testing.assert_allclose(out["trades"], sol.trades)
    assert out["expected_cost"] == pytest.approx(sol.expected_cost)
    assert out["variance"] == pytest.approx(sol.variance)
    assert len(out["frontier"]["variance"]) == 30
    assert (tmp_path / "ac_frontier.png").stat().st_size > 0


def test_ac_bad_input_is_one_line_and_exit_code_2(capsys):
    assert main(["ac", "--shares", "-5"]) == 2
    err = capsys.readouterr().err
    assert "error: --shares must be > 0, got -5" in err and err.count("\n") == 1


def test_optimize_json(capsys):
    # --periods 4 and --paths 64 as in the demo test below: the compiled rollouts are shared
    argv = ["optimize", "--json", "--paths", "64", "--iterations", "3", "--periods", "4"]
    out = run_json(capsys, argv)
    assert set(out["strategies"]) == {"optimised", "twap", "ac_optimal"}
    for s in out["strategies"].values():
        assert set(s) >= {"mean", "std", "objective", "trajectory"} and len(s["trajectory"]) == 5
    assert len(out["closed_form_trajectory"]) == 5 and 0 <= out["max_deviation_frac"] < 1


def test_demo_json(capsys, tmp_path):
    out = run_json(
        capsys,
        [
            "demo",
            "--json",
            "--paths",
            "64",
            "--iterations",
            "3",
            "--periods",
            "4",
            "--book-paths",
            "16",
            "--out",
            str(tmp_path),
        ],
    )
    book = out["order_book"]["strategies"]
    baselines = {"twap_market", "twap_limit", "ac_market", "pov", "aggressive", "limit_hold"}
    assert set(book) == baselines
    assert out["order_book"]["recommended"] == min(book, key=lambda k: book[k]["objective"])
    assert out["order_book"]["recommendation"]["verdict"] in ("recommended", "not distinguishable")
    for v in book.values():
        assert 0.0 <= v["passive_share"] <= v["fill_rate"] <= 1.0 + 1e-6
        # each mean with its standard error (zero only when every path agrees)
        for mean, se in (("mean_is_bps", "mean_is_se_bps"), ("fill_rate", "fill_rate_se")):
            assert np.isfinite(v[mean]) and v[se] >= 0 and np.isfinite(v[se])
        assert v["objective_se"] > 0
    names = {"TWAP", "VWAP", "POV-10%", "AC-optimal", "aggressive", "optimised"}
    assert set(out["strategies"]) == names and out["recommended"] in names
    best = min(v["objective"] for v in out["strategies"].values())
    assert out["strategies"][out["recommended"]]["objective"] == best
    assert out["recommendation"]["verdict"] in ("recommended", "not distinguishable")
    for v in out["strategies"].values():
        assert v["objective_se"] > 0 and v["peak_participation_p95"] > 0
        assert v["completion"] == pytest.approx(1.0, rel=1e-5)
        assert v["p95_is_bps"] >= v["mean_is_bps"] - 1e-6 or v["std_is_bps"] == 0
    assert all((tmp_path / f).stat().st_size > 0 for f in ("schedules.png", "is_distributions.png"))
