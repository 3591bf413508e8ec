"""MarketImpactModel: impact-law recovery on simulated metaorders, held-out accuracy beside the
ATHL and I-Star formulas, and the labels against the markets' closed forms."""

import jax
import numpy as np
import pytest

import wmjax as wm
from wmjax.analytics import athl_cost_bps, istar_cost_bps, prediction_metrics
from wmjax.execution import transient_cost
from wmjax.market import BookMarket, book_key
from wmjax.models import (
    BookMetaorderDistribution,
    MarketImpactModel,
    MetaorderDistribution,
    fit_square_root_law,
    simulate_book_metaorders,
    simulate_metaorders,
    size_slope,
    square_root_law_bps,
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
    # transient law: the permanent label is the lasting shift alone (the final mid still holds
    # the last trades' displacement); the temporary label is the cost (1/2) xi' M xi of the
    # decaying displacement, M_ij = k exp(-rho tau |i - j|) (Obizhaeva & Wang 2013)
    t = {
        k: np.asarray(v, float)
        for k, v in simulate_metaorders(jax.random.key(1), draws, "transient").items()
    }
    np.testing.assert_allclose(
        t["permanent_bps"],
        DIST.permanent_coefficient * t["daily_volatility"] * t["size_adv"] * 1e4,
        rtol=2e-3,
        atol=0.02,
    )
    rho = DIST.resilience_per_day
    want = []
    for i in range(len(t["size_adv"])):
        shares = t["size_adv"][i] * t["adv_shares"][i]
        sigma = t["daily_volatility"][i] * 50.0
        k = DIST.temporary_coefficient / t["depth"][i] * sigma * rho / t["adv_shares"][i]
        cost = transient_cost(
            np.full(N_STEPS, shares / N_STEPS), k, rho, t["horizon_days"][i] / N_STEPS
        )
        want.append(cost / (shares * 50.0) * 1e4)
    np.testing.assert_allclose(t["temporary_bps"], want, rtol=3e-3, atol=0.02)
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


def test_square_root_law_fit_recovers_its_coefficients_and_inputs_are_checked():
    """Metaorders whose cost is exactly c + Y sigma sqrt(X / ADV) (+ small noise): the fit
    returns c and Y; bad inputs fail with a message naming the argument."""
    rng = np.random.default_rng(0)
    n = 400
    data = {
        "size_adv": rng.uniform(1e-4, 0.1, n),
        "daily_volatility": rng.uniform(0.01, 0.04, n),
    }
    truth = 0.5 + 0.7 * data["daily_volatility"] * np.sqrt(data["size_adv"]) * 1e4
    data["realised_bps"] = truth + rng.normal(0, 0.05, n)
    fit = fit_square_root_law(data)
    assert abs(fit["c_bps"] - 0.5) < 0.02 and abs(fit["y"] - 0.7) < 0.01
    np.testing.assert_allclose(square_root_law_bps(fit, data), truth, atol=0.05)
    draws = BookMetaorderDistribution().sample(jax.random.key(0), 2)
    with pytest.raises(wm.InputError, match="n_paths"):
        simulate_book_metaorders(book_key(0), draws, n_paths=1)
    noisy = {
        "features": np.zeros((2, 6), np.float32),
        "permanent_bps": np.array([1.0, -0.5], np.float32),
        "temporary_bps": np.array([1.0, 2.0], np.float32),
    }
    with pytest.raises(wm.InputError, match="relative=False"):
        train_impact_model(jax.random.key(0), noisy, MarketImpactModel(hidden=4), n_updates=2)


@pytest.mark.slow
def test_book_metaorders_cost_more_when_larger():
    """On the book world (n_steps = 2, 1 s intervals): 20,000 shares, about four times the seed
    book's visible depth per side (10 one-tick levels of 250-750 shares), walk several levels
    and cost several bps (1 tick = 1 bp), far more than 50 shares, which pay about half the
    one-tick spread."""
    draws = {
        "size_shares": np.array([50.0, 20000.0], np.float32),
        "horizon_s": np.array([2.0, 2.0], np.float32),
        "rate_scale": np.array([1.0, 1.0], np.float32),
        "depth_shares": np.array([500.0, 500.0], np.float32),
    }
    market = BookMarket(events_per_step=128)
    out = simulate_book_metaorders(book_key(3), draws, n_paths=4, n_steps=2, market=market)
    j, se = np.asarray(out["realised_bps"]), np.asarray(out["realised_se_bps"])
    # half spread of a one-tick spread on a 100.00 stock: 0.5 bps; the mid moves ~1 bp in 1 s
    assert abs(j[0] - 0.5) < 4 * se[0] + 1.0
    assert j[1] > j[0] + 3.0 and j[1] - j[0] > 4 * np.hypot(se[0], se[1])
    assert np.all(np.isfinite(np.asarray(out["daily_volatility"])))
    np.testing.assert_allclose(
        np.asarray(out["size_adv"]) * np.asarray(out["adv_shares"]), [50, 20000]
    )
