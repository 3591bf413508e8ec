"""Market making on the Hawkes book (`MarketMakingBook`): accounting identities, common random
numbers, the relaxation's limit, the closed-form agents' translation to ticks, the learned maker's
training and the command line. One compiled simulator (fixed quotes, 32 sessions of 20
decisions) serves most tests; the command line reuses it for its calibration."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import wmjax.market as mk
import wmjax.strategies as st
from wmjax.execution import Observation
from wmjax.strategies import as_inventory_quotes, avellaneda_stoikov

MARKET = mk.MarketMakingBook()
H, N, PATHS, LOT = 2.0, 20, 32, 100.0
FIXED = st.FixedQuotes(MARKET.n_offsets)
TOUCH = MARKET.offsets_ticks.index(0)
BEHIND = MARKET.offsets_ticks.index(1)


def _run(params, bid, ask, shares, key=0):
    paths = st.maker_paths(mk.book_key(key), MARKET, params, FIXED, (bid, ask, shares), H, N, PATHS)
    return paths, paths.final_state.stats


@pytest.fixture(scope="module")
def runs():
    params = mk.book_params("co-lo")
    return {
        "params": params,
        "touch": _run(params, TOUCH, TOUCH, LOT),
        "behind": _run(params, BEHIND, BEHIND, LOT),
        "none": _run(params, TOUCH, TOUCH, 0.0),
    }


def test_accounting_identities(runs):
    """Inventory = bought - sold = the rollout's net fills; the P&L equals cash + inventory x
    final mid computed independently from the rollout's per-step fills (float64 on the host)."""
    paths, s = runs["touch"]
    inv = np.asarray(s.inventory_shares, np.float64)
    np.testing.assert_allclose(inv, np.asarray(s.bought_shares - s.sold_shares), atol=1e-3)
    np.testing.assert_allclose(inv, np.asarray(paths.shares, np.float64).sum(1), atol=1e-3)
    pnl, obj = st.maker_objective(paths.final_state, 0.01, LOT, 0.05)
    # the rollout's IS of its placeholder order (a buy of 1 share) holds the summed notional
    arrival, final = (np.asarray(x, np.float64) for x in (paths.arrival_price, paths.final_mid))
    notional = (
        np.asarray(paths.is_currency, np.float64) + inv * arrival - (1 - inv) * (final - arrival)
    )
    reference = -notional + inv * final
    np.testing.assert_allclose(np.asarray(pnl), reference, atol=0.05)
    risk = np.asarray(s.inventory_sq_s) / LOT**2
    np.testing.assert_allclose(np.asarray(obj), np.asarray(pnl) - 0.05 * risk, rtol=1e-5)
    status = mk.status_dict(paths.final_state.status)
    assert float(np.abs(inv).max()) > 0 and status["flow_overflow_intervals"] == 0


def test_flow_is_policy_free_and_no_quotes_no_fills(runs):
    """Common random numbers: the flow does not depend on the quotes; without quotes nothing
    fills, the P&L and the inventory penalty are 0."""
    _, touch = runs["touch"]
    _, none = runs["none"]
    np.testing.assert_array_equal(np.asarray(touch.flow_events), np.asarray(none.flow_events))
    for field in ("bought_shares", "sold_shares", "cash_ticks", "inventory_sq_s"):
        assert float(np.abs(np.asarray(getattr(none, field))).max()) == 0.0


def test_quotes_behind_the_touch_fill_less_and_the_mid_runs_against_fills(runs):
    _, touch = runs["touch"]
    _, behind = runs["behind"]
    fills = lambda s: float(np.sum(s.bought_shares + s.sold_shares))  # noqa: E731
    assert fills(behind) < 0.5 * fills(touch)
    per_share = np.asarray(touch.adverse_share_ticks).sum() / np.asarray(touch.markout_shares).sum()
    assert per_share > 0  # the mid moves against our fills 100 ms later (adverse selection)


def test_relaxation_at_low_temperature_is_the_exact_book(runs):
    """Same compiled simulator (the temperature is a traced parameter): T = 1e-4 with one-hot
    logits reproduces the exact run; T = 1 mixes the candidates and differs."""
    params = runs["params"]
    _, exact = runs["touch"]
    _, cold = _run(params.replace(temperature=jnp.float32(1e-4)), TOUCH, TOUCH, LOT)
    _, warm = _run(params.replace(temperature=jnp.float32(1.0)), TOUCH, TOUCH, LOT)
    np.testing.assert_allclose(np.asarray(cold.cash_ticks), np.asarray(exact.cash_ticks), atol=1e-2)
    assert not np.allclose(np.asarray(warm.cash_ticks), np.asarray(exact.cash_ticks), atol=1.0)


def _maker_observation(market_obs, time_left_s):
    """The rollout's observation of a maker session at its first decision."""
    return Observation(
        market=market_obs,
        order=st.session_order(MARKET, H),
        step=jnp.int32(0),
        remaining_shares=jnp.float32(1.0),
        time_left_days=jnp.float32(time_left_s / MARKET.trading_day_s),
        n_steps=N,
    )


