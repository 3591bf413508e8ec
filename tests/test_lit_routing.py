"""Smart order routing across lit venues: with no fade the router's cost is the closed-form
consolidated sweep of the displayed books (an independent numpy sweep); with fading books
behind latency it beats all-to-the-best-quote and the split by displayed size on common random
numbers; bad input is refused."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.market import lit_venue_params
from wmjax.strategies import (
    FillModel,
    best_quote_route,
    displayed_size_route,
    predicted_fill_route,
    routing_costs_bps,
)

DEPTH = [[3, 3, 4, 4], [10, 10, 10, 10], [8, 10, 12, 12]]
OFFSETS, LATENCY, FEES = [1, 1, 2], [25.0, 2000.0, 200.0], [0.3, 0.2, 0.2]
QUANTITY, PATHS = 3000.0, 400


def _routers(fade):
    return {
        "predicted": (predicted_fill_route, FillModel(jnp.float32(fade))),
        "best_quote": (best_quote_route, None),
        "displayed": (displayed_size_route, None),
    }


def _closed_form_sweep_bps(displayed_lots, params):
    """Buy QUANTITY from the cheapest displayed shares of all venues (price + fee), in numpy."""
    price = (np.asarray(OFFSETS)[:, None] + np.arange(4) + np.asarray(FEES)[:, None]).ravel()
    size = np.asarray(displayed_lots).ravel() * 100.0
    left, cost = QUANTITY, 0.0
    for i in np.argsort(price, kind="stable"):
        take = min(left, size[i])
        cost, left = cost + take * price[i], left - take
    cost += left * float(params.miss_ticks)
    return cost * 0.01 / (QUANTITY * 100.0) * 1e4


def test_without_fade_the_router_pays_the_closed_form_sweep():
    params = lit_venue_params(OFFSETS, DEPTH, LATENCY, fade_per_s=0.0, fee_ticks=FEES)
    costs = routing_costs_bps(jax.random.key(0), params, _routers(0.0), QUANTITY, PATHS)
    # the displayed books of the paths: LitVenuesMarket.init on the rollout's init keys
    keys = jax.vmap(lambda k: jax.random.split(k)[0])(jax.random.split(jax.random.key(0), PATHS))
    books = jax.vmap(lambda k: jnp.round(jnp.asarray(DEPTH) * jax.random.uniform(
        k, (3, 4), jnp.float32, 0.5, 1.5)))(keys)  # fmt: skip
    expected = np.array([_closed_form_sweep_bps(b, params) for b in np.asarray(books)])
    # float32 notional (3e5 price units) resolves the cost to about 1e-3 bps
    np.testing.assert_allclose(costs["predicted"], expected, atol=2e-3)
    # the consolidated sweep is the cheapest split: no naive router does better on any path
    for name in ("best_quote", "displayed"):
        assert np.all(costs[name] >= costs["predicted"] - 2e-3)


def test_router_beats_the_naive_splits_when_books_fade_behind_latency():
    params = lit_venue_params(OFFSETS, DEPTH, LATENCY, fade_per_s=500.0, fee_ticks=FEES)
    costs = routing_costs_bps(jax.random.key(1), params, _routers(500.0), QUANTITY, PATHS)
    for name in ("best_quote", "displayed"):
        d = costs[name] - costs["predicted"]
        assert d.mean() > 3 * d.std(ddof=1) / np.sqrt(PATHS), (name, d.mean())


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="latency_us"):
        lit_venue_params(OFFSETS, DEPTH, [25.0, 2000.0])
    with pytest.raises(InputError, match="two venues"):
        lit_venue_params([1], [[3, 3]], [25.0])
    with pytest.raises(InputError, match="miss_ticks"):
        lit_venue_params(OFFSETS, DEPTH, LATENCY, miss_ticks=2.0)


def test_experiment_smoke(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "experiments" / "lit_routing.py"
    spec = importlib.util.spec_from_file_location("lit_routing_experiment", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["--out", str(tmp_path), "--paths", str(PATHS), "--fades", "0,500"]
    result = module.main(argv)
    assert (tmp_path / "lit_routing.png").stat().st_size > 0
    assert result["0"]["best quote"]["minus_router_bps"] >= 0
