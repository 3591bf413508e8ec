"""LOBSTER loader: fields, units, and clear errors naming the file and row."""

from pathlib import Path

import numpy as np
import pytest

from wmjax import InputError
from wmjax.data import EventType, load_lobster

DATA = Path(__file__).resolve().parent / "data"
MSG1 = DATA / "AMZN_2012-06-21_message_1_first800rows.csv"
BOOK1 = DATA / "AMZN_2012-06-21_orderbook_1_first800rows.csv"
MSG10 = DATA / "AAPL_2012-06-21_message_10_first300rows.csv"
BOOK10 = DATA / "AAPL_2012-06-21_orderbook_10_first300rows.csv"


def test_fields_and_units_match_the_raw_rows():
    d = load_lobster(MSG1, BOOK1)
    assert d.rows == 800 and d.levels == 1
    # row 2 of the file: 34200.18960767,1,11885113,21,2238100,1 -> book 2239500,100,2238100,21
    assert d.times_s[1] == pytest.approx(34200.18960767, abs=1e-9)
    assert d.event_type[1] == EventType.SUBMISSION
    assert (d.order_id[1], d.size_shares[1], d.price_ticks[1], d.direction[1]) == (
        11885113,
        21,
        22381,
        1,
    )
    assert (d.ask_price_ticks[1, 0], d.ask_size_shares[1, 0]) == (22395, 100)
    assert (d.bid_price_ticks[1, 0], d.bid_size_shares[1, 0]) == (22381, 21)
    assert d.times_s.dtype == np.float64 and d.price_ticks.dtype == np.int32


def test_level10_shapes_and_raw_prices():
    d = load_lobster(MSG10, BOOK10)
    assert d.ask_price_ticks.shape == (300, 10) and d.levels == 10
    assert np.all(d.ask_price_ticks[:, 1:] > d.ask_price_ticks[:, :-1])
    assert np.all(d.bid_price_ticks[:, 1:] < d.bid_price_ticks[:, :-1])
    assert np.all(d.price_raw[d.event_type <= 4] == d.price_ticks[d.event_type <= 4] * 100)


def test_messages_only_and_dummy_levels(tmp_path):
    msg = tmp_path / "m.csv"
    msg.write_text("34200.1,1,7,10,1000000,1\n34200.2,5,0,3,1000050,-1\n")
    book = tmp_path / "b.csv"
    book.write_text("9999999999,0,1000000,10\n9999999999,0,1000000,10")
    d = load_lobster(msg, book)
    assert d.ask_size_shares[0, 0] == 0 and d.ask_price_ticks[0, 0] == 0
    assert d.price_raw[1] == 1000050  # hidden execution between ticks keeps its raw price
    assert load_lobster(msg).levels == 0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("34200.1,1,7,10,1000000,1\n34200.2,1,7,10,1000000\n", "row 2: expected 6"),
        ("34200.1,9,7,10,1000000,1\n", "row 1: unknown event type"),
        ("34200.1,1,7,10,1000000,1\n34200.2,1,x,10,1000000,1\n", "row 2: non-numeric"),
        ("34200.1,1,7,10,1000000,0\n", "row 1: direction"),
        ("34200.1,1,7,-10,1000000,1\n", "row 1: size"),
        ("34200.1,1,7,10,1000050,1\n", "row 1: price is not a multiple"),
        ("34200.2,1,7,10,1000000,1\n34200.1,1,7,10,1000000,1\n", "row 2: time goes backwards"),
        ("", "empty"),
    ],
)
def test_malformed_message_files_name_file_and_row(tmp_path, text, needle):
    path = tmp_path / "bad_message.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=needle) as err:
        load_lobster(path)
    assert "bad_message.csv" in str(err.value)


def test_malformed_book_files(tmp_path):
    msg = tmp_path / "m.csv"
    msg.write_text("34200.1,1,7,10,1000000,1\n34200.2,1,8,10,1000000,1\n")
    book = tmp_path / "bad_book.csv"
    book.write_text("9999999999,0,1000000,10\n9999999999,0,1000000\n")
    with pytest.raises(InputError, match=r"bad_book.csv, row 2: expected 4"):
        load_lobster(msg, book)
    book.write_text("9999999999,0,1000000,10\n")
    with pytest.raises(InputError, match="has 1 rows but the message file has 2"):
        load_lobster(msg, book)
    book.write_text("1,2,3\n1,2,3\n")
    with pytest.raises(InputError, match="4 columns per level"):
        load_lobster(msg, book)
    book.write_text("9999999999,5,1000000,10\n9999999999,0,1000000,10\n")
    with pytest.raises(InputError, match="row 1: an empty ask level"):
        load_lobster(msg, book)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_lobster(tmp_path / "missing.csv")
