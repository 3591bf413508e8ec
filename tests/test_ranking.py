"""Uncertainty on rankings (issue 10, must-show 4): objective standard errors against the spread
over independent replications, and pretrade's recommendation on a market where the truth is
known: two schedules with equal expected cost are "not distinguishable", a costlier one is not
recommended, and a strategy that breaks the participation cap never is."""

import jax
import numpy as np
import pytest

from wmjax.analytics import pov_strategy, pretrade, schedule_strategy
from wmjax.execution import objective_covariance, order, rank, ranking_swaps
from wmjax.market import ImpactMarket, impact_params


@pytest.mark.parametrize("kind", ["mean_std", "mean_variance"])
@pytest.mark.parametrize("pair", [1, 2])
def test_objective_se_matches_the_spread_over_replications(kind, pair):
    """400 independent replications of 200 paths; antithetic-like pairs (x, -x + small noise)
    are strongly dependent, so only the pair-aware SE matches their spread."""
    rng = np.random.default_rng(0)
    reps, n, lam = 400, 200, 0.3
    x = rng.gamma(2.0, 1.0, (reps, 2, n // 2))
    if pair == 2:
        twin = 4.0 - x + 0.1 * rng.normal(size=x.shape)
        x = np.stack([x, twin], axis=-1).reshape(reps, 2, n)
    else:
        x = rng.gamma(2.0, 1.0, (reps, 2, n))
    obj, cov = (np.asarray(v) for v in objective_covariance(x, lam, kind, pair=pair))
    spread = obj.std(axis=0, ddof=1)
    se = np.sqrt(np.mean(np.diagonal(cov, axis1=-2, axis2=-1), axis=0))
    np.testing.assert_allclose(se, spread, rtol=0.15)
    diff_se = np.sqrt(np.mean(cov[:, 0, 0] + cov[:, 1, 1] - 2 * cov[:, 0, 1]))
    assert diff_se == pytest.approx((obj[:, 0] - obj[:, 1]).std(ddof=1), rel=0.15)


def test_rank_verdicts():
    cov = np.diag([0.01, 0.01, 0.01])
    r = rank(["a", "b", "c"], [1.0, 1.1, 3.0], cov)
    assert (r.recommended, r.runner_up, r.verdict) == ("a", "b", "not distinguishable")
    assert r.difference == pytest.approx(0.1) and r.difference_se == pytest.approx(np.sqrt(0.02))
    r = rank(["a", "b", "c"], [1.0, 1.5, 3.0], cov, eligible=[True, True, False])
    assert r.verdict == "recommended" and r.to_dict()["ineligible"] == {
        "c": "fails the constraints"
    }
    r = rank(["a", "b"], [1.0, 1.5], cov[:2, :2], eligible=[False, False], reasons=["x", "y"])
    assert r.recommended is None and r.verdict == "no strategy meets the constraints"


# Linear Almgren-Chriss market, flat volume, no volume noise: a schedule's expected IS is its
# temporary-impact cost sum eta n_k^2 / tau (the price noise has mean zero), so two schedules
# that permute the same trade sizes have exactly equal expected cost (AC 2000, eq. (8)).
N = 5
MARKET = impact_params(N, arrival_price=50.0, sigma=1.0, daily_volume_shares=1e6, eta=2e-7)
PERM_A = [0.3, 0.1, 0.2, 0.2, 0.2]
PERM_B = [0.1, 0.3, 0.2, 0.2, 0.2]
FRONT = np.exp(-np.arange(N)) / np.exp(-np.arange(N)).sum()
STRATEGIES = [
    schedule_strategy("perm_a", PERM_A),
    schedule_strategy("perm_b", PERM_B),
    schedule_strategy("aggressive", FRONT),
    pov_strategy("pov_5", 0.05, N),
]


def _report(shares, lam, seed, cap=0.3):
    return pretrade(
        order(shares, 1.0, "buy", risk_aversion=lam),
        ImpactMarket(),
        MARKET,
        STRATEGIES,
        n_paths=1000,
        key=jax.random.key(seed),
        max_participation=cap,
        sensitivity=None,
    )


def test_equal_cost_schedules_are_not_distinguishable():
    """Over 20 independent keys the two permutations (equal expected cost) are called "not
    distinguishable" in at least 16 (nominal: 19 of 20); the costlier front-loaded schedule is
    never recommended."""
    verdicts = []
    for seed in range(20):
        r = _report(1e5, 0.0, seed)
        assert r.recommended in ("perm_a", "perm_b")
        assert r.ranking.runner_up in ("perm_a", "perm_b")
        verdicts.append(r.ranking.verdict)
    assert verdicts.count("not distinguishable") >= 16, verdicts


def test_never_recommends_a_strategy_that_breaks_the_participation_cap():
    # 10% of ADV: the permutations trade at most 30% of an interval's volume; aggressive trades
    # 64% in its first interval. With a high risk aversion aggressive has the lowest objective.
    r = _report(1e5, 1.0, 0)
    k = r.strategies.index("aggressive")
    perms = [r.strategies.index("perm_a"), r.strategies.index("perm_b")]
    assert np.all(r.objective_bps[k] < r.objective_bps[perms] - 3 * r.objective_se_bps[perms])
    assert r.on_time_prob[k] == 0.0 and not r.ranking.eligible[k]
    assert r.recommended in ("perm_a", "perm_b") and r.ranking.verdict != "no strategy meets"
    assert "30% participation cap on only 0.0% of paths" in r.ranking.reasons[k]
    # a cap nothing can meet: no recommendation, and the note says why
    r = _report(1e5, 1.0, 0, cap=0.05)
    assert r.recommended is None and r.ranking.verdict == "no strategy meets the constraints"
    assert "participation cap" in r.ranking.note
    # POV is honest about completion: 10% of ADV at 5% of volume leaves half unfilled (no
    # dump into the last interval)
    j = r.strategies.index("pov_5")
    assert r.completion_prob[j] == 0.0 and not r.ranking.eligible[j]
    assert r.peak_participation_p95[j] == pytest.approx(0.05, rel=1e-5)
    np.testing.assert_allclose(r.holdings_frac[j, -1], 0.5, rtol=1e-4)


def test_ranking_swaps_separates_noise_from_real_disagreement():
    """Common paths: b costs 0.01 more than a (pure noise at this size, an exact tie in
    expectation shifted by far less than its SE), c costs 2 more. A surrogate that swaps a and b
    is within noise; one that ranks c first is distinguishably wrong."""
    rng = np.random.default_rng(1)
    base = rng.normal(10.0, 3.0, 2000)
    samples = np.stack(
        [base + rng.normal(0, 1, 2000), base + 0.01 + rng.normal(0, 1, 2000), base + 2.0]
    )
    obj, cov = (np.asarray(v) for v in objective_covariance(samples, 0.5))
    names = ("a", "b", "c")
    assert ranking_swaps(names, obj, obj, cov) == []
    tie = ranking_swaps(names, obj[[1, 0, 2]], obj, cov)
    assert len(tie) == 1 and {tie[0]["better"], tie[0]["worse"]} == {"a", "b"}
    assert not tie[0]["distinguishable"]
    wrong = ranking_swaps(names, np.array([1.0, 2.0, 0.0]), obj, cov)
    assert {(s["better"], s["worse"]) for s in wrong} == {("a", "c"), ("b", "c")}
    assert all(s["distinguishable"] for s in wrong)
    # the SE is the paired one: the difference of c and a has no base-path noise in it
    c_vs_a = next(s for s in wrong if s["better"] == "a")
    assert c_vs_a["difference_se"] < 0.5 * np.sqrt(cov[0, 0])
