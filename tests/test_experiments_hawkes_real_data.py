"""Smoke test: experiments/hawkes_real_data.py on the AMZN excerpt and the first minutes of two
IBM TAQ days (fit on one, test on the other), with tiny arguments."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _shared import shared_file

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "hawkes_real_data.py"
EXCERPT = Path(__file__).resolve().parent / "data" / "amzn_excerpt_message_1.csv"


@pytest.mark.slow
def test_hawkes_real_data_experiment_runs_and_nested_models_order(tmp_path):
    taq = tmp_path / "ibm"  # two of the five days: a quarter of the loading
    taq.mkdir()
    for day in ("20131010", "20131011"):
        for kind in ("trade", "quote"):
            shutil.copy(shared_file("taq", "ibm", f"{day}_{kind}.zip"), taq)
    args = ["--lobster", str(EXCERPT), "--taq", str(taq), "--minutes", "4", "--block-s", "120"]
    args += ["--pieces", "2", "--taq-piece-s", "120", "--starts", "1", "--max-iter", "25"]
    args += ["--models", "poisson,exp", "--out", str(tmp_path / "out")]
    # a fresh process: in a long-lived pytest worker XLA once crashed compiling these fits
    run = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stderr[-3000:]
    saved = json.loads((tmp_path / "out" / "hawkes_real_data.json").read_text())
    for source in ("lobster", "taq"):
        assert (tmp_path / "out" / f"qq_{source}.png").stat().st_size > 0
        models = saved[source]["models"]
        assert set(models) == {"poisson", "exp"}
        # Nested models: the Hawkes fit adds training likelihood over Poisson.
        assert models["exp"]["train_log_likelihood"] > models["poisson"]["train_log_likelihood"]
        assert all(0 <= p <= 1 for p in models["exp"]["ks_pvalue"])
        assert saved[source]["verdict"]["best"] in models
    assert saved["taq"]["meta"]["days"][-1] == "20131011"
