"""The execution world's market, `VenuesMarket(1, RegimeImpactMarket())`: limit orders at the
lit touch against their closed forms (fill at mid - half spread, mean fill of an Exp(1)
capacity), lit-only routing on a regime lit market against that market alone path by path,
and `plan_policy`'s routing. Every rollout but one shares one compilation (same market,
policy and config)."""

import jax
import jax.numpy as jnp
import numpy as np

from wmjax.execution import RolloutConfig, order, rollout, schedule_policy, twap
from wmjax.market import RegimeImpactMarket, impact_params, regime_params
from wmjax.models import EXECUTION_MARKET, Plan, execution_market, plan_policy

N_STEPS = 4
LIT = impact_params(N_STEPS, sigma=0.0, epsilon=0.02, eta=1e-6, daily_volume_shares=1e6)
ORDER = order(20_000, 0.5, "buy")
CONFIG = RolloutConfig(n_paths=2048, n_steps=N_STEPS)
ZERO = jnp.float32(0.0)


def _plan(dark_frac, limit_frac, finish):
    return Plan(twap(N_STEPS), ZERO, jnp.float32(finish), jnp.float32(dark_frac),
                jnp.float32(limit_frac))  # fmt: skip


def _run(market_params, plan, key=0):
    return rollout(jax.random.key(key), EXECUTION_MARKET, market_params, plan_policy, plan,
                   ORDER, CONFIG)  # fmt: skip


def test_limit_orders_fill_at_the_touch_as_the_exponential_capacity_says():
    touch = lambda f: execution_market(LIT).replace(passive_fill_share=jnp.float32(f))  # noqa: E731
    all_limit = _plan(0.0, 1.0, 0.0)
    # a touch that always fills: every share at mid - half spread, no impact (sigma = 0)
    full = _run(touch(1e6), all_limit)
    np.testing.assert_allclose(full.is_bps, -0.02 / 50.0 * 1e4, rtol=1e-5)
    # capacity c = f V E, E ~ Exp(1): E[min(q, c)] = c (1 - exp(-q / c)), per interval; what is
    # left is carried, so only the first interval's fill has this closed form
    f, child = 0.02, 5_000.0
    fills = np.asarray(_run(touch(f), all_limit).shares[:, 0])
    c = f * 1e6 / N_STEPS
    expected = c * (1.0 - np.exp(-child / c))
    assert abs(fills.mean() - expected) < 4 * fills.std() / np.sqrt(fills.size)
    # a touch that never fills: nothing trades, the order is not done
    assert float(jnp.max(_run(touch(0.0), all_limit).completion)) == 0.0


def test_lit_only_routing_on_a_regime_market_is_that_market_path_by_path():
    base = impact_params(N_STEPS, sigma=0.8, epsilon=0.01, eta=2e-6, gamma=1e-6)
    lit = regime_params(
        base, regime_sigma_mult=(1.0, 2.5), regime_eta_mult=(1.0, 1.8), switch_prob=(0.3, 0.2)
    )
    alone = rollout(jax.random.key(3), RegimeImpactMarket(), lit, schedule_policy,
                    twap(N_STEPS), ORDER, CONFIG)  # fmt: skip
    routed = _run(execution_market(base).replace(lit=lit), _plan(0.0, 0.0, 1.0), key=3)
    np.testing.assert_allclose(routed.is_bps, alone.is_bps, rtol=1e-5, atol=1e-4)
    assert float(jnp.std(alone.is_bps)) > 0  # the chain and the prices did move


def test_plan_policy_routes_and_an_impact_market_plan_is_the_plain_schedule():
    paths = _run(execution_market(LIT), _plan(0.25, 0.5, 1.0), key=1)
    # no dark liquidity and a touch that never fills: the marketable half of each child fills
    # lit, the limit half is carried, and the last interval (finish) trades all that is left
    np.testing.assert_allclose(paths.shares[0], [2_500, 2_500, 2_500, 12_500], rtol=1e-6)
    np.testing.assert_allclose(paths.final_state.sent_shares[0], 0.25 * 7_500 + 0.25 * 12_500)
