"""The venues market: its liquidity sampler against its closed-form tails, lit-only routing
against the lit market alone, the IS of one routed child order by hand, common random numbers,
and clear errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.execution import RolloutConfig, order, rollout, schedule_policy, twap
from wmjax.market import (
    ImpactMarket,
    VenuesMarket,
    impact_params,
    liquidity_tails,
    sample_liquidity,
    venue_params,
)
from wmjax.strategies import SplitRoute, lit_only_route, split_route_policy

LIT = impact_params(4, sigma=0.5, epsilon=0.01, eta=1e-7)
VENUES = venue_params(
    LIT,
    zero_prob=[0.3, 0.5, 0.2],
    tail_kind=["poisson", "power_law", "poisson"],
    poisson_mean_lots=[4.0, 1.0, 8.0],
    power_exponent=[1.5, 1.2, 1.5],
    improvement_frac=[1.0, 0.5, 1.0],
    adverse_bps_per_lot=[0.02, 0.0, 0.08],
)
MARKET = VenuesMarket(3)
ORDER = order(5_000, 0.05, "buy")
CONFIG = RolloutConfig(n_paths=128, n_steps=4)
ONE_STEP = RolloutConfig(n_paths=512, n_steps=1)  # shared by two tests: one compilation


def test_liquidity_sampler_matches_its_tails():
    n, s_max = 50_000, 20
    draws = np.asarray(jax.jit(lambda k: sample_liquidity(k, VENUES, (n,)))(jax.random.key(0)))
    empirical = np.stack([(draws >= s).mean(0) for s in range(s_max + 1)], axis=1)
    tails = np.asarray(liquidity_tails(VENUES, s_max))
    se = np.sqrt(tails * (1 - tails) / n) + 1e-6
    assert np.all(np.abs(empirical - tails) < 4.5 * se)
    # power law: T(s) = (1 - p0) s^-alpha exactly
    s = np.arange(1, s_max + 1)
    np.testing.assert_allclose(tails[1, 1:], 0.5 * s**-1.2, rtol=1e-5)


def test_lit_only_routing_is_the_lit_market_path_by_path():
    key = jax.random.key(1)
    fractions = twap(4)
    routed = rollout(key, MARKET, VENUES, split_route_policy, lit_only_route(fractions, 3),
                     ORDER, CONFIG)  # fmt: skip
    alone = rollout(key, ImpactMarket(), LIT, schedule_policy, fractions, ORDER, CONFIG)
    np.testing.assert_allclose(routed.is_bps, alone.is_bps, rtol=1e-5, atol=1e-5)
    assert float(jnp.sum(routed.final_state.sent_shares)) == 0.0


def test_one_routed_child_order_costs_what_the_hand_computation_says():
    # no price noise, one interval, every pool holds exactly one lot (alpha = 60: L = 1)
    lit = impact_params(1, arrival_price=50.0, sigma=0.0, epsilon=0.01, eta=1e-7)
    venues = venue_params(
        lit, zero_prob=[0.0, 0.0, 0.0], tail_kind=["power_law"] * 3, power_exponent=[60.0] * 3,
        improvement_frac=[1.0, 0.5, 1.0], adverse_bps_per_lot=[0.1, 0.0, 0.2],
    )  # fmt: skip
    q, horizon = 1_000.0, 0.01
    params = SplitRoute(jnp.ones(1), jnp.full(3, 1 / 3))
    paths = rollout(jax.random.key(2), MARKET, venues, split_route_policy, params,
                    order(q, horizon, "buy"), ONE_STEP)  # fmt: skip
    mid, eps, eta = 50.0, 0.01, 1e-7
    dark = 100 * mid + 100 * (mid + 0.5 * eps) + 100 * mid
    moved = mid * (1 + 1e-4 * (0.1 + 0.2))  # one lot filled in pools 0 and 2
    lit_shares = q - 300
    lit_cost = lit_shares * (moved + eps + eta * lit_shares / horizon)
    expected_bps = (dark + lit_cost - q * mid) / (q * mid) * 1e4
    np.testing.assert_allclose(paths.is_bps, expected_bps, rtol=1e-4)
    np.testing.assert_allclose(paths.final_state.filled_shares[0], [100, 100, 100])


def test_pools_draw_the_same_liquidity_whatever_the_allocation():
    o = order(3_000, 0.01, "buy")
    run = lambda split: rollout(  # noqa: E731
        jax.random.key(3), MARKET, _one_step(VENUES), split_route_policy,
        SplitRoute(jnp.ones(1), jnp.asarray(split)), o, ONE_STEP,
    ).final_state  # fmt: skip
    a, b = run(np.full(3, 1 / 3)), run([0.6, 0.3, 0.1])
    # where neither allocation was filled in full, both saw the pool's liquidity exactly
    seen = (a.filled_shares < a.sent_shares) & (b.filled_shares < b.sent_shares)
    assert int(seen.sum()) > 100
    np.testing.assert_array_equal(a.filled_shares[seen], b.filled_shares[seen])


def _one_step(venues):
    return venues.replace(lit=impact_params(1, sigma=0.5, epsilon=0.01, eta=1e-7))


def test_bad_venues_are_clear_errors():
    with pytest.raises(InputError, match="zero_prob"):
        venue_params(LIT, zero_prob=[1.5], tail_kind=["poisson"])
    with pytest.raises(InputError, match="tail_kind"):
        venue_params(LIT, zero_prob=[0.1], tail_kind=["gaussian"])
    with pytest.raises(InputError, match="adverse_bps_per_lot"):
        venue_params(LIT, zero_prob=[0.1, 0.2], tail_kind=[0, 1], adverse_bps_per_lot=[1.0])
    with pytest.raises(InputError, match="poisson_mean_lots"):
        venue_params(LIT, zero_prob=[0.1], tail_kind=[0], poisson_mean_lots=[500.0])
