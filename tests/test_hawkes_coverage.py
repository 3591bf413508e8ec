"""The replicated calibration study (experiments/hawkes_coverage.py) at tiny size, and its batched
NUTS (`fit_bayes_batch`) against the one-data-set sampler `fit_bayes` on the same data."""

import importlib.util
import json
from pathlib import Path

import jax
import numpy as np
import pytest

from wmjax import InputError
from wmjax.calibrate import fit_bayes, fit_bayes_batch

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "hawkes_coverage.py"


def _script():
    spec = importlib.util.spec_from_file_location("hawkes_coverage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The experiment's NUTS runs at the size of the batched-NUTS test below (2 data sets of 200 s,
# 150 + 150 draws, 2 chains), so both use one compiled sampler: the sampler's compilation costs
# far more CPU than the extra draws.
NUTS_SIZE = {"num_warmup": 150, "num_samples": 150, "num_chains": 2}


@pytest.mark.slow  # two compiles: the vmapped MLE, and the vmapped NUTS (reused below)
def test_coverage_experiment_runs_and_reports_binomial_bands(tmp_path):
    argv = ["--datasets", "2", "--mle-datasets", "4", "--horizon", "200"]
    argv += ["--warmup", str(NUTS_SIZE["num_warmup"]), "--samples", str(NUTS_SIZE["num_samples"])]
    argv += ["--chains", str(NUTS_SIZE["num_chains"]), "--out", str(tmp_path)]
    assert _script().main(argv) == 0
    saved = json.loads((tmp_path / "results.json").read_text())
    nuts, mle = saved["nuts"], saved["mle"]
    assert nuts["datasets"] == 2 and nuts["binomial_se"] == pytest.approx(np.sqrt(0.09 / 2))
    for name in ("mu", "alpha", "beta"):
        # two data sets: the coverage is a count out of 2
        assert nuts[name]["coverage"] * 2 == pytest.approx(round(nuts[name]["coverage"] * 2))
        assert mle[name]["mean_hessian_se"] > 0 and mle[name]["empirical_sd"] > 0
    assert mle["datasets"] == 4 and mle["converged"] >= 3


@pytest.mark.slow
def test_batched_nuts_matches_fit_bayes_on_the_same_data():
    module = _script()
    events = module.simulate_sets(jax.random.key(7), 2, 200.0)
    kwargs = NUTS_SIZE
    batch = fit_bayes_batch(events, 200.0, 1, key=jax.random.key(1), **kwargs)
    n = int(events.count[1])
    data = (np.asarray(events.times[1])[:n], np.zeros(n, int))
    single = fit_bayes(data, 200.0, 1, key=jax.random.key(2), n_starts=1, **kwargs)
    assert batch.n_events[1] == n and batch.num_divergences.shape == (2,)
    for site in ("mu", "alpha", "beta", "branching_ratio"):
        b = {k: np.ravel(v[1])[0] for k, v in batch.summary[site].items()}
        s = {k: float(np.ravel(v)[0]) for k, v in single.summary[site].items()}
        # two samplers of one posterior: means within 0.5 sd (~3.5 Monte Carlo SE at ESS ~100),
        # spreads within 30 %
        assert abs(b["mean"] - s["mean"]) < 0.5 * s["sd"], (site, b, s)
        assert b["sd"] == pytest.approx(s["sd"], rel=0.3), (site, b, s)
        assert b["q5"] < b["mean"] < b["q95"] and b["r_hat"] < 1.1


def test_batched_nuts_refuses_bad_input():
    # data sets of the size above (the simulator compiled once for the file)
    events = _script().simulate_sets(jax.random.key(0), 2, 200.0)
    with pytest.raises(InputError, match="leading data-set axis"):
        fit_bayes_batch(jax.tree.map(lambda x: x[0], events), 200.0, 1)
    with pytest.raises(InputError, match="num_samples"):
        fit_bayes_batch(events, 200.0, 1, num_samples=2)
