"""Dark-pool allocation: the greedy against brute force, Kaplan-Meier on censored draws, the
optimistic learner against the oracle, and the Laruelle-Lehalle-Pages split against its
closed form (issue 12, item 3)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax.market import impact_params, liquidity_tails, sample_liquidity, venue_params
from wmjax.strategies import (
    empty_history,
    expected_fill_lots,
    greedy_allocation,
    kaplan_meier_tails,
    learn_greedy,
    llp_split,
    project_simplex,
    record_fills,
)

LIT = impact_params(10, epsilon=0.01, eta=1e-7)
VENUES = venue_params(
    LIT,
    zero_prob=[0.3, 0.5, 0.2],
    tail_kind=["poisson", "power_law", "poisson"],
    poisson_mean_lots=[4.0, 1.0, 8.0],
    power_exponent=[1.5, 1.2, 1.5],
)


GREEDY = jax.jit(greedy_allocation)


def _brute_force(tails: np.ndarray, units: int) -> tuple[float, tuple]:
    """max over all (v_1..v_K), sum v = units, 0 <= v_i <= S, of sum_i sum_{1<=s<=v_i} T_i(s)."""
    k, s_max = tails.shape[0], tails.shape[1] - 1
    best, arg = -np.inf, None
    for v in itertools.product(range(s_max + 1), repeat=k):
        if sum(v) != units:
            continue
        value = sum(float(np.sum(tails[i, 1 : v[i] + 1])) for i in range(k))
        if value > best + 1e-12:
            best, arg = value, v
    return best, arg


def _random_tails(rng, k, s_max, distinct):
    steps = rng.uniform(0.0, 1.0, (k, s_max))
    if not distinct:
        steps = np.round(steps * 3) / 3  # many ties, flat stretches and zeros
    tails = np.cumprod(np.concatenate([np.ones((k, 1)), 1.0 - 0.6 * steps], axis=1), axis=1)
    return tails.astype(np.float32)


@pytest.mark.parametrize("distinct", [True, False])
def test_greedy_equals_the_brute_force_optimum(distinct):
    rng = np.random.default_rng(0 if distinct else 1)
    cases = [_random_tails(rng, 3, 6, distinct) for _ in range(4)]
    cases.append(np.asarray(liquidity_tails(VENUES, 6)))
    for tails in cases:
        for units in range(0, 3 * 6 + 1, 2):
            alloc = np.asarray(GREEDY(jnp.asarray(tails), units))
            value = sum(float(np.sum(tails[i, 1 : int(alloc[i]) + 1])) for i in range(3))
            best, arg = _brute_force(tails, units)
            assert alloc.sum() == units
            assert value == pytest.approx(best, abs=1e-5)
            if distinct:
                np.testing.assert_array_equal(alloc, arg)
            # the expected fill that the allocation buys, by the library's own formula
            assert float(jnp.sum(expected_fill_lots(jnp.asarray(tails), jnp.asarray(alloc)))) == (
                pytest.approx(best, abs=1e-5)
            )


def test_greedy_leaves_what_does_not_fit_unallocated():
    tails = jnp.ones((2, 4))
    np.testing.assert_array_equal(greedy_allocation(tails, 11), [3.0, 3.0])


def test_kaplan_meier_recovers_the_tails_from_censored_draws():
    n, s_max = 200_000, 30

    @jax.jit
    def draw_and_record(key):
        k_liquidity, k_sent = jax.random.split(key)
        liquidity = sample_liquidity(k_liquidity, VENUES, (n,))
        sent = jax.random.randint(k_sent, (n, 3), 1, s_max + 1).astype(jnp.float32)
        fills = jnp.minimum(sent, liquidity)
        return record_fills(empty_history(3, s_max), sent, fills), fills

    history, fills = draw_and_record(jax.random.key(1))
    truth = np.asarray(liquidity_tails(VENUES, s_max))
    estimate = np.asarray(kaplan_meier_tails(history))
    censored_share = float(history.censored.sum() / (history.censored + history.exact).sum())
    assert censored_share > 0.1  # the draws really are censored
    assert np.abs(estimate - truth).max() < 0.005
    # the naive estimate that ignores censoring (share of fills >= s) is far off
    fills = np.asarray(fills)
    naive = np.stack([(fills >= s).mean(0) for s in range(s_max + 1)], axis=1)
    assert np.abs(naive - truth).max() > 0.1


def test_kaplan_meier_small_case_by_hand():
    # pool 0: exact L = 1, L = 3, censored at 2 (L >= 2), censored at 3
    history = record_fills(empty_history(1, 4), [[2.0], [5.0], [2.0], [3.0]], [[1], [3], [2], [3]])
    # at risk: j=0: 4, j=1: 4 (one stops), j=2: 2 (censored at 2 leaves), j=3: 1 (exact 3)
    expected = [1.0, 1.0, 0.75, 0.75, 0.0]
    np.testing.assert_allclose(kaplan_meier_tails(history)[0], expected, atol=1e-6)
    # optimistic with min_at_risk = 2: j=3 has 1 at risk, so the tail stays flat there
    np.testing.assert_allclose(kaplan_meier_tails(history, 2.0)[0], [1, 1, 0.75, 0.75, 0.75])


def test_optimistic_learner_reaches_the_oracle_and_the_plain_one_gets_stuck():
    units, cap, rounds = 10, 16, 300
    learn = jax.jit(
        lambda key, m: learn_greedy(key, VENUES, units, rounds, cap, min_at_risk=m)[1],
        static_argnums=1,
    )
    truth = liquidity_tails(VENUES, cap)
    oracle = float(jnp.sum(expected_fill_lots(truth, greedy_allocation(truth, units))))
    optimistic = np.asarray(learn(jax.random.key(3), 5.0))
    late = optimistic[rounds // 2 :]
    se = late.std(ddof=1) / np.sqrt(late.size)
    assert abs(late.mean() - oracle) < 3 * se + 0.02 * oracle
    # plain KM: a pool that once shows nothing is never tried again (its tail estimate is 0)
    stuck = [np.asarray(learn(jax.random.key(s), None))[rounds // 2 :].mean() for s in range(3)]
    assert min(stuck) < 0.9 * oracle


def _llp_closed_form(means, rebates, volume):
    """max sum_i theta_i E min(r_i V, D_i), D_i ~ Exp(mean m_i), over the simplex: with
    E min(a, D) = m (1 - exp(-a / m)) the first-order condition theta_i exp(-r_i V / m_i) = lam
    gives r_i = m_i log(theta_i / lam) / V with log lam = (sum m log theta - V) / sum m."""
    m, th = np.asarray(means, float), np.asarray(rebates, float)
    log_lam = (np.sum(m * np.log(th)) - volume) / m.sum()
    r = m * (np.log(th) - log_lam) / volume
    assert np.all(r > 0)  # interior optimum: the formula applies
    value = float(np.sum(th * m * (1.0 - np.exp(-r * volume / m))))
    return r, value


def test_llp_split_converges_to_the_closed_form_optimum():
    means, rebates = np.array([0.3, 0.5, 0.2]), np.array([1.0, 0.95, 0.9])
    r_star, value = _llp_closed_form(means, rebates, 1.0)
    np.testing.assert_allclose(r_star, [0.31402, 0.49771, 0.18827], atol=1e-5)
    assert value == pytest.approx(0.603912, abs=1e-6)
    # the closed form is the optimum: no nearby point of the simplex does better
    rng = np.random.default_rng(0)
    for _ in range(20):
        r = np.asarray(project_simplex(jnp.asarray(r_star + 0.02 * rng.normal(size=3))))
        assert np.sum(rebates * means * (1 - np.exp(-r / means))) <= value + 1e-9
    capacities = jax.random.exponential(jax.random.key(0), (40_000, 16, 3)) * means
    result = llp_split(capacities, 1.0, rebates)
    assert np.abs(np.asarray(result.split) - r_star).max() < 1e-3
    assert float(jnp.sum(result.split)) == pytest.approx(1.0, abs=1e-5)


def test_simplex_projection_against_a_direct_solution():
    rng = np.random.default_rng(2)
    for _ in range(20):
        v = rng.normal(size=4) * 2
        p = np.asarray(project_simplex(jnp.asarray(v, jnp.float32)))
        # KKT: p = max(v - t, 0) with sum p = 1; find t by bisection independently
        lo, hi = v.min() - 1, v.max()
        for _ in range(100):
            t = 0.5 * (lo + hi)
            lo, hi = (t, hi) if np.maximum(v - t, 0).sum() > 1 else (lo, t)
        np.testing.assert_allclose(p, np.maximum(v - t, 0), atol=1e-5)
