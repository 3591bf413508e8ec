"""Bars and regime timelines: the Lean reader (and its errors naming file, line and field),
bars from trades, `wmjax regimes` in-process, and the SPY timeline's volatile regime covering the
known stress periods."""

import json
import zipfile

import numpy as np
import pytest
from _shared import shared_file

from wmjax import InputError
from wmjax.analytics import regime_timeline, scaling_from_timeline, timeline_summary, window_share
from wmjax.cli._main import main
from wmjax.data import bars_from_trades, load_lean_bars
from wmjax.market import Regime

GOOD = (
    "20200302 09:00,100000,101000,99000,100500,1000\n"
    "20200302 10:00,100500,100600,100100,100200,800\n"
)
AMZN = ("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv")


def test_lean_csv_and_zip_read_alike(tmp_path):
    (tmp_path / "a.csv").write_text(GOOD)
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr("a.csv", GOOD)
    a, b = load_lean_bars(tmp_path / "a.csv"), load_lean_bars(tmp_path / "a.zip")
    np.testing.assert_array_equal(a.close, b.close)
    assert a.close.tolist() == [10.05, 10.02] and a.high[0] == 10.1
    assert str(a.time[1]) == "2020-03-02T10:00:00" and a.volume_shares[1] == 800


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD + "20200302 11:00,1,2,3\n", r"line 3: expected 6 fields"),
        (GOOD + "2020-03-02 11:00,100,100,100,100,1\n", r"line 3, field time: expected yyyyMMdd"),
        (GOOD + "20200302 11:00,100,abc,100,100,1\n", r"line 3, field high: expected a number"),
        (GOOD + "20200302 11:00,100,90,80,100,1\n", r"line 3, field high: high must be >="),
        (GOOD + "20200302 10:00,100,100,100,100,1\n", r"line 3, field time: times must increase"),
        (GOOD + "20200302 11:00,100,100,100,100,-5\n", r"line 3, field volume"),
        ("\n", "the file is empty"),
    ],
)
def test_malformed_lean_rows_name_file_line_and_field(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=match) as err:
        load_lean_bars(path)
    assert "bad.csv" in str(err.value)


def test_cli_reports_a_malformed_file_in_one_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(GOOD + "20200302 11:00,100,abc,100,100,1\n")
    assert main(["regimes", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.csv, line 3, field high" in err
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as zf:
        zf.writestr("a.csv", GOOD)
        zf.writestr("b.csv", GOOD)
    assert main(["regimes", str(tmp_path / "two.zip")]) == 2
    assert "must hold one CSV" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    assert main(["regimes", str(good), "--out", str(path)]) == 2  # before the EM fit
    assert f"--out {path} is a file" in capsys.readouterr().err


def test_bars_from_trades_by_hand():
    t = np.array([0.5, 10.0, 59.9, 61.0, 200.0])
    p = np.array([10.0, 12.0, 11.0, 9.0, 9.5])
    q = np.array([1, 2, 3, 4, 5])
    bars = bars_from_trades(t, p, q, bar_s=60.0, day="2012-06-21")
    assert bars.open.tolist() == [10.0, 9.0, 9.5] and bars.close.tolist() == [11.0, 9.0, 9.5]
    assert bars.high.tolist() == [12.0, 9.0, 9.5] and bars.low.tolist() == [10.0, 9.0, 9.5]
    assert bars.volume_shares.tolist() == [6, 4, 5]
    assert [str(x) for x in bars.time] == [
        "2012-06-21T00:00:00",
        "2012-06-21T00:01:00",
        "2012-06-21T00:03:00",
    ]
    with pytest.raises(InputError, match="non-decreasing"):
        bars_from_trades(t[::-1], p, q, bar_s=60.0, day="2012-06-21")


def test_cli_amzn_ticks_timeline(tmp_path, capsys):
    path = shared_file(*AMZN)
    assert main(["regimes", str(path), "--lobster", "--json", "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bars"] > 350  # one-minute bars of a 6.5 h session (minutes without trades left out)
    assert sum(out["share"].values()) == pytest.approx(1.0)
    episodes = sum(e["count"] for e in out["episodes"].values())
    changes = sum(sum(row.values()) for row in out["transitions"].values())
    assert changes == episodes - 1  # every change of regime starts a new episode
    assert (tmp_path / f"regimes_{path.stem}.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def spy():
    bars = load_lean_bars(shared_file("volume", "SPY_hour_lean.zip"))
    return bars, regime_timeline(bars)


def test_spy_volatile_regime_covers_the_stress_periods(spy):
    bars, timeline = spy
    assert bars.n == 40832 and timeline.labels.shape == (bars.n,)
    for start, end in (("2008-09-01", "2009-07-01"), ("2020-02-20", "2020-05-01")):
        inside, outside = window_share(timeline, Regime.VOLATILE, start, end)
        assert inside > 0.35 and inside > 5 * outside, (start, inside, outside)
    calm_2017, _ = window_share(timeline, Regime.VOLATILE, "2017-01-01", "2018-01-01")
    assert calm_2017 < 0.02  # the quietest year on record (VIX lows)
    summary = timeline_summary(timeline)
    assert summary["share"]["volatile"] < 0.15
    scaling = scaling_from_timeline(timeline)
    vol = np.asarray(scaling.volatility)
    assert vol[Regime.VOLATILE] > 2 * vol[Regime.CALM] and vol[Regime.VOLATILE] > 1.5
