"""Replaying LOBSTER through the book: one-step and free-running checks against the real files."""

import json
from pathlib import Path

import jax
import numpy as np
import pytest
from _shared import LOBSTER

from wmjax.cli import main
from wmjax.data import EventType, load_lobster
from wmjax.market import (
    Messages,
    book_from_levels,
    book_rows,
    book_status,
    messages_from_lobster,
    replay,
    replay_final,
    replay_free_running,
    replay_one_step,
    status_dict,
)

EXCERPT = Path(__file__).resolve().parent / "data"
AMZN = (
    "AMZN_2012-06-21_34200000_57600000_message_1.csv",
    "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv",
)
AAPL = (
    "AAPL_2012-06-21_34200000_57600000_message_10_first999rows.csv",
    "AAPL_2012-06-21_34200000_57600000_orderbook_10_first999rows.csv",
)


def _real(pair):
    paths = [LOBSTER / name for name in pair]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.fail(
            f"LOBSTER sample files missing: {missing}. The tests expect the shared data folder "
            f"beside the repository at {LOBSTER} (see the README's test instructions)."
        )
    return paths


@pytest.fixture(scope="module")
def amzn():
    return load_lobster(*_real(AMZN))


@pytest.fixture(scope="module")
def aapl():
    return load_lobster(*_real(AAPL))


def test_one_step_amzn_full_day_every_determinable_row_matches(amzn):
    r = replay_one_step(amzn)
    assert r.rows == 57514
    assert r.matching_rows == r.determinable_rows and r.match_rate == 1.0
    share = r.determinable_rows / r.rows
    assert 0.70 < share < 0.80, share  # 43,561 of 57,514 rows (75.7%)
    # the definition is honest: non-determinable rows are exactly those that empty the only
    # shown level on a side, and their book row shows a level the file had not revealed
    nd = np.flatnonzero(~r.determinable) + 1
    kinds = amzn.event_type[nd]
    assert np.all((kinds >= EventType.CANCELLATION) & (kinds <= EventType.EXECUTION))


def test_one_step_aapl_level10_every_determinable_row_matches(aapl):
    r = replay_one_step(aapl)
    assert r.rows == 998 and r.matching_rows == r.determinable_rows
    assert r.determinable_rows / r.rows > 0.6  # 680 of 998


def test_free_running_departs_where_a_hidden_level_comes_into_view(amzn, aapl):
    for data in (amzn, aapl):
        one = replay_one_step(data)
        free = replay_free_running(data)
        row = free.first_departure_row
        # every row before the first departure matches, and the departure happens at the
        # first message whose outcome depends on a level the file never showed
        assert np.all(free.matches[: row - 1])
        assert row == int(np.flatnonzero(~one.determinable)[0]) + 1
    assert free.matching_rows < free.rows


def test_replay_is_vmappable_over_days_and_deterministic():
    data = load_lobster(
        EXCERPT / "AAPL_2012-06-21_message_10_first300rows.csv",
        EXCERPT / "AAPL_2012-06-21_orderbook_10_first300rows.csv",
    )
    price, size = book_rows(data)
    seed = book_from_levels(price[0, 1], size[0, 1], price[0, 0], size[0, 0], 10)
    msgs = jax.tree.map(lambda x: x[1:], messages_from_lobster(data))
    final, (p1, s1) = replay(seed, msgs)
    both = jax.tree.map(lambda x: np.stack([x, x]), (seed, msgs))
    _, (p2, s2) = jax.vmap(replay)(*both)
    np.testing.assert_array_equal(np.asarray(p2[1]), np.asarray(p1))
    np.testing.assert_array_equal(np.asarray(s2[0]), np.asarray(s1))
    # the first 7 messages replay exactly from the first row alone
    np.testing.assert_array_equal(np.asarray(s1[:7]), size[1:8])
    assert int(final.added_shares) == int(
        np.asarray(final.size_shares).sum()
        + final.traded_shares
        + final.cancelled_shares
        + final.dropped_shares
    )


def test_cli_replay_json_and_errors(capsys):
    msg, book = _real(AAPL)
    assert (
        main(
            ["replay", str(msg), "--orderbook", str(book), "--levels", "10", "--one-step", "--json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    for key in ("rows", "determinable_rows", "matching_rows", "match_rate", "messages_per_s"):
        assert key in out
    assert set(out["status"]) >= {"level_overflow_events", "dropped_shares", "result"}
    assert out["rows"] == 998 and out["match_rate"] == 1.0 and out["messages_per_s"] > 0
    assert main(["replay", str(msg), "--orderbook", str(book), "--levels", "5"]) == 2
    assert "does not match" in capsys.readouterr().err
    assert main(["replay", str(msg) + ".nope", "--orderbook", str(book), "--levels", "10"]) == 2


def test_replay_status_counts_a_stream_built_to_overflow():
    """A 2-level book (bids 99, 98; asks 101, 102) and, by hand: bids at 100 and 97 (the first
    pushes 98's 30 shares out, the second falls beyond the last slot: 2 level overflows, 35
    shares dropped), a bid at 101 that would cross (rejected) and a cancel at 90 (unmatched)."""
    seed = book_from_levels([101, 102], [10, 20], [99, 98], [40, 30], 2)
    sub, canc = int(EventType.SUBMISSION), int(EventType.CANCELLATION)
    msgs = Messages(
        event_type=np.array([sub, sub, sub, canc], np.int32),
        side=np.zeros(4, np.int32),
        price_ticks=np.array([100, 97, 101, 90], np.int32),
        size_shares=np.array([7, 5, 3, 1], np.int32),
    )
    expected = {"level_overflow_events": 2, "dropped_shares": 35, "rejected_orders": 1}
    expected |= {"unmatched_reductions": 1, "flow_overflow_intervals": 0, "message_overflow": 0}
    final, _ = replay(seed, msgs)
    single = status_dict(book_status(seed, final))
    assert {k: single[k] for k in expected} == expected and single["result"] == "level_overflow"
    # batched: three books, the stream once, twice cut to its clean last message, once whole
    clean = jax.tree.map(lambda x: np.concatenate([x[3:]] * 4), msgs)
    books = jax.tree.map(lambda x: np.stack([x] * 3), seed)
    stream = jax.tree.map(lambda a, b: np.stack([a, b, a]), msgs, clean)
    batched = book_status(books, jax.jit(jax.vmap(replay_final))(books, stream))
    np.testing.assert_array_equal(batched.level_overflow_events, [2, 0, 2])
    np.testing.assert_array_equal(batched.unmatched_reductions, [1, 4, 1])
    assert status_dict(batched)["dropped_shares"] == 70
