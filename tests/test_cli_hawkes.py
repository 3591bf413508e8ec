"""`wmjax hawkes simulate|fit` end to end: a simulate -> fit round trip recovers the truth, --json
prints one parseable object, LOBSTER executions fit as 2-D market orders, bad input exits 2."""

import json
from pathlib import Path

import numpy as np
import pytest

from wmjax.cli import main

EXCERPT = Path(__file__).parent / "data" / "amzn_excerpt_message_1.csv"


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def events_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("hawkes") / "events.csv"
    argv = ["hawkes", "simulate", "--mu", "0.5", "--alpha", "0.6", "--beta", "2"]
    assert main([*argv, "--horizon", "3000", "--seed", "3", "--out", str(path)]) == 0
    return path


def test_simulate_then_fit_recovers_the_truth(events_csv, capsys):
    capsys.readouterr()
    header = events_csv.read_text().splitlines()[0]
    assert header == "time,mark"
    out = _json(capsys, ["hawkes", "fit", str(events_csv), "--horizon", "3000", "--json"])
    assert {"mu", "alpha", "beta", "log_likelihood", "branching_ratio", "ks_pvalues"} <= set(out)
    se = out["std_errors"]
    for name, true in (("mu", 0.5), ("alpha", 0.6), ("beta", 2.0)):
        est, err = np.ravel(out[name])[0], np.ravel(se[name])[0]
        assert abs(est - true) < 4 * err, (name, est, err)
    assert out["converged"] and out["branching_ratio"] == pytest.approx(out["alpha"][0][0])
    assert out["ks_pvalues"][0] > 1e-3


def test_fit_prints_a_table_with_standard_errors(events_csv, capsys):
    assert main(["hawkes", "fit", str(events_csv), "--horizon", "3000"]) == 0
    text = capsys.readouterr().out
    assert "±" in text and "KS p-value" in text and "converged" in text


def test_simulate_reads_matrices_from_json_and_lists(tmp_path, capsys):
    alpha = tmp_path / "alpha.json"
    alpha.write_text(json.dumps([[0.3, 0.1], [0.2, 0.25]]))
    out = _json(
        capsys,
        [
            *("hawkes", "simulate", "--mu", "0.3,0.2", "--alpha", str(alpha)),
            *("--beta", "2,3;1.5,2.5", "--horizon", "200", "--out", str(tmp_path / "e.csv")),
            "--json",
        ],
    )
    assert out["n_events"] == sum(out["counts"]) > 0
    assert len(out["expected_counts"]) == 2


def test_fit_lobster_executions_as_two_dimensional_market_orders(capsys):
    out = _json(
        capsys,
        ["hawkes", "fit", str(EXCERPT), "--lobster", "--beta-structure", "scalar", "--json"],
    )
    assert np.shape(out["alpha"]) == (2, 2) and len(out["ks_pvalues"]) == 2
    assert 0 < out["branching_ratio"] < 1.5 and np.isfinite(out["log_likelihood"])
    assert out["horizon_s"] == pytest.approx(35998.495271486 - 34200.017459617, rel=1e-9)


@pytest.mark.slow
def test_fit_bayes_json_has_the_posterior_summary(events_csv, capsys):
    out = _json(
        capsys,
        [
            *("hawkes", "fit", str(events_csv), "--method", "bayes", "--warmup", "30"),
            # 20 draws per chain: a schema check, not a convergence one (r_hat may exceed 1.05)
            *("--samples", "20", "--chains", "2", "--json", "--allow-unconverged"),
        ],
    )
    post = out["posterior"]
    assert set(post) == {"mu", "alpha", "beta", "branching_ratio"}
    assert set(post["mu"]) == {"mean", "sd", "q5", "q95", "r_hat", "ess"}
    assert post["branching_ratio"]["q95"] < 1.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "--mu", "0.5", "--alpha", "1.2", "--beta", "2"], "spectral radius"),
        (["simulate", "--mu", "0.5,0.1", "--alpha", "0.2", "--beta", "2"], "alpha must be"),
        (["simulate", "--mu", "a,b", "--alpha", "0.2", "--beta", "2"], "--mu: cannot read"),
        (["fit", "BAD_CSV"], "line 3"),
        (["fit", "EVENTS", "--horizon", "10"], "ends before the last event"),
        (["fit", "EVENTS", "--dim", "2"], "has no events"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv, message, events_csv, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,mark\n0.5,0\n0.7,x\n")
    argv = [str(bad) if a == "BAD_CSV" else str(events_csv) if a == "EVENTS" else a for a in argv]
    if argv[0] == "simulate":
        argv += ["--horizon", "10", "--out", str(tmp_path / "o.csv")]
    capsys.readouterr()
    assert main(["hawkes", *argv]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and message in err, err
