"""Venues as Hawkes books tied by a common efficient price (`wmjax.market.VenueBooks`) and the
cross-venue latency arbitrage on them. One compiled rollout (the arbitrage rule, 32 sessions
of 50 decisions over 2 s) serves every test: ties, latencies, delays, the lot and the
threshold are traced parameters."""

import importlib.util
import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import wmjax.market as mk
import wmjax.strategies as st
from wmjax import InputError
from wmjax.execution import account

MARKET = mk.VenueBooks()
H, N, PATHS = 2.0, 50, 32
NEVER = st.arbitrage_rule(threshold_ticks=1e6)  # the same policy, never trading


def _run(params, rule, key=0):
    return st.venue_paths(
        mk.book_key(key), MARKET, params, st.cross_venue_arbitrage, rule, H, N, PATHS
    )


@pytest.fixture(scope="module")
def latency_runs():
    params = mk.venue_books_params()
    rule = st.arbitrage_rule()
    return {s: _run(params.with_latency(s), rule, key=1) for s in ("co-lo", "cloud", "retail")}


def test_zero_latency_pnl_is_the_seen_spread():
    """With no latency our orders reach both venues before anything else happens: each round
    trip earns exactly the cross-venue spread seen at the decision, bid_v - ask_u - fees (one
    share a leg, so the touch always holds it); the market's P&L, the rollout's account and
    this direct computation from the seen quotes agree."""
    params = mk.venue_books_params().replace(
        latency_us=jnp.zeros(2, jnp.float32), jitter_us=jnp.zeros(2, jnp.float32)
    )
    paths = _run(params, st.arbitrage_rule(lot_shares=1.0))
    rec = paths.records
    sent = np.asarray(rec.sent_shares, np.float64)
    bid, ask = np.asarray(rec.bid_ticks, np.float64), np.asarray(rec.ask_ticks, np.float64)
    fee = np.asarray(params.fee_ticks, np.float64)
    direct = (np.maximum(-sent, 0) * (bid - fee) - np.maximum(sent, 0) * (ask + fee)).sum((1, 2))
    assert (np.abs(sent).sum((1, 2)) > 0).all()  # every path traded
    np.testing.assert_allclose(np.asarray(mk.venue_pnl_ticks(paths.final_state)), direct, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(paths.final_state.stats.inventory_shares).sum(-1), 0)
    pnl = np.asarray(account(paths, st.venue_session_order(MARKET, H)).pnl, np.float64)
    np.testing.assert_allclose(pnl, direct * 0.01, atol=2e-3)


def test_identical_venues_have_a_symmetric_opportunity_set():
    """Two identical venues repricing at once: buying at 0 and selling at 1 is as often
    profitable as the reverse, and the venues' mids differ by 0 on average (within 3 SE over
    paths)."""
    paths = _run(mk.venue_books_params(reprice_delay_us=0.0, tie=0.5), NEVER)
    bid, ask = np.asarray(paths.records.bid_ticks), np.asarray(paths.records.ask_ticks)
    one_way = ((bid[..., 1] - ask[..., 0]) > 0).sum(1)
    other_way = ((bid[..., 0] - ask[..., 1]) > 0).sum(1)
    d = (one_way - other_way).astype(float)
    assert one_way.sum() + other_way.sum() > 0
    assert abs(d.mean()) < 3 * d.std(ddof=1) / np.sqrt(PATHS) + 1e-9
    gap = (0.5 * (bid[..., 1] + ask[..., 1] - bid[..., 0] - ask[..., 0])).mean(1)
    assert abs(gap.mean()) < 3 * gap.std(ddof=1) / np.sqrt(PATHS)


