"""The order book as a market: completion, walk-the-book cost, common random numbers, latency,
overflow and input errors. One small book, compiled once for every baseline and scenario."""

import importlib.util
import itertools
import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.execution import (
    RolloutConfig,
    book_baselines,
    book_paths,
    book_schedule,
    book_schedule_policy,
    order,
    rollout,
)
from wmjax.market import BookMarket, LatencyScenario, book_key, book_params

N_STEPS = 3
HORIZON_S = 1.5
MARKET = BookMarket(events_per_step=96)
CONFIG = RolloutConfig(n_paths=64, n_steps=N_STEPS)
ORDER = order(900, HORIZON_S / MARKET.trading_day_s, "buy")
NO_LATENCY = LatencyScenario("none", 0.0, 0.0)


def _key(seed):
    return book_key(seed)


@pytest.fixture(scope="module")
def baselines():
    return book_baselines(
        MARKET,
        N_STEPS,
        horizon_s=HORIZON_S,
        risk_aversion=0.1,
        sigma_bps_per_sqrt_s=1.0,
        eta_bps_s=1.0,
    )


@pytest.fixture(scope="module")
def run():
    def go(name_or_schedule, latency="co-lo", seed=0, side="buy", baselines=None):
        sched = baselines[name_or_schedule] if baselines else name_or_schedule
        o = ORDER if side == "buy" else order(900, HORIZON_S / MARKET.trading_day_s, "sell")
        return book_paths(
            _key(seed), MARKET, book_params(latency), book_schedule_policy, sched, o, CONFIG
        )

    return go


def test_every_baseline_completes_exactly_and_never_overfills(run, baselines):
    for name in baselines:
        for side in ("buy", "sell"):
            out = run(name, side=side, baselines=baselines)
            s = out.stats
            np.testing.assert_allclose(out.filled_shares, 900.0, rtol=1e-5, err_msg=name)
            parts = s.passive_shares + s.market_shares + s.cleanup_shares
            np.testing.assert_allclose(parts, 900.0, rtol=1e-5, err_msg=name)
            for part in (s.passive_shares, s.market_shares, s.cleanup_shares):
                assert np.all(np.asarray(part) >= -1e-3), name
            assert np.all(np.asarray(s.flow_overflow) == 0)
    twap_limit = run("twap_limit", baselines=baselines).stats
    assert float(np.mean(twap_limit.passive_shares)) > 0  # limit orders do fill
    assert float(np.max(twap_limit.market_shares)) == 0.0


def test_market_order_is_costs_the_half_spread_or_the_walk_by_hand(baselines):
    # zero latency: the aggressive schedule's one market order reaches the book at t = 0, before
    # any flow event. The seed book: best ask 10,000 ticks, best bid 9,999, every level scaled
    # by U(0.5, 1.5). Deep (2,000 shares a level, so >= 1,000 at the touch): 900 shares fill at
    # the best ask and IS is the half spread, 0.5 / 9,999.5 x 1e4 bps, on every path.
    deep = book_params(NO_LATENCY, depth_shares=2000)
    out = book_paths(_key(3), MARKET, deep, book_schedule_policy, baselines["aggressive"], ORDER,
                     CONFIG)  # fmt: skip
    # float32: the notional ~9e4 minus filled x arrival leaves ~4.5, so 1e-3 bps is rounding
    np.testing.assert_allclose(out.is_bps, 0.5 / 9999.5 * 1e4, rtol=0, atol=2e-3)
    np.testing.assert_allclose(out.stats.market_shares, 900.0)
    # shallow (500 a level, so 250-750 each): the walk pays more than the half spread, and at
    # most 3 levels through (4 levels of >= 250 hold 900), so below 3.5 ticks over the mid
    shallow = book_params(NO_LATENCY, depth_shares=500)
    out = book_paths(_key(3), MARKET, shallow, book_schedule_policy, baselines["aggressive"],
                     ORDER, CONFIG)  # fmt: skip
    is_bps = np.asarray(out.is_bps)
    assert np.all(is_bps > 0.5 / 9999.5 * 1e4 + 2e-3) and np.all(is_bps < 3.5 / 9999.5 * 1e4)