def test_closed_form_quotes_become_the_nearest_offsets():
    """AS at zero inventory (spread gamma sigma² (T - t) + (2/gamma) ln(1 + gamma/k)) quotes
    the offset nearest to depth - spread/2; a long inventory moves the bid back and the ask in."""
    agent = avellaneda_stoikov(0.5, 1.0, 2.0)
    policy = st.BookQuoting(as_inventory_quotes, MARKET.offsets_ticks, LOT)

    def action(inventory_lots, time_left_s):
        market = (
            mk.MarketMakingBook()
            .observe(
                MARKET.init(mk.book_key(0), mk.book_params(), st.session_order(MARKET, H), N),
                mk.book_params(),
            )
            .replace(inventory_shares=jnp.float32(inventory_lots * LOT))
        )
        a = policy(agent, _maker_observation(market, time_left_s))
        offsets = np.asarray(MARKET.offsets_ticks)
        return offsets[int(np.argmax(a.bid_logits))], offsets[int(np.argmax(a.ask_logits))]

    half = 0.5 * (0.5 * 2.0 + (2 / 0.5) * np.log1p(0.5 / 2.0))  # 0.946 ticks at T - t = 2 s
    nearest = offsets_nearest(half - 0.5)
    assert action(0, 2.0) == (nearest, nearest)
    bid, ask = action(3, 2.0)  # skew 3 x 0.5 x 1 x 2 = 3 ticks
    assert bid == max(MARKET.offsets_ticks) and ask == min(MARKET.offsets_ticks)


def offsets_nearest(x):
    o = np.asarray(MARKET.offsets_ticks)
    return o[np.argmin(np.abs(o - x))]


@pytest.mark.slow
def test_learned_maker_trains_through_the_relaxed_book():
    """A tiny net on 8 relaxed sessions: `train_maker` runs with finite losses, and the same
    compiled step on one fixed batch (common random numbers) lowers the relaxed objective: the
    pathwise gradient through the book is a descent direction."""
    from wmjax.execution import RolloutConfig, cached_adam, train
    from wmjax.models import MakerPolicy, train_maker
    from wmjax.models._market_maker import _MakerLoss

    policy = MakerPolicy(MARKET.n_offsets, hidden=8)
    params = mk.book_params("co-lo")
    policy, result = train_maker(
        mk.book_key(1), MARKET, params, 1.0, 10, phi=0.05, n_paths=8, n_steps=2, policy=policy
    )
    assert np.all(np.isfinite(result.losses)) and result.n_done == 2
    loss = _MakerLoss(MARKET, policy, RolloutConfig(n_paths=8, n_steps=10))
    args = (params.replace(temperature=jnp.float32(0.3)), st.session_order(MARKET, 1.0))
    fixed = train(
        loss,
        policy.init(jax.random.split(mk.book_key(1))[0], MARKET),
        cached_adam(0.01, clip_norm=1.0),
        mk.book_key(2),
        4,
        fresh_keys=False,
        loss_args=(*args, jnp.float32(0.05)),
    )
    assert min(fixed.losses[1:]) < fixed.losses[0]


