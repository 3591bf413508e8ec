"""MarketImpactModel: impact-law recovery on simulated metaorders, held-out accuracy beside the
ATHL and I-Star formulas, and the labels against the markets' closed forms."""

import jax
import numpy as np
import pytest

import wmjax as wm
from wmjax.analytics import athl_cost_bps, istar_cost_bps, prediction_metrics
from wmjax.models import (
    MarketImpactModel,
    MetaorderDistribution,
    simulate_metaorders,
    size_slope,
    train_impact_model,
)

DIST = MetaorderDistribution()
N_STEPS = 20


def test_labels_are_the_markets_closed_forms():
    """For a TWAP at participation rho = X / (V T) the temporary impact is
    Y sigma rho^delta and the permanent g sigma X / V (bps of the arrival price)."""
    draws = DIST.sample(jax.random.key(0), 64)
    # float32 IS sums lose about 0.01 bps to cancellation (notional vs filled * arrival)
    for law, delta in (("sqrt", 0.5), ("athl", 0.6), ("linear", 1.0)):
        d = {
            k: np.asarray(v, float)
            for k, v in simulate_metaorders(jax.random.key(1), draws, law).items()
        }
        y = DIST.temporary_coefficient / d["depth"]
        rho = d["size_adv"] / d["horizon_days"]
        np.testing.assert_allclose(
            d["temporary_bps"], y * d["daily_volatility"] * rho**delta * 1e4, rtol=2e-3, atol=0.02
        )
        np.testing.assert_allclose(
            d["permanent_bps"],
            DIST.permanent_coefficient * d["daily_volatility"] * d["size_adv"] * 1e4,
            rtol=2e-3,
            atol=0.02,
        )
    with pytest.raises(wm.InputError, match="law"):
        simulate_metaorders(jax.random.key(1), draws, "cubic")


@pytest.mark.slow
@pytest.mark.parametrize(("law", "slope"), [("sqrt", 0.5), ("athl", 0.6)])
def test_impact_law_recovery_and_held_out_rmse(law, slope):
    train_set = simulate_metaorders(jax.random.key(1), DIST.sample(jax.random.key(2), 2000), law)
    test_set = simulate_metaorders(jax.random.key(3), DIST.sample(jax.random.key(4), 300), law)
    model = MarketImpactModel()
    result = train_impact_model(jax.random.key(5), train_set, model, n_updates=3000)
    assert abs(size_slope(model, result.params) - slope) < 0.05
    perm, temp = model(result.params, test_set["features"])
    t = {k: np.asarray(v, float) for k, v in test_set.items()}
    rmse = prediction_metrics(temp, t["temporary_bps"])["rmse"]["mean"]
    realised = prediction_metrics(perm / 2 * (1 - 1 / N_STEPS) + temp, t["realised_bps"])["rmse"][
        "mean"
    ]
    assert rmse < 2.0 and realised < 2.0
    # the formulas, with their desk-fitted constants, on the same held-out metaorders
    athl = [
        athl_cost_bps(s * v, v, sd, h)["J_bps"]
        for s, v, sd, h in zip(
            t["size_adv"], t["adv_shares"], t["daily_volatility"], t["horizon_days"], strict=True
        )
    ]
    istar = [
        istar_cost_bps(s * v, v, sd, v * h)["total_bps"]
        for s, v, sd, h in zip(
            t["size_adv"], t["adv_shares"], t["daily_volatility"], t["horizon_days"], strict=True
        )
    ]
    assert prediction_metrics(athl, t["realised_bps"])["rmse"]["mean"] > realised
    assert prediction_metrics(istar, t["realised_bps"])["rmse"]["mean"] > realised