def test_the_tie_correlates_and_cointegrates_the_venues():
    """Both venues repricing at once (the tie alone): without a tie the books are independent,
    their mids' changes uncorrelated and their gap's variance growing like a random walk's
    (x2 from 1 s to 2 s); with a tie the correlation rises with its strength, and the gap's
    variance stays bounded (cointegrated mids): under a tenth of the untied one's at 2 s for ties
    of 0.5 and 1 at every time, and under half of it for 0.2 (a weak tie acts only on gaps of
    2.5 ticks or more: rounding)."""
    ties = (0.0, 0.2, 0.5, 1.0)
    out = {
        tie: st.venue_tie_summary(
            _run(mk.venue_books_params(tie=tie, reprice_delay_us=0.0), NEVER), lag_steps=5
        )
        for tie in ties
    }
    corr = [out[t]["mid_change_correlation"] for t in ties]
    assert abs(corr[0]) < 0.15 and corr == sorted(corr) and corr[-1] > 0.95
    _, half, end = out[0.0]["gap_variance_ticks2"]
    assert end > 1.5 * half
    assert out[0.2]["gap_variance_ticks2"][2] < 0.5 * end
    for tie in (0.5, 1.0):
        assert max(out[tie]["gap_variance_ticks2"]) < 0.1 * end


def test_latency_lowers_the_arbitrage_pnl(latency_runs):
    """On the same keys (the flow is the same whatever the latency), the co-located
    arbitrageur beats the stale venue's repricing and earns the seen spread; the retail one
    arrives after it and loses; co-lo - retail > 5 paired SE, cloud in between."""
    out = {s: st.arbitrage_summary(p, mk.venue_books_params()) for s, p in latency_runs.items()}
    events = [np.asarray(p.final_state.stats.flow_events) for p in latency_runs.values()]
    np.testing.assert_array_equal(events[0], events[2])
    gain, se = st.paired_difference(out["retail"]["pnl"], out["co-lo"]["pnl"])
    assert gain > 5 * se
    assert out["co-lo"]["pnl_mean"] > out["cloud"]["pnl_mean"] > out["retail"]["pnl_mean"]
    assert out["co-lo"]["pnl_mean"] > 0 > out["retail"]["pnl_mean"]
    colo = out["co-lo"]
    assert colo["latency_adjusted_spread_ticks"] > 0.8 * colo["seen_spread_ticks"]
    assert out["retail"]["latency_adjusted_spread_ticks"] < 0
    assert colo["status"]["flow_overflow_intervals"] == 0


def test_bad_venue_params_are_refused():
    with pytest.raises(InputError, match="tie"):
        mk.venue_books_params(tie=1.5)
    with pytest.raises(InputError, match="reprice_delay_us"):
        mk.venue_books_params(3, reprice_delay_us=(0.0, 1.0))
    with pytest.raises(InputError, match="latency"):
        mk.venue_books_params(latency="satellite")


def test_experiment_script_runs(tmp_path):
    """The experiment at the tests' size (the same compiled rollout)."""
    script = Path(__file__).resolve().parents[1] / "experiments" / "venue_arbitrage.py"
    spec = importlib.util.spec_from_file_location("venue_arbitrage_experiment", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = ["--out", str(tmp_path), "--paths", str(PATHS), "--steps", str(N), "--session-s", "2"]
    out = module.main(args)
    saved = json.loads((tmp_path / "venue_arbitrage.json").read_text())
    assert set(saved["scenarios"]) == {"co-lo", "proximity", "cloud", "retail"}
    assert out["scenarios"]["co-lo"]["minus_colo"] == 0.0 and len(saved["ties"]) == 5


@pytest.mark.slow
def test_routing_by_predicted_fill_beats_the_naive_routers(tmp_path):
    """experiments/venue_routing.py at 32 sessions (one compiled rollout for the three routers:
    the router is a traced choice): a buy of 3,000 shares across three book venues costs less
    by predicted fill quality than all to the best quote or split by displayed size, by more
    than 3 paired SE each, and fills completely."""
    script = Path(__file__).resolve().parents[1] / "experiments" / "venue_routing.py"
    spec = importlib.util.spec_from_file_location("venue_routing_experiment", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--out", str(tmp_path), "--paths", str(PATHS)])["routers"]
    assert rows["predicted_fill"]["completion"] == 1.0
    for naive in ("best_quote", "displayed_size"):
        assert rows[naive]["minus_predicted_fill_bps"] > 3 * rows[naive]["minus_predicted_fill_se"]
    assert (tmp_path / "venue_routing.json").exists()
    with pytest.raises(InputError, match="router"):
        st.book_route("fastest", 100.0, 0)