def test_same_key_same_result_and_common_random_numbers(run, baselines):
    a = run("twap_limit", seed=5, baselines=baselines)
    b = run("twap_limit", seed=5, baselines=baselines)
    np.testing.assert_array_equal(a.is_bps, b.is_bps)
    c = run("twap_limit", seed=6, baselines=baselines)
    assert not np.array_equal(np.asarray(a.is_bps), np.asarray(c.is_bps))
    # the exogenous flow does not depend on the policy: resting limit orders are virtual, so
    # limit-only strategies of any size and level meet exactly the same trades
    other = book_schedule(MARKET, np.r_[np.full(N_STEPS - 1, 0.8), 0.0], 0.0, offset_ticks=1)
    d = run(other, seed=5)
    np.testing.assert_array_equal(a.stats.market_volume_shares, d.stats.market_volume_shares)
    assert not np.array_equal(np.asarray(a.is_bps), np.asarray(d.is_bps))


def test_early_exit_gives_the_same_paths_bit_for_bit(run, baselines):
    # the while loop that stops at each interval's last valid item skips only padding slots,
    # which are exact no-ops: every output equals the scan over all slots
    fast = BookMarket(events_per_step=MARKET.events_per_step, early_exit=True)
    for name in ("twap_limit", "pov"):
        ref = run(name, seed=5, baselines=baselines)
        out = book_paths(
            _key(5), fast, book_params(), book_schedule_policy, baselines[name], ORDER, CONFIG
        )
        for a, b in zip(jax.tree.leaves(ref), jax.tree.leaves(out), strict=True):
            np.testing.assert_array_equal(a, b)


def test_the_default_book_does_not_overflow_its_levels(run, baselines):
    # book_params' default seeds 10 levels in 16 slots per side: on these runs (64 paths x 1.5 s
    # per strategy, about 60 flow events each) no new price pushes a level out; with all 10 of
    # 10 slots seeded most paths did (rates: benchmarks/README.md, "Level slots")
    assert book_params().seed_book.levels == 16
    for name in ("twap_limit", "pov", "limit_hold", "aggressive"):
        status = run(name, seed=11, baselines=baselines).status
        assert int(np.sum(status.level_overflow_events)) == 0, name
        assert int(np.sum(status.dropped_shares)) == 0, name


def test_longer_latency_never_raises_the_passive_fill_rate(run, baselines):
    # one limit order at the touch, kept: arriving later never puts it ahead in the queue
    rates = []
    for latency in ("co-lo", "proximity", "cloud", "retail"):
        out = run("limit_hold", latency=latency, seed=7, baselines=baselines)
        rates.append(float(np.mean(out.stats.passive_shares)) / 900.0)
    assert all(a >= b - 1e-6 for a, b in itertools.pairwise(rates)), rates
    assert rates[0] > rates[-1]


def test_book_market_runs_under_rollout_with_the_same_is(run, baselines):
    paths = rollout(
        _key(0),
        MARKET,
        book_params("co-lo"),
        book_schedule_policy,
        baselines["twap_limit"],
        ORDER,
        CONFIG,
    )
    ours = run("twap_limit", baselines=baselines)
    # float32 sums of ~1e5 notional in another order: 1e-3 bps apart at most
    np.testing.assert_allclose(paths.is_bps, ours.is_bps, rtol=1e-4, atol=2e-3)
    np.testing.assert_allclose(paths.completion, 1.0, rtol=1e-5)


def test_flow_overflow_is_counted_and_raised(baselines):
    # ten times the order flow does not fit 96 events per interval (same compiled program)
    busy = book_params(rate_scale=10.0)
    sched = baselines["twap_market"]
    with pytest.raises(InputError, match="events_per_step"):
        book_paths(_key(0), MARKET, busy, book_schedule_policy, sched, ORDER, CONFIG)
    out = book_paths(_key(0), MARKET, busy, book_schedule_policy, sched, ORDER, CONFIG, throw=False)
    assert int(np.sum(out.stats.flow_overflow)) > 0
    assert np.all(np.asarray(out.stats.flow_events) <= N_STEPS * MARKET.events_per_step)


