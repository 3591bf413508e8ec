"""Smoke test of benchmarks/hawkes.py: `--quick` finishes, prints the wmjax rows, reports each
peer as installed or not available (the main venv has none of them), and its numbers hang
together: a fit reaches at least the likelihood of the true parameters."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "hawkes.py"
PEERS = ("tick", "hawkes-rs", "hawkeslib")

# ~20 s of CPU (six jit compiles); wall time doubles or worse when the 2 cores are shared
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "rows.json"
    proc = subprocess.run(
        # Capacity 3x the expected count: small Hawkes paths vary a lot, and the test asserts
        # that no path overflowed.
        [sys.executable, str(SCRIPT), "--quick", "--capacity-factor", "3", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, json.loads(out.read_text())["rows"]


def test_prints_wmjax_rows(quick_run):
    stdout, _ = quick_run
    for row in ("wmjax (1 path, float32)", "wmjax (16 paths, float32)", "wmjax (float64)"):
        assert row in stdout
    assert "wmjax fit_mle (full beta, cold, incl. compile)" in stdout
    assert "FAILED" not in stdout


def test_every_peer_is_reported(quick_run):
    stdout, _ = quick_run
    for peer in PEERS:
        assert f"peer {peer}: installed" in stdout or f"peer {peer}: NOT AVAILABLE" in stdout


def test_numbers_hang_together(quick_run):
    _, rows = quick_run
    sims = [r for r in rows if r["section"] == "simulate" and r["method"].startswith("wmjax")]
    assert sims and all(r["events"] > 0 and r["events_per_s"] > 0 for r in sims)
    assert not any(r["overflow"] for r in sims)
    loglik = next(r for r in rows if r["section"] == "loglik" and r["method"] == "wmjax (float64)")
    truth = next(r for r in rows if r["method"] == "(true parameters)")
    fit = next(r for r in rows if r["method"].startswith("wmjax fit_mle"))
    # the same data and the same exact likelihood, evaluated twice
    assert loglik["loglik"] == pytest.approx(truth["loglik"], rel=1e-12)
    # a maximum-likelihood fit cannot be worse than the parameters that made the data
    assert fit["loglik"] >= truth["loglik"] - 1e-6
    assert fit["loglik"] == pytest.approx(fit["loglik_reported"], rel=1e-9)
