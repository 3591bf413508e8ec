"""TAQ loader: NBBO from venue quotes, Lee-Ready signs, the tie rule, on a hand-made day with
known answers and on a real IBM day."""

import zipfile

import numpy as np
import pytest
from _shared import shared_file

from wmjax import InputError
from wmjax.data import lee_ready, load_taq_day, national_best


def _zip(path, rows):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(path.stem + ".csv", "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


@pytest.fixture
def day(tmp_path):
    s = 34_200_000  # 09:30 in ms
    quotes = [
        # ms, bid, bid size, ask, ask size, exchange, condition, suspicious
        (s + 10, 1_000_000, 100, 0, 0, "P", 1, 0),  # P bids 100.00
        (s + 10, 0, 0, 1_002_000, 100, "P", 1, 0),  # P offers 100.20
        (s + 20, 1_001_000, 100, 0, 0, "N", 1, 0),  # N bids 100.10: NBBO 100.10 x 100.20
        (s + 5_000, 1_000_000, 100, 0, 0, "P", 1, 0),  # 4.98 s later: N's bid is stale
        (s + 5_000, 0, 0, 1_002_000, 100, "P", 1, 0),
    ]
    trades = [
        # ms, price, size, exchange, condition, suspicious
        (s - 1_000, 1_001_000, 100, "P", 1, 0),  # before the session: dropped
        (s + 30, 1_002_000, 100, "P", 1, 0),  # above the mid 100.15: buy
        (s + 30, 1_002_000, 50, "N", 1, 0),  # same ms, same sign: merged (150 shares)
        (s + 40, 1_001_000, 200, "D", 1, 0),  # below the mid: sell
        (s + 50, 1_001_500, 100, "D", 1, 0),  # at the mid: tick test, up from 100.10: buy
        (s + 60, 1_000_000, 100, "D", 1, 1),  # suspicious: dropped
        (s + 5_010, 1_001_000, 100, "D", 1, 0),  # NBBO 100.00 x 100.20 (stale N gone): at mid
    ]
    return _zip(tmp_path / "20131007_trade.zip", trades), _zip(
        tmp_path / "20131007_quote.zip", quotes
    )


def test_nbbo_drops_stale_venue_quotes(day):
    _, bid, ask = national_best(day[1])
    # Row 2: NBBO 100.10 x 100.20; row 4: N's bid is 4.98 s old and no longer counts.
    assert np.allclose(bid[[2, 4]], [100.10, 100.00]) and np.allclose(ask[[2, 4]], 100.20)
    assert np.isnan(ask[0])  # nobody offers yet


def test_lee_ready_merge_and_jitter_on_a_known_day(day):
    out = load_taq_day(*day, seed=3)
    # The last trade sits at the mid of 100.00 x 100.20 and is a downtick from 100.15: a sell.
    assert out.sign.tolist() == [1, -1, 1, -1]
    assert out.size_shares.tolist() == [150, 200, 100, 100]
    assert (out.n_prints, out.n_quote_signed, out.n_tick_signed, out.n_unsigned) == (5, 3, 2, 0)
    ms = np.array([30, 40, 50, 5_010]) + 34_200_000
    assert np.all((out.times_s * 1e3 >= ms) & (out.times_s * 1e3 < ms + 1))  # within its ms
    assert np.array_equal(load_taq_day(*day, seed=3).times_s, out.times_s)  # seeded


def test_lee_ready_tick_test_without_quotes():
    sign, by_quote = lee_ready(
        np.array([1.0, 2.0, 3.0, 4.0]),
        np.array([10.0, 10.0, 10.1, 10.1]),
        np.array([0.0]),
        np.array([np.nan]),
        np.array([np.nan]),
    )
    assert sign.tolist() == [0, 0, 1, 1] and not by_quote.any()


def test_bad_taq_file_names_it(tmp_path):
    bad = _zip(tmp_path / "20131007_trade.zip", [("x", 1, 2, "P", 1, 0)])
    with pytest.raises(InputError, match="20131007_trade"):
        load_taq_day(bad, bad)


def test_real_ibm_day_is_mostly_signed_by_quotes():
    ibm = shared_file("taq", "ibm", "20131007_trade.zip").parent
    out = load_taq_day(ibm / "20131007_trade.zip", ibm / "20131007_quote.zip")
    assert out.n_quote_signed > 0.7 * out.n_prints and out.n_unsigned < 0.01 * out.n_prints
    assert 0.4 < np.mean(out.sign > 0) < 0.6
    assert np.all(np.diff(out.times_s) > 0) and 34_200 <= out.times_s[0] < out.times_s[-1] < 57_600
