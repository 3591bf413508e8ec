"""Greeks of the expected cost through the market-parameter constructor (issue 10): `jax.grad`
and `vmap` over sigma, eta and the daily volume go straight through `impact_params(...)`; the
gradients equal central finite differences of the same Monte Carlo estimate (same key)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.execution import RolloutConfig, order, rollout, schedule_policy, twap
from wmjax.market import ImpactMarket, impact_params

N = 5
CONFIG = RolloutConfig(n_paths=256, n_steps=N, antithetic=True)
SELL = order(2e5, 1.0, "sell")
KEY = jax.random.key(3)


def expected_cost_bps(sigma, eta, adv):
    """Mean IS (bps) of TWAP on a square-root + linear impact market, geometric prices (so
    sigma matters for the mean too), latency-free."""
    params = impact_params(
        N, sigma=sigma, eta=eta, daily_volume_shares=adv, sqrt_coefficient=0.7, epsilon=0.01
    )
    market = ImpactMarket(price_model="geometric")
    paths = rollout(KEY, market, params, schedule_policy, twap(N), SELL, CONFIG)
    return jnp.mean(paths.is_bps)


def test_greeks_of_expected_cost_match_finite_differences():
    point = (1.0, 2.5e-6, 5e6)
    grads = jax.jit(jax.grad(expected_cost_bps, argnums=(0, 1, 2)))(*point)
    f = jax.jit(expected_cost_bps)
    for i, rel_step in enumerate((1e-2, 1e-2, 1e-2)):
        h = point[i] * rel_step
        up = list(point)
        down = list(point)
        up[i] += h
        down[i] -= h
        fd = (float(f(*up)) - float(f(*down))) / (2 * h)
        assert float(grads[i]) == pytest.approx(fd, rel=0.02), (i, float(grads[i]), fd)
    # the signs a desk expects: more volatility or impact costs more, more volume costs less
    assert grads[1] > 0 and grads[2] < 0


def test_vmap_over_sigma_equals_a_loop():
    sigmas = jnp.array([0.5, 1.0, 2.0])
    batched = jax.vmap(lambda s: expected_cost_bps(s, 2.5e-6, 5e6))(sigmas)
    looped = [float(expected_cost_bps(float(s), 2.5e-6, 5e6)) for s in sigmas]
    np.testing.assert_allclose(np.asarray(batched), looped, rtol=1e-5)


def test_concrete_values_are_still_checked():
    with pytest.raises(InputError, match="daily_volume_shares must be > 0, got 0"):
        impact_params(N, daily_volume_shares=0.0)