def test_bad_input_gives_clear_errors(baselines):
    with pytest.raises(InputError, match="quantity"):
        order(0, 1e-4)
    with pytest.raises(InputError, match="quantity"):
        order(-5, 1e-4)
    with pytest.raises(InputError, match="unknown latency scenario"):
        book_params("satellite")
    with pytest.raises(InputError, match="horizon"):
        book_paths(
            _key(0),
            MARKET,
            book_params(),
            book_schedule_policy,
            baselines["pov"],
            order(100, 1e-3 / MARKET.trading_day_s / 10),
            CONFIG,
        )
    with pytest.raises(InputError, match="trajectory must end at 0"):
        book_schedule(MARKET, np.ones(N_STEPS))
    with pytest.raises(InputError, match="offset"):
        book_schedule(MARKET, np.zeros(N_STEPS), offset_ticks=7)
    with pytest.raises(NotImplementedError, match="antithetic"):
        MARKET.mirror(book_params())


def test_status_channel_raises_readably_and_works_under_jit(baselines):
    from jax.experimental import checkify

    from wmjax.market import status_dict

    busy = book_params(rate_scale=10.0)
    sched = baselines["twap_market"]
    out = book_paths(_key(0), MARKET, busy, book_schedule_policy, sched, ORDER, CONFIG, throw=False)
    status = status_dict(out.status)
    assert status["result"] == "flow_overflow" and status["flow_overflow_intervals"] > 0
    assert status["flow_overflow_intervals"] == int(np.sum(out.stats.flow_overflow))

    def run(key):
        return book_paths(key, MARKET, busy, book_schedule_policy, sched, ORDER, CONFIG).is_bps

    err, _ = checkify.checkify(jax.jit(run))(_key(0))
    with pytest.raises(Exception, match="events were lost"):
        err.throw()