@pytest.mark.slow
def test_market_make_book_cli(capsys):
    from wmjax.cli._main import main

    argv = ["market-make", "--market", "book", "--paths", "32", "--decisions", "20"]
    argv += ["--horizon-s", "2", "--calibration-paths", "32", "--agent", "as", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    agent = out["agents"]["as"]
    assert out["market"] == "book" and agent["status"]["result"] in ("successful", "level_overflow")
    assert agent["fills_lots_per_s"] > 0 and np.isfinite(agent["cvar99_loss"])
    assert 0 < out["model"]["k"] and out["model"]["rates"][0] > out["model"]["rates"][1]
    assert main(["market-make", "--market", "book", "--agent", "as-symmetric"]) == 2
    assert "--agent" in capsys.readouterr().err
    assert main(["market-make", "--agent", "learned"]) == 2
    assert main(["market-make", "--market", "book", "--latency", "warp"]) == 2


def test_experiment_combine_smoke(tmp_path):
    """experiments/mm_book.py --part combine on tiny saved parts (no simulation, < 1 s): the
    best closed-form agent is the one with the highest objective, and the gain and the
    toxicity-aware maker's adverse-selection change are the paired mean differences."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "experiments" / "mm_book.py"
    spec = importlib.util.spec_from_file_location("mm_book_experiment", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    objective = {a: rng.normal(m, 1.0, 8) for a, m in (("as", 1), ("glft", 6), ("cjp", 3))}
    objective["learned"] = objective["glft"] + rng.normal(0.5, 0.1, 8)
    adverse = {"as": rng.normal(10, 1, 8), "as-toxic": rng.normal(8, 1, 8)}
    closed = {a: {"objective_mean": float(objective[a].mean())} for a in ("as", "glft", "cjp")}
    closed["as-toxic"] = {"objective_mean": 0.0}
    meta = {"model": {"A": 1.0}, "chosen": {"co-lo": {"as": "as g=0.1"}}}
    (tmp_path / "closed.json").write_text(json.dumps({"agents": {"co-lo": closed}, **meta}))
    learned = {"co-lo": {"learned": {"objective_mean": float(objective["learned"].mean())}}}
    extra = {"train_seconds": 1.0}
    (tmp_path / "learned.json").write_text(json.dumps({"agents": learned, **extra}))
    arrays = {f"co-lo/{a}/objective": v for a, v in objective.items() if a != "learned"}
    arrays |= {f"co-lo/{a}/adverse_share_ticks": v for a, v in adverse.items()}
    np.savez(tmp_path / "closed.npz", **arrays)
    np.savez(tmp_path / "learned.npz", **{"co-lo/learned/objective": objective["learned"]})
    report = module.main(["--part", "combine", "--out", str(tmp_path)])["scenarios"]["co-lo"]
    assert report["best_closed_form"] == "glft"
    d = objective["learned"] - objective["glft"]
    assert report["learned_gain"] == pytest.approx(d.mean())
    assert report["learned_gain_se"] == pytest.approx(d.std(ddof=1) / np.sqrt(8))
    tox = adverse["as-toxic"] - adverse["as"]
    assert report["toxic_minus_as_adverse_share_ticks"] == pytest.approx(tox.mean())
    assert (tmp_path / "mm_book.json").exists()


def test_observed_market_order_intensity_is_the_flows_own():
    """The market-order intensities the maker observes after K chained intervals of the flow
    (the state the market carries) equal lambda_i(T) = mu_i + sum over the flow events e of
    alpha[i, j_e] beta[i, j_e] exp(-beta (T - t_e)), summed in float64 over the event stream
    itself (an independent recursion), for two keys."""
    params = mk.book_params("co-lo")
    hawkes = params.flow.hawkes
    mu, alpha, beta = (np.asarray(x, np.float64) for x in (hawkes.mu, hawkes.alpha, hawkes.beta))
    dt = H / N
    start = MARKET.init(mk.book_key(0), params, st.session_order(MARKET, H), N)

    @jax.jit
    def chain(key):
        def one(state, step):
            k = jax.random.fold_in(key, step)
            events, state, _ = mk.flow.sample_interval(
                k, params.flow, state, jnp.float32(dt), MARKET.events_per_step
            )
            return state, events

        return jax.lax.scan(one, start.flow_state, jnp.arange(N))

    for seed in range(2):
        flow_state, events = chain(mk.book_key(10 + seed))
        assert not bool(events.overflow.any())
        valid = np.asarray(events.mask)
        t = (np.arange(N)[:, None] * dt + np.asarray(events.times_s, np.float64))[valid]
        j = np.asarray(events.flow_type)[valid]
        kernel = alpha[:, j] * beta[:, j] * np.exp(-beta[:, j] * (H - t))
        lam = mu + kernel.sum(axis=1)
        obs = MARKET.observe(start.replace(flow_state=flow_state), params)
        np.testing.assert_allclose(np.asarray(obs.market_order_intensity_per_s), lam[4:], rtol=2e-4)
        b, s = lam[4], lam[5]
        assert float(obs.hawkes_imbalance) == pytest.approx((b - s) / (b + s), abs=1e-4)


def test_hawkes_score_rises_after_a_one_sided_burst_and_the_aware_maker_skews():
    """A burst of market buys (their baseline x 200 for 50 ms) excites the buy intensity: the
    observed score jumps from about 0 to near +1, and the toxicity-aware maker on the Hawkes
    score moves its ask away (a deeper offset) while the plain maker does not."""
    params = mk.book_params("co-lo")
    state = MARKET.init(mk.book_key(3), params, st.session_order(MARKET, H), N)
    burst = params.flow.hawkes.replace(mu=params.flow.hawkes.mu.at[4].multiply(200.0))
    _, excited, _ = mk.flow.sample_interval(
        mk.book_key(4), params.flow.replace(hawkes=burst), state.flow_state, 0.05, 64
    )
    before = MARKET.observe(state, params)
    after = MARKET.observe(state.replace(flow_state=excited), params)
    assert abs(float(before.hawkes_imbalance)) < 1e-6
    assert float(after.hawkes_imbalance) > 0.5
    assert float(after.market_order_intensity_per_s[0]) > 5 * float(
        before.market_order_intensity_per_s[0]
    )
    base = avellaneda_stoikov(0.1, 1.5, 1.5)
    aware, aware_params = st.toxicity_aware_maker(MARKET, base, 0.0, 2.0, 0.0, score="hawkes")
    plain = st.BookQuoting(as_inventory_quotes, MARKET.offsets_ticks, LOT)

    def ask_offset(policy, pp, market_obs):
        obs = _maker_observation(market_obs, H)
        return MARKET.offsets_ticks[int(np.argmax(policy(pp, obs).ask_logits))]

    assert ask_offset(aware, aware_params, after) > ask_offset(aware, aware_params, before)
    assert ask_offset(plain, base, after) == ask_offset(plain, base, before)
