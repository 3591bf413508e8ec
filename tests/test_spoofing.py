"""Spoofing detection: injection bookkeeping, the order streams of the simulated book and of the
AMZN LOBSTER day (executions at the touch), the score's null behaviour, and ROC AUC on held-out
days at the documented size."""

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _shared import SHARED_DATA, shared_file

from wmjax import InputError
from wmjax.analytics import (
    OrderStream,
    inject_spoofing,
    spoofing_alarms,
    spoofing_features,
    spoofing_score,
    spoofing_study,
    stream_from_lobster,
)
from wmjax.data import load_lobster
from wmjax.market import book_params

BOOK = book_params()
STUDY = dict(train_days=3, test_days=4, capacity=16384)


@pytest.fixture(scope="module")
def studies():
    """One compiled study at 240 s days: the documented size (10x the mean limit order) and a
    null (orders of the mean size, inside the flow's own size range)."""
    run = lambda m: spoofing_study(  # noqa: E731
        jax.random.key(0), BOOK.flow, BOOK.seed_book, 240.0, spoof_multiple=m, **STUDY
    )
    return {"spoof": run(10.0), "null": run(1.0)}


def _stream(times, kind, side, size, depth):
    arr = lambda x, d: jnp.asarray(x, d)  # noqa: E731
    return OrderStream(
        times_s=arr(times, jnp.float32),
        kind=arr(kind, jnp.int32),
        side=arr(side, jnp.int32),
        size_shares=arr(size, jnp.float32),
        depth_ticks=arr(depth, jnp.int32),
        valid=jnp.ones(len(times), bool),
    )


def test_injection_adds_the_episodes_sorted():
    rng = np.random.default_rng(0)
    n = 200
    base = _stream(
        np.sort(rng.uniform(0, 100, n)),
        rng.integers(0, 3, n),
        rng.integers(0, 2, n),
        np.full(n, 100.0),
        rng.integers(0, 3, n),
    )
    out, cancel_s = inject_spoofing(jax.random.key(1), base, 100.0, 3, 5000.0, 2, 4.0, 2, 150.0)
    times = np.asarray(out.times_s)
    assert times.size == n + 3 * 4 and np.all(np.diff(times) >= 0)
    big = np.asarray(out.size_shares) == 5000.0
    kinds = np.asarray(out.kind)[big]
    assert big.sum() == 6 and (kinds == 0).sum() == 3 and (kinds == 1).sum() == 3
    assert np.all(np.asarray(out.depth_ticks)[big] == 2)
    np.testing.assert_allclose(np.sort(times[big & (np.asarray(out.kind) == 1)]), cancel_s)
    assert (np.asarray(out.size_shares) == 150.0).sum() == 6


def test_score_on_a_hand_built_stream():
    """A 10x order placed 2 ticks behind the bid in window 1 and cancelled in window 2 scores
    log(11) in window 2 and nothing elsewhere; an order at the touch does not count."""
    stream = _stream(
        [1.0, 12.0, 15.0, 23.0, 31.0, 33.0],
        [0, 0, 2, 1, 0, 1],
        [0, 0, 0, 0, 1, 1],
        [100.0, 1000.0, 100.0, 1000.0, 100.0, 1000.0],
        [0, 2, 0, 2, 0, 0],
    )
    score = np.asarray(spoofing_score(spoofing_features(stream, 40.0, 10.0)))
    np.testing.assert_allclose(score, [0, 0, np.log(11), 0], atol=1e-6)  # median limit: 100
    at_touch = np.asarray(spoofing_score(spoofing_features(stream, 40.0, 10.0, 0)))
    np.testing.assert_allclose(at_touch, [0, 0, np.log(11), np.log(2)], atol=1e-6)


def test_spoofing_is_detected_and_nothing_without_it(studies):
    found, null = studies["spoof"], studies["null"]
    assert found["score"]["roc_auc"] - 2 * found["score"]["roc_auc_se"] >= 0.9, found["score"]
    # The classifier learns from 3 short days (about 12 episodes): it gets there less surely.
    assert found["classifier"]["roc_auc"] >= 0.85, found["classifier"]
    for name in ("score", "classifier"):
        assert found[name]["false_alarms_per_clean_day"] < 3  # of 24 windows a day
    assert null["score"]["roc_auc"] < 0.75  # orders the flow itself sends are not spoofs


def test_amzn_stream_executions_are_at_the_touch_and_alarms_are_counted(studies):
    folder = ("lobster", "AMZN_2012-06-21_34200000_57600000_{}_1.csv")
    data = load_lobster(
        shared_file(folder[0], folder[1].format("message")),
        shared_file(folder[0], folder[1].format("orderbook")),
    )
    stream = stream_from_lobster(data)
    valid, kind = np.asarray(stream.valid), np.asarray(stream.kind)
    depth = np.asarray(stream.depth_ticks)
    assert valid.sum() == 27845 + 16 + 18235 + 8974  # submissions, cancels, deletions, executions
    assert np.all(depth[valid & (kind == 2)] == 0)  # a visible execution hits the best quote
    assert np.all(depth[valid & (kind == 1)] >= 0)
    alarms = spoofing_alarms(stream, 23400.0, 10.0, studies["spoof"])
    assert set(alarms) == {"score", "classifier"} and 0 <= alarms["score"] <= 2340
    with pytest.raises(InputError, match="order-book file"):
        stream_from_lobster(load_lobster(shared_file(folder[0], folder[1].format("message"))))


def test_experiment_smoke(tmp_path, studies):
    script = Path(__file__).resolve().parents[1] / "experiments" / "spoofing_detection.py"
    spec = importlib.util.spec_from_file_location("spoofing_detection", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The fixture's configuration: its compiled program is reused.
    argv = ["--out", str(tmp_path), "--data", str(SHARED_DATA), "--multiples", "10"]
    argv += ["--train-days", "3", "--test-days", "4", "--day-s", "240", "--capacity", "16384"]
    result = module.main([*argv, "--placements", "behind"])
    assert (tmp_path / "spoofing_detection.png").stat().st_size > 0
    assert result["simulated"]["behind 10x"]["score"] == studies["spoof"]["score"]