def _book_latency():
    """`experiments/book_latency.py` as a module."""
    spec = importlib.util.spec_from_file_location(
        "book_latency", Path(__file__).resolve().parents[1] / "experiments" / "book_latency.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_latency_probe_markets_are_the_default_book_but_thinner_or_burstier():
    """`book_latency.variant_params`: with its defaults the default book, leaf for leaf; the
    probes change only the seeded depth and the market orders' own excitation, which raises
    their stationary rate to mu / (1 - branching) by the Hawkes closed form."""
    from wmjax.hawkes import stationary_intensity

    module = _book_latency()
    default = book_params("retail")
    same = module.variant_params("retail")
    for a, b in zip(jax.tree.leaves(default), jax.tree.leaves(same), strict=True):
        np.testing.assert_array_equal(a, b)
    probe = module.variant_params("retail", 150.0, 0.7)
    sizes = np.asarray(probe.seed_book.size_shares)
    assert set(np.unique(sizes[sizes > 0])) == {150}
    alpha, alpha0 = np.asarray(probe.flow.hawkes.alpha), np.asarray(default.flow.hawkes.alpha)
    changed = alpha != alpha0
    assert changed.sum() == 2 and changed[4, 4] and changed[5, 5] and alpha[5, 5] == 0.7
    mu = np.asarray(probe.flow.hawkes.mu, np.float64)
    rate = np.linalg.solve(np.eye(6) - alpha.astype(np.float64), mu)
    np.testing.assert_allclose(stationary_intensity(probe.flow.hawkes), rate, rtol=1e-5)
    assert rate[5] > 1.5 * np.asarray(stationary_intensity(default.flow.hawkes))[5]


def test_adverse_mean_gap_standard_error_is_calibrated_over_replicates():
    """`book_latency.adverse_mean_gap` (delta method, paired keys): over 2,000 synthetic
    replicates where the two scenarios share each path's mark-out and mostly its fill, the gap
    is unbiased (true gap 0.1 ticks) and its z-score has standard deviation 1 (within 5 SE of
    a standard deviation estimated from 2,000 draws)."""
    module = _book_latency()
    rng = np.random.default_rng(0)
    z, gaps = [], []
    for _ in range(2000):
        n = 300
        common = rng.normal(size=n)
        fill_a = rng.random(n) < 0.6
        fill_b = np.where(rng.random(n) < 0.1, ~fill_a, fill_a)  # latency changes 10% of fills
        shares = rng.choice([100.0, 50.0], size=n)
        mark_a = common + 0.3 * rng.normal(size=n)
        mark_b = common + 0.1 + 0.3 * rng.normal(size=n)
        a = (None, np.where(fill_a, shares, 0.0), np.where(fill_a, shares * mark_a, 0.0))
        b = (None, np.where(fill_b, shares, 0.0), np.where(fill_b, shares * mark_b, 0.0))
        gap, se = module.adverse_mean_gap(a, b)
        gaps.append(gap)
        z.append((gap - 0.1) / se)
    assert abs(np.mean(gaps) - 0.1) < 4 * np.std(gaps) / np.sqrt(len(gaps))
    assert abs(np.std(z) - 1.0) < 5 / np.sqrt(2 * len(z))


BAD_CLOCKS = [["--event-clocks", "x"], ["--event-clocks", "0"], ["--intervals-ms", "-1"]]


@pytest.mark.parametrize("args", [*BAD_CLOCKS, ["--intervals-ms", ""]])
def test_latency_experiment_rejects_bad_clocks_by_option_name(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        _book_latency().main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--event-clocks" in err or "--intervals-ms" in err


@pytest.mark.slow
def test_latency_lowers_the_fill_rate_and_raises_adverse_selection_at_10ms_decisions(tmp_path):
    """Must-show 2 (issue 16), 10 ms decisions: `experiments/book_latency.py` itself (the kept
    limit order on the same 1,000 keys in the four scenarios), so its smoke test too."""
    module = _book_latency()
    args = ["--paths", "1000", "--intervals-ms", "10", "--out", str(tmp_path)]
    script = Path(module.__file__)
    subprocess.run([sys.executable, str(script), *args], check=True, timeout=1200)
    row = json.loads((tmp_path / "book_latency.json").read_text())["10 ms"]
    cells = [row[s] for s in module.SCENARIOS]
    fill = [c["fill_rate"] for c in cells]
    assert all(a >= b for a, b in itertools.pairwise(fill)), fill
    assert row["retail_vs_co-lo"]["fill_rate_gap_se"] < -5  # paired, retail below co-lo
    # adverse selection does not decrease with latency beyond 3 SE (the differences are small)
    for a, b in itertools.pairwise(cells):
        se = np.hypot(a["adverse_ticks_se"], b["adverse_ticks_se"])
        assert b["adverse_ticks"] >= a["adverse_ticks"] - 3 * se, cells
    # paired on the same keys, no slower scenario fills more or is less adversely selected than
    # the next faster one beyond 2 SE; retail's adverse selection is above co-lo's (> 5 SE takes
    # about 32,000 paths: README)
    for pair, gap in row["adjacent"].items():
        assert gap["fill_rate_gap_se"] < 2 and gap["adverse_gap_se"] > -2, (pair, gap)
    assert row["retail_vs_co-lo"]["adverse_gap_se"] > 0
    # the status channel reaches the JSON, and no buffer lost events
    for c in cells:
        assert c["status"]["flow_overflow_intervals"] == 0 and c["status"]["message_overflow"] == 0


def test_messages_arrive_at_their_own_time_in_a_later_interval():
    # 3 decisions of 10 ms; one kept limit order sent at t = 0 (the module's compiled program)
    parent = order(100, 0.03 / MARKET.trading_day_s, "buy")
    sched = book_schedule(MARKET, np.zeros(N_STEPS), aggression=0.0, keep=True)

    def run(latency_us):
        scenario = LatencyScenario("fixed", latency_us, 0.0)
        return book_paths(_key(4), MARKET, book_params(scenario), book_schedule_policy, sched,
                          parent, CONFIG, throw=False)  # fmt: skip

    later = run(15_000.0)  # 15 ms: reaches the book in the second interval
    np.testing.assert_allclose(later.stats.limit_posted_shares, 100.0)
    assert int(np.sum(later.status.late_messages)) == 0
    never = run(50_000.0)  # 50 ms: still in flight at the 30 ms horizon
    np.testing.assert_array_equal(never.stats.limit_posted_shares, 0.0)
    np.testing.assert_array_equal(never.status.late_messages, 1)
    np.testing.assert_allclose(never.stats.cleanup_shares, 100.0)  # the clean-up buys it all


def test_event_clock_acts_after_every_n_flow_events():
    market = BookMarket(decision_events=5)
    parent = order(300, 1.0 / market.trading_day_s, "buy")
    sched = book_schedule(market, np.array([0.5, 0.0]), aggression=0.0)
    out = book_paths(_key(5), market, book_params(), book_schedule_policy, sched, parent,
                     RolloutConfig(n_paths=16, n_steps=2))  # fmt: skip
    np.testing.assert_array_equal(out.stats.flow_events, 10)  # exactly 2 x 5 events per path
    assert np.all(np.asarray(out.stats.elapsed_s) > 0)
    np.testing.assert_allclose(out.filled_shares, 300.0, rtol=1e-5)


def test_own_walk_charges_a_later_market_order_for_an_earlier_ones_depletion():
    """`own_walk` equals the plain walk in value, and its gradient in `debt` (our earlier market
    fills, value 0) is the walk's marginal price minus the best price, by hand: 100 shares at
    10,001 and 200 at 10,002 ticks, a 150-share buy ends on the second level, so one more share
    taken before it moves its cost by 10,002 - 10,001 = 1 tick and its fill by nothing."""
    from wmjax.market._book import Side, book_from_levels, walk_book
    from wmjax.market._book_interval import own_walk

    book = book_from_levels([10001, 10002], [100, 200], [10000], [300], levels=4)
    fills, filled, _ = walk_book(book, Side.ASK, 150.0)
    got_filled, got_notional = own_walk(book, Side.ASK, 150.0, 0.0)
    assert float(got_filled) == float(filled) == 150.0
    assert float(got_notional) == float(np.sum(np.asarray(fills) * [10001, 10002, 0, 0]))
    d_filled, d_notional = jax.jacfwd(lambda debt: own_walk(book, Side.ASK, 150.0, debt))(0.0)
    assert float(d_notional) == pytest.approx(1.0) and float(d_filled) == pytest.approx(0.0)


def test_observation_shows_the_resting_price_and_messages_in_flight_and_repeg_uses_them():
    """`observe` reads our resting order's price and the messages in flight off the state, by
    hand; `experiments/book_latency.py`'s re-peg policy keeps an order at or inside the touch
    (or while a message flies) and re-posts it when the touch has moved past it."""
    from wmjax.execution import Observation
    from wmjax.market._book_core import OrderStatus

    module = _book_latency()
    params = book_params("co-lo")
    state = MARKET.init(_key(0), params, ORDER, N_STEPS)
    bid = int(state.anchor_ticks[0])
    obs = MARKET.observe(state, params)
    assert float(obs.resting_price_ticks) == 0.0 and float(obs.in_flight_messages) == 0.0

    def with_order(price_ticks, in_flight=0):
        own = state.own.replace(
            status=state.own.status.at[0].set(OrderStatus.RESTING),
            price_ticks=state.own.price_ticks.at[0].set(price_ticks),
            remaining_shares=state.own.remaining_shares.at[0].set(100.0),
        )
        arrival = state.in_flight.arrival_s.at[:in_flight].set(0.004)
        s = state.replace(
            own=own, weights=jnp.zeros(MARKET.n_offsets).at[0].set(1.0),
            in_flight=state.in_flight.replace(arrival_s=arrival),
        )  # fmt: skip
        m = MARKET.observe(s, params)
        return m, Observation(m, ORDER, jnp.int32(1), jnp.float32(900.0), jnp.float32(0.0), 3)

    sched = book_schedule(MARKET, np.zeros(N_STEPS), aggression=0.0)
    cases = [(bid, 0, 1.0), (bid + 1, 0, 1.0), (bid - 1, 0, 0.0), (bid - 1, 2, 1.0)]
    for price, flying, keep in cases:
        m, o = with_order(price, flying)
        assert float(m.resting_price_ticks) == price and float(m.in_flight_messages) == flying
        assert float(module.repeg_policy(sched, o).keep) == keep, (price, flying)
    # the flee policy (trades signal, threshold -0.5) cancels an order at the touch while market
    # sells dominate the last interval, sends nothing when nothing is out, and re-pegs otherwise
    flee = module.flee_policy("trades", -0.5)
    resting = with_order(bid)[1]
    empty = Observation(obs, ORDER, jnp.int32(1), jnp.float32(900.0), jnp.float32(0.0), 3)
    cases = [(resting, -1.0, 0.0, 0.0), (resting, 1.0, 1.0, 900.0), (empty, -1.0, 1.0, 0.0),
             (empty, -0.2, 0.0, 900.0)]  # fmt: skip
    for seen, flow, keep, limit in cases:
        market = seen.market.replace(trade_imbalance=jnp.float32(flow))
        action = flee(sched, seen.replace(market=market))
        assert (float(action.keep), float(action.limit_shares)) == (keep, limit), (flow, keep)
