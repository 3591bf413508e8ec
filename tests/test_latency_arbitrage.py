"""Cross-venue latency arbitrage: Monte Carlo win rates against the lognormal closed form, the
race against a rival, and the expected P&L per session."""

import importlib.util
from pathlib import Path

import jax
import numpy as np
import pytest

from wmjax import InputError
from wmjax.market import stale_quote_params
from wmjax.strategies import latency_arbitrage

PARAMS = stale_quote_params(jump_rate_per_s=5.0, jump_ticks=2.0, stale_us=2000.0)
RUN = dict(n_paths=500, capacity=512)  # one compiled program for every test here


def test_win_rate_and_pnl_match_the_closed_form():
    """Cloud latency (2,000 +- 200 us) against a venue 2 ms late: about half the races won."""
    out = latency_arbitrage(jax.random.key(0), PARAMS, "cloud", 20.0, **RUN)
    p = out["win_probability_closed_form"]
    assert 0.4 < p < 0.6
    jumps = 5.0 * 20.0 * 500
    assert abs(out["fills_per_jump"] - p) < 4 * np.sqrt(p * (1 - p) / jumps)
    expected = 5.0 * 20.0 * p * (2.0 - 0.5 - 0.1)
    assert abs(out["pnl_ticks_mean"] - expected) < 4 * out["pnl_ticks_se"]
    assert out["latency_difference_us"] == pytest.approx(0.0)


def test_the_faster_arbitrageur_takes_the_quote():
    colo = latency_arbitrage(jax.random.key(1), PARAMS, "co-lo", 20.0, **RUN)
    assert colo["fills_per_jump"] == 1.0
    rival = "co-lo"
    slow = latency_arbitrage(jax.random.key(1), PARAMS, "proximity", 20.0, rival=rival, **RUN)
    assert slow["fills_per_jump"] == 0.0 and slow["win_probability_closed_form"] > 0.999
    tie = latency_arbitrage(jax.random.key(1), PARAMS, "co-lo", 20.0, rival=rival, **RUN)
    assert abs(tie["fills_per_jump"] - 0.5) < 0.02  # two identical co-located racers
    retail = latency_arbitrage(jax.random.key(1), PARAMS, "retail", 20.0, **RUN)
    assert retail["pnl_ticks_mean"] == 0.0


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="jump_ticks"):
        stale_quote_params(jump_ticks=0.5)
    with pytest.raises(InputError, match="capacity"):
        latency_arbitrage(jax.random.key(0), PARAMS, "co-lo", 200.0, **RUN)


def test_experiment_smoke(tmp_path):
    script = Path(__file__).resolve().parents[1] / "experiments" / "latency_arbitrage.py"
    spec = importlib.util.spec_from_file_location("latency_arbitrage_experiment", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["--out", str(tmp_path), "--paths", "500", "--capacity", "512", "--session-s", "20"]
    result = module.main(argv)
    assert set(result["scenarios"]) == {"co-lo", "proximity", "cloud", "retail"}
    sweep = [v["fills_per_jump"] for v in result["cloud_sweep"].values()]
    assert sweep == sorted(sweep)  # a longer stale window wins more races
