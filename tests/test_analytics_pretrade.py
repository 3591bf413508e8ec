"""Pre-trade report: common random numbers (must-show 1), the recommendation, the vmapped
sensitivity grid against exact monotonicity, the industry models against hand computation and
the ATHL-calibrated desk market against the ATHL formula, and the pretrade CLI."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.analytics import (
    ATHL_2005,
    SensitivityGrid,
    Strategy,
    athl_cost_bps,
    desk_market_params,
    istar_cost_bps,
    pretrade,
    standard_strategies,
)
from wmjax.cli._main import main
from wmjax.execution import free_schedule_policy, order
from wmjax.market import ImpactMarket

N = 5
PATHS = 4000
GRID = SensitivityGrid()
ORDER = order(2e5, 0.5, "buy", risk_aversion=0.3)
PARAMS = desk_market_params(N, 0.5, daily_volume_shares=4e6, daily_volatility=0.02)


def _report(seed):
    # the same shapes as the CLI test below, so the CLI reuses this compilation
    return pretrade(
        ORDER,
        ImpactMarket(),
        PARAMS,
        n_paths=PATHS,
        key=jax.random.key(seed),
        pov_rates=(0.1, 0.2),
        sensitivity=GRID,
        sensitivity_paths=200,
    )


@pytest.fixture(scope="module")
def reports():
    return _report(1), _report(2)


def test_common_random_numbers_cut_the_std_of_strategy_differences(reports):
    """Must-show 1: std of IS(twap) - IS(vwap) on common paths <= 1/5 of that on independent
    paths (measured ratio printed)."""
    a, b = reports
    i, j = a.strategies.index("twap"), a.strategies.index("vwap")
    common = np.std(a.is_samples_bps[i] - a.is_samples_bps[j])
    independent = np.std(a.is_samples_bps[i] - b.is_samples_bps[j])
    ratio = common / independent
    print(f"CRN std ratio twap-vwap: {ratio:.4f}")
    assert ratio <= 0.2
    # the pairs with the most different schedules too
    k = a.strategies.index("aggressive")
    assert np.std(a.is_samples_bps[i] - a.is_samples_bps[k]) < np.std(
        a.is_samples_bps[i] - b.is_samples_bps[k]
    )


def test_report_figures_and_recommendation(reports):
    """Oracles, not restatements: the objective's reported SE against the spread between two
    independent reports, the recommendation against the constraints it must respect, POV's
    participation against its rate (an invariant), schedules' holdings against their plans."""
    r, r2 = reports
    assert r.strategies == ["twap", "vwap", "ac_optimal", "pov_10", "pov_20", "aggressive"]
    np.testing.assert_allclose(r.mean_bps, r.is_samples_bps.mean(1), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(r.p95_bps, np.quantile(r.is_samples_bps, 0.95, axis=1), atol=1e-2)
    # independent keys: objective differences between the reports are N(0, se1^2 + se2^2)
    z = (r.objective_bps - r2.objective_bps) / np.hypot(r.objective_se_bps, r2.objective_se_bps)
    assert np.all(np.abs(z) < 4), z
    assert np.all(r.objective_se_bps > 0)
    # the recommendation completes within the cap on >= 95% of paths; no strategy that does is
    # better by more than 2 SE of the paired difference
    i = r.strategies.index(r.recommended)
    assert r.on_time_prob[i] >= 0.95 and r.ranking.eligible[i]
    better = (r.objective_bps < r.objective_bps[i]) & (r.on_time_prob >= 0.95)
    assert not better.any()
    # POV never trades above its rate (no dump at the end); schedules complete their plan
    for name, rate in (("pov_10", 0.1), ("pov_20", 0.2)):
        k = r.strategies.index(name)
        assert r.peak_participation_p95[k] <= rate + 1e-5
        assert r.completion_prob[k] <= 1.0
    schedules = [r.strategies.index(n) for n in ("twap", "vwap", "ac_optimal", "aggressive")]
    assert np.all(r.completion_prob[schedules] == 1.0)
    assert np.all(r.on_time_prob <= r.completion_prob)
    np.testing.assert_allclose(r.holdings_frac[:, 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r.holdings_frac[schedules, -1], 0.0, atol=1e-5)
    # AC-optimal with risk aversion is front-loaded relative to TWAP, aggressive more so
    assert r.holdings_frac[2, 1] < r.holdings_frac[0, 1]
    assert r.holdings_frac[5, 1] < r.holdings_frac[2, 1]
    d = json.loads(json.dumps(r.to_dict()))
    assert d["recommended"] == r.recommended and "athl_2005" in d["industry"]
    assert d["recommendation"]["verdict"] in ("recommended", "not distinguishable")


def test_sensitivity_grid_is_exactly_monotone_on_common_paths(reports):
    """Every scenario uses the same key, so a costlier regime raises every path's IS: the grid
    means are strictly ordered calm < normal < stressed, and more volume lowers TWAP's cost."""
    r = reports[0]
    mean = r.sensitivity["mean_bps"]
    assert mean.shape == (6, *GRID.shape)
    assert np.all(np.diff(mean, axis=-1) > 0)
    twap = mean[0]
    assert np.all(np.diff(twap, axis=1) < 0)


def test_industry_models_by_hand():
    athl = athl_cost_bps(1e5, 1e6, 0.02, 0.5, shares_outstanding=1e8)
    turnover = (1e8 / 1e6) ** 0.25
    perm = 0.314 * 0.02 * 0.1 * turnover * 1e4
    temp = 0.142 * 0.02 * (0.1 / 0.5) ** 0.6 * 1e4
    assert math.isclose(athl["total_bps"], perm / 2 + temp, rel_tol=1e-12)
    ist = istar_cost_bps(1e5, 1e6, 0.02, 5e5)
    i_star = 708 * 0.1**0.55 * (0.02 * math.sqrt(252)) ** 0.71
    pov = 1e5 / (1e5 + 5e5)
    assert math.isclose(ist["total_bps"], 0.98 * i_star * pov**0.5 + 0.02 * i_star, rel_tol=1e-12)
    with pytest.raises(InputError, match="quantity_shares"):
        athl_cost_bps(-1, 1e6, 0.02, 0.5)


def test_desk_market_reproduces_athl_for_twap_and_runs_any_policy():
    """With a flat volume profile and no volume noise a TWAP pays ATHL's temporary impact
    exactly, the half spread, and the discrete permanent impact gamma X^2 (N - 1) / (2 N).
    A policy of another kind (a free schedule at zero logits, i.e. TWAP, standing in for a
    trained policy) runs beside it on the same paths and matches it path by path."""
    params = desk_market_params(N, 2.0, daily_volume_shares=4e6, volume_noise=0.0)
    o = order(2e5, 2.0, "buy")
    strategies = [
        *standard_strategies(o, params, pov_rates=()),
        Strategy("free_at_zero", free_schedule_policy, jnp.zeros(N)),
    ]
    r = pretrade(o, ImpactMarket(), params, strategies, PATHS, jax.random.key(3), sensitivity=None)
    ind = r.industry["athl_2005"]
    expected = ind["total_bps"] - ind["permanent_bps"] / 2 / N
    se = r.std_bps[0] / np.sqrt(PATHS)
    assert abs(r.mean_bps[0] - expected) < 4 * se
    assert ind["constants"] == ATHL_2005
    assert r.strategies[-1] == "free_at_zero"
    np.testing.assert_allclose(r.is_samples_bps[-1], r.is_samples_bps[0], rtol=1e-4, atol=1e-2)


def test_bad_input_is_named():
    with pytest.raises(InputError, match="side"):
        order(1e5, 1.0, "hold")
    with pytest.raises(InputError, match="n_paths"):
        pretrade(ORDER, ImpactMarket(), PARAMS, n_paths=0)
    with pytest.raises(InputError, match="regime"):
        SensitivityGrid(regime=("panic",))
    with pytest.raises(InputError, match="pov rate"):
        pretrade(ORDER, ImpactMarket(), PARAMS, pov_rates=(1.5,))


def test_pretrade_cli_json_and_errors(capsys, tmp_path):
    assert (
        main(
            [
                "pretrade",
                "--side",
                "sell",
                "--shares",
                "1e5",
                "--adv",
                "4e6",
                "--horizon",
                "0.5",
                "--periods",
                "5",
                "--paths",
                "4000",
                "--pov",
                "0.1,0.2",
                "--risk-aversion",
                "0.3",
                "--sensitivity-paths",
                "200",
                "--json",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["order"]["side"] == "sell"
    assert set(out["strategies"]) == {
        "twap",
        "vwap",
        "ac_optimal",
        "pov_10",
        "pov_20",
        "aggressive",
    }
    assert len(out["figures"]) == 3 and all((tmp_path / f).exists() for f in out["figures"])
    assert (
        main(["pretrade", "--side", "hold", "--shares", "1e5", "--adv", "4e6", "--horizon", "1"])
        == 2
    )
    assert "side" in capsys.readouterr().err
