"""Smoke test: experiments/vwap_risk_aversion.py on a few real AAPL test days."""

import importlib.util
import json
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "vwap_risk_aversion.py"


def test_vwap_risk_aversion_experiment_runs(tmp_path):
    spec = importlib.util.spec_from_file_location("vwap_risk_aversion", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = ["--tickers", "AAPL", "--max-test-days", "4", "--paths", "8", "--lambdas", "0", "1e-5"]
    result = module.main([*args, "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "vwap_risk_aversion.json").read_text())
    assert saved == json.loads(json.dumps(result))
    rows = saved["AAPL"]["rows"]
    assert saved["AAPL"]["test_days"] == 4
    names = {"rolling_mean_static", "kalman_dynamic_lambda_0", "kalman_dynamic_lambda_1e-05"}
    assert set(rows) == names
    assert rows["rolling_mean_static"]["te_gain_vs_rolling_mean"] == 0.0
    assert all(np.isfinite(v) for r in rows.values() for v in r.values())
