"""The basket simulator, the walk-forward backtest (leakage, costs, a market it can beat) and the
price reader."""

import gzip

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.data import load_prices
from wmjax.market import BasketConfig, basket_params, simulate_baskets
from wmjax.strategies import (
    WalkForwardConfig,
    block_layout,
    block_series,
    performance,
    sharpe_difference,
    walk_forward,
)

CONFIG = WalkForwardConfig(formation_days=200, max_block_days=100, cost_bps=2.0)


def test_basket_regimes_follow_the_chain_and_breakdowns_are_random_walks():
    trans = np.array([[0.98, 0.02], [0.05, 0.95]])
    params = basket_params(
        kappa_per_year=(50.0, 0.0), sigma_per_sqrt_year=(0.2, 0.2), transition=trans,
        loadings=(1.0, 0.5), spread_scale=(1.0, 0.0),
    )  # fmt: skip
    paths = simulate_baskets(jax.random.key(0), params, BasketConfig(n_days=400), 400)
    # occupancy -> the chain's stationary law (0.05 / 0.07, 0.02 / 0.07)
    occupancy = float((paths.regime[:, 100:] == 0).mean())
    assert occupancy == pytest.approx(5 / 7, abs=0.03)
    # one-day spread changes: in the breakdown regime (kappa = 0) their variance is sigma^2 dt
    dx = np.diff(np.asarray(paths.spreads[:, :, 0]), axis=1)
    broken = np.asarray(paths.regime[:, 1:] == 1)
    assert dx[broken].var() == pytest.approx(0.04 / 252, rel=0.05)
    # the anchor has no spread; log prices are loading x factor + spread
    assert float(jnp.abs(paths.spreads[:, :, 1]).max()) == 0.0
    np.testing.assert_allclose(paths.log_prices[..., 1], 0.5 * paths.factor, atol=1e-6)


def _universe(seed=0, n_days=1000):
    """Four assets on one factor, three with fast OU spreads (kappa 60/year) and an anchor."""
    params = basket_params(
        kappa_per_year=(60.0,), sigma_per_sqrt_year=(0.25,), loadings=(1.0, 0.9, 1.2, 1.1),
        spread_scale=(1.0, 1.0, 1.0, 0.0),
    )  # fmt: skip
    path = simulate_baskets(jax.random.key(seed), params, BasketConfig(n_days=n_days - 1), 1)
    return np.asarray(path.log_prices[0]) + np.log(50.0)


@pytest.fixture(scope="module")
def backtest():
    lp = _universe()
    layout = block_layout(lp.shape[0], 200, 100, CONFIG)
    blocks, results = walk_forward(lp, layout, CONFIG)
    return lp, layout, blocks, results


def test_backtest_earns_on_a_cointegrated_market_after_costs(backtest):
    _, layout, blocks, results = backtest
    assert float(blocks.selected.mean()) > 0.8  # every pair of this basket is cointegrated
    for name in ("al", "bertram", "first_passage"):
        daily = block_series(results[name].daily_return, layout, CONFIG)
        assert performance(daily)["sharpe"] > 1.0, name


def test_costs_are_charged_per_side_on_every_change(backtest):
    lp, layout, _, results = backtest
    free = WalkForwardConfig(formation_days=200, max_block_days=100, cost_bps=0.0)
    _, gross = walk_forward(lp, layout, free)
    r = results["al"]
    np.testing.assert_allclose(
        gross["al"].daily_return - r.daily_return, 2.0e-4 * r.daily_turnover, atol=1e-7
    )


def test_no_block_sees_prices_after_its_last_day(backtest):
    lp, layout, blocks, results = backtest
    k = 3
    end = int(layout.block_start[k] + layout.block_days[k])
    shocked = lp.copy()
    shocked[end:] += np.linspace(0, 1, lp.shape[0] - end)[:, None] * np.array([1, -1, 2, 0])
    blocks2, results2 = walk_forward(shocked, layout, CONFIG)
    np.testing.assert_array_equal(blocks2.selected[: k + 1], blocks.selected[: k + 1])
    for name in results:
        np.testing.assert_allclose(
            results2[name].daily_return[: k + 1], results[name].daily_return[: k + 1], atol=1e-7
        )
        assert not np.allclose(
            results2[name].daily_return[k + 1 :], results[name].daily_return[k + 1 :]
        )


def test_sharpe_difference_bootstrap_se_matches_the_iid_formula():
    # for iid returns the SE of a Sharpe difference of two independent series is about
    # sqrt(2 (1 + SR^2 / 2) / n) per day, x sqrt(252) annualised (Lo 2002)
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.0, 0.01, (2, 2520))
    diff, se = sharpe_difference(a, b, n_boot=400, block_days=1)
    assert se == pytest.approx(np.sqrt(2 / 2520) * np.sqrt(252), rel=0.15)
    assert abs(diff) < 4 * se


def test_price_reader_names_the_bad_cell(tmp_path):
    path = tmp_path / "p.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("Date,AAA,BBB\n2020-01-02,1.0,2.0\n2020-01-03,1.1,x\n")
    with pytest.raises(InputError, match=r"line 3, field BBB"):
        load_prices(path)
    good = tmp_path / "q.csv"
    good.write_text("Date,AAA,BBB\n2020-01-02,1.0,2.0\n2020-01-03,1.1,2.1\n")
    prices = load_prices(good)
    assert prices.tickers == ("AAA", "BBB") and prices.closes.shape == (2, 2)
    bad = tmp_path / "r.csv"
    bad.write_text("Date,AAA,BBB\n2020-01-03,1.0,2.0\n2020-01-02,1.1,2.1\n")
    with pytest.raises(InputError, match="increasing date order"):
        load_prices(bad)
