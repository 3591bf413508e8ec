"""Must-show item 5: one flax ScheduleNet, trained once across (sigma, eta, lambda, Q, T) on
linear impact, is within 1% of the closed-form optimum objective on held-out orders."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax.execution import ac_cost_moments, almgren_chriss
from wmjax.models import OrderDistribution, ScheduleNet, schedule_net_trades, train_schedule_net

N = 5


def test_order_distribution_draws_in_range():
    dist = OrderDistribution()
    draws = dist.sample(jax.random.key(2), 500)
    for name, values in draws.items():
        lo, hi = getattr(dist, name)
        assert np.all(np.asarray(values) >= lo * 0.999) and np.all(np.asarray(values) <= hi * 1.001)


@pytest.mark.slow
def test_trained_net_is_within_one_percent_of_the_closed_form_optimum():
    net = ScheduleNet()
    result = train_schedule_net(
        jax.random.key(0), net, n_steps=N, n_updates=600, learning_rate=1e-2
    )
    draws = OrderDistribution().sample(jax.random.key(123), 48)  # held-out orders
    trades = schedule_net_trades(net, result.params, draws, N)
    # a policy that completes: non-negative trades summing to each order
    assert np.all(trades >= 0)
    np.testing.assert_allclose(trades.sum(axis=1), np.asarray(draws["quantity_shares"]), rtol=1e-5)
    d = {k: np.asarray(v, np.float64) for k, v in draws.items()}
    excess = []
    with jax.enable_x64(True):
        for i in range(48):
            x, t = d["quantity_shares"][i], d["horizon_days"][i]
            sol = almgren_chriss(
                x, t, N, d["sigma"][i], d["eta"][i], risk_aversion=d["risk_aversion"][i]
            )
            tr = trades[i].astype(np.float64)
            e, v = ac_cost_moments(jnp.asarray(tr), x, t, d["sigma"][i], d["eta"][i])
            excess.append((float(e) + d["risk_aversion"][i] * float(v)) / sol.objective - 1.0)
    excess = np.array(excess)
    assert excess.min() > -1e-4  # nothing beats the optimum
    assert excess.max() < 0.01
    assert excess.mean() < 0.005
