"""`wmjax vwap`: the issue's JSON schema, scores against an independent computation, any bin
width, and one clear line for a malformed file."""

import json

import numpy as np
import pytest

from wmjax.cli._main import main

METHODS = {
    "rolling_mean",
    "power_curve",
    "bdf",
    "bdf_dynamic",
    "kalman",
    "kalman_dynamic",
    "world_model",
    "world_model_dynamic",
}


@pytest.fixture(scope="module")
def csv_30min(tmp_path_factory):
    """40 days of 30-minute bins (13 a day) with a U shape and noise, plus one half day."""
    rng = np.random.default_rng(0)
    curve = 1.0 + 2.0 * np.linspace(-1, 1, 13) ** 2
    rows = ["bar_start_ET,volume"]
    days = np.datetime64("2020-01-01") + np.arange(41)
    for i, day in enumerate(days):
        level = np.exp(rng.normal(0, 0.3))
        for b in range(13 if i != 30 else 7):
            hh, mm = divmod(570 + 30 * b, 60)
            v = 1e5 * curve[b] * level * np.exp(rng.normal(0, 0.25))
            rows.append(f"{day} {hh:02d}:{mm:02d}:00,{v:.0f}")
    path = tmp_path_factory.mktemp("vwap") / "vol30.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_json_schema_and_rolling_mean_scores(csv_30min, capsys):
    code = main(["vwap", str(csv_30min), "--test-from", "2020-02-01", "--paths", "16", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"methods", "test_days"} and set(out["methods"]) == METHODS
    for scores in out["methods"].values():
        assert set(scores) == {"mape", "mae_share", "tracking_error_bps", "tracking_error_bps_std"}
        assert all(np.isfinite(v) and v >= 0 for v in scores.values())
    # the half day (2020-01-31) is dropped; test days are the complete days from 2020-02-01
    assert out["test_days"] == 10
    # independent rolling mean: the 21 complete days before each test day
    from wmjax.data import load_volume_bins

    bins = load_volume_bins(csv_30min)
    vol = bins.volume_shares[bins.complete]
    shares = vol / vol.sum(1, keepdims=True)
    errs = [np.abs(shares[d - 21 : d].mean(0) - shares[d]) / shares[d] for d in range(30, 40)]
    assert out["methods"]["rolling_mean"]["mape"] == pytest.approx(np.mean(errs), rel=1e-4)


def test_table_and_bad_input(csv_30min, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("bar_start,volume\n2020-01-02 09:30:00,10\n2020-01-02 10:00:00,x\n")
    assert main(["vwap", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv, line 3: field volume" in err and err.count("\n") == 1
    assert main(["vwap", str(csv_30min), "--test-from", "2020-01-05"]) == 2
    assert "test period must leave 26 complete days" in capsys.readouterr().err
