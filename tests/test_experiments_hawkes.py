"""Smoke test: experiments/hawkes_lobster.py on the AMZN excerpt with tiny arguments."""

import importlib.util
import json
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "hawkes_lobster.py"


def test_hawkes_lobster_experiment_runs_and_hawkes_beats_poisson(tmp_path):
    spec = importlib.util.spec_from_file_location("hawkes_lobster", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # only the 2-D model, one L-BFGS start: the assertions below are about the 2-D block
    args = ["--out", str(tmp_path), "--samples", "0", "--beta-structure", "scalar"]
    result = module.main([*args, "--dims", "2", "--starts", "1"])
    assert (tmp_path / "hawkes_lobster.png").stat().st_size > 0
    saved = json.loads((tmp_path / "hawkes_lobster.json").read_text())
    assert saved["market_orders"] == result["market_orders"] <= saved["executions"]
    for block in (saved["2-D"],):
        # Nested models: the Hawkes MLE can only add log-likelihood over the Poisson fit.
        assert block["hawkes_mle"]["log_likelihood"] >= block["poisson"]["log_likelihood"]
        assert 0 < block["hawkes_mle"]["branching_ratio"] < 1.5
        assert np.all(np.isfinite(block["hawkes_mle"]["ks_pvalues"]))
